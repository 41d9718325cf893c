"""Digests of a check's draws: a short hash of what was drawn, kept only when two independent
samples would collide with probability at most :data:`DIGEST_COLLISION_MAX`, so that equal digests
in the two stages of a confirmation mean the target returned the same draws for another seed
(:func:`harness.checks.confirmation.same_draws`)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["DIGEST_COLLISION_MAX", "sequence_digest", "counts_digest", "hits_digest"]


#: largest probability that two independent samples coincide for a digest to be conclusive
DIGEST_COLLISION_MAX = 1e-6


def _digest(*arrays: Any) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def sequence_digest(x: ArrayLike) -> str | None:
    """A digest of an ordered sample of iid draws, or None when two independent samples could
    coincide with probability above :data:`DIGEST_COLLISION_MAX` (estimated as
    ``(sum_v f_v^2)^n`` over the sample's value frequencies ``f``: float samples of a continuous
    law are never equal; a sample of 20 values of 0/1 can be)."""
    a = np.asarray(x).ravel()
    if a.size == 0:
        return None
    _, c = np.unique(a, return_counts=True)
    f = c / a.size
    if a.size * math.log(max(float(np.sum(f * f)), 1e-300)) > math.log(DIGEST_COLLISION_MAX):
        return None
    return _digest(a)


def counts_digest(counts: ArrayLike, probs: ArrayLike) -> str | None:
    """A digest of a count vector, or None when two independent multinomial samples of the
    law ``probs`` coincide with probability above :data:`DIGEST_COLLISION_MAX` (bounded by the
    largest multinomial probability, evaluated near the mode: ``floor(N p)`` plus the remaining units)."""
    from scipy.special import gammaln

    o = np.asarray(counts, dtype=np.float64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    n = int(o.sum())
    if n == 0 or o.size != p.size:
        return None
    pos = p > 0
    pp = p[pos] / p[pos].sum()
    mode = np.floor(n * pp)  # near the multinomial mode: floor(N p), then the remaining units
    rest = n - int(mode.sum())  # (< K) one each where they raise the pmf most
    if rest > 0:
        gain = np.log(pp) - np.log(mode + 1)
        mode[np.argsort(-gain, kind="stable")[:rest]] += 1
    with np.errstate(divide="ignore"):
        lp = float(gammaln(n + 1) - np.sum(gammaln(mode + 1)) + np.sum(np.where(mode > 0, mode * np.log(pp), 0.0)))
    if lp > math.log(DIGEST_COLLISION_MAX):
        return None
    return _digest(o)


def hits_digest(positions: ArrayLike, p: float) -> str | None:
    """A digest of the positions (indices in the stream of draws) of the first hits of a rare
    event of rate ``p``, or None when it is not conclusive: independent streams put their first
    ``j`` hits at the same positions with probability <= ``p^j``."""
    pos = np.asarray(positions, dtype=np.int64).ravel()
    if not 0 < p < 1 or pos.size * math.log(p) > math.log(DIGEST_COLLISION_MAX):
        return None
    return _digest(pos)

