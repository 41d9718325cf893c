"""Continuous goodness of fit: KS, Anderson-Darling (Marsaglia p-values), per-class k-sample
test and contingency test for T3, z-test."""
from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from scipy import optimize, stats

from harness.stats.continuous import (
    _adinf,
    ad_pvalue,
    anderson_darling,
    conditional_gof,
    independence_chi2,
    ks_test,
    z_test,
)
from harness.stats.family import holm
from harness.stats.power import dkwm_epsilon
from reference import numpy_sampler


def rng_for(name: str, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([20240920, zlib.crc32(name.encode()), salt]))


LOGITS = np.array([0.5, -1.0, 2.0, 0.0])
LSE = float(np.log(np.sum(np.exp(LOGITS))))


def gumbel_cdf(v):
    return stats.gumbel_r.cdf(v, loc=LSE)


def max_and_argmax(seed, n, logits=LOGITS):
    g = numpy_sampler.gumbel_noise(numpy_sampler.as_generator(seed), (n, logits.size))
    s = logits + g
    return s.argmax(axis=1), s.max(axis=1)


# ------------------------------------------------------------------------------------------
# KS
# ------------------------------------------------------------------------------------------
def test_ks_matches_scipy_and_reports_dkwm():
    x = rng_for("ks").gumbel(size=500)
    r = ks_test(x, stats.gumbel_r.cdf, alpha=0.01)
    ref = stats.kstest(x, stats.gumbel_r.cdf)
    assert (r.statistic, r.pvalue) == (ref.statistic, ref.pvalue)
    assert r.n == 500 and r.dkwm_epsilon == dkwm_epsilon(500, 0.01)
    assert r.location == ref.statistic_location


def test_ks_rejects_wrong_law_and_bad_input():
    x = rng_for("ks-wrong").gumbel(size=2000)
    assert ks_test(-x, stats.gumbel_r.cdf).pvalue < 1e-6  # Gumbel-min (dpnp#249)
    assert ks_test(x, stats.gumbel_r.cdf).pvalue > 1e-3
    with pytest.raises(ValueError, match="NaN"):
        ks_test([0.0, float("nan")], stats.gumbel_r.cdf)
    with pytest.raises(ValueError):
        ks_test([], stats.gumbel_r.cdf)
    with pytest.raises(ValueError, match="outside"):
        ks_test([0.0, 1.0], lambda v: 2 * np.ones_like(v))


# ------------------------------------------------------------------------------------------
# Anderson-Darling
# ------------------------------------------------------------------------------------------
def _ad_direct(x, cdf):
    u = np.sort(cdf(np.asarray(x)))
    n = u.size
    s = sum((2 * i - 1) * (math.log(u[i - 1]) + math.log(1 - u[n - i])) for i in range(1, n + 1))
    return -n - s / n


def test_ad_statistic_matches_definition():
    x = rng_for("ad-def").normal(size=50)
    r = anderson_darling(x, stats.norm.cdf, sf=stats.norm.sf)
    assert r.statistic == pytest.approx(_ad_direct(x, stats.norm.cdf), rel=1e-12)
    r2 = anderson_darling(x, stats.norm.cdf, logcdf=stats.norm.logcdf, logsf=stats.norm.logsf)
    r3 = anderson_darling(x, stats.norm.cdf)
    assert r2.statistic == pytest.approx(r.statistic, rel=1e-12)
    assert r3.statistic == pytest.approx(r.statistic, rel=1e-10)


def test_ad_upper_tail_keeps_precision_with_logsf():
    """A Gumbel sample of 40 is legitimate (P ~ 4e-18) but 1 - F(40) = 0 in float64."""
    x = np.r_[rng_for("ad-tail").gumbel(size=99), 40.0]
    naive = anderson_darling(x, stats.gumbel_r.cdf)
    good = anderson_darling(x, stats.gumbel_r.cdf, logcdf=stats.gumbel_r.logcdf,
                            logsf=stats.gumbel_r.logsf)
    assert math.isinf(naive.statistic) and naive.pvalue == 0.0
    assert math.isfinite(good.statistic) and good.pvalue > 0


@pytest.mark.parametrize("a2, p", [(1.933, 0.10), (2.492, 0.05), (3.857, 0.01)])
def test_ad_asymptotic_critical_values(a2, p):
    """Anderson & Darling (1954) / Stephens (1974) asymptotic upper points."""
    assert ad_pvalue(a2, 10**7) == pytest.approx(p, abs=3e-4)


def test_ad_pvalue_shape():
    zs = np.concatenate([np.linspace(0.01, 30, 6000), [1.9999999, 2.0, 2.0000001, 7.0, 7.0000001]])
    for n in (5, 10, 50, 1000):
        ps = np.array([ad_pvalue(z, n) for z in np.sort(zs)])
        assert np.all((ps >= 0) & (ps <= 1))
        assert np.all(np.diff(ps) <= 1e-12), f"p-value not monotone for n={n}"
        # continuous at the branch points, z = 2 and 7 (ADinf pieces), ADinf = c and 0.8
        # (errfix pieces), up to the published fit's own steps (at most 6e-6, n = 5)
        c = 0.01265 + 0.1757 / n
        z_c = optimize.brentq(lambda z: _adinf(z) - c, 0.05, 2.0)
        z_08 = optimize.brentq(lambda z: _adinf(z) - 0.8, 0.5, 2.0)
        for z0 in (2.0, 7.0, z_c, z_08):
            assert abs(ad_pvalue(z0 * (1 + 1e-9), n) - ad_pvalue(z0 * (1 - 1e-9), n)) < 1e-5, (n, z0)
        assert ad_pvalue(50.0, n) > 0  # far tail: small but not 0
        assert ad_pvalue(50.0, n) < 1e-20
    assert ad_pvalue(float("inf"), 10) == 0.0
    assert math.isnan(ad_pvalue(float("nan"), 10))
    assert ad_pvalue(0.0, 10) == 1.0


def test_ad_tail_continuation_matches_asymptotics():
    """Beyond A^2 = 7 the tail is sqrt(3/(pi z)) e^{-z} up to a constant factor near 1."""
    for z in (8.0, 12.0, 20.0):
        asym = math.sqrt(3 / (math.pi * z)) * math.exp(-z)
        assert ad_pvalue(z, 10**7) / asym == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("n", [5, 8])
def test_ad_finite_n_pvalue_against_simulation(n):
    """The finite-n correction (Marsaglia's errfix, incl. the small-x branch, which the first
    draft had with n**3 / n**2 for n**2 / n) against 10^6 simulated uniform samples."""
    reps = 1_000_000
    u = np.sort(rng_for("ad-sim", n).random((reps, n)), axis=1)
    i = np.arange(1, n + 1)
    a2 = -n - np.sum((2 * i - 1) * (np.log(u) + np.log1p(-u[:, ::-1])), axis=1) / n
    for z in (0.15, 0.2, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0):
        emp = float(np.mean(a2 > z))
        sd = math.sqrt(max(emp * (1 - emp), 1e-6) / reps)
        assert abs(ad_pvalue(z, n) - emp) <= 5 * sd + 2e-4, (z, ad_pvalue(z, n), emp)
    assert _adinf(0.0) == 0.0


def test_ad_rejects_wrong_law():
    x = rng_for("ad-wrong").gumbel(size=2000)
    assert anderson_darling(x + 0.3, stats.gumbel_r.cdf, logcdf=stats.gumbel_r.logcdf,
                            logsf=stats.gumbel_r.logsf).pvalue < 1e-6
    with pytest.raises(ValueError):
        anderson_darling([1.0, float("nan")], stats.norm.cdf)


# ------------------------------------------------------------------------------------------
# T3: per-class goodness of fit and contingency test
# ------------------------------------------------------------------------------------------
def test_conditional_gof_on_reference_sampler():
    lab, m = max_and_argmax(1, 20_000)
    r = conditional_gof(lab, m, gumbel_cdf)
    assert r.pvalue > 1e-3 and r.n == 20_000
    assert len(r.classes) == 4 and sum(r.sizes) == 20_000
    assert list(r.adjusted) == pytest.approx(holm(list(r.pvalues), 0.5).adjusted)
    assert r.pvalue == pytest.approx(min(1.0, 4 * min(r.pvalues)))
    ad = conditional_gof(lab, m, gumbel_cdf, test="ad", logcdf=lambda v: stats.gumbel_r.logcdf(v, loc=LSE),
                         logsf=lambda v: stats.gumbel_r.logsf(v, loc=LSE))
    assert ad.pvalue > 1e-3 and "Anderson" in ad.test


def test_conditional_gof_detects_class_dependent_law():
    """A max that depends on the argmax (class 2 shifted by 0.1) is caught, and the
    contingency test catches it too."""
    lab, m = max_and_argmax(2, 20_000)
    m = m + 0.1 * (lab == 2)
    r = conditional_gof(lab, m, gumbel_cdf)
    assert r.pvalue < 1e-6 and r.classes[r.worst] == (2,)
    edges = stats.gumbel_r.ppf(np.linspace(0.1, 0.9, 9), loc=LSE)
    assert independence_chi2(lab, m, edges).pvalue < 1e-6


def test_conditional_gof_pools_small_classes():
    rng = rng_for("pool-classes")
    lab = np.r_[np.zeros(100, int), np.ones(100, int), np.full(5, 2), np.full(7, 3), np.full(3, 4)]
    x = rng.gumbel(size=lab.size)
    r = conditional_gof(lab, x, stats.gumbel_r.cdf, min_count=20)
    assert sorted(sum(r.classes, ())) == [0, 1, 2, 3, 4]
    assert min(r.sizes) >= 15 and len(r.classes) == 2  # 2, 3, 4 pooled (15 < 20) into a class
    with pytest.raises(ValueError):
        conditional_gof(lab[:-1], x, stats.gumbel_r.cdf)
    with pytest.raises(ValueError):
        conditional_gof(lab, x, stats.gumbel_r.cdf, test="cvm")


def test_independence_chi2_matches_scipy_and_pools():
    lab, m = max_and_argmax(3, 5000)
    edges = stats.gumbel_r.ppf([0.25, 0.5, 0.75], loc=LSE)
    r = independence_chi2(lab, m, edges)
    table = np.zeros((4, 4), int)
    np.add.at(table, (lab, np.searchsorted(edges, m, side="right")), 1)
    ref = stats.chi2_contingency(table, correction=False)
    assert r.min_expected >= 5 and r.df == 9
    assert r.statistic == pytest.approx(ref.statistic) and r.pvalue == pytest.approx(ref.pvalue)
    # a rare label is pooled so that every expected cell is >= 5
    logits = np.array([3.0, 3.0, -2.0, -2.5])
    lab2, m2 = max_and_argmax(4, 2000, logits)
    lse2 = float(np.log(np.sum(np.exp(logits))))
    r2 = independence_chi2(lab2, m2, stats.gumbel_r.ppf(np.linspace(0.1, 0.9, 9), loc=lse2))
    assert r2.min_expected >= 5 and r2.table.shape[0] < 4
    assert sorted(sum(r2.row_groups, ())) == sorted(np.unique(lab2).tolist())
    with pytest.raises(ValueError):
        independence_chi2(lab, m, [1.0, 0.0])


def test_independence_chi2_degenerate():
    r = independence_chi2(np.zeros(50, int), np.arange(50.0), [10.0, 20.0])
    assert r.pvalue == 1.0 and r.df == 0


# ------------------------------------------------------------------------------------------
# z-test
# ------------------------------------------------------------------------------------------
def test_z_test():
    x = rng_for("z").normal(0.0, 2.0, size=400)
    r = z_test(x, 0.0)
    assert r.se == pytest.approx(x.std(ddof=1) / 20)
    assert r.pvalue == pytest.approx(2 * stats.norm.sf(abs(x.mean() / r.se)))
    k = z_test(x, 0.0, se=0.1)
    assert k.statistic == pytest.approx(x.mean() / 0.1)
    assert z_test([1.0, 1.0], 1.0).pvalue == 1.0
    assert z_test([1.0, 1.0], 0.0).pvalue == 0.0
    with pytest.raises(ValueError):
        z_test([1.0], 0.0)
