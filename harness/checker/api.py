"""The Python API of the checker: :func:`check_sampler` -> :class:`CheckResult`, and
:func:`assert_conforms` for tests.

A check run = the plan of the target's kind (:mod:`harness.checker.plans`), every statistical
verdict judged as **one Holm family** at ``budget.alpha`` (``ctx.family_size`` is the real
count, so the power statements hold for this run), plus the findings of the bad-input and
adversarial probes (:mod:`harness.checker.probes`) and the contract findings of the run (global
state, inputs, threads, output: :mod:`harness.checker.steps`). The steps run in a supervised
worker process (``isolation="process"``, :mod:`harness.checker.supervisor`) or in this process
through a :class:`~harness.checker.guard.GuardedTarget` (``isolation="none"``: per-call timeout
in a thread, exceptions -> FAIL, unprotected against crashes and exits).
"""
from __future__ import annotations

import json
import platform
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from harness.budgets import get_budget
from harness.checker.guard import DEFAULT_TIMEOUT, FreshGuard, GuardedTarget
from harness.checker.guard import FreshGuard as _FreshGuard  # noqa: F401 - old name
from harness.checker.plans import plan_for, power_targets, select
from harness.checker.probes import Finding
from harness.checker.steps import EXTRA, PROBES, StepRunner, Watched, failure, step_ids, tag
from harness.checker.supervisor import DEFAULT_MEMORY_LIMIT, Session, format_bytes, parse_memory, pickle_target
from harness.checker.targets import TargetLoadError, TargetSpec, describe, load
from harness.checks import error_verdict
from harness.context import RunContext
from harness.verdict import Verdict, format_verdict, judge_family

__all__ = ["CheckResult", "check_sampler", "assert_conforms", "ConformanceError", "UnprotectedWarning",
           "ISOLATIONS"]

QUIET_BYTES = 64 << 10  # target output above this is a warning finding (contract.output)


class ConformanceError(AssertionError):
    """Raised by :func:`assert_conforms`; ``result`` holds the :class:`CheckResult`."""

    def __init__(self, message: str, result: "CheckResult"):
        super().__init__(message)
        self.result = result


@dataclass
class CheckResult:
    """Everything one check run produced.

    ``verdicts``: every Verdict, Holm-judged (statistical ones form one family).
    ``findings``: bad-input / adversarial probe findings (severity fail / warn / ok / info).
    ``passed``: every verdict passed and no finding has severity ``fail``.
    ``timings``: seconds per planned check (and ``probes``). ``info``: power figures, versions,
    extra information (e.g. the log_prob comparison of a built-in).
    """

    target: str
    kind: str
    budget: str
    seed: int
    alpha: float
    family_size: int
    verdicts: list[Verdict]
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    plan: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    # ---- decisions -------------------------------------------------------------------
    @property
    def failed_verdicts(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.passed is not True]

    @property
    def failed_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fail"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.failed_verdicts and not self.failed_findings

    def caught_by(self) -> list[dict[str, Any]]:
        """The checks and probes that rejected the target: ``{"check", "pvalue", "adjusted", "why"}``."""
        out = []
        for v in self.failed_verdicts:
            out.append({"check": v.check, "claim": v.claim, "pvalue": v.pvalue, "adjusted": v.adjusted_pvalue,
                        "why": v.reason})
        for f in self.failed_findings:
            out.append({"check": f.probe, "claim": "probe", "pvalue": None, "adjusted": None,
                        "why": f"{f.input} -> {f.outcome}: {f.detail}"})
        return out

    def plan_status(self) -> dict[str, str]:
        """PASS / FAIL per planned check id."""
        st: dict[str, str] = {}
        for v in self.verdicts:
            pid = str(v.details.get("plan_check", v.check))
            ok = v.passed is True
            st[pid] = "FAIL" if (st.get(pid) == "FAIL" or not ok) else "PASS"
        return st

    # ---- text ------------------------------------------------------------------------
    def summary(self) -> str:
        """The table of checks (claim, statistic, p, Holm p, power, time, verdict)."""
        from harness.checker.render import text_table

        return text_table(self)

    def explain(self) -> str:
        """``format_verdict`` of every failing verdict, then the failing findings."""
        parts = [format_verdict(v) for v in self.failed_verdicts]
        parts += [f"FAIL {f.probe}: {f.input}\n  outcome: {f.outcome}\n  detail: {f.detail}"
                  for f in self.failed_findings]
        return "\n\n".join(parts)

    def report(self, findings: str = "fail,warn") -> str:
        """Header, table, power figures, failure explanations and the findings of the listed
        severities (comma-separated: fail, warn, ok, info)."""
        from harness.checker.render import text_report

        return text_report(self, findings=findings)

    def __str__(self) -> str:
        return self.report()

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        from harness.verdict import _json_safe

        return _json_safe({
            "target": self.target, "kind": self.kind, "budget": self.budget, "seed": self.seed,
            "alpha": self.alpha, "family_size": self.family_size, "passed": self.passed,
            "seconds": self.seconds, "timings": self.timings, "plan": self.plan, "info": self.info,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "findings": [f.to_dict() for f in self.findings],
            "caught_by": self.caught_by(),
        })

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), indent=kw.pop("indent", 2), **kw)


def _versions() -> dict[str, str]:
    import sys

    out = {"python": platform.python_version()}
    for mod in ("numpy", "scipy", "torch", "jax"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


def _reproduce_template(name: str, kind: str, budget: str, seed: int, builtin: bool, mutant: bool) -> str:
    """``ctx.reproduce`` template: a command (or call) that re-runs one check ({check})."""
    safe = name.replace("{", "{{").replace("}", "}}")
    if mutant:
        src = f"--mutant {safe.split(':', 1)[1]}"
    elif builtin:
        src = f"--builtin {safe}"
    elif ":" in name and "<" not in name:
        src = f"{safe} --kind {kind}"
    else:
        return (f"harness.checker.check_sampler({safe}, kind={kind!r}, budget={budget!r}, seed={seed}, "
                "only='{check}')")
    return f"gumbel-harness check {src} --budget {budget} --seed {seed} --only {{check}}"


class UnprotectedWarning(UserWarning):
    """A target runs in the caller's process (``isolation="none"``): nothing protects the run."""


ISOLATIONS = ("process", "none")


def check_sampler(
    target: Any,
    kind: str | None = None,
    *,
    budget: str = "standard",
    seed: int = 0,
    timeout: float | None = DEFAULT_TIMEOUT,
    only: str | Iterable[str] | None = None,
    probes: bool | None = None,
    adversarial: bool | None = None,
    device: str = "cpu",
    progress: bool | None = False,
    name: str | None = None,
    isolation: str = "process",
    memory_limit: int | str | None = DEFAULT_MEMORY_LIMIT,
) -> CheckResult:
    """Check a sampler against the claims for its kind.

    Parameters
    ----------
    target: a callable following one of the protocols (README, :mod:`harness.samplers`), a
        ``"module:callable"`` string, or a built-in target name (:data:`BUILTINS`).
    kind: ``"categorical"``, ``"relaxed"``, ``"noise"`` or ``"torch"``; optional for built-ins
        and for callables with a ``gumbel_harness_kind`` attribute.
    budget: ``"quick"``, ``"standard"`` (the issue-5 power guarantees) or ``"thorough"``, or a
        :class:`~harness.budgets.Budget`.
    seed: run seed; each check's seed is derived from it and the check id.
    timeout: per-call timeout in seconds (None or 0: none); a hung call is a FAIL. With
        ``isolation="process"`` it bounds every silence of the worker (a target call, or the
        work on its output between calls; :mod:`harness.checker.supervisor`).
    only: check ids or prefixes (``"T1.law"``, ``["C2.scale", "G4"]``) to run a subset (the
        Holm family is then that subset). ``probes``/``adversarial`` default to True for a full
        run and False with ``only`` (pass True to force them).
    isolation: ``"process"`` (default): the target runs in a supervised worker process, so a
        crash, ``os._exit``, hang, memory blow-up, printing or global-state change cannot end,
        hang or alter this process; ``"none"``: in this process, calls in a daemon thread with
        the timeout (unprotected). A callable that cannot be pickled even by value
        (cloudpickle) runs with ``"none"`` and an :class:`UnprotectedWarning`.
    memory_limit: bytes (or ``"8G"``, ``"512M"``; None/0: none) of resident memory the worker
        may use (``isolation="process"``).
    Returns a :class:`CheckResult`; raises only for unusable arguments (``ValueError``,
    :class:`~harness.checker.targets.TargetLoadError`), never for the target's behaviour.
    """
    t_start = time.perf_counter()
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}")
    spec = describe(target, kind)
    tname = name or spec.name
    b = get_budget(budget)
    mem = parse_memory(memory_limit)
    timeout = None if timeout is None or timeout <= 0 else float(timeout)
    if only is not None and spec.kind is not None:
        select(plan_for(spec.kind, b), only)  # a bad --only is a usage error before any worker starts
    iso: dict[str, Any] = {"mode": isolation}
    session = None
    if isolation == "process":
        session, kind, iso, early = _start_session(spec, tname, b, timeout, mem, iso)
        if early is not None:  # the target could not even be loaded in a worker
            return _load_failure(early, spec, tname, b, seed, only, timeout, iso, t_start)
    try:
        if session is None:
            fn, kind = load(spec)
        plan = select(plan_for(kind, b), only)
        if probes is None:
            probes = only is None
        if adversarial is None:
            adversarial = probes
        family = max(1, sum(c.size for c in plan))
        mutant = tname.startswith("mutant:")
        ctx = RunContext(budget=b, seed=int(seed), family_size=family, device=device,
                         reproduce=_reproduce_template(tname, kind, b.name, int(seed), spec.builtin is not None,
                                                       mutant))
        builtin = spec.builtin
        steps = step_ids(plan, extra=builtin is not None and builtin.extra is not None and only is None,
                         probes=bool(probes or adversarial))
        guard = None
        if session is not None:
            got = session.setup(ctx, only, bool(probes), bool(adversarial))
            if isinstance(got, list) and got != [c.id for c in plan]:
                session.stopped = (f"the worker planned {got}, this process {[c.id for c in plan]}: a different "
                                   "harness on the worker's path")
            by_id = {c.id: c for c in plan}

            def run_step(step: str):
                return session.run(step, lambda st, cause, outcome="crash": failure(st, cause, by_id, ctx,
                                                                                    outcome=outcome))
        else:
            guard = GuardedTarget(fn, timeout, name=tname)
            ptimeout = None if timeout is None else min(timeout, 60.0)
            runner = StepRunner(kind, ctx, plan, plan_fn=Watched(guard, tname),
                                probe_fn=Watched(FreshGuard(fn, ptimeout, tname), tname), builtin=builtin,
                                probes=bool(probes), adversarial=bool(adversarial))
            run_step = runner.run
        verdicts: list[Verdict] = []
        findings: list[Finding] = []
        timings: dict[str, float] = {}
        notes: dict[tuple[str, str], list] = {}
        info: dict[str, Any] = {"versions": _versions(), "timeout_s": timeout}
        from harness.progress import progress as _progress

        for step in _progress(steps, total=len(steps), desc=f"check {tname}", enabled=progress):
            res = run_step(step)
            timings[step] = res.seconds
            verdicts += res.verdicts if step in (EXTRA, PROBES) else tag(res.verdicts, step, res.seconds)
            findings += res.findings
            info.update(res.info)
            for probe, key, detail in res.notes:
                notes.setdefault((probe, key), [detail, []])[1].append(step)
    finally:
        if session is not None:
            iso.update(session.close())
    findings += _contract_findings(notes, iso)
    power = power_targets(kind, b, family)
    ids = {c.id for c in plan}
    info["power"] = {k: v for k, v in power.items() if not isinstance(v, dict) or v.get("check") in ids}
    if builtin is not None:
        info["builtin"] = {"description": builtin.description, "expect_pass": builtin.expect_pass,
                           "notes": builtin.notes}
    if guard is not None and guard.hung:
        info["hung"] = guard.hung
    _isolation_info(info, iso, mem)
    judged = judge_family(verdicts, b.alpha)
    return CheckResult(
        target=tname, kind=kind, budget=b.name, seed=int(seed), alpha=b.alpha, family_size=family,
        verdicts=judged, findings=findings, timings={k: round(v, 3) for k, v in timings.items()},
        seconds=round(time.perf_counter() - t_start, 3), plan=_plan_rows(plan), info=info,
    )


def _plan_rows(plan: list) -> list[dict[str, Any]]:
    return [{"id": c.id, "claim": c.claim, "title": c.title, "size": c.size, "column": c.column} for c in plan]


def _start_session(spec: TargetSpec, tname: str, b, timeout: float | None, mem: int | None, iso: dict):
    """``(session | None, kind, iso, early_failure | None)``: a worker with the target loaded,
    or the in-process fallback (``session`` None) for a target that cannot be pickled."""
    if spec.source == "object":
        data, why = pickle_target(spec.ref)
        if data is None:
            return None, spec.kind, _unprotected(tname, f"it cannot be pickled, even by value ({why})"), None
        payload = ("object", data)
    else:
        payload = (spec.source, spec.ref)
    session = Session(payload, spec.kind, tname, timeout=timeout, memory_limit=mem)
    session.begin()
    if spec.kind is not None:
        plan_for(spec.kind, b)  # this process's imports for the plan (torch) overlap with the worker's
    reply = session.load()
    if reply[0] == "loaded":
        return session, reply[1], iso, None
    iso.update(session.close())
    if reply[0] == "load_error":
        raise (TargetLoadError if reply[1] == "TargetLoadError" else ValueError)(reply[2])
    if reply[0] == "unpicklable":
        return None, spec.kind, _unprotected(tname, f"it cannot be rebuilt in a worker process ({reply[1]})"), None
    return None, spec.kind, iso, reply[1]  # "lost": died or raised SystemExit while loading


def _unprotected(tname: str, why: str) -> dict:
    warnings.warn(UnprotectedWarning(
        f"{tname} runs in this process, UNPROTECTED (isolation='none'): {why}. A crash, os._exit or a "
        "hang of the target can end or hang the run; define it at module level to run it isolated"),
        stacklevel=3)
    return {"mode": "none", "fallback": why}


def _load_failure(cause: str, spec: TargetSpec, tname: str, b, seed, only, timeout, iso, t_start) -> CheckResult:
    """The result of a target whose worker died while loading it (e.g. ``sys.exit`` / ``os._exit``
    at import time): one FAIL verdict ``load``; nothing else ran (it would die the same way)."""
    if spec.kind is None:
        raise TargetLoadError(f"{tname}: {cause}; its kind is unknown (pass --kind / kind=)")
    plan = select(plan_for(spec.kind, b), only)
    v = error_verdict("load", "load", f"load {tname} in a worker process", cause,
                      alpha=b.alpha, test="supervised worker")
    info: dict[str, Any] = {"versions": _versions(), "timeout_s": timeout}
    findings = _contract_findings({}, iso)
    _isolation_info(info, iso, None)
    return CheckResult(target=tname, kind=spec.kind, budget=b.name, seed=int(seed), alpha=b.alpha,
                       family_size=max(1, sum(c.size for c in plan)), verdicts=judge_family([v], b.alpha),
                       findings=findings, seconds=round(time.perf_counter() - t_start, 3), plan=_plan_rows(plan),
                       info=info)


def _isolation_info(info: dict, iso: dict, mem: int | None) -> None:
    out = iso.pop("output", None)
    nbytes = iso.pop("output_bytes", 0)
    if iso.get("mode") == "process":
        iso["memory_limit_bytes"] = mem
    info["isolation"] = iso
    if out is not None:
        info["target_output"] = out
        info["target_output_bytes"] = nbytes


def _contract_findings(notes: dict, iso: dict) -> list[Finding]:
    """One ``contract.*`` finding per kind of change (naming the first step and the count of
    steps), and ``contract.output`` when the target printed."""
    out = []
    for (probe, _key), (detail, steps) in notes.items():
        where = f"during {steps[0]}" + (f" and {len(steps) - 1} more step(s)" if len(steps) > 1 else "")
        outcome = {"contract.threads": "thread left running", "contract.input_mutation": "input changed"}.get(
            probe, "global state changed")
        out.append(Finding(probe, where, "contract", outcome, "fail", detail))
    nbytes = iso.get("output_bytes", 0)
    if nbytes:
        out.append(Finding("contract.output", "stdout/stderr of the worker", "contract", "printed",
                           "warn" if nbytes > QUIET_BYTES else "info",
                           f"the target wrote {format_bytes(nbytes)}: captured in the worker, shown truncated in "
                           "info['target_output'], never mixed into the tool's output"))
    return out


def assert_conforms(target: Any, kind: str | None = None, **kwargs: Any) -> CheckResult:
    """Run :func:`check_sampler` and raise :class:`ConformanceError` (an ``AssertionError``) with a
    readable report (the table, then ``format_verdict`` of every failure) unless it passed.
    Returns the result when it passed."""
    res = check_sampler(target, kind, **kwargs)
    if not res.passed:
        raise ConformanceError(f"{res.target} does not conform ({res.kind}, budget {res.budget}, "
                               f"seed {res.seed}):\n\n{res.report()}", res)
    return res
