"""Named sample-size presets. A budget fixes every sample size of a run, hence its power.

The power each budget gives is computed, not guessed: :func:`power_table` evaluates the
minimum detectable effects (power 0.9) for the default family size, and the report prints it.

=========  ==========  ============  =========  ==========  ==========
budget     discrete N  continuous N  relaxed N  gradient N  tail N
=========  ==========  ============  =========  ==========  ==========
quick      200 000     20 000        20 000     20 000      2 000 000
standard   4 000 000   200 000       200 000    200 000     50 000 000
thorough   100 000 000 2 000 000     2 000 000  2 000 000   2 000 000 000
=========  ==========  ============  =========  ==========  ==========
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.stats.power import dkwm_epsilon, ks_detectable_distance, min_detectable_w

__all__ = ["Budget", "BUDGETS", "get_budget", "power_table", "DEFAULT_ALPHA", "DEFAULT_FAMILY_SIZE"]

DEFAULT_ALPHA = 0.01
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


def power_table(family_size: int = DEFAULT_FAMILY_SIZE, df: int = 9) -> list[dict]:
    """For each budget: detectable Cohen's w (chi-square with ``df``), KS sup-distance and DKWM
    epsilon at the Bonferroni level ``alpha / family_size`` (the most stringent Holm level),
    power 0.9."""
    rows = []
    for b in BUDGETS.values():
        level = b.alpha / family_size
        rows.append({
            "budget": b.name,
            "level": level,
            "n_discrete": b.n_discrete,
            "cohen_w": min_detectable_w(b.n_discrete, df, level),
            "n_continuous": b.n_continuous,
            "ks_distance": ks_detectable_distance(b.n_continuous, level),
            "dkwm_epsilon": dkwm_epsilon(b.n_continuous, level),
        })
    return rows
