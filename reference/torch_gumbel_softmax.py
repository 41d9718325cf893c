r"""PyTorch Gumbel-softmax (Concrete) reference, CPU and CUDA, with straight-through.

Math
----
For logits :math:`x \in [-\infty, \infty)^K` along ``dim``, i.i.d. standard Gumbel noise
:math:`g_i = -\log(-\log u_i)` and a temperature :math:`\tau > 0`,

.. math::

    y = \operatorname{softmax}\big((x + g)/\tau\big),\qquad
    \frac{\partial y}{\partial x} = \frac{1}{\tau}\big(\operatorname{diag}(y) - y y^\top\big)

(spec C1/G1). ``hard=True`` returns :math:`h = \operatorname{onehot}(\arg\max_i(x_i + g_i))` in
the forward pass and the gradient of the soft :math:`y` in the backward pass
(straight-through, pytorch#48574). It is written ``h + (y - y.detach())``: the bracket is exactly
0 in floating point, so the forward value is *exactly* the one-hot by construction, and its
gradient is exactly the soft one. (The common ``(h - y.detach()) + y`` is exact too in
round-to-nearest arithmetic: ``fl(fl(1 - s) + s) = 1`` and ``(0 - s) + s = 0``.)

Numerics
--------
* **Noise range.** :func:`noise_from_uniform` maps ``u`` to :math:`g = -\log(-\log u)` after
  clamping ``u`` into ``[2**-d, 1 - 2**-d]`` (``d = 53`` for float64, 24 for float32). On the CPU
  ``torch.rand`` returns ``k * 2**-d`` with ``k in [0, 2**d)``, so the clamp moves only the grid
  point ``u = 0`` (probability ``2**-d``) to the next grid point; on other backends (curand draws
  from ``(0, 1]``, possibly with finer steps near 0, and torch maps 1 to 0) it still guarantees
  the range, moving at most ``2**-d`` of probability. Hence the noise is always finite, never ``+-inf`` (bugs.md
  A.1/A.2), and :data:`NOISE_RANGE` holds exactly:

  =============  =========================  =====================================
  noise dtype    range of g                 law cut (each tail)
  =============  =========================  =====================================
  float64        [-3.6038, 36.7368]         :math:`P(g > 36.74) = 2^{-53}` = 1.1e-16
  float32        [-2.8115, 16.6355]         :math:`P(g > 16.64) = 2^{-24}` = 6.0e-8
  =============  =========================  =====================================

  (at the top, :math:`1 - F(g_{max}) = 1 - (1 - 2^{-d}) = 2^{-d}`; at the bottom
  :math:`F(g_{min}) = 2^{-d}`). float64 noise is the default whatever the logits' dtype; float32
  noise (``noise_dtype=torch.float32``) truncates the upper tail at 16.64, which a tail-mass test
  with about 1e9 draws detects (bugs.md A.3, jax#5348, vllm#43150).
* **Precision.** Everything is computed in float64 whatever the logits' dtype (the logits'
  values are exact in float64), and the result is rounded once to the input dtype (gradients
  too): each output entry is within one unit roundoff of the exact value for those logits and
  that noise (or within half the smallest subnormal step). A float32 computation is not a safe
  reference: ``x + g`` with ``|x| ~ 1e5`` rounds ``g`` to 0.008 (0.4 % errors in ``y``), and a
  float32 softmax over ``K = 2**18`` categories summed to 1 only within 6.5e-5 (measured).
* **Max subtraction.** The logits are max-subtracted *before* the noise is added
  (``s = (x - max x) + g``; the max is detached, softmax being shift-invariant), so a large
  common offset never swallows the noise.
* **Small and large tau.** The perturbed logits are max-subtracted *before* the division by
  ``tau`` (every shifted score is :math:`\le 0`, the largest exactly 0), so ``tau = 1e-8`` with
  logits of magnitude 1e30 gives the one-hot, never ``inf/inf = NaN``; any finite ``tau > 0``
  works, ``1e-300`` (one-hot) to ``1e300`` (uniform over the finite logits). ``tau`` is clamped
  into ``[tiny, max]`` of float64 (a no-op for float64 values; it guards the division should the
  compute dtype ever be narrowed: with float32, ``1e-50`` and ``1e300`` give ``0/0`` and
  ``-inf/inf = NaN``).
* **Bad input** raises ``ValueError`` naming the problem: NaN or +inf logits, a slice of all
  ``-inf`` logits, a non-floating dtype, a 0-d tensor, an empty category axis, ``dim`` out of
  range, ``tau`` NaN/inf/``<= 0`` (pytorch#184031: tau = 0 gave NaN) or not broadcastable to the
  logits' shape, noise of the wrong shape/device or not finite. ``-inf`` logits (probability 0)
  are allowed, get exactly 0 and are never selected. ``K = 1`` gives exactly 1 (zero gradient);
  an empty batch gives an empty result.
"""
from __future__ import annotations

import math
import operator
from typing import Union

import torch

__all__ = [
    "gumbel_softmax",
    "gumbel_noise",
    "noise_from_uniform",
    "relaxed_from_noise",
    "compute_dtype",
    "NOISE_RANGE",
    "UNIFORM_RANGE",
]

Tau = Union[float, torch.Tensor]

#: Grid step of ``torch.rand`` on the CPU for each noise dtype (also the clamp for u).
_GRID = {torch.float64: 2.0 ** -53, torch.float32: 2.0 ** -24}

#: The closed interval ``u`` is clamped into before the transform, per noise dtype.
UNIFORM_RANGE = {dt: (eps, 1.0 - eps) for dt, eps in _GRID.items()}

#: Exact range of the noise for each noise dtype: (min, max) of g = -log(-log(u)) over
#: u in UNIFORM_RANGE (evaluated in float64; the float32 transform agrees to within 1 ulp).
NOISE_RANGE = {
    dt: (-math.log(-math.log(eps)), -math.log(-math.log1p(-eps))) for dt, eps in _GRID.items()
}


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the relaxation is computed in for logits of ``dtype``: float64 for every floating
    dtype (float16/bfloat16/float32/float64); ``ValueError`` for any other dtype."""
    if dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        return torch.float64
    raise ValueError(f"logits must be a floating tensor (float16/bfloat16/float32/float64), got {dtype}")


def _validate_logits(logits: torch.Tensor, dim: int) -> int:
    if not isinstance(logits, torch.Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    compute_dtype(logits.dtype)
    if logits.dim() == 0:
        raise ValueError("logits must have at least one dimension (got a 0-d tensor)")
    try:
        d = operator.index(dim)
    except TypeError:
        raise ValueError(f"dim must be an integer, got {dim!r}") from None
    if not -logits.dim() <= d < logits.dim():
        raise ValueError(f"dim {dim} out of range for logits of shape {tuple(logits.shape)}")
    d %= logits.dim()
    if logits.shape[d] == 0:
        raise ValueError(f"logits have an empty category dimension (shape {tuple(logits.shape)}, dim {d})")
    if logits.numel() == 0:
        return d
    with torch.no_grad():
        n_nan = int(torch.isnan(logits).sum())
        if n_nan:
            raise ValueError(f"logits contain {n_nan} NaN value(s)")
        n_posinf = int(torch.isposinf(logits).sum())
        if n_posinf:
            raise ValueError(f"logits contain {n_posinf} +inf value(s): +inf has no probability")
        all_neg = torch.isneginf(logits).all(dim=d)
        if all_neg.any():
            raise ValueError(
                f"{int(all_neg.sum())} slice(s) of the logits are all -inf along dim {d}: "
                "no category has positive probability"
            )
    return d


def _validate_tau(tau: Tau, like: torch.Tensor) -> Tau:
    if isinstance(tau, torch.Tensor):
        if tau.dtype == torch.bool or tau.is_complex():
            raise ValueError(f"tau must be a real tensor, got dtype {tau.dtype}")
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
            shape = torch.broadcast_shapes(tau.shape, like.shape)
        except RuntimeError:
            shape = None
        if shape != like.shape:
            raise ValueError(f"tau of shape {tuple(tau.shape)} does not broadcast to "
                             f"logits of shape {tuple(like.shape)}")
        return tau
    if isinstance(tau, bool):
        raise ValueError(f"tau must be a number or a tensor, got {tau!r}")
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


def _noise_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype not in _GRID:
        raise ValueError(f"noise dtype must be float32 or float64, got {dtype}")
    return dtype


def _transform(u: torch.Tensor) -> torch.Tensor:
    lo, hi = UNIFORM_RANGE[u.dtype]
    return -torch.log(-torch.log(u.clamp(min=lo, max=hi)))


def noise_from_uniform(u: torch.Tensor) -> torch.Tensor:
    r"""Standard Gumbel noise from uniforms: :math:`g = -\log(-\log \tilde u)` with
    :math:`\tilde u = \min(\max(u, 2^{-d}), 1 - 2^{-d})` (``d = 53`` float64, 24 float32).

    The transform is non-decreasing in ``u`` and maps ``[0, 1]`` onto
    ``[NOISE_RANGE[dtype][0], NOISE_RANGE[dtype][1]]``: the adversarial draws ``u = 0`` and
    ``u = 1`` give the finite extremes, never :math:`\mp\infty`. ``u`` must be a float32/float64
    tensor with values in ``[0, 1]`` (``ValueError`` otherwise, NaN included). The input is not
    modified; the result has ``u``'s dtype and device.
    """
    if not isinstance(u, torch.Tensor):
        raise ValueError(f"u must be a torch.Tensor, got {type(u).__name__}")
    _noise_dtype(u.dtype)
    if u.numel():
        with torch.no_grad():
            bad = int((~((u >= 0) & (u <= 1))).sum())
        if bad:
            raise ValueError(f"u has {bad} value(s) outside [0, 1] (or NaN); uniforms must lie in [0, 1]")
    return _transform(u)


def gumbel_noise(
    shape: torch.Size | tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Standard Gumbel noise: ``noise_from_uniform(torch.rand(shape, dtype, device, generator))``.

    Always finite, within ``NOISE_RANGE[dtype]`` (module doc). The noise is drawn in the logical
    (row-major) order of ``shape``, independent of any input's memory layout.
    """
    _noise_dtype(dtype)
    u = torch.rand(shape, dtype=dtype, device=device, generator=generator)
    return _transform(u)


def relaxed_from_noise(
    logits: torch.Tensor, noise: torch.Tensor, tau: Tau = 1.0, hard: bool = False, dim: int = -1
) -> torch.Tensor:
    r"""The deterministic part: :math:`\operatorname{softmax}((x + g)/\tau)` along ``dim`` for given
    noise ``g`` (straight-through one-hot of :math:`\arg\max(x + g)` when ``hard``).

    Computed in float64 as :math:`\operatorname{softmax}((s - \max s)/\tau)` with
    :math:`s = (x - \max x) + g`; the maxima are detached (softmax is shift-invariant, so the
    gradient is exact), and the result is rounded to the logits' dtype. The hard one-hot is at
    :math:`\arg\max_i s_i` (an exact tie, probability 0 with continuous noise, goes to the lowest
    index). Same validation and numerics as :func:`gumbel_softmax`; ``noise`` must be a finite
    floating tensor of the logits' shape on the logits' device.
    """
    dim = _validate_logits(logits, dim)
    tau = _validate_tau(tau, logits)
    if not isinstance(noise, torch.Tensor) or not noise.is_floating_point():
        raise ValueError("noise must be a floating torch.Tensor")
    if noise.shape != logits.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} != logits shape {tuple(logits.shape)}")
    if noise.device != logits.device:
        raise ValueError(f"noise is on {noise.device}, logits on {logits.device}")
    if logits.numel() == 0:
        return logits.clone()
    with torch.no_grad():
        if not bool(torch.isfinite(noise).all()):
            raise ValueError("noise contains NaN or +-inf: -inf logits plus +inf noise would be NaN "
                             "(vllm#43249); Gumbel noise must be finite")
    return _relaxed(logits, noise, tau, hard, dim)


def _relaxed(logits: torch.Tensor, noise: torch.Tensor, tau: Tau, hard: bool, dim: int) -> torch.Tensor:
    """:func:`relaxed_from_noise` after validation (``dim`` normalised, noise finite)."""
    if logits.numel() == 0:
        return logits.clone()
    cdt = compute_dtype(logits.dtype)
    xc = logits.to(cdt)
    scores = (xc - xc.detach().amax(dim=dim, keepdim=True)) + noise.to(cdt)
    shifted = scores - scores.detach().amax(dim=dim, keepdim=True)
    info = torch.finfo(cdt)
    if isinstance(tau, torch.Tensor):
        t = tau.to(device=logits.device, dtype=cdt).clamp(min=info.tiny, max=info.max)
    else:
        t = min(max(tau, info.tiny), info.max)
    y_soft = torch.softmax(shifted / t, dim=dim)
    if hard:
        index = scores.detach().argmax(dim=dim, keepdim=True)
        y_hard = torch.zeros_like(y_soft).scatter_(dim, index, 1.0)
        y = y_hard + (y_soft - y_soft.detach())  # forward: exactly y_hard; backward: d y_soft
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
    r"""Gumbel-softmax sample :math:`y = \operatorname{softmax}((x + g)/\tau)` along ``dim``.

    Parameters
    ----------
    logits: floating tensor (float16/bfloat16/float32/float64), CPU or CUDA, any shape and
        strides; ``dim`` is the category axis. ``-inf`` entries have probability 0.
    tau: temperature :math:`\tau > 0`, a number or a tensor broadcastable to ``logits``
        (e.g. shape ``[n, 1]`` for one temperature per row).
    hard: return the straight-through one-hot: forward exactly
        :math:`\operatorname{onehot}(\arg\max(x + g))`, backward the soft Jacobian
        :math:`(\operatorname{diag}(y) - y y^\top)/\tau`.
    generator: a ``torch.Generator`` on the logits' device (default: torch's global one).
    noise_dtype: float64 (default; tails cut at 2**-53) or float32 (upper tail cut at 16.64).
    return_noise: also return the noise ``g`` (shape of ``logits``, ``noise_dtype``), so that
        ``relaxed_from_noise(logits, g, tau, hard, dim)`` reproduces ``y`` exactly.
    """
    dim = _validate_logits(logits, dim)
    tau = _validate_tau(tau, logits)
    g = gumbel_noise(logits.shape, dtype=noise_dtype, device=logits.device, generator=generator)
    y = _relaxed(logits, g, tau, hard, dim)  # g is finite by construction (NOISE_RANGE)
    return (y, g) if return_noise else y
