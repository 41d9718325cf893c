"""What a budget cannot see: the known bug classes (the mutants of :mod:`harness.mutants.catalogue`) whose
detection needs a larger budget than the one that ran, stated in one line with the command
that can see them."""
from __future__ import annotations

import shlex
from typing import Iterable

__all__ = ["unseen", "hint", "report_hint", "check_hint"]

_RANK = {"quick": 0, "standard": 1, "thorough": 2}

#: Short names of the bug classes of docs/bugs.md section B that a budget may not reach.
BUG_CLASSES = {10: "noise tail cut by an epsilon floor (e.g. E >= 1e-7)",
               11: "coarse uniforms (the float32 / 24-bit noise tail cut)"}


def _what(ms) -> str:
    names = list(dict.fromkeys(BUG_CLASSES.get(m.bug, m.doc.split(":")[0][:50]) for m in ms))
    return "; ".join(names[:3]) + ("; ..." if len(names) > 3 else "")


def unseen(budget: str, kinds: Iterable[str] | None = None, claims: Iterable[str] | None = None) -> list:
    """Mutants (known bug classes) that need a budget beyond both ``budget`` and the default
    (standard), of ``kinds``, caught by checks of ``claims`` (claim ids, the check ids' first part)."""
    from harness.mutants.catalogue import MUTANTS

    ks = set(kinds) if kinds is not None else None
    cs = set(claims) if claims is not None else None
    r = max(_RANK.get(budget, 1), _RANK["standard"])
    return [m for m in MUTANTS.values() if _RANK.get(m.budget, 1) > r and (ks is None or m.kind in ks)
            and (cs is None or any(c.split(".")[0] in cs for c in m.plan_checks))]


def _cost(timings: dict | None, checks: list[str], budget: str, need: str) -> str:
    """" (about S s on this machine, ...)" from this run's time in ``checks``, scaled by the tail
    sample sizes of the two budgets (the tail checks' cost is linear in their draws)."""
    from harness.core.budgets import get_budget

    spent = sum(float(timings.get(c, 0.0)) for c in checks) if timings else 0.0
    if spent <= 0:
        return ""
    scale = get_budget(need).n_tail / get_budget(budget).n_tail
    est = spent * scale
    shown = f"{est:.0f} s" if est < 5400 else f"{est / 3600:.1f} h"
    return f" (about {shown} here: {spent:.2f} s in this run x {scale:g} draws)"


def hint(budget: str, command: str, kinds: Iterable[str] | None = None,
         claims: Iterable[str] | None = None, timings: dict | None = None) -> str | None:
    """One line naming what ``budget`` cannot detect and ``command`` (``{budget}`` and
    ``{checks}`` filled in) that can, with its cost extrapolated from ``timings`` (check id ->
    seconds of this run) when they include those checks; None when nothing is out of reach."""
    ms = unseen(budget, kinds, claims)
    if not ms:
        return None
    need = max((m.budget for m in ms), key=lambda b: _RANK.get(b, 1))
    bugs = ", ".join(f"B{b}" for b in sorted({m.bug for m in ms}))
    checks = sorted({c for m in ms for c in m.plan_checks})
    return (f"The {budget} budget cannot see {len(ms)} known bug{'s' if len(ms) != 1 else ''} "
            f"(docs/bugs.md {bugs}: {_what(ms)}); {', '.join(checks)} at budget {need} can"
            f"{_cost(timings, checks, budget, need)}: " + command.format(budget=need, checks=",".join(checks)))


def report_hint(budget: str, seed: int = 0, claims: Iterable[str] | None = None) -> str | None:
    """The line for a validation report of ``claims`` (all when None)."""
    return hint(budget, f"gumbel-harness report --budget {{budget}} --seed {int(seed)}", claims=claims)


def check_hint(res) -> str | None:
    """The line for a :class:`~harness.checker.api.CheckResult` (only the bug classes of its kind)."""
    info = res.info or {}
    name = str(res.target)
    if info.get("builtin"):
        src = f"--builtin {shlex.quote(name)}"
    elif name.startswith("command:"):
        src = f"--command {shlex.quote(name.split(':', 1)[1])} --kind {shlex.quote(res.kind)}"
    elif name.startswith("mutant:"):
        src = f"--mutant {shlex.quote(name.split(':', 1)[1])}"
    elif ":" in name and "<" not in name:
        src = f"{shlex.quote(name)} --kind {shlex.quote(res.kind)}"
    else:
        return hint(res.budget, f"check_sampler(..., kind={res.kind!r}, budget='{{budget}}', only='{{checks}}')",
                    [res.kind], timings=res.timings)
    src = src.replace("{", "{{").replace("}", "}}")  # a command template's own {n}, {seed}...
    return hint(res.budget, f"gumbel-harness check {src} --budget {{budget}} --only {{checks}}", [res.kind],
                timings=res.timings)
