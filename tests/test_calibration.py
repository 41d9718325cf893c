"""Size (false-alarm rate) of every test of the statistical engine, measured over seeds.

For a correct sampler, the number of seeds on which a test rejects at level alpha must lie in
the central 99.9% binomial region of its target rate (equivalently, the 99.9% Clopper-Pearson
interval of the measured rate contains the target), at alpha = 0.05 and 0.1, and its p-values
must pass a KS test against U(0, 1) at level 1e-3.

* Asymptotic tests (chi-square, G, KS, AD, contingency, z): target = nominal alpha; the
  p-values are continuous (N large enough that the lattice of counts is fine), so they are
  tested for uniformity as they are.
* Discrete tests (exact multinomial, Monte Carlo multinomial, exact binomial): the p-value
  takes finitely many values, so P(p <= alpha) is the *attained size*, at most alpha and
  computed exactly here (exact_multinomial_size, monte_carlo_multinomial_size,
  binomial_tail_size); that is the target. Their raw p-values cannot be uniform, so the
  uniformity test is applied to the randomised p-values p_lower + U (p - p_lower), exactly
  U(0, 1) under the null.
* Per-class KS combined by Holm (T3): the combined p-value min(1, m p_min) is conservative;
  the target is the exact 1 - (1 - alpha/m)^m (classes independent given the labels) and
  the uniformity test uses the Sidak form 1 - (1 - p_min)^m.

Samplers: NumPy's multinomial / Generator.choice (vectorised: all seeds in one call where the
sampler allows), and the reference Gumbel-max sampler (reference.numpy_sampler) seed by seed.
The seeds are fixed, so the outcome is deterministic; the 99.9% regions make a failure of a
correct implementation a 1-in-1000 event per check, not a knife edge.

The default run uses 400 seeds per test (about a minute of CPU in all); ``-m thorough`` runs
2000 seeds with larger samples.
"""
from __future__ import annotations

from harness.core import streaming

import zlib

import numpy as np
import pytest
from scipy import stats

from harness.stats.calibration import (
    acceptance_region,
    binomial_tail_size,
    clopper_pearson,
    format_calibration_table,
    pvalue_uniformity,
    summarize_pvalues,
)
from harness.stats.continuous import (
    anderson_darling,
    conditional_gof,
    independence_chi2,
    ks_test,
    z_test,
)
from harness.stats.discrete import (
    binomial_tail,
    chisquare_gof,
    exact_multinomial,
    exact_multinomial_size,
    g_test,
    monte_carlo_multinomial,
    monte_carlo_multinomial_size,
)
from reference import numpy_sampler

CONFIDENCE = 0.999
UNIFORMITY_LEVEL = 1e-3
ALPHAS = (0.05, 0.1)
SEEDS = 400
SEEDS_THOROUGH = 2000

# A law with a few rare categories, so that pooling is exercised at moderate N.
P12 = np.array([0.2, 0.15, 0.13, 0.12, 0.1, 0.09, 0.08, 0.07, 0.054, 0.003, 0.002, 0.001])
P12 = P12 / P12.sum()
P4 = np.array([0.1, 0.2, 0.3, 0.4])
LOGITS_T = np.array([0.5, -1.0, 2.0, 0.0])  # T2 / T3 experiments
LSE_T = float(np.log(np.sum(np.exp(LOGITS_T))))


def rng_for(name: str, salt: int = 0) -> np.random.Generator:
    """An independent, fixed stream per scenario (so scenarios never share data)."""
    return np.random.default_rng(np.random.SeedSequence([20240917, zlib.crc32(name.encode()), salt]))


def seeds_for(name: str, count: int) -> list[int]:
    return [int(s) for s in rng_for(name, 1).integers(0, 2**62, size=count)]


def gumbel_max_cdf(v):
    return stats.gumbel_r.cdf(v, loc=LSE_T)


def gumbel_max_logcdf(v):
    return stats.gumbel_r.logcdf(v, loc=LSE_T)


def gumbel_max_logsf(v):
    return stats.gumbel_r.logsf(v, loc=LSE_T)


def max_and_argmax(seed: int, n: int):
    """(argmax, max) of x + g for n draws with the reference Gumbel noise (spec T2, T3)."""
    g = numpy_sampler.gumbel_noise(numpy_sampler.as_generator(seed), (n, LOGITS_T.size))
    s = LOGITS_T + g
    return s.argmax(axis=1), s.max(axis=1)


def assert_calibrated(name: str, pvalues, *, targets=None, uniform=None, seeds=None):
    """Rate at each alpha in the 99.9% region of its target; p-values (or the given
    randomised ones) uniform at level 1e-3. Returns the results for the closing table."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = []
    for a in ALPHAS:
        tgt = a if targets is None else targets[a]
        r = summarize_pvalues(p, a, name=name, target=tgt, confidence=CONFIDENCE,
                              uniformity_pvalues=p if uniform is None else uniform)
        out.append(r)
    msg = "\n" + format_calibration_table(out)
    for r in out:
        assert r.consistent, f"false-alarm rate off its target: {r.describe()}{msg}"
        assert r.region[0] <= r.rejections <= r.region[1]
    assert out[0].uniformity_pvalue is not None
    assert out[0].uniformity_pvalue > UNIFORMITY_LEVEL, f"p-values not uniform: {out[0].describe()}{msg}"
    print(msg)
    return out


# ------------------------------------------------------------------------------------------
# chi-square and G
# ------------------------------------------------------------------------------------------
def _counts_multinomial(name: str, n: int, p, seeds: int):
    return rng_for(name).multinomial(n, p, size=seeds)


def _size_chisquare_family(name: str, seeds: int, n: int):
    counts = _counts_multinomial(name, n, P12, seeds)
    res = {
        "chi-square": [chisquare_gof(c, P12) for c in counts],
        "G": [g_test(c, P12) for c in counts],
        "G (Williams)": [g_test(c, P12, williams=True) for c in counts],
    }
    for test, rs in res.items():
        assert all(r.min_expected >= 5 for r in rs)
        assert_calibrated(f"{test}, multinomial N={n}", [r.pvalue for r in rs])


def test_size_chisquare_and_g_multinomial():
    _size_chisquare_family("chi2-mult", SEEDS, 1000)


@pytest.mark.thorough
def test_size_chisquare_and_g_multinomial_thorough():
    _size_chisquare_family("chi2-mult-thorough", SEEDS_THOROUGH, 5000)


def _size_chisquare_reference(seeds: int, n: int):
    logits = np.log(P12)
    ss = seeds_for("chi2-ref", seeds)
    rs = [chisquare_gof(streaming.counts(logits, n, s), P12) for s in ss]
    assert_calibrated(f"chi-square, reference counts N={n}", [r.pvalue for r in rs])
    gs = [g_test(streaming.counts(logits, n, s, method="gumbel"), P12) for s in ss]
    assert_calibrated(f"G, reference counts (gumbel method) N={n}", [r.pvalue for r in gs])


def test_size_chisquare_reference_sampler():
    _size_chisquare_reference(SEEDS, 1000)


@pytest.mark.thorough
def test_size_chisquare_reference_sampler_thorough():
    _size_chisquare_reference(SEEDS_THOROUGH, 5000)


def test_size_chisquare_generator_choice():
    n = 1000
    ps = []
    for s in seeds_for("chi2-choice", SEEDS):
        x = np.random.default_rng(s).choice(P12.size, size=n, p=P12)
        ps.append(chisquare_gof(np.bincount(x, minlength=P12.size), P12).pvalue)
    assert_calibrated(f"chi-square, Generator.choice N={n}", ps)


def test_size_chisquare_heavy_pooling():
    """Geometric law over 30 categories at N = 150: most categories pooled; every bin keeps
    expected count >= 5 and the pooled df = bins - 1 gives the nominal size."""
    p = 0.7 ** np.arange(30)
    p /= p.sum()
    n = 150
    counts = _counts_multinomial("chi2-pool", n, p, SEEDS)
    rs = [chisquare_gof(c, p) for c in counts]
    assert all(r.min_expected >= 5 for r in rs)
    assert all(r.bins < 30 for r in rs)
    assert_calibrated(f"chi-square, heavy pooling (K=30, N={n}, {rs[0].bins} bins)",
                      [r.pvalue for r in rs])


# ------------------------------------------------------------------------------------------
# exact and Monte Carlo multinomial (discrete p-values)
# ------------------------------------------------------------------------------------------
def _targets_exact(n, p, **kw):
    return {a: exact_multinomial_size(n, p, a, **kw) for a in ALPHAS}


@pytest.mark.parametrize("statistic", ["pearson", "g", "probability"])
def test_size_exact_multinomial(statistic):
    n = 20
    name = f"exact-{statistic}"
    counts = _counts_multinomial(name, n, P4, SEEDS)
    u = rng_for(name, 7).random(SEEDS)
    rs = [exact_multinomial(c, P4, statistic=statistic) for c in counts]
    targets = _targets_exact(n, P4, statistic=statistic)
    assert all(t <= a for a, t in targets.items())
    assert_calibrated(f"exact multinomial ({statistic}), N={n}", [r.pvalue for r in rs],
                      targets=targets, uniform=[r.randomized_pvalue(v) for r, v in zip(rs, u)])


def test_size_exact_multinomial_reference_sampler():
    n = 20
    logits = np.log(P4)
    ss = seeds_for("exact-ref", SEEDS)
    u = rng_for("exact-ref", 7).random(SEEDS)
    rs = []
    for s in ss:
        x = numpy_sampler.sample(logits, n, s)
        rs.append(exact_multinomial(np.bincount(x, minlength=4), P4))
    assert_calibrated(f"exact multinomial, reference sample N={n}", [r.pvalue for r in rs],
                      targets=_targets_exact(n, P4),
                      uniform=[r.randomized_pvalue(v) for r, v in zip(rs, u)])


def _size_monte_carlo(seeds: int, n_sim: int):
    n = 20
    counts = _counts_multinomial("mc", n, P4, seeds)
    u = rng_for("mc", 7).random(seeds)
    sim_seeds = seeds_for("mc", seeds)
    rs = [monte_carlo_multinomial(c, P4, n_sim=n_sim, seed=s) for c, s in zip(counts, sim_seeds)]
    targets = {a: monte_carlo_multinomial_size(n, P4, a, n_sim) for a in ALPHAS}
    assert_calibrated(f"Monte Carlo multinomial (B={n_sim}), N={n}", [r.pvalue for r in rs],
                      targets=targets, uniform=[r.randomized_pvalue(v) for r, v in zip(rs, u)])


def test_size_monte_carlo_multinomial():
    _size_monte_carlo(SEEDS, 999)


@pytest.mark.thorough
def test_size_monte_carlo_multinomial_thorough():
    _size_monte_carlo(SEEDS_THOROUGH, 9999)


# ------------------------------------------------------------------------------------------
# exact binomial tail
# ------------------------------------------------------------------------------------------
def test_size_binomial_tail_vectorised():
    n, p = 2000, 0.01
    hits = rng_for("binom").binomial(n, p, size=SEEDS)
    u = rng_for("binom", 7).random(SEEDS)
    rs = [binomial_tail(int(k), n, p) for k in hits]
    targets = {a: binomial_tail_size(n, p, a) for a in ALPHAS}
    assert_calibrated(f"exact binomial tail, n={n}, p={p}", [r.pvalue for r in rs],
                      targets=targets, uniform=[r.randomized_pvalue(v) for r, v in zip(rs, u)])


def test_size_binomial_tail_reference_sampler():
    """The rare category's count from the reference sampler (logit gap ln 100)."""
    logits = np.array([0.0, 0.0, -np.log(100.0)])
    p = np.exp(logits) / np.exp(logits).sum()
    n = 2000
    ss = seeds_for("binom-ref", SEEDS)
    u = rng_for("binom-ref", 7).random(SEEDS)
    rs = [binomial_tail(int(streaming.counts(logits, n, s)[2]), n, float(p[2])) for s in ss]
    targets = {a: binomial_tail_size(n, float(p[2]), a) for a in ALPHAS}
    assert_calibrated(f"exact binomial tail, reference counts n={n}, p={p[2]:.4f}",
                      [r.pvalue for r in rs], targets=targets,
                      uniform=[r.randomized_pvalue(v) for r, v in zip(rs, u)])


# ------------------------------------------------------------------------------------------
# KS, AD (T2: max of x + g ~ Gumbel(lse(x)))
# ------------------------------------------------------------------------------------------
def _ks_ad_pvalues(tag: str, seeds: int, n: int) -> tuple[list[float], list[float]]:
    """KS and AD p-values of the reference maximum (T2) against Gumbel(lse(x)) over seeds."""
    ks_p, ad_p = [], []
    for s in seeds_for(tag, seeds):
        _, m = max_and_argmax(s, n)
        ks_p.append(ks_test(m, gumbel_max_cdf).pvalue)
        ad_p.append(anderson_darling(m, gumbel_max_cdf, logcdf=gumbel_max_logcdf,
                                     logsf=gumbel_max_logsf).pvalue)
    return ks_p, ad_p


@pytest.mark.parametrize("n", [10, 200])
def test_size_ks_and_ad_gumbel_max(n):
    ks_p, ad_p = _ks_ad_pvalues(f"ks-ad-{n}", SEEDS, n)
    assert_calibrated(f"KS, reference max, n={n}", ks_p)
    # AD and KS on the same samples are dependent; each is calibrated on its own
    assert_calibrated(f"Anderson-Darling, reference max, n={n}", ad_p)


@pytest.mark.thorough
@pytest.mark.parametrize("n", [5, 20, 1000])
def test_size_ks_and_ad_thorough(n):
    ks_p, ad_p = _ks_ad_pvalues(f"ks-ad-thorough-{n}", SEEDS_THOROUGH, n)
    assert_calibrated(f"KS, reference max, n={n}", ks_p)
    assert_calibrated(f"Anderson-Darling, reference max, n={n}", ad_p)


# ------------------------------------------------------------------------------------------
# T3: independence of max and argmax
# ------------------------------------------------------------------------------------------
def _size_t3(seeds: int, n: int):
    ss = seeds_for(f"t3-{n}", seeds)
    edges = stats.gumbel_r.ppf([0.2, 0.4, 0.6, 0.8], loc=LSE_T)
    ind_p, cond_p, cond_sidak, ms = [], [], [], []
    for s in ss:
        lab, m = max_and_argmax(s, n)
        r = independence_chi2(lab, m, edges)
        assert r.min_expected >= 5
        ind_p.append(r.pvalue)
        c = conditional_gof(lab, m, gumbel_max_cdf)
        assert min(c.sizes) >= 20
        cond_p.append(c.pvalue)
        cond_sidak.append(c.pvalue_sidak)
        ms.append(len(c.classes))
    assert_calibrated(f"chi-square independence (T3), n={n}", ind_p)
    # the number m of class groups depends on the labels only (a rare class is pooled on
    # some seeds); given m the rejection probability is exactly 1 - (1 - alpha/m)^m
    m = np.array(ms, dtype=float)
    targets = {a: float(np.mean(1 - (1 - a / m) ** m)) for a in ALPHAS}
    assert_calibrated(f"per-class KS + Holm (T3, {min(ms)}-{max(ms)} classes), n={n}", cond_p,
                      targets=targets, uniform=cond_sidak)


def test_size_independence_and_conditional_ks():
    _size_t3(SEEDS, 400)


@pytest.mark.thorough
def test_size_independence_and_conditional_ks_thorough():
    _size_t3(SEEDS_THOROUGH, 4000)


def test_size_z_test():
    ps = [z_test(rng_for("z", i).normal(size=200), 0.0).pvalue for i in range(SEEDS)]
    assert_calibrated("z-test (estimated se), n=200", ps)


# ------------------------------------------------------------------------------------------
# the machinery itself
# ------------------------------------------------------------------------------------------
def test_clopper_pearson_matches_acceptance_region():
    """The CP interval of k contains a iff k is in the binomial acceptance region of a."""
    for n, a in [(400, 0.05), (400, 0.1), (2000, 0.01), (200, 0.5)]:
        lo_k, hi_k = acceptance_region(n, a, CONFIDENCE)
        for k in range(max(0, lo_k - 5), min(n, hi_k + 5) + 1):
            lo, hi = clopper_pearson(k, n, CONFIDENCE)
            assert (lo <= a <= hi) == (lo_k <= k <= hi_k), (n, a, k, lo, hi, lo_k, hi_k)
        assert stats.binom.cdf(lo_k - 1, n, a) <= (1 - CONFIDENCE) / 2
        assert stats.binom.sf(hi_k, n, a) <= (1 - CONFIDENCE) / 2


def test_clopper_pearson_coverage_exact():
    """Exact coverage of the 99.9% interval, summed over all outcomes, is >= 99.9%."""
    n = 300
    for a in (0.01, 0.05, 0.3):
        ks = np.arange(n + 1)
        cover = [lo <= a <= hi for lo, hi in (clopper_pearson(int(k), n, CONFIDENCE) for k in ks)]
        assert stats.binom.pmf(ks[np.array(cover)], n, a).sum() >= CONFIDENCE


def test_calibration_detects_a_miscalibrated_test():
    """The check has power: a test run at 1.6 x its nominal level fails it."""
    rng = rng_for("miscal")
    u = rng.random(SEEDS)
    bad = np.minimum(1.0, u / 1.6)  # P(bad <= a) = 1.6 a
    r = summarize_pvalues(bad, 0.05, target=0.05, uniformity_pvalues=bad)
    assert not r.consistent or r.uniformity_pvalue < UNIFORMITY_LEVEL
    assert pvalue_uniformity(bad) < UNIFORMITY_LEVEL
