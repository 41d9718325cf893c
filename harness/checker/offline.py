"""``gumbel-harness check --samples FILE``: check a fixed sample drawn offline (any language).

The kind says what a fixed sample can support (:attr:`harness.kinds.ExternalProtocol.offline`):
only the laws at the logits (and temperature) it was drawn for, with the power of its own N.
"""
from __future__ import annotations

import time
from dataclasses import replace

from harness.core.budgets import get_budget
from harness.core.context import RunContext
from harness.core.verdict import judge_family
from harness.kinds.base import get_kind
from harness.targets.external import OFFLINE_STATEMENT, FixedSample, command_kinds, load_array

__all__ = ["check_samples"]


def check_samples(samples_path: str, logits_path: str | None, kind: str, *, temperature: float | None = None,
                  alpha: float = 0.01, name: str | None = None):
    """Check a fixed sample (module doc). Returns a :class:`~harness.checker.api.CheckResult`;
    ``ValueError`` for unusable files or arguments."""
    from harness.checker.api import CheckResult, _versions

    t0 = time.perf_counter()
    k = get_kind(kind)
    if k.external is None:
        raise ValueError(f"--samples supports kinds {', '.join(command_kinds())}, not {kind!r}")
    s = load_array(samples_path, "samples")
    x = None
    if k.external.needs_logits:
        if not logits_path:
            raise ValueError(f"--samples with --kind {kind} needs --logits FILE (the logits the sample was drawn for)")
        x = load_array(logits_path, "logits").astype("float64").ravel()
        if x.size < 2:
            raise ValueError(f"the logits file {logits_path!r} holds {x.size} value(s); need K >= 2")
    s, checks = k.external.offline(s, x, temperature)
    fixed = FixedSample(s, x, kind, temperature)
    family = sum(size for _, size, _ in checks)
    b = replace(get_budget("quick"), name="offline", alpha=float(alpha))
    ctx = RunContext(budget=b, seed=0, family_size=family, reproduce="")
    verdicts, timings = [], {}
    for cid, _size, body in checks:
        t1 = time.perf_counter()
        vs = body(fixed, ctx)
        timings[cid] = round(time.perf_counter() - t1, 3)
        verdicts += [replace(v, seed=None, reproduce="", details={**dict(v.details), "plan_check": cid,
                                                                  "offline": True}) for v in vs]
    judged = judge_family(verdicts, b.alpha)
    return CheckResult(target=name or f"samples:{samples_path}", kind=kind, budget="offline", seed=0, alpha=b.alpha,
                       family_size=family, verdicts=judged, findings=[], timings=timings,
                       seconds=round(time.perf_counter() - t0, 3),
                       plan=[{"id": c, "claim": c.split(".")[0], "title": c, "size": size, "column": c}
                             for c, size, _ in checks],
                       info={"versions": _versions(), "offline": OFFLINE_STATEMENT, "n": int(len(s))})
