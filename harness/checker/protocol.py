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
from typing import Callable

import numpy as np

from harness.checker.targets import TargetLoadError
from harness.checks.samplers import describe_non_array

__all__ = ["ProtocolMismatch", "SIGNATURES", "check_protocol"]

#: The call each kind makes, as a user reads it (README "Sampler protocols").
SIGNATURES: dict[str, str] = {
    "categorical": "fn(logits: ndarray (K,), n: int, seed: int) -> n integers in [0, K)",
    "relaxed": "fn(logits: ndarray (K,), temperature: float, n: int, seed: int) -> (n, K) points on the simplex",
    "noise": "fn(shape: tuple[int, ...], seed: int) -> standard Gumbel draws of that shape",
    "torch": "fn(logits: Tensor, tau=float, hard=bool, dim=int) -> Tensor of the logits' shape "
             "(the contract of torch.nn.functional.gumbel_softmax)",
}


class ProtocolMismatch(TargetLoadError):
    """The callable does not fit the protocol of the requested kind (CLI exit status 2)."""


_X = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


def _trial(kind: str) -> tuple[tuple, dict, tuple]:
    """(args, kwargs, expected output shape) of the trial call of ``kind``."""
    if kind == "categorical":
        return (_X.copy(), 3, 12345), {}, (3,)
    if kind == "relaxed":
        return (_X.copy(), 1.0, 3, 12345), {}, (3, 4)
    if kind == "noise":
        return ((3,), 12345), {}, (3,)
    import torch

    x = torch.as_tensor(_X, dtype=torch.float64).expand(3, -1).contiguous()
    return (x,), {"tau": 1.0, "hard": False, "dim": -1}, (3, 4)


def _mismatch(name: str, kind: str, why: str) -> ProtocolMismatch:
    others = [k for k in SIGNATURES if k != kind]
    return ProtocolMismatch(f"protocol mismatch: {name} does not fit --kind {kind}: {why}. The {kind} protocol "
                            f"is {SIGNATURES[kind]} (other kinds: {', '.join(others)}; README 'Sampler protocols')")


def check_protocol(fn: Callable, kind: str, name: str, call: Callable | None = None) -> None:
    """Raise :class:`ProtocolMismatch` unless ``fn`` takes the ``kind`` call and returns an array
    of the protocol's shape for a tiny input. ``call`` (default ``fn``) makes the trial call,
    e.g. a :class:`~harness.run.guard.GuardedTarget` with a timeout. Kinds this module does not
    know are not checked."""
    if kind not in SIGNATURES:
        return
    args, kwargs, shape = _trial(kind)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins / C functions without a signature
        sig = None
    if sig is not None:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as exc:
            why = f"its signature {name.split(':')[-1]}{sig} cannot take the call ({exc})"
            raise _mismatch(name, kind, why) from None
    if kind == "torch":
        import torch

        torch.manual_seed(12345)
    try:
        out = (call or fn)(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - failures of a callable whose signature fits: the checks report them
        if sig is None and "TypeError" in f"{type(exc).__name__}: {exc}":
            raise _mismatch(name, kind, f"the trial call raised {exc}") from None
        return
    bad = describe_non_array(out)
    if bad is not None:
        raise _mismatch(name, kind, f"the trial call {bad}")
    got = tuple(getattr(out, "shape", np.shape(out)) if not isinstance(out, (list, tuple)) else np.shape(out))
    if got != shape:
        raise _mismatch(name, kind, f"the trial call (n = 3, K = 4) returned shape {got}, expected {shape}")
