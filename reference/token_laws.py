r"""Closed-form laws of LLM token sampling: temperature, top-k, top-p, min-p, greedy.

For one row of logits ``x`` (length ``V``; entries finite or ``-inf``, at least one finite)
and the per-row parameters ``(T, k, p, m)``, the token law is :func:`token_probs`:

1. **Temperature first.** ``T = 0`` is greedy decoding: the law is the point mass at the
   *lowest index* among the maximal logits (``numpy.argmax`` / ``torch.argmax`` order); the
   filters are then irrelevant (every filter keeps the argmax). For ``T > 0`` the scores are
   ``z = x / T`` (float64). A tiny ``T`` (``1e-5``) is *not* greedy: ties share the mass
   equally and tokens ``T`` nats apart keep the ratio ``e``.
2. **top-k** (``k = None`` or ``0``: off; ``k >= V``: no-op). With ``tau`` the k-th largest
   score (``-inf`` entries counted, so ``tau = -inf`` removes nothing when fewer than ``k``
   tokens are finite), token ``i`` is kept iff ``z_i >= tau``: **every token tied with the
   k-th value is kept**, so more than ``k`` tokens can survive on ties. This is
   HuggingFace's ``TopKLogitsWarper`` (``scores < topk(scores, k).values[..., -1]`` removed)
   and vLLM's threshold form; an implementation keeping exactly ``k`` indices (breaking the
   boundary tie by position) does not follow this law.
3. **top-p** (``p = None`` or ``1``: off; ``0 < p <= 1``). On ``q = softmax(z)`` over the
   tokens kept so far, order the tokens by score ``z`` descending (equal scores: lower index
   first; HuggingFace sorts the scores, so two scores whose probabilities round equal keep
   their order) and keep
   token ``j`` iff the mass of the tokens *before* it is ``< p``: the smallest prefix whose
   mass reaches ``p``, **including the token that crosses p** (the top token is always
   kept). HuggingFace's ``TopPLogitsWarper`` (ascending cumsum ``<= 1 - p`` removed) is the
   same set in exact arithmetic; it orders ties arbitrarily, so the checks never put a tie or
   a cumulative mass within 1e-3 of ``p`` at the boundary.
4. **min-p** (``m = None`` or ``0``: off; ``0 <= m <= 1``). Relative to the **maximum
   probability** of the current (temperature-scaled, top-k/top-p filtered) distribution:
   token ``i`` is kept iff ``q_i >= m * max_j q_j``, i.e. ``z_i - max z >= log m``
   (HuggingFace ``MinPLogitsWarper``, applied after top-p as in ``generate``).
5. The law is ``softmax(z)`` restricted to the kept tokens and renormalised; ``-inf`` logits
   (masked tokens) have probability exactly 0 whatever the filters do.

Order: temperature, top-k, top-p, min-p (HuggingFace ``generate``'s warper order). top-k and
min-p commute with temperature only through ``z``; top-p does not (its cumulative mass is
computed at temperature ``T``: applying temperature after top-p is a different law).

:func:`token_probs` is the vectorised implementation (sorts); :func:`token_probs_bruteforce`
restates every definition by pairwise enumeration in plain Python (no sort, no cumsum); the
tests check they agree on random and tied rows, and that the HuggingFace warpers keep the
same sets.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["token_probs", "token_probs_batch", "kept_mask", "token_probs_bruteforce",
           "validate_token_params", "row_params"]


def _finite_or_neginf(x: np.ndarray, what: str = "logits") -> np.ndarray:
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{what} must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if np.isnan(x).any():
        raise ValueError(f"{what} contain NaN")
    if np.isposinf(x).any():
        raise ValueError(f"{what} contain +inf")
    if x.shape[-1] == 0:
        raise ValueError(f"{what} have an empty vocabulary (V = 0)")
    if (~np.isfinite(x)).all(axis=-1).any():
        raise ValueError(f"a row of {what} is all -inf: no token can be sampled")
    return x


def validate_token_params(temperature: float, top_k: Any = None, top_p: Any = None,
                          min_p: Any = None) -> tuple[float, int, float, float]:
    """One row's parameters, normalised to ``(T, k, p, m)`` with ``k = 0``, ``p = 1``,
    ``m = 0`` meaning "off". ``ValueError`` for T < 0, NaN or inf, k < 0 or not an integer,
    p outside (0, 1], m outside [0, 1]."""
    t = float(temperature)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"temperature must be finite and >= 0 (0 = greedy), got {temperature!r}")
    if top_k is None:
        k = 0
    else:
        kf = float(top_k)
        if not math.isfinite(kf) or kf != int(kf) or kf < 0:
            raise ValueError(f"top_k must be a non-negative integer (0 or None = off), got {top_k!r}")
        k = int(kf)
    p = 1.0 if top_p is None else float(top_p)
    if not (0.0 < p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1] (1 or None = off), got {top_p!r}")
    m = 0.0 if min_p is None else float(min_p)
    if not (0.0 <= m <= 1.0):
        raise ValueError(f"min_p must be in [0, 1] (0 or None = off), got {min_p!r}")
    return t, k, p, m


def _softmax_kept(z: np.ndarray, keep: np.ndarray) -> np.ndarray:
    zz = np.where(keep, z, -np.inf)
    e = np.exp(zz - zz.max())
    return e / e.sum()


def kept_mask(logits: Sequence[float], temperature: float = 1.0, *, top_k: Any = None,
              top_p: Any = None, min_p: Any = None) -> NDArray[np.bool_]:
    """The tokens of one row that survive the filters (module doc, steps 1-4). ``-inf`` tokens
    are never kept; at ``T = 0`` only the greedy token is."""
    x = _finite_or_neginf(np.asarray(logits))
    if x.ndim != 1:
        raise ValueError(f"kept_mask takes one row (1-D logits), got shape {x.shape}")
    t, k, p, m = validate_token_params(temperature, top_k, top_p, min_p)
    v = x.size
    if t == 0.0:
        keep = np.zeros(v, dtype=bool)
        keep[int(np.argmax(x))] = True
        return keep
    z = x / t
    keep = np.isfinite(z)
    if 0 < k < v:
        tau = np.sort(z)[::-1][k - 1]
        keep &= z >= tau
    if p < 1.0:
        q = _softmax_kept(z, keep)
        order = np.argsort(-z, kind="stable")  # scores descending, ties: lower index first
        before = np.cumsum(q[order]) - q[order]
        ks = np.zeros(v, dtype=bool)
        ks[order] = before < p
        keep &= ks
    if m > 0.0:
        q = _softmax_kept(z, keep)
        keep &= q >= m * q.max()
    return keep


def token_probs(logits: Sequence[float], temperature: float = 1.0, *, top_k: Any = None,
                top_p: Any = None, min_p: Any = None) -> NDArray[np.float64]:
    """The law of the sampled token for one row (module doc): float64 probabilities of
    length ``V``, exactly 0 outside :func:`kept_mask`. Bad logits or parameters raise
    ``ValueError``."""
    x = _finite_or_neginf(np.asarray(logits))
    keep = kept_mask(x, temperature, top_k=top_k, top_p=top_p, min_p=min_p)
    t = float(temperature)
    if t == 0.0:
        return keep.astype(np.float64)
    return _softmax_kept(x / t, keep)


def row_params(b: int, temperature: Any, top_k: Any = None, top_p: Any = None,
               min_p: Any = None) -> list[tuple[Any, Any, Any, Any]]:
    """Broadcast scalar-or-``[B]`` parameters to ``b`` per-row tuples ``(T, k, p, m)``
    (``None`` stays ``None``). A ``[B]`` of the wrong length raises ``ValueError``."""
    def per_row(v, name):
        if v is None:
            return [None] * b
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        a = np.asarray(v)
        if a.ndim == 0:
            return [a.item()] * b
        if a.shape != (b,):
            raise ValueError(f"{name} must be a scalar or have shape ({b},), got {a.shape}")
        return a.tolist()

    cols = [per_row(temperature, "temperature"), per_row(top_k, "top_k"), per_row(top_p, "top_p"),
            per_row(min_p, "min_p")]
    return list(zip(*cols))


def token_probs_batch(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                      min_p: Any = None) -> NDArray[np.float64]:
    """:func:`token_probs` of every row of ``[B, V]`` logits with scalar or ``[B]`` parameters."""
    if hasattr(logits, "detach"):
        logits = logits.detach().cpu().double().numpy()
    x = np.asarray(logits)
    if x.ndim != 2:
        raise ValueError(f"logits must have shape [B, V], got {x.shape}")
    rows = row_params(x.shape[0], temperature, top_k, top_p, min_p)
    out = np.zeros(x.shape, dtype=np.float64)
    for i, (t, k, p, m) in enumerate(rows):
        out[i] = token_probs(x[i], t, top_k=k, top_p=p, min_p=m)
    return out


def token_probs_bruteforce(logits: Sequence[float], temperature: float = 1.0, *, top_k: Any = None,
                           top_p: Any = None, min_p: Any = None) -> list[float]:
    """The same law restated by enumeration, for tests: no sort, no cumsum, plain Python.

    top-k: ``i`` kept iff fewer than ``k`` tokens have a strictly larger score. top-p: ``j``
    kept iff the summed probability of the tokens ranked before it (larger score ``z``, or equal
    ``z`` and lower index) is ``< p``. min-p: ``q_i >= m max q``. Greedy: the first maximal logit.
    """
    x = [float(v) for v in logits]
    t, k, p, m = validate_token_params(temperature, top_k, top_p, min_p)
    v = len(x)
    if t == 0.0:
        best = max(x)
        first = next(i for i in range(v) if x[i] == best)
        return [1.0 if i == first else 0.0 for i in range(v)]
    z = [xi / t for xi in x]
    keep = [zi != -math.inf for zi in z]

    def probs(kp):
        top = max(z[i] for i in range(v) if kp[i])
        w = [math.exp(z[i] - top) if kp[i] else 0.0 for i in range(v)]
        s = math.fsum(w)
        return [wi / s for wi in w]

    if 0 < k < v:
        keep = [keep[i] and sum(1 for j in range(v) if z[j] > z[i]) < k for i in range(v)]
    if p < 1.0:
        q = probs(keep)
        keep = [keep[j] and math.fsum(q[i] for i in range(v) if keep[i] and
                                      (z[i] > z[j] or (z[i] == z[j] and i < j))) < p
                for j in range(v)]
    if m > 0.0:
        q = probs(keep)
        top = max(q)
        keep = [keep[i] and q[i] >= m * top for i in range(v)]
    return probs(keep)
