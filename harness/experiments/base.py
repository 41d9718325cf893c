r"""The experiment mechanism: one registered :class:`Experiment` per claim of the spec.

An experiment is a function ``run(ctx: RunContext) -> ExperimentResult`` decorated with
:func:`experiment`, which records its claim id (``"T1"``... ``"G4"``, ``"N"``), the claim in
words and as a formula, the implementation(s) it runs, its budget-dependent sample sizes and
the number of statistical checks it plans (so that the report can state the power of every
check at the family's Bonferroni level before anything runs). Adding a claim is adding one
module under ``harness/experiments/`` with one decorated function; the package imports every
module it contains.

Inside ``run``, a :class:`Collector` gathers Verdicts (built by :mod:`harness.checks.builders` and
:mod:`harness.checks.claims`), figure data (:class:`Figure`: numbers only; the report draws
them) and findings (:class:`Finding`: measured facts that are not hypothesis tests, such as the
documented tail cut of float32 noise). Every check draws its randomness from
``ctx.seed_for(check_id)``, so its numbers do not depend on which other checks ran, in which
order or in which process.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from harness.core.budgets import Budget
from harness.checks.builders import deterministic_verdict, error_verdict
from harness.checks.confirmation import confirm_verdicts, confirmation_context
from harness.core.context import RunContext
from harness.core.verdict import Verdict, _json_safe

__all__ = [
    "Figure",
    "Finding",
    "ExperimentResult",
    "Experiment",
    "Collector",
    "REGISTRY",
    "CLAIM_ORDER",
    "experiment",
    "check_kwargs",
    "repro",
    "torch_generator",
    "numpy_generator",
    "torch_noise_sampler",
    "counts_figure_data",
    "ecdf_series",
    "qq_data",
    "tname",
]

#: The claim ids of the spec, in report order (``N`` is the precision experiment).
CLAIM_ORDER: tuple[str, ...] = (
    "T1", "T2", "T3", "T4", "T5", "C1", "C2", "C3", "C4", "C5", "G1", "G2", "G3", "G4", "N",
)


#: JSON-safe copy (numpy scalars/arrays to Python, non-finite floats to strings): the one
#: conversion of :mod:`harness.core.verdict`, shared with the figures and findings.
_json = _json_safe


@dataclass(frozen=True)
class Figure:
    """The numbers behind one figure. ``kind`` selects the drawing in
    :mod:`harness.report.figures`: ``counts`` (observed vs expected, drawn as standardized
    residuals), ``ecdf`` (empirical vs exact CDF, drawn as their difference with a simultaneous
    DKW band), ``qq`` (sample vs exact quantiles), ``sweep`` (a measured curve with error bars
    against the exact curve and the asymptote, over T), ``loglog`` (the same on log-log axes with
    a fitted line), ``scatter`` (errors against a parameter). ``data`` is JSON-safe."""

    id: str
    kind: str
    title: str
    data: Mapping[str, Any]
    caption: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "caption": self.caption,
                "data": _json(self.data)}


@dataclass(frozen=True)
class Finding:
    """A measured property that is not a hypothesis test (e.g. the tail cut of float32 noise):
    it is reported with its numbers, never judged."""

    id: str
    title: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "text": self.text, "data": _json(self.data)}


@dataclass
class ExperimentResult:
    """What one experiment returns: its Verdicts (not yet judged as a family), the data of its
    figures, its findings, and its wall time (kept apart from the numbers: it varies)."""

    experiment: str
    verdicts: list[Verdict] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_statistical(self) -> int:
        return sum(1 for v in self.verdicts if v.pvalue is not None)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment (see module doc)."""

    id: str
    title: str
    claim: str
    formula: str
    implementations: tuple[str, ...]
    run: Callable[[RunContext], ExperimentResult]
    planned: Callable[[RunContext], int]
    sizes: Callable[[Budget], Mapping[str, int]]
    module: str = ""
    cost: float = 1.0

    def describe(self, budget: Budget) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "claim": self.claim, "formula": self.formula,
                "implementations": list(self.implementations),
                "sample_sizes": {k: int(v) for k, v in self.sizes(budget).items()}}


#: claim id -> Experiment, filled by :func:`experiment` when the modules are imported.
REGISTRY: dict[str, Experiment] = {}


def experiment(
    id: str,
    *,
    title: str,
    claim: str,
    formula: str,
    implementations: Sequence[str],
    planned: int | Callable[[RunContext], int],
    sizes: Callable[[Budget], Mapping[str, int]],
    cost: float = 1.0,
) -> Callable[[Callable[[RunContext], ExperimentResult]], Callable[[RunContext], ExperimentResult]]:
    """Register ``run`` as the experiment of claim ``id``.

    ``planned`` is the number of statistical (p-value) verdicts ``run`` returns, an int or a
    function of the context (e.g. more when CUDA is present); the report sums it over the
    selected experiments to set ``ctx.family_size`` before running, and records planned vs
    actual. ``sizes(budget)`` names the sample sizes the experiment uses at a budget. ``cost``
    is a relative run-time hint (the report starts costly experiments first when parallel).
    """
    if id not in CLAIM_ORDER:
        raise ValueError(f"unknown claim id {id!r}; known: {CLAIM_ORDER}")

    def deco(fn: Callable[[RunContext], ExperimentResult]):
        if id in REGISTRY and REGISTRY[id].module != fn.__module__:
            raise ValueError(f"claim {id} registered twice ({REGISTRY[id].module}, {fn.__module__})")
        plan = planned if callable(planned) else (lambda ctx, _m=int(planned): _m)
        REGISTRY[id] = Experiment(id, title, claim, formula, tuple(implementations), ConfirmedRun(fn), plan,
                                  sizes, fn.__module__, float(cost))
        return fn

    return deco


class ConfirmedRun:
    """An experiment's ``run`` with confirmed rejections (:mod:`harness.stats.confirm`): when a
    statistical verdict has ``p <= sqrt(alpha)``, the experiment runs again under
    :func:`~harness.checks.builders.confirmation_context` (fresh draws; its figures and findings are
    dropped) and those verdicts report ``max(p1, p2)**2``."""

    def __init__(self, fn: Callable[[RunContext], ExperimentResult]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "run")
        self.__doc__ = fn.__doc__

    def __call__(self, ctx: RunContext) -> ExperimentResult:
        res = self.fn(ctx)
        res.verdicts = confirm_verdicts(res.verdicts, lambda: self.fn(confirmation_context(ctx)).verdicts,
                                        ctx.alpha)
        return res


# ------------------------------------------------------------------ helpers for run() --------

def tname(t: float) -> str:
    """A temperature as a check-id token: ``T1``, ``T0p5``, ``T0p001`` (``.`` -> ``p``, ``-`` -> ``m``)."""
    return f"T{t:g}".replace(".", "p").replace("-", "m")


def repro(ctx: RunContext, check: str, seed: int | None = None) -> str:
    """``ctx.reproduce`` with ``{check}`` (and ``{seed}``) filled in; empty when unset."""
    return ctx.repro(check, seed)


def check_kwargs(ctx: RunContext, check: str) -> dict[str, Any]:
    """Keyword arguments of the :mod:`harness.checks.builders` builders for check ``check``."""
    return ctx.check_kwargs(check)


def numpy_generator(ctx: RunContext, check: str) -> np.random.Generator:
    """The NumPy generator of check ``check`` (PCG64 seeded by ``ctx.seed_for(check)``)."""
    return np.random.default_rng(ctx.seed_for(check))


def torch_generator(ctx: RunContext, check: str, device: str = "cpu"):
    """A ``torch.Generator`` on ``device`` seeded by ``ctx.seed_for(check)``."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(ctx.seed_for(check) % (2**63))
    return g


class Collector:
    """Accumulates the verdicts, figures and findings of one experiment run.

    ``guard(check, claim_text, fn)`` runs a block, records the verdicts it returns and turns
    any exception into a FAIL verdict naming it (one broken block never hides the others);
    ``deterministic(...)`` builds a tolerance check (to be returned from a block or ``add``-ed).
    """

    def __init__(self, ctx: RunContext, claim: str) -> None:
        self.ctx = ctx
        self.claim = claim
        self.verdicts: list[Verdict] = []
        self.figures: list[Figure] = []
        self.findings: list[Finding] = []
        self._t0 = time.perf_counter()

    def kw(self, check: str) -> dict[str, Any]:
        return check_kwargs(self.ctx, check)

    def add(self, verdicts: Verdict | Iterable[Verdict]) -> list[Verdict]:
        vs = [verdicts] if isinstance(verdicts, Verdict) else list(verdicts)
        self.verdicts.extend(vs)
        return vs

    def guard(self, check: str, claim_text: str, fn: Callable[[], Verdict | Iterable[Verdict]],
              *, test: str = "experiment code") -> list[Verdict]:
        try:
            return self.add(fn())
        except Exception as exc:  # noqa: BLE001 - a crash is a FAIL naming its cause
            tb = traceback.format_exc(limit=3)
            return self.add(error_verdict(self.claim, check, claim_text,
                                          f"{type(exc).__name__}: {exc}\n{tb}", seed=self.ctx.seed_for(check),
                                          reproduce=repro(self.ctx, check), alpha=self.ctx.alpha, test=test))

    def deterministic(self, check: str, claim_text: str, error: float, tolerance: float, *,
                      test: str, reason: str = "", details: Mapping[str, Any] | None = None) -> Verdict:
        """Build (not record) a deterministic verdict: return it from a ``guard`` block or pass
        it to :meth:`add`."""
        return deterministic_verdict(self.claim, check, claim_text, float(error), float(tolerance),
                                     test=test, reason=reason, details=_json(dict(details or {})),
                                     reproduce=repro(self.ctx, check))

    def figure(self, id: str, kind: str, title: str, data: Mapping[str, Any], caption: str = "") -> None:
        self.figures.append(Figure(id, kind, title, _json(dict(data)), caption))

    def finding(self, id: str, title: str, text: str, data: Mapping[str, Any] | None = None) -> None:
        self.findings.append(Finding(id, title, text, _json(dict(data or {}))))

    def result(self) -> ExperimentResult:
        return ExperimentResult(self.claim, list(self.verdicts), list(self.figures), list(self.findings),
                                time.perf_counter() - self._t0)


def counts_figure_data(verdict: Verdict, labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Observed/expected counts of a :func:`harness.checks.builders.discrete_verdict` for a ``counts``
    figure (the per-category counts before pooling)."""
    d = verdict.details
    obs = list(d.get("observed", []))
    exp = list(d.get("expected", []))
    return {"observed": obs, "expected": exp,
            "labels": list(labels) if labels is not None else [str(i) for i in range(len(obs))],
            "check": verdict.check, "pvalue": verdict.pvalue}


def qq_data(samples: np.ndarray, ppf: Callable[[np.ndarray], np.ndarray], m: int = 200) -> dict[str, Any]:
    """``m`` sample quantiles against the exact quantiles at the same plotting positions."""
    xs = np.sort(np.asarray(samples, dtype=np.float64))
    n = xs.size
    q = (np.arange(1, m + 1) - 0.5) / m
    idx = np.clip((q * n).astype(int), 0, n - 1)
    return {"sample": xs[idx].tolist(), "exact": np.asarray(ppf(q), dtype=np.float64).tolist()}


def torch_noise_sampler(dtype: str = "float64", device: str = "cpu") -> Callable[[tuple, int], Any]:
    """``reference.torch_gumbel_softmax.gumbel_noise`` as a noise-protocol sampler
    (``fn(shape, seed)``), with its own ``torch.Generator`` seeded by ``seed``."""

    def sampler(shape: tuple, seed: int):
        import torch

        from reference.torch_gumbel_softmax import gumbel_noise

        g = torch.Generator(device=device)
        g.manual_seed(int(seed) % (2**63))
        return gumbel_noise(tuple(shape), dtype=getattr(torch, dtype), device=device, generator=g)

    sampler.__name__ = f"torch_gumbel_noise_{dtype}"
    return sampler


def ecdf_series(verdict: Verdict, label: str = "") -> dict[str, Any]:
    """One ``ecdf`` figure series from a :func:`harness.checks.builders.ks_verdict` (``details['ecdf']``)."""
    e = verdict.details.get("ecdf", {})
    return {"label": label or verdict.check, "x": list(e.get("x", [])), "y": list(e.get("ecdf", [])),
            "exact": list(e.get("cdf", []))}
