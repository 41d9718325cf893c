"""Seeds: every check of a run gets its own reproducible seed derived from the run seed and the
check's id, so a single check can be re-run alone (``--only``) with exactly the same draws."""
from __future__ import annotations

import zlib

import numpy as np

__all__ = ["derive_seed", "chunk_seeds", "seeded_chunks", "validate_seed", "seed_argument", "MAX_SEED"]

#: Run seeds are integers in ``[0, MAX_SEED)``: :func:`derive_seed` uses the low 64 bits, so a
#: larger (or negative) integer would silently alias another seed (2**70 would give the draws of
#: 0). Such seeds are refused, never reduced.
MAX_SEED = 1 << 64


def validate_seed(seed: object) -> int:
    """``seed`` as an int in ``[0, 2**64)``; ``ValueError`` otherwise (bools, floats, strings,
    negative or wider integers: each would alias or be ambiguous)."""
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r} ({type(seed).__name__})")
    s = int(seed)
    if not 0 <= s < MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {s} (negative and wider seeds are "
                         "refused: they would alias another seed)")
    return s


def seed_argument(text: str) -> int:
    """argparse ``type=`` for ``--seed``: a decimal integer in ``[0, 2**64)``."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: expected an integer in [0, 2**64)") from None
    try:
        return validate_seed(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
