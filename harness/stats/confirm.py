r"""Confirmed rejections: the two-stage p-value every statistical check of a run reports.

A correct sampler must fail a run with probability at most the family alpha (default
:math:`10^{-4}`). Each statistical check is run once (stage 1, p-value :math:`p_1`); only when
:math:`p_1 \le \tau = \sqrt{\alpha}` -- the only case in which the check can matter -- it is run
again on fresh, independent draws (stage 2: the same check under a derived run seed, p-value
:math:`p_2`). The check reports

.. math:: p = \max(p_1, p_2)^2 \quad (p_1 \le \tau), \qquad p = p_1 \quad (p_1 > \tau).

**Validity.** If :math:`p_1, p_2` are independent and each valid (:math:`P(p_i \le u) \le u`),
then for :math:`u \le \tau^2`: :math:`P(p \le u) = P(p_1 \le \sqrt u)\,P(p_2 \le \sqrt u) \le u`;
for :math:`\tau^2 < u < \tau` the same; for :math:`u \ge \tau`:
:math:`P(p \le u) \le P(p_1 \le \tau) P(p_2 \le \sqrt u) + (u - \tau) \le \tau\sqrt u + u - \tau \le u`.
So :math:`p` is a valid p-value at every level, Holm over the run's checks at family level
:math:`\alpha` keeps the family-wise error :math:`\le \alpha`, and every *stage* p-value only
has to be valid at the stage levels :math:`\sqrt{\alpha/m} \dots \sqrt{\alpha}` (for
:math:`\alpha = 10^{-4}`: :math:`\sqrt{10^{-4}/m}` up to 0.01).

**Power.** The check is rejected at the Bonferroni level :math:`L = \alpha/m` iff both stages
reject at :math:`\sqrt L`; with stage power :math:`\pi(\sqrt L)` the confirmed power is
:math:`\pi(\sqrt L)^2`. Every power statement of the harness is "power 0.9 at :math:`L`",
computed as stage power :math:`\sqrt{0.9} = 0.9487` at the stage level :math:`\sqrt L`. For the
same samples this is as strong as the one-stage design at :math:`\alpha = 0.01` (e.g. the
detectable Cohen's w at :math:`m = 118` is 4% *smaller*, at :math:`m = 11` about equal), so the
budgets did not have to grow; a rejected check costs its samples twice.

**Cost under the null.** Stage 2 runs with probability :math:`\tau = 0.01` per check.

**Reproduction.** Stage 2 draws from ``derive_seed(run_seed, "confirmation")`` as its run seed,
so re-running a check with the same run seed reproduces both stages exactly.

**Assumption.** The two stages are independent: the target must give independent draws for
different seeds (tested by the neighbouring-seed checks); a target that ignores its seed gives
:math:`p_2 = p_1` and, for it, :math:`P(p \le u) = \sqrt u`.
"""
from __future__ import annotations

import math

__all__ = ["confirmation_threshold", "combine", "stage_level", "stage_power", "STAGE_POWER",
           "CONFIRMATION_KEY"]

#: The key mixed into the run seed for stage 2 (``derive_seed(seed, CONFIRMATION_KEY)``).
CONFIRMATION_KEY = "confirmation"
#: Stage power giving confirmed power 0.9.
STAGE_POWER = math.sqrt(0.9)


def confirmation_threshold(alpha: float) -> float:
    r""":math:`\tau = \sqrt{\alpha}`: stage 2 runs iff :math:`p_1 \le \tau` (the largest Holm level
    of a confirmed p-value is :math:`\alpha`, i.e. :math:`\sqrt\alpha` per stage)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return math.sqrt(alpha)


def combine(p1: float, p2: float | None, alpha: float) -> float:
    """The confirmed p-value (module doc): ``max(p1, p2)**2`` when ``p1 <= sqrt(alpha)``
    (``p2`` must then be given), ``p1`` otherwise."""
    if p1 > confirmation_threshold(alpha):
        return float(p1)
    if p2 is None:
        raise ValueError("p1 <= sqrt(alpha): the confirmation p-value p2 is needed")
    return float(max(p1, p2) ** 2)


def stage_level(level: float) -> float:
    r"""The per-stage level :math:`\sqrt{L}` of a confirmed decision at level :math:`L`."""
    return math.sqrt(level)


def stage_power(power: float) -> float:
    r"""The per-stage power :math:`\sqrt{\text{power}}` giving confirmed power ``power``."""
    return math.sqrt(power)
