r"""Cheap contract probes (every Finding is contract, never part of the law's Holm family):

* ``contract.reproducible``: the same seed twice gives identical draws, and a different seed
  gives different draws (a target that ignores its seed, or draws from global state, fails).
  Two small calls with seed ``s`` and one with ``s + 1``, made by the kind's own small call
  (for ``torch`` targets the seed is ``torch.manual_seed``). Two different seeds giving identical draws by chance has probability
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

from harness.probes.findings import Finding
from harness.checks.samplers import implied_precision, simplex_deviation, simplex_tolerance

__all__ = ["contract_findings", "numpy_input"]

_X = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
_N = 64


def _err(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def _reproducible(fn: Callable, call: Callable, seed: int) -> Finding:
    inp = f"three calls: seed {seed}, seed {seed} again, seed {seed + 1}"
    try:
        a = call(fn, _X.copy(), _N, seed)
        b = call(fn, _X.copy(), _N, seed)
        c = call(fn, _X.copy(), _N, seed + 1)
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


def _precision(fn: Callable, call: Callable, seed: int) -> Finding:
    inp = f"float64 logits, T = 1, n = {_N}"
    try:
        y = call(fn, _X.copy(), _N, seed)
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


def _input_unchanged(fn: Callable, call: Callable, seed: int, make_input: Callable) -> Finding:
    inp = "float64 logits (checked after the call)"
    try:
        x = make_input(_X, _N)
        before = _copy(x)
        call(fn, x, _N, seed)
        changed = not _equal(x, before)
    except Exception as exc:  # noqa: BLE001
        return Finding("contract.input_unchanged", inp, "valid", "not probed", "info", f"the call failed: {_err(exc)}")
    if changed:
        return Finding("contract.input_unchanged", inp, "valid", "mutates its input", "fail",
                       "the target modified the logits it was given in place; a sampler must not mutate its "
                       "arguments (the harness passes a fresh copy to every call, so the law checks are unaffected)")
    return Finding("contract.input_unchanged", inp, "valid", "ok", "ok", "input unchanged")


def _copy(x):
    return x.clone() if hasattr(x, "clone") else np.array(x, copy=True)


def _equal(a, b) -> bool:
    if hasattr(a, "clone"):
        import torch

        return bool(torch.equal(a, b))
    return bool(np.array_equal(a, b))


def numpy_input(x: np.ndarray, n: int) -> np.ndarray:
    """The logits as the NumPy protocols take them: a fresh float64 ``(K,)`` copy."""
    return np.array(x, dtype=np.float64, copy=True)


def contract_findings(fn: Callable, seed: int, call: Callable, *, precision: bool = False,
                      make_input: Callable | None = numpy_input) -> list[Finding]:
    """The contract probes of this module for a (guarded) target whose kind makes one small call
    with ``call(fn, x, n, seed) -> ndarray``: reproducibility always; ``precision`` for outputs on
    the simplex; input mutation when ``make_input(x, n)`` builds the argument the call passes on
    (None: the kind takes no logits)."""
    s = int(seed) % (2**31)
    out: list[Any] = [_reproducible(fn, call, s)]
    if precision:
        out.append(_precision(fn, call, s))
    if make_input is not None:
        out.append(_input_unchanged(fn, call, s, make_input))
    return out
