r"""Sampler protocols, the reference samplers behind them, and strict output validation.

Protocols (what a user brings; documented in the README):

* ``categorical``: ``fn(logits: ndarray (K,), n: int, seed: int) -> n ints in [0, K)``.
* ``relaxed``: ``fn(logits: ndarray (K,), temperature: float, n: int, seed: int) -> (n, K)``
  points on the simplex.
* ``noise``: ``fn(shape: tuple[int, ...], seed: int) -> standard Gumbel draws of that shape``.
* ``torch``: the contract of ``torch.nn.functional.gumbel_softmax``, called as
  ``fn(logits, tau=..., hard=..., dim=...)`` with randomness from torch's default generator,
  seeded by the harness with ``torch.manual_seed``.
* ``token``: a batched LLM token sampler, ``fn(logits [B, V], temperature, *, top_k=None,
  top_p=None, min_p=None, seed=None, generator=None) -> [B] token ids`` (:func:`draw_tokens`;
  the law is :mod:`reference.token_laws`).

Every call of a target goes through :func:`draw_categorical`, :func:`draw_relaxed` or
:func:`draw_noise`, which chunk large requests (each chunk seeded from
``SeedSequence(seed).spawn``) and validate what comes back. Anything wrong (the target raised,
the wrong shape or dtype, NaN, an index outside ``[0, K)``, rows off the simplex) raises
:class:`TargetError` naming the cause, which the checks turn into a FAIL verdict.
"""
from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np
from numpy.typing import NDArray

from harness.core.seeds import seeded_chunks

__all__ = [
    "Kind",
    "KINDS",
    "TargetError",
    "to_numpy",
    "index_array",
    "CategoricalSampler",
    "RelaxedSampler",
    "NoiseSampler",
    "draw_categorical",
    "draw_relaxed",
    "draw_noise",
    "draw_tokens",
    "TokenSampler",
    "torch_as_relaxed",
    "torch_as_categorical",
    "reference_categorical",
    "reference_relaxed",
    "reference_noise",
    "simplex_tolerance",
    "simplex_deviation",
    "implied_precision",
    "describe_non_array",
    "onehot_rows",
]

Kind = Literal["categorical", "relaxed", "noise", "torch", "token"]
KINDS: tuple[str, ...] = ("categorical", "relaxed", "noise", "torch", "token")

CategoricalSampler = Callable[[NDArray[np.float64], int, int], Any]
RelaxedSampler = Callable[[NDArray[np.float64], float, int, int], Any]
NoiseSampler = Callable[[tuple, int], Any]
#: ``fn(logits [B, V], temperature: float | [B], *, top_k=None | int | [B], top_p=None | float | [B],
#: min_p=None | float | [B], seed: int | None = None, generator=None) -> [B] token ids``
TokenSampler = Callable[..., Any]

MAX_CALL_ELEMENTS = 1 << 22  # ~4M values per call: bounded memory whatever the budget


class TargetError(Exception):
    """The target misbehaved; ``str(err)`` names the cause (shown in the FAIL verdict)."""


def describe_non_array(out: Any) -> str | None:
    """A sentence naming an output that is no array at all (None, a coroutine, a generator, a
    dict...), or None when ``out`` looks like an array (numpy, torch, jax, list, scalar)."""
    import inspect

    if out is None:
        return "returned None (a missing return statement?)"
    if inspect.iscoroutine(out) or inspect.isawaitable(out):
        if inspect.iscoroutine(out):
            out.close()  # never awaited: close it to silence the RuntimeWarning
        return ("returned a coroutine (an async def function?); the protocol needs a synchronous callable "
                "that returns the draws")
    if inspect.isgenerator(out) or inspect.isasyncgen(out):
        return "returned a generator; the protocol needs the draws as an array"
    if isinstance(out, (dict, set, str, bytes)):
        return f"returned a {type(out).__name__}, not an array of draws"
    return None


def to_numpy(out: Any, what: str, *, widen_half: bool = False) -> np.ndarray:
    """A target's output as a NumPy array (torch tensors on any device, jax arrays, lists), or
    :class:`TargetError` naming what it is instead (None, a coroutine, an object array...).
    bfloat16 becomes float32 (NumPy has none); ``widen_half``: float16 too (the probes and
    the reach probe compute on the values, the checks keep float16 to judge its precision)."""
    bad = describe_non_array(out)
    if bad is not None:
        raise TargetError(f"{what} {bad}")
    try:
        if hasattr(out, "detach"):  # torch tensors (CPU or CUDA)
            out = out.detach().cpu()
            if str(out.dtype) == "torch.bfloat16" or (widen_half and str(out.dtype) == "torch.float16"):
                out = out.float()
            out = out.numpy()
        elif hasattr(out, "__array__") and not isinstance(out, np.ndarray):
            out = np.asarray(out)  # jax arrays, lists...
        arr = np.asarray(out)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is the target's fault
        raise TargetError(f"{what}: cannot convert the output ({type(out).__name__}) to an array: {exc}") from exc
    if arr.dtype == object:
        first = type(arr.flat[0]).__name__ if arr.size else "?"
        raise TargetError(f"{what} returned an object array (elements {first}), not numbers")
    return arr


def _call(fn: Callable, args: tuple, what: str) -> Any:
    try:
        return fn(*args)
    except TargetError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TargetError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def _chunks(n: int, per_item: int, seed: int) -> list[tuple[int, int]]:
    """``(size, seed)`` of each call: one call with ``seed`` itself when ``n`` fits in
    ``MAX_CALL_ELEMENTS``, else chunks seeded by :func:`harness.core.seeds.seeded_chunks`."""
    rows = max(1, MAX_CALL_ELEMENTS // max(1, per_item))
    return [(n, seed)] if n <= rows else seeded_chunks(n, rows, seed)


def index_array(out: np.ndarray, what: str, n: int, k: int, noun: str = "index") -> NDArray[np.int64]:
    """``out`` (from :func:`to_numpy`) as ``n`` int64 indices in ``[0, k)``, else
    :class:`TargetError` naming the fault: shape, non-finite or non-integral floats, a
    non-integer dtype, indices out of range (``noun``: what an index is, in the messages)."""
    nouns = "indices" if noun == "index" else f"{noun}s"
    if out.shape != (n,):
        raise TargetError(f"{what} returned shape {out.shape}, expected ({n},)")
    if out.dtype.kind == "f":
        bad = ~np.isfinite(out)
        if bad.any():
            raise TargetError(f"{what} returned {int(bad.sum())} non-finite value(s) (NaN/inf) instead of {nouns}")
        if np.any(out != np.round(out)):
            raise TargetError(f"{what} returned non-integer values, e.g. {out[out != np.round(out)][:3].tolist()}")
    elif out.dtype.kind not in "iu":
        raise TargetError(f"{what} returned dtype {out.dtype}, expected integer {nouns}")
    out = out.astype(np.int64, copy=False)  # no copy when the target returned int64 already
    if out.size and (out.min() < 0 or out.max() >= k):  # two reductions; the mask only on a failure
        oob = (out < 0) | (out >= k)
        count = int(oob.sum())
        raise TargetError(f"{what} returned {count} {noun if count == 1 else nouns} outside [0, {k}): "
                          f"{np.unique(out[oob])[:5].tolist()} (an out-of-range {noun} used as a silent error signal?)")
    return out


def draw_categorical(fn: CategoricalSampler, logits: np.ndarray, n: int, seed: int) -> NDArray[np.int64]:
    """Call a categorical sampler (chunked), validate: shape ``(n,)``, integer dtype, values in
    ``[0, K)``. Returns int64 samples."""
    logits = np.asarray(logits, dtype=np.float64)
    k = logits.shape[-1]
    parts = []
    for m, s in _chunks(n, 1, seed):
        what = f"categorical sampler(logits of K={k}, n={m}, seed={s})"
        parts.append(index_array(to_numpy(_call(fn, (logits.copy(), m, s), what), what), what, m, k))
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def simplex_tolerance(dtype: np.dtype) -> float:
    """Tolerance on ``|sum(y) - 1|`` for a relaxed sample in ``dtype`` (K <= ~1e3)."""
    return {2: 1e-2, 4: 1e-4}.get(np.dtype(dtype).itemsize, 1e-9)


def simplex_deviation(y: np.ndarray) -> float:
    """``max |sum(row) - 1|`` over the rows of ``y`` (0 for an empty array)."""
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(y.sum(axis=-1) - 1.0))) if y.size else 0.0


def implied_precision(dev: float) -> str:
    """The floating-point precision a simplex deviation ``dev`` implies, in words."""
    if dev <= simplex_tolerance(np.float64):
        return "float64"
    if dev <= simplex_tolerance(np.float32):
        return "float32"
    if dev <= simplex_tolerance(np.float16):
        return "float16"
    return "none (not a rounding error)"


def draw_relaxed(fn: RelaxedSampler, logits: np.ndarray, temperature: float, n: int, seed: int) -> NDArray[np.float64]:
    """Call a relaxed sampler (chunked), validate: shape ``(n, K)``, floating, finite, in
    ``[0, 1]``, rows summing to 1. Returns float64.

    Precision: the rows must sum to 1 within :func:`simplex_tolerance` of the output dtype, but a
    float64 output is accepted at **float32** precision (``|sum - 1| <= 1e-4``; e.g. a float32
    computation cast to float64, or a quantizer): such rows are renormalised (``y / sum y``, which
    leaves every argmax and log-ratio unchanged) so that the law checks still run on the output at
    the precision it has. The shortfall itself is the contract finding ``contract.precision``
    (:mod:`harness.probes.contract`)."""
    logits = np.asarray(logits, dtype=np.float64)
    k = logits.shape[-1]
    parts = []
    for m, s in _chunks(n, k, seed):
        what = f"relaxed sampler(logits of K={k}, T={temperature:g}, n={m}, seed={s})"
        out = to_numpy(_call(fn, (logits.copy(), float(temperature), m, s), what), what)
        if out.shape != (m, k):
            raise TargetError(f"{what} returned shape {out.shape}, expected ({m}, {k})")
        if out.dtype.kind != "f":
            raise TargetError(f"{what} returned dtype {out.dtype}, expected floating point")
        strict = simplex_tolerance(out.dtype)
        tol = max(strict, simplex_tolerance(np.float32))
        y = out.astype(np.float64)
        bad = ~np.isfinite(y)
        if bad.any():
            rows = int(np.any(bad, axis=1).sum())
            raise TargetError(f"{what} returned non-finite values (NaN/inf) in {rows} of {m} rows")
        if np.any(y < -tol):
            raise TargetError(f"{what} returned negative values: {int(np.sum(y < -tol))} entries, min {y.min():.6g}")
        dev = np.abs(y.sum(axis=1) - 1.0)
        if np.any(dev > tol):
            raise TargetError(f"{what}: rows do not sum to 1 ({int(np.sum(dev > tol))} of {m} rows; "
                              f"max |sum - 1| = {dev.max():.3g} > {tol:g})")
        if np.any(y > 1 + tol):
            raise TargetError(f"{what} returned values above 1: max {y.max():.9g}")
        if dev.max() > strict:  # accepted at float32 precision: renormalise (contract.precision reports it)
            y = np.clip(y, 0.0, None)
            y = y / y.sum(axis=1, keepdims=True)
        parts.append(y)
    return np.concatenate(parts, axis=0)


def draw_noise(fn: NoiseSampler, n: int, seed: int) -> NDArray[np.float64]:
    """Call a Gumbel-noise sampler (chunked), validate shape ``(n,)``, floating, finite."""
    parts = []
    for m, s in _chunks(n, 1, seed):
        what = f"noise sampler(shape=({m},), seed={s})"
        out = to_numpy(_call(fn, ((m,), s), what), what)
        if out.shape != (m,):
            raise TargetError(f"{what} returned shape {out.shape}, expected ({m},)")
        if out.dtype.kind != "f":
            raise TargetError(f"{what} returned dtype {out.dtype}, expected floating point")
        g = out.astype(np.float64)
        if not np.all(np.isfinite(g)):
            raise TargetError(f"{what} returned {int(np.sum(~np.isfinite(g)))} non-finite value(s) "
                              f"(e.g. {g[~np.isfinite(g)][:3].tolist()}): log(0) reached?")
        parts.append(g)
    return np.concatenate(parts)


def draw_tokens(fn: TokenSampler, logits: Any, temperature: Any, *, top_k: Any = None, top_p: Any = None,
                min_p: Any = None, seed: int, what: str = "token sampler") -> NDArray[np.int64]:
    """One call of a token sampler on a ``[B, V]`` batch (a torch tensor, passed as is), with
    the parameters passed as given (scalars, ``None`` or ``[B]`` tensors) and ``seed=seed``;
    validate: shape ``(B,)``, integer dtype (or integral floats), ids in ``[0, V)``. Returns
    int64 NumPy ids. The plans build the batches (:mod:`harness.kinds.token.plan`)."""
    b, v = int(logits.shape[0]), int(logits.shape[1])
    what = f"{what}(logits [{b}, {v}], seed={seed})"
    try:
        out = fn(logits, temperature, top_k=top_k, top_p=top_p, min_p=min_p, seed=int(seed))
    except TargetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is the target's
        raise TargetError(f"{what} raised {type(exc).__name__}: {exc}") from exc
    return index_array(to_numpy(out, what), what, b, v, noun="token id")


# --- adapters: the torch protocol seen through the relaxed / categorical protocols ----------

def torch_as_relaxed(fn: Callable, *, dtype: Any = None, device: str = "cpu") -> RelaxedSampler:
    """A relaxed sampler that calls the torch-protocol ``fn`` on ``n`` stacked copies of the
    logits (``tau=T, hard=False, dim=-1``) after ``torch.manual_seed(seed)``."""
    import torch

    def sampler(logits: np.ndarray, temperature: float, n: int, seed: int):
        torch.manual_seed(int(seed) % (2**63))
        x = torch.as_tensor(logits, dtype=dtype or torch.float64, device=device).expand(n, -1).contiguous()
        with torch.no_grad():
            return fn(x, tau=temperature, hard=False, dim=-1)

    return sampler


def onehot_rows(y: np.ndarray, axis: int = 1) -> NDArray[np.bool_]:
    """Which slices of ``y`` along ``axis`` are exactly one-hot (all entries 0 or 1, one 1)."""
    ones = y == 1
    return np.all(ones | (y == 0), axis=axis) & (np.sum(ones, axis=axis) == 1)


def torch_as_categorical(fn: Callable, *, temperature: float = 1.0, dtype: Any = None,
                         device: str = "cpu") -> CategoricalSampler:
    """A categorical sampler from the torch protocol with ``hard=True``: the index of the
    one-hot row. The row must be exactly one-hot (else :class:`TargetError`)."""
    import torch

    def sampler(logits: np.ndarray, n: int, seed: int):
        torch.manual_seed(int(seed) % (2**63))
        x = torch.as_tensor(logits, dtype=dtype or torch.float64, device=device).expand(n, -1).contiguous()
        with torch.no_grad():
            y = fn(x, tau=temperature, hard=True, dim=-1)
        yn = to_numpy(y, "torch sampler (hard=True)")
        if yn.shape != (n, logits.shape[-1]):
            raise TargetError(f"hard=True returned shape {yn.shape}, expected {(n, logits.shape[-1])}")
        ok = onehot_rows(yn)
        if not ok.all():
            bad = int(np.sum(~ok))
            raise TargetError(f"hard=True returned {bad} of {n} rows that are not exactly one-hot")
        return np.argmax(yn, axis=1)

    return sampler


# --- the references behind the protocols -------------------------------------------------

def reference_categorical(logits: np.ndarray, n: int, seed: int) -> NDArray[np.int64]:
    """``reference.numpy_sampler.sample`` (float64 exponential race) as a categorical sampler."""
    from reference.numpy_sampler import sample

    return sample(logits, n, seed)


def reference_relaxed(logits: np.ndarray, temperature: float, n: int, seed: int) -> NDArray[np.float64]:
    """NumPy Concrete sampler: :math:`y = \\operatorname{softmax}((x + g)/T)`, float64 noise
    from ``reference.numpy_sampler.gumbel_noise``, max-subtracted before dividing by T."""
    from reference.laws import validate_temperature
    from reference.numpy_sampler import as_generator, gumbel_noise
    from reference.softmax import softmax, validate_logits

    x = validate_logits(np.asarray(logits, dtype=np.float64))
    t = validate_temperature(temperature)
    s = x + gumbel_noise(as_generator(seed), (n, x.shape[-1]))
    s -= s.max(axis=-1, keepdims=True)
    return softmax(s / t, axis=-1)


def reference_noise(shape: tuple, seed: int) -> NDArray[np.float64]:
    """``reference.numpy_sampler.gumbel_noise`` in float64 as a noise sampler."""
    from reference.numpy_sampler import as_generator, gumbel_noise

    return gumbel_noise(as_generator(seed), tuple(shape))
