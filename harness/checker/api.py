"""The Python API of the checker: :func:`check_sampler` -> :class:`CheckResult`, and
:func:`assert_conforms` for tests.

A check run = the plan of the target's kind (:mod:`harness.checker.plans`), every statistical
verdict judged as **one Holm family** at ``budget.alpha`` (``ctx.family_size`` is the real
count, so the power statements hold for this run), plus the findings of the bad-input and
adversarial probes (:mod:`harness.checker.probes`). The target is called through a
:class:`~harness.checker.guard.GuardedTarget` (per-call timeout, exceptions -> FAIL): whatever
the target does, the run completes and returns a result.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from harness.budgets import get_budget
from harness.checker.guard import DEFAULT_TIMEOUT, GuardedTarget
from harness.checker.plans import PlannedCheck, plan_for, power_targets, select
from harness.checker.probes import Finding, probe_target
from harness.checker.targets import resolve
from harness.checks import error_verdict
from harness.context import RunContext
from harness.verdict import Verdict, format_verdict, judge_family

__all__ = ["CheckResult", "check_sampler", "assert_conforms", "ConformanceError"]


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


class _FreshGuard:
    """A guard that is replaced by a new one after a hang (each probe case gets a chance)."""

    def __init__(self, fn: Callable, timeout: float | None, name: str):
        self.fn, self.timeout, self.name = fn, timeout, name
        self.guard = GuardedTarget(fn, timeout, name)

    def __call__(self, *a, **k):
        if self.guard.hung:
            self.guard = GuardedTarget(self.fn, self.timeout, self.name)
        return self.guard(*a, **k)


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
    timeout: per-call timeout in seconds (None: no timeout); a hung call is a FAIL.
    only: check ids or prefixes (``"T1.law"``, ``["C2.scale", "G4"]``) to run a subset (the
        Holm family is then that subset). ``probes``/``adversarial`` default to True for a full
        run and False with ``only`` (pass True to force them).
    Returns a :class:`CheckResult`; raises only for unusable arguments (``ValueError``,
    :class:`~harness.checker.targets.TargetLoadError`), never for the target's behaviour.
    """
    t_start = time.perf_counter()
    fn, kind, tname, builtin = resolve(target, kind)
    tname = name or tname
    b = get_budget(budget)
    plan = select(plan_for(kind, b), only)
    if probes is None:
        probes = only is None
    if adversarial is None:
        adversarial = probes
    family = max(1, sum(c.size for c in plan))
    mutant = tname.startswith("mutant:")
    ctx = RunContext(budget=b, seed=int(seed), family_size=family, device=device,
                     reproduce=_reproduce_template(tname, kind, b.name, int(seed), builtin is not None, mutant))
    guard = GuardedTarget(fn, timeout, name=tname)
    verdicts: list[Verdict] = []
    timings: dict[str, float] = {}
    from harness.progress import progress as _progress

    for pc in _progress(plan, total=len(plan), desc=f"check {tname}", enabled=progress):
        t0 = time.perf_counter()
        vs = _run_planned(pc, guard, ctx)
        dt = time.perf_counter() - t0
        timings[pc.id] = dt
        verdicts += [replace(v, details={**dict(v.details), "plan_check": pc.id, "seconds": round(dt, 3)})
                     for v in vs]
    findings: list[Finding] = []
    power = power_targets(kind, b, family, device=device)
    ids = {c.id for c in plan}
    power = {k: v for k, v in power.items() if not isinstance(v, dict) or v.get("check") in ids}
    info: dict[str, Any] = {"versions": _versions(), "timeout_s": timeout, "power": power}
    if builtin is not None:
        info["builtin"] = {"description": builtin.description, "expect_pass": builtin.expect_pass,
                           "notes": builtin.notes}
    if builtin is not None and builtin.extra is not None and only is None:
        t0 = time.perf_counter()
        try:
            ev, ef, ei = builtin.extra(ctx)
        except Exception as exc:  # noqa: BLE001
            ev, ef, ei = [error_verdict("extra", "extra", "extra check", exc)], [], {}
        verdicts += ev
        findings += ef
        info.update(ei)
        timings["extra"] = time.perf_counter() - t0
    if probes or adversarial:
        t0 = time.perf_counter()
        ptimeout = None if timeout is None else min(float(timeout), 60.0)
        try:
            findings += probe_target(_FreshGuard(fn, ptimeout, tname), kind, seed=ctx.seed_for("probe"),
                                     adversarial=bool(adversarial), bad_inputs=bool(probes))
        except Exception as exc:  # noqa: BLE001 - never crash on the target's account
            findings.append(Finding("probe", "the probe itself", "valid", "invalid output", "warn",
                                    f"probe aborted: {type(exc).__name__}: {exc}"))
        timings["probes"] = time.perf_counter() - t0
    judged = judge_family(verdicts, b.alpha)
    if guard.hung:
        info["hung"] = guard.hung
    return CheckResult(
        target=tname, kind=kind, budget=b.name, seed=int(seed), alpha=b.alpha, family_size=family,
        verdicts=judged, findings=findings, timings={k: round(v, 3) for k, v in timings.items()},
        seconds=round(time.perf_counter() - t_start, 3),
        plan=[{"id": c.id, "claim": c.claim, "title": c.title, "size": c.size, "column": c.column} for c in plan],
        info=info,
    )


def _run_planned(pc: PlannedCheck, guard: GuardedTarget, ctx: RunContext) -> list[Verdict]:
    """Run one planned check; a harness-side exception becomes a FAIL naming it (never a crash)."""
    try:
        vs = pc.run(guard, ctx)
    except Exception as exc:  # noqa: BLE001
        return [error_verdict(pc.claim, pc.id, pc.title, f"check aborted: {type(exc).__name__}: {exc}",
                              seed=ctx.seed_for(pc.id), alpha=ctx.alpha)]
    if not vs:
        return [error_verdict(pc.claim, pc.id, pc.title, "the check returned no verdict", alpha=ctx.alpha)]
    return vs


def assert_conforms(target: Any, kind: str | None = None, **kwargs: Any) -> CheckResult:
    """Run :func:`check_sampler` and raise :class:`ConformanceError` (an ``AssertionError``) with a
    readable report (the table, then ``format_verdict`` of every failure) unless it passed.
    Returns the result when it passed."""
    res = check_sampler(target, kind, **kwargs)
    if not res.passed:
        raise ConformanceError(f"{res.target} does not conform ({res.kind}, budget {res.budget}, "
                               f"seed {res.seed}):\n\n{res.report()}", res)
    return res
