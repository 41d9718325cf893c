"""Running the mutant catalogue (:mod:`harness.mutants.catalogue`) through the checker: one
mutant's check with the checks its entry names, and its rejection rate over run seeds."""
from __future__ import annotations

from typing import Any

from harness.mutants.catalogue import MUTANTS, Mutant

__all__ = ["run_mutant", "rejection_rate"]


def run_mutant(m: Mutant | str, *, budget: str | None = None, seed: int = 0, full: bool = False,
               timeout: float | None = 120.0, **kwargs: Any) -> Any:
    """Check mutant ``m`` at ``budget`` (default: its own) with only the checks it names
    (``full=True``: the whole plan and every probe). ``kwargs`` go to ``check_sampler``
    (``isolation=``, ``device=``, ``memory_limit=``). Returns the CheckResult."""
    from harness.checker.api import check_sampler

    m = MUTANTS[m] if isinstance(m, str) else m
    if full:
        return check_sampler(m.fn, m.kind, budget=budget or m.budget, seed=seed, timeout=timeout,
                             name=f"mutant:{m.name}", **kwargs)
    return check_sampler(m.fn, m.kind, budget=budget or m.budget, seed=seed, timeout=timeout,
                         only=list(m.plan_checks) or "none", probes=m.needs_probes, adversarial=m.needs_adversarial,
                         name=f"mutant:{m.name}", **kwargs)


def rejection_rate(m: Mutant | str, seeds: Any = range(20), *, budget: str | None = None,
                   confidence: float = 0.95) -> dict[str, Any]:
    """The mutant's rejection rate over independent run seeds (default 20) at ``budget``
    (default its own), with the checks its entry names: ``rejected`` of ``runs``, the rate and
    its two-sided Clopper-Pearson ``confidence`` interval. A mutant rejected at one seed proves
    little; this is the harness's power against that bug, measured."""
    from harness.stats.calibration import clopper_pearson

    m = MUTANTS[m] if isinstance(m, str) else m
    seeds = list(seeds)
    rejected = sum(1 for s in seeds if not run_mutant(m, budget=budget, seed=int(s)).passed)
    lo, hi = clopper_pearson(rejected, len(seeds), confidence)
    return {"mutant": m.name, "budget": budget or m.budget, "runs": len(seeds), "rejected": rejected,
            "rate": rejected / len(seeds), "ci": (lo, hi), "confidence": confidence}

