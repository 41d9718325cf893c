"""What a plan entry observes for ``compare`` (issue 20): :class:`Observable`, and
:class:`Compared`, the plan body that also draws its observables (:mod:`harness.kinds.base`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from harness.core.context import RunContext

__all__ = ["COUNTS", "SAMPLES", "Observable", "Compared"]

#: an observable that is a count table over categories (judged by the chi-square of homogeneity)
COUNTS = "counts"
#: an observable that is a sample of a continuous statistic (judged by two-sample KS)
SAMPLES = "samples"


@dataclass(frozen=True)
class Observable:
    """What a plan entry observes of a target for ``compare``: ``suffix`` (appended to the
    entry's id: the verdict's id; ``""`` for the entry's id itself), ``form`` (:data:`COUNTS` or
    :data:`SAMPLES`) and a ``label`` (the configuration, e.g. the row's parameters)."""

    suffix: str
    form: str
    label: str = ""


class Compared:
    """A plan body that also yields its observables: ``body(fn, ctx, id)`` is the check,
    ``observe(fn, ctx, id) -> {suffix: array}`` draws what it judges (same seed, same calls), and
    ``observables`` the :class:`Observable` s it returns. :func:`mk` passes both on to the
    :class:`PlannedCheck`. A top-level class, so that plans stay picklable by reference."""

    def __init__(self, body: Callable, observe: Callable, observables: tuple["Observable", ...]) -> None:
        self.body, self.observe, self.observables = body, observe, tuple(observables)

    def __call__(self, fn: Callable, ctx: "RunContext", cid: str) -> list:
        return self.body(fn, ctx, cid)


class _Observe:
    """``observe(fn, ctx)`` of a :class:`PlannedCheck` told its own id (picklable by reference)."""

    def __init__(self, observe: Callable, cid: str) -> None:
        self.observe, self.cid = observe, cid

    def __call__(self, fn: Callable, ctx: "RunContext") -> dict:
        return self.observe(fn, ctx, self.cid)
