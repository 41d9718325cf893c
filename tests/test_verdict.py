"""Verdicts: the Holm decision of judge_family, pytest-style FAIL messages, JSON output,
bit-identical reproducibility from a seed, the verdict builders, and the budgets' power
table."""
from __future__ import annotations
from harness.core import streaming

import json
import math
import re

import numpy as np
import pytest
from scipy import stats

from harness.core.budgets import BUDGETS, get_budget
from harness.checker.power_table import format_power_table, power_table
from harness.checks.builders import (
    ad_verdict,
    conditional_verdict,
    deterministic_verdict,
    discrete_verdict,
    error_verdict,
    independence_verdict,
    ks_verdict,
    level_for,
    tail_verdict,
    z_verdict,
)
from harness.stats.family import holm
from harness.core.verdict import (
    Detectable,
    Verdict,
    VerdictFailure,
    assert_verdict,
    format_verdict,
    judge_family,
)
from reference import numpy_sampler

P = np.array([0.05, 0.1, 0.15, 0.3, 0.4])


def _stat(check, p, **kw):
    return Verdict(claim="T1", check=check, claim_text="x", test="t", statistic=1.0, pvalue=p, n=10, **kw)


# ------------------------------------------------------------------------------------------
# judge_family
# ------------------------------------------------------------------------------------------
def test_judge_family_is_holm():
    ps = [0.001, 0.04, 0.011, 0.5, 0.012]
    vs = [_stat(f"c{i}", p) for i, p in enumerate(ps)]
    vs.insert(2, deterministic_verdict("T1", "det", "x", 1e-12, 1e-10, test="quad"))
    out = judge_family(vs, 0.05)
    assert [v.check for v in out] == [v.check for v in vs]  # order kept
    h = holm(ps, 0.05)
    stat_out = [v for v in out if v.pvalue is not None]
    assert [not v.passed for v in stat_out] == h.reject
    assert [v.adjusted_pvalue for v in stat_out] == pytest.approx(h.adjusted)
    assert all(v.alpha == 0.05 for v in out)
    det = out[2]
    assert det.passed is True and det.adjusted_pvalue is None  # not in the family


def test_judge_family_forced_and_nan():
    vs = [_stat("forced", 1.0, forced_fail=True, reason="impossible event"),
          _stat("nan", float("nan")),
          _stat("ok", 0.9),
          error_verdict("T1", "err", "x", RuntimeError("target crashed"))]
    out = {v.check: v for v in judge_family(vs, 0.01)}
    assert out["forced"].passed is False and "impossible" in out["forced"].reason
    assert out["nan"].passed is False and "NaN" in out["nan"].reason
    assert out["ok"].passed is True
    assert out["err"].passed is False and "target crashed" in out["err"].reason
    with pytest.raises(ValueError):
        judge_family(vs, 0.0)


def test_judge_family_states_the_rule_in_the_reason():
    (v,) = judge_family([_stat("c", 1e-9)], 0.01)
    assert v.passed is False
    assert "Holm level" in v.reason and "family alpha 0.01" in v.reason


# ------------------------------------------------------------------------------------------
# messages
# ------------------------------------------------------------------------------------------
def test_fail_message_reads_like_a_test_failure():
    bad = np.array([200, 200, 300, 600, 700])  # category 0 and 1 oversampled
    v = discrete_verdict("T1", "T1.mc.peaked", "P(argmax = i) = softmax(x)_i", bad, P, seed=123,
                         reproduce="gumbel-harness check T1 --seed 123")
    (v,) = judge_family([v], 0.01)
    text = format_verdict(v)
    assert text.startswith("FAIL T1.mc.peaked [T1] Pearson chi-square")
    for needle in ("claim:", "expected:", "seen:", "counts N p = [100.0, 200.0, 300.0, 600.0, 800.0]",
                   "counts [200, 200, 300, 600, 700]", "family alpha 0.01 (Holm)", "power:",
                   "why:", "reproduce: gumbel-harness check T1 --seed 123"):
        assert needle in text, (needle, text)
    assert str(v) == text
    with pytest.raises(AssertionError, match="expected:"):
        assert_verdict(v)


def test_pass_message_and_assert_verdict():
    good = streaming.counts(np.log(P), 10_000, 5)
    v = discrete_verdict("T1", "T1.ok", "P(i) = p_i", good, P, seed=5)
    assert v.passed is None
    assert assert_verdict(v).passed is True  # judged alone at its alpha
    (j,) = judge_family([v], 0.01)
    assert format_verdict(j).startswith("PASS T1.ok")
    assert "note:" in format_verdict(j)


def test_messages_for_every_builder():
    rng = np.random.default_rng(0)
    x = rng.gumbel(size=400)
    lab = rng.integers(0, 3, size=400)
    vs = [
        ks_verdict("T2", "ks", "M ~ Gumbel", x, stats.gumbel_r.cdf, seed=1),
        ad_verdict("T2", "ad", "M ~ Gumbel", x, stats.gumbel_r.cdf, logcdf=stats.gumbel_r.logcdf,
                   logsf=stats.gumbel_r.logsf, seed=1),
        tail_verdict("T1", "tail", "rare", 0, 10**9, 3e-8, seed=2),
        z_verdict("G2", "z", "unbiased", rng.normal(size=100), 0.0),
        conditional_verdict("T3", "t3", "M indep argmax", lab, x, stats.gumbel_r.cdf),
        independence_verdict("T3", "t3c", "M indep argmax", lab, x, stats.gumbel_r.ppf([0.25, 0.5, 0.75])),
        deterministic_verdict("T1", "quad", "quadrature", 2e-9, 1e-10, test="quadrature"),
        error_verdict("T1", "crash", "x", ValueError("boom")),
    ]
    for v in judge_family(vs, 0.01):
        text = format_verdict(v)
        assert "expected:" in text and "seen:" in text, text
        json.dumps(v.to_dict())
    out = {v.check: v for v in judge_family(vs, 0.01)}
    assert out["tail"].passed is False and "0 hits" in out["tail"].seen
    assert out["quad"].passed is False and out["crash"].passed is False
    assert out["ks"].passed and out["ad"].passed and out["t3"].passed and out["t3c"].passed


def test_ks_verdict_nonfinite_samples_fail():
    v = ks_verdict("T2", "ks", "x", [0.0, float("inf"), 1.0], stats.gumbel_r.cdf)
    assert v.forced_fail and v.passed is False and "not finite" in v.reason


def test_discrete_verdict_methods():
    small = streaming.counts(np.log(P), 30, 1)
    assert "exact" in discrete_verdict("T1", "a", "", small, P).test
    big = streaming.counts(np.log(P), 5000, 1)
    assert discrete_verdict("T1", "b", "", big, P).test == "Pearson chi-square"
    assert "G test" in discrete_verdict("T1", "c", "", big, P, method="g").test
    mc = discrete_verdict("T1", "d", "", small, P, method="monte-carlo", seed=4, n_sim=999)
    assert "Monte Carlo" in mc.test
    assert mc.pvalue == discrete_verdict("T1", "d", "", small, P, method="monte-carlo", seed=4,
                                         n_sim=999).pvalue
    with pytest.raises(ValueError):
        discrete_verdict("T1", "e", "", big, P, method="bogus")


def test_detectable_statement():
    v = discrete_verdict("T1", "a", "", streaming.counts(np.log(P), 10_000, 1), P,
                         alpha=0.01, family_size=50)
    d = v.detectable
    assert d.measure == "cohen_w" and d.level == level_for(0.01, 50) == 2e-4
    assert d.tv is not None and 0 < d.tv < d.value
    assert "power 0.9" in d.describe()
    assert Detectable("x", 0.1).describe().startswith("x >= 0.1")


# ------------------------------------------------------------------------------------------
# serialisation and reproducibility
# ------------------------------------------------------------------------------------------
def _battery(seed: int) -> list[Verdict]:
    """Verdicts of a small run: reference counts (chi-square and exact), Monte Carlo,
    KS / AD on Gumbel maxima, T3 per class, a tail count."""
    logits = np.log(P)
    rng = numpy_sampler.as_generator(seed)
    g = numpy_sampler.gumbel_noise(rng, (1000, P.size))
    s = logits + g
    lab, mx = s.argmax(axis=1), s.max(axis=1)
    cdf = lambda v: stats.gumbel_r.cdf(v, loc=0.0)  # noqa: E731  (lse(log P) = 0)
    vs = [
        discrete_verdict("T1", "chi2", "P(i) = p_i", streaming.counts(logits, 20_000, seed), P, seed=seed),
        discrete_verdict("T1", "exact", "P(i) = p_i", streaming.counts(logits, 25, seed), P, seed=seed),
        discrete_verdict("T1", "mc", "P(i) = p_i", streaming.counts(logits, 60, seed), P, seed=seed,
                         method="monte-carlo", n_sim=999),
        ks_verdict("T2", "ks", "M ~ Gumbel(lse)", mx, cdf, seed=seed),
        ad_verdict("T2", "ad", "M ~ Gumbel(lse)", mx, cdf, seed=seed),
        conditional_verdict("T3", "t3", "M | argmax ~ Gumbel(lse)", lab, mx, cdf, seed=seed),
        tail_verdict("T1", "tail", "rare", int(streaming.counts(logits, 5000, seed)[0]), 5000,
                     float(P[0]), seed=seed),
    ]
    return judge_family(vs, 0.01)


def test_same_seed_bit_identical_verdicts():
    a = [v.to_dict() for v in _battery(2024)]
    b = [v.to_dict() for v in _battery(2024)]
    assert a == b
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = [v.to_dict() for v in _battery(2025)]
    assert [x["statistic"] for x in a] != [x["statistic"] for x in c]


def test_to_dict_is_json_safe():
    v = _stat("c", 0.5, details={"arr": np.arange(3), "inf": float("inf"), "nested": {"t": (1, 2)}})
    d = v.to_dict()
    s = json.dumps(d)
    assert d["details"]["arr"] == [0, 1, 2] and d["details"]["inf"] == "inf"
    assert json.loads(s)["check"] == "c"
    assert set(d) >= {"claim", "check", "claim_text", "test", "statistic", "pvalue", "alpha",
                      "adjusted_pvalue", "n", "detectable", "passed", "reason", "seed",
                      "reproduce", "forced_fail", "details", "expected", "seen"}


# ------------------------------------------------------------------------------------------
# budgets and their power
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table():
    return power_table()


def test_power_table_states_what_the_verdicts_state(table):
    """The table's Cohen's w is the figure a real Pearson verdict on 10 equiprobable categories
    states at that entry point's family size (the decision's worst case, simulated through the
    decision by tests/test_power_pearson.py), and its TV is w / 2 (the half-half split)."""
    from harness.checks.builders import discrete_verdict

    rows = {(r["entry"], r["budget"]): r for r in table}
    assert len(rows) == 15
    for key in [("report", "quick"), ("categorical", "standard"), ("torch", "thorough")]:
        r = rows[key]
        n = r["n_discrete"]
        v = discrete_verdict("X", "x", "", np.full(10, n // 10), np.full(10, 0.1), seed=0,
                             alpha=1e-4, family_size=r["m"])
        assert r["cohen_w"] == pytest.approx(v.detectable.value, rel=1e-9), key
        assert r["tv_uniform"] == pytest.approx(r["cohen_w"] / 2, rel=1e-9)


def test_power_table_shape_and_monotone(table):
    rows = [r for r in table if r["entry"] == "report"]
    assert [r["budget"] for r in rows] == ["quick", "standard", "thorough"]
    for k in ("cohen_w", "ks_distance", "z_shift_sd", "tail_absent_rate"):
        vals = [r[k] for r in rows]
        assert vals[0] > vals[1] > vals[2], k
    m = rows[0]["m"]
    assert all(r["level"] == pytest.approx(1e-4 / m) for r in rows)
    # the thorough tail budget catches a never-sampled tail of float32 noise (~6e-8)
    assert rows[2]["tail_absent_rate"] < 6e-8 < rows[1]["tail_absent_rate"]
    text = format_power_table()
    assert "thorough" in text and "Cohen w" in text and "categorical" in text


def test_get_budget():
    assert get_budget("quick") is BUDGETS["quick"]
    assert get_budget(BUDGETS["thorough"]) is BUDGETS["thorough"]
    with pytest.raises(ValueError, match="unknown budget"):
        get_budget("huge")
    assert BUDGETS["standard"].to_dict()["n_discrete"] == 4_000_000
    assert math.isclose(BUDGETS["quick"].alpha, 1e-4)


def test_verdict_failure_is_assertion_error():
    assert issubclass(VerdictFailure, AssertionError)
