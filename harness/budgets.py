"""Named sample-size presets. A budget fixes every sample size of a run, hence its power.

The power each budget gives is computed, not guessed: :func:`power_table` evaluates the
minimum detectable effects (power 0.9) for the default family size, and the report prints it
(:func:`format_power_table`). Every figure is at the per-check Bonferroni level
``alpha / family_size`` = 0.01 / 50 = 2e-4 (the most stringent level Holm can apply), so it is
conservative: a deviation at least this large is detected with probability >= 0.9 even by the
first check of the family.

=========  ==========  ============  =========  ==========  ==========
budget     discrete N  continuous N  relaxed N  gradient N  tail N
=========  ==========  ============  =========  ==========  ==========
quick      200 000     20 000        20 000     20 000      2 000 000
standard   4 000 000   200 000       200 000    200 000     50 000 000
thorough   100 000 000 2 000 000     2 000 000  2 000 000   2 000 000 000
=========  ==========  ============  =========  ==========  ==========

Power at level 2e-4, power 0.9 (``tests/test_verdict.py`` checks these figures against
:func:`power_table`):

=========  ========  ==========  ==========  ==========  ==========  ==========  ==========
budget     Cohen w   TV (K=10)   KS dist.    DKWM eps    z shift     tail: 0     tail 1e-6
           (df = 9)  uniform     (cont.)     (cont.)     (sd units)  hits rate   rel. change
=========  ========  ==========  ==========  ==========  ==========  ==========  ==========
quick      0.0140    0.00313     0.0238      0.0152      0.0354      4.53e-06    3.54
standard   0.00313   0.000700    0.00754     0.00480     0.0112      1.81e-07    0.707
thorough   0.000626  0.000140    0.00238     0.00152     0.00354     4.53e-09    0.112
=========  ========  ==========  ==========  ==========  ==========  ==========  ==========

Reading the table:

* **Cohen w** -- chi-square (df 9, e.g. 10 categories) detects
  :math:`w = \\sqrt{\\sum (q - p)^2/p}` at least this large (noncentral chi-square power);
  **TV** -- the matching total-variation distance of the hardest one-category shift for
  10 equiprobable categories (:math:`w/\\sqrt{1/p_a + 1/p_b}`).
* **KS dist.** -- sup-distance between the sampled and the claimed CDF detected by KS
  (distribution-free, DKWM: :math:`\\varepsilon_\\alpha + \\varepsilon_{0.1}`), at the
  continuous N (the relaxed N is the same); **DKWM eps** -- the distance that the sample
  CDF exceeds with probability <= 2e-4 under the null.
* **z shift** -- a mean shift (two-sided z-test) detected, in units of the per-sample
  standard deviation, at the gradient N.
* **tail: 0 hits rate** -- a category of at least this probability that is *never* sampled
  (truncated noise tail) is caught by the exact binomial test at the tail N. Float32 noise
  (24-bit uniforms) caps the Gumbel at about 16.6, a tail of probability about 6e-8: caught
  at ``thorough`` (4.5e-9), not at ``standard`` (1.8e-7) or ``quick``.
* **tail 1e-6 rel. change** -- relative change of a 1e-6 category rate detected at the
  tail N (normal approximation).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from harness.stats.power import (
    binomial_detectable_ratio,
    dkwm_epsilon,
    ks_detectable_distance,
    min_detectable_w,
    tail_absence_rate,
    z_detectable,
)

__all__ = ["Budget", "BUDGETS", "get_budget", "power_table", "format_power_table",
           "DEFAULT_ALPHA", "DEFAULT_FAMILY_SIZE"]

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


def power_table(family_size: int = DEFAULT_FAMILY_SIZE, df: int = 9, *,
                tail_rate: float = 1e-6, power: float = 0.9) -> list[dict]:
    """For each budget, at the Bonferroni level ``alpha / family_size`` (the most stringent
    Holm level) and ``power``: detectable Cohen's w (chi-square with ``df``) and the TV of the
    hardest one-category shift among ``df + 1`` equiprobable categories; KS sup-distance and
    DKWM epsilon at the continuous and relaxed N; the z-test shift in standard deviations at
    the gradient N; the smallest category rate whose total absence is caught at the tail N;
    the relative change of a ``tail_rate`` category detected at the tail N."""
    rows = []
    k = df + 1
    for b in BUDGETS.values():
        level = b.alpha / family_size
        w = min_detectable_w(b.n_discrete, df, level, power)
        rows.append({
            "budget": b.name,
            "level": level,
            "power": power,
            "n_discrete": b.n_discrete,
            "cohen_w": w,
            "tv_uniform": w / math.sqrt(2.0 * k),
            "n_continuous": b.n_continuous,
            "ks_distance": ks_detectable_distance(b.n_continuous, level, power),
            "dkwm_epsilon": dkwm_epsilon(b.n_continuous, level),
            "n_relaxed": b.n_relaxed,
            "relaxed_ks_distance": ks_detectable_distance(b.n_relaxed, level, power),
            "n_gradient": b.n_gradient,
            "z_shift_sd": z_detectable(1.0 / math.sqrt(b.n_gradient), level, power),
            "n_tail": b.n_tail,
            "tail_absent_rate": tail_absence_rate(b.n_tail, level),
            "tail_rate": tail_rate,
            "tail_relative_change": binomial_detectable_ratio(b.n_tail, tail_rate, level, power),
        })
    return rows


def format_power_table(family_size: int = DEFAULT_FAMILY_SIZE, df: int = 9) -> str:
    """:func:`power_table` as aligned text (for the report and the CLI)."""
    rows = power_table(family_size, df)
    head = ["budget", "level", "Cohen w", "TV", "KS dist", "DKWM eps", "z shift/sd",
            "tail 0-hit rate", f"tail {rows[0]['tail_rate']:g} rel."]
    keys = ["budget", "level", "cohen_w", "tv_uniform", "ks_distance", "dkwm_epsilon",
            "z_shift_sd", "tail_absent_rate", "tail_relative_change"]
    body = [[r[k] if isinstance(r[k], str) else f"{r[k]:.3g}" for k in keys] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*head).rstrip()] + [fmt.format(*b).rstrip() for b in body]
    return "\n".join(out) + f"\n(power 0.9, chi-square df = {df}, per-check level alpha/{family_size})"
