"""Named sample-size presets. A budget fixes every sample size of a run, hence its power.

The power each budget gives is computed, not guessed: :func:`harness.checker.power_table.power_table` evaluates the
minimum detectable effects (confirmed power 0.9) at the **planned family size m of each entry
point** (the report, each checker kind); this module is data. Every figure holds at the per-check Bonferroni level
``L = alpha / m`` (the most stringent level Holm can apply, so it is conservative) for the
confirmed two-stage p-value of :mod:`harness.stats.confirm`: each stage at ``sqrt(L)`` with
power ``sqrt(0.9)``. The family alpha is 1e-4: a correct sampler fails a run with probability at
most 1e-4.

=========  ==========  ============  =========  ==========  ==========
budget     discrete N  continuous N  relaxed N  gradient N  tail N
=========  ==========  ============  =========  ==========  ==========
quick      200 000     20 000        20 000     20 000      2 000 000
standard   4 000 000   200 000       200 000    200 000     50 000 000
thorough   100 000 000 2 000 000     2 000 000  2 000 000   2 000 000 000
=========  ==========  ============  =========  ==========  ==========

Power: docs/budgets.md (generated from :func:`harness.checker.power_table.power_table`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


__all__ = ["Budget", "BUDGETS", "get_budget", "DEFAULT_ALPHA", "DEFAULT_FAMILY_SIZE"]

DEFAULT_ALPHA = 1e-4  # a correct sampler fails a run with probability <= 1e-4 (confirmed p-values)
DEFAULT_FAMILY_SIZE = 50  # order of the number of statistical checks in one report run


@dataclass(frozen=True)
class Budget:
    """Sample sizes of one run and its family-wise false-alarm rate ``alpha`` (Holm)."""

    name: str
    n_discrete: int
    n_continuous: int
    n_relaxed: int
    n_gradient: int
    n_tail: int
    alpha: float = DEFAULT_ALPHA

    def to_dict(self) -> dict:
        return asdict(self)


BUDGETS: dict[str, Budget] = {
    "quick": Budget("quick", 200_000, 20_000, 20_000, 20_000, 2_000_000),
    "standard": Budget("standard", 4_000_000, 200_000, 200_000, 200_000, 50_000_000),
    "thorough": Budget("thorough", 100_000_000, 2_000_000, 2_000_000, 2_000_000, 2_000_000_000),
}


def get_budget(name: str | Budget) -> Budget:
    """The preset called ``name`` (``quick``, ``standard``, ``thorough``); ``ValueError`` otherwise."""
    if isinstance(name, Budget):
        return name
    try:
        return BUDGETS[name]
    except KeyError:
        raise ValueError(f"unknown budget {name!r}; choose one of {sorted(BUDGETS)}") from None
