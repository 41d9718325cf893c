r"""Two-sample tests: do two implementations draw from the same law? (issue 20, ``compare``)

One function per test, each returning a small result object (statistic, p-value, sizes, and in
``certifies`` what a PASS of it certifies), in the style of ``scipy.stats``; the power statements
and the distance bounds are separate functions, as in :mod:`harness.stats.power` and
:mod:`harness.stats.bounds`. The decision they serve is the house's confirmed one
(:mod:`harness.stats.confirm`): at the Bonferroni level :math:`L` a check is rejected iff both of
two independent stages reject at :math:`\sqrt L`, so every power statement here is computed per
stage at :math:`\sqrt L` with power :math:`\sqrt{0.9}`.

**Balanced designs.** All count and KS tests work on a *balanced* design, :math:`n_A = n_B = n`:
when the inputs differ in size, the larger sample is reduced to the smaller size by a seeded
simple random subsample (:func:`balance_counts`, :func:`balance_samples`). The subsample is
drawn without looking at the other sample, so under the null it is again an i.i.d. sample of the
common law and every p-value stays exact. Why: for unequal sizes, with :math:`\rho = n_A/N`,
:math:`r_g` the chance that an observation of bin :math:`g` comes from A, the Pearson term of a
bin has (Poissonised, given the bin total :math:`t_g`) expectation

.. math:: E[X^2_g] = 1 + \frac{(r_g - \rho)^2 (E t_g - 1) + (1 - 2\rho)(r_g - \rho)}{\rho (1 - \rho)},

whose **first-order** term :math:`(1 - 2\rho)(r_g - \rho)` has either sign: in a table of many
sparse bins it adds up to more than the noncentrality and can push the mean of :math:`X^2` *below*
its null mean (power under the level; the naive noncentral chi-square statement is then false;
``tests/test_twosample.py::test_unbalanced_first_order_term`` shows it). With :math:`\rho = 1/2`
the term vanishes identically and :math:`E[X^2_g] = 1 + \lambda_g (1 - 1/E t_g)` exactly
(Poissonised), :math:`\lambda_g = n_A n_B/N \cdot (p_g - q_g)^2/\pi_g`. The KS null of
:math:`D_{n,n}` is exact in closed form only for equal sizes (Gnedenko & Korolyuk 1951).

Tests:

* :func:`homogeneity_chi2` -- Pearson chi-square of homogeneity of two count vectors over
  :math:`K` categories (any :math:`K`; 262 144 is fine), cells pooled by the **pooled** counts
  :math:`t = a + b` only (a function of the sufficient statistic of the null, so given :math:`t`
  the labels are still exchangeable and the conditional test is exact); p-value: exact
  hypergeometric for two bins, asymptotic :math:`\chi^2` above ``exact_above`` (no decision is made
  there), conditional Monte Carlo below (multivariate hypergeometric tables with the observed
  margins, i.e. a permutation test), valid at every level :math:`u \le` ``exact_above``.
* :func:`max_cell_test` -- the largest per-category difference: each cell's A-count given its
  total is hypergeometric under the null; two-sided p-values, Bonferroni over the cells that can
  reject at all (Tarone 1990, chosen from :math:`t` only). For a difference concentrated on one
  category of a large table, where chi-square spreads its power over all the bins.
* :func:`ks_2sample` -- two-sample Kolmogorov-Smirnov with the exact null of :math:`D_{n,n}`.
* :func:`ad_2sample` -- two-sample Anderson-Darling :math:`A^2_{akN}` (Scholz & Stephens 1987,
  midranks for ties). p-value from its limit law (for two samples the same as the one-sample
  :math:`A^2` limit, Pettitt 1976), computed as :func:`harness.stats.continuous.ad_pvalue`'s ADinf
  with its far-tail continuation. ``scipy.stats.anderson_ksamp`` is not used for p-values: it
  clips them to [0.001, 0.25], and the decisions here are made at
  :math:`\sqrt{10^{-4}/m} \approx 10^{-3}` and below; a permutation p-value at those levels costs
  :math:`50/u` recomputations of :math:`A^2` (minutes at :math:`n = 2\cdot10^5`). The limit law is
  an approximation: its size at the stage levels is measured in ``tests/test_twosample.py``.
  As in the one-sample case, AD carries **no** power figure (no distribution-free one exists);
  its KS companion carries the statement.
* :func:`welch_z` -- difference of means (gradients) with Welch's standard error, its confidence
  interval and the bound on :math:`|\mu_A - \mu_B|`.

Power (:func:`homogeneity_power`, :func:`max_cell_power`, :func:`ks2_power`,
:func:`welch_power`), least-favourable alternatives (:func:`least_favourable_pair`,
:func:`ks2_least_favourable`), distance bounds on a PASS (:func:`tv_bound_two_sample`,
:func:`sup_distance_bound_two_sample`), and the figure helper :func:`difference_band`.

References: K. Pearson (1900); R. A. Fisher (1922) for the conditional (permutation) law of a
contingency table; R. E. Tarone (1990), "A modified Bonferroni method for discrete data",
*Biometrics* 46:515-522; B. V. Gnedenko & V. S. Korolyuk (1951), *Dokl. Akad. Nauk SSSR* 80
(the null law of :math:`D_{n,n}`); A. N. Pettitt (1976), "A two-sample Anderson-Darling rank
statistic", *Biometrika* 63:161-168; F. W. Scholz & M. A. Stephens (1987), "K-sample
Anderson-Darling tests", *JASA* 82:918-924; B. L. Welch (1947), *Biometrika* 34:28-35; P. Massart
(1990) (DKW constant); J. Bretagnolle & C. Huber (1979), D. Carol (1976) for the multinomial
Hoeffding bound; W. G. Cochran (1954) for the expected counts >= 5.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.special import gammaln

from harness.stats.confirm import stage_level
from harness.stats.continuous import _adinf_upper
from harness.stats.discrete import _TIE_RTOL, mc_replicates, pool_categories

__all__ = ["DEFAULT_EXACT_ABOVE", "DEFAULT_MIN_LEVEL", "HomogeneityResult", "MaxCellResult", "KS2Result",
           "AD2Result", "WelchResult", "balance_counts", "balance_samples", "homogeneity_chi2",
           "max_cell_test", "ks_2sample", "ad_2sample", "welch_z", "ks2_sf", "ks2_critical", "tarone_cells"]

#: the largest stage level of the house decision, sqrt(alpha) for alpha = 1e-4: above it the
#: chi-square p-value stays asymptotic (no decision is made there)
DEFAULT_EXACT_ABOVE = math.sqrt(1e-4)
#: the smallest stage level the Monte Carlo p-values resolve by default, sqrt(alpha / 200) (the
#: resolution of :func:`harness.checks.mc_level`: B + 1 = 50 / level)
DEFAULT_MIN_LEVEL = math.sqrt(1e-4 / 200)

_BAL_KEY = 0x62616C  # "bal": seed stream of the balancing subsample
_MC_KEY = 0x6D63  # "mc": seed stream of the Monte Carlo null


def _rng(seed: int | None, key: int) -> np.random.Generator:
    return np.random.default_rng([0 if seed is None else int(seed), key])


def _counts(x: ArrayLike, name: str) -> NDArray[np.int64]:
    o = np.asarray(x)
    if o.ndim != 1 or o.size == 0:
        raise ValueError(f"{name}: counts must be a non-empty 1-D vector, got shape {o.shape}")
    if o.dtype.kind not in "biuf":
        raise ValueError(f"{name}: counts must be numbers, got dtype {o.dtype}")
    if o.dtype.kind in "biu":
        if o.dtype.kind == "i" and o.size and o.min() < 0:
            raise ValueError(f"{name}: counts must be finite non-negative integers")
        return o.astype(np.int64, copy=False)
    f = o.astype(np.float64)
    if np.any(~np.isfinite(f)) or np.any(f < 0) or np.any(f != np.round(f)):
        raise ValueError(f"{name}: counts must be finite non-negative integers")
    return f.astype(np.int64)


def paired_counts(a: ArrayLike, b: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    a, b = _counts(a, "a"), _counts(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"the two count vectors differ in length: {a.size} vs {b.size} "
                         "(count every category in both)")
    return a, b


def _samples(x: ArrayLike, name: str) -> NDArray[np.float64]:
    v = np.asarray(x, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError(f"{name}: no samples")
    if np.any(np.isnan(v)):
        raise ValueError(f"{name}: samples contain {int(np.isnan(v).sum())} NaN value(s)")
    return v


def stage_split(level: float, power: float) -> tuple[float, float]:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    return stage_level(level), math.sqrt(power)


# ----------------------------------------------------------------------------------------------
# balancing


def balance_counts(a: ArrayLike, b: ArrayLike, seed: int | None = 0
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """``(a', b', dropped)``: the larger count vector reduced to the smaller total by a simple
    random subsample without replacement (multivariate hypergeometric, seeded), the other one
    unchanged; ``dropped`` the number of observations left out (0 when already balanced).
    Under the null the subsample is an i.i.d. sample of the common law (module doc)."""
    a, b = paired_counts(a, b)
    na, nb = int(a.sum()), int(b.sum())
    if na == nb:
        return a, b, 0
    rng = _rng(seed, _BAL_KEY)
    if na > nb:
        return rng.multivariate_hypergeometric(a, nb).astype(np.int64), b, na - nb
    return a, rng.multivariate_hypergeometric(b, na).astype(np.int64), nb - na


def balance_samples(x: ArrayLike, y: ArrayLike, seed: int | None = 0
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """``(x', y', dropped)``: the larger sample reduced to the smaller size by a seeded simple
    random subsample (order of the kept values preserved)."""
    x, y = _samples(x, "x"), _samples(y, "y")
    if x.size == y.size:
        return x, y, 0
    rng = _rng(seed, _BAL_KEY)
    if x.size > y.size:
        keep = np.sort(rng.choice(x.size, y.size, replace=False))
        return x[keep], y, x.size - y.size
    keep = np.sort(rng.choice(y.size, x.size, replace=False))
    return x, y[keep], y.size - x.size


# ----------------------------------------------------------------------------------------------
# counts: chi-square of homogeneity


@dataclass(frozen=True)
class HomogeneityResult:
    r"""Chi-square test of homogeneity of two count vectors.

    ``statistic`` :math:`X^2 = \sum_g (N a_g - n_A t_g)^2 / (n_A n_B t_g)` over the pooled bins;
    ``pvalue``; ``df = bins - 1``; ``n_a``, ``n_b`` the sizes used (after balancing);
    ``dropped`` the observations left out by balancing; ``bins``; ``method``
    (``"asymptotic"``, ``"exact"`` (two bins, hypergeometric) or ``"monte-carlo"``); ``replicates``
    the Monte Carlo :math:`B` (0 otherwise); ``pvalue_lower`` the probability of a strictly more
    extreme outcome (discrete p-values; None for asymptotic); ``min_expected`` the smallest
    expected per-sample count of a bin (>= ``min_expected`` unless the whole table is smaller);
    ``groups`` the categories of each bin; ``observed_a``/``totals`` per bin; ``pooled_mass`` the
    pooled share :math:`t/N` of the categories that share a bin (deviations inside a bin are not
    seen); ``certifies`` what a PASS certifies."""

    statistic: float
    pvalue: float
    df: int
    n_a: int
    n_b: int
    bins: int
    method: str
    test: str = "chi-square test of homogeneity"
    dropped: int = 0
    replicates: int = 0
    pvalue_lower: float | None = None
    min_expected: float = math.nan
    pooled_mass: float = 0.0
    groups: tuple[tuple[int, ...], ...] = field(default=(), repr=False)
    observed_a: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)
    totals: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)
    certifies: str = ""

    @property
    def can_fail(self) -> bool:
        return self.df >= 1

    def randomized_pvalue(self, u: float) -> float:
        """:math:`p_{lower} + u (p - p_{lower})` (calibration only)."""
        lo = self.pvalue if self.pvalue_lower is None else self.pvalue_lower
        return float(lo + u * (self.pvalue - lo))


def _pool_two(t: NDArray[np.int64], na: int, nb: int, min_expected: float):
    """Bins of the pooled counts ``t``: categories with ``t > 0`` grouped so that every bin has
    expected count ``min(na, nb) t_g / N >= min_expected`` (:func:`pool_categories` on
    ``min(na, nb) t / N``). A function of ``t`` only. Returns ``(groups, nz, gid)``: the groups
    (category indices), the categories with ``t > 0`` and the bin of each of them."""
    n = na + nb
    nz = np.flatnonzero(t > 0)  # pool_categories drops t = 0 anyway; sorting only these is cheaper
    e = t[nz].astype(np.float64) * (min(na, nb) / n)
    local = pool_categories(e, min_expected)
    gid = np.empty(nz.size, dtype=np.int64)
    for j, g in enumerate(local):
        gid[list(g)] = j
    groups = [tuple(nz[list(g)].tolist()) for g in local]
    return groups, nz, gid


def _x2(a_bins: NDArray[np.float64], t_bins: NDArray[np.float64], na: int, nb: int) -> NDArray[np.float64]:
    n = na + nb
    return np.sum((n * a_bins - na * t_bins) ** 2 / (na * nb * t_bins), axis=-1)


def _mc_homogeneity(t_bins: NDArray[np.int64], na: int, stat: float, b: int,
                    rng: np.random.Generator, chunk: int = 4096) -> tuple[int, int]:
    """Exceedances ``(#T_b >= stat, #T_b > stat)`` over ``b`` tables drawn from the conditional
    null: A-counts multivariate hypergeometric with the bin totals ``t_bins`` and total ``na``
    (every labelling of the N pooled observations with na A-labels equally likely)."""
    n = int(t_bins.sum())
    nb = n - na
    tf = t_bins.astype(np.float64)
    # numpy's 'count' method costs ~20 ns per sampled item, 'marginals' ~200 ns per bin
    method = "count" if min(na, nb) < 10 * t_bins.size else "marginals"
    flip = method == "count" and nb < na
    tol = _TIE_RTOL * max(1.0, abs(stat))
    ge = gt = 0
    left = int(b)
    while left > 0:
        k = min(chunk, left)
        x = rng.multivariate_hypergeometric(t_bins, nb if flip else na, size=k, method=method)
        x = x.astype(np.float64)
        if flip:
            x = tf - x
        s = _x2(x, tf, na, nb)
        ge += int(np.sum(s >= stat - tol))
        gt += int(np.sum(s > stat + tol))
        left -= k
    return ge, gt


def _hypergeom_two_sided(k: NDArray, total: int, t: NDArray, na: int) -> tuple[NDArray, NDArray]:
    """Two-sided p-values ``P(|A - E| >= |k - E|)`` and ``P(|A - E| > |k - E|)`` for
    ``A ~ Hypergeom(total, t, na)`` (E its mean), vectorised."""
    k = np.asarray(k, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    e = t * na / total
    dev = np.abs(k - e)
    tol = 1e-9 * np.maximum(1.0, dev)
    lo = np.floor(e - dev + tol)
    hi = np.ceil(e + dev - tol)
    hg = stats.hypergeom(total, t, na)
    p = hg.cdf(lo) + hg.sf(hi - 1)
    lo2 = np.ceil(e - dev - tol) - 1  # strictly below e - dev
    hi2 = np.floor(e + dev + tol) + 1  # strictly above e + dev
    p_lower = hg.cdf(lo2) + hg.sf(hi2 - 1)
    # the same outcome can be counted on both sides when dev = 0
    return np.minimum(1.0, p), np.minimum(1.0, p_lower)


def homogeneity_chi2(a: ArrayLike, b: ArrayLike, *, exact_above: float = DEFAULT_EXACT_ABOVE,
                     min_level: float = DEFAULT_MIN_LEVEL, seed: int | None = 0,
                     min_expected: float = 5.0, balance: bool = True) -> HomogeneityResult:
    r"""Pearson chi-square test that the count vectors ``a`` and ``b`` (same categories) come
    from the same categorical law.

    1. With ``balance`` (default) the larger sample is subsampled to the smaller total
       (:func:`balance_counts`, seeded by ``seed``; module doc: why).
    2. Cells are pooled by the pooled counts :math:`t = a + b` only: the categories with
       :math:`t_i > 0`, in ascending order of :math:`t_i`, are merged until every bin has expected
       per-sample count :math:`\min(n_A, n_B)\,t_g/N \ge` ``min_expected`` (Cochran's 5). Given
       :math:`t` the bins are fixed, so the test is conditional on :math:`t` and exact.
    3. :math:`X^2 = \sum_g (a_g - n_A t_g/N)^2\,\frac{N^2}{n_A n_B t_g}`, :math:`df = G - 1`.
    4. p-value: two bins -- the exact two-sided hypergeometric p-value of :math:`a_1`; more bins --
       the asymptotic :math:`\chi^2_{df}` p-value when it exceeds ``exact_above``, else the Monte
       Carlo p-value :math:`(1 + \#\{b: X^2_b \ge X^2\})/(B + 1)` over :math:`B + 1 = \lceil
       50/\text{min\_level}\rceil` tables from the conditional null (multivariate hypergeometric
       A-counts with the observed bin totals: a permutation test), seeded by ``seed``. For every
       :math:`u \le` ``exact_above``, :math:`P(p \le u \mid t) \le \lfloor u(B+1)\rfloor/(B+1) \le u`
       (exchangeability), whatever the expected counts.
    """
    a, b = paired_counts(a, b)
    dropped = 0
    if balance:
        a, b, dropped = balance_counts(a, b, seed)
    na, nb = int(a.sum()), int(b.sum())
    n = na + nb
    note = ("PASS certifies nothing by itself; see tv_bound_two_sample for the distance bound")
    if na == 0 or nb == 0:
        return HomogeneityResult(0.0, 1.0, 0, na, nb, 0, "asymptotic", dropped=dropped, certifies=note)
    t = a + b
    groups, nz, gid = _pool_two(t, na, nb, min_expected)
    g = len(groups)
    a_bins = np.bincount(gid, weights=a[nz], minlength=g)[:g]
    t_bins = np.bincount(gid, weights=t[nz], minlength=g)[:g]
    sizes = np.bincount(gid, minlength=g)[:g]
    pooled = float(t_bins[sizes > 1].sum() / n)
    emin = float(t_bins.min() * min(na, nb) / n) if g else math.nan
    common = dict(dropped=dropped, min_expected=emin, pooled_mass=pooled, groups=tuple(groups),
                  observed_a=a_bins, totals=t_bins, certifies=note)
    if g < 2:
        return HomogeneityResult(0.0, 1.0, 0, na, nb, g, "asymptotic", **common)
    stat = float(_x2(a_bins, t_bins, na, nb))
    df = g - 1
    if g == 2:
        p, lo = _hypergeom_two_sided(np.array([a_bins[0]]), n, np.array([t_bins[0]]), na)
        return HomogeneityResult(stat, float(p[0]), 1, na, nb, 2, "exact",
                                 test="chi-square test of homogeneity (2 bins: exact hypergeometric p-value)",
                                 pvalue_lower=float(lo[0]), **common)
    pa = float(stats.chi2.sf(stat, df))
    if pa > exact_above:
        return HomogeneityResult(stat, pa, df, na, nb, g, "asymptotic", **common)
    bb = mc_replicates(min_level)
    ge, gt = _mc_homogeneity(t_bins.astype(np.int64), na, stat, bb, _rng(seed, _MC_KEY))
    return HomogeneityResult(stat, (1 + ge) / (bb + 1), df, na, nb, g, "monte-carlo",
                             test=f"chi-square test of homogeneity (conditional Monte Carlo p-value, B = {bb})",
                             replicates=bb, pvalue_lower=gt / (bb + 1), **common)


# ----------------------------------------------------------------------------------------------
# counts: the largest single-cell difference


@dataclass(frozen=True)
class MaxCellResult:
    r"""Largest per-category difference (Bonferroni over the testable cells).

    ``statistic`` the largest :math:`|z_i|` over the tested cells (hypergeometric
    standardisation); ``pvalue`` :math:`\min(1, m \min_i p_i)`; ``cell`` the category attaining
    the smallest :math:`p_i`; ``pvalue_cell`` its p-value; ``m`` the number of cells tested
    (:func:`tarone_cells`); ``n_a``, ``n_b`` (after balancing), ``dropped``."""

    statistic: float
    pvalue: float
    cell: int
    pvalue_cell: float
    m: int
    n_a: int
    n_b: int
    dropped: int = 0
    test: str = "max-cell test (per-category hypergeometric, Bonferroni over testable cells)"
    tested: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)


def _min_attainable(t: NDArray, na: int, nb: int) -> NDArray[np.float64]:
    """Smallest two-sided p-value (doubling rule) a cell of total ``t`` can reach:
    ``2 min(P(A = lo), P(A = hi))`` at the ends of the hypergeometric support (log-gamma form)."""
    n = na + nb
    t = np.asarray(t, dtype=np.float64)
    lo = np.maximum(0.0, t - nb)
    hi = np.minimum(t, float(na))

    def logpmf(k):
        return (gammaln(t + 1) - gammaln(k + 1) - gammaln(t - k + 1)
                + gammaln(n - t + 1) - gammaln(na - k + 1) - gammaln(n - t - na + k + 1)
                - (gammaln(n + 1.0) - gammaln(na + 1.0) - gammaln(nb + 1.0)))

    return np.minimum(1.0, 2.0 * np.exp(np.minimum(logpmf(lo), logpmf(hi))))


def tarone_cells(t: ArrayLike, n_a: int, n_b: int, max_level: float = DEFAULT_EXACT_ABOVE) -> NDArray[np.int64]:
    r"""Cells tested by :func:`max_cell_test`: Tarone's (1990) set at ``max_level``. With
    :math:`\pi_i` the smallest p-value cell :math:`i` can attain (a function of its total
    :math:`t_i` only), :math:`k` the smallest integer with :math:`m(k) = \#\{i: \pi_i \le
    \text{max\_level}/k\} \le k`, the set is :math:`\{i: \pi_i \le \text{max\_level}/k\}`. Cells outside
    it cannot reject at any level :math:`\le` ``max_level`` after Bonferroni over the set."""
    t = np.asarray(t, dtype=np.int64)
    cand = np.flatnonzero(t > 0)
    if cand.size == 0:
        return cand
    pm = _min_attainable(t[cand], int(n_a), int(n_b))
    srt = np.sort(pm)
    ks = np.arange(1, cand.size + 1)
    mk = np.searchsorted(srt, max_level / ks, side="right")
    ok = np.flatnonzero(mk <= ks)
    k = int(ks[ok[0]]) if ok.size else cand.size
    return cand[pm <= max_level / k]


def max_cell_test(a: ArrayLike, b: ArrayLike, *, max_level: float = DEFAULT_EXACT_ABOVE,
                  seed: int | None = 0, balance: bool = True) -> MaxCellResult:
    r"""Test for a difference concentrated on one category. Given the pooled counts, the A-count
    of cell :math:`i` is :math:`\mathrm{Hypergeom}(N, t_i, n_A)` under the null (the conditional
    law of Fisher's exact test of the 2x2 table cell vs rest); its two-sided p-value
    :math:`p_i = \min(1, 2\min(P(A \le a_i), P(A \ge a_i)))`. The p-value is
    :math:`\min(1, m\,\min_{i \in S} p_i)` over Tarone's set :math:`S` (:func:`tarone_cells`,
    :math:`m = |S|`), chosen from :math:`t` only, hence valid at every level (Bonferroni given
    :math:`t`). ``balance`` as in :func:`homogeneity_chi2` (the power statement
    :func:`max_cell_power` is for the balanced design)."""
    a, b = paired_counts(a, b)
    dropped = 0
    if balance:
        a, b, dropped = balance_counts(a, b, seed)
    na, nb = int(a.sum()), int(b.sum())
    n = na + nb
    if na == 0 or nb == 0:
        return MaxCellResult(0.0, 1.0, -1, 1.0, 0, na, nb, dropped)
    t = a + b
    cells = tarone_cells(t, na, nb, max_level)
    if cells.size == 0:
        return MaxCellResult(0.0, 1.0, -1, 1.0, 0, na, nb, dropped, tested=cells)
    tc = t[cells]
    hg = stats.hypergeom(n, tc, na)
    ac = a[cells]
    p = np.minimum(1.0, 2.0 * np.minimum(hg.cdf(ac), hg.sf(ac - 1)))
    e = tc * na / n
    var = tc * (na / n) * (nb / n) * (n - tc) / max(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (ac - e) / np.sqrt(var), 0.0)
    j = int(np.argmin(p))
    m = int(cells.size)
    return MaxCellResult(float(np.max(np.abs(z))), float(min(1.0, m * p[j])), int(cells[j]), float(p[j]),
                         m, na, nb, dropped, tested=cells)


# ----------------------------------------------------------------------------------------------
# continuous: KS and AD


def ks2_sf(k: ArrayLike, n: int) -> NDArray[np.float64]:
    r"""Exact null survival :math:`P(D_{n,n} \ge k/n)` of the two-sample KS statistic for two
    samples of size ``n`` from one continuous law (Gnedenko & Korolyuk 1951):

    .. math:: P(D_{n,n} \ge k/n) = 2 \sum_{j=1}^{\lfloor n/k \rfloor} (-1)^{j-1}
              \binom{2n}{n - jk} \Big/ \binom{2n}{n}, \qquad k \ge 1.
    """
    kk = np.atleast_1d(np.asarray(k, dtype=np.int64))
    out = np.empty(kk.size)
    lc = 2 * gammaln(n + 1.0)
    for idx, kv in enumerate(kk):
        if kv <= 0:
            out[idx] = 1.0
            continue
        if kv > n:
            out[idx] = 0.0
            continue
        j = np.arange(1, n // kv + 1, dtype=np.float64)
        terms = np.exp(lc - gammaln(n - j * kv + 1.0) - gammaln(n + j * kv + 1.0))
        # the terms fall like exp(-2 (jk)^2 / n): keep the ones that matter
        s = 2.0 * np.sum(terms * np.where(j % 2 == 1, 1.0, -1.0))
        out[idx] = min(1.0, max(0.0, s))
    return out if np.ndim(k) else out[:1]


def ks2_critical(n: int, u: float) -> float:
    r"""The smallest :math:`c = k/n` with :math:`P(D_{n,n} \ge c) \le u`: the exact level-``u``
    rejection threshold of :func:`ks_2sample` (reject iff :math:`D \ge c`)."""
    lo, hi = 1, n  # ks2_sf(n) = 2 / C(2n, n) <= u for the n used here
    if float(ks2_sf(n, n)[0]) > u:
        return math.inf
    while lo < hi:
        mid = (lo + hi) // 2
        if float(ks2_sf(mid, n)[0]) <= u:
            hi = mid
        else:
            lo = mid + 1
    return lo / n


@dataclass(frozen=True)
class KS2Result:
    """``statistic`` :math:`D = \\sup_x |F_A(x) - F_B(x)|`, ``pvalue``, ``n_a``, ``n_b`` (after
    balancing), ``location`` where the sup is attained, ``method`` (``"exact"`` for equal sizes,
    else scipy's), ``dropped``."""

    statistic: float
    pvalue: float
    n_a: int
    n_b: int
    location: float
    method: str
    dropped: int = 0
    test: str = "two-sample Kolmogorov-Smirnov"


def _d_stat(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float]:
    xs, ys = np.sort(x), np.sort(y)
    z = np.concatenate([xs, ys])
    fa = np.searchsorted(xs, z, side="right") / xs.size
    fb = np.searchsorted(ys, z, side="right") / ys.size
    d = np.abs(fa - fb)
    i = int(np.argmax(d))
    return float(d[i]), float(z[i])


def ks_2sample(x: ArrayLike, y: ArrayLike, *, balance: bool = True, seed: int | None = 0) -> KS2Result:
    r"""Two-sample KS test. With ``balance`` (default) the larger sample is subsampled to the
    smaller size and the p-value is the exact :math:`P(D_{n,n} \ge D)` (:func:`ks2_sf`), for any
    :math:`n` (no asymptotics). Ties (within or across samples) only make :math:`D` stochastically
    smaller under the null, so the p-value stays valid (conservative). ``balance=False`` with
    unequal sizes uses ``scipy.stats.ks_2samp`` (exact for small samples, asymptotic beyond)."""
    x, y = _samples(x, "x"), _samples(y, "y")
    dropped = 0
    if balance:
        x, y, dropped = balance_samples(x, y, seed)
    d, loc = _d_stat(x, y)
    if x.size == y.size:
        n = x.size
        k = int(round(d * n))
        return KS2Result(d, float(ks2_sf(k, n)[0]), n, n, loc, "exact", dropped)
    r = stats.ks_2samp(x, y)
    return KS2Result(float(r.statistic), float(r.pvalue), x.size, y.size, loc, "scipy-auto", dropped)


@dataclass(frozen=True)
class AD2Result:
    """``statistic`` :math:`A^2_{akN}` (Scholz & Stephens 1987, midranks), ``pvalue`` from its
    limit law, ``n_a``, ``n_b``."""

    statistic: float
    pvalue: float
    n_a: int
    n_b: int
    test: str = "two-sample Anderson-Darling (A2akN, limit-law p-value)"


def _ad2_stat(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """:math:`A^2_{akN}` for two samples, as ``scipy.stats._morestats._anderson_ksamp_midrank``."""
    z = np.sort(np.concatenate([x, y]))
    n_tot = z.size
    zstar = np.unique(z)
    left = np.searchsorted(z, zstar, side="left")
    lj = np.searchsorted(z, zstar, side="right") - left
    bj = left + lj / 2.0
    a2 = 0.0
    for s in (np.sort(x), np.sort(y)):
        right = np.searchsorted(s, zstar, side="right")
        fij = right - np.searchsorted(s, zstar, side="left")
        mij = right - fij / 2.0
        den = bj * (n_tot - bj) - n_tot * lj / 4.0
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(den > 0, lj / n_tot * (n_tot * mij - bj * s.size) ** 2 / den, 0.0)
        a2 += float(inner.sum()) / s.size
    return a2 * (n_tot - 1.0) / n_tot


def ad_2sample(x: ArrayLike, y: ArrayLike) -> AD2Result:
    r"""Two-sample Anderson-Darling test (module doc). :math:`A^2_{akN} = \frac{N-1}{N^2}
    \sum_{i=1}^{2} \frac1{n_i} \sum_j l_j \frac{(N M_{aij} - n_i B_{aj})^2}{B_{aj}(N - B_{aj}) -
    N l_j/4}`; p-value :math:`P(A^2_\infty > A^2_{akN})` with :math:`A^2_\infty = \sum_{j \ge 1}
    \chi^2_{1,j}/(j(j+1))` (Marsaglia & Marsaglia 2004 ADinf, with the far-tail continuation of
    :mod:`harness.stats.continuous`). Approximate; its size at the stage levels is measured by
    simulation in the tests."""
    x, y = _samples(x, "x"), _samples(y, "y")
    a2 = _ad2_stat(x, y)
    p = float(min(1.0, max(0.0, _adinf_upper(a2)))) if math.isfinite(a2) else 0.0
    return AD2Result(a2, p, x.size, y.size)


# ----------------------------------------------------------------------------------------------
# means (gradients)


@dataclass(frozen=True)
class WelchResult:
    r"""Difference of means :math:`\bar x_A - \bar x_B`: ``statistic`` Welch's z, two-sided
    normal ``pvalue``, ``estimate``, ``se`` :math:`\sqrt{s_A^2/n_A + s_B^2/n_B}`, ``ci`` the
    two-sided interval at ``confidence``, ``bound`` the upper bound
    :math:`|\bar x_A - \bar x_B| + z_{1-a/2}\,\mathrm{se}` on :math:`|\mu_A - \mu_B|` at that
    confidence (``a = 1 - confidence``)."""

    statistic: float
    pvalue: float
    estimate: float
    se: float
    ci: tuple[float, float]
    bound: float
    confidence: float
    n_a: int
    n_b: int
    test: str = "difference of means (Welch z)"


def welch_z(x: ArrayLike, y: ArrayLike, confidence: float = 1.0 - 1e-4) -> WelchResult:
    r""":math:`z = (\bar x_A - \bar x_B)/\sqrt{s_A^2/n_A + s_B^2/n_B}` with the normal reference
    (large samples, CLT; Welch 1947 without the t correction, which is negligible at the sizes of
    the harness, :math:`n \ge 10^4`), and its confidence interval."""
    x, y = _samples(x, "x"), _samples(y, "y")
    if x.size < 2 or y.size < 2:
        raise ValueError("need at least 2 samples on each side")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    est = float(x.mean() - y.mean())
    se = float(math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size))
    z = est / se if se > 0 else (0.0 if est == 0 else math.copysign(math.inf, est))
    q = float(stats.norm.isf((1.0 - confidence) / 2))
    return WelchResult(z, float(2 * stats.norm.sf(abs(z))), est, se, (est - q * se, est + q * se),
                       abs(est) + q * se, confidence, x.size, y.size)


# ----------------------------------------------------------------------------------------------
# power
