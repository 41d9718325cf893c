r"""Family-wise error control: Holm-Bonferroni (Holm 1979, *Scand. J. Statist.* 6:65-70).

Sort the :math:`m` p-values, :math:`p_{(1)} \le \dots \le p_{(m)}`; reject :math:`H_{(i)}` iff
:math:`p_{(j)} \le \alpha/(m - j + 1)` for every :math:`j \le i`. Equivalently, the adjusted
p-value :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1)\,p_{(j)})` is compared with
:math:`\alpha`. The family-wise error rate is at most :math:`\alpha` under any dependence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["HolmResult", "holm"]


@dataclass(frozen=True)
class HolmResult:
    """``adjusted``: Holm-adjusted p-values in input order; ``reject``: decisions at ``alpha``."""

    adjusted: list[float]
    reject: list[bool]
    alpha: float


def holm(pvalues: Sequence[float], alpha: float) -> HolmResult:
    """Holm-Bonferroni step-down adjustment (see module doc). NaN p-values raise ``ValueError``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0:
        return HolmResult([], [], alpha)
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj_sorted = np.maximum.accumulate(scaled)
    adjusted = np.empty(m)
    adjusted[order] = adj_sorted
    return HolmResult(adjusted.tolist(), (adjusted <= alpha).tolist(), alpha)
