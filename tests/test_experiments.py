"""The experiment registry and the deterministic parts of the experiments (fast: no full run;
the end-to-end quick run is in tests/test_report.py)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from harness.core.budgets import BUDGETS, Budget
from harness.core.context import RunContext
from harness.experiments import (
    CLAIM_ORDER,
    Collector,
    ExperimentResult,
    all_experiments,
    get,
    keep_verdict,
    parse_only,
    select,
)
from harness.experiments import _binary
from harness.core.verdict import Verdict
from reference.softmax import softmax

SPEC_CLAIMS = {"T1", "T2", "T3", "T4", "T5", "C1", "C2", "C3", "C4", "C5", "G1", "G2", "G3", "G4"}
TINY = Budget("tiny", n_discrete=20_000, n_continuous=4_000, n_relaxed=4_000, n_gradient=4_000, n_tail=200_000)


def tiny_ctx(seed: int = 0) -> RunContext:
    return RunContext(budget=TINY, seed=seed, reproduce="gumbel-harness report --seed 0 --only {check}",
                      family_size=50)


# ------------------------------------------------------------------ registry -----------------

def test_every_spec_claim_has_an_experiment():
    ids = [e.id for e in all_experiments()]
    assert set(ids) == SPEC_CLAIMS | {"N"}
    assert ids == [c for c in CLAIM_ORDER if c in ids]  # spec order


@pytest.mark.parametrize("exp", all_experiments(), ids=lambda e: e.id)
def test_experiment_metadata(exp):
    assert exp.title and exp.claim and exp.formula
    assert exp.implementations and all(isinstance(s, str) and s for s in exp.implementations)
    assert exp.module.startswith("harness.experiments.")
    for b in BUDGETS.values():
        sizes = exp.sizes(b)
        assert sizes and all(isinstance(v, int) and v > 0 for v in sizes.values()), sizes
    planned = exp.planned(tiny_ctx())
    assert isinstance(planned, int) and planned >= 0
    d = exp.describe(BUDGETS["quick"])
    json.dumps(d)


def test_sample_sizes_follow_the_budget():
    for exp in all_experiments():
        q, s = exp.sizes(BUDGETS["quick"]), exp.sizes(BUDGETS["standard"])
        assert all(s[k] >= q[k] for k in q), exp.id


def test_parse_only_and_select():
    assert parse_only(None) == []
    assert parse_only(["T1,C2 G3", "N"]) == ["T1", "C2", "G3", "N"]
    exps, filters = select(["C5", "T1.mc.peaked"])
    assert [e.id for e in exps] == ["T1", "C5"]  # spec order
    assert filters == ["T1.mc.peaked"]
    exps, filters = select(["T1.mc.peaked", "T1"])  # a whole claim wins over its check filter
    assert [e.id for e in exps] == ["T1"] and filters == []
    assert [e.id for e in select([])[0]] == [e.id for e in all_experiments()]
    with pytest.raises(ValueError, match="no experiment"):
        select(["X9"])


def test_keep_verdict():
    f = ["T1.mc.peaked", "C2.numpy"]
    assert keep_verdict("T1.mc.peaked", "T1", f)
    assert not keep_verdict("T1.mc.peaked_x", "T1", f)
    assert keep_verdict("C2.numpy.k4_T1.pair0-3", "C2", f)
    assert not keep_verdict("C2.torch64.k4_T0p5.pair0-3", "C2", f)
    assert keep_verdict("G3.slope", "G3", f)  # no filter for G3: keep everything


def test_collector_turns_a_crash_into_a_fail_verdict():
    col = Collector(tiny_ctx(), "T3")
    out = col.guard("T3.boom", "a block that raises", lambda: 1 / 0)
    assert len(out) == 1 and out[0].forced_fail and out[0].passed is False
    assert "ZeroDivisionError" in out[0].reason
    assert "--only T3.boom" in out[0].reproduce
    res = col.result()
    assert isinstance(res, ExperimentResult) and res.verdicts == out


# ------------------------------------------------------------------ deterministic parts ------

def test_t1_quadrature_matches_softmax():
    from harness.experiments.t1_theorem import quadrature_probability

    rng = np.random.default_rng(3)
    for x in (np.array([0.0, -30.0, 30.0]), rng.normal(0, 3, 7) + 1000.0, np.array([0.0, -np.inf, 2.0])):
        p = softmax(x)
        for i in range(x.size):
            val, _ = quadrature_probability(x, i)
            if p[i] == 0:
                assert val == 0.0
            else:
                assert abs(val / p[i] - 1) < 1e-10, (x, i, val, p[i])
    x = rng.normal(0, 3, 1000)
    p = softmax(x)
    for i in (int(np.argmax(x)), int(np.argmin(x)), 17):
        val, _ = quadrature_probability(x, i)
        assert abs(val / p[i] - 1) < 1e-10


def test_binary_quadratures():
    d = 0.6
    p1p2 = float(softmax(np.array([d, 0.0])).prod())
    for t in (1.0, 0.1, 1e-3):
        g = _binary.grad_expect("y1", d, t)
        fd = _binary.finite_difference(lambda dd: _binary.expect("y1", dd, t), d)
        assert abs(g - fd) < 1e-8
        assert abs(_binary.grad_moment(1, d, t) - g) < 1e-12
    ratio = _binary.one_minus_max(d, 1e-3) / (2 * math.log(2) * p1p2 * 1e-3)
    assert abs(ratio - 1) < 1e-5
    var, _ = _binary.grad_variance(d, 1e-3)
    assert abs(var / (p1p2 / 6e-3) - 1) < 5e-3
    assert abs(_binary.expect("y1", d, 1e-3) - 1 / (1 + math.exp(-d))) < 1e-6


def test_c1_normalisation_and_cells():
    from harness.experiments import c1_density as c1

    for t in (0.1, 1.0):
        assert abs(c1.normalisation_k2(c1.X2, t) - 1) < 1e-10
    assert abs(c1.normalisation_k3(c1.X3, 1.0) - 1) < 1e-10
    cells = c1.cell_probabilities_c1(c1.X3, 0.5)
    assert abs(cells.sum() - 1) < 1e-12
    assert np.max(np.abs(cells - c1.cell_probabilities_c2())) < 1e-11


def test_g3_weighted_slope():
    from harness.experiments.g3_variance import wls_slope

    lx = np.log([0.1, 0.01, 0.001])
    b, se, a = wls_slope(lx, 2.0 - lx, np.array([0.1, 0.1, 0.1]))
    assert abs(b + 1) < 1e-12 and abs(a - 2) < 1e-12 and se > 0


def test_t5_tuple_counts():
    from harness.experiments.t5_top_k import tuple_counts

    tuples = [(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)]
    s = np.array([[0, 1], [2, 1], [2, 1], [1, 1]])
    c = tuple_counts(s, 3, tuples)
    assert c.tolist() == [1, 0, 0, 0, 0, 2, 1]  # last bin: the impossible repeat


# ------------------------------------------------------------------ experiment contract ------

def _check_contract(res: ExperimentResult, exp, ctx) -> None:
    assert res.experiment == exp.id
    checks = [v.check for v in res.verdicts]
    assert len(checks) == len(set(checks)), "check ids must be unique"
    for v in res.verdicts:
        assert isinstance(v, Verdict)
        assert v.claim == exp.id and v.check.startswith(exp.id + ".")
        assert v.claim_text and v.test
        if v.pvalue is not None:
            assert 0.0 <= v.pvalue <= 1.0 and v.n > 0 and v.statistic is not None
            if v.detectable is None:  # A^2: no distribution-free figure (the KS companion has one)
                assert "Anderson-Darling" in v.test
            else:
                assert v.detectable.power == 0.9
                assert v.detectable.level == pytest.approx(ctx.alpha / ctx.family_size)
            assert v.seed is not None and v.reproduce
        else:
            assert v.forced_fail or v.tolerance is not None, v.check
    assert res.n_statistical == exp.planned(ctx)
    json.dumps([v.to_dict() for v in res.verdicts])
    json.dumps([f.to_dict() for f in res.figures] + [f.to_dict() for f in res.findings])


@pytest.mark.parametrize("cid", ["T3", "T5", "C3", "C4"])
def test_cheap_experiments_keep_the_contract_and_pass(cid):
    exp = get(cid)
    ctx = tiny_ctx()
    res = exp.run(ctx)
    _check_contract(res, exp, ctx)
    from harness.core.verdict import judge_family

    judged = judge_family(res.verdicts, 0.01)
    assert all(v.passed for v in judged), [str(v) for v in judged if not v.passed]


def test_experiment_numbers_are_reproducible():
    exp = get("C4")
    a = exp.run(tiny_ctx(seed=5))
    b = exp.run(tiny_ctx(seed=5))
    c = exp.run(tiny_ctx(seed=6))
    assert [v.to_dict() for v in a.verdicts] == [v.to_dict() for v in b.verdicts]
    assert [f.to_dict() for f in a.figures] == [f.to_dict() for f in b.figures]
    assert [v.statistic for v in a.verdicts] != [v.statistic for v in c.verdicts]
