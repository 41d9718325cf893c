"""What a sampler kind is: one :class:`Kind` object per kind, and the registry that the rest of
the harness asks.

A kind is everything the harness knows about one family of samplers (the protocol a target
follows, its checks, its probes, its built-in targets, its power statements). Each lives in one
module of :mod:`harness.kinds` that builds a :class:`Kind` and registers it; the machinery
(running a step, the supervisor and worker, Holm, rendering, the CLI) asks the registered
:class:`Kind` and never branches on a kind's name, as scipy's machinery never asks an
``rv_continuous`` subclass its name. Adding a kind is adding one module (or registering a
:class:`Kind` from your own code: :func:`register`).

=====================  ====================================================================
field                  what it is
=====================  ====================================================================
``name``               the ``--kind`` value
``signature``          the call, as a user reads it (protocol-mismatch messages, docs)
``plan(budget)``       the :class:`PlannedCheck` s; ``plan(budget, options)`` with ``options``
``options``            run options (:class:`~harness.core.options.Option`: flag, keyword, attribute)
``wrap(fn, options)``  the target as the harness calls it under the options (adapters), or None
``trial()``            ``(args, kwargs, expected output shape)`` of the one protocol trial call
``bad_inputs``         ``(fn, rec, seed)``: the bad-input cases, recorded on a
                       :class:`~harness.probes.findings.Recorder`
``adversarial``        ``(fn, rec, seed)``: the forced-RNG-stream cases
``reach``              a :class:`~harness.probes.reach.ReachStrategy` (precision reach)
``contract``           ``(fn, seed) -> [Finding]``: reproducibility, precision, input mutation
``power(b, m, dev)``   the kind's power statements for a run of family size ``m``
``builtins``           its :class:`BuiltinTarget` s
``seeds_torch``        the protocol makes the harness seed torch's global RNG (torch kind): the
                       global-state check does not report torch RNG changes; a callable
                       ``seeds_torch(options)`` when an option decides it
``preload``            modules a worker imports before the target (``("torch",)``)
``adapt`` / ``base``   a kind that is another kind's protocol behind an adapter (the JAX kinds:
                       ``adapt(fn)`` is a ``base``-kind callable)
``external``           how a command template or a fixed sample reaches the kind
                       (:class:`ExternalProtocol`), None when they cannot
=====================  ====================================================================

**Compare** (``gumbel-harness compare A B``): a plan entry whose body is a :class:`Compared`
also says what it *observes* -- ``observe(fn, ctx, id) -> {suffix: array}``, the count tables or
samples of a continuous statistic its check judges, drawn exactly as the check draws them --
and :meth:`Kind.compare_plan` is the plan's entries that do. The checker draws each entry's
observables from both targets and judges them with the two-sample tests
(:mod:`harness.checker.compare`); a kind adds compare support by wrapping its bodies, nothing
else.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from harness.checks.confirmation import confirm_verdicts, confirmation_context
from harness.core.budgets import Budget
from harness.core.context import RunContext
from harness.core.options import Option, Options, resolve_options
from harness.core.verdict import Verdict
from harness.kinds.builtin import BuiltinTarget
from harness.kinds.compared import COUNTS, SAMPLES, Compared, Observable, _Observe

__all__ = ["Kind", "PlannedCheck", "ConfirmedCheck", "Compared", "Observable", "COUNTS", "SAMPLES",
           "BuiltinTarget", "ExternalProtocol", "register", "get_kind", "kind_names", "all_kinds",
           "load_callable", "select", "runnable", "not_applicable", "matches", "parse_only", "NO_CHECKS", "mk",
           "UnknownKind"]


class ConfirmedCheck:
    """``run(target, ctx)`` of a plan entry with confirmed rejections: a verdict with ``p <=
    sqrt(alpha)`` is re-run on fresh draws and reports ``max(p1, p2)**2``
    (:func:`~harness.checks.builders.confirm_verdicts`); top-level, so plans pickle by reference."""

    def __init__(self, body: Callable[[Callable, RunContext], list[Verdict]]) -> None:
        self.body = body

    def __call__(self, target: Callable, ctx: RunContext) -> list[Verdict]:
        return confirm_verdicts(self.body(target, ctx), lambda: self.body(target, confirmation_context(ctx)),
                                ctx.alpha)


@dataclass(frozen=True)
class PlannedCheck:
    """One entry of a plan: ``id`` (the check id, also its seed key), ``claim``, a one-line
    ``title``, ``size`` (statistical verdicts it adds to the Holm family), ``run`` and
    ``skip``: why the check is *not applicable* under the run's options (never run), or "".
    ``group``: ``"law"`` (the statistical law checks and the gradient identities: does the
    target sample and differentiate what the theorem says) or ``"contract"`` (the input /
    dtype / shape / precision / reproducibility contract). The law's statistical checks form
    the run's Holm family; contract checks are deterministic."""

    id: str
    claim: str
    title: str
    size: int
    run: Callable[[Callable, RunContext], list[Verdict]]
    group: str = "law"
    skip: str = ""
    #: ``observe(fn, ctx) -> {suffix: array}`` for ``compare`` (None: not compared), and what it returns
    observe: Callable[[Callable, RunContext], dict] | None = None
    observables: tuple[Observable, ...] = ()

    def __post_init__(self) -> None:
        # every entry reports confirmed p-values (harness.stats.confirm): a stage-1 p-value
        # <= sqrt(alpha) is re-tested on fresh draws inside run, before the family is judged
        if not isinstance(self.run, ConfirmedCheck):
            object.__setattr__(self, "run", ConfirmedCheck(self.run))

    @property
    def column(self) -> str:
        """Conformance-matrix column: the first two dot-separated parts of the id."""
        return ".".join(self.id.split(".")[:2])


#: ``only`` value that selects no plan check (probes only: ``--only none``).
NO_CHECKS = "none"


def select(plan: list[PlannedCheck], only: Any) -> list[PlannedCheck]:
    """Entries whose id equals or starts with one of ``only`` (``"T1.law"`` selects every
    ``T1.law.*``); ``None`` keeps all; :data:`NO_CHECKS` (``"none"``) selects no plan check
    (probes only). ``ValueError`` (naming the valid ids) when the selection is empty
    (``[]``, ``","``) or when ANY pattern matches nothing, also if other patterns match."""
    if only is None:
        return list(plan)
    if isinstance(only, str) and only.strip() == NO_CHECKS:
        return []
    pats = parse_only(only) or []
    ids = [c.id for c in plan]
    if not pats:
        raise ValueError(f"empty check selection (only={only!r}); give check ids or prefixes, or "
                         f"{NO_CHECKS!r} for probes only. Valid ids: {', '.join(ids)}")

    unmatched = [p for p in pats if not any(matches(c.id, p) for c in plan)]
    if unmatched:
        raise ValueError(f"no check matches {', '.join(map(repr, unmatched))}; valid ids (or prefixes of "
                         f"them): {', '.join(ids)}")
    return [c for c in plan if any(matches(c.id, p) for p in pats)]


def runnable(plan: list[PlannedCheck]) -> list[PlannedCheck]:
    """The entries that run (not *not applicable* under the run's options)."""
    return [c for c in plan if not c.skip]


def not_applicable(plan: list[PlannedCheck]) -> list[dict[str, str]]:
    """``[{"id", "why"}]`` of the entries the run's options make not applicable."""
    return [{"id": c.id, "why": c.skip} for c in plan if c.skip]


def matches(check_id: str, pattern: str) -> bool:
    """``check_id`` equals ``pattern`` or starts with it (``"T1.law"`` matches ``T1.law.power``)."""
    return check_id == pattern or check_id.startswith(pattern)


def parse_only(only: Any) -> list[str] | None:
    """``only`` (a comma-separated string or a list) as a list of patterns; None for None."""
    if only is None:
        return None
    pats = only.split(",") if isinstance(only, str) else [str(p) for p in only]
    return [p.strip() for p in pats if p.strip()]


@dataclass(frozen=True)
class ExternalProtocol:
    """How a command template (:class:`~harness.targets.external.CommandTarget`) or a fixed sample
    (:class:`~harness.targets.external.FixedSample`) reaches a kind.

    * ``request(args) -> (logits, n, seed, temperature, shape)``: what one protocol call asks for
      (logits ``None`` when the kind takes none);
    * ``integer_output``: the output is indices (floats that are integers become int64), else
      floating values (integers become float64);
    * ``offline(samples, logits, temperature) -> (samples, checks)``: validates a fixed sample
      and names the checks it supports (``[(id, body(fn, ctx))]``); ``ValueError`` when unusable;
    * ``needs_logits``: a fixed sample of this kind needs ``--logits``."""

    request: Callable[[tuple], tuple]
    offline: Callable[..., tuple]
    integer_output: bool = False
    needs_logits: bool = True


def _none(*_a: Any, **_k: Any) -> list:
    return []


@dataclass(frozen=True)
class Kind:
    """One sampler kind (module doc for the fields)."""

    name: str
    signature: str
    plan: Callable[[Budget], list[PlannedCheck]]
    trial: Callable[[], tuple] | None = None
    bad_inputs: Callable[..., None] | None = None
    adversarial: Callable[..., None] | None = None
    reach: Any = None
    contract: Callable[[Callable, int], list] = _none
    power: Callable[..., dict] | None = None
    builtins: tuple[BuiltinTarget, ...] = ()
    seeds_torch: bool | Callable[[Options], bool] = False
    preload: tuple[str, ...] = ()
    adapt: Callable[[Callable], Callable] | None = None
    base: str | None = None
    external: ExternalProtocol | None = None
    description: str = ""
    short: str = ""
    module: str = ""  # the module that registered the kind (set by :func:`register`)
    param_hints: tuple[str, ...] = ()  # parameter names typical of the kind (protocol-mismatch hints)
    peer: str = ""  # the library implementation users compare with (e.g. torch's F.gumbel_softmax)
    peer_warnings: frozenset = frozenset()  # (probe, outcome) warnings that the peer itself gets
    options: tuple[Option, ...] = ()
    wrap: Callable[[Callable, Options], Callable] | None = None
    identify: Callable[..., Any] | None = None  # identify(fn, budget, seed, options, device) -> result
    hint: Callable[[str], str] | None = None  # advice appended to a protocol mismatch / a target error

    def resolve(self, explicit: Any = None, attributes: Any = None) -> Options:
        """The run's :class:`Options` of this kind (:func:`~harness.core.options.resolve_options`)."""
        return resolve_options(self.options, explicit, attributes, self.name)

    def make_plan(self, budget: Budget, options: Options | None = None) -> list[PlannedCheck]:
        """The plan at ``budget`` under ``options`` (None: the kind's defaults)."""
        return self.plan(budget, options or self.resolve()) if self.options else self.plan(budget)

    def seeds_torch_for(self, options: Options | None = None) -> bool:
        """Whether the harness seeds torch's global RNG for this kind under ``options``."""
        return bool(self.seeds_torch(options or self.resolve()) if callable(self.seeds_torch) else self.seeds_torch)

    def wrapped(self, fn: Callable, options: Options | None = None) -> Callable:
        """``fn`` behind the kind's adapter for ``options`` (``fn`` itself when there is none)."""
        return fn if self.wrap is None else self.wrap(fn, options or self.resolve())

    @property
    def abbrev(self) -> str:
        """The kind in a narrow table column (``short``, else the first five letters)."""
        return self.short or self.name[:5]

    def protocol_view(self, fn: Callable) -> tuple[Callable, "Kind"]:
        """``(fn, kind)`` as the probes see it: a kind with an adapter is its base kind's protocol
        behind the adapter (the JAX kinds are probed as NumPy targets)."""
        if self.adapt is None:
            return fn, self
        return self.adapt(fn), get_kind(self.base)

    def probe(self, fn: Callable, *, seed: int = 0, adversarial: bool = True, bad_inputs: bool = True,
              hook: Any = None, options: Options | None = None) -> list:
        """Run the kind's probes on a (guarded) target and return the findings, in this order: bad
        inputs, adversarial streams, precision reach (with the adversarial streams), contract
        probes (with the bad inputs). Never raises for the target's misbehaviour. ``hook``: see
        :meth:`~harness.probes.findings.Recorder.run` (the supervised worker's). A kind that
        declares ``options`` gets them as ``bad_inputs(fn, rec, seed, options)`` /
        ``adversarial(fn, rec, seed, options)``."""
        import warnings

        from harness.probes.findings import Recorder
        from harness.probes.reach import reach_findings

        fn, kind = self.protocol_view(fn)
        s = int(seed) % (2**31)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow/NaN warnings are what we probe
            rec = Recorder("probe", hook)
            extra = (options if options is not None else kind.resolve(),) if kind.options else ()
            if bad_inputs and kind.bad_inputs is not None:
                kind.bad_inputs(fn, rec, s, *extra)
            if adversarial:
                if kind.adversarial is not None:
                    adv = Recorder("adversarial", hook)
                    kind.adversarial(fn, adv, s, *extra)
                    rec.findings.extend(adv.findings)
                rec.findings.extend(reach_findings(fn, kind.reach, s))
            if bad_inputs:
                rec.findings.extend(kind.contract(fn, s))
        return rec.findings

    def power_targets(self, budget: Budget, family_size: int, device: str = "cpu") -> dict[str, Any]:
        """The power statements of a run of this kind at ``budget`` with ``family_size``
        statistical checks, at the Bonferroni level ``L = alpha / family_size`` (conservative for
        Holm): a confirmed check rejects iff both stages reject at ``sqrt(L)``, so its power is the
        stage power squared (:mod:`harness.stats.confirm`)."""
        import math

        level = budget.alpha / max(1, family_size)
        stage = math.sqrt(level)
        out: dict[str, Any] = {"level": level, "stage_level": stage, "family_size": family_size}
        kind = self.power_kind
        if kind.power is not None:
            out.update(kind.power(budget, family_size, device, stage))
        return out

    def compare_plan(self, budget: Budget, options: Options | None = None) -> list[PlannedCheck]:
        """The entries of the plan at ``budget`` (under ``options``) that ``compare`` judges: those
        that observe (:class:`Compared` bodies) and apply. An adapted kind compares through its base
        kind's plan."""
        return [c for c in self.make_plan(budget, options) if c.observe is not None and not c.skip]

    @property
    def power_kind(self) -> "Kind":
        """The kind whose power statements hold (the base kind of an adapted kind)."""
        return get_kind(self.base) if self.adapt is not None and self.power is None else self


class UnknownKind(ValueError):
    """A kind name that no module registered."""


#: name -> Kind, in registration order (the package ``harness.kinds`` registers the built-in kinds
#: on import, so any import from ``harness.kinds`` sees them)
_REGISTRY: dict[str, Kind] = {}


def register(kind: Kind, *, replace: bool = False) -> Kind:
    """Register ``kind`` (its ``name`` becomes a ``--kind`` / ``kind=`` value) and return it, with
    ``module`` set to the calling module (a supervised worker imports that module to know the
    kind). ``ValueError`` when another module took the name (``replace=True`` overrides it);
    re-importing the same module re-registers it."""
    if not isinstance(kind, Kind):
        raise TypeError(f"register() takes a Kind, got {type(kind).__name__}")
    if not kind.module:
        import dataclasses
        import sys

        kind = dataclasses.replace(kind, module=sys._getframe(1).f_globals.get("__name__", ""))
    old = _REGISTRY.get(kind.name)
    if old is not None and not replace and old.module != kind.module:
        raise ValueError(f"kind {kind.name!r} is already registered (by {old.module})")
    _REGISTRY[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a registered kind (tests that register a toy kind clean up with it)."""
    _REGISTRY.pop(name, None)


def get_kind(name: Any) -> Kind:
    """The registered :class:`Kind` called ``name`` (a :class:`Kind` is returned as it is).
    :class:`UnknownKind` names the registered ones."""
    if isinstance(name, Kind):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownKind(f"unknown kind {name!r}; choose one of {', '.join(_REGISTRY)}") from None


def kind_names() -> list[str]:
    """The registered kinds' names, in registration order."""
    return list(_REGISTRY)


def all_kinds() -> Iterator[Kind]:
    return iter(list(_REGISTRY.values()))


def mk(cid: str, claim: str, title: str, size: int, body, group: str = "law", skip: str = "") -> PlannedCheck:
    """A :class:`PlannedCheck` whose ``body(fn, ctx, id)`` is told its own id; a :class:`Compared`
    body also gives the entry its ``observe`` and ``observables`` (``compare``)."""
    observe = _Observe(body.observe, cid) if isinstance(body, Compared) else None
    return PlannedCheck(cid, claim, title, size, lambda fn, ctx, _b=body, _id=cid: _b(fn, ctx, _id), group, skip,
                        observe, body.observables if isinstance(body, Compared) else ())


def load_callable(path: str) -> Callable:
    """Import ``"module:attr"`` (``attr`` may be dotted): the factories of built-in targets."""
    mod, _, attr = path.partition(":")
    obj: Any = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
