r"""Upper confidence bounds on the distance between the sampled law and the claimed one: what a
PASS certifies (:class:`harness.core.verdict.Bound`).

* :func:`tv_upper_bound` -- total variation of a categorical law. :math:`\mathrm{TV}(q, p) =
  \max_A (q(A) - p(A))`. For at most 12 categories, one-sided Clopper-Pearson upper bounds
  :math:`U_A \ge q(A)` for every non-empty proper subset :math:`A`, simultaneous by a union
  bound (each at ``a / (2^K - 2)``), give :math:`\mathrm{TV} \le \max_A (U_A - p(A))`. Beyond
  12 categories, the smaller of two bounds each at ``a/2``: two-sided Clopper-Pearson intervals
  :math:`[L_i, U_i]` for every category (each at ``a / (2K)``), giving
  :math:`\mathrm{TV} \le \tfrac12 \sum_i \max(U_i - p_i, p_i - L_i)`, and Hoeffding on every
  subset (Bretagnolle-Huber-Carol), :math:`\mathrm{TV} \le \mathrm{TV}(\hat q, p) +
  \sqrt{(K \ln 2 + \ln(2/a))/(2N)}`. All hold with probability :math:`\ge 1 - a` for every :math:`q` (exact binomial coverage,
  no asymptotics).
* :func:`sup_distance_bound` -- Kolmogorov distance of a continuous law: with
  :math:`\varepsilon = \sqrt{\ln(2/a)/(2n)}` (DKW with Massart's constant),
  :math:`\sup|F - F_0| \le \sup|F_n - F_0| + \varepsilon` with probability :math:`\ge 1 - a`.
* :func:`mean_bound` -- :math:`|\mu - \mu_0| \le |\bar x - \mu_0| + z_{1 - a/2}\,\mathrm{se}`
  (normal approximation of the mean, as the z-test).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = ["tv_upper_bound", "sup_distance_bound", "mean_bound", "cp_upper", "cp_interval",
           "SUBSET_BOUND_MAX_K"]

SUBSET_BOUND_MAX_K = 12


def cp_upper(k: ArrayLike, n: int, a: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper bound(s) at level ``a``: ``P(q <= U) >= 1 - a``."""
    k = np.asarray(k, dtype=np.float64)
    return np.where(k >= n, 1.0, stats.beta.ppf(1.0 - a, k + 1, np.maximum(n - k, 1e-300)))


def cp_interval(k: ArrayLike, n: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Clopper-Pearson interval(s) at level ``a`` (``a/2`` on each side)."""
    k = np.asarray(k, dtype=np.float64)
    lo = np.where(k <= 0, 0.0, stats.beta.ppf(a / 2, np.maximum(k, 1e-300), n - k + 1))
    return lo, cp_upper(k, n, a / 2)


def tv_upper_bound(counts: ArrayLike, probs: ArrayLike, a: float) -> tuple[float, str]:
    """Upper confidence bound at confidence ``1 - a`` on TV(law of the counts, ``probs``) and a
    one-line note on the method (module doc)."""
    o = np.asarray(counts, dtype=np.float64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    n = int(o.sum())
    k = o.size
    if n == 0 or k < 2:
        return 1.0, "no data"
    if k <= SUBSET_BOUND_MAX_K:
        codes = np.arange(1, 2 ** k - 1)
        bits = ((codes[:, None] >> np.arange(k)) & 1).astype(np.float64)
        u = cp_upper(bits @ o, n, a / codes.size)
        tv = float(np.max(u - bits @ p))
        note = f"one-sided Clopper-Pearson on all {codes.size} subsets (union bound)"
    else:
        lo, hi = cp_interval(o, n, a / (2 * k))
        tv_cp = float(0.5 * np.sum(np.maximum(hi - p, p - lo)))
        tv_bhc = float(0.5 * np.sum(np.abs(o / n - p)) + math.sqrt((k * math.log(2) + math.log(2 / a)) / (2 * n)))
        tv = min(tv_cp, tv_bhc)
        note = (f"Clopper-Pearson intervals on each of {k} categories (union bound)" if tv_cp <= tv_bhc
                else "empirical TV + Hoeffding over all subsets (Bretagnolle-Huber-Carol)")
    return min(1.0, max(0.0, tv)), note


def sup_distance_bound(d: float, n: int, a: float) -> float:
    """``d + sqrt(ln(2/a) / (2 n))``, capped at 1 (module doc)."""
    if n < 1:
        return 1.0
    return float(min(1.0, d + math.sqrt(math.log(2.0 / a) / (2.0 * n))))


def mean_bound(estimate: float, target: float, se: float, a: float) -> float:
    """``|estimate - target| + z_{1-a/2} se`` (module doc)."""
    return float(abs(estimate - target) + stats.norm.isf(a / 2) * se)
