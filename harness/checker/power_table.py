"""The power table: what each budget detects at each entry point's planned family size.

Above the plans (it asks the kinds' plans and the report's experiments for their family sizes);
:func:`power_row` computes one row from a budget and a family size, each figure the one the
verdicts of that entry point state (the Pearson figure through
:func:`harness.checks.builders.pearson_stated_w`, the decision's worst case).
"""
from __future__ import annotations

import math

from harness.core.budgets import BUDGETS, Budget, get_budget
from harness.checks.builders import pearson_stated_w
from harness.stats.confirm import stage_level, stage_power
from harness.stats.power import (binomial_detectable_ratio, dkwm_epsilon, ks_detectable_distance, tail_absence_rate,
                                 tv_for_w, z_detectable)

__all__ = ["ENTRY_POINTS", "family_size", "power_row", "power_table", "format_power_table"]

#: the confirmed power every figure of the table is stated at
POWER = 0.9


def power_row(b: Budget, m: int, df: int = 9, *, tail_rate: float = 1e-6) -> dict:
    """The power of budget ``b`` in a family of ``m`` confirmed checks: every figure is detected
    with probability :data:`POWER` by the confirmed check at the Bonferroni level ``L = alpha/m``
    (each of its two stages at ``sqrt(L)`` with power ``sqrt(0.9)``). The Cohen's w is the one a
    Pearson verdict on ``df + 1`` equiprobable categories states (:func:`pearson_stated_w`: the
    least-favourable alternative of the actual statistic, the Monte Carlo p-value's resolution
    not counted as power), simulated through the decision by tests/test_power_pearson.py."""
    level = b.alpha / max(1, m)
    stage, sp = stage_level(level), stage_power(POWER)
    uniform = [1.0 / (df + 1)] * (df + 1)
    w, _binding = pearson_stated_w(uniform, b.n_discrete, alpha=b.alpha, family_size=m)
    return {
        "budget": b.name,
        "m": int(m),
        "level": level,
        "stage_level": stage,
        "power": POWER,
        "n_discrete": b.n_discrete,
        "cohen_w": w,
        # every alternative at TV >= w * max_A sqrt(P(A)(1-P(A))) = w/2 for df + 1 equiprobable
        # categories (an even split exists for even K; stats.power.tv_for_w)
        "tv_uniform": tv_for_w(w, uniform),
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


#: the entry points whose family sizes the power table uses: the report and each checker kind
ENTRY_POINTS = ("report", "categorical", "relaxed", "noise", "torch")


def family_size(entry: str, budget: Budget | str) -> int:
    """The planned family size m (number of statistical checks) of an entry point at ``budget``:
    ``"report"`` (all experiments, :meth:`Experiment.planned`) or a checker kind (the sizes of
    :func:`harness.kinds.plan_for`)."""
    b = get_budget(budget)
    if entry == "report":
        from harness.core.context import RunContext
        from harness.experiments import all_experiments

        ctx = RunContext(budget=b)
        return max(1, sum(e.planned(ctx) for e in all_experiments()))
    from harness.kinds import plan_for

    return max(1, sum(c.size for c in plan_for(entry, b) if c.group == "law"))  # the law's Holm family


def power_table(entries: tuple[str, ...] | None = None, df: int = 9, *, tail_rate: float = 1e-6,
                sizes: dict | None = None) -> list[dict]:
    """For each budget and each entry point (default :data:`ENTRY_POINTS`), :func:`power_row` at
    the planned family size of that entry point (:func:`family_size`; ``sizes[(entry, budget)]``
    overrides it): detectable Cohen's w (chi-square with ``df``) and the TV detected against
    every alternative for ``df + 1`` equiprobable categories; KS sup-distance and DKWM epsilon at
    the continuous N (the relaxed N is the same); the z-test shift in standard deviations at the
    gradient N; the smallest category rate whose total absence is caught at the tail N; the
    relative change (deficit or excess) of a ``tail_rate`` category detected at the tail N by the
    exact binomial test (exact power)."""
    rows = []
    for entry in entries or ENTRY_POINTS:
        for b in BUDGETS.values():
            m = (sizes or {}).get((entry, b.name)) or family_size(entry, b)
            rows.append({"entry": entry, **power_row(b, m, df, tail_rate=tail_rate)})
    return rows


def format_power_table(entries: tuple[str, ...] | None = None, df: int = 9) -> str:
    """:func:`power_table` as aligned text (for the report and the CLI)."""
    rows = power_table(entries, df)
    head = ["entry", "budget", "m", "level", "Cohen w", "TV", "KS dist", "DKWM eps", "z shift/sd",
            "tail 0-hit rate", f"tail {rows[0]['tail_rate']:g} rel."]
    keys = ["entry", "budget", "m", "level", "cohen_w", "tv_uniform", "ks_distance", "dkwm_epsilon",
            "z_shift_sd", "tail_absent_rate", "tail_relative_change"]
    body = [[str(r[k]) if isinstance(r[k], (str, int)) else f"{r[k]:.3g}" for k in keys] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*head).rstrip()] + [fmt.format(*b).rstrip() for b in body]
    return "\n".join(out) + (f"\n(confirmed power 0.9 at the Bonferroni level alpha/m of each entry point; "
                             f"each stage at sqrt(alpha/m) with power 0.949; chi-square df = {df})")

