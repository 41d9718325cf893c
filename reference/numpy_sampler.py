r"""Seeded NumPy Gumbel-max sampler: samples, streaming counts, and Gumbel-top-k.

Noise and its exact range
-------------------------
Standard Gumbel noise is drawn as :math:`g = -\log E` with :math:`E \sim \mathrm{Exp}(1)` from
``Generator.standard_exponential`` (ziggurat). That generator can return exactly ``0.0`` (its
fast path multiplies a random integer that may be 0 by a strip width), and ``-log(0) = +inf``
would turn ``-inf + inf`` into NaN for a zero-probability category (bugs.md A.1, A.2). Every
exact zero is therefore **redrawn** (rejection: conditioning on :math:`E > 0`, an event of
probability 1 under the ideal law, so the law is unchanged). With :math:`E > 0` finite,
:math:`g` is finite: in float64 the smallest positive ziggurat output is of order
:math:`2^{-53}`-ish strip units, so :math:`g \lesssim 37`, i.e. the tail
:math:`P(g > 36.7) \approx 10^{-16}` is the only part of the law that is cut; in float32 the
cut is near :math:`g \approx 16.6` (24-bit mantissa, :math:`P(g > 16.6) \approx 6 \times
10^{-8}`), which the tail-mass experiment measures. float64 is the default.

The default ``method="race"`` uses the equivalent exponential race (spec T4):
:math:`\arg\max_i (x_i - \log E_i) = \arg\min_i E_i / p_i = \arg\min_i E_i\, e^{\operatorname{lse}(x) - x_i}`,
which needs no logarithm. ``-inf`` logits get weight :math:`+\infty` and, with :math:`E > 0`,
can never win. ``method="gumbel"`` computes :math:`\arg\max(x + g)` literally. Both are exact.

Reproducibility
---------------
``seed`` is an ``int``, a :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`.
``counts`` splits the work into fixed chunks, each with its own stream from
``SeedSequence.spawn``, so the result for a given seed does not depend on how (or whether)
the chunks are run in parallel.
"""
from __future__ import annotations

from typing import Literal, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from reference.softmax import LogitsError, log_softmax, validate_logits

__all__ = [
    "SeedLike",
    "as_generator",
    "exponential_noise",
    "gumbel_noise",
    "sample",
    "counts",
    "top_k",
    "DEFAULT_CHUNK_ELEMENTS",
]

SeedLike = Union[int, np.random.SeedSequence, np.random.Generator, None]
Method = Literal["race", "gumbel"]
DEFAULT_CHUNK_ELEMENTS = 1 << 20  # ~8 MB of float64 noise per chunk


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A ``Generator`` from an int / ``SeedSequence`` / ``Generator`` (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return seed.bit_generator.seed_seq.spawn(1)[0]  # type: ignore[attr-defined]
    return np.random.SeedSequence(seed)


def _check_dtype(dtype: DTypeLike) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"noise dtype must be float32 or float64, got {dt}")
    return dt


def exponential_noise(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: DTypeLike = np.float64,
    out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    """Exp(1) draws, strictly positive: exact zeros are redrawn (see module doc)."""
    dt = _check_dtype(dtype)
    e = rng.standard_exponential(size=shape, dtype=dt, out=out)
    zero = e == 0
    while zero.any():
        e[zero] = rng.standard_exponential(size=int(zero.sum()), dtype=dt)
        zero = e == 0
    return e


def gumbel_noise(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: DTypeLike = np.float64
) -> NDArray[np.floating]:
    r"""Standard Gumbel draws :math:`g = -\log E`, :math:`E > 0`: always finite."""
    e = exponential_noise(rng, shape, dtype)
    np.log(e, out=e)
    np.negative(e, out=e)
    return e


def _scores(
    logp: NDArray[np.floating], rng: np.random.Generator, rows: int, method: Method,
    dtype: np.dtype,
) -> tuple[NDArray[np.floating], bool]:
    """Noise-perturbed scores of shape (rows, *logp.shape); returns (scores, maximise?)."""
    shape = (rows,) + logp.shape
    if method == "gumbel":
        return logp + gumbel_noise(rng, shape, dtype), True
    if method == "race":
        with np.errstate(over="ignore"):
            inv_p = np.exp(-logp).astype(dtype)  # 1/p; +inf for p = 0
        e = exponential_noise(rng, shape, dtype)
        e *= inv_p
        return e, False
    raise ValueError(f"method must be 'race' or 'gumbel', got {method!r}")


def _pick(scores: NDArray[np.floating], maximise: bool, axis: int) -> NDArray[np.int64]:
    return np.argmax(scores, axis=axis) if maximise else np.argmin(scores, axis=axis)


def sample(
    logits: ArrayLike,
    n: int,
    seed: SeedLike = None,
    *,
    axis: int = -1,
    dtype: DTypeLike = np.float64,
    method: Method = "race",
) -> NDArray[np.int64]:
    r"""Draw ``n`` categorical samples :math:`i \sim \operatorname{softmax}(x)` by Gumbel-max.

    ``logits`` may be batched: the category axis is ``axis``; the result has shape
    ``(n, *batch_shape)`` where ``batch_shape`` is the logits' shape without ``axis``.
    ``-inf`` logits (probability 0) are never returned. NaN, +inf, all-``-inf`` raise
    :class:`~reference.softmax.LogitsError`.
    """
    n = _check_n(n)
    dt = _check_dtype(dtype)
    x = validate_logits(logits, axis)
    logp = np.moveaxis(log_softmax(x.astype(np.float64), axis=axis), axis, -1)
    rng = as_generator(seed)
    if n == 0 or logp.size == 0:
        return np.zeros((n,) + logp.shape[:-1], dtype=np.int64)
    scores, maximise = _scores(logp.astype(dt), rng, n, method, dt)
    return _pick(scores, maximise, -1).astype(np.int64)


def _check_n(n: int) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        else:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return int(n)


def _chunk_rows(k: int, chunk_elements: int) -> int:
    return max(1, int(chunk_elements) // max(1, k))


def _counts_chunk(
    logp: NDArray[np.floating], rows: int, seed_seq: np.random.SeedSequence, method: Method,
    dtype: np.dtype,
) -> NDArray[np.int64]:
    rng = np.random.Generator(np.random.PCG64(seed_seq))
    scores, maximise = _scores(logp, rng, rows, method, dtype)
    return np.bincount(_pick(scores, maximise, -1), minlength=logp.shape[-1]).astype(np.int64)


def counts(
    logits: ArrayLike,
    n: int,
    seed: SeedLike = None,
    *,
    dtype: DTypeLike = np.float64,
    method: Method = "race",
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> NDArray[np.int64]:
    r"""Category counts of ``n`` Gumbel-max draws from 1-D ``logits``, streamed in chunks.

    Memory is :math:`O(K + \text{chunk})` whatever ``n`` (1e10 is fine); chunk ``c`` uses the
    ``c``-th child of ``SeedSequence(seed).spawn``, so results are reproducible and
    independent of any parallel split. Returns an ``int64`` array of shape ``(K,)`` summing to
    ``n``; every category is counted (zeros included).
    """
    n = _check_n(n)
    dt = _check_dtype(dtype)
    x = validate_logits(logits)
    if x.ndim != 1:
        raise ValueError(f"counts takes 1-D logits, got shape {x.shape}")
    logp = log_softmax(x.astype(np.float64)).astype(dt)
    k = logp.shape[0]
    rows = _chunk_rows(k, chunk_elements)
    n_chunks = -(-n // rows)
    total = np.zeros(k, dtype=np.int64)
    for c, child in enumerate(_seed_sequence(seed).spawn(n_chunks)):
        r = min(rows, n - c * rows)
        total += _counts_chunk(logp, r, child, method, dt)
    return total


def top_k(
    logits: ArrayLike,
    k: int,
    n: int,
    seed: SeedLike = None,
    *,
    dtype: DTypeLike = np.float64,
) -> NDArray[np.int64]:
    r"""Gumbel-top-k: ``n`` ordered samples of ``k`` distinct categories without replacement.

    The indices of the ``k`` largest :math:`x_i + g_i`, in decreasing order, follow the
    Plackett-Luce law (spec T5). Zero-weight (``-inf``) categories are never returned; asking
    for more than the number of nonzero-weight categories raises ``ValueError`` (pytorch#125388
    returned zero-weight categories instead). Ties between equal scores have probability 0
    (continuous noise). Returns shape ``(n, k)``.
    """
    n = _check_n(n)
    x = validate_logits(logits)
    if x.ndim != 1:
        raise ValueError(f"top_k takes 1-D logits, got shape {x.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    nonzero = int(np.sum(np.isfinite(x)))
    if k > nonzero:
        raise ValueError(
            f"cannot draw k={k} categories without replacement: only {nonzero} of "
            f"{x.shape[0]} categories have nonzero probability"
        )
    dt = _check_dtype(dtype)
    logp = log_softmax(x.astype(np.float64)).astype(dt)
    rng = as_generator(seed)
    scores = logp + gumbel_noise(rng, (n, x.shape[0]), dt)
    part = np.argpartition(-scores, k - 1, axis=-1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(part, order, axis=-1).astype(np.int64)


# Re-exported for callers that want the error type next to the sampler.
LogitsError = LogitsError
