r"""Continuous goodness of fit against an exact CDF, and independence tests.

* :func:`ks_test`: Kolmogorov-Smirnov :math:`D = \sup_x |F_n(x) - F(x)|` (scipy's exact /
  asymptotic p-value), with the DKWM distance reported alongside.
* :func:`anderson_darling`: :math:`A^2 = -n - \frac1n\sum_{i=1}^n (2i-1)[\ln u_{(i)} +
  \ln(1 - u_{(n+1-i)})]`, :math:`u = F(x)`, computed with the survival function for the upper
  tail (no cancellation in :math:`1 - F`), p-value from Marsaglia & Marsaglia (2004),
  "Evaluating the Anderson-Darling Distribution", *J. Stat. Software* 9(2) (ADinf plus the
  finite-n error correction; absolute error < 1e-5 for n >= 5).
* :func:`independence_chi2`: chi-square test of independence of a discrete label and a
  continuous variable binned at the null's quantiles (used for T3).
* :func:`z_test`: a mean against a known value with a known or estimated standard error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from harness.stats.power import dkwm_epsilon

__all__ = ["KSResult", "AndersonDarlingResult", "ZResult", "ks_test", "anderson_darling",
           "ad_pvalue", "independence_chi2", "z_test"]

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
    r"""One-sample KS test of ``samples`` against the continuous ``cdf`` (vectorised)."""
    x = _samples(samples)
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
    if z <= 0:
        return 0.0
    if z < 2:
        return math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z
        )
    return math.exp(-math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z))


def _errfix(n: int, x: float) -> float:
    if x > 0.8:
        return (-130.2137 + (745.2337 - (1705.091 - (1950.646 - (1116.360 - 255.7844 * x) * x) * x) * x) * x) / n
    c = 0.01265 + 0.1757 / n
    if x < c:
        t = x / c
        t = math.sqrt(t) * (1 - t) * (49 * t - 102)
        return t * (0.0037 / (n ** 3) + 0.00078 / (n ** 2) + 0.00006) / n
    t = (x - c) / (0.8 - c)
    t = -0.00022633 + (6.54034 - (14.6538 - (14.458 - (8.259 - 1.91864 * t) * t) * t) * t) * t
    return t * (0.04213 / n + 0.01365 / (n ** 2))


def ad_pvalue(a2: float, n: int) -> float:
    """Upper-tail p-value of the Anderson-Darling statistic for a fully specified law."""
    if not math.isfinite(a2):
        return 0.0
    x = _adinf(a2)
    cdf = x + _errfix(n, x)
    return float(min(1.0, max(0.0, 1.0 - cdf)))


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
    i = np.arange(1, n + 1)
    a2 = float(-n - np.sum((2 * i - 1) * (lf + ls[::-1])) / n)
    return AndersonDarlingResult(a2, ad_pvalue(a2, n), n)


@dataclass(frozen=True)
class IndependenceResult:
    """Chi-square test of independence on an (labels x bins) contingency table."""

    statistic: float
    pvalue: float
    df: int
    n: int
    table: NDArray[np.int64]
    test: str = "chi-square test of independence"


def independence_chi2(labels: ArrayLike, values: ArrayLike, edges: ArrayLike,
                      min_expected: float = 5.0) -> IndependenceResult:
    r"""Pearson chi-square test that ``labels`` (ints) and ``values`` are independent.

    ``values`` are binned by ``edges`` (interior cut points; use the null law's quantiles so
    the bins are equiprobable). Labels whose expected count in some bin is below
    ``min_expected`` are pooled into one row. df = (rows - 1)(bins - 1).
    """
    lab = np.asarray(labels).ravel()
    val = _samples(values)
    if lab.size != val.size:
        raise ValueError("labels and values differ in length")
    b = np.searchsorted(np.asarray(edges, dtype=np.float64), val, side="right")
    nb = len(edges) + 1
    uniq, inv = np.unique(lab, return_inverse=True)
    table = np.zeros((uniq.size, nb), dtype=np.int64)
    np.add.at(table, (inv, b), 1)
    n = int(table.sum())
    col = table.sum(0)
    row = table.sum(1)
    small = row * col.min() / max(n, 1) < min_expected
    if small.any():
        pooled = table[small].sum(0, keepdims=True)
        table = np.concatenate([table[~small], pooled], axis=0)
        table = table[table.sum(1) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return IndependenceResult(0.0, 1.0, 0, n, table)
    chi2, pval, dof, _ = stats.chi2_contingency(table, correction=False)
    return IndependenceResult(float(chi2), float(pval), int(dof), n, table)


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
    s = float(x.std(ddof=1) / math.sqrt(x.size)) if se is None else float(se)
    z = (est - target) / s if s > 0 else (0.0 if est == target else math.inf)
    return ZResult(z, float(2 * stats.norm.sf(abs(z))), est, s, float(target), x.size)
