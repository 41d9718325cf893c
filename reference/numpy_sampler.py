r"""Seeded NumPy Gumbel-max sampler: samples, streaming parallel counts, and Gumbel-top-k.

Noise and its exact range
-------------------------
Standard Gumbel noise is :math:`g = -\log E` with :math:`E \sim \mathrm{Exp}(1)` drawn by
``Generator.standard_exponential`` (NumPy's ziggurat, ``numpy/random/src/distributions/
distributions.c``). Its fast path returns ``x = ri * we[idx]`` with ``idx`` one of 256 layers
and ``ri`` a uniform integer of 53 bits (float64) or 23 bits (float32), so:

* **Exact zeros happen.** ``ri = 0`` gives ``E = 0.0`` (also on layer 1, whose ``ke`` is 0,
  through the slow path), so :math:`P(E = 0) = 2^{-53} \approx 1.1\times10^{-16}` per float64
  draw and :math:`2^{-23} \approx 1.19\times10^{-7}` per float32 draw (measured: 132 zeros in
  :math:`2^{30}` float32 draws, 128 expected). ``-log(0) = +inf`` and ``0 * inf = NaN`` would
  corrupt a sample (bugs.md A.1, A.2), so every exact zero is **redrawn**: a rejection step,
  i.e. conditioning on :math:`E > 0`. The guard costs one cheap reduction per block (the minimum
  of the block's winning scores, a NaN or 0 there flags it) and the redraw runs only in the rare
  blocks that hold a zero. After it, :math:`E \ge` ``we[1]`` :math:`> 0` and :math:`E < \infty`.
* **Smallest positive draw.** ``we[1] = x_1 / 2^{53}`` or ``x_1 / 2^{23}`` with
  :math:`x_1 = 0.0638522` the narrowest layer: :math:`E_{\min} = 7.09\times10^{-18}` (float64,
  :math:`g \le 39.49`) and :math:`7.61\times10^{-9}` (float32, :math:`g \le 18.69`). The largest
  draw is finite (tail: :math:`7.697 - \log(1-u)` with :math:`u < 1`), so :math:`g > -4.0`.
* **What the float32 path cuts.** Near 0 the float32 draws live on 256 lattices of spacing
  ``we[idx]`` (up to :math:`1.04\times10^{-6}`); once the zero atom is removed the discrete CDF is
  :math:`P(E \le t) \approx t - 2^{-24}` for :math:`10^{-6} \lesssim t \lesssim 0.06` and smaller
  still below (measured over :math:`2^{30}` draws: 70% of the ideal mass below
  :math:`2^{-22}`, 96% below :math:`2^{-20}`, none below :math:`7.6\times10^{-9}`). For the race
  this means a category of small probability :math:`p` wins with probability about
  :math:`p - 2^{-24} \approx p - 6\times10^{-8}` (relative error :math:`6\times10^{-8}/p`:
  6% at :math:`p = 10^{-6}`) and a category with :math:`p \lesssim 10^{-8}` essentially never wins:
  the float32 upper tail of :math:`g` is cut at 18.69 and thinned above about 14 (a total mass of
  about :math:`2^{-24}`, like the 24-bit uniforms of bugs.md A.3). **float64, the default, is the
  exact reference**: its deficit is :math:`2^{-54} \approx 5.6\times10^{-17}` and its cap
  :math:`g \le 39.49`, i.e. a logit gap of 39 (probability :math:`10^{-17}`) is still sampled.
* **Precision of E / p.** The race compares :math:`E_i / p_i` computed as ``E * (1/p)`` in the
  noise dtype, with ``1/p = exp(lse - x_i)`` evaluated in float64 and rounded once (relative
  error :math:`2^{-24}` in float32, :math:`2^{-53}` in float64, i.e. that relative error on
  :math:`p_i`). ``1/p >= 1``, so the product never underflows; it overflows to ``inf`` only for
  :math:`p < 10^{-308}` (float64) or :math:`p < 2.9\times10^{-39}` (float32), categories that then
  never win (the most probable category has ``1/p <= K``, so the minimum is always finite).
  Two equal products (probability :math:`O(2^{-24})` per sample in float32, :math:`O(2^{-53})`
  in float64) go to the lower index, as ``argmin`` does.
* **-inf logits** get ``1/p = +inf``: with :math:`E > 0` the score is ``+inf`` and never wins
  (``method="gumbel"``: ``-inf + g = -inf``, never the maximum).

Methods
-------
``method="race"`` (default) is the exponential race (spec T4):
:math:`\arg\max_i (x_i - \log E_i) = \arg\min_i E_i / p_i`, which needs no logarithm, one
multiply and one ``argmin`` per draw. ``method="gumbel"`` computes :math:`\arg\max(\log p + g)`
literally (same draws, a logarithm more). Both are exact.

Streaming, speed, parallelism
-----------------------------
:func:`counts` never holds an ``N x K`` array. The ``n`` draws are cut into **chunks** of about
``chunk_elements`` noise values (a whole number of rows); chunk ``c`` draws from its own stream
seeded by child ``c`` of the root :class:`~numpy.random.SeedSequence`
(:func:`harness.core.parallel.child_seed`), and the chunks run on all cores through
:func:`harness.core.parallel.run_chunks` (or a Dask cluster, ``scheduler=``). Inside a chunk the draws
go through one reused **block** buffer of about ``block_elements`` values (512 KB in float64, so
it stays in L2 cache): ``standard_exponential(out=...)``, an in-place multiply by ``1/p`` and a
reduction, with no temporaries. For ``K <= 32`` the block is laid out category-major
(``K x rows``): the minimum over categories is an elementwise ``np.minimum`` sweep and the counts
are ``count_nonzero(score_k == min)`` per category (an exact tie, seen as a count total above
the row count, falls back to ``argmin``); for larger ``K`` the block is sample-major with
``argmin(axis=1)`` and ``bincount``. Throughput is about 0.7-0.9 of merely drawing the ``N x K``
exponentials (``benchmarks/run.py``). The result depends on ``seed``, ``n``, ``K``, ``dtype``,
``method``, ``chunk_elements`` and ``block_elements``, never on ``workers`` or ``scheduler``.

Seeds
-----
``seed`` is an ``int`` (a value: same int, same result), a :class:`numpy.random.SeedSequence`
(used as is), a :class:`numpy.random.Generator` (a stateful source: :func:`sample` and
:func:`top_k` draw from it; :func:`counts` spawns one child of its seed sequence per call) or
``None`` (fresh entropy).
"""
from __future__ import annotations

import operator
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
    "top_k",
    "DEFAULT_CHUNK_ELEMENTS",
    "DEFAULT_BLOCK_ELEMENTS",
    "SMALL_K",
]

SeedLike = Union[int, np.random.SeedSequence, np.random.Generator, None]
Method = Literal["race", "gumbel"]
#: Noise values per seeded chunk (the unit of parallel work, ~30-50 ms of draws).
DEFAULT_CHUNK_ELEMENTS = 1 << 22
#: Noise values per reused in-cache block (512 KB of float64).
DEFAULT_BLOCK_ELEMENTS = 1 << 16
#: Up to this many categories the race uses the category-major block layout.
SMALL_K = 32


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A ``Generator`` from an int / ``SeedSequence`` / ``Generator`` (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_, float)):
        raise ValueError(f"seed must be an int, a SeedSequence or a Generator, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad seed {seed!r}: {exc}") from None


def check_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"noise dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"noise dtype must be float32 or float64, got {dt}")
    return dt


def check_n(n: int, name: str = "n") -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        if isinstance(n, (float, np.floating)) and float(n).is_integer():
            n = int(n)
        else:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    if n < 0:
        raise ValueError(f"{name} must be >= 0, got {n}")
    return int(n)


def check_method(method: str) -> str:
    if method not in ("race", "gumbel"):
        raise ValueError(f"method must be 'race' or 'gumbel', got {method!r}")
    return method


def _positive_exponentials(rng: np.random.Generator, size: int, dt: np.dtype) -> NDArray:
    """``size`` Exp(1) draws conditioned on > 0 (exact zeros redrawn)."""
    e = rng.standard_exponential(size=size, dtype=dt)
    _redraw_zeros(rng, e)
    return e


def _redraw_zeros(rng: np.random.Generator, e: NDArray[np.floating]) -> None:
    """Replace every exact 0 of ``e`` (in place) by a fresh draw, until none is left."""
    flat = e.reshape(-1)
    bad = np.flatnonzero(flat == 0)
    while bad.size:
        flat[bad] = rng.standard_exponential(size=bad.size, dtype=e.dtype)
        bad = bad[flat[bad] == 0]


def exponential_noise(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: DTypeLike = np.float64,
    out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    """Exp(1) draws, strictly positive and finite: exact zeros are redrawn (module doc).

    ``out`` (C-contiguous, of ``dtype``) is filled in place and returned; ``rng`` may be a seed.
    """
    dt = check_dtype(dtype)
    rng = as_generator(rng)
    if out is None:
        e = rng.standard_exponential(size=shape, dtype=dt)
    else:
        e = rng.standard_exponential(dtype=dt, out=out)
    if e.size and not e.min() > 0:
        _redraw_zeros(rng, e)
    return e


def gumbel_noise(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: DTypeLike = np.float64,
    out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    r"""Standard Gumbel draws :math:`g = -\log E`, :math:`E > 0`: always finite (module doc:
    :math:`-4.0 < g \le 39.49` in float64, :math:`\le 18.69` in float32)."""
    e = exponential_noise(rng, shape, dtype, out=out)
    np.log(e, out=e)
    np.negative(e, out=e)
    return e


# ------------------------------------------------------------------------- block kernels
def race_weights(logp: NDArray[np.float64], method: str, dt: np.dtype) -> NDArray[np.floating]:
    """Per-category factor: ``1/p`` (race; ``+inf`` for p = 0) or ``log p`` (gumbel)."""
    with np.errstate(over="ignore"):
        w = np.exp(-logp) if method == "race" else logp
        return w.astype(dt)


def _fix_race_block(rng: np.random.Generator, scores: NDArray, inv: NDArray) -> None:
    """Scores ``E * inv`` where some E was exactly 0 (score 0, or NaN when inv = inf): redraw
    those E (> 0) and recompute their scores. ``inv`` broadcasts against ``scores``."""
    bad = np.nonzero(~(scores > 0))
    new = _positive_exponentials(rng, bad[0].size, scores.dtype)
    inv_b = np.broadcast_to(inv, scores.shape)[bad]
    scores[bad] = new * inv_b


def _race_small_k(rng, inv_col, rows, dt, block_rows, acc) -> None:
    """Category-major race for small K: ``inv_col`` has shape (K, 1); adds counts to ``acc``."""
    k = inv_col.shape[0]
    buf = np.empty((k, block_rows), dt)
    best = np.empty(block_rows, dt)
    mask = np.empty(block_rows, bool)
    c = np.empty(k, np.int64)
    done = 0
    while done < rows:
        r = min(block_rows, rows - done)
        if r != block_rows:  # last partial block: out= needs a contiguous array
            buf, best, mask = np.empty((k, r), dt), best[:r], mask[:r]
        rng.standard_exponential(dtype=dt, out=buf)
        np.multiply(buf, inv_col, out=buf)
        np.min(buf, axis=0, out=best)
        if not best.min() > 0:  # an exact-zero E somewhere (score 0 or NaN): redraw it
            _fix_race_block(rng, buf, inv_col)
            np.min(buf, axis=0, out=best)
        for j in range(k):
            np.equal(buf[j], best, out=mask)
            c[j] = np.count_nonzero(mask)
        if c.sum() != r:  # an exact tie at the minimum: resolve as argmin does (lowest index)
            c[:] = np.bincount(np.argmin(buf, axis=0), minlength=k)
        acc += c
        done += r


def _stream_blocks(rows, block_rows, shape, dt, pick, out_idx=None, acc=None) -> None:
    """The block loop shared by the row kernels: for each block of up to ``block_rows`` draws,
    ``pick(buf, idx)`` fills the reused noise buffer ``buf`` (shape (r, *shape)) and writes the
    winners into ``idx``; they go to ``out_idx`` (shape (rows, *batch)) and/or are counted into
    ``acc`` (1-D logits only)."""
    buf = np.empty((block_rows,) + shape, dt)
    idx = np.empty((block_rows,) + shape[:-1], np.intp)
    done = 0
    while done < rows:
        r = min(block_rows, rows - done)
        if r != block_rows:
            buf, idx = np.empty((r,) + shape, dt), idx[:r]
        pick(buf, idx)
        if out_idx is not None:
            out_idx[done:done + r] = idx
        if acc is not None:
            acc += np.bincount(idx.reshape(-1), minlength=shape[-1])
        done += r


def _race_rows(rng, inv_row, rows, dt, block_rows, out_idx=None, acc=None) -> None:
    """Sample-major race: scores (r, *batch, K) = E * inv_row; argmin over the last axis."""

    def pick(buf, idx):
        rng.standard_exponential(dtype=dt, out=buf)
        np.multiply(buf, inv_row, out=buf)
        np.argmin(buf, axis=-1, out=idx)
        picked = np.take_along_axis(buf, idx[..., None], axis=-1)
        if picked.size and not picked.min() > 0:  # argmin lands on any 0 or NaN: redraw
            _fix_race_block(rng, buf, inv_row)
            np.argmin(buf, axis=-1, out=idx)

    _stream_blocks(rows, block_rows, inv_row.shape, dt, pick, out_idx, acc)


def _gumbel_rows(rng, logp_row, rows, dt, block_rows, out_idx=None, acc=None) -> None:
    """Literal Gumbel-max: scores = log p - log E (E > 0), argmax over the last axis."""

    def pick(buf, idx):
        exponential_noise(rng, buf.shape, dt, out=buf)
        np.log(buf, out=buf)
        np.subtract(logp_row, buf, out=buf)
        np.argmax(buf, axis=-1, out=idx)

    _stream_blocks(rows, block_rows, logp_row.shape, dt, pick, out_idx, acc)


def _block_rows(row_elements: int, block_elements: int) -> int:
    return max(1, int(block_elements) // max(1, row_elements))


@np.errstate(invalid="ignore")  # 0 * inf = NaN from an exact-zero draw is caught and redrawn
def _count_into(rng, w, rows, method, dt, block_elements, acc) -> None:
    """Counts of ``rows`` draws from one stream (1-D weights ``w``) added into ``acc``."""
    k = w.shape[0]
    br = _block_rows(k, block_elements)
    if method == "race" and k <= SMALL_K:
        _race_small_k(rng, w[:, None], rows, dt, br, acc)
    elif method == "race":
        _race_rows(rng, w, rows, dt, br, acc=acc)
    else:
        _gumbel_rows(rng, w, rows, dt, br, acc=acc)


def _make_generator(seed: np.random.SeedSequence) -> np.random.Generator:
    """The stream of one chunk (a hook: tests substitute adversarial generators here)."""
    return np.random.Generator(np.random.PCG64(seed))


def counts_chunk(index: int, seed: np.random.SeedSequence, w: NDArray, n: int,
                  chunk_rows: int, method: str, dt: np.dtype, block_elements: int
                  ) -> NDArray[np.int64]:
    """Chunk task for :func:`harness.core.parallel.run_chunks`: counts of rows
    ``[index * chunk_rows, min(n, (index + 1) * chunk_rows))`` from the chunk's own stream."""
    rows = min(chunk_rows, n - index * chunk_rows)
    acc = np.zeros(w.shape[0], np.int64)
    _count_into(_make_generator(seed), w, rows, method, dt, block_elements, acc)
    return acc


# ------------------------------------------------------------------------------ public API
def prepare_logits(logits: ArrayLike, axis: int) -> tuple[NDArray[np.float64], tuple[int, ...]]:
    """Validated float64 log-probabilities with the category axis moved last."""
    x = validate_logits(logits, axis)
    logp = np.moveaxis(log_softmax(x.astype(np.float64), axis=axis), axis, -1)
    return np.ascontiguousarray(logp), logp.shape[:-1]


def sample(
    logits: ArrayLike,
    n: int,
    seed: SeedLike = None,
    *,
    axis: int = -1,
    dtype: DTypeLike = np.float64,
    method: Method = "race",
    block_elements: int = DEFAULT_BLOCK_ELEMENTS,
) -> NDArray[np.int64]:
    r"""Draw ``n`` categorical samples :math:`i \sim \operatorname{softmax}(x)` by Gumbel-max.

    ``logits`` may be batched: the category axis is ``axis``; the result has shape
    ``(n, *batch_shape)`` where ``batch_shape`` is the logits' shape without ``axis``; every
    batch entry and every sample gets its own noise. ``-inf`` logits (probability 0) are never
    returned. NaN, +inf, all-``-inf`` raise :class:`~reference.softmax.LogitsError`
    (a ``ValueError``); so do a negative ``n`` and a dtype other than float32/float64. Draws
    stream through a reused block of about ``block_elements`` noise values (memory
    O(output + block + logits)).
    """
    n = check_n(n)
    dt = check_dtype(dtype)
    method = check_method(method)
    logp, batch = prepare_logits(logits, axis)
    rng = as_generator(seed)
    out = np.zeros((n,) + batch, dtype=np.int64)
    if n == 0 or logp.size == 0:
        return out
    w = race_weights(logp, method, dt)
    br = _block_rows(logp.size, block_elements)
    kernel = _race_rows if method == "race" else _gumbel_rows
    with np.errstate(invalid="ignore"):  # 0 * inf from an exact-zero draw: caught, redrawn
        kernel(rng, w, n, dt, br, out_idx=out)
    return out




def top_k(
    logits: ArrayLike,
    k: int,
    n: int,
    seed: SeedLike = None,
    *,
    dtype: DTypeLike = np.float64,
    block_elements: int = DEFAULT_BLOCK_ELEMENTS,
) -> NDArray[np.int64]:
    r"""Gumbel-top-k: ``n`` ordered samples of ``k`` distinct categories without replacement.

    The indices of the ``k`` largest :math:`\log p_i + g_i`, in decreasing order, follow the
    Plackett-Luce law (spec T5). Zero-weight (``-inf``) categories are never returned: their
    score is ``-inf`` and at least ``k`` scores are finite. Asking for more than the number of
    nonzero-weight categories raises ``ValueError`` (pytorch#125388 returned zero-weight
    categories instead). Ties between equal scores have probability about :math:`2^{-53}`
    (float64) and go to the lower index. Returns shape ``(n, k)``; streams in blocks.
    """
    n = check_n(n)
    x = validate_logits(logits)
    if x.ndim != 1:
        raise ValueError(f"top_k takes 1-D logits, got shape {x.shape}")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = int(k)
    nonzero = int(np.sum(np.isfinite(x)))
    if k > nonzero:
        raise ValueError(
            f"cannot draw k={k} categories without replacement: only {nonzero} of "
            f"{x.shape[0]} categories have nonzero probability"
        )
    dt = check_dtype(dtype)
    logp = log_softmax(x.astype(np.float64)).astype(dt)
    rng = as_generator(seed)
    size = x.shape[0]
    out = np.empty((n, k), np.int64)
    br = _block_rows(size, block_elements)
    buf = np.empty((min(br, max(n, 1)), size), dt)
    done = 0
    while done < n:
        r = min(br, n - done)
        scores = buf[:r]
        gumbel_noise(rng, scores.shape, dt, out=scores)
        scores += logp
        np.negative(scores, out=scores)  # ascending order of -score = descending score
        if k < size:
            part = np.argpartition(scores, k - 1, axis=-1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(size), (r, size))
        order = np.argsort(np.take_along_axis(scores, part, axis=-1), axis=-1, kind="stable")
        out[done:done + r] = np.take_along_axis(part, order, axis=-1)
        done += r
    return out


# Re-exported for callers that want the error type next to the sampler.
LogitsError = LogitsError
