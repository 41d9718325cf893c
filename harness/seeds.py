"""Seeds: every check of a run gets its own reproducible seed derived from the run seed and the
check's id, so a single check can be re-run alone (``--only``) with exactly the same draws."""
from __future__ import annotations

import zlib

import numpy as np

__all__ = ["derive_seed", "chunk_seeds", "seeded_chunks"]


def derive_seed(run_seed: int, *keys: str | int) -> int:
    """A 63-bit seed from ``run_seed`` and any number of string/int keys (stable across
    Python versions and processes: CRC32 of strings, never ``hash``)."""
    words = [int(run_seed) & 0xFFFFFFFF, (int(run_seed) >> 32) & 0xFFFFFFFF]
    for k in keys:
        words.append(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) & 0xFFFFFFFF)
    state = np.random.SeedSequence(words).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def chunk_seeds(seed: int, n_chunks: int) -> list[int]:
    """``n_chunks`` independent int seeds for chunked calls of a sampler (SeedSequence.spawn)."""
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> 1)
            for c in np.random.SeedSequence(int(seed)).spawn(n_chunks)]


def seeded_chunks(n: int, rows: int, seed: int) -> list[tuple[int, int]]:
    """``(size, seed)`` of each chunk when ``n`` draws are cut into chunks of at most ``rows``:
    chunk ``i`` gets ``chunk_seeds(seed, count)[i]`` (empty for ``n = 0``)."""
    sizes = [min(rows, n - s) for s in range(0, n, rows)]
    return list(zip(sizes, chunk_seeds(seed, len(sizes))))
