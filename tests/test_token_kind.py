"""The ``token`` kind: plan, protocol validation, built-ins, probes, every token mutant rejected
by the check of its bug class (and the reference passing it), the tail budget table, the
torch tail check, the CLI, CUDA (skipped without a device)."""
from __future__ import annotations

import math

import importlib.util
import pickle
import re

import numpy as np
import pytest
import torch

from harness.core.budgets import get_budget
from harness.checker import check_sampler
from harness.kinds import kind_names, plan_for
from harness.kinds.token.plan import (GRADES, TOKEN_LOGITS, Row, tail_gap_for, tail_grade_power, tail_n,
                                        tail_power_table, token_counts)
from harness.cli import main
from harness.checker.mutants import run_mutant
from harness.mutants.catalogue import MUTANTS
from reference.torch_token_sampler import sample_tokens

SMALL = ["TK.law.v8", "TK.law.v64", "TK.batch", "TK.temp", "TK.filter.top_k", "TK.filter.top_p",
         "TK.filter.min_p", "TK.mask", "TK.greedy", "TK.tiny_T", "TK.large_logits"]
TOKEN_MUTANTS = [m for m in MUTANTS.values() if m.kind == "token"]
HF = importlib.util.find_spec("transformers") is not None


def test_token_kind_is_registered_and_plan_is_one_family():
    assert "token" in kind_names()
    plan = plan_for("token", get_budget("standard"))
    ids = [c.id for c in plan]
    assert len(ids) == len(set(ids))
    for need in ("TK.law.v152k", "TK.law.v262k", "TK.batch.mixed", "TK.batch.pairs", "TK.temp.rows",
                 "TK.filter.top_k.ties", "TK.filter.combined", "TK.mask", "TK.greedy", "TK.tiny_T",
                 "TK.large_logits", "TK.tail"):
        assert need in ids
    assert sum(c.size for c in plan) == 27


def test_reference_token_sampler_follows_the_law_in_one_batch():
    rows = [Row(TOKEN_LOGITS["ties"], 0.5, min_p=0.1), Row(TOKEN_LOGITS["ties"], 1.0, top_k=4),
            Row(TOKEN_LOGITS["topp"], 1.5, top_p=0.8)]
    counts = token_counts(sample_tokens, rows, 20_000, seed=3)
    from scipy import stats

    for row, c in zip(rows, counts):
        p = row.law()
        assert c[p == 0].sum() == 0
        keep = p > 0
        assert stats.chisquare(c[keep], 20_000 * p[keep]).pvalue > 1e-4


def test_reference_passes_the_small_checks_and_probes_at_quick():
    res = check_sampler("reference-token", budget="quick", only=SMALL, probes=True, adversarial=True)
    assert res.passed, res.report()
    adv = {f.probe: f for f in res.findings if f.probe.startswith("adversarial.")}
    assert adv["adversarial.E=0"].outcome == "ok/documented"  # the stream reached it and it held


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reference-token", "torch-multinomial-token",
                                  pytest.param("hf-logits-processors", marks=pytest.mark.skipif(
                                      not HF, reason="transformers not installed"))])
def test_builtin_token_targets_conform_at_quick(name):
    res = check_sampler(name, budget="quick")
    assert res.passed, res.report()


@pytest.mark.parametrize("name", [m.name for m in TOKEN_MUTANTS if m.budget == "standard"])
def test_token_mutant_rejected_at_quick_by_its_check(name):
    m = MUTANTS[name]
    res = run_mutant(m, budget="quick", seed=1)
    assert not res.passed, res.report()
    assert set(m.caught(res)) == set(m.caught_by), res.caught_by()
    # the same checks pass the reference
    ref = check_sampler("reference-token", budget="quick", seed=1, only=list(m.plan_checks) or "none",
                        probes=m.needs_probes, adversarial=m.needs_adversarial)
    assert ref.passed, ref.report()


def test_token_mutants_are_picklable_and_documented():
    for m in TOKEN_MUTANTS + [MUTANTS["torch_noise_f32"]]:
        assert type(pickle.loads(pickle.dumps(m.fn))) is type(m.fn)
        assert m.fn.gumbel_harness_kind == m.kind and f"B{m.bug}" in m.fn.__doc__


@pytest.mark.thorough
@pytest.mark.parametrize("name", ["token_noise_f32", "torch_noise_f32"])
def test_float32_noise_rejected_by_the_tail_check_at_thorough(name):
    res = run_mutant(name, budget="thorough")
    assert not res.passed and MUTANTS[name].caught(res), res.report()


def test_tail_power_table_is_the_confirmed_decision_at_the_plans_level():
    """docs/token.md's tail table (generated; tests/test_docs.py holds it fresh) is the power of the
    decision the checker makes: confirmed (both stages at sqrt(alpha / m)) at the token plan's m."""
    from harness.checker.power_table import family_size
    from harness.stats.power import binomial_power

    sizes = {b: family_size("token", b) for b in ("quick", "standard", "thorough")}
    table = tail_power_table(sizes)
    assert len(table) == 6
    for r in table:
        b = get_budget(r["budget"])
        assert r["level"] == pytest.approx(b.alpha / sizes[b.name])
        stage = math.sqrt(r["level"])
        rho = math.exp(-r["gap"])
        p0 = rho / (1 + rho)
        # float64 noise: the law itself, so the confirmed power is the confirmed level, and
        # half precision (b = 11): the rare token nearly never wins; recomputed from the binomial
        assert r["power"][53] == pytest.approx(binomial_power(r["n"], p0, p0, stage) ** 2, rel=1e-6)
        assert r["power"][53] <= 1.01 * r["level"]
    by = {(r["budget"], r["device"]): r["power"] for r in table}
    # float32-grade noise caught at thorough on CPU and at standard on CUDA, not at standard on CPU
    assert by[("thorough", "cpu")][24] >= 0.99 and by[("standard", "cuda")][24] >= 0.99
    assert by[("standard", "cpu")][24] < 0.05
    assert 0.15 < by[("thorough", "cuda")][31] < 0.25  # the 2^-31 floor: 0.204 (issue 18 item 6)
    assert all(by[k][11] > 0.999 for k in by)


def test_tail_grade_power_sanity():
    n = tail_n(get_budget("thorough"))
    gap = tail_gap_for(n)
    level = 0.01 / 30
    assert tail_grade_power(n, gap, 53, level) <= level * 1.01
    assert tail_grade_power(n, gap, 11, level) > 0.999
    assert tail_n(get_budget("standard"), "cuda") == 40 * tail_n(get_budget("standard"))


def test_torch_tail_check_passes_the_reference_at_quick():
    res = check_sampler("reference-torch", budget="quick", only=["C3.tail"])
    assert res.passed, res.report()
    assert res.verdicts[0].test == "exact binomial tail"


class _WrongShape:
    def __call__(self, logits, temperature, **kw):
        return torch.zeros(logits.shape[0] + 1, dtype=torch.int64)


class _OutOfRange:
    def __call__(self, logits, temperature, **kw):
        return torch.full((logits.shape[0],), logits.shape[1], dtype=torch.int64)


def test_out_of_range_ids_are_fail_verdicts_naming_the_cause():
    res = check_sampler(_OutOfRange(), "token", budget="quick", only=["TK.law.v8", "TK.greedy"], probes=False)
    assert not res.passed
    assert all(v.passed is False and "outside" in v.reason for v in res.verdicts)


def test_a_wrong_output_shape_is_a_protocol_mismatch():
    """The token kind's protocol trial (B = 3, V = 4) sees [B + 1] ids: one usage error (exit 2),
    not a run of FAIL verdicts and never "contract HOLDS"."""
    from harness.targets.protocol import ProtocolMismatch

    with pytest.raises(ProtocolMismatch, match=r"does not fit --kind token.*shape \(4,\), expected \(3,\)"):
        check_sampler(_WrongShape(), "token", budget="quick", only=["TK.law.v8"], probes=False)


def test_cli_token_kind(capsys):
    assert main(["check", "--builtin", "reference-token", "--budget", "quick", "--only", "TK.filter.top_k"]) == 0
    assert main(["check", "reference.torch_token_sampler:sample_tokens", "--kind", "token", "--budget", "quick",
                 "--only", "TK.greedy,TK.tiny_T"]) == 0
    out = capsys.readouterr().out
    assert "TK.greedy" in out and "TK.tiny_T" in out
    assert main(["check", "--list"]) == 0
    assert "Plan for kind token" in capsys.readouterr().out
    if not torch.cuda.is_available():
        assert main(["check", "--builtin", "reference-token", "--device", "cuda", "--only", "TK.greedy"]) == 2
        assert "no CUDA device" in capsys.readouterr().err


def test_reference_sampler_accepts_numpy_and_a_generator_and_is_reproducible():
    x = np.tile(np.log([0.1, 0.2, 0.3, 0.4]), (64, 1))
    a = sample_tokens(x, 1.0, seed=5)
    b = sample_tokens(torch.as_tensor(x), 1.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.dtype == torch.int64 and a.shape == (64,)


@pytest.mark.cuda
def test_token_kind_on_cuda():
    res = check_sampler("reference-token", budget="quick", only=SMALL + ["TK.tail"], device="cuda",
                        probes=False)
    assert res.passed, res.report()
    tail = [v for v in res.verdicts if v.check == "TK.tail"][0]
    assert tail.n == tail_n(get_budget("quick"), "cuda")


@pytest.mark.cuda
def test_torch_tail_check_on_cuda():
    res = check_sampler("reference-torch", budget="quick", only=["C3.tail"], device="cuda")
    assert res.passed, res.report()


def test_token_benchmark_smoke(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "token_bench.py"), "--smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = (tmp_path / "token-smoke.md").read_text()
    assert "Throughput on cpu" in md and "reference-token" in md
    assert ("Throughput on cuda" in md) and (torch.cuda.is_available() or "skipped: no CUDA" in md)
