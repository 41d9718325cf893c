r"""PyTorch Gumbel-softmax (Concrete) reference, CPU and CUDA, with straight-through.

:math:`y = \operatorname{softmax}((x + g)/\tau)` along ``dim`` with i.i.d. standard Gumbel
:math:`g`; ``hard=True`` returns the one-hot :math:`h = \operatorname{onehot}(\arg\max_i(x_i +
g_i))` in the forward pass with the gradient of :math:`y` (straight-through:
``h - y.detach() + y``, pytorch#48574).

Numerics
--------
* **Noise range.** :math:`g = -\log(-\log u)` with ``u`` from ``torch.rand`` in the noise dtype
  (float64 by default, whatever the logits' dtype). ``torch.rand`` returns ``k * 2**-d`` for
  ``k in [0, 2**d)`` (``d = 53`` for float64, 24 for float32), i.e. ``u in [0, 1)``; the single
  grid point ``u = 0`` (where :math:`\log 0` would give :math:`g = -\infty`) is moved to
  ``2**-d``. So ``u`` lies in ``[2**-d, 1 - 2**-d]`` and the noise is always finite:
  :math:`g \in [-3.60, 36.74]` in float64 (the law is cut at tail probabilities of about
  1e-16) and :math:`g \in [-2.81, 16.64]` with ``noise_dtype=torch.float32`` (upper tail
  :math:`P(g > 16.64) \approx 6 \times 10^{-8}` cut: bugs.md A.3, jax#5348).
* **Precision.** float16 and bfloat16 logits are computed in float32, float32 in float32 and
  float64 in float64; the result is cast back to the input dtype.
* **Small tau.** The perturbed logits are max-subtracted before the division by ``tau``, so
  ``tau = 1e-8`` with logits of magnitude 1e30 gives the one-hot, never ``inf/inf = NaN``.
* **Bad input** raises ``ValueError`` naming the problem: NaN or +inf logits, a slice of all
  ``-inf`` logits, ``tau`` not finite or ``<= 0`` (pytorch#184031: tau = 0 gave NaN), a
  non-floating dtype. ``-inf`` logits (probability 0) are allowed and never selected.
"""
from __future__ import annotations

import math
from typing import Union

import torch

__all__ = ["gumbel_softmax", "gumbel_noise", "relaxed_from_noise", "compute_dtype", "NOISE_RANGE"]

Tau = Union[float, torch.Tensor]

#: Exact range of the noise for each noise dtype: (min, max) of g = -log(-log(u)).
NOISE_RANGE = {
    torch.float64: (-math.log(-math.log(2.0 ** -53)), -math.log(-math.log1p(-(2.0 ** -53)))),
    torch.float32: (-math.log(-math.log(2.0 ** -24)), -math.log(-math.log1p(-(2.0 ** -24)))),
}


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the relaxation is computed in: float32 for half types, else the dtype itself."""
    if dtype in (torch.float16, torch.bfloat16):
        return torch.float32
    if dtype in (torch.float32, torch.float64):
        return dtype
    raise ValueError(f"logits must be a floating tensor (float16/bfloat16/float32/float64), got {dtype}")


def _validate_logits(logits: torch.Tensor, dim: int) -> int:
    if not isinstance(logits, torch.Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    compute_dtype(logits.dtype)
    if logits.dim() == 0:
        raise ValueError("logits must have at least one dimension (got a 0-d tensor)")
    try:
        dim = dim % logits.dim() if -logits.dim() <= dim < logits.dim() else None  # type: ignore[assignment]
    except TypeError:
        dim = None  # type: ignore[assignment]
    if dim is None:
        raise ValueError(f"dim out of range for logits of shape {tuple(logits.shape)}")
    if logits.shape[dim] == 0:
        raise ValueError(f"logits have an empty category dimension (shape {tuple(logits.shape)})")
    if logits.numel() == 0:
        return dim
    with torch.no_grad():
        if torch.isnan(logits).any():
            raise ValueError(f"logits contain {int(torch.isnan(logits).sum())} NaN value(s)")
        if torch.isposinf(logits).any():
            raise ValueError(f"logits contain {int(torch.isposinf(logits).sum())} +inf value(s)")
        all_neg = torch.isneginf(logits).all(dim=dim)
        if all_neg.any():
            raise ValueError(
                f"{int(all_neg.sum())} slice(s) of the logits are all -inf along dim {dim}: "
                "no category has positive probability"
            )
    return dim


def _validate_tau(tau: Tau, like: torch.Tensor) -> Tau:
    if isinstance(tau, torch.Tensor):
        if not tau.is_floating_point():
            tau = tau.to(torch.float64)
        with torch.no_grad():
            if torch.isnan(tau).any():
                raise ValueError("tau contains NaN; it must be finite and > 0")
            if not torch.isfinite(tau).all():
                raise ValueError("tau contains inf; it must be finite and > 0")
            if (tau <= 0).any():
                raise ValueError(f"tau must be > 0 everywhere, got min {float(tau.min())}: "
                                 "tau = 0 is the hard argmax (use hard=True with tau > 0)")
        try:
            torch.broadcast_shapes(tau.shape, like.shape)
        except RuntimeError:
            raise ValueError(f"tau of shape {tuple(tau.shape)} does not broadcast against "
                             f"logits of shape {tuple(like.shape)}") from None
        return tau
    try:
        t = float(tau)
    except (TypeError, ValueError):
        raise ValueError(f"tau must be a number or a tensor, got {tau!r}") from None
    if math.isnan(t) or math.isinf(t):
        raise ValueError(f"tau must be finite and > 0, got {t}")
    if t <= 0:
        raise ValueError(f"tau must be > 0, got {t}: tau = 0 is the hard argmax "
                         "(use hard=True with a small tau > 0), tau < 0 reverses the order")
    return t


_GRID = {torch.float64: 2.0 ** -53, torch.float32: 2.0 ** -24}


def gumbel_noise(
    shape: torch.Size | tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Standard Gumbel noise ``-log(-log(u))`` with ``u in [2**-d, 1 - 2**-d]`` (module doc)."""
    if dtype not in NOISE_RANGE:
        raise ValueError(f"noise dtype must be float32 or float64, got {dtype}")
    u = torch.rand(shape, dtype=dtype, device=device, generator=generator)
    tiny = _GRID[dtype]
    u.clamp_(min=tiny)  # only the grid point u = 0 moves (to the next grid point)
    return -torch.log(-torch.log(u))


def relaxed_from_noise(
    logits: torch.Tensor, noise: torch.Tensor, tau: Tau = 1.0, hard: bool = False, dim: int = -1
) -> torch.Tensor:
    r"""The deterministic part: :math:`\operatorname{softmax}((x + g)/\tau)` for given noise
    (straight-through when ``hard``). Same validation and numerics as :func:`gumbel_softmax`."""
    dim = _validate_logits(logits, dim)
    tau = _validate_tau(tau, logits)
    cdt = compute_dtype(logits.dtype)
    if noise.shape != logits.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} != logits shape {tuple(logits.shape)}")
    scores = logits.to(cdt) + noise.to(cdt)
    if logits.numel() == 0:
        return logits.clone()
    shifted = scores - scores.detach().amax(dim=dim, keepdim=True)
    t = tau.to(device=logits.device, dtype=cdt) if isinstance(tau, torch.Tensor) else tau
    y_soft = torch.softmax(shifted / t, dim=dim)
    if hard:
        index = scores.detach().argmax(dim=dim, keepdim=True)
        y_hard = torch.zeros_like(y_soft).scatter_(dim, index, 1.0)
        y = y_hard - y_soft.detach() + y_soft
    else:
        y = y_soft
    return y.to(logits.dtype)


def gumbel_softmax(
    logits: torch.Tensor,
    tau: Tau = 1.0,
    hard: bool = False,
    dim: int = -1,
    generator: torch.Generator | None = None,
    *,
    noise_dtype: torch.dtype = torch.float64,
    return_noise: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Gumbel-softmax sample :math:`\operatorname{softmax}((x + g)/\tau)` along ``dim``.

    Parameters
    ----------
    logits: floating tensor, CPU or CUDA, any shape; ``dim`` is the category axis.
    tau: temperature, a number or a tensor broadcastable to ``logits`` (e.g. shape ``[n, 1]``).
    hard: return the straight-through one-hot (forward one-hot, backward soft Jacobian
        :math:`(\operatorname{diag}(y) - y y^\top)/\tau`).
    generator: a ``torch.Generator`` on the logits' device (default: torch's global one).
    noise_dtype: float64 (default, exact to ~1e-16 in the tails) or float32.
    return_noise: also return the noise ``g`` (in ``noise_dtype``), for tests.
    """
    dim = _validate_logits(logits, dim)
    _validate_tau(tau, logits)
    g = gumbel_noise(logits.shape, dtype=noise_dtype, device=logits.device, generator=generator)
    y = relaxed_from_noise(logits, g, tau, hard, dim)
    return (y, g) if return_noise else y
