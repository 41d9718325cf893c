"""Named sample-size presets. A budget fixes every sample size of a run, hence its power.

The power each budget gives is computed, not guessed: :func:`harness.checker.power_table.power_table` evaluates the
minimum detectable effects (confirmed power 0.9) at the **planned family size m of each entry
point** (the report, each checker kind; its ``family_size``) from :func:`power_row`
(this module: data and one pure function of a budget; the table lives above the plans). Every figure holds at the per-check Bonferroni level
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

Power (``tests/test_verdict.py`` checks these figures against ``power_table``)::

    entry        budget    m    level L   Cohen w   TV*       KS dist  DKWM eps  z shift  tail 0-hit  tail 1e-6
    report       quick     121  8.26e-07  0.0139    0.00697   0.0234   0.0139    0.035    3.78e-06    inf
    report       standard  121  8.26e-07  0.00312   0.00156   0.00741  0.00439   0.0111   1.51e-07    0.793
    report       thorough  121  8.26e-07  0.000624  0.000312  0.00234  0.00139   0.0035   3.78e-09    0.113
    categorical  quick     11   9.09e-06  0.0132    0.00658   0.0223   0.0127    0.0325   3.21e-06    inf
    categorical  standard  11   9.09e-06  0.00294   0.00147   0.00706  0.00403   0.0103   1.28e-07    0.728
    categorical  thorough  11   9.09e-06  0.000589  0.000294  0.00223  0.00127   0.00325  3.21e-09    0.105
    relaxed      quick     12   8.33e-06  0.0132    0.0066    0.0224   0.0128    0.0326   3.21e-06    inf
    relaxed      standard  12   8.33e-06  0.00295   0.00148   0.00707  0.00404   0.0103   1.28e-07    0.75
    relaxed      thorough  12   8.33e-06  0.00059   0.000295  0.00224  0.00128   0.00326  3.21e-09    0.105
    noise        quick     6    1.67e-05  0.013     0.00648   0.022    0.0124    0.0318   3.02e-06    inf
    noise        standard  6    1.67e-05  0.0029    0.00145   0.00696  0.00394   0.0101   1.21e-07    0.728
    noise        thorough  6    1.67e-05  0.000579  0.00029   0.0022   0.00124   0.00318  3.02e-09    0.103
    torch        quick     20   5e-06     0.0134    0.00668   0.0226   0.013     0.0332   3.4e-06     inf
    torch        standard  20   5e-06     0.00299   0.00149   0.00715  0.00412   0.0105   1.36e-07    0.771
    torch        thorough  20   5e-06     0.000598  0.000299  0.00226  0.0013    0.00332  3.4e-09     0.108

Reading the table:

* **Cohen w** -- chi-square (df 9, e.g. 10 categories) detects
  :math:`w = \\sqrt{\\sum (q - p)^2/p}` at least this large (noncentral chi-square power);
  **TV*** -- every alternative at least this far in total variation from 10 equiprobable
  categories is detected: :math:`w \\max_A \\sqrt{P(A)(1-P(A))} = w/2`
  (:func:`harness.stats.power.tv_for_w`; the proportional tilt between two halves attains it).
* **KS dist.** -- sup-distance between the sampled and the claimed CDF detected by KS
  (distribution-free, DKWM: :math:`\\varepsilon_\\alpha + \\varepsilon_{0.1}`), at the
  continuous N (the relaxed N is the same); **DKWM eps** -- the distance that the sample
  CDF exceeds with probability <= the stage level under the null.
* **z shift** -- a mean shift (two-sided z-test) detected, in units of the per-sample
  standard deviation, at the gradient N.
* **tail 0-hit** -- a category of at least this probability that is *never* sampled
  (truncated noise tail) is caught by the exact binomial test at the tail N. Float32 noise
  (24-bit uniforms) caps the Gumbel at about 16.6, a tail of probability about 6e-8: caught
  at ``thorough`` (3.8e-9), not at ``standard`` (1.5e-7) or ``quick``.
* **tail 1e-6** -- relative change (deficit or excess, the larger) of a 1e-6 category rate
  detected at the tail N, exact binomial power; ``inf`` at ``quick`` (2 expected hits: no
  deficit is detectable).
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
    tv_for_w,
    z_detectable,
)

__all__ = ["Budget", "BUDGETS", "get_budget", "power_row", "DEFAULT_ALPHA", "DEFAULT_FAMILY_SIZE"]

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






def power_row(b: Budget, m: int, df: int = 9, *, tail_rate: float = 1e-6, power: float = 0.9) -> dict:
    """The power of budget ``b`` in a family of ``m`` confirmed checks: every figure is detected
    with probability ``power`` by the confirmed check at the Bonferroni level ``L = alpha/m``
    (each of its two stages at ``sqrt(L)`` with power ``sqrt(power)``)."""
    level = b.alpha / max(1, m)
    stage, sp = math.sqrt(level), math.sqrt(power)
    w = min_detectable_w(b.n_discrete, df, stage, sp)
    return {
        "budget": b.name,
        "m": int(m),
        "level": level,
        "stage_level": stage,
        "power": power,
        "n_discrete": b.n_discrete,
        "cohen_w": w,
        # every alternative at TV >= w * max_A sqrt(P(A)(1-P(A))) = w/2 for df + 1 equiprobable
        # categories (an even split exists for even K; stats.power.tv_for_w)
        "tv_uniform": tv_for_w(w, [1.0 / (df + 1)] * (df + 1)),
        "n_continuous": b.n_continuous,
        "ks_distance": ks_detectable_distance(b.n_continuous, stage, sp),
        "dkwm_epsilon": dkwm_epsilon(b.n_continuous, stage),
        "n_relaxed": b.n_relaxed,
        "relaxed_ks_distance": ks_detectable_distance(b.n_relaxed, stage, sp),
        "n_gradient": b.n_gradient,
        "z_shift_sd": z_detectable(1.0 / math.sqrt(b.n_gradient), stage, sp),
        "n_tail": b.n_tail,
        "tail_absent_rate": tail_absence_rate(b.n_tail, stage),
        "tail_rate": tail_rate,
        "tail_relative_change": binomial_detectable_ratio(b.n_tail, tail_rate, stage, sp),
    }




