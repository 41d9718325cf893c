r"""Where a target's random draws come from, and whether the harness knows their conversion.

The forced streams (:func:`harness.probes.adversarial.forced_streams`) must reach a target's
generator however it is built, and the precision-reach probe may only call a short reach a
failure when it *knows* that the forced words were the extremes of what the target consumed.
This module supplies both:

* **Reaching the generator.** NumPy generators are built as ``numpy.random.default_rng(seed)``,
  as ``default_rng(seed)`` after ``from numpy.random import default_rng`` (a name bound in the
  target's module before the probe starts), or from a bit generator constructed directly
  (``Generator(PCG64(seed))``, ``MT19937``, ``Philox``, ``SFC64``, ``PCG64DXSM``).
  :func:`numpy_bindings` finds every module-level name bound to one of those objects, so the
  patch replaces the imported names too. torch generators passed explicitly
  (``torch.Generator`` objects, ``generator=g``) go through the patched primitives anyway.
* **Knowing the conversion.** :class:`TracingGenerator` (the ``Generator`` the patched
  constructors return) marks the words consumed inside NumPy's floating-point samplers
  (:data:`KNOWN_METHODS`: ``random``, ``standard_exponential``, ``gumbel``, ...): their extremes
  are NumPy's and the probe's words produce them (``random() = 2^-53``, the smallest ziggurat
  exponential...), and ``integers`` over a power-of-two span (the top bits of a draw: the
  forced words deliver 0, 1 and the maximum). Words consumed any other way (other ``integers``, ``bytes``,
  ``bit_generator.random_raw()``, ``choice`` without ``p``...) are raw bits that the *target*
  converts (MT-style ``genrand_res53`` from two 32-bit draws, the low 53 bits of a word...): the
  probe tries words for those conversions too, but a short reach through them is not evidence
  (they may have extremes the probe did not try). For torch, :func:`torch_grid` measures the
  grid of ``rand`` / ``exponential_`` on the device once per dtype (torch's CPU float32
  ``exponential_`` draws a double and casts: its smallest values are far below 2^-24; CUDA's
  float32 kernel is on the 2^-24 grid, the vllm#43150 class).
"""
from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

__all__ = ["KNOWN_METHODS", "TracingGenerator", "BIT_GENERATORS", "numpy_bindings", "torch_grid"]

#: Generator methods whose conversion of the words is NumPy's floating-point one (the probe's
#: extreme words are the extremes of their output)
KNOWN_METHODS = ("random", "standard_exponential", "exponential", "gumbel", "uniform", "standard_normal",
                 "normal", "logistic", "standard_gamma", "gamma", "weibull")

_ORIG_GENERATOR = np.random.Generator
_ORIG_DEFAULT_RNG = np.random.default_rng

#: the bit-generator classes a target may construct directly (name -> class)
BIT_GENERATORS = {n: getattr(np.random, n) for n in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
                  if hasattr(np.random, n)}


def _known(name: str):
    orig = getattr(_ORIG_GENERATOR, name)

    def method(self, *a, **k):
        bg = self.bit_generator
        if not hasattr(bg, "known_depth"):
            return orig(self, *a, **k)
        bg.known_depth += 1
        try:
            return orig(self, *a, **k)
        finally:
            bg.known_depth -= 1

    method.__name__ = name
    return method


def _choice(self, a, size=None, replace=True, p=None, *args, **kwargs):
    """``choice`` with probabilities draws ``random()`` (known); without, ``integers`` (raw)."""
    bg = self.bit_generator
    if p is None or not hasattr(bg, "known_depth"):
        return _ORIG_GENERATOR.choice(self, a, size, replace, p, *args, **kwargs)
    bg.known_depth += 1
    try:
        return _ORIG_GENERATOR.choice(self, a, size, replace, p, *args, **kwargs)
    finally:
        bg.known_depth -= 1


def _integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
    """``integers`` over a power-of-two span 2^k (k <= 64, 32- or 64-bit dtype) is a known
    conversion: the top k bits of a 32-bit (k <= 32) or 64-bit draw, no rejection. While it runs
    the bit generator delivers a forced word whose top k bits are zero but which is not zero as
    the smallest non-zero value 1 (``int_bits``), so the extremes 0, 1 and 2^k - 1 are delivered."""
    bg = self.bit_generator
    k = None
    if hasattr(bg, "known_depth") and np.ndim(low) == 0 and np.ndim(high) == 0 and np.dtype(dtype).itemsize >= 4:
        lo, hi = (0, int(low)) if high is None else (int(low), int(high))
        span = hi - lo + (1 if endpoint else 0)
        if span > 1 and span & (span - 1) == 0 and span <= 2**64:
            k = span.bit_length() - 1
    if k is None:
        return _ORIG_GENERATOR.integers(self, low, high, size, dtype, endpoint)
    bg.known_depth += 1
    bg.int_bits = k
    try:
        return _ORIG_GENERATOR.integers(self, low, high, size, dtype, endpoint)
    finally:
        bg.known_depth -= 1
        bg.int_bits = None


TracingGenerator = type("TracingGenerator", (_ORIG_GENERATOR,), {
    "__doc__": "A ``numpy.random.Generator`` that marks the words its floating-point samplers consume "
               "(module doc); any Generator otherwise.",
    "__module__": __name__,
    **{n: _known(n) for n in KNOWN_METHODS}, "choice": _choice, "integers": _integers})

_BINDINGS: dict[str, Any] = {"n": -1, "found": []}


def numpy_bindings() -> list[tuple[Any, str, Any]]:
    """``(module, name, object)`` for every module-level name outside NumPy bound to
    ``numpy.random.default_rng``, ``numpy.random.Generator`` or a bit-generator class
    (``from numpy.random import default_rng``); cached until a module is imported."""
    if _BINDINGS["n"] == len(sys.modules):
        return _BINDINGS["found"]
    targets = {id(_ORIG_DEFAULT_RNG): _ORIG_DEFAULT_RNG, id(_ORIG_GENERATOR): _ORIG_GENERATOR,
               **{id(c): c for c in BIT_GENERATORS.values()}}
    found = []
    for mname, mod in list(sys.modules.items()):
        if mod is None or mname == "numpy" or mname.startswith(("numpy.", "harness.probes.")):
            continue
        d = getattr(mod, "__dict__", None)
        if not isinstance(d, dict):
            continue
        for name, val in list(d.items()):
            if id(val) in targets and targets[id(val)] is val:
                found.append((mod, name, val))
    _BINDINGS.update(n=len(sys.modules), found=found)
    return found


_GRIDS: dict[tuple[str, str, str], int | None] = {}


def torch_grid(prim: str, dtype: Any, device: Any) -> int | None:
    """The number of bits ``p`` of ``prim`` ("uniform" or "exponential") for a torch ``dtype``
    on ``device``, measured once: uniforms on the 2^-p grid; exponentials whose small values sit
    on the 2^-p grid (float32 uniforms, p = 24) or not (a double drawn and cast: p = 53). ``None``:
    neither (a kernel the harness does not know: a short reach through it is not evidence)."""
    import torch

    nominal = {"torch.float64": 53, "torch.float32": 24, "torch.float16": 11, "torch.bfloat16": 8}.get(str(dtype))
    key = (prim, str(dtype), torch.device(device).type)
    if key in _GRIDS:
        return _GRIDS[key]
    if nominal is None or nominal == 53:
        _GRIDS[key] = nominal  # float64: the finest grid
        return nominal
    base = getattr(torch._C, "TensorBase", None) or torch._C._TensorBase  # the primitives unpatched
    gen = torch.Generator(device=device)
    gen.manual_seed(20240518)
    t = torch.empty(1 << 20, dtype=dtype, device=device)
    grid = None
    if prim == "uniform":
        base.uniform_(t, 0.0, 1.0, generator=gen)
        u = t.double().cpu()
        grid = nominal if bool(torch.all(u * 2.0 ** nominal == torch.round(u * 2.0 ** nominal))) else None
    else:
        base.exponential_(t, generator=gen)
        e = t.double().cpu()
        if nominal < 24:  # half precision: values below the grid's first step come from a double, cast
            _GRIDS[key] = 53 if bool(((e > 0) & (e < 0.5 * 2.0 ** -nominal)).any()) else nominal
            return _GRIDS[key]
        y = e[(e > 0) & (e < 2000 * 2.0 ** -nominal)] * 2.0 ** nominal  # E 2^p ~ k + k^2 2^-(p+1) on the grid
        if y.numel() >= 50:
            z = y - y * y * 2.0 ** -(nominal + 1)
            on_grid = float(((z - torch.round(z)).abs() < 0.02).double().mean())
            grid = nominal if on_grid > 0.99 else 53 if on_grid < 0.3 else None
    _GRIDS[key] = grid
    return grid
