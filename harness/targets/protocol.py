"""Does a callable fit the protocol of its ``kind``? One trial before any check runs.

:func:`check_protocol` binds the protocol's call to ``inspect.signature(fn)`` (when Python
can tell the signature) and then makes ONE tiny trial call (through the caller's guard): a
signature that cannot take the call, a ``TypeError`` from the trial call of a callable whose
signature Python cannot tell (builtins), or an output that is no array of the protocol's shape
(None, a coroutine, a dict, ``(n, K)`` rows from a
"categorical" sampler...) raises :class:`ProtocolMismatch` with the expected signature, so the
user gets one message (CLI exit status 2) instead of one FAIL per check. Any other exception of
the trial call is left to the checks (they report it as a FAIL naming the cause).
"""
from __future__ import annotations

import inspect
import re
from typing import Any, Callable

import numpy as np

from harness.kinds.base import Kind, all_kinds, get_kind, kind_names
from harness.targets.loading import TargetLoadError
from harness.checks.samplers import describe_non_array

__all__ = ["ProtocolMismatch", "check_protocol", "signatures"]


def signatures() -> dict[str, str]:
    """The call each registered kind makes, as a user reads it (README "Sampler protocols")."""
    return {k.name: k.signature for k in all_kinds()}


class ProtocolMismatch(TargetLoadError):
    """The callable does not fit the protocol of the requested kind (CLI exit status 2)."""


#: a TypeError / AttributeError that says the arguments do not fit (not any error of the target)
_ARGUMENT_ERROR = re.compile(r"argument|must be|expected|positional|keyword|takes|has no attribute|not supported "
                             r"between|unsupported operand|object is not|got an unexpected", re.IGNORECASE)


def looks_like(fn: Callable, but_not: str = "") -> list[str]:
    """The kinds ``fn`` most resembles, best first: score = how many of its parameter names are
    the kind's ``param_hints`` (``tau`` / ``hard``: torch; ``top_k``: token...), plus one when its
    signature can take the kind's trial call (no call is made)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    params = set(sig.parameters)
    scored = []
    for k in all_kinds():
        if k.trial is None or k.name == but_not or k.adapt is not None:
            continue
        score = len(params & set(k.param_hints))
        try:
            args, kwargs, _ = k.trial()
            sig.bind(*args, **kwargs)
            score += 1
        except Exception:  # noqa: BLE001 - does not bind (or the trial needs a missing package)
            pass
        if score > 1 or (score == 1 and not k.param_hints):
            scored.append((-score, k.name))
    return [name for _, name in sorted(scored)]


def _mismatch(name: str, kind: Kind, why: str, fn: Callable | None = None) -> ProtocolMismatch:
    others = [k for k in kind_names() if k != kind.name]
    fits = looks_like(fn, kind.name) if fn is not None else []
    hint = f" It looks like --kind {fits[0]} (from its parameter names)." if fits else ""
    if kind.hint is not None:
        hint = kind.hint(why) + hint
    return ProtocolMismatch(f"protocol mismatch: {name} does not fit --kind {kind.name}: {why}.{hint} The "
                            f"{kind.name} protocol is {kind.signature} (other kinds: {', '.join(others)}; "
                            "docs/checker.md 'Sampler protocols')")


def check_protocol(fn: Callable, kind: Any, name: str, call: Callable | None = None, options: Any = None) -> None:
    """Raise :class:`ProtocolMismatch` unless ``fn`` takes the ``kind`` call and returns an array
    of the protocol's shape for a tiny input. ``call`` (default ``fn``) makes the trial call,
    e.g. a :class:`~harness.run.guard.GuardedTarget` with a timeout. A kind without a ``trial``
    is not checked. ``options``: the run's options; when the kind's adapter changes the call
    (declared filters, scalar parameters, ...), the trial goes through the adapter and the
    signature is judged by the call alone."""
    kind = get_kind(kind)
    if kind.trial is None:
        return
    args, kwargs, shape = kind.trial()
    adapted = kind.wrapped(call or fn, options)
    try:
        sig = inspect.signature(fn) if adapted is (call or fn) else None
    except (TypeError, ValueError):  # builtins / C functions without a signature
        sig = None
    if sig is not None:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as exc:
            why = f"its signature {name.split(':')[-1]}{sig} cannot take the call ({exc})"
            raise _mismatch(name, kind, why, fn) from None
    if kind.seeds_torch_for(options):
        import torch

        torch.manual_seed(12345)
    try:
        out = adapted(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - failures of a callable whose signature fits: the checks report them
        # a TypeError / AttributeError on the tiny valid trial input means the arguments do not
        # fit (a torch function handed NumPy logits...); other errors are left to the checks
        text = f"{type(exc).__name__}: {exc}"
        if ("TypeError" in text or "AttributeError" in text) and (sig is None or _ARGUMENT_ERROR.search(text)):
            raise _mismatch(name, kind, f"the trial call raised {text}", fn) from None
        return
    bad = describe_non_array(out)
    if bad is not None:
        raise _mismatch(name, kind, f"the trial call {bad}", fn)
    got = tuple(getattr(out, "shape", np.shape(out)) if not isinstance(out, (list, tuple)) else np.shape(out))
    if got != shape:
        raise _mismatch(name, kind, f"the trial call (n = 3, K = 4) returned shape {got}, expected {shape}", fn)
