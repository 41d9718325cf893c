r"""Continuous goodness of fit against an exact CDF, and independence / k-sample tests.

* :func:`ks_test`: Kolmogorov-Smirnov :math:`D = \sup_x |F_n(x) - F(x)|` (scipy's exact /
  asymptotic p-value), with the DKWM distance reported alongside.
* :func:`anderson_darling`: :math:`A^2 = -n - \frac1n\sum_{i=1}^n (2i-1)[\ln u_{(i)} +
  \ln(1 - u_{(n+1-i)})]`, :math:`u = F(x)`, computed with the survival function for the upper
  tail (no cancellation in :math:`1 - F`), p-value from Marsaglia & Marsaglia (2004),
  "Evaluating the Anderson-Darling Distribution", *J. Stat. Software* 9(2) (ADinf plus the
  finite-n error correction; absolute error about 1e-5 or better for n >= 5), see
  :func:`ad_pvalue` for the far tail.
* :func:`conditional_gof`: the law of ``values`` given each ``label`` against one exact CDF
  (spec T3: the max is independent of the argmax and Gumbel(lse(x)) in every class): one KS
  (or AD) test per class, combined with Holm-Bonferroni. Unlike scipy's ``anderson_ksamp``
  (p-values capped to [0.001, 0.25]) the per-class p-values are exact, so they can enter a
  Holm family.
* :func:`independence_chi2`: chi-square test of independence of a discrete label and a
  continuous variable binned at the null's quantiles (also T3; needs no CDF of the values).
* :func:`z_test`: a mean against a known value with a known or estimated standard error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from harness.stats.discrete import pool_categories
from harness.stats.power import dkwm_epsilon

__all__ = ["KSResult", "AndersonDarlingResult", "ZResult", "IndependenceResult",
           "ConditionalGofResult", "ks_test", "anderson_darling", "ad_pvalue",
           "independence_chi2", "conditional_gof", "z_test"]

CDF = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _samples(x: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError("no samples")
    if np.any(np.isnan(a)):
        raise ValueError(f"samples contain {int(np.isnan(a).sum())} NaN value(s)")
    return a


@dataclass(frozen=True)
class KSResult:
    """``statistic`` D, ``pvalue``, ``n``, ``dkwm_epsilon`` at ``alpha`` (distribution-free
    bound on D under the null), ``location`` the x where the sup is attained."""

    statistic: float
    pvalue: float
    n: int
    dkwm_epsilon: float
    location: float
    test: str = "Kolmogorov-Smirnov"


def ks_test(samples: ArrayLike, cdf: CDF, alpha: float = 0.01) -> KSResult:
    r"""One-sample KS test of ``samples`` against the continuous ``cdf`` (vectorised).

    ``cdf`` must return values in [0, 1] (NaN raises ``ValueError``). Samples at
    :math:`\pm\infty` are allowed (CDF 0 or 1) and count against the law only if the law has
    no mass there, which for a continuous law means a large D."""
    x = _samples(samples)
    u = np.asarray(cdf(np.sort(x)), dtype=np.float64)
    if np.any(np.isnan(u)) or np.any((u < 0) | (u > 1)):
        raise ValueError("cdf returned values outside [0, 1] (or NaN)")
    res = stats.kstest(x, cdf)
    return KSResult(float(res.statistic), float(res.pvalue), x.size, dkwm_epsilon(x.size, alpha),
                    float(res.statistic_location))


@dataclass(frozen=True)
class AndersonDarlingResult:
    """``statistic`` A^2, ``pvalue``, ``n``."""

    statistic: float
    pvalue: float
    n: int
    test: str = "Anderson-Darling"


def _adinf(z: float) -> float:
    """Marsaglia & Marsaglia (2004): asymptotic CDF of A^2 (|error| < 2e-6 for z < 2,
    < 8e-7 above)."""
    if z <= 0:
        return 0.0
    if z < 2:
        return math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z
        )
    return math.exp(-math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z))


def _adinf_sf(z: float) -> float:
    """1 - ADinf(z) without cancellation for z >= 2 (-expm1)."""
    if z <= 0:
        return 1.0
    if z < 2:
        return 1.0 - _adinf(z)
    inner = 1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z
    return -math.expm1(-math.exp(inner))


# Upper-tail continuation beyond _AD_TAIL_Z: A^2 = sum_j chi2_1 / (j (j + 1)) has the tail
# P(A^2 > z) ~ sqrt(3 / (pi z)) exp(-z) (largest weight 1/2; prod_{j>=2} (1 - 2/(j(j+1)))^(-1/2)
# = sqrt(3)), while Marsaglia's polynomial falls too fast above z ~ 9 (it is fitted for
# absolute, not relative, accuracy). The continuation is scaled to match at _AD_TAIL_Z.
_AD_TAIL_Z = 7.0


def _ad_tail_asym(z: float) -> float:
    return math.sqrt(3.0 / (math.pi * z)) * math.exp(-z)


_AD_TAIL_SCALE = _adinf_sf(_AD_TAIL_Z) / _ad_tail_asym(_AD_TAIL_Z)  # 0.983


def _adinf_upper(z: float) -> float:
    if z <= _AD_TAIL_Z:
        return _adinf_sf(z)
    return _AD_TAIL_SCALE * _ad_tail_asym(z)


def _errfix(n: int, x: float) -> float:
    """Marsaglia & Marsaglia (2004) finite-n correction: P(A_n^2 < z) ~ x + errfix(n, x),
    x = ADinf(z)."""
    if x > 0.8:
        return (-130.2137 + (745.2337 - (1705.091 - (1950.646 - (1116.360 - 255.7844 * x) * x) * x) * x) * x) / n
    c = 0.01265 + 0.1757 / n
    if x < c:
        t = x / c
        t = math.sqrt(t) * (1 - t) * (49 * t - 102)
        return t * (0.0037 / (n * n) + 0.00078 / n + 0.00006) / n
    t = (x - c) / (0.8 - c)
    t = -0.00022633 + (6.54034 - (14.6538 - (14.458 - (8.259 - 1.91864 * t) * t) * t) * t) * t
    return t * (0.04213 + 0.01365 / n) / n


# Upper branch of errfix as a polynomial in s = 1 - x, with the constant term (g(1) = -6e-4,
# coefficient rounding in the published fit) spread linearly over (0.8, 1] so that the
# correction vanishes with s: the p-value of a huge A^2 goes to 0 instead of to 6e-4/n.
_ERR_HI = np.polynomial.Polynomial([-130.2137, 745.2337, -1705.091, 1950.646, -1116.360, 255.7844])
_ERR_HI_S = _ERR_HI(np.polynomial.Polynomial([1.0, -1.0]))  # g(1 - s)
_ERR_HI_S0 = float(_ERR_HI_S.coef[0])


def _errfix_upper_tail(n: int, s: float) -> float:
    """errfix for x = 1 - s > 0.8, evaluated in s and made to vanish at s = 0 (changes the
    published correction by at most 6e-4/n, inside its accuracy)."""
    g = float(_ERR_HI_S(s)) - _ERR_HI_S0 * (1.0 - s / 0.2)
    return g / n


def ad_pvalue(a2: float, n: int) -> float:
    """Upper-tail p-value of the Anderson-Darling statistic for a fully specified law.

    Marsaglia & Marsaglia (2004) (ADinf and the finite-n correction ``errfix``), with the
    upper tail computed without cancellation; absolute error about 1e-5 or less for n >= 5,
    so p-values below about 1e-5 are indicative (their order of magnitude is right: beyond
    A^2 = 7 the asymptotic tail sqrt(3/(pi z)) e^{-z} is used). Never exactly 0 for a finite
    A^2 below about 700."""
    if math.isnan(a2):
        return math.nan
    if not math.isfinite(a2):
        return 0.0
    n = max(int(n), 1)
    s = _adinf_upper(a2)  # 1 - ADinf(a2)
    x = 1.0 - s
    if x > 0.8:
        p = s - _errfix_upper_tail(n, s)
    else:
        p = s - _errfix(n, x)
    return float(min(1.0, max(0.0, p)))


def anderson_darling(
    samples: ArrayLike,
    cdf: CDF,
    sf: CDF | None = None,
    logcdf: CDF | None = None,
    logsf: CDF | None = None,
) -> AndersonDarlingResult:
    r"""Anderson-Darling test against a fully specified continuous law (see module doc).

    Pass ``sf`` (and ideally ``logcdf``/``logsf``) so that :math:`\ln(1 - F)` keeps its
    precision in the upper tail: with ``1 - cdf`` in float64 a Gumbel sample above 37 gives
    :math:`\ln 0 = -\infty` and a spurious rejection.
    """
    x = np.sort(_samples(samples))
    n = x.size
    with np.errstate(divide="ignore"):
        lf = logcdf(x) if logcdf is not None else np.log(cdf(x))
        if logsf is not None:
            ls = logsf(x)
        else:
            ls = np.log(sf(x)) if sf is not None else np.log1p(-cdf(x))
    lf = np.asarray(lf, dtype=np.float64)
    ls = np.asarray(ls, dtype=np.float64)
    if np.any(np.isnan(lf)) or np.any(np.isnan(ls)):
        raise ValueError("cdf/sf returned NaN")
    i = np.arange(1, n + 1)
    a2 = float(-n - np.sum((2 * i - 1) * (lf + ls[::-1])) / n)
    return AndersonDarlingResult(a2, ad_pvalue(a2, n), n)


@dataclass(frozen=True)
class IndependenceResult:
    """Chi-square test of independence on an (labels x bins) contingency table.

    ``table`` is the table after pooling; ``row_groups`` the labels of each row;
    ``min_expected`` the smallest expected cell count of the pooled table."""

    statistic: float
    pvalue: float
    df: int
    n: int
    table: NDArray[np.int64]
    test: str = "chi-square test of independence"
    row_groups: tuple[tuple, ...] = field(default=(), repr=False)
    min_expected: float = math.nan


def _pool_rows(row: NDArray[np.float64], need: float) -> list[list[int]]:
    """Pool rows (by their totals only) so that every group's total is >= ``need``: the
    pooling rule of :func:`harness.stats.discrete.pool_categories`, as index lists."""
    return [list(g) for g in pool_categories(row, need)]


def independence_chi2(labels: ArrayLike, values: ArrayLike, edges: ArrayLike,
                      min_expected: float = 5.0) -> IndependenceResult:
    r"""Pearson chi-square test that ``labels`` (ints) and ``values`` are independent.

    ``values`` are binned by ``edges`` (interior cut points; use the null law's quantiles so
    the bins are equiprobable). Labels are pooled (by their row totals only, which are
    ancillary for independence) so that every expected cell count
    :math:`R_r C_c / N` is at least ``min_expected``; empty value bins are dropped.
    df = (rows - 1)(bins - 1). The marginals are estimated from the table, so this tests
    independence only, not the law of either variable.
    """
    lab = np.asarray(labels).ravel()
    val = _samples(values)
    if lab.size != val.size:
        raise ValueError("labels and values differ in length")
    e = np.asarray(edges, dtype=np.float64).ravel()
    if np.any(np.diff(e) <= 0):
        raise ValueError("edges must be strictly increasing")
    b = np.searchsorted(e, val, side="right")
    nb = e.size + 1
    uniq, inv = np.unique(lab, return_inverse=True)
    table = np.zeros((uniq.size, nb), dtype=np.int64)
    np.add.at(table, (inv.ravel(), b), 1)
    n = int(table.sum())
    table = table[:, table.sum(0) > 0]
    col = table.sum(0)
    row = table.sum(1).astype(np.float64)
    need = min_expected * n / col.min() if col.size else math.inf
    groups = _pool_rows(row, need)
    pooled = np.array([table[g].sum(0) for g in groups], dtype=np.int64).reshape(len(groups), -1)
    row_groups = tuple(tuple(uniq[g].tolist()) for g in groups)
    if pooled.shape[0] < 2 or pooled.shape[1] < 2:
        return IndependenceResult(0.0, 1.0, 0, n, pooled, row_groups=row_groups,
                                  min_expected=float(n) if n else math.nan)
    exp = np.outer(pooled.sum(1), pooled.sum(0)) / n
    chi2, pval, dof, _ = stats.chi2_contingency(pooled, correction=False)
    return IndependenceResult(float(chi2), float(pval), int(dof), n, pooled, row_groups=row_groups,
                              min_expected=float(exp.min()))


@dataclass(frozen=True)
class ConditionalGofResult:
    r"""Per-class goodness of fit of ``values | label`` to one law, Holm-combined.

    ``pvalue`` is the smallest Holm-adjusted p-value, :math:`\min(1, m\,p_{(1)})`
    (Bonferroni; valid under any dependence): the family's p-value. ``pvalue_sidak`` is
    :math:`1 - (1 - p_{(1)})^m`, exact under the null when the classes are independent given
    the labels (i.i.d. pairs: they are), useful for calibration. ``classes`` the label groups
    (small classes pooled), ``pvalues`` / ``adjusted`` / ``statistics`` / ``sizes`` per group.
    """

    statistic: float
    pvalue: float
    pvalue_sidak: float
    n: int
    classes: tuple[tuple, ...]
    statistics: tuple[float, ...]
    pvalues: tuple[float, ...]
    adjusted: tuple[float, ...]
    sizes: tuple[int, ...]
    worst: int
    test: str = "per-class Kolmogorov-Smirnov, Holm-combined"


def conditional_gof(
    labels: ArrayLike,
    values: ArrayLike,
    cdf: CDF,
    *,
    test: Literal["ks", "ad"] = "ks",
    min_count: int = 20,
    logcdf: CDF | None = None,
    logsf: CDF | None = None,
) -> ConditionalGofResult:
    r"""k-sample check against a known law: the law of ``values`` given ``labels == i`` is
    ``cdf`` for every class ``i`` (spec T3 with ``cdf`` the Gumbel(lse(x)) CDF).

    One KS (``test="ks"``) or Anderson-Darling (``"ad"``) test per class, combined with
    Holm-Bonferroni; classes with fewer than ``min_count`` samples are pooled into one group
    (under the null every group of classes has the same law), and a pooled group still below
    ``min_count`` joins the smallest class. ``statistic`` is the largest per-class statistic.
    """
    from harness.stats.family import holm

    lab = np.asarray(labels).ravel()
    val = _samples(values)
    if lab.size != val.size:
        raise ValueError("labels and values differ in length")
    uniq, inv = np.unique(lab, return_inverse=True)
    inv = inv.ravel()
    sizes = np.bincount(inv, minlength=uniq.size).astype(np.float64)
    groups = _pool_rows(sizes, float(min_count))
    stat_l, p_l, n_l = [], [], []
    gid = np.empty(uniq.size, dtype=np.int64)
    for j, g in enumerate(groups):
        gid[g] = j
    which = gid[inv]
    for j in range(len(groups)):
        x = val[which == j]
        if test == "ks":
            r = ks_test(x, cdf)
        elif test == "ad":
            r = anderson_darling(x, cdf, logcdf=logcdf, logsf=logsf)
        else:
            raise ValueError(f"test must be 'ks' or 'ad', got {test!r}")
        stat_l.append(float(r.statistic))
        p_l.append(float(r.pvalue))
        n_l.append(int(x.size))
    m = len(p_l)
    adj = holm(p_l, 0.5).adjusted
    pmin = min(p_l)
    worst = int(np.argmin(p_l))
    name = ("per-class Kolmogorov-Smirnov" if test == "ks" else "per-class Anderson-Darling") + \
        ", Holm-combined"
    return ConditionalGofResult(
        max(stat_l), float(min(adj)), float(-math.expm1(m * math.log1p(-pmin)) if pmin < 1 else 1.0),
        int(val.size), tuple(tuple(uniq[g].tolist()) for g in groups), tuple(stat_l), tuple(p_l),
        tuple(float(a) for a in adj), tuple(n_l), worst, name)


@dataclass(frozen=True)
class ZResult:
    """``statistic`` z, two-sided ``pvalue``, ``estimate``, ``se``, ``target``."""

    statistic: float
    pvalue: float
    estimate: float
    se: float
    target: float
    n: int
    test: str = "z-test"


def z_test(samples: ArrayLike, target: float, se: float | None = None) -> ZResult:
    r""":math:`z = (\bar x - \mu_0)/\mathrm{se}`, se defaulting to :math:`s/\sqrt n`; two-sided
    normal p-value (valid for large n by the CLT)."""
    x = _samples(samples)
    est = float(x.mean())
    if se is None and x.size < 2:
        raise ValueError("need at least 2 samples to estimate the standard error")
    s = float(x.std(ddof=1) / math.sqrt(x.size)) if se is None else float(se)
    z = (est - target) / s if s > 0 else (0.0 if est == target else math.copysign(math.inf, est - target))
    return ZResult(z, float(2 * stats.norm.sf(abs(z))), est, s, float(target), x.size)
