r"""Family-wise error control: Holm-Bonferroni (Holm 1979, *Scand. J. Statist.* 6:65-70).

Sort the :math:`m` p-values, :math:`p_{(1)} \le \dots \le p_{(m)}`; reject :math:`H_{(i)}` iff
:math:`p_{(j)} \le \alpha/(m - j + 1)` for every :math:`j \le i`. Equivalently, the adjusted
p-value :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1)\,p_{(j)})` is compared with
:math:`\alpha`. The family-wise error rate is at most :math:`\alpha` under any dependence.

The decisions are computed from the definition (``p_(j) <= alpha / (m - j + 1)``), not from
the adjusted p-values, so that a p-value exactly on a threshold is decided as the definition
says whatever the rounding of ``(m - j + 1) * p``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["HolmResult", "holm", "bonferroni_min"]


@dataclass(frozen=True)
class HolmResult:
    """``adjusted``: Holm-adjusted p-values in input order; ``reject``: decisions at ``alpha``;
    ``thresholds``: the level each p-value was compared with (``alpha / (m - rank)``, rank
    0-based in the sorted order) in input order."""

    adjusted: list[float]
    reject: list[bool]
    alpha: float
    thresholds: list[float] | None = None

    @property
    def any_reject(self) -> bool:
        return any(self.reject)


def _check_p(pvalues: Sequence[float]) -> np.ndarray:
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    return p


def holm(pvalues: Sequence[float], alpha: float) -> HolmResult:
    """Holm-Bonferroni step-down adjustment (see module doc). NaN p-values raise ``ValueError``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    p = _check_p(pvalues)
    if p.size == 0:
        return HolmResult([], [], alpha, [])
    m = p.size
    order = np.argsort(p, kind="stable")
    ps = p[order]
    scaled = np.minimum(1.0, (m - np.arange(m)) * ps)
    adj_sorted = np.maximum.accumulate(scaled)
    thr_sorted = alpha / (m - np.arange(m))
    ok = ps <= thr_sorted
    # step-down: reject the first r sorted hypotheses, r = number of leading passes
    r = m if ok.all() else int(np.argmin(ok))
    rej_sorted = np.zeros(m, dtype=bool)
    rej_sorted[:r] = True
    adjusted = np.empty(m)
    adjusted[order] = adj_sorted
    reject = np.empty(m, dtype=bool)
    reject[order] = rej_sorted
    thresholds = np.empty(m)
    thresholds[order] = thr_sorted
    return HolmResult(adjusted.tolist(), reject.tolist(), alpha, thresholds.tolist())


def bonferroni_min(pvalues: Sequence[float]) -> float:
    r"""The family p-value :math:`\min(1, m\,p_{(1)})`: the smallest Holm-adjusted p-value.
    The family is rejected at level :math:`\alpha` (some :math:`H_i` rejected by Holm) iff this
    is :math:`\le \alpha` (up to rounding)."""
    p = _check_p(pvalues)
    if p.size == 0:
        return 1.0
    return float(min(1.0, p.size * p.min()))
