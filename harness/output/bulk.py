"""Keep JSON small: the long number arrays behind figures (the V-length count arrays of the
large-vocabulary token checks, residual vectors...) move out of a result into a separate
``.npz`` file, and the JSON keeps a reference to each.

A list of more than :data:`BULK_LIMIT` numbers anywhere in the object becomes
``{"$array": KEY, "shape": [...], "dtype": ...}``; ``KEY`` is its JSON path (``verdicts.3.
details.counts``), under which :func:`npz_bytes` stores it. ``numpy.load(path)[KEY]`` reads it
back.
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = ["BULK_LIMIT", "split_bulk", "npz_bytes"]

#: lists of at most this many numbers stay inline
BULK_LIMIT = 64


def _numeric_array(value: Any) -> np.ndarray | None:
    if not isinstance(value, (list, tuple)):
        return None
    if len(value) <= BULK_LIMIT and not (value and isinstance(value[0], (list, tuple))):
        return None
    try:
        a = np.asarray(value)
    except (ValueError, TypeError):
        return None
    if a.dtype.kind not in "biuf" or a.size <= BULK_LIMIT:
        return None
    return a


def split_bulk(obj: Any, path: str = "") -> tuple[Any, dict[str, np.ndarray]]:
    """``(compact copy of obj, {key: array})`` (module doc)."""
    arrays: dict[str, np.ndarray] = {}

    def walk(o: Any, p: str) -> Any:
        a = _numeric_array(o)
        if a is not None:
            arrays[p] = a
            return {"$array": p, "shape": list(a.shape), "dtype": str(a.dtype)}
        if isinstance(o, dict):
            return {k: walk(v, f"{p}.{k}" if p else str(k)) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v, f"{p}.{i}" if p else str(i)) for i, v in enumerate(o)]
        return o

    return walk(obj, path), arrays


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The arrays as one compressed ``.npz`` file's bytes."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
