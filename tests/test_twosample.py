"""Two-sample statistics of ``compare`` (issue 20): harness/stats/twosample.py (tests) and twosample_power.py (power, bounds, band).

Fast tests: agreement with scipy / brute force, pooling by the pooled counts only, balancing,
bounds and band shapes. Slow tests (``-m slow``): for each configuration class the stated power
is checked by simulation **through the confirmed decision** (both of two independent stages reject
at sqrt(L), Monte Carlo p-values included) at exactly the stated distance in the least-favourable
direction, and the size at the stage level by independent null simulations with enough
repetitions to detect a 20 % excess; the coverage of the distance bounds by simulation.
Each prints stated vs simulated.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.stats import twosample as ts
from harness.stats import twosample_power as tp

ALPHA = 1e-4


def _zipf(k: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** s
    return p / p.sum()


def _draw(rng, n: int, pi: np.ndarray) -> np.ndarray:
    """Multinomial(n, pi) counts; for large K by inversion (O(n log K + K), same law)."""
    if pi.size < 5000:
        return rng.multinomial(n, pi)
    cdf = np.cumsum(pi)
    idx = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), pi.size - 1)
    return np.bincount(idx, minlength=pi.size)


def _power_ok(hits: int, reps: int, target: float = 0.9) -> bool:
    """Simulated power >= target within two standard errors."""
    se = math.sqrt(target * (1 - target) / reps)
    return hits / reps >= target - 2 * se


def _size_ok(rej: int, reps: int, u: float) -> bool:
    """Rejections within the one-sided 99 % range of the nominal rate u. With u * reps >= 326 a
    20 % excess exceeds it with probability >= 0.9."""
    return rej <= u * reps + 2.33 * math.sqrt(u * reps * (1 - u))


def _confirmed(pvalue_of_stage, stage: float, reps: int, rng) -> int:
    """Number of the ``reps`` confirmed rejections: both stages (fresh draws) at ``stage``."""
    hits = 0
    for r in range(reps):
        if pvalue_of_stage(rng, 2 * r) <= stage and pvalue_of_stage(rng, 2 * r + 1) <= stage:
            hits += 1
    return hits


# ---------------------------------------------------------------------------------------------
# fast: agreement and mechanics


def test_ks_exact_matches_scipy():
    rng = np.random.default_rng(0)
    for n in (3, 17, 60, 400):
        x, y = rng.random(n), rng.random(n)
        r = ts.ks_2sample(x, y)
        s = stats.ks_2samp(x, y, method="exact")
        assert r.statistic == pytest.approx(s.statistic, abs=1e-12)
        assert r.pvalue == pytest.approx(s.pvalue, rel=1e-8, abs=1e-12)
    # the null law sums to one and the critical value is exact
    n = 50
    sf = ts.ks2_sf(np.arange(0, n + 2), n)
    assert sf[0] == 1.0 and sf[-1] == 0.0 and np.all(np.diff(sf) <= 1e-12)
    c = ts.ks2_critical(n, 0.01)
    k = int(round(c * n))
    assert ts.ks2_sf(k, n)[0] <= 0.01 < ts.ks2_sf(k - 1, n)[0]


def test_ad_statistic_matches_scipy_midrank():
    from scipy.stats._morestats import _anderson_ksamp_midrank

    rng = np.random.default_rng(1)
    x = rng.normal(size=80)
    y = np.round(rng.normal(0.2, 1, size=55), 1)  # ties
    z = np.sort(np.concatenate([x, y]))
    ref = _anderson_ksamp_midrank([x, y], z, np.unique(z), 2, np.array([80, 55]), 135)
    r = ts.ad_2sample(x, y)
    assert r.statistic == pytest.approx(ref, rel=1e-12)
    # limit-law p-value against scipy where scipy does not clip it (0.001 < p < 0.25)
    x, y = rng.normal(size=3000), rng.normal(0.08, 1, size=3000)
    r = ts.ad_2sample(x, y)
    s = stats.anderson_ksamp([x, y], variant="midrank")
    if 0.001 < s.pvalue < 0.25:
        assert r.pvalue == pytest.approx(s.pvalue, rel=0.15)


def test_homogeneity_asymptotic_matches_contingency_and_is_label_free():
    rng = np.random.default_rng(2)
    p = np.array([0.4, 0.3, 0.2, 0.1])
    a, b = rng.multinomial(2000, p), rng.multinomial(2000, p)
    r = ts.homogeneity_chi2(a, b, exact_above=0.0)
    chi2, pv, dof, _ = stats.chi2_contingency(np.array([a, b]), correction=False)
    assert (r.statistic, r.df) == (pytest.approx(chi2), dof) and r.pvalue == pytest.approx(pv)
    # pooling depends on a + b only: swapping the labels gives the same bins and statistic
    q = _zipf(3000, 1.1)
    a, b = rng.multinomial(3000, q), rng.multinomial(3000, q)
    r1, r2 = ts.homogeneity_chi2(a, b, exact_above=0.0), ts.homogeneity_chi2(b, a, exact_above=0.0)
    assert r1.groups == r2.groups and r1.statistic == pytest.approx(r2.statistic)
    assert r1.min_expected >= 5.0 and r1.pooled_mass > 0
    # any relabelling of the A/B observations with the same pooled counts gives the same bins
    t = a + b
    a3 = rng.multivariate_hypergeometric(t, 3000)
    assert ts.homogeneity_chi2(a3, t - a3, exact_above=0.0).groups == r1.groups


def test_homogeneity_two_bins_exact_and_mc_path():
    # two bins: the p-value is the exact two-sided hypergeometric sum
    a, b = np.array([30, 10]), np.array([18, 22])
    r = ts.homogeneity_chi2(a, b, min_expected=1.0)
    n, t1, na = 80, 48, 40
    ks = np.arange(max(0, t1 - 40), min(t1, na) + 1)
    pm = stats.hypergeom(n, t1, na).pmf(ks)
    e = t1 * na / n
    brute = pm[np.abs(ks - e) >= abs(30 - e) - 1e-9].sum()
    assert r.method == "exact" and r.pvalue == pytest.approx(brute, rel=1e-10)
    # a clear difference goes through the Monte Carlo path, seeded and reproducible
    rng = np.random.default_rng(3)
    p = _zipf(40, 1.0)
    q = p.copy()
    q[:2] = q[:2][::-1]
    a, b = rng.multinomial(4000, p), rng.multinomial(4000, q)
    r1 = ts.homogeneity_chi2(a, b, min_level=0.01, seed=5)
    r2 = ts.homogeneity_chi2(a, b, min_level=0.01, seed=5)
    assert r1.method == "monte-carlo" and r1.pvalue == r2.pvalue == 1 / (r1.replicates + 1)
    assert r1.pvalue_lower == 0.0


def test_balancing_is_seeded_and_exact_in_size():
    rng = np.random.default_rng(4)
    p = _zipf(30, 1.0)
    a, b = rng.multinomial(5000, p), rng.multinomial(3000, p)
    a2, b2, dropped = ts.balance_counts(a, b, seed=9)
    assert a2.sum() == b2.sum() == 3000 and dropped == 2000 and np.all(a2 <= a) and np.array_equal(b2, b)
    assert np.array_equal(ts.balance_counts(a, b, seed=9)[0], a2)
    r = ts.homogeneity_chi2(a, b, seed=9)
    assert (r.n_a, r.n_b, r.dropped) == (3000, 3000, 2000)
    x, y = rng.random(700), rng.random(500)
    k = ts.ks_2sample(x, y)
    assert (k.n_a, k.n_b, k.dropped, k.method) == (500, 500, 200, "exact")
    with pytest.raises(ValueError, match="differ in length"):
        ts.homogeneity_chi2(a, b[:-1])
    with pytest.raises(ValueError, match="integers"):
        ts.homogeneity_chi2(a + 0.5, b)


def test_max_cell_finds_a_concentrated_difference_in_a_large_table():
    rng = np.random.default_rng(5)
    pi = _zipf(152_064, 1.1)
    p, q = tp.one_cell_pair(pi, 3, 0.03)
    a, b = rng.multinomial(4000, p), rng.multinomial(4000, q)
    r = ts.max_cell_test(a, b)
    assert r.cell == 3 and r.pvalue < 1e-4 and 1 <= r.m < 200
    # the tested set is a function of the pooled counts only
    assert np.array_equal(ts.max_cell_test(b, a).tested, r.tested)
    # null: no concentrated difference
    r0 = ts.max_cell_test(rng.multinomial(4000, pi), rng.multinomial(4000, pi))
    assert r0.pvalue > 1e-3


def test_difference_band_shapes_and_null_coverage():
    rng = np.random.default_rng(6)
    pi = _zipf(64, 1.0)
    outside = 0
    for _ in range(200):
        band = tp.difference_band(rng.multinomial(20000, pi), rng.multinomial(15000, pi), 0.05)
        outside += band.outside.size > 0
    assert band.p_a.shape == band.diff.shape == band.half_width.shape == (64,)
    assert np.allclose(band.half_width, band.critical * band.sd) and band.m == 64
    assert outside / 200 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 200)
    p, q = tp.one_cell_pair(pi, 0, 0.05)
    band = tp.difference_band(rng.multinomial(20000, p), rng.multinomial(20000, q), 0.05)
    assert 0 in band.outside


def test_power_statements_shapes():
    pw = tp.homogeneity_power(_zipf(64, 1.0), 20000, 20000, ALPHA / 11)
    assert pw.df == 63 and 0 < pw.tv < 0.1 and pw.stage_level == pytest.approx(math.sqrt(ALPHA / 11))
    # unbalanced sizes: the statement is for n = min(n_A, n_B)
    assert tp.homogeneity_power(_zipf(64, 1.0), 20000, 50000, ALPHA / 11).n == 20000
    k = tp.ks2_power(200_000, 200_000, ALPHA / 121)
    assert 0.005 < k.value < 0.01
    assert tp.welch_power(1.0, ALPHA).value == pytest.approx(
        stats.norm.isf(0.005) + stats.norm.ppf(math.sqrt(0.9)))
    p, q = tp.least_favourable_pair(_zipf(64, 1.0), 0.03)
    assert 0.5 * np.abs(p - q).sum() == pytest.approx(0.03) and (p + q) / 2 == pytest.approx(_zipf(64, 1.0))


def test_tv_bound_small_k_coverage_fast():
    rng = np.random.default_rng(7)
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.45, 0.33, 0.22])
    tv = 0.05
    a_conf = 0.1
    miss = sum(tp.tv_bound_two_sample(rng.multinomial(500, p), rng.multinomial(500, q), a_conf)[0] < tv
               for _ in range(300))
    assert miss / 300 <= a_conf


def test_welch_ci_coverage_fast():
    rng = np.random.default_rng(8)
    miss = 0
    for _ in range(400):
        r = welch = ts.welch_z(rng.normal(1.0, 2.0, 3000), rng.normal(1.1, 1.0, 1000), confidence=0.9)
        miss += not (r.ci[0] <= -0.1 <= r.ci[1])
        assert welch.bound >= abs(welch.estimate)
    assert miss / 400 <= 0.1 + 3 * math.sqrt(0.09 / 400)


# ---------------------------------------------------------------------------------------------
# the first-order term of unbalanced designs (why the tests balance)


def test_unbalanced_first_order_term():
    """Unbalanced sizes, many sparse bins, A's law lighter on the small categories: the mean of the
    unbalanced X^2 falls *below* its null mean df, so its power is below its level and far below
    the naive noncentral-chi-square figure; the balanced statistic has no such term."""
    rng = np.random.default_rng(10)
    k = 2000
    pi = np.full(k, 0.5 / (k - 1))
    pi[0] = 0.5
    na, nb = 2000, 20000
    d = np.full(k, -0.1 / (k - 1))  # p - q on the small categories (A lighter there, 20 %)
    d[0] = 0.1
    rho = na / (na + nb)
    p, q = pi + (1 - rho) * d, pi - rho * d  # (na p + nb q) / N = pi
    means, means_bal = [], []
    for _ in range(40):
        a, b = rng.multinomial(na, p), rng.multinomial(nb, q)
        r = ts.homogeneity_chi2(a, b, balance=False, exact_above=0.0, min_expected=1.0)
        means.append(r.statistic - r.df)
        rb = ts.homogeneity_chi2(a, b, balance=True, exact_above=0.0, min_expected=1.0)
        means_bal.append(rb.statistic - rb.df)
    lam = na * nb / (na + nb) * float(np.sum(d ** 2 / pi))
    print(f"\nunbalanced: mean X2 - df = {np.mean(means):.1f} (naive lambda {lam:.1f}); "
          f"balanced: {np.mean(means_bal):.1f}")
    assert np.mean(means) < 0 < lam
    assert np.mean(means_bal) > 0


# ---------------------------------------------------------------------------------------------
# slow: stated vs simulated power through the confirmed decision


CHI2_CLASSES = [
    # (name, law, n per sample, level L, repetitions)
    ("K=4", np.array([0.4, 0.3, 0.2, 0.1]), 2000, ALPHA / 11, 300),
    ("K=64", _zipf(64, 1.0), 20000, ALPHA / 11, 150),
    ("K=4096", _zipf(4096, 1.2), 10000, ALPHA, 80),
    ("K=152k", _zipf(152_064, 1.1), 789, ALPHA, 300),
]


def _chi2_power_sim(pi, n, level, tv_bins, reps, seed):
    stage = math.sqrt(level)
    p, q = tp.least_favourable_pair(pi, tv_bins)
    def one(rng, s):
        return ts.homogeneity_chi2(rng.multinomial(n, p), rng.multinomial(n, q), min_level=stage,
                                   seed=seed * 100003 + s).pvalue
    return _confirmed(one, stage, reps, np.random.default_rng(seed))


@pytest.mark.slow
@pytest.mark.parametrize("name,pi,n,level,reps", CHI2_CLASSES, ids=[c[0] for c in CHI2_CLASSES])
def test_chi2_stated_power(name, pi, n, level, reps):
    st = tp.homogeneity_power(2 * n * pi, n, n, level)
    _, _, pooled = ts._table_bins(2 * n * pi, n, 5.0)
    tv_bins = st.tv - pooled  # the visible part: what the least-favourable alternative must get
    hits = _chi2_power_sim(pi, n, level, tv_bins, reps, seed=11)
    print(f"\n{name}: n = {n}, L = {level:.3g}, df = {st.df}: stated TV {st.tv:.4g} "
          f"(bins {tv_bins:.4g} + pooled {pooled:.3g}), simulated confirmed power {hits}/{reps} = {hits / reps:.3f}")
    assert _power_ok(hits, reps)


@pytest.mark.slow
def test_chi2_power_statement_is_not_vacuous():
    """At 0.7 x the stated TV the confirmed power falls clearly below 0.9 (K = 64): the statement
    is close to the truth, so the power tests above can fail."""
    name, pi, n, level, _ = CHI2_CLASSES[1]
    st = tp.homogeneity_power(2 * n * pi, n, n, level)
    reps = 100
    hits = _chi2_power_sim(pi, n, level, 0.7 * st.tv, reps, seed=12)
    print(f"\nK=64 at 0.7 x stated TV: simulated power {hits / reps:.3f}")
    assert hits / reps < 0.75


@pytest.mark.slow
def test_max_cell_stated_power():
    pi = _zipf(152_064, 1.1)
    n, level, cell = 4000, ALPHA, 5
    stage = math.sqrt(level)
    m = ts.tarone_cells(np.round(2 * n * pi).astype(np.int64), n, n, stage).size
    st = tp.max_cell_power(float(pi[cell]), n, n, level, m)
    p, q = tp.one_cell_pair(pi, cell, st.value)
    reps = 300
    hits = _confirmed(lambda rng, s: ts.max_cell_test(rng.multinomial(n, p), rng.multinomial(n, q)).pvalue,
                      stage, reps, np.random.default_rng(13))
    print(f"\nmax-cell K=152k, n = {n}, m = {m}, pi = {pi[cell]:.4g}: stated |p - q| {st.value:.4g}, "
          f"simulated power {hits / reps:.3f}")
    assert _power_ok(hits, reps)


@pytest.mark.slow
@pytest.mark.parametrize("n,level,reps", [(2000, ALPHA / 11, 400), (200_000, ALPHA / 121, 150)])
def test_ks_stated_power(n, level, reps):
    st = tp.ks2_power(n, n, level)
    stage = math.sqrt(level)

    def one(rng, s):
        return ts.ks_2sample(rng.random(n), tp.ks2_least_favourable(rng.random(n), st.value)).pvalue

    hits = _confirmed(one, stage, reps, np.random.default_rng(14))
    print(f"\nKS n = {n}, L = {level:.3g}: stated sup-distance {st.value:.4g}, simulated power {hits / reps:.3f}")
    assert _power_ok(hits, reps)
    if n == 2000:  # not vacuous: at 0.8 x the distance the power is clearly lower
        lf = 0.8 * st.value
        low = _confirmed(lambda rng, s: ts.ks_2sample(rng.random(n), tp.ks2_least_favourable(rng.random(n), lf)).pvalue,
                         stage, 200, np.random.default_rng(15))
        print(f"KS n = {n} at 0.8 x: {low / 200:.3f}")
        assert low / 200 < 0.85


@pytest.mark.slow
def test_welch_stated_power():
    n, level, reps = 20000, ALPHA / 11, 400
    stage = math.sqrt(level)
    se = math.sqrt(2.0 / n)  # unit variances
    st = tp.welch_power(se, level)
    hits = _confirmed(lambda rng, s: ts.welch_z(rng.normal(st.value, 1, n), rng.normal(0, 1, n)).pvalue,
                      stage, reps, np.random.default_rng(16))
    print(f"\nWelch n = {n}: stated shift {st.value:.4g}, simulated power {hits / reps:.3f}")
    assert _power_ok(hits, reps)


# ---------------------------------------------------------------------------------------------
# slow: sizes at the stage level (independent null simulations)


SIZE_CLASSES = [
    ("K=4", np.array([0.4, 0.3, 0.2, 0.1]), 2000, 33000),
    ("K=64", _zipf(64, 1.0), 20000, 33000),
    ("K=4096", _zipf(4096, 1.2), 10000, 14000),  # 20 % excess detected with probability 0.5
    ("K=152k", _zipf(152_064, 1.1), 789, 14000),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,pi,n,reps", SIZE_CLASSES, ids=[c[0] for c in SIZE_CLASSES])
def test_chi2_size_at_stage_level(name, pi, n, reps):
    u = 0.01  # sqrt(1e-4): the largest stage level, where the Monte Carlo p-value takes over
    rng = np.random.default_rng(21)
    rej = 0
    for r in range(reps):
        rej += ts.homogeneity_chi2(_draw(rng, n, pi), _draw(rng, n, pi), min_level=u, seed=r).pvalue <= u
    print(f"\n{name} size at {u}: {rej}/{reps} = {rej / reps:.4g}")
    assert _size_ok(rej, reps, u)


@pytest.mark.slow
def test_max_cell_size():
    # Bonferroni over exact conditional tests: valid by construction; this checks the implementation
    # for a gross excess only (u * reps = 60)
    pi, n, u, reps = _zipf(152_064, 1.1), 789, 0.01, 6000
    rng = np.random.default_rng(22)
    rej = sum(ts.max_cell_test(_draw(rng, n, pi), _draw(rng, n, pi)).pvalue <= u for _ in range(reps))
    print(f"\nmax-cell size at {u}: {rej / reps:.4g}")
    assert _size_ok(rej, reps, u)


@pytest.mark.slow
@pytest.mark.parametrize("test,n,u,reps", [("ks", 2000, 0.01, 33000), ("ks", 500, math.sqrt(ALPHA / 11), 110000),
                                            ("ad", 2000, 0.01, 33000), ("ad", 500, math.sqrt(ALPHA / 11), 110000),
                                            ("welch", 2000, math.sqrt(ALPHA / 11), 110000)])
def test_continuous_size(test, n, u, reps):
    rng = np.random.default_rng(23)
    f = {"ks": ts.ks_2sample, "ad": ts.ad_2sample, "welch": ts.welch_z}[test]
    rej = 0
    for _ in range(reps):
        x, y = rng.random((2, n))
        rej += f(x, y).pvalue <= u
    print(f"\n{test} n = {n} size at {u:.3g}: {rej}/{reps} = {rej / reps:.4g} (nominal {u:.3g})")
    assert _size_ok(rej, reps, u)


# ---------------------------------------------------------------------------------------------
# slow: coverage of the bounds a PASS certifies


@pytest.mark.slow
@pytest.mark.parametrize("k,n", [(4, 2000), (64, 20000)])
def test_tv_bound_coverage(k, n):
    rng = np.random.default_rng(31)
    pi = _zipf(k, 1.0)
    p, q = tp.least_favourable_pair(pi, 0.02)
    a_conf, reps = 0.05, 600
    miss = sum(tp.tv_bound_two_sample(rng.multinomial(n, p), rng.multinomial(n, q), a_conf)[0] < 0.02
               for _ in range(reps))
    print(f"\nTV bound K = {k}: non-coverage {miss / reps:.4f} (allowed {a_conf})")
    assert miss / reps <= a_conf


@pytest.mark.slow
def test_sup_distance_bound_coverage():
    rng = np.random.default_rng(32)
    n, delta, a_conf, reps = 2000, 0.03, 0.05, 1000
    miss = 0
    for _ in range(reps):
        r = ts.ks_2sample(rng.random(n), tp.ks2_least_favourable(rng.random(n), delta))
        miss += tp.sup_distance_bound_two_sample(r.statistic, n, n, a_conf) < delta
    print(f"\nsup-distance bound: non-coverage {miss / reps:.4f} (allowed {a_conf})")
    assert miss / reps <= a_conf
