"""Issue 9: the confirmed p-value is valid, and the distance bounds cover the true distance."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.checks.builders import discrete_verdict
from harness.checks.confirmation import confirm_verdicts
from harness.stats.bounds import cp_interval, sup_distance_bound, tv_upper_bound
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


# ---------------------------------------------------------------- issue 18, items 4 and 5 ------

def _copied_stage_check(p, n, *, alpha, family_size, law=None):
    """A check whose target ignores its seed: stage 2 returns the counts of stage 1."""
    from harness.checks.builders import discrete_verdict

    def run(run_index):
        counts = np.random.default_rng(run_index).multinomial(n, p if law is None else law)

        def body(seed):
            return [discrete_verdict("X", "c", "", counts, p, seed=seed, alpha=alpha, family_size=family_size)]

        return confirm_verdicts(body(1), lambda: body(2), alpha)

    return run


@pytest.mark.parametrize("runs", [pytest.param(2000, marks=pytest.mark.slow), 300])
def test_seed_ignoring_correct_target_false_law_fail_rate(runs):
    """A correct-law target that ignores its seed, 2000 runs (issue 18, item 4). Before, stage 2
    copied stage 1 and p = p1^2: the law failed with probability sqrt(L) (here alpha = 0.01,
    m = 1: 0.1, i.e. about 200 of 2000 runs). Now the copy is detected, the rejection is not
    confirmed (p = 1) and a contract verdict says "ignores its seed": 0 law FAILs, and a
    contract verdict for every run whose stage 2 ran (p1 <= 0.1)."""
    from harness.checks.confirmation import IGNORES_SEED, ignored_seed_checks
    from harness.core.verdict import judge_family

    p = np.array([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.04, 0.01])
    run = _copied_stage_check(p, 5000, alpha=0.01, family_size=1)
    fails = stage2 = contract = 0
    for i in range(runs):
        out = run(i)
        law = [v for v in out if v.details.get("group") != "contract"]
        judged = judge_family(law, 0.01)
        fails += any(v.failed for v in judged)
        if ignored_seed_checks(out):
            stage2 += 1
            c = [v for v in out if v.details.get("group") == "contract"]
            assert len(c) == 1 and c[0].passed is False and IGNORES_SEED in c[0].reason
            contract += 1
    assert fails == 0
    # stage 2 runs iff p1 <= sqrt(alpha) = 0.1: about runs / 10 (99.9% binomial range)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], runs, 0.1)
    print(f"{runs} runs: {fails} law FAILs, {stage2} stage-2 copies detected, {contract} contract verdicts")
    assert lo <= stage2 <= hi and contract == stage2


def test_seed_ignoring_target_is_detected_and_not_confirmed():
    """A wrong law that ignores its seed: p1 tiny, stage 2 a copy: not confirmed (p = 1), the
    reason says so, and a failing contract verdict "<check>.seed" is added."""
    from harness.checks.confirmation import IGNORES_SEED, ignored_seed_checks

    p = np.full(8, 0.125)
    q = p * (1 + 0.2 * np.sin(np.arange(8)))
    run = _copied_stage_check(p, 20_000, alpha=1e-4, family_size=10, law=q / q.sum())
    out = run(0)
    assert out[0].pvalue == 1.0 and "could not be confirmed" in out[0].reason
    assert ignored_seed_checks(out) == ["c"] and out[0].details["confirmation"]["same_draws"]
    assert out[1].check == "c.seed" and out[1].passed is False and out[1].details["group"] == "contract"
    assert IGNORES_SEED in out[1].reason


def test_fresh_draws_are_not_mistaken_for_copies():
    """Independent stages with the same law: digests differ; the usual max(p1, p2)^2."""
    from harness.checks.builders import discrete_verdict
    from harness.checks.digests import counts_digest, hits_digest, sequence_digest

    p = np.full(8, 0.125)
    q = p * (1 + 0.2 * np.sin(np.arange(8)))
    q /= q.sum()
    rng = np.random.default_rng(5)
    first = [discrete_verdict("X", "c", "", rng.multinomial(20_000, q), p, seed=1, alpha=1e-4, family_size=10)]
    second = [discrete_verdict("X", "c", "", rng.multinomial(20_000, q), p, seed=2, alpha=1e-4, family_size=10)]
    out = confirm_verdicts(first, lambda: second, 1e-4)
    assert len(out) == 1 and out[0].pvalue == pytest.approx(max(first[0].pvalue, second[0].pvalue) ** 2)
    # inconclusive data carries no digest (two coin flips can coincide)
    assert counts_digest(np.array([10, 10]), [0.5, 0.5]) is None and sequence_digest(np.zeros(50)) is None
    assert sequence_digest(rng.random(50)) is not None and hits_digest([5], 0.5) is None
    assert hits_digest([17, 4000, 9000], 1e-5) is not None


def test_nan_stage_two_pvalue_is_an_error():
    a = _v("a", 1e-6)
    b = _v("a", float("nan"))
    out = confirm_verdicts([a], lambda: [b], 1e-4)
    assert out[0].forced_fail and "NaN" in out[0].reason and out[0].details["confirmation"]["error"]


def test_stage_two_context_keeps_the_design_seed():
    """Stage 2 draws under a new run seed but derives the check's inputs (random logits) from the
    stage-1 run seed: the report experiments test the same law in both stages."""
    from harness.checks.confirmation import confirmation_context, design_rng, design_seed
    from harness.core.context import RunContext

    ctx = RunContext(seed=7)
    c2 = confirmation_context(ctx)
    assert c2.seed != ctx.seed and c2.seed_for("a") != ctx.seed_for("a")
    assert design_seed(c2) == design_seed(ctx) == 7 and design_seed(confirmation_context(c2)) == 7
    assert np.array_equal(design_rng(ctx, "T1.mc.k1000.logits").normal(size=5),
                          design_rng(c2, "T1.mc.k1000.logits").normal(size=5))
    # stage 1 is unchanged: the same generator as before
    assert np.array_equal(design_rng(ctx, "k").normal(size=3), np.random.default_rng(ctx.seed_for("k")).normal(size=3))
    from harness.experiments.t2_max_stability import _logits

    assert np.array_equal(_logits(ctx, "x", None), _logits(c2, "x", None))


def test_tail_bound_reports_the_deficit_side_as_a_lower_bound():
    """30 expected hits: the bound states a lower bound on rate/p (the deficit side) and an upper
    one, each its own; a count of 0 says the deficit side certifies little."""
    from harness.checks.builders import tail_verdict

    v = tail_verdict("X", "t", "", 30, 30_000_000, 1e-6, alpha=1e-4, family_size=27, seed=0)
    lo, hi = v.details["rate_ratio_lower"], v.details["rate_ratio_upper"]
    lo_cp, hi_cp = cp_interval(30, 30_000_000, 1e-4 / 27)
    assert lo == pytest.approx(float(lo_cp) / 1e-6) and hi == pytest.approx(float(hi_cp) / 1e-6)
    assert 0.1 < lo < 1 < hi and v.bound.value == pytest.approx(hi - 1)
    assert "deficit side" in v.bound.measure and f"{lo:.3g}" in v.bound.measure
    v0 = tail_verdict("X", "t", "", 0, 30_000_000, 1e-6, alpha=1e-4, family_size=27, seed=0)
    assert v0.details["rate_ratio_lower"] == 0.0 and "certifies little" in v0.reason


def test_temperature_bound_covers_a_lower_temperature():
    """The C2 second-moment bound |T'/T - 1| covers the truth for T' < T and T' > T (the null
    standard error alone is too small for T' < T); 200 runs each at 1 - a = 0.9."""
    from harness.checks.claims import PI2_3, VAR_L2, temperature_ratio_bound
    from harness.stats.bounds import mean_bound

    rng = np.random.default_rng(3)
    dx, n, a = -1.386, 2000, 0.1
    for tp in (0.8, 1.25):  # T = 1, target at T'
        r = 1.0 / tp
        miss_new = miss_null = 0
        for _ in range(200):
            lg = rng.logistic(size=n)
            d2 = (r * lg + (r - 1) * dx) ** 2
            se0 = math.sqrt(VAR_L2 / n)
            se_b = max(se0, float(np.std(d2, ddof=1)) / math.sqrt(n))
            miss_new += temperature_ratio_bound(mean_bound(d2.mean(), PI2_3, se_b, a), dx) < abs(tp - 1) - 1e-12
            miss_null += temperature_ratio_bound(mean_bound(d2.mean(), PI2_3, se0, a), dx) < abs(tp - 1) - 1e-12
        assert clopper_pearson(miss_new, 200, 0.999)[0] <= a, (tp, miss_new, miss_null)
