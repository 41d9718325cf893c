"""Discrete goodness of fit: chi-square, G, exact and Monte Carlo multinomial, binomial tail.

Includes the regression tests for the harness bugs of bugs.md A.11 (class
``TestHarnessBugsA11``): an inverted assertion (jax#2847), expected counts for observed
categories only (jax#7040), wrong degrees of freedom (ranjs#198), float32 probabilities that
sum to 0.99999994 (numpy#6123, numpy#8317), NaN / negative / all-zero probabilities
(numpy#12545).
"""
from __future__ import annotations
from harness.core import streaming

import itertools
import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.checks.builders import discrete_verdict
from harness.stats.calibration import acceptance_region, summarize_pvalues
from harness.stats.discrete import (
    EXACT_MAX_OUTCOMES,
    binomial_tail,
    chisquare_gof,
    exact_multinomial,
    exact_multinomial_size,
    g_test,
    monte_carlo_multinomial,
    monte_carlo_multinomial_size,
    pool_categories,
    validate_probabilities,
)
from harness.core.verdict import VerdictFailure, assert_verdict, judge_family
from reference import numpy_sampler


def rng_for(name: str, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([20240919, zlib.crc32(name.encode()), salt]))


P4 = np.array([0.1, 0.2, 0.3, 0.4])


# ------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------
class TestValidateProbabilities:
    def test_float64_ok_and_renormalised(self):
        p = validate_probabilities([0.2, 0.3, 0.5])
        assert p.dtype == np.float64 and p.sum() == pytest.approx(1.0, abs=1e-15)

    def test_float16_within_its_precision(self):
        p = np.full(7, 1 / 7, dtype=np.float16)
        assert abs(float(p.astype(np.float64).sum()) - 1) > 1e-6  # float16 rounding
        assert validate_probabilities(p).sum() == pytest.approx(1.0)

    def test_large_float32_softmax(self):
        x = rng_for("softmax32").normal(size=152_000).astype(np.float32)
        e = np.exp(x - x.max())
        p = e / e.sum()  # float32 throughout
        assert validate_probabilities(p).sum() == pytest.approx(1.0)

    @pytest.mark.parametrize("bad, match", [
        ([0.5, float("nan"), 0.5], "NaN"),
        ([0.5, -0.1, 0.6], "negative"),
        ([0.0, 0.0, 0.0], "all zero"),
        ([0.5, float("inf")], "inf|NaN"),
        ([0.5, 0.6], "sum"),
        ([[0.5, 0.5]], "1-D"),
        ([], "1-D|non-empty"),
        (np.array(["a", "b"]), "real"),
    ])
    def test_rejected(self, bad, match):
        with pytest.raises(ValueError, match=match):
            validate_probabilities(bad)

    def test_explicit_tolerance(self):
        with pytest.raises(ValueError):
            validate_probabilities([0.5, 0.5 - 1e-7], tolerance=1e-9)
        validate_probabilities([0.5, 0.5 - 1e-7], tolerance=1e-6)


# ------------------------------------------------------------------------------------------
# chi-square, G, pooling
# ------------------------------------------------------------------------------------------
def test_chisquare_matches_scipy_without_pooling():
    o = np.array([90, 210, 310, 390])
    r = chisquare_gof(o, P4)
    ref = stats.chisquare(o, 1000 * P4)
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    assert (r.df, r.bins, r.n, r.min_expected) == (3, 4, 1000, 100.0)


def test_g_matches_scipy_log_likelihood():
    o = np.array([90, 210, 310, 390])
    r = g_test(o, P4)
    ref = stats.power_divergence(o, 1000 * P4, lambda_="log-likelihood")
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-8)


def test_g_zero_counts_and_williams():
    o = np.array([0, 10, 30, 60])
    r = g_test(o, P4)
    assert np.isfinite(r.statistic) and r.statistic > 0
    w = g_test(o, P4, williams=True)
    q = 1 + (np.sum(1 / P4) - 1) / (6 * 100 * 3)
    assert w.statistic == pytest.approx(r.statistic / q)
    assert w.pvalue > r.pvalue


def test_g_is_nonnegative_at_exact_fit():
    r = g_test([100, 200, 300, 400], P4)
    assert r.statistic == 0.0 and r.pvalue == 1.0


def test_ddof():
    o = np.array([90, 210, 310, 390])
    assert chisquare_gof(o, P4, ddof=1).df == 2
    assert chisquare_gof(o, P4, ddof=1).pvalue == pytest.approx(
        stats.chi2.sf(chisquare_gof(o, P4).statistic, 2))
    with pytest.raises(ValueError):
        chisquare_gof(o, P4, ddof=-1)


@given(
    weights=st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=40),
    n=st.integers(0, 2000),
    zeros=st.integers(0, 3),
)
@settings(max_examples=200, deadline=None)
def test_pooling_keeps_every_bin_at_five(weights, n, zeros):
    """After pooling, the bins partition the positive-probability categories and every bin
    has expected count >= 5 (whenever N >= 5): the asymptotic p-value's condition holds."""
    p = np.array(weights + [0.0] * zeros)
    p /= p.sum()
    counts = np.zeros(p.size, dtype=np.int64)
    if n:
        counts = rng_for("pool", n).multinomial(n, p)
    r = chisquare_gof(counts, p)
    members = sorted(i for g in r.groups for i in g)
    assert members == sorted(np.flatnonzero(p > 0).tolist())
    assert len(r.groups) == r.bins == r.df + 1
    if n >= 5:
        assert r.min_expected >= 5 - 1e-9
        assert np.all(r.expected >= 5 - 1e-9)
    assert r.expected.sum() == pytest.approx(n)
    assert r.observed.sum() == n


def test_pooling_depends_on_expected_counts_only():
    e = np.array([0.5, 10.0, 1.0, 3.0, 7.0, 2.0, 0.1])
    g1 = pool_categories(e)
    # the same expected counts give the same groups whatever was observed
    p = e / e.sum()
    a = chisquare_gof([0, 10, 1, 3, 7, 2, 0], p).groups
    b = chisquare_gof([3, 5, 3, 6, 3, 3, 0], p).groups
    assert a == b == tuple(tuple(g) for g in g1)
    assert all(e[list(g)].sum() >= 5 for g in g1)


def test_single_bin_cannot_fail():
    r = chisquare_gof([2, 1], [0.5, 0.5])  # N = 3 < 5: one bin
    assert r.bins == 1 and r.df == 0 and r.pvalue == 1.0 and not r.can_fail


# ------------------------------------------------------------------------------------------
# impossible events
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [chisquare_gof, g_test, exact_multinomial,
                                lambda o, p: monte_carlo_multinomial(o, p, n_sim=99)])
def test_impossible_event_forces_zero_pvalue(fn):
    p = np.array([0.25, 0.25, 0.0, 0.5])
    o = np.array([5, 5, 1, 10])  # otherwise a perfect fit
    r = fn(o, p)
    assert r.pvalue == 0.0
    assert r.impossible == 1 and r.impossible_categories == (2,)
    assert r.can_fail
    ok = fn(np.array([5, 5, 0, 10]), p)
    assert ok.impossible == 0 and ok.pvalue > 0.5


def test_impossible_event_verdict_names_the_category():
    v = discrete_verdict("T1", "T1.zero", "P(argmax = i) = p_i", [50, 49, 1], [0.5, 0.5, 0.0],
                         seed=7, labels=["a", "b", "masked"])
    assert v.forced_fail and v.pvalue == 0.0
    assert "masked" in v.reason and "seen 1" in v.reason
    (judged,) = judge_family([v], 0.01)
    assert judged.passed is False


# ------------------------------------------------------------------------------------------
# exact and Monte Carlo multinomial
# ------------------------------------------------------------------------------------------
def _brute_force(o, p, statistic):
    n = int(sum(o))
    e = n * np.asarray(p)

    def stat(x):
        x = np.asarray(x, float)
        if statistic == "pearson":
            return float(np.sum((x - e) ** 2 / e))
        if statistic == "g":
            return float(2 * np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1) / e), 0)))
        return -float(stats.multinomial.logpmf(x, n, p))

    t0 = stat(o)
    ge = gt = 0.0
    for x in itertools.product(range(n + 1), repeat=len(p)):
        if sum(x) != n:
            continue
        t = stat(x)
        pr = float(stats.multinomial.pmf(x, n, p))
        if t >= t0 - 1e-9 * max(1, abs(t0)):
            ge += pr
        if t > t0 + 1e-9 * max(1, abs(t0)):
            gt += pr
    return ge, gt


@pytest.mark.parametrize("statistic", ["pearson", "g", "probability"])
@pytest.mark.parametrize("o", [[0, 1, 2, 3], [3, 0, 0, 3], [1, 1, 2, 2], [0, 0, 0, 6]])
def test_exact_multinomial_matches_brute_force(statistic, o):
    r = exact_multinomial(o, P4, statistic=statistic)
    ge, gt = _brute_force(o, P4, statistic)
    assert r.pvalue == pytest.approx(ge, rel=1e-9, abs=1e-14)
    assert r.pvalue_lower == pytest.approx(gt, rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("statistic", ["pearson", "g", "probability"])
def test_exact_randomised_pvalue_is_exactly_uniform(statistic):
    """Over all outcomes, the intervals [p_lower, p] have length P(outcome's level) and tile
    [0, 1]: p_lower + U (p - p_lower) is exactly U(0, 1) under the null."""
    n = 8
    outcomes = [x for x in itertools.product(range(n + 1), repeat=4) if sum(x) == n]
    levels = {}
    for x in outcomes:
        r = exact_multinomial(x, P4, statistic=statistic)
        key = (round(r.pvalue, 12), round(r.pvalue_lower, 12))
        levels[key] = levels.get(key, 0.0) + float(stats.multinomial.pmf(x, n, P4))
    ivs = sorted(levels)
    assert ivs[0][1] == pytest.approx(0.0, abs=1e-12)
    assert ivs[-1][0] == pytest.approx(1.0, abs=1e-9)
    for (hi, lo), mass in levels.items():
        assert hi - lo == pytest.approx(mass, abs=1e-9)
    for (hi1, _), (_, lo2) in zip(ivs, ivs[1:]):
        assert hi1 == pytest.approx(lo2, abs=1e-9)


def test_exact_size_is_attained_and_below_alpha():
    for a in (0.01, 0.05, 0.1):
        size = exact_multinomial_size(12, P4, a)
        outcomes = [x for x in itertools.product(range(13), repeat=4) if sum(x) == 12]
        brute = sum(float(stats.multinomial.pmf(x, 12, P4)) for x in outcomes
                    if exact_multinomial(x, P4).pvalue <= a)
        assert size == pytest.approx(brute, rel=1e-9) and size <= a


def test_exact_multinomial_limits():
    with pytest.raises(ValueError, match="outcomes"):
        exact_multinomial(np.full(20, 50), np.full(20, 0.05))
    assert math.comb(20 + 3, 3) <= EXACT_MAX_OUTCOMES
    r = exact_multinomial([0, 0, 0, 0], P4)
    assert r.pvalue == 1.0 and r.n == 0


def test_monte_carlo_agrees_with_exact():
    for o in ([1, 3, 7, 9], [5, 5, 5, 5], [0, 2, 4, 14]):
        ex = exact_multinomial(o, P4).pvalue
        mc = monte_carlo_multinomial(o, P4, n_sim=19999, seed=3).pvalue
        sd = math.sqrt(ex * (1 - ex) / 19999)
        assert abs(mc - ex) <= 5 * sd + 1e-4, (o, ex, mc)


def test_monte_carlo_is_seeded_and_valid():
    o = [1, 3, 7, 9]
    a = monte_carlo_multinomial(o, P4, n_sim=999, seed=11)
    b = monte_carlo_multinomial(o, P4, n_sim=999, seed=11)
    assert a.pvalue == b.pvalue and a.pvalue_lower == b.pvalue_lower
    assert 1 / 1000 <= a.pvalue <= 1 and a.pvalue_lower < a.pvalue
    assert monte_carlo_multinomial(o, P4, n_sim=999, seed=11, statistic="g").pvalue > 0
    assert monte_carlo_multinomial_size(20, P4, 0.05, 999) <= exact_multinomial_size(20, P4, 0.05) + 0.01


# ------------------------------------------------------------------------------------------
# binomial tail
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alt", ["two-sided", "less", "greater"])
def test_binomial_tail_matches_scipy(alt):
    for k, n, p in [(0, 1000, 0.003), (12, 1000, 0.02), (30, 1000, 0.02), (500, 1000, 0.5)]:
        r = binomial_tail(k, n, p, alt)
        assert r.pvalue == stats.binomtest(k, n, p, alternative=alt).pvalue
        assert r.expected == pytest.approx(n * p)
        assert r.z == pytest.approx((k - n * p) / math.sqrt(n * p * (1 - p)))


@pytest.mark.parametrize("n, p", [(200, 0.05), (30, 0.5), (10, 0.55), (2000, 0.01)])
@pytest.mark.parametrize("alt", ["two-sided", "less", "greater"])
def test_binomial_randomised_pvalue_is_exactly_uniform(n, p, alt):
    """p - p_lower is the probability of the outcomes tied with k in the test's ordering
    (k itself; two-sided, also an equally probable outcome on the other side), and p is the
    probability of the outcomes at least as extreme: so p_lower + U (p - p_lower) is exactly
    U(0, 1). (Outcomes with pmf < 1e-13 are skipped: they carry no mass.)"""
    ks = np.arange(n + 1)
    pmf_all = stats.binom.pmf(ks, n, p)
    ks = ks[pmf_all > 1e-13]
    pmf = pmf_all[ks]
    res = [binomial_tail(int(k), n, p, alt) for k in ks]
    pv = np.array([r.pvalue for r in res])
    lo = np.array([r.pvalue_lower for r in res])
    for i, k in enumerate(ks):
        if alt == "two-sided":
            tied = np.isclose(pmf, pmf[i], rtol=1e-7, atol=0)
            extreme = pmf <= pmf[i] * (1 + 1e-7)
        else:
            tied = ks == k
            extreme = ks <= k if alt == "less" else ks >= k
        assert pv[i] - lo[i] == pytest.approx(pmf[tied].sum(), rel=1e-9, abs=1e-12)
        assert pv[i] == pytest.approx(pmf[extreme].sum(), abs=1e-10)


def test_binomial_tail_edge_cases():
    assert binomial_tail(0, 100, 0.0).pvalue == 1.0
    assert binomial_tail(1, 100, 0.0).pvalue == 0.0  # impossible hit
    assert binomial_tail(100, 100, 1.0).pvalue == 1.0
    assert binomial_tail(0, 0, 0.3).pvalue == 1.0
    r = binomial_tail(0, 2_000_000_000, 1.5e-8)  # vllm#51367-like: 30 expected, none seen
    assert r.z < -5 and r.pvalue < 1e-12
    for bad in [(5, 3, 0.5), (-1, 3, 0.5), (1, 3, float("nan")), (1, 3, 1.5), (1.5, 3, 0.5)]:
        with pytest.raises(ValueError):
            binomial_tail(*bad)
    with pytest.raises(ValueError):
        binomial_tail(1, 3, 0.5, "both")


# ------------------------------------------------------------------------------------------
# harness bugs, bugs.md A.11
# ------------------------------------------------------------------------------------------
def _mutant_probs_as_logits(p, n, seed):
    """bugs.md B.3: argmax(p + g) with probabilities where logits belong."""
    rng = np.random.default_rng(seed)
    g = rng.gumbel(size=(n, p.size))
    return np.bincount(np.argmax(p + g, axis=1), minlength=p.size)


class TestHarnessBugsA11:
    P = np.array([0.05, 0.1, 0.15, 0.3, 0.4])

    def test_inverted_assertion_jax2847(self):
        """A wrong sampler must fail and a correct one must pass: the decision is
        'reject when p <= level', never the reverse."""
        n = 20_000
        bad = _mutant_probs_as_logits(self.P, n, 1)
        good = streaming.counts(np.log(self.P), n, 1)
        for fn in (chisquare_gof, g_test):
            assert fn(bad, self.P).pvalue < 1e-6
            assert fn(good, self.P).pvalue > 1e-3
        v_bad, v_good = judge_family([
            discrete_verdict("T1", "T1.bad", "P(i) = p_i", bad, self.P, seed=1),
            discrete_verdict("T1", "T1.good", "P(i) = p_i", good, self.P, seed=1),
        ], 0.01)
        assert v_bad.passed is False and v_good.passed is True
        with pytest.raises(VerdictFailure) as e:
            assert_verdict(v_bad)
        assert isinstance(e.value, AssertionError)
        assert "expected:" in str(e.value) and "seed=1" in str(e.value)
        assert_verdict(v_good)  # no exception

    def test_never_seen_category_is_counted_jax7040(self):
        """A sampler that never returns a category with expected count 200 must be caught;
        the buggy 'observed categories only' computation would have passed it."""
        n = 2000
        q = self.P.copy()
        q[0] = 0.0
        q /= q.sum()  # never returns category 0 (expected 100 under P)
        counts = rng_for("jax7040").multinomial(n, q)
        assert counts[0] == 0
        r = chisquare_gof(counts, self.P)
        assert r.pvalue < 1e-6 and r.bins == 5
        assert g_test(counts, self.P).pvalue < 1e-6
        # the bug: expected counts only for the observed categories (renormalised to N)
        seen = counts > 0
        e_bug = n * self.P[seen] / self.P[seen].sum()
        assert stats.chisquare(counts[seen], e_bug).pvalue > 0.01
        # passing the observed categories alone is refused, not silently accepted
        with pytest.raises(ValueError, match="count every category"):
            chisquare_gof(counts[seen], self.P)

    def test_degrees_of_freedom_ranjs198(self):
        """df = bins - 1 after pooling gives the nominal size; ranjs#198's df = bins - 1 - 3
        (subtracting parameters that were never estimated) gives far too many false alarms,
        and the unpooled df = K - 1 far too few."""
        p = 0.7 ** np.arange(30)
        p /= p.sum()
        n, seeds, a = 150, 400, 0.05
        rs = [chisquare_gof(c, p) for c in rng_for("ranjs198").multinomial(n, p, size=seeds)]
        bins = {r.bins for r in rs}
        assert max(bins) < 30
        right = [r.pvalue for r in rs]
        too_small = [stats.chi2.sf(r.statistic, r.bins - 1 - 3) for r in rs]
        unpooled = [stats.chi2.sf(r.statistic, p.size - 1) for r in rs]
        lo, hi = acceptance_region(seeds, a, 0.999)
        rate = lambda ps: sum(x <= a for x in ps)  # noqa: E731
        assert lo <= rate(right) <= hi
        assert rate(too_small) > hi, rate(too_small)
        assert rate(unpooled) < lo, rate(unpooled)
        # and ddof=3 through the API reproduces the bug (it is for estimated parameters only)
        bug = [chisquare_gof(c, p, ddof=3).pvalue for c in rng_for("ranjs198").multinomial(n, p, size=seeds)]
        assert not summarize_pvalues(bug, a).consistent

    def test_float32_probabilities_summing_to_0_99999994(self):
        """numpy#6123 / numpy#8317: float32 probabilities off 1 by float32 rounding."""
        p32 = np.array([0.5, 0.49999994], dtype=np.float32)
        assert float(p32.astype(np.float64).sum()) == pytest.approx(0.99999994, abs=1e-9)
        assert float(p32.astype(np.float64).sum()) != 1.0
        p = validate_probabilities(p32)
        assert p.dtype == np.float64 and p.sum() == 1.0
        r = chisquare_gof([500, 500], p32)
        assert r.pvalue > 0.9 and r.expected.sum() == pytest.approx(1000)
        exact_multinomial([5, 5], p32)
        discrete_verdict("T1", "T1.f32", "float32 probabilities", [500, 500], p32)

    @pytest.mark.parametrize("bad", [
        [0.5, float("nan"), 0.5],  # numpy#12545
        [float("nan")] * 3,
        [0.6, -0.1, 0.5],
        [0.0, 0.0, 0.0],
    ])
    @pytest.mark.parametrize("fn", [chisquare_gof, g_test, exact_multinomial,
                                    lambda o, p: monte_carlo_multinomial(o, p, n_sim=9)])
    def test_bad_probabilities_rejected_numpy12545(self, bad, fn):
        with pytest.raises(ValueError):
            fn([1, 1, 1], bad)
        with pytest.raises(ValueError):
            discrete_verdict("T1", "x", "x", [1, 1, 1], bad)
