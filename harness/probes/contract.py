r"""Cheap contract probes (every Finding is contract, never part of the law's Holm family):

* ``contract.reproducible``: the same seed twice gives identical draws, and a different seed
  gives different draws (a target that ignores its seed, or draws from global state, fails).
  Two small calls with seed ``s`` and one with ``s + 1``; for ``torch`` targets the seed is
  ``torch.manual_seed``. Two different seeds giving identical draws by chance has probability
  below 1e-30 for these sizes (64 categorical draws of p = (0.1, 0.2, 0.3, 0.4): 0.3^64; real-valued
  draws: 0), so a FAIL is never a false alarm.
* ``contract.precision``: the output rows of a relaxed / torch (``hard=False``) target lie on the
  simplex at the precision of their dtype (``max |sum - 1| <= 1e-9`` for float64, ``1e-4`` for
  float32). A float64 output that carries float32 precision (e.g. a float32 computation cast
  up, a quantizer) FAILs here, with the deviation and the precision it implies; the law checks
  still run on it (:func:`harness.checks.samplers.draw_relaxed` accepts float64 at float32 precision and
  renormalises).
* ``contract.input_unchanged``: the target does not modify its input logits in place.

Each probe makes at most four small calls of the (guarded) target.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from harness.probes.bad_inputs import Finding
from harness.checks.samplers import (
    to_numpy,
    implied_precision,
    simplex_deviation,
    simplex_tolerance,
)

__all__ = ["contract_findings", "CONTRACT_KINDS"]

_X = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
_N = 64


def _call_np(fn: Callable, kind: str, x: np.ndarray, seed: int) -> np.ndarray:
    """One small call of ``fn`` under the protocol ``kind`` (``x`` is passed as given)."""
    if kind == "categorical":
        return to_numpy(fn(x, _N, seed), "categorical sampler")
    if kind == "relaxed":
        return to_numpy(fn(x, 1.0, _N, seed), "relaxed sampler")
    if kind == "noise":
        return to_numpy(fn((_N,), seed), "noise sampler")
    if kind == "torch":
        import torch

        torch.manual_seed(int(seed) % (2**63))
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float64).expand(_N, -1).contiguous()
        with torch.no_grad():
            return to_numpy(fn(t, tau=1.0, hard=False, dim=-1), "torch sampler (hard=False)")
    raise KeyError(kind)


#: kinds these probes know how to call (other kinds: no contract probe findings here)
CONTRACT_KINDS = ("categorical", "relaxed", "noise", "torch")


def _err(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def _reproducible(fn: Callable, kind: str, seed: int) -> Finding:
    inp = f"three calls: seed {seed}, seed {seed} again, seed {seed + 1}"
    try:
        a = _call_np(fn, kind, _X.copy(), seed)
        b = _call_np(fn, kind, _X.copy(), seed)
        c = _call_np(fn, kind, _X.copy(), seed + 1)
    except Exception as exc:  # noqa: BLE001 - the law checks report call failures
        return Finding("contract.reproducible", inp, "valid", "not probed", "info", f"a call failed: {_err(exc)}")
    same = a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    differ = a.shape != c.shape or not np.array_equal(a, c, equal_nan=True)
    if not same:
        k = int(np.sum(a != b)) if a.shape == b.shape else a.size
        return Finding("contract.reproducible", inp, "valid", "not reproducible", "fail",
                       f"the same seed twice gave different draws ({k} of {a.size} values differ): the target "
                       "draws from global or time-based state instead of its seed")
    if not differ:
        return Finding("contract.reproducible", inp, "valid", "ignores its seed", "fail",
                       f"seeds {seed} and {seed + 1} gave identical draws: the target ignores its seed")
    return Finding("contract.reproducible", inp, "valid", "ok", "ok",
                   "same seed: identical draws; another seed: different draws")


def _precision(fn: Callable, kind: str, seed: int) -> Finding | None:
    if kind not in ("relaxed", "torch"):
        return None
    inp = f"float64 logits, T = 1, n = {_N}"
    try:
        y = _call_np(fn, kind, _X.copy(), seed)
    except Exception as exc:  # noqa: BLE001
        return Finding("contract.precision", inp, "valid", "not probed", "info", f"the call failed: {_err(exc)}")
    if y.dtype.kind != "f" or y.ndim != 2 or not np.all(np.isfinite(y)):
        return Finding("contract.precision", inp, "valid", "not probed", "info",
                       f"output of dtype {y.dtype}, shape {y.shape} (the law checks report it)")
    dev = simplex_deviation(y)
    tol = simplex_tolerance(y.dtype)
    neg = float(min(0.0, y.min()))
    have = implied_precision(max(dev, -neg))
    bits = f"about 2^{math.log2(dev):.0f}" if dev > 0 else "exact"
    detail = (f"{y.dtype} output: max |sum(y) - 1| = {dev:.3g} ({bits}), min y = {y.min():.3g}; "
              f"the precision it carries: {have}")
    if dev > tol or neg < -tol:
        return Finding("contract.precision", inp, "valid", "precision shortfall", "fail",
                       detail + f"; {y.dtype} promises |sum - 1| <= {tol:g}. The law checks ran on the rows "
                       "renormalised (accepted at float32 precision)")
    return Finding("contract.precision", inp, "valid", "ok", "ok", detail)


def _input_unchanged(fn: Callable, kind: str, seed: int) -> Finding | None:
    if kind == "noise":
        return None
    inp = "float64 logits (checked after the call)"
    try:
        if kind == "torch":
            import torch

            x = torch.as_tensor(_X, dtype=torch.float64).expand(_N, -1).contiguous()
            before = x.clone()
            _call_np(fn, kind, x, seed)
            changed = not torch.equal(x, before)
        else:
            x = _X.copy()
            _call_np(fn, kind, x, seed)
            changed = not np.array_equal(x, _X)
    except Exception as exc:  # noqa: BLE001
        return Finding("contract.input_unchanged", inp, "valid", "not probed", "info", f"the call failed: {_err(exc)}")
    if changed:
        return Finding("contract.input_unchanged", inp, "valid", "mutates its input", "fail",
                       "the target modified the logits it was given in place; a sampler must not mutate its "
                       "arguments (the harness passes a fresh copy to every call, so the law checks are unaffected)")
    return Finding("contract.input_unchanged", inp, "valid", "ok", "ok", "input unchanged")


def contract_findings(fn: Callable, kind: str, seed: int = 0) -> list[Finding]:
    """The contract probes of this module for a (guarded) target of ``kind``."""
    if kind not in CONTRACT_KINDS:
        return []
    s = int(seed) % (2**31)
    out: list[Any] = [_reproducible(fn, kind, s), _precision(fn, kind, s), _input_unchanged(fn, kind, s)]
    return [f for f in out if f is not None]
