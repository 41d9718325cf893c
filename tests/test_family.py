"""Holm-Bonferroni: against a brute-force step-down, and its family-wise error rate measured
over seeds (independent and dependent p-values, and real verdicts judged by judge_family)."""
from __future__ import annotations
from harness.core import streaming

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.checks.builders import discrete_verdict, ks_verdict, tail_verdict, z_verdict
from harness.stats.calibration import acceptance_region, clopper_pearson
from harness.stats.family import bonferroni_min, holm
from harness.core.verdict import judge_family
from reference import numpy_sampler


def rng_for(name: str, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([20240921, zlib.crc32(name.encode()), salt]))


def brute_force_holm(ps, alpha):
    """Holm (1979) by the letter: order the hypotheses; walk down while
    p_(j) <= alpha / (m - j + 1); reject everything walked over."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: (ps[i], i))
    reject = [False] * m
    for j, i in enumerate(order, start=1):
        if ps[i] <= alpha / (m - j + 1):
            reject[i] = True
        else:
            break
    adjusted = [0.0] * m
    running = 0.0
    for j, i in enumerate(order, start=1):
        running = max(running, min(1.0, (m - j + 1) * ps[i]))
        adjusted[i] = running
    return reject, adjusted


ALPHA = st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.2, 0.5])


@st.composite
def pvalue_lists(draw):
    """p-values with ties, exact zeros/ones and values on the Holm thresholds."""
    alpha = draw(ALPHA)
    m = draw(st.integers(1, 30))
    base = st.one_of(
        st.floats(0, 1),
        st.sampled_from([0.0, 1.0]),
        st.integers(1, 30).map(lambda k: alpha / k),  # exactly on a threshold
        st.floats(0, 1e-3),
    )
    ps = draw(st.lists(base, min_size=m, max_size=m))
    if m > 1 and draw(st.booleans()):
        ps[draw(st.integers(0, m - 1))] = ps[0]  # a tie
    return ps, alpha


@given(pvalue_lists())
@settings(max_examples=200, deadline=None)
def test_holm_matches_brute_force(case):
    ps, alpha = case
    res = holm(ps, alpha)
    reject, adjusted = brute_force_holm(ps, alpha)
    assert res.reject == reject
    assert res.adjusted == pytest.approx(adjusted, rel=1e-12, abs=0)
    assert res.alpha == alpha
    # adjusted p-values are monotone in the raw ones and >= them
    assert all(a >= p for a, p in zip(res.adjusted, ps))
    # the family is rejected iff the Bonferroni min-p is below alpha (away from rounding)
    bm = bonferroni_min(ps)
    if abs(bm - alpha) > 1e-12:
        assert res.any_reject == (bm <= alpha)


@given(pvalue_lists(), st.randoms(use_true_random=False))
@settings(max_examples=100, deadline=None)
def test_holm_is_order_invariant(case, rnd):
    ps, alpha = case
    perm = list(range(len(ps)))
    rnd.shuffle(perm)
    a = holm(ps, alpha)
    b = holm([ps[i] for i in perm], alpha)
    assert [a.reject[i] for i in perm] == b.reject
    assert [a.adjusted[i] for i in perm] == pytest.approx(b.adjusted)


def test_holm_threshold_exactly():
    """p exactly alpha/m is rejected (<=), the next threshold is alpha/(m-1)."""
    a = 0.05
    assert holm([a / 3, a / 2, a], a).reject == [True, True, True]
    assert holm([a / 3, a / 2 * (1 + 1e-12), a], a).reject == [True, False, False]
    assert holm([a / 3 * (1 + 1e-12), 1.0, 1.0], a).reject == [False, False, False]
    assert holm([0.0, 0.0, a], a).reject == [True, True, True]  # last threshold alpha / 1


def test_holm_edge_cases():
    assert holm([], 0.05).reject == []
    assert bonferroni_min([]) == 1.0
    for bad in ([0.1, float("nan")], [1.5], [-0.1]):
        with pytest.raises(ValueError):
            holm(bad, 0.05)
    for alpha in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError):
            holm([0.1], alpha)


def test_fwer_independent_nulls():
    """All m nulls true, independent uniform p-values: Holm rejects anything iff
    min p <= alpha/m, so the FWER is exactly 1 - (1 - alpha/m)^m (<= alpha)."""
    m, seeds, alpha = 10, 4000, 0.1
    ps = rng_for("fwer-indep").random((seeds, m))
    k = sum(holm(row, alpha).any_reject for row in ps)
    target = 1 - (1 - alpha / m) ** m
    lo, hi = acceptance_region(seeds, target, 0.999)
    assert lo <= k <= hi, (k, target)


def test_fwer_dependent_nulls_and_false_nulls():
    """Equicorrelated (rho = 0.6) one-sided z-test p-values, 7 true nulls and 3 false ones
    with a large effect: the rate of rejecting any true null stays <= alpha."""
    m0, m1, seeds, alpha, rho = 7, 3, 4000, 0.1, 0.6
    rng = rng_for("fwer-dep")
    common = rng.normal(size=(seeds, 1))
    z = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=(seeds, m0 + m1))
    z[:, m0:] += 4.0  # false nulls
    ps = stats.norm.sf(z)
    false_alarms = 0
    found = 0
    for row in ps:
        rej = holm(row, alpha).reject
        false_alarms += any(rej[:m0])
        found += sum(rej[m0:])
    lo, _ = clopper_pearson(false_alarms, seeds, 0.999)
    assert lo <= alpha, false_alarms / seeds
    assert found / (seeds * m1) > 0.8  # and it still finds the false nulls


def test_fwer_of_judge_family_on_real_verdicts():
    """A run of six real checks of correct samplers (chi-square on reference counts, KS,
    tail, z, and two more chi-squares), judged at family alpha 0.2 over 200 seeds: the rate
    of runs with any FAIL is <= 0.2 (Holm controls the FWER under any dependence)."""
    p = np.array([0.05, 0.1, 0.15, 0.3, 0.4])
    logits = np.log(p)
    alpha, seeds = 0.2, 200
    failed_runs = 0
    for s in [int(x) for x in rng_for("judge").integers(0, 2**62, size=seeds)]:
        rng = np.random.default_rng(s)
        g = numpy_sampler.gumbel_noise(rng, (500, 5))
        mx = (logits + g).max(axis=1)
        vs = [
            discrete_verdict("T1", "a", "", streaming.counts(logits, 2000, s), p, seed=s),
            discrete_verdict("T1", "b", "", streaming.counts(logits, 3000, s + 1), p, seed=s),
            discrete_verdict("T1", "c", "", np.bincount(rng.choice(5, 1000, p=p), minlength=5), p),
            ks_verdict("T2", "d", "", mx, lambda v: stats.gumbel_r.cdf(v, loc=0.0), seed=s),
            tail_verdict("T1", "e", "", int(rng.binomial(5000, 0.01)), 5000, 0.01),
            z_verdict("G2", "f", "", rng.normal(size=300), 0.0),
        ]
        judged = judge_family(vs, alpha)
        failed_runs += any(v.passed is False for v in judged)
    lo, _ = clopper_pearson(failed_runs, seeds, 0.999)
    assert lo <= alpha, failed_runs
