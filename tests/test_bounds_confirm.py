"""Issue 9: the confirmed p-value is valid, and the distance bounds cover the true distance."""
from __future__ import annotations

import math

import numpy as np
import pytest

from harness.checks.builders import confirm_verdicts, discrete_verdict
from harness.stats.bounds import sup_distance_bound, tv_upper_bound
from harness.stats.calibration import clopper_pearson
from harness.stats.confirm import combine, confirmation_threshold
from harness.core.verdict import Bound, Verdict


def test_confirmed_pvalue_is_valid_at_every_level():
    """P(p <= u) <= u for the confirmed p of two independent uniform p-values (1e6 pairs)."""
    rng = np.random.default_rng(0)
    alpha = 1e-4
    tau = confirmation_threshold(alpha)
    p1, p2 = rng.uniform(size=(2, 1_000_000))
    p = np.where(p1 <= tau, np.maximum(p1, p2) ** 2, p1)
    for u in (1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.5):
        k = int(np.sum(p <= u))
        assert clopper_pearson(k, p.size, 0.999)[0] <= u, (u, k)
    assert combine(0.5, None, alpha) == 0.5
    assert combine(0.001, 0.2, alpha) == pytest.approx(0.04)
    with pytest.raises(ValueError):
        combine(0.001, None, alpha)


def _v(check, p):
    return Verdict(claim="X", check=check, claim_text="", test="t", statistic=0.0, pvalue=p, n=1)


def test_confirm_verdicts_runs_stage_two_only_when_needed():
    calls = []

    def rerun():
        calls.append(1)
        return [_v("a", 0.3), _v("b", 1e-9)]

    out = confirm_verdicts([_v("a", 0.5), _v("b", 0.2)], rerun, 1e-4)
    assert not calls and [v.pvalue for v in out] == [0.5, 0.2]
    out = confirm_verdicts([_v("a", 0.5), _v("b", 1e-6)], rerun, 1e-4)
    assert len(calls) == 1 and out[0].pvalue == 0.5
    assert out[1].pvalue == pytest.approx(max(1e-6, 1e-9) ** 2)
    assert out[1].details["confirmation"]["p2"] == 1e-9 and "p2 = " in out[1].details["confirmation"]["text"]


def test_tv_bound_covers_the_true_distance():
    """TV(q, p) <= bound with probability >= 1 - a, for a q away from p (K = 4 subsets, K = 20
    per-category / Hoeffding)."""
    rng = np.random.default_rng(1)
    for k, a in ((4, 0.05), (20, 0.05)):
        p = np.full(k, 1.0 / k)
        q = p * (1 + 0.3 * np.sin(np.arange(k)))
        q /= q.sum()
        tv = 0.5 * np.abs(q - p).sum()
        miss = sum(tv_upper_bound(rng.multinomial(2000, q), p, a)[0] < tv for _ in range(400))
        assert clopper_pearson(miss, 400, 0.999)[0] <= a, (k, miss)


def test_bound_describe_and_verdict_field():
    b = Bound("TV(target, claimed)", 0.0011, 0.99, "x")
    assert b.describe() == "TV(target, claimed) <= 0.0011 at 99% confidence"
    v = discrete_verdict("T1", "c", "", np.array([2500, 2500, 2500, 2500]), np.full(4, 0.25), alpha=1e-4,
                         family_size=10, seed=0)
    assert v.bound is not None and 0 < v.bound.value < 0.05 and v.to_dict()["bound"]["measure"].startswith("TV")
    assert "certifies: TV(target, claimed) <=" in str(v)
    assert sup_distance_bound(0.01, 10_000, 0.01) == pytest.approx(0.01 + math.sqrt(math.log(200) / 20_000))


def test_temperature_ratio_bound_inverts_the_moment():
    from harness.checks.claims import PI2_3, temperature_ratio_bound

    dx = -1.386
    for e in (0.01, 0.03, -0.03):
        r = 1 / (1 + e)
        shift = abs((r * r - 1) * PI2_3 + (r - 1) ** 2 * dx * dx)
        assert temperature_ratio_bound(shift, dx) >= abs(e) - 1e-12
    assert temperature_ratio_bound(0.0, dx) == 0.0


def test_only_reproduces_the_confirmed_pvalue_of_a_full_run():
    """The p-value (both stages, Monte Carlo null included) of a check does not depend on which
    other checks run: ``--only CHECK`` reproduces what the full run reported."""
    from harness.checker.api import check_sampler
    from harness.mutants.catalogue import MUTANTS

    fn = MUTANTS["cat_seed_shifted"].fn
    full = check_sampler(fn, "categorical", budget="quick", seed=2, probes=False, adversarial=False,
                         only=["T1.seeds", "T1.law.k5", "T1.pairs"])
    alone = check_sampler(fn, "categorical", budget="quick", seed=2, probes=False, adversarial=False,
                          only=["T1.seeds"])
    a = next(v for v in full.verdicts if v.check == "T1.seeds")
    b = alone.verdicts[0]
    assert a.failed and b.failed and "Monte Carlo" in a.test
    assert a.pvalue == b.pvalue and a.details["confirmation"] == b.details["confirmation"]


def test_g3_variance_level_rejects_gradient_noise_proportional_to_1_over_t():
    """G3 per-T variance level (Bernstein, valid for the bounded g): the reference passes, a
    sampler adding zero-mean gradient noise of size 0.05/T fails at every T of the grid."""
    from harness.core.budgets import get_budget
    from harness.core.context import RunContext
    from harness.experiments import _binary
    from harness.experiments.g3_variance import X, _grads, bernstein_second_moment

    ctx = RunContext(budget=get_budget("quick"), seed=4)
    delta = float(X[0] - X[1])
    rng = np.random.default_rng(0)
    for t in (0.1, 0.01, 0.001):
        g = _grads(ctx, f"G3.test.{t}", t, 20_000)
        m2, m4 = _binary.grad_moment(2, delta, t), _binary.grad_moment(4, delta, t)
        assert bernstein_second_moment(g, t, m2, m4, 1e-3, 0.95)[1] > 1e-3
        noisy = g + rng.normal(0.0, 0.05 / t, g.size)
        assert bernstein_second_moment(noisy, t, m2, m4, 1e-3, 0.95)[1] < 1e-6
