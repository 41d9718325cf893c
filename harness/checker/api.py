"""The Python API of the checker: :func:`check_sampler` -> :class:`CheckResult`, and
:func:`assert_conforms` for tests.

A check run = the plan of the target's kind (:mod:`harness.kinds`), plus the findings
of the bad-input, adversarial and contract probes (the kind's, :meth:`harness.kinds.Kind.probe`;
:mod:`harness.probes.contract`). The result has two verdicts:

* the **law** (``group == "law"`` plan checks: the statistical law checks and the gradient
  identities). Its statistical verdicts form **one Holm family** at ``budget.alpha``
  (``ctx.family_size`` is the real count, so the power statements hold for this run); a crash
  or hang of the target inside a law check is a law FAIL.
* the **contract** (``group == "contract"`` plan checks: dtype / shape contract, and every
  probe Finding: bad inputs, adversarial streams, precision, reproducibility). Contract checks
  are deterministic; any statistical contract verdict would be judged as its own Holm family.

``exit_status``: 0 both hold, 1 the law is rejected, 3 the law holds but the contract fails.
The target's steps run in a supervised worker process (``isolation="process"``,
:mod:`harness.run.supervisor`; the contract findings of the run, global state, inputs,
threads, output, come from :mod:`harness.run.steps`) or in this process through a
:class:`~harness.run.guard.GuardedTarget` (``isolation="none"``: per-call timeout in a
thread, exceptions -> FAIL, unprotected against crashes and exits).
"""
from __future__ import annotations

import json
import platform
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from harness.core.budgets import get_budget
from harness.run.guard import DEFAULT_TIMEOUT, FreshGuard, GuardedTarget
from harness.run.guard import FreshGuard as _FreshGuard  # noqa: F401 - old name
from harness.kinds import NO_CHECKS, get_kind, not_applicable, plan_for, power_targets, runnable, select
from harness.probes.findings import Finding
from harness.targets.protocol import ProtocolMismatch, check_protocol
from harness.checker.reproduce import reproduce_template
from harness.run.steps import EXTRA, PROBES, GlobalState, StepRunner, Watched, failure, step_ids, tag, trial_notes
from harness.run.supervisor import DEFAULT_MEMORY_LIMIT, Session, format_bytes, parse_memory, pickle_target
from harness.targets.loading import TargetLoadError, TargetSpec, describe, load
from harness.checks.builders import error_verdict
from harness.core.context import RunContext
from harness.core.seeds import validate_seed
from harness.core.verdict import Verdict, format_verdict, judge_family

__all__ = ["CheckResult", "check_sampler", "assert_conforms", "ConformanceError", "validate_timeout", "verdict_group",
           "UnprotectedWarning", "ISOLATIONS"]

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
        scope = f"{len(lv)} checks, Holm family of {self.family_size} at alpha {self.alpha:g}"
        under = self.info.get("law_under")
        if under:
            scope = f"{under}: {scope}"
        na = self.info.get("not_applicable") or []
        if na:
            scope += f"; {len(na)} not applicable: {_names([d['id'] for d in na], 3)}"
        if not bad:
            return f"HOLDS ({scope})"
        return f"REJECTED ({len(bad)} of {scope} fail: {_names([v.check for v in bad])})"

    @property
    def contract_checked(self) -> bool:
        """Some contract check or probe actually ran (findings that only say "not probed", e.g.
        after the target was killed twice, do not count)."""
        return bool(self.contract_verdicts) or any(f.outcome != "not probed" for f in self.findings)

    def _contract_phrase(self) -> str:
        cv, fs = self.contract_verdicts, self.findings
        if not self.contract_checked:
            why = "; ".join(sorted({f.detail for f in fs if f.outcome == "not probed"}))[:200]
            return "NOT CHECKED (" + (why or "no probes, no contract checks") + ")"
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
        from harness.output.terminal import text_table

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
        from harness.output.terminal import text_report

        return text_report(self, findings=findings)

    def __str__(self) -> str:
        return self.report()

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        from harness.core.verdict import _json_safe

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

    def to_json(self, *, full: bool = False, **kw) -> str:
        """The result as JSON: verdicts and findings, with the long arrays behind the figures
        replaced by references into :meth:`arrays` (``full=True``: inline, as :meth:`to_dict`)."""
        from harness.output.bulk import split_bulk

        data = self.to_dict() if full else split_bulk(self.to_dict())[0]
        return json.dumps(data, indent=kw.pop("indent", 2), **kw)

    def arrays(self) -> dict[str, Any]:
        """The long arrays that :meth:`to_json` leaves out, by their JSON path
        (:mod:`harness.output.bulk`; ``--out`` writes them to ``arrays.npz``)."""
        from harness.output.bulk import split_bulk

        return split_bulk(self.to_dict())[1]


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
    options: dict[str, Any] | None = None,
    **kind_options: Any,
) -> CheckResult:
    """Check a sampler against the claims for its kind.

    Parameters
    ----------
    target: a callable following one of the protocols (README, :mod:`harness.checks.samplers`), a
        ``"module:callable"`` string, or a built-in target name (:data:`BUILTINS`).
    kind: a registered kind (:func:`harness.kinds.kind_names`: ``"categorical"``, ``"relaxed"``,
        ``"noise"``, ``"torch"``, ``"token"``, the ``jax-*`` kinds); optional for built-ins
        and for callables with a ``gumbel_harness_kind`` attribute.
    budget: ``"quick"``, ``"standard"`` (the issue-5 power guarantees) or ``"thorough"``, or a
        :class:`~harness.core.budgets.Budget`.
    seed: run seed, an integer in ``[0, 2**64)`` (others raise ``ValueError``: they would alias);
        each check's seed is derived from it and the check id.
    timeout: per-call timeout in seconds, positive and finite (None: no timeout); a hung call is a
        FAIL. 0, negative, NaN and inf raise ``ValueError``.
    only: check ids or prefixes (``"T1.law"``, ``["C2.scale", "G4"]``, ``"T1.law,T1.tail"``) to
        run a subset (the Holm family is then that subset); every pattern must match (else
        ``ValueError`` naming the valid ids); ``"none"``: no plan check (probes only); an empty
        selection is an error. ``probes``/``adversarial`` default to True for a full run and for
        ``only="none"``, False with other ``only`` (pass True to force them).
    isolation: ``"process"`` (default): the target runs in a supervised worker process, so a
        crash, ``os._exit``, hang, memory blow-up, printing or global-state change cannot end,
        hang or alter this process; ``"none"``: in this process, calls in a daemon thread with
        the timeout (unprotected). A callable that cannot be pickled even by value
        (cloudpickle) runs with ``"none"`` and an :class:`UnprotectedWarning`.
    memory_limit: bytes (or ``"8G"``, ``"512M"``; None/0: none) of resident memory the worker
        may use (``isolation="process"``).
    options / keyword options: the kind's run options (:attr:`harness.kinds.Kind.options`; the
        token kind: ``law="vllm"``, ``filters="temperature,top_k"``, ``params="scalar"``,
        ``rng="global"``), over the target's ``gumbel_harness_<name>`` attributes; an option the
        kind does not declare raises ``ValueError``. Checks the options make meaningless are
        listed in ``info["not_applicable"]`` and not run.
    Returns a :class:`CheckResult`; raises only for unusable arguments (``ValueError``,
    :class:`~harness.targets.loading.TargetLoadError`, and its subclass
    :class:`~harness.targets.protocol.ProtocolMismatch` when one trial call shows that the
    callable does not fit ``kind``), never for the target's behaviour in the checks.
    """
    t_start = time.perf_counter()
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}")
    seed = validate_seed(seed)
    timeout = validate_timeout(timeout)
    spec = describe(target, kind)
    tname = name or spec.name
    b = get_budget(budget)
    mem = parse_memory(memory_limit)
    explicit = {**(options or {}), **kind_options}
    if spec.kind is not None:
        early_opts = get_kind(spec.kind).resolve(explicit)  # a bad option is a usage error here
        if only is not None:  # a bad --only is a usage error before any worker starts
            select(plan_for(spec.kind, b, early_opts), only)
    iso: dict[str, Any] = {"mode": isolation}
    session = None
    opts = None
    if isolation == "process":
        session, kind, iso, early, opts = _start_session(spec, tname, b, timeout, mem, iso, explicit)
        if early is not None:  # the target could not even be loaded in a worker
            return _load_failure(early, spec, tname, b, seed, only, timeout, iso, t_start)
    try:
        if session is None:
            fn, kind = load(spec)
            from harness.core.options import target_attributes

            opts = get_kind(kind).resolve(explicit, target_attributes(fn, get_kind(kind).options))
        full_plan = select(plan_for(kind, b, opts), only)
        plan = runnable(full_plan)
        if any(c.group == "law" for c in full_plan) and not any(c.group == "law" for c in plan):
            raise ValueError("every selected law check is not applicable under "
                             f"{_options_text(opts) or 'the options'} ("
                             + "; ".join(f"{d['id']}: {d['why']}" for d in not_applicable(full_plan)[:3])
                             + "): the law cannot be judged on nothing; select checks that apply")
        if probes is None:  # on for a full run and for only="none" (probes only), off for a subset
            probes = only is None or (isinstance(only, str) and only.strip() == NO_CHECKS)
        if adversarial is None:
            adversarial = probes
        if not plan and not probes and not adversarial:
            raise ValueError("nothing to run: no plan check selected and the probes are off")
        family = max(1, sum(c.size for c in plan if c.group == "law"))
        mutant = tname.startswith("mutant:")
        ctx = RunContext(budget=b, seed=seed, family_size=family, device=device, options=opts,
                         reproduce=reproduce_template(target, spec.ref if spec.source == "object" else None, tname,
                                                      kind, b.name, seed, builtin=spec.builtin is not None,
                                                      mutant=mutant))
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
            state = GlobalState(kind, opts)
            before, trial = state.capture(), Watched(guard, tname)
            try:
                check_protocol(fn, kind, tname, call=trial, options=opts)  # (in a worker: while the target is loaded)
            finally:
                trial_audit = trial_notes(state, before, trial)
            ptimeout = None if timeout is None else min(timeout, 60.0)
            runner = StepRunner(kind, ctx, plan, plan_fn=Watched(guard, tname),
                                probe_fn=Watched(FreshGuard(fn, ptimeout, tname), tname), builtin=builtin,
                                probes=bool(probes), adversarial=bool(adversarial))
            run_step = runner.run
        verdicts: list[Verdict] = []
        findings: list[Finding] = []
        timings: dict[str, float] = {}
        notes: dict[tuple[str, str], list] = {}
        for probe, key, detail in (session.trial_notes if session is not None else trial_audit):
            notes.setdefault((probe, key), [detail, []])[1].append("the protocol trial call")
        info: dict[str, Any] = {"versions": _versions(), "timeout_s": timeout}
        if opts:
            info["options"] = dict(opts)
            info["options_given"] = opts.given()
            under = ", ".join(o.headline.format(opts[o.name]) for o in get_kind(kind).options if o.headline)
            if under:
                info["law_under"] = under
        info["not_applicable"] = not_applicable(full_plan)
        groups = {c.id: c.group for c in plan}
        from harness.core.progress import progress as _progress

        for step in _progress(steps, total=len(steps), desc=f"check {tname}", enabled=progress):
            res = run_step(step)
            timings[step] = res.seconds
            verdicts += res.verdicts if step in (EXTRA, PROBES) else tag(res.verdicts, step, res.seconds,
                                                                         groups.get(step, "law"))
            findings += res.findings
            info.update(res.info)
            for probe, key, detail in res.notes:
                notes.setdefault((probe, key), [detail, []])[1].append(step)
    finally:
        if session is not None:
            iso.update(session.close())
    findings += _contract_findings(notes, iso)
    power = power_targets(kind, b, family, device=device)
    ids = {c.id for c in plan}
    info["power"] = {k: v for k, v in power.items() if not isinstance(v, dict) or v.get("check") in ids}
    if builtin is not None:
        info["builtin"] = {"description": builtin.description, "expect_pass": builtin.expect_pass,
                           "expected": builtin.expected(b.name),
                           "notes": builtin.notes}
    if guard is not None and guard.hung:
        info["hung"] = guard.hung
    _isolation_info(info, iso, mem)
    judged = _judge(verdicts, b.alpha)
    return CheckResult(
        target=tname, kind=kind, budget=b.name, seed=int(seed), alpha=b.alpha, family_size=family,
        verdicts=judged, findings=findings, timings={k: round(v, 3) for k, v in timings.items()},
        seconds=round(time.perf_counter() - t_start, 3), plan=_plan_rows(plan), info=info,
    )


def _options_text(opts: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in (opts.given() if opts else {}).items())


def _plan_rows(plan: list) -> list[dict[str, Any]]:
    return [{"id": c.id, "claim": c.claim, "title": c.title, "size": c.size, "column": c.column, "group": c.group}
            for c in plan]


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


def _start_session(spec: TargetSpec, tname: str, b, timeout: float | None, mem: int | None, iso: dict,
                   explicit: dict | None = None):
    """``(session | None, kind, iso, early_failure | None, options | None)``: a worker with the
    target loaded and the run's options resolved (``explicit`` over the target's attributes, read
    in the worker), or the in-process fallback (``session`` None) for a target that cannot be
    pickled."""
    return _finish_session(_begin_session(spec, tname, timeout, mem, iso), spec, tname, b, iso, explicit)


def _begin_session(spec: TargetSpec, tname: str, timeout: float | None, mem: int | None, iso: dict):
    """The first half of :func:`_start_session`: a :class:`Session` whose worker is sent the target
    (the caller may start another one meanwhile), or None (the target cannot be pickled: ``iso``
    says so)."""
    if spec.source == "object":
        data, why = pickle_target(spec.ref)
        if data is None:
            iso.update(_unprotected(tname, f"it cannot be pickled, even by value ({why})"))
            return None
        payload = ("object", data)
    else:
        payload = (spec.source, spec.ref)
    session = Session(payload, spec.kind, tname, timeout=timeout, memory_limit=mem)
    session.begin()
    return session


def _finish_session(session, spec: TargetSpec, tname: str, b, iso: dict, explicit: dict | None = None):
    """The second half of :func:`_start_session`: wait for the worker to load the target, resolve
    the run's options and make the protocol trial call."""
    if session is None:
        return None, spec.kind, iso, None, None
    if spec.kind is not None:
        plan_for(spec.kind, b)  # this process's imports for the plan (torch) overlap with the worker's
    reply = session.load()
    if reply[0] == "loaded":
        try:
            opts = get_kind(reply[1]).resolve(explicit, reply[3] if len(reply) > 3 else None)
        except ValueError:
            iso.update(session.close())
            raise
        trial = session.protocol(opts)
        if trial[0] == "load_error":
            iso.update(session.close())
            raise ProtocolMismatch(trial[2])
        session.trial_notes = list(trial[1]) if trial[0] == "protocol_ok" and len(trial) > 1 else []
        return session, reply[1], iso, None, opts
    iso.update(session.close())
    if reply[0] == "load_error":
        raise {"TargetLoadError": TargetLoadError, "ProtocolMismatch": ProtocolMismatch}.get(reply[1], ValueError)(
            reply[2])
    if reply[0] == "unpicklable":
        iso.update(_unprotected(tname, f"it cannot be rebuilt in a worker process ({reply[1]})"))
        return None, spec.kind, iso, None, None
    return None, spec.kind, iso, reply[1], None  # "lost": died or raised SystemExit while loading


def _unprotected(tname: str, why: str) -> dict:
    warnings.warn(UnprotectedWarning(
        f"{tname} runs in this process, UNPROTECTED (isolation='none'): {why}. A crash, os._exit or a "
        "hang of the target can end or hang the run; define it at module level to run it isolated"),
        stacklevel=4)
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
                       family_size=max(1, sum(c.size for c in plan if c.group == "law")),
                       verdicts=_judge([v], b.alpha),
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
    steps), ``contract.processes`` when the target left processes outside the worker's process
    group, and ``contract.output`` when the target printed."""
    out = []
    for (probe, _key), (detail, steps) in notes.items():
        where = f"during {steps[0]}" + (f" and {len(steps) - 1} more step(s)" if len(steps) > 1 else "")
        outcome = {"contract.threads": "thread left running", "contract.input_mutation": "input changed"}.get(
            probe, "global state changed")
        out.append(Finding(probe, where, "contract", outcome, "fail", detail))
    escaped = iso.get("escaped_processes", 0)
    if escaped:
        out.append(Finding("contract.processes", "at the end of the run", "contract", "process left running", "fail",
                           f"the target left {escaped} process(es) running outside the worker's process group "
                           "(started in a new session, e.g. setsid() or a daemon): found by the worker's "
                           "environment token and killed"))
    nbytes = iso.get("output_bytes", 0)
    if nbytes:
        out.append(Finding("contract.output", "stdout/stderr of the worker", "contract", "printed",
                           "warn" if nbytes > QUIET_BYTES else "info",
                           f"the target wrote {format_bytes(nbytes)}: captured in the worker, shown truncated in "
                           "info['target_output'], never mixed into the tool's output"))
    return out


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
