"""``compare``: do two samplers draw from the same law? :func:`compare_samplers` ->
:class:`CompareResult` (issue 20).

The plan is the kind's own (:meth:`harness.kinds.Kind.compare_plan`: the entries of
``kind.plan(budget)`` that say what they observe, :class:`harness.kinds.base.Compared`), so the
configurations, sample sizes and calls are the check's. For every entry both targets draw its
observables -- target A under the run seed, target B under ``derive_seed(seed, "compare.B")`` (the
two samples must be independent: a shared seed would feed two implementations the same noise) --
each in its own supervised worker (:mod:`harness.run.supervisor`, steps of mode ``"observe"``:
:mod:`harness.run.steps`), and every observable is judged by the matching two-sample test
(:mod:`harness.checks.twosample`: counts -> chi-square of homogeneity, samples -> two-sample KS).

Decision: the house's. Each verdict's p-value is confirmed (:mod:`harness.stats.confirm`: a
stage-1 p-value <= sqrt(alpha) is re-tested on fresh draws of *both* targets, the entry's stage-2
steps under the confirmation context, and reports ``max(p1, p2)**2``); all verdicts form one Holm
family at ``budget.alpha`` (:func:`~harness.core.verdict.judge_family`). A target that crashes,
hangs or returns garbage in an entry makes that entry a forced FAIL naming the side.

Power: each verdict states the smallest distance between A's and B's laws its confirmed
decision detects with probability 0.9 at the Bonferroni level ``alpha / m`` in the worst case
(Cohen's w and TV for counts, the sup distance for samples); on a PASS the upper confidence bound
on that distance (simultaneous over the run at ``1 - alpha``). ``exit_status``: 0 no difference
found (same law, up to the bounds), 1 the laws differ.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from harness.checker.api import (ISOLATIONS, _begin_session, _finish_session, _versions, validate_timeout)
from harness.checker.reproduce import compare_template, compare_word
from harness.checks.builders import error_verdict
from harness.checks.confirmation import confirm_verdicts
from harness.checks.twosample import homogeneity_verdict, ks2_verdict
from harness.core.budgets import get_budget
from harness.core.context import RunContext
from harness.core.seeds import derive_seed, validate_seed
from harness.core.verdict import Verdict, format_verdict, judge_family
from harness.kinds.base import COUNTS, get_kind, select
from harness.run.guard import DEFAULT_TIMEOUT, GuardedTarget
from harness.run.steps import OBSERVE, StepRunner, Watched, failure, observed, stage2
from harness.run.supervisor import DEFAULT_MEMORY_LIMIT, parse_memory
from harness.targets.loading import TargetLoadError, describe, load
from harness.targets.protocol import check_protocol

__all__ = ["CompareResult", "compare_samplers", "B_SEED_KEY"]

#: target B draws under ``derive_seed(seed, B_SEED_KEY)``: independent of A's draws
B_SEED_KEY = "compare.B"


@dataclass
class CompareResult:
    """Everything one compare run produced: ``verdicts`` (Holm-judged, one family), ``plan``
    (the configurations: id, title, observables), ``timings`` (seconds per configuration and
    side), ``info`` (isolation, versions, the seeds of both sides)."""

    a: str
    b: str
    kind: str
    budget: str
    seed: int
    alpha: float
    family_size: int
    verdicts: list[Verdict]
    plan: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    reproduce: str = ""

    @property
    def failed_verdicts(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.passed is not True]

    @property
    def passed(self) -> bool:
        """No configuration shows a difference between the two laws."""
        return not self.failed_verdicts

    @property
    def exit_status(self) -> int:
        """0 same law (no difference found), 1 the laws differ."""
        return 0 if self.passed else 1

    def failed_configurations(self) -> list[str]:
        """Plan entry ids with a failing verdict, in plan order."""
        bad = {str(v.details.get("plan_check", v.check)) for v in self.failed_verdicts}
        return [c["id"] for c in self.plan if c["id"] in bad]

    @property
    def headline(self) -> str:
        scope = f"{len(self.verdicts)} two-sample checks, Holm family of {self.family_size} at alpha {self.alpha:g}"
        if self.passed:
            return f"SAME LAW not rejected ({scope})"
        bad = self.failed_configurations()
        return f"DIFFERENT LAWS ({len(self.failed_verdicts)} of {scope} fail, in {', '.join(bad)})"

    def explain(self) -> str:
        return "\n\n".join(format_verdict(v) for v in self.failed_verdicts)

    def report(self) -> str:
        from harness.output.terminal import compare_report

        return compare_report(self)

    def __str__(self) -> str:
        return self.report()

    def to_dict(self) -> dict[str, Any]:
        from harness.core.verdict import _json_safe

        return _json_safe({
            "a": self.a, "b": self.b, "kind": self.kind, "budget": self.budget, "seed": self.seed,
            "alpha": self.alpha, "family_size": self.family_size, "passed": self.passed,
            "exit_status": self.exit_status, "headline": self.headline,
            "failed_configurations": self.failed_configurations(), "reproduce": self.reproduce,
            "seconds": self.seconds, "timings": self.timings, "plan": self.plan, "info": self.info,
            "verdicts": [v.to_dict() for v in self.verdicts],
        })

    def to_json(self, *, full: bool = False, **kw) -> str:
        """JSON; the long arrays (the figure data of large tables) by reference into
        :meth:`arrays` unless ``full``."""
        from harness.output.bulk import split_bulk

        data = self.to_dict() if full else split_bulk(self.to_dict())[0]
        return json.dumps(data, indent=kw.pop("indent", 2), **kw)

    def arrays(self) -> dict[str, Any]:
        from harness.output.bulk import split_bulk

        return split_bulk(self.to_dict())[1]


class _Side:
    """One target of a compare: its steps run in a supervised worker (``session``) or, for a
    target that cannot be pickled or with ``isolation="none"``, in this process through a
    guarded call. ``draw(step)`` -> ``(observables | None, failure verdicts)``."""

    def __init__(self, label: str, name: str, ctx: RunContext):
        self.label, self.name, self.ctx = label, name, ctx
        self.session = None
        self.runner: StepRunner | None = None
        self.iso: dict[str, Any] = {}
        self.seconds = 0.0
        self.by_id: dict[str, Any] = {}

    def setup(self, session, fn, kind: str, plan: list, timeout: float | None) -> None:
        self.by_id = {**{c.id: c for c in plan}, **{stage2(c.id): c for c in plan}}
        if session is not None:
            self.session = session
            got = session.setup(self.ctx, [c.id for c in plan] or None, False, False, mode=OBSERVE)
            if isinstance(got, list) and got != [c.id for c in plan]:
                session.stopped = (f"the worker planned {got}, this process {[c.id for c in plan]}: a different "
                                   "harness on the worker's path")
            return
        guard = GuardedTarget(fn, timeout, name=self.name)
        check_protocol(fn, kind, self.name, call=guard)
        w = Watched(guard, self.name)
        self.runner = StepRunner(kind, self.ctx, plan, plan_fn=w, probe_fn=w, mode=OBSERVE)

    def draw(self, step: str) -> tuple[dict | None, list[Verdict]]:
        if self.session is not None:
            res = self.session.run(step, lambda st, cause, outcome="crash": failure(st, cause, self.by_id, self.ctx,
                                                                                    outcome=outcome))
        else:
            res = self.runner.run(step)
        self.seconds += res.seconds
        vs = [replace(v, reason=f"target {self.label} ({self.name}): {v.reason}") for v in res.verdicts]
        return observed(res), vs

    def close(self) -> dict[str, Any]:
        if self.session is not None:
            self.iso.update(self.session.close())
            self.iso.pop("output", None)
        return self.iso


def _judge_entry(pc, obs_a: dict, obs_b: dict, ctx: RunContext, reproduce: str) -> list[Verdict]:
    """The two-sample verdict of every observable of plan entry ``pc``."""
    out = []
    for o in pc.observables:
        cid = pc.id + o.suffix
        text = f"A and B draw the same law: {o.label or pc.title}"
        kw = dict(seed=ctx.seed_for(cid), alpha=ctx.alpha, family_size=ctx.family_size, reproduce=reproduce,
                  details={"label": o.label})
        build = homogeneity_verdict if o.form == COUNTS else ks2_verdict
        out.append(build(pc.claim, cid, text, obs_a[o.suffix], obs_b[o.suffix], **kw))
    return out


def compare_samplers(
    a: Any,
    b: Any,
    kind: str | None = None,
    *,
    budget: str = "standard",
    seed: int = 0,
    timeout: float | None = DEFAULT_TIMEOUT,
    only: str | Iterable[str] | None = None,
    device: str = "cpu",
    isolation: str = "process",
    memory_limit: int | str | None = DEFAULT_MEMORY_LIMIT,
    progress: bool | None = False,
    names: tuple[str, str] | None = None,
) -> CompareResult:
    """Compare the laws of two samplers of one kind (module doc).

    ``a``, ``b``: any target form :func:`~harness.checker.check_sampler` accepts (a callable, a
    ``"module:callable"`` string, a built-in name); ``kind``: optional when either target states
    it (a built-in, a ``gumbel_harness_kind`` attribute). ``only``: configuration ids or
    prefixes (every pattern must match a configuration of the compare plan). The other
    parameters as for ``check_sampler``. Raises ``ValueError`` / ``TargetLoadError`` for unusable
    arguments (two different kinds, a kind without a compare plan, a protocol mismatch), never
    for the targets' behaviour."""
    t_start = time.perf_counter()
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}")
    seed = validate_seed(seed)
    timeout = validate_timeout(timeout)
    bud = get_budget(budget)
    mem = parse_memory(memory_limit)
    specs = [describe(a, kind), describe(b, kind)]
    kinds = {s.kind for s in specs if s.kind is not None}
    if len(kinds) > 1:
        raise ValueError(f"the two targets are of different kinds ({' and '.join(sorted(kinds))}): compare needs one")
    k = kind or (kinds.pop() if kinds else None)
    specs = [replace(s, kind=s.kind or k) for s in specs]
    tnames = list(names) if names else [s.name for s in specs]
    if tnames[0] == tnames[1]:
        tnames = [f"A:{tnames[0]}", f"B:{tnames[1]}"]
    if k is not None:
        plan = select(get_kind(k).compare_plan(bud), only)
        if not plan:
            raise ValueError(f"kind {k!r} has no compare plan (no check of it says what it observes)")
    word = [compare_word(t, n) for t, n in zip((a, b), tnames)]
    sides = [_Side("A", tnames[0], None), _Side("B", tnames[1], None)]  # type: ignore[arg-type]
    verdicts: list[Verdict] = []
    timings: dict[str, Any] = {}
    from concurrent.futures import ThreadPoolExecutor

    # in-process targets (isolation "none") draw one after the other: they share this interpreter
    pool = ThreadPoolExecutor(max_workers=2 if isolation == "process" else 1)
    try:
        # both workers boot at once, then each loads its target and makes the protocol trial call
        begun = [(_begin_session(s, n, timeout, mem, side.iso) if isolation == "process" else None)
                 for s, n, side in zip(specs, tnames, sides)]
        loaded = []
        for sess, s, n, side in zip(begun, specs, tnames, sides):
            side.iso.setdefault("mode", isolation)
            if isolation == "process":
                got = _finish_session(sess, s, n, bud, side.iso)
            else:
                got = (None, s.kind, side.iso, None, None)
            loaded.append(got)
        kinds = {g[1] for g in loaded if g[1] is not None}
        if len(kinds) != 1:
            raise ValueError("the kind of the targets is unknown: pass --kind / kind=" if not kinds else
                             f"the two targets are of different kinds ({' and '.join(sorted(kinds))})")
        k = kinds.pop()
        plan = select(get_kind(k).compare_plan(bud), only)
        if not plan:
            raise ValueError(f"kind {k!r} has no compare plan (no check of it says what it observes)")
        family = max(1, sum(len(c.observables) for c in plan))
        reproduce = compare_template(word[0], word[1], k, bud.name, seed)
        ctx_a = RunContext(budget=bud, seed=seed, family_size=family, device=device, reproduce=reproduce)
        ctxs = [ctx_a, replace(ctx_a, seed=derive_seed(seed, B_SEED_KEY))]
        early = [g[3] for g in loaded]
        for side, (sess, _k, _iso, _e, _o), s, c in zip(sides, loaded, specs, ctxs):
            side.ctx = c
            fn = None
            if sess is None and early[sides.index(side)] is None:
                fn, _ = load(s)
            if early[sides.index(side)] is None:
                side.setup(sess, fn, k, plan, timeout)
        from harness.core.progress import progress as _progress

        for pc in _progress(plan, total=len(plan), desc=f"compare {tnames[0]} vs {tnames[1]}", enabled=progress):
            t0 = time.perf_counter()
            if any(e is not None for e in early):
                why = "; ".join(f"target {side.label} ({side.name}) was lost while it was loaded: {e}"
                                for side, e in zip(sides, early) if e is not None)
                verdicts += _tag([error_verdict(pc.claim, pc.id, pc.title, why, alpha=bud.alpha)], pc.id, 0.0)
                continue
            judge = _entry_judge(pc, sides, ctx_a, pool)
            vs = confirm_verdicts(judge(pc.id), lambda: judge(stage2(pc.id)), bud.alpha)
            secs = time.perf_counter() - t0
            timings[pc.id] = round(secs, 3)
            verdicts += _tag(vs, pc.id, secs)
    finally:
        pool.shutdown(wait=True)
        iso = {side.label: side.close() for side in sides}
    judged = judge_family(verdicts, bud.alpha)
    info = {"versions": _versions(), "timeout_s": timeout, "isolation": iso, "device": device,
            "seeds": {"A": seed, "B": derive_seed(seed, B_SEED_KEY)},
            "target_seconds": {side.label: iso[side.label].get("target_seconds", round(side.seconds, 3))
                               for side in sides},
            "targets": {"A": tnames[0], "B": tnames[1]}}
    return CompareResult(a=tnames[0], b=tnames[1], kind=k, budget=bud.name, seed=int(seed), alpha=bud.alpha,
                         family_size=family, verdicts=judged,
                         plan=[{"id": c.id, "claim": c.claim, "title": c.title,
                                "observables": [{"id": c.id + o.suffix, "form": o.form, "label": o.label}
                                                for o in c.observables]} for c in plan],
                         timings=timings, seconds=round(time.perf_counter() - t_start, 3), info=info,
                         reproduce=reproduce.replace("{check}", "CONFIG").replace("{{", "{").replace("}}", "}"))


def _entry_judge(pc, sides: list[_Side], ctx: RunContext, pool) -> Callable[[str], list[Verdict]]:
    """``judge(step)``: draw the entry's observables from both sides at once (two threads, each
    waiting on its worker; stage 1 ``pc.id``, stage 2 :func:`stage2`) and judge them; a side that
    failed makes the entry a forced FAIL naming it."""
    def judge(step: str) -> list[Verdict]:
        got = list(pool.map(lambda side: side.draw(step), sides))
        errors = [v for _obs, vs in got for v in vs]
        if errors or any(obs is None for obs, _ in got):
            return errors or [error_verdict(pc.claim, pc.id, pc.title, "no observables returned", alpha=ctx.alpha)]
        return _judge_entry(pc, got[0][0], got[1][0], ctx, ctx.repro(pc.id))
    return judge


def _tag(vs: list[Verdict], step: str, seconds: float) -> list[Verdict]:
    return [replace(v, details={**dict(v.details), "plan_check": step, "seconds": round(seconds, 3)}) for v in vs]
