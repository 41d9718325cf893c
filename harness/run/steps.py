"""The steps of one check run and the code that runs one step, the same in both isolation modes.

A run is a list of **steps**: every planned check (by id), then ``"extra"`` (a built-in's extra
check, when it has one and the whole plan runs), then ``"probes"`` (bad-input and adversarial
probes). :class:`StepRunner` runs one step and returns a :class:`StepResult`; it is used by the
supervised worker process (:mod:`harness.run.worker`, ``isolation="process"``) and in the
caller's process (``isolation="none"``), so the verdicts, the seeds and the draws are the same.

Around every step the runner also watches the target's manners (contract observations, turned
into ``contract.*`` findings by :mod:`harness.checker.api`):

* **global state** (``contract.global_state``): NumPy's legacy global RNG, Python's ``random``,
  NumPy's floating-point error settings, and, once torch is imported, torch's default dtype,
  grad mode and (except for the ``torch`` kind, whose protocol makes the harness seed torch
  before every call) torch's global RNG state are compared before and after the step, then
  restored, so every step starts from the same state (in the step that first imports torch,
  only its default dtype and grad mode: torch seeds itself randomly at import);
* **inputs** (``contract.input_mutation``): every NumPy array / torch tensor passed to the target
  is copied before each call and compared (bit for bit, NaN equal to NaN) after it; a contiguous
  input of more than :data:`COMPARED_ELEMENTS` elements on that many evenly spaced elements;
* **threads** (``contract.threads``): non-daemon threads the step left running.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from harness.checks.builders import error_verdict
from harness.kinds.base import get_kind
from harness.run.global_state import GlobalState, trial_notes  # noqa: F401  (re-exported: the worker and the API)
from harness.core.context import RunContext
from harness.checks.samplers import TargetError

__all__ = ["StepResult", "StepRunner", "Watched", "GlobalState", "EXTRA", "PROBES", "step_ids", "failure",
           "trial_notes", "run_planned", "tag", "OBSERVE", "STAGE2", "stage2", "observed"]

EXTRA = "extra"
PROBES = "probes"
#: the run mode of ``compare``: each step draws a plan entry's observables (``StepResult.info``
#: ``["observed"]``) instead of judging them
OBSERVE = "observe"
#: suffix of the step that draws an entry's observables for stage 2 of the confirmation (the
#: confirmation context: fresh, independent draws)
STAGE2 = "@2"


def stage2(step: str) -> str:
    """The stage-2 step of ``step`` (``compare``'s confirmation)."""
    return step + STAGE2


def observed(res: "StepResult") -> dict | None:
    """The observables a step of an ``observe`` run drew, or None when it failed (its verdicts
    then say why)."""
    return res.info.get("observed")


def step_ids(plan: list, *, extra: bool, probes: bool) -> list[str]:
    """The steps of a run in order: plan check ids, ``extra``, ``probes``."""
    return [c.id for c in plan] + ([EXTRA] if extra else []) + ([PROBES] if probes else [])


@dataclass
class StepResult:
    """What one step produced. ``notes``: contract observations ``(probe, key, detail)``."""

    step: str
    verdicts: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    seconds: float = 0.0
    notes: list = field(default_factory=list)


# ------------------------------------------------------------------ inputs ----------------

#: inputs with more elements are compared on this many evenly spaced elements (README)
COMPARED_ELEMENTS = 1 << 20


def _copy(x: Any) -> Any:
    """What is kept of an input array/tensor to check it after the call: all of it, or for a
    large contiguous one ``COMPARED_ELEMENTS`` evenly spaced elements (a copy of 128 MB per
    call would cost more than the call); None for anything else."""
    torch = sys.modules.get("torch")
    if isinstance(x, np.ndarray):
        flat = x.reshape(-1) if x.flags.c_contiguous and x.size > COMPARED_ELEMENTS else None
        sample = flat[:: -(-x.size // COMPARED_ELEMENTS)] if flat is not None else x
        return (x.shape, x.dtype, flat is not None, sample.copy())
    if torch is not None and isinstance(x, torch.Tensor):
        t = x.detach()
        big = t.is_contiguous() and t.numel() > COMPARED_ELEMENTS
        sample = t.view(-1)[:: -(-t.numel() // COMPARED_ELEMENTS)] if big else t
        return (tuple(t.shape), t.dtype, big, sample.clone())
    return None


def _same(x: Any, kept: tuple) -> bool:
    """``x`` has the shape, dtype and (NaN equal to NaN) values it had when ``kept`` was taken."""
    shape, dtype, big, b = kept
    if isinstance(x, np.ndarray):
        if x.shape != shape or x.dtype != dtype:
            return False
        a = x.reshape(-1)[:: -(-x.size // COMPARED_ELEMENTS)] if big else x
        return bool(np.array_equal(a, b)) or (a.dtype.kind in "fc" and bool(np.array_equal(a, b, equal_nan=True)))
    torch = sys.modules["torch"]
    t = x.detach()
    if tuple(t.shape) != shape or t.dtype != dtype:
        return False
    a = t.reshape(-1)[:: -(-t.numel() // COMPARED_ELEMENTS)] if big else t
    if torch.equal(a, b):
        return True
    if a.is_floating_point() or a.is_complex():
        return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
    return False


class Watched:
    """The target as the checks see it: notifies ``notify(True/False)`` around each call (the
    worker tells the supervisor), turns any exception of the call into :class:`TargetError`
    (``catch``: the BaseExceptions converted too: ``SystemExit`` always), and records input
    arrays/tensors the call changed in ``mutations``."""

    def __init__(self, fn: Callable, name: str, notify: Callable[[bool], None] | None = None,
                 catch: tuple = (SystemExit,)):
        self.fn, self.name, self.notify, self.catch = fn, name, notify, catch
        self.mutations: list[str] = []
        self.returned = 0

    def __getattr__(self, item: str) -> Any:  # attributes of the wrapped callable
        if item in ("fn", "name", "notify", "catch", "mutations", "returned"):
            raise AttributeError(item)
        return getattr(self.fn, item)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        items = list(enumerate(args)) + list(kwargs.items())
        before = [(k, v, _copy(v)) for k, v in items]
        if self.notify:
            self.notify(True)
        try:
            out = self.fn(*args, **kwargs)
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001 - the target's failure, reported
            raise TargetError(f"{self.name} raised {type(exc).__name__}: {exc}") from exc
        except self.catch as exc:
            code = f"({exc.code!r})" if isinstance(exc, SystemExit) else ""
            raise TargetError(f"{self.name} raised {type(exc).__name__}{code}: an attempt to end the "
                              "process") from None
        finally:
            if self.notify:
                self.notify(False)
        self.returned += 1
        for k, v, c in before:
            if c is not None and not _same(v, c):
                where = f"argument {k}" if isinstance(k, int) else f"argument {k}="
                self.mutations.append(f"the call changed its input ({where}, {type(v).__name__} of shape "
                                      f"{tuple(v.shape)}) in place")
        return out


# ------------------------------------------------------------------ the runner ------------

class StepRunner:
    """Runs the steps of one check run on ``plan_fn`` (plan checks, extra) and ``probe_fn``
    (probes), both :class:`Watched` targets. ``catch``: the BaseExceptions that become a FAIL
    when raised outside a call (``SystemExit`` in ``__array__`` or in a backward pass)."""

    def __init__(self, kind: str, ctx: RunContext, plan: list, *, plan_fn: Watched, probe_fn: Watched,
                 builtin: Any = None, probes: bool = True, adversarial: bool = True,
                 catch: tuple = (SystemExit,), mode: str = "check"):
        self.kind, self.ctx, self.builtin = kind, ctx, builtin
        self.plan = {c.id: c for c in plan}
        self.mode = mode
        if mode == OBSERVE:  # each entry is drawn twice at most: stage 1 and the confirmation's stage 2
            self.plan.update({stage2(c.id): c for c in plan})
        self.plan_fn, self.probe_fn = plan_fn, probe_fn
        # the target as the checks call it: behind the kind's adapter for the run's options
        # (outside Watched, so each call the adapter makes is watched)
        k = get_kind(kind)
        self.plan_call = k.wrapped(plan_fn, ctx.options)
        self.probe_call = k.wrapped(probe_fn, ctx.options)
        self.probes, self.adversarial, self.catch = probes, adversarial, catch

    def run(self, step: str, hook: Any = None) -> StepResult:
        # the harness seeds torch itself for the torch kind and in the built-ins' extra check
        state = GlobalState(None if step == EXTRA else self.kind, self.ctx.options)
        before = state.capture()
        watched = list({id(f): f for f in (self.plan_fn, self.probe_fn)}.values())
        n_mut = [len(f.mutations) for f in watched]
        t0 = time.perf_counter()
        res = StepResult(step)
        try:
            self._body(step, res, hook)
        except Exception:
            raise
        except self.catch as exc:
            code = f"({exc.code!r})" if isinstance(exc, SystemExit) else ""
            cause = (f"the target raised {type(exc).__name__}{code} outside its call (while its output was "
                     "converted or differentiated, e.g. in __array__ or a backward pass): an attempt to end "
                     "the process")
            self._fail(step, res, cause)
        res.seconds = time.perf_counter() - t0
        res.notes = state.changes(before)
        muts = [m for f, n in zip(watched, n_mut) for m in f.mutations[n:]]
        if muts:
            res.notes.append(("contract.input_mutation", "input", f"{muts[0]} ({len(muts)} call(s) in this step)"))
        return res

    def _fail(self, step: str, res: StepResult, cause: str) -> None:
        f = failure(step, cause, self.plan, self.ctx)
        res.verdicts, res.findings = f.verdicts, f.findings

    def _body(self, step: str, res: StepResult, hook: Any) -> None:
        from harness.probes.findings import Finding

        if step in self.plan and self.mode == OBSERVE:
            res.verdicts, res.info = run_observed(self.plan[step], self.plan_call, self.ctx, step.endswith(STAGE2))
        elif step in self.plan:
            res.verdicts = run_planned(self.plan[step], self.plan_call, self.ctx)
        elif step == EXTRA:
            try:
                res.verdicts, res.findings, res.info = self.builtin.extra(self.ctx)
            except Exception as exc:  # noqa: BLE001
                res.verdicts = [error_verdict("extra", "extra", "extra check", exc)]
        elif step == PROBES:
            try:
                res.findings = get_kind(self.kind).probe(self.probe_call, seed=self.ctx.seed_for("probe"),
                                                         adversarial=self.adversarial, bad_inputs=self.probes,
                                                         hook=hook, options=self.ctx.options)
            except Exception as exc:  # noqa: BLE001 - never crash on the target's account
                res.findings = [Finding("probe", "the probe itself", "valid", "invalid output", "warn",
                                        f"probe aborted: {type(exc).__name__}: {exc}")]
        else:
            raise ValueError(f"unknown step {step!r}")


def failure(step: str, cause: str, plan: dict, ctx: RunContext, *, outcome: str = "crash") -> StepResult:
    """The result of a step that could not complete: a FAIL verdict naming ``cause`` for a plan
    check or the extra check, a failing finding (``outcome`` "crash" or "hang") for the probes."""
    from harness.probes.findings import Finding

    res = StepResult(step)
    if step in plan:
        pc = plan[step]
        res.verdicts = [error_verdict(pc.claim, pc.id, pc.title, cause, seed=ctx.seed_for(pc.id),
                                      alpha=ctx.alpha, reproduce=ctx.repro(pc.id))]
    elif step == EXTRA:
        res.verdicts = [error_verdict("extra", "extra", "extra check", cause, alpha=ctx.alpha)]
    else:
        res.findings.append(Finding("probe", "the probe run", "valid", outcome,
                                    "info" if outcome == "not probed" else "fail", cause))
    return res


def run_planned(pc: Any, fn: Callable, ctx: RunContext) -> list:
    """Run one planned check; a harness-side exception becomes a FAIL naming it (never a crash)."""
    try:
        vs = pc.run(fn, ctx)
    except Exception as exc:  # noqa: BLE001
        return [error_verdict(pc.claim, pc.id, pc.title, f"check aborted: {type(exc).__name__}: {exc}",
                              seed=ctx.seed_for(pc.id), alpha=ctx.alpha)]
    if not vs:
        return [error_verdict(pc.claim, pc.id, pc.title, "the check returned no verdict", alpha=ctx.alpha)]
    return vs


def run_observed(pc: Any, fn: Callable, ctx: RunContext, second: bool) -> tuple[list, dict]:
    """``([], {"observed": {suffix: array}})``: the observables of one plan entry (stage 2 under
    the confirmation context), or ``([FAIL verdict], {})`` naming the target's misbehaviour or a
    harness-side exception."""
    from harness.checks.confirmation import confirmation_context

    c = confirmation_context(ctx) if second else ctx
    try:
        got = pc.observe(fn, c)
    except TargetError as exc:
        return [error_verdict(pc.claim, pc.id, pc.title, f"target error: {exc}", seed=c.seed_for(pc.id),
                              alpha=ctx.alpha)], {}
    except Exception as exc:  # noqa: BLE001
        return [error_verdict(pc.claim, pc.id, pc.title, f"draw aborted: {type(exc).__name__}: {exc}",
                              seed=c.seed_for(pc.id), alpha=ctx.alpha)], {}
    return [], {"observed": {k: np.asarray(v) for k, v in got.items()}}


def tag(vs: list, step: str, seconds: float, group: str = "law") -> list:
    """Verdicts of ``step`` with ``details["plan_check"]``, ``details["group"]`` (the plan
    check's: "law" or "contract") and ``details["seconds"]``."""
    return [replace(v, details={**dict(v.details), "plan_check": step, "group": group, "seconds": round(seconds, 3)})
            for v in vs]
