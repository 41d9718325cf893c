"""Confirmation of rejections (the second stage of :mod:`harness.stats.confirm`): a check whose
stage-1 p-value is at most ``sqrt(alpha)`` runs again on fresh draws and reports
``max(p1, p2)^2``. Stage 2 keeps the stage-1 *inputs* (:func:`design_seed`, :func:`design_rng`:
logits derived from the context are the same in both stages) and changes only the draws; a target
that ignores its seed returns the same draws twice, which the draw digests detect
(:func:`same_draws`): the rejection is then "not confirmed" and a contract verdict says the target
ignores its seed (:data:`IGNORES_SEED`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from harness.core.context import RunContext
from harness.core.seeds import derive_seed
from harness.core.verdict import Verdict
from harness.checks.builders import deterministic_verdict
from harness.checks.digests import DIGEST_COLLISION_MAX, _digest, counts_digest, hits_digest, sequence_digest  # noqa: F401
from harness.stats.confirm import CONFIRMATION_KEY, combine, confirmation_threshold

__all__ = ["ConfirmationContext", "design_seed", "design_rng", "confirmation_context", "IGNORES_SEED", "same_draws", "ignored_seed_checks", "confirm_verdicts"]


@dataclass(frozen=True)
class ConfirmationContext(RunContext):
    """The context of stage 2 (:func:`confirmation_context`): a :class:`RunContext` whose
    ``seed`` is the derived confirmation seed and whose ``design_seed`` is the run seed of
    stage 1. Everything that is part of the *question* (logits drawn at random for a check,
    grids) must come from :func:`design_seed`, so that stage 2 tests the same law on fresh
    draws; only the draws come from ``seed``."""

    design_seed: int = 0


def design_seed(ctx: Any) -> int:
    """The run seed the check's *inputs* (random logits, grids) derive from: the stage-1 run seed,
    also inside stage 2 (:class:`ConfirmationContext`). Draws derive from ``ctx.seed``."""
    return int(getattr(ctx, "design_seed", ctx.seed))


def design_rng(ctx: Any, key: str) -> np.random.Generator:
    """``numpy.random.default_rng(derive_seed(design_seed(ctx), key))``: the same generator in both
    stages (in stage 1 it is ``default_rng(ctx.seed_for(key))``, as before)."""
    return np.random.default_rng(derive_seed(design_seed(ctx), key))


def confirmation_context(ctx: Any) -> Any:
    """The context of stage 2: the same run under the derived run seed
    ``derive_seed(ctx.seed, "confirmation")`` (fresh, independent draws; reproducible), with the
    inputs of each check unchanged (:func:`design_seed`)."""
    from dataclasses import fields

    if isinstance(ctx, RunContext):
        kw = {f.name: getattr(ctx, f.name) for f in fields(ctx) if f.name != "design_seed"}
        kw["seed"] = derive_seed(ctx.seed, CONFIRMATION_KEY)
        return ConfirmationContext(**kw, design_seed=design_seed(ctx))
    return replace(ctx, seed=derive_seed(ctx.seed, CONFIRMATION_KEY))


#: the outcome of the contract verdict added when stage 2 returned the draws of stage 1
IGNORES_SEED = "ignores its seed"


def same_draws(first: Verdict, second: Verdict) -> bool:
    """True when stage 2 (``second``) saw exactly the draws of stage 1 (``first``): both carry the
    same conclusive ``details["draws_digest"]`` (:func:`sequence_digest`, :func:`counts_digest`),
    i.e. a target that ignores its seed. Independent draws coincide with probability
    <= :data:`DIGEST_COLLISION_MAX`."""
    a, b = first.details.get("draws_digest"), second.details.get("draws_digest")
    return a is not None and a == b


def ignored_seed_checks(verdicts: list[Verdict]) -> list[str]:
    """Check ids whose confirmation found stage-2 draws equal to stage-1 draws (the flag
    ``details["confirmation"]["same_draws"]`` that :func:`confirm_verdicts` sets)."""
    return [v.check for v in verdicts
            if isinstance(v.details.get("confirmation"), dict) and v.details["confirmation"].get("same_draws")]


def confirm_verdicts(first: list[Verdict], rerun: Callable[[], list[Verdict]], alpha: float) -> list[Verdict]:
    """Confirm the statistical rejections of ``first`` (:mod:`harness.stats.confirm`).

    Every statistical, non-forced verdict with ``p1 <= sqrt(alpha)`` gets its confirmed p-value
    ``max(p1, p2)**2`` from the verdict of the same check id in ``rerun()`` (called once, only
    when needed: stage 2 on fresh draws); the others keep ``p1``. The stage-2 p-value, statistic,
    seed and reading are recorded in ``details["confirmation"]``. A stage-2 verdict that is a
    forced FAIL (crash, impossible event) makes the check a forced FAIL with its reason.

    Stage 2 must see fresh draws. When its draws equal those of stage 1 (:func:`same_draws`: a
    target that ignores its seed) the rejection **could not be confirmed**: the check reports
    ``p = 1`` with that reason (``details["confirmation"]["same_draws"] = True``), and a
    deterministic *contract* verdict ``<check>.seed`` fails with "ignores its seed"
    (``details["group"] = "contract"``, :data:`IGNORES_SEED`). A NaN stage-2 p-value is an
    error (a forced FAIL saying so), never ``p1**2``."""
    tau = confirmation_threshold(alpha)

    def needs(v: Verdict) -> bool:
        return (v.pvalue is not None and not v.forced_fail and not math.isnan(float(v.pvalue))
                and float(v.pvalue) <= tau)

    if not any(needs(v) for v in first):
        return list(first)
    second: dict[str, Verdict] = {}
    for v in rerun():
        second.setdefault(v.check, v)
    out = []
    extra: list[Verdict] = []
    for v in first:
        if not needs(v):
            out.append(v)
            continue
        v2 = second.get(v.check)
        p1 = float(v.pvalue)  # type: ignore[arg-type]
        if v2 is None or (v2.pvalue is None and not v2.forced_fail):
            conf = {"p1": p1, "p2": None, "text": "stage 2 returned no verdict for this check: not confirmed"}
            out.append(replace(v, pvalue=1.0, details={**dict(v.details), "confirmation": conf}))
            continue
        if same_draws(v, v2):
            text = (f"p1 = {p1:.3g} <= sqrt(alpha) = {tau:.3g}, but stage 2 (seed {v2.seed}) returned exactly "
                    f"the draws of stage 1 (seed {v.seed}): the target ignores its seed, so the rejection "
                    "could not be confirmed on fresh draws (p = 1; contract: ignores its seed)")
            conf = {"p1": p1, "p2": None, "seed2": v2.seed, "same_draws": True, "text": text}
            out.append(replace(v, pvalue=1.0, reason=f"{v.reason}; NOT CONFIRMED: {text}",
                               details={**dict(v.details), "confirmation": conf}))
            extra.append(deterministic_verdict(
                v.claim, f"{v.check}.seed", "different seeds give independent draws (the confirmation of a "
                "rejection re-runs the check under a fresh seed)", 1.0, 0.0, test="stage-2 draws vs stage-1 draws",
                reason=(f"{IGNORES_SEED}: the draws under seed {v2.seed} are identical to those under seed "
                        f"{v.seed} (check {v.check})"),
                details={"group": "contract", "outcome": IGNORES_SEED, "check": v.check,
                         "seed1": v.seed, "seed2": v2.seed}, reproduce=v.reproduce))
            continue
        if v2.forced_fail:
            conf = {"p1": p1, "p2": None, "seed2": v2.seed,
                    "text": f"stage 2 (seed {v2.seed}) failed outright: {v2.reason}"}
            out.append(replace(v, forced_fail=True, reason=f"{v.reason}; stage 2: {v2.reason}",
                               details={**dict(v.details), "confirmation": conf}))
            continue
        p2 = float(v2.pvalue)  # type: ignore[arg-type]
        if math.isnan(p2):
            text = (f"stage 2 (seed {v2.seed}) gave a NaN p-value (statistic {v2.statistic}): an error, the "
                    "rejection can be neither confirmed nor dismissed")
            conf = {"p1": p1, "p2": p2, "seed2": v2.seed, "error": True, "text": text}
            out.append(replace(v, forced_fail=True, reason=f"{v.reason}; {text}",
                               details={**dict(v.details), "confirmation": conf}))
            continue
        p = combine(p1, p2, alpha)
        conf = {"p1": p1, "p2": p2, "seed2": v2.seed, "statistic2": v2.statistic, "seen2": v2.seen,
                "text": (f"p1 = {p1:.3g} <= sqrt(alpha) = {tau:.3g}, so re-tested on fresh draws (seed "
                         f"{v2.seed}): p2 = {p2:.3g}; confirmed p = max(p1, p2)^2 = {p:.3g}")}
        out.append(replace(v, pvalue=p, details={**dict(v.details), "confirmation": conf}))
    return out + extra
