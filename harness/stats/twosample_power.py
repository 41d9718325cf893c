"""Two-sample power, bounds and the difference band: what a :mod:`harness.stats.twosample`
decision detects (the smallest distance detected with probability 0.9 by the confirmed decision,
worst case, with the least-favourable alternatives the simulations use), the upper confidence
bound on the distance between the two laws a PASS certifies, and the per-category difference
with its simultaneous band (the figure)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from harness.stats.bounds import cp_upper
from harness.stats.discrete import pool_categories
from harness.stats.power import max_split_variance, min_detectable_w
from harness.stats.twosample import ks2_critical, paired_counts, stage_split

__all__ = ["TwoSamplePower", "DifferenceBand", "homogeneity_power", "max_cell_power", "ks2_power", "welch_power", "least_favourable_pair", "one_cell_pair", "ks2_least_favourable", "tv_bound_two_sample", "sup_distance_bound_two_sample", "difference_band"]


@dataclass(frozen=True)
class TwoSamplePower:
    """A power statement: a deviation of at least ``value`` (in ``measure``) between the two laws
    is detected with probability ``power`` by the confirmed decision at ``level`` (each of two
    stages at ``stage_level`` with power ``stage_power``); ``tv`` the TV form where one applies;
    ``n`` the balanced per-sample size it is for; ``df`` the chi-square degrees of freedom;
    ``note`` how it was computed and what it assumes."""

    measure: str
    value: float
    power: float
    level: float
    stage_level: float
    stage_power: float
    n: int
    tv: float | None = None
    df: int | None = None
    note: str = ""


def _table_bins(t: NDArray[np.float64], n: int, min_expected: float):
    """Bins, bin shares and pooled mass of a (possibly expected, non-integer) pooled table ``t``
    at the balanced size ``n`` per sample."""
    pi = t / t.sum()
    groups = pool_categories(n * pi, min_expected)
    pb = np.array([pi[list(g)].sum() for g in groups])
    pooled = float(sum(pi[list(g)].sum() for g in groups if len(g) > 1))
    return groups, pb, pooled


def homogeneity_power(table: ArrayLike, n_a: int, n_b: int, level: float, power: float = 0.9,
                      min_expected: float = 5.0) -> TwoSamplePower:
    r"""Stated power of the confirmed :func:`homogeneity_chi2` decision at Bonferroni level
    ``level``, for the pooled table ``table`` (the pooled counts :math:`t`, or any vector
    proportional to the common law :math:`\pi`; expected counts are fine).

    With :math:`n = \min(n_A, n_B)` (balanced design), bins as the test pools them at
    :math:`n\hat\pi` (:math:`\hat\pi = t/\sum t`), :math:`G` bins, :math:`e_{\min} = \min_g 2n\hat\pi_g`
    the smallest expected pooled bin count, :math:`\lambda^*` the noncentrality giving stage power
    :math:`\sqrt{0.9}` at :math:`\sqrt L` for :math:`\chi^2_{G-1}`:

    .. math:: w^* = \sqrt{\frac{\lambda^*}{(n/2)(1 - 1/e_{\min})}}, \qquad
              \mathrm{TV}^* = w^* \max_A \sqrt{\hat\pi(A)(1 - \hat\pi(A))} + \hat\pi(\text{pooled}).

    Derivation. For laws :math:`p, q` with mean :math:`\pi = (p + q)/2`, the statistic is about
    noncentral :math:`\chi^2_{G-1}(\lambda)`, :math:`\lambda = (n/2)\sum_g (p_g - q_g)^2/\pi_g`
    (balanced: no first-order term, module doc); the exact Poissonised mean per bin is
    :math:`1 + \lambda_g(1 - 1/E t_g)`, hence the factor :math:`1 - 1/e_{\min}` (conservative).
    Cauchy-Schwarz on :math:`A = \{p > q\}` gives :math:`w^2 \ge \mathrm{TV}_{bins}^2/(\pi(A)\pi(A^c))`,
    attained by the proportional tilt (:func:`least_favourable_pair`): the least-favourable
    alternative. Deviations inside a pooled bin are invisible: the TV over categories exceeds the
    TV over bins by at most :math:`\sum_{\text{pooled } g} \min(p_g, q_g) \le \hat\pi(\text{pooled})`.
    Assumes: a balanced design, the noncentral approximation (checked by simulation through the
    confirmed decision, Monte Carlo p-values included, in ``tests/test_twosample.py``), and
    :math:`\hat\pi` as the common law (the statement is a function of the table)."""
    t = np.asarray(table, dtype=np.float64).ravel()
    if t.size == 0 or np.any(t < 0) or t.sum() <= 0:
        raise ValueError("table must be a non-empty vector of non-negative counts with a positive sum")
    stage, spower = stage_split(level, power)
    n = int(min(n_a, n_b))
    groups, pb, pooled = _table_bins(t, n, min_expected)
    g = len(groups)
    note = ("noncentral chi-square on the bins of the pooled table (balanced n = min(n_A, n_B)), "
            "lambda deflated by 1 - 1/e_min; TV = w* max_A sqrt(P(A)(1-P(A))) + pooled mass")
    if g < 2 or n < 1:
        return TwoSamplePower("cohen_w", math.inf, power, level, stage, spower, n, math.inf, max(g - 1, 0), note)
    emin = float(2 * n * pb.min())
    w = min_detectable_w(n / 2.0, g - 1, stage, spower)  # type: ignore[arg-type]
    w /= math.sqrt(max(1e-12, 1.0 - 1.0 / emin))
    tv = float(w * math.sqrt(max_split_variance(pb)) + pooled)
    return TwoSamplePower("cohen_w", float(w), power, level, stage, spower, n, tv, g - 1, note)


def least_favourable_pair(probs: ArrayLike, tv: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""The least-favourable pair for :func:`homogeneity_power`: :math:`p = \pi + d/2`,
    :math:`q = \pi - d/2` with the proportional tilt :math:`d = \mathrm{TV}\,\pi/\pi(A)` on
    :math:`A`, :math:`-\mathrm{TV}\,\pi/\pi(A^c)` elsewhere (smallest :math:`w` at this TV),
    :math:`A` the least probable categories up to half the mass, so the tilt sits in the sparsest
    bins (where the :math:`1 - 1/E t` loss is largest). :math:`\mathrm{TV}(p, q) = ` ``tv``."""
    pi = np.asarray(probs, dtype=np.float64)
    pi = pi / pi.sum()
    order = np.argsort(pi, kind="stable")
    csum = np.cumsum(pi[order])
    k = int(np.searchsorted(csum, 0.5, side="right"))
    k = min(max(k, 1), pi.size - 1)
    a = np.zeros(pi.size, dtype=bool)
    a[order[:k]] = True
    pa = float(pi[a].sum())
    d = np.where(a, tv * pi / pa, -tv * pi / (1.0 - pa))
    p, q = pi + d / 2, pi - d / 2
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError(f"TV {tv} too large for a tilt of this law")
    return p, q


def max_cell_power(prob: float, n_a: int, n_b: int, level: float, m: int,
                   power: float = 0.9) -> TwoSamplePower:
    r"""Stated power of the confirmed :func:`max_cell_test` decision for a difference on one
    category of pooled probability ``prob`` (:math:`\pi_i = (p_i + q_i)/2`) among ``m`` tested
    cells: :math:`|p_i - q_i| \ge \delta^* = (z_{1 - u/(2m)} + z_{\sqrt{0.9}})\sqrt{2\pi_i/n}`,
    :math:`u = \sqrt L`, :math:`n = \min(n_A, n_B)`. Normal approximation to the conditional
    binomial: given :math:`t_i` the A-count is about :math:`\mathrm{Bin}(t_i, p_i/(p_i + q_i))`,
    :math:`\hat p_i - \hat q_i` has variance about :math:`2\pi_i/n` under both hypotheses
    (Poisson). ``tv`` is :math:`\delta^*`: the TV of the one-cell alternative compensated
    proportionally elsewhere (:func:`one_cell_pair`)."""
    stage, spower = stage_split(level, power)
    n = int(min(n_a, n_b))
    if n < 1 or m < 1 or not 0 < prob < 1:
        return TwoSamplePower("abs_cell_difference", math.inf, power, level, stage, spower, n, math.inf)
    d = float((stats.norm.isf(stage / (2 * m)) + stats.norm.ppf(spower)) * math.sqrt(2 * prob / n))
    return TwoSamplePower("abs_cell_difference", d, power, level, stage, spower, n, d, None,
                          f"one category of pooled probability {prob:.3g}, Bonferroni over m = {m} cells, "
                          "normal approximation of the conditional binomial")


def one_cell_pair(probs: ArrayLike, cell: int, diff: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``p, q`` with mean ``probs``, ``p[cell] - q[cell] = diff`` and the compensation spread in
    proportion over the other categories (the alternative of :func:`max_cell_power`)."""
    pi = np.asarray(probs, dtype=np.float64)
    pi = pi / pi.sum()
    rest = 1.0 - pi[cell]
    d = -diff * pi / rest
    d[cell] = diff
    p, q = pi + d / 2, pi - d / 2
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("difference too large for this law")
    return p, q


def ks2_power(n_a: int, n_b: int, level: float, power: float = 0.9) -> TwoSamplePower:
    r"""Stated power of the confirmed :func:`ks_2sample` decision: every pair of continuous laws
    with :math:`\sup_x |F_A - F_B| \ge \Delta^* = c_u + z_{\sqrt{0.9}}/\sqrt{2n}` is detected,
    :math:`c_u` the exact critical value of :math:`D_{n,n}` at :math:`u = \sqrt L`
    (:func:`ks2_critical`), :math:`n = \min(n_A, n_B)`. Proof: at the point :math:`x^*` of the
    largest difference, :math:`D \ge F_{A,n}(x^*) - F_{B,n}(x^*)`, a difference of two binomial
    proportions with mean :math:`\Delta` and variance :math:`(F_A(1 - F_A) + F_B(1 - F_B))/n \le
    1/(2n)`; with the normal approximation, :math:`P(D \ge c_u) \ge \Phi((\Delta - c_u)\sqrt{2n})`.
    Distribution-free; least favourable: the narrowest difference at the median
    (:func:`ks2_least_favourable`)."""
    stage, spower = stage_split(level, power)
    n = int(min(n_a, n_b))
    c = ks2_critical(n, stage)
    d = float(c + stats.norm.ppf(spower) / math.sqrt(2 * n))
    return TwoSamplePower("ks_sup_distance", d, power, level, stage, spower, n, None, None,
                          f"exact critical value {c:.4g} of D(n,n) at the stage level + z / sqrt(2n)")


def ks2_least_favourable(u: ArrayLike, delta: float) -> NDArray[np.float64]:
    r"""Draws of the least-favourable B for :func:`ks2_power` from uniforms ``u`` (A is U(0, 1)):
    the mass :math:`2\Delta` of :math:`(1/2 - \Delta, 1/2 + \Delta)` is squeezed onto
    :math:`(1/2 - \Delta, 1/2)` (density 2 there, 0 on :math:`(1/2, 1/2 + \Delta)`), so
    :math:`F_B - F_A` is a tent of height :math:`\Delta` and half-width :math:`\Delta` at the
    median: the narrowest difference of that height a density bounded by 2 allows, with the
    largest binomial variance (at the median) -- the case the proof of :func:`ks2_power` bounds."""
    if not 0 < delta < 0.5:
        raise ValueError("delta must be in (0, 1/2)")
    u = np.asarray(u, dtype=np.float64)
    lo, hi = 0.5 - delta, 0.5 + delta
    inside = (u > lo) & (u < hi)
    return np.where(inside, lo + (u - lo) / 2.0, u)


def welch_power(se: float, level: float, power: float = 0.9) -> TwoSamplePower:
    r"""Stated power of the confirmed :func:`welch_z` decision: a difference of means
    :math:`|\mu_A - \mu_B| \ge (z_{1-u/2} + z_{\sqrt{0.9}})\,\mathrm{se}`, :math:`u = \sqrt L`."""
    stage, spower = stage_split(level, power)
    d = float((stats.norm.isf(stage / 2) + stats.norm.ppf(spower)) * se)
    return TwoSamplePower("abs_mean_difference", d, power, level, stage, spower, 0, None, None,
                          "normal approximation of the mean (CLT)")


# ----------------------------------------------------------------------------------------------
# bounds a PASS certifies


def _cp_lower(k: NDArray, n: int, a: float) -> NDArray[np.float64]:
    k = np.asarray(k, dtype=np.float64)
    return np.where(k <= 0, 0.0, stats.beta.ppf(a, np.maximum(k, 1e-300), n - k + 1))


_SUBSETS_MAX_K = 12


def tv_bound_two_sample(a: ArrayLike, b: ArrayLike, conf_a: float) -> tuple[float, str]:
    r"""Upper confidence bound on :math:`\mathrm{TV}(p, q)` (the laws behind ``a`` and ``b``),
    valid with probability :math:`\ge 1 -` ``conf_a`` for every :math:`p, q` (exact binomial
    coverage and union bounds, no asymptotics); returns ``(bound, note)``.

    * :math:`K \le 12`: :math:`\mathrm{TV} = \max_A (p(A) - q(A))` over the :math:`S = 2^K - 2`
      non-empty proper subsets; one-sided Clopper-Pearson :math:`U^p_A \ge p(A)`,
      :math:`L^q_A \le q(A)`, each at :math:`a/(2S)`: :math:`\mathrm{TV} \le \max_A (U^p_A - L^q_A)`.
    * :math:`K > 12`: the smaller of (i) two-sided Clopper-Pearson intervals on every category of
      each sample, each at :math:`a/(4K)`: :math:`\mathrm{TV} \le \tfrac12\sum_i \max(U^p_i - L^q_i,
      U^q_i - L^p_i)`; (ii) Hoeffding over all subsets for each sample at :math:`a/4`
      (Bretagnolle-Huber-Carol): :math:`\mathrm{TV} \le \mathrm{TV}(\hat p, \hat q) + \sum_{s \in
      \{A, B\}} \sqrt{(K\ln 2 + \ln(4/a))/(2 n_s)}`.

    With :math:`n \ll K` no estimator can certify a small TV; the bound is then near 1 (honest).
    """
    a, b = paired_counts(a, b)
    na, nb = int(a.sum()), int(b.sum())
    k = a.size
    if na == 0 or nb == 0 or k < 2:
        return 1.0, "no data"
    if k <= _SUBSETS_MAX_K:
        codes = np.arange(1, 2 ** k - 1)
        bits = ((codes[:, None] >> np.arange(k)) & 1).astype(np.float64)
        s = codes.size
        up = cp_upper(bits @ a, na, conf_a / (2 * s))
        lo = _cp_lower(bits @ b, nb, conf_a / (2 * s))
        tv = float(np.max(up - lo))
        note = f"one-sided Clopper-Pearson on all {s} subsets of each sample (union bound)"
    else:
        ea = conf_a / (4 * k)
        ua, la = cp_upper(a, na, ea / 2), _cp_lower(a, na, ea / 2)
        ub, lb = cp_upper(b, nb, ea / 2), _cp_lower(b, nb, ea / 2)
        tv_cp = float(0.5 * np.sum(np.maximum(ua - lb, ub - la)))
        emp = float(0.5 * np.sum(np.abs(a / na - b / nb)))
        hb = sum(math.sqrt((k * math.log(2) + math.log(4 / conf_a)) / (2 * m)) for m in (na, nb))
        tv_bhc = emp + hb
        tv = min(tv_cp, tv_bhc)
        note = (f"Clopper-Pearson intervals on each of {k} categories of each sample (union bound)"
                if tv_cp <= tv_bhc else "empirical TV + Hoeffding over all subsets of each sample")
    return float(min(1.0, max(0.0, tv))), note


def sup_distance_bound_two_sample(d: float, n_a: int, n_b: int, conf_a: float) -> float:
    r"""Upper confidence bound on :math:`\sup_x |F_A - F_B|` at confidence :math:`1 -` ``conf_a``:
    :math:`D + \varepsilon_A + \varepsilon_B`, :math:`\varepsilon_s = \sqrt{\ln(4/a)/(2 n_s)}`
    (DKW with Massart's constant for each sample at :math:`a/2`), capped at 1."""
    if n_a < 1 or n_b < 1:
        return 1.0
    e = sum(math.sqrt(math.log(4.0 / conf_a) / (2.0 * m)) for m in (n_a, n_b))
    return float(min(1.0, d + e))


# ----------------------------------------------------------------------------------------------
# figure helper


@dataclass(frozen=True)
class DifferenceBand:
    r"""Per-category comparison of two count tables, for the figure "both empirical laws with the
    difference and its simultaneous band".

    ``p_a``, ``p_b`` the empirical laws; ``diff`` :math:`\hat p_A - \hat p_B`; ``sd`` its null
    standard deviation given the pooled counts (hypergeometric); ``z = diff / sd`` (0 where
    :math:`t_i = 0`); ``critical`` the simultaneous critical value
    :math:`z_{1 - \text{level}/(2m)}` (Bonferroni over the ``m`` categories with :math:`t_i > 0`);
    ``half_width = critical * sd`` the band on ``diff``; ``outside`` the categories whose
    difference leaves it. Under the null all differences stay inside with probability about
    :math:`\ge 1 -` ``level`` (normal approximation per cell)."""

    p_a: NDArray[np.float64]
    p_b: NDArray[np.float64]
    diff: NDArray[np.float64]
    sd: NDArray[np.float64]
    z: NDArray[np.float64]
    half_width: NDArray[np.float64]
    critical: float
    m: int
    level: float
    outside: NDArray[np.int64]


def difference_band(a: ArrayLike, b: ArrayLike, level: float) -> DifferenceBand:
    """Standardized per-category differences and their simultaneous band (:class:`DifferenceBand`).
    No balancing: the figure shows the data as drawn."""
    a, b = paired_counts(a, b)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    na, nb = int(a.sum()), int(b.sum())
    if na == 0 or nb == 0:
        raise ValueError("both tables need at least one observation")
    n = na + nb
    t = (a + b).astype(np.float64)
    var_a = t * (na / n) * (nb / n) * (n - t) / max(n - 1, 1)
    sd = np.sqrt(var_a) * n / (na * nb)
    diff = a / na - b / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, diff / sd, 0.0)
    m = int(np.sum(t > 0))
    crit = float(stats.norm.isf(level / (2 * max(m, 1))))
    hw = crit * sd
    outside = np.flatnonzero(np.abs(z) > crit)
    return DifferenceBand(a / na, b / nb, diff, sd, z, hw, crit, m, float(level), outside)
