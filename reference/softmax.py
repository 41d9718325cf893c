r"""Closed-form softmax, log-softmax and log-sum-exp (NumPy), max-subtracted.

For logits :math:`x \in [-\infty, \infty)^K` with at least one finite entry,

.. math::

    \operatorname{lse}(x) = m + \log \sum_j e^{x_j - m},\quad m = \max_j x_j,\qquad
    \log p_i = x_i - \operatorname{lse}(x),\qquad p_i = e^{\log p_i}.

Subtracting the maximum makes every exponent :math:`\le 0`, so nothing overflows for any
finite magnitude (``+-1e30`` included) and the largest term is exactly 1 (no underflow of the
sum). ``-inf`` logits are allowed and give probability exactly 0. ``NaN``, ``+inf`` and
all-``-inf`` slices have no softmax and raise :class:`LogitsError` (a ``ValueError``) naming the
problem, never a silent 0, NaN or uniform answer.

Precision: the computation runs in the input's floating dtype when it is float32 or float64;
float16, other floating (``longdouble`` is rounded), boolean and integer inputs are converted to
float64 (documented, tested); complex, string and object arrays raise :class:`LogitsError`.
Finite magnitudes up to the dtype's maximum are fine: a difference ``x_i - m`` that overflows
to ``-inf`` is exactly the probability-0 answer, and no warning is emitted.
"""
from __future__ import annotations

import operator

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["LogitsError", "validate_logits", "logsumexp", "log_softmax", "softmax"]


class LogitsError(ValueError):
    """Logits that have no softmax: NaN, +inf, all -inf along the axis, or an empty axis."""


def _as_float_array(x: ArrayLike) -> NDArray[np.floating]:
    arr = np.asarray(x)
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    raise LogitsError(f"logits must be real numbers, got dtype {arr.dtype}")


def validate_logits(x: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """Return ``x`` as a float32/float64 array after checking it has a softmax along ``axis``.

    Raises
    ------
    LogitsError
        if ``x`` is 0-d, the axis is empty, any entry is NaN or +inf, or a slice along
        ``axis`` is entirely ``-inf`` (the message gives the count and the first bad index).
    """
    arr = _as_float_array(x)
    if arr.ndim == 0:
        raise LogitsError("logits must have at least one axis (got a scalar)")
    try:
        k = arr.shape[operator.index(axis)]
    except TypeError:
        raise LogitsError(f"axis must be an integer, got {axis!r}") from None
    except IndexError:
        raise LogitsError(f"axis {axis} is out of range for logits of shape {arr.shape}") from None
    if k == 0:
        raise LogitsError(f"logits have an empty category axis (shape {arr.shape}, axis {axis})")
    if arr.size == 0:
        return arr
    nan = np.isnan(arr)
    if nan.any():
        idx = tuple(int(i) for i in np.argwhere(nan)[0])
        raise LogitsError(f"logits contain {int(nan.sum())} NaN value(s), first at index {idx}")
    posinf = np.isposinf(arr)
    if posinf.any():
        idx = tuple(int(i) for i in np.argwhere(posinf)[0])
        raise LogitsError(
            f"logits contain {int(posinf.sum())} +inf value(s), first at index {idx}: "
            "+inf has no probability (it would be a point mass with undefined ties)"
        )
    all_neginf = np.all(np.isneginf(arr), axis=axis)
    if np.any(all_neginf):
        bad = int(np.sum(all_neginf))
        raise LogitsError(
            f"{bad} slice(s) of the logits are all -inf along axis {axis}: "
            "every category has probability 0, there is no distribution to sample"
        )
    return arr


def logsumexp(x: ArrayLike, axis: int = -1, keepdims: bool = False) -> NDArray[np.floating]:
    r"""Stable :math:`\log\sum_j e^{x_j}` along ``axis`` (max-subtracted; see module doc)."""
    arr = validate_logits(x, axis)
    m = np.max(arr, axis=axis, keepdims=True)
    with np.errstate(under="ignore", over="ignore"):
        s = np.sum(np.exp(arr - m), axis=axis, keepdims=True)
    out = m + np.log(s)
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    r""":math:`\log p_i = x_i - \operatorname{lse}(x)`, exactly ``-inf`` where :math:`x_i = -\infty`."""
    arr = validate_logits(x, axis)
    m = np.max(arr, axis=axis, keepdims=True)
    with np.errstate(under="ignore", over="ignore"):
        shifted = arr - m
        s = np.sum(np.exp(shifted), axis=axis, keepdims=True)
    return shifted - np.log(s)


def softmax(x: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    r""":math:`p_i = e^{x_i - m} / \sum_j e^{x_j - m}` with :math:`m = \max_j x_j`."""
    arr = validate_logits(x, axis)
    m = np.max(arr, axis=axis, keepdims=True)
    with np.errstate(under="ignore", over="ignore"):
        e = np.exp(arr - m)
    return e / np.sum(e, axis=axis, keepdims=True)
