"""Streamed category counts of Gumbel-max draws: :func:`counts` runs the reference sampler's
chunks (:func:`harness.core.streaming.counts_chunk`, pure NumPy) through the harness's one
chunk pool (:mod:`harness.core.parallel`), so 1e10 draws take O(K) memory and every core.
"""
from __future__ import annotations

import operator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from harness.core.parallel import child_seed, root_seed, run_chunks
from reference.numpy_sampler import (DEFAULT_BLOCK_ELEMENTS, DEFAULT_CHUNK_ELEMENTS, Method, SeedLike, check_dtype, check_method, check_n, counts_chunk, prepare_logits, race_weights)

__all__ = ["counts"]


def counts(
    logits: ArrayLike,
    n: int,
    seed: SeedLike = None,
    *,
    axis: int = -1,
    dtype: DTypeLike = np.float64,
    method: Method = "race",
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    block_elements: int = DEFAULT_BLOCK_ELEMENTS,
    workers: int | None = None,
    scheduler=None,
    progress: bool | None = None,
) -> NDArray[np.int64]:
    r"""Category counts of ``n`` Gumbel-max draws, streamed in chunks, in parallel.

    Returns an ``int64`` array shaped like ``logits`` (counts along ``axis``, each slice
    summing to ``n``; every category counted, zeros included). Memory is
    O(K + block) per worker whatever ``n`` (1e10 is fine). The draws are cut into chunks of
    ``max(1, chunk_elements // K)`` rows, chunk ``c`` seeded by child ``c`` of the root
    ``SeedSequence`` (batched logits: batch entry ``b`` uses the root's child ``b`` as its own
    root), and run by :func:`harness.core.parallel.run_chunks`: ``workers`` processes (``None`` = all
    cores, 1 = in this process) or a Dask ``scheduler`` (``"local"``, an address, or a
    ``distributed.Client``). The result for a given seed is the same for every ``workers`` and
    ``scheduler``.
    """
    n = check_n(n)
    dt = check_dtype(dtype)
    method = check_method(method)
    chunk_elements = check_n(chunk_elements, "chunk_elements") or 1
    block_elements = check_n(block_elements, "block_elements") or 1
    logp, batch = prepare_logits(logits, axis)
    k = logp.shape[-1]
    root = root_seed(seed)
    w_all = race_weights(logp, method, dt).reshape(-1, k)
    chunk_rows = max(1, chunk_elements // k)
    n_chunks = -(-n // chunk_rows)
    result = np.zeros(w_all.shape, np.int64)
    for b in range(w_all.shape[0]):
        if n == 0:
            break
        sub_root = root if not batch else child_seed(root, b)
        total = run_chunks(
            counts_chunk, n_chunks, sub_root,
            args=(w_all[b], n, chunk_rows, method, dt, block_elements),
            combine=operator.add, workers=workers, scheduler=scheduler, progress=progress,
            desc="counts",
        )
        result[b] = total
    return np.moveaxis(result.reshape(batch + (k,)), -1, axis)
