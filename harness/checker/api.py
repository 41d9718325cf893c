"""The Python API of the checker: :func:`check_sampler` -> :class:`CheckResult`, and
:func:`assert_conforms` for tests.

A check run = the plan of the target's kind (:mod:`harness.checker.plans`), plus the findings
of the bad-input, adversarial and contract probes (:mod:`harness.checker.probes`,
:mod:`harness.checker.contract`). The result has two verdicts:

* the **law** (``group == "law"`` plan checks: the statistical law checks and the gradient
  identities). Its statistical verdicts form **one Holm family** at ``budget.alpha``
  (``ctx.family_size`` is the real count, so the power statements hold for this run); a crash
  or hang of the target inside a law check is a law FAIL.
* the **contract** (``group == "contract"`` plan checks: dtype / shape contract, and every
  probe Finding: bad inputs, adversarial streams, precision, reproducibility). Contract checks
  are deterministic; any statistical contract verdict would be judged as its own Holm family.

``exit_status``: 0 both hold, 1 the law is rejected, 3 the law holds but the contract fails.
The target is called through a
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
from harness.checker.plans import NO_CHECKS, PlannedCheck, plan_for, power_targets, select
from harness.checker.probes import Finding, probe_target
from harness.checker.protocol import check_protocol
from harness.checker.reproduce import reproduce_template
from harness.checker.targets import resolve
from harness.checks import error_verdict
from harness.context import RunContext
from harness.seeds import validate_seed
from harness.verdict import Verdict, format_verdict, judge_family

__all__ = ["CheckResult", "check_sampler", "assert_conforms", "ConformanceError", "validate_timeout", "verdict_group"]


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
    def law_verdicts(self) -> list[Verdict]:
        """Verdicts of the law: statistical law checks and gradient identities."""
        return [v for v in self.verdicts if verdict_group(v) == "law"]

    @property
    def contract_verdicts(self) -> list[Verdict]:
        """Verdicts of the contract plan checks (dtype / shape contract)."""
        return [v for v in self.verdicts if verdict_group(v) == "contract"]

    @property
    def contract_findings(self) -> list[Finding]:
        """Every probe finding (all findings are contract)."""
        return list(self.findings)

    @property
    def law_passed(self) -> bool:
        """Every law verdict passed (vacuously true when no law check ran: see ``headline``)."""
        return all(v.passed is True for v in self.law_verdicts)

    @property
    def contract_passed(self) -> bool:
        """Every contract verdict passed and no finding has severity ``fail``."""
        return all(v.passed is True for v in self.contract_verdicts) and not self.failed_findings

    @property
    def passed(self) -> bool:
        """Both the law and the contract hold."""
        return self.law_passed and self.contract_passed

    @property
    def exit_status(self) -> int:
        """0 both hold, 1 the law is rejected, 3 the law holds but the contract fails."""
        if not self.law_passed:
            return 1
        return 0 if self.contract_passed else 3

    @property
    def headline(self) -> str:
        """One line, law first: ``law HOLDS (...); contract FAILS (...)``."""
        return f"law {self._law_phrase()}; contract {self._contract_phrase()}"

    def _law_phrase(self) -> str:
        lv = self.law_verdicts
        if not lv:
            return "NOT CHECKED (no law check selected)"
        bad = [v for v in lv if v.passed is not True]
        stat = sum(1 for v in lv if v.pvalue is not None)
        scope = f"{len(lv)} checks, Holm family of {stat} at alpha {self.alpha:g}"
        if not bad:
            return f"HOLDS ({scope})"
        return f"REJECTED ({len(bad)} of {scope} fail: {_names([v.check for v in bad])})"

    def _contract_phrase(self) -> str:
        cv, fs = self.contract_verdicts, self.findings
        if not cv and not fs:
            return "NOT CHECKED (no probes, no contract checks)"
        bad_v = [v.check for v in cv if v.passed is not True]
        bad_f = [f.probe for f in self.failed_findings]
        scope = [f"{len(cv)} checks"] if cv else []
        scope += [f"{len(fs)} probe findings"] if fs else []
        if not bad_v and not bad_f:
            return f"HOLDS ({', '.join(scope)}, {len(self.warnings)} warnings)"
        fails = [f"{len(bad_v)} of {len(cv)} checks"] if bad_v else []
        fails += [f"{len(bad_f)} of {len(fs)} probe findings"] if bad_f else []
        return f"FAILS ({' and '.join(fails)} fail: {_names(bad_v + bad_f)})"

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
        """``format_verdict`` of every failing verdict (law first), then the failing findings."""
        bad = [v for v in self.law_verdicts + self.contract_verdicts if v.passed is not True]
        parts = [format_verdict(v) for v in bad]
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

        law_bad = [v.check for v in self.law_verdicts if v.passed is not True]
        con_bad = [v.check for v in self.contract_verdicts if v.passed is not True]
        return _json_safe({
            "target": self.target, "kind": self.kind, "budget": self.budget, "seed": self.seed,
            "alpha": self.alpha, "family_size": self.family_size, "passed": self.passed,
            "exit_status": self.exit_status, "headline": self.headline,
            "law": {"passed": self.law_passed, "checks": len(self.law_verdicts), "failed": law_bad,
                    "family_size": self.family_size, "alpha": self.alpha},
            "contract": {"passed": self.contract_passed, "checks": len(self.contract_verdicts),
                         "failed_checks": con_bad, "findings": len(self.findings),
                         "failed_findings": [f.probe for f in self.failed_findings],
                         "warnings": len(self.warnings)},
            "seconds": self.seconds, "timings": self.timings, "plan": self.plan, "info": self.info,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "findings": [f.to_dict() for f in self.findings],
            "caught_by": self.caught_by(),
        })

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), indent=kw.pop("indent", 2), **kw)


def verdict_group(v: Verdict) -> str:
    """``"law"`` or ``"contract"`` (``details["group"]``; a verdict without one is law)."""
    return "contract" if v.details.get("group") == "contract" else "law"


def _names(ids: list[str], limit: int = 4) -> str:
    ids = list(dict.fromkeys(ids))
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def validate_timeout(timeout: Any) -> float | None:
    """``None`` (no timeout) or a positive finite number of seconds; ``ValueError`` otherwise
    (0, negative, NaN and inf are refused: a hung target must be stopped, and 'no timeout' is
    spelled ``None`` / ``--timeout none``)."""
    if timeout is None:
        return None
    import math
    import numbers

    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not math.isfinite(float(timeout)) \
            or float(timeout) <= 0:
        raise ValueError(f"timeout must be a positive finite number of seconds, or None for no timeout; got "
                         f"{timeout!r}")
    return float(timeout)


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
    seed: run seed, an integer in ``[0, 2**64)`` (others raise ``ValueError``: they would alias);
        each check's seed is derived from it and the check id.
    timeout: per-call timeout in seconds, positive and finite (None: no timeout); a hung call is a
        FAIL. 0, negative, NaN and inf raise ``ValueError``.
    only: check ids or prefixes (``"T1.law"``, ``["C2.scale", "G4"]``, ``"T1.law,T1.tail"``) to
        run a subset (the Holm family is then that subset); every pattern must match (else
        ``ValueError`` naming the valid ids); ``"none"``: no plan check (probes only); an empty
        selection is an error. ``probes``/``adversarial`` default to True for a full run and for
        ``only="none"``, False with other ``only`` (pass True to force them).
    Returns a :class:`CheckResult`; raises only for unusable arguments (``ValueError``,
    :class:`~harness.checker.targets.TargetLoadError`, and its subclass
    :class:`~harness.checker.protocol.ProtocolMismatch` when one trial call shows that the
    callable does not fit ``kind``), never for the target's behaviour in the checks.
    """
    t_start = time.perf_counter()
    seed = validate_seed(seed)
    timeout = validate_timeout(timeout)
    fn, kind, tname, builtin = resolve(target, kind)
    tname = name or tname
    b = get_budget(budget)
    plan = select(plan_for(kind, b), only)
    if probes is None:  # on for a full run and for only="none" (probes only), off for a subset
        probes = only is None or (isinstance(only, str) and only.strip() == NO_CHECKS)
    if adversarial is None:
        adversarial = probes
    if not plan and not probes and not adversarial:
        raise ValueError("nothing to run: no plan check selected and the probes are off")
    family = max(1, sum(c.size for c in plan if c.group == "law"))
    mutant = tname.startswith("mutant:")
    ctx = RunContext(budget=b, seed=seed, family_size=family, device=device,
                     reproduce=reproduce_template(target, fn, tname, kind, b.name, seed,
                                                  builtin=builtin is not None, mutant=mutant))
    guard = GuardedTarget(fn, timeout, name=tname)
    check_protocol(fn, kind, tname, call=guard)
    verdicts: list[Verdict] = []
    timings: dict[str, float] = {}
    from harness.progress import progress as _progress

    for pc in _progress(plan, total=len(plan), desc=f"check {tname}", enabled=progress):
        t0 = time.perf_counter()
        vs = _run_planned(pc, guard, ctx)
        dt = time.perf_counter() - t0
        timings[pc.id] = dt
        verdicts += [replace(v, details={**dict(v.details), "plan_check": pc.id, "group": pc.group,
                                         "seconds": round(dt, 3)})
                     for v in vs]
    findings: list[Finding] = []
    power = power_targets(kind, b, family)
    ids = {c.id for c in plan}
    power = {k: v for k, v in power.items() if not isinstance(v, dict) or v.get("check") in ids}
    info: dict[str, Any] = {"versions": _versions(), "timeout_s": timeout, "power": power}
    if builtin is not None:
        info["builtin"] = {"description": builtin.description, "expect_pass": builtin.expect_pass,
                           "expected": builtin.expected(b.name),
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
    judged = _judge(verdicts, b.alpha)
    if guard.hung:
        info["hung"] = guard.hung
    return CheckResult(
        target=tname, kind=kind, budget=b.name, seed=int(seed), alpha=b.alpha, family_size=family,
        verdicts=judged, findings=findings, timings={k: round(v, 3) for k, v in timings.items()},
        seconds=round(time.perf_counter() - t_start, 3),
        plan=[{"id": c.id, "claim": c.claim, "title": c.title, "size": c.size, "column": c.column, "group": c.group}
              for c in plan],
        info=info,
    )


def _judge(verdicts: list[Verdict], alpha: float) -> list[Verdict]:
    """Holm: the law's statistical verdicts are the run's family (the one whose size the power
    statements use); statistical contract verdicts, if a plan has any, are a family of their own.
    Order is kept; verdicts without a group (extras) are law."""
    groups = [verdict_group(v) for v in verdicts]
    out = list(verdicts)
    for g in ("law", "contract"):
        idx = [i for i, x in enumerate(groups) if x == g]
        for i, v in zip(idx, judge_family([verdicts[i] for i in idx], alpha)):
            out[i] = replace(v, details={**dict(v.details), "group": g})
    return out


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


def assert_conforms(target: Any, kind: str | None = None, *, law_only: bool = False, **kwargs: Any) -> CheckResult:
    """Run :func:`check_sampler` and raise :class:`ConformanceError` (an ``AssertionError``) with a
    readable report (the headline, law first, the tables, then ``format_verdict`` of every
    failure) unless the law and the contract hold (``law_only=True``: unless the law holds).
    Returns the result otherwise."""
    res = check_sampler(target, kind, **kwargs)
    ok = res.law_passed if law_only else res.passed
    if not ok:
        raise ConformanceError(f"{res.target} does not conform ({res.kind}, budget {res.budget}, seed {res.seed}): "
                               f"{res.headline}\n\n{res.report()}", res)
    return res
