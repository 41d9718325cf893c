r"""The exact laws behind every claim of ``docs/spec.md``.

All functions are NumPy, float64, vectorised, and written in log space where a naive formula
overflows or cancels. Notation: logits :math:`x`, :math:`p = \operatorname{softmax}(x)`,
temperature :math:`T = \lambda > 0`, standard Gumbel :math:`g` with
:math:`F(g) = e^{-e^{-g}}`, :math:`f(g) = e^{-g - e^{-g}}`, logistic sigmoid :math:`\sigma`.

Conventions
-----------
* Densities are with respect to the Lebesgue measure of the stated coordinates; the Concrete
  density (C1) is a density of the first :math:`K-1` coordinates of :math:`y` on the open simplex
  (the last one is :math:`1 - \sum_{k<K} y_k`).
* A point outside the open support gets log-density ``-inf`` (the density is 0 there by
  definition), never NaN; invalid parameters (temperature, non-finite logits) raise
  ``ValueError`` naming the problem.

References
----------
* E. J. Gumbel, *Statistics of Extremes* (1958); max-stability of the Gumbel law.
* C. J. Maddison, A. Mnih, Y. W. Teh, "The Concrete Distribution", ICLR 2017 (C1, C4).
* E. Jang, S. Gu, B. Poole, "Categorical Reparameterization with Gumbel-Softmax", ICLR 2017.
* W. Kool, H. van Hoof, M. Welling, "Stochastic Beams and Where to Find Them", ICML 2019 (T5).
"""
from __future__ import annotations

import math
import operator
from itertools import permutations
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, gammaln, logit

from reference.softmax import log_softmax, logsumexp, softmax, validate_logits

__all__ = [
    "validate_temperature",
    "gumbel_cdf",
    "gumbel_logcdf",
    "gumbel_sf",
    "gumbel_logpdf",
    "gumbel_pdf",
    "gumbel_ppf",
    "gumbel_isf",
    "max_cdf",
    "logistic_cdf",
    "logistic_logpdf",
    "logratio_joint_cdf",
    "logratio_joint_logpdf",
    "concrete_logpdf",
    "binary_concrete_cdf",
    "binary_concrete_logpdf",
    "plackett_luce_logprob",
    "plackett_luce_table",
    "concrete_jacobian",
    "one_minus_max_asymptote",
    "pathwise_variance_asymptote",
    "categorical_logprobs",
    "LN2",
]

LN2 = math.log(2.0)


def validate_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float after checking ``0 < T < inf``; ``ValueError`` otherwise."""
    if isinstance(temperature, (bool, np.bool_)):
        raise ValueError(f"temperature must be a real number, got {temperature!r}")
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a real number, got {temperature!r}") from None
    if math.isnan(t):
        raise ValueError("temperature is NaN; it must be a finite number > 0")
    if not math.isfinite(t):
        raise ValueError(f"temperature must be finite, got {t}")
    if t <= 0.0:
        raise ValueError(
            f"temperature must be > 0, got {t}: T = 0 is the hard argmax (use a Gumbel-max "
            "sampler), T < 0 reverses the order of the categories"
        )
    return t


def _validate_temperatures(temperature: ArrayLike) -> NDArray[np.float64]:
    t = np.asarray(temperature, dtype=np.float64)
    if not np.all(np.isfinite(t) & (t > 0)):
        raise ValueError("temperature must be finite and > 0 everywhere (NaN, inf, 0 or negative found)")
    return t


def _finite_scalar(value: float, name: str) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def _lse_last(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """log-sum-exp over the last axis; ``+inf`` if any entry is ``+inf``, ``-inf`` if all are ``-inf``."""
    m = np.max(a, axis=-1, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        s = np.sum(np.exp(a - m_safe), axis=-1)
        with np.errstate(divide="ignore"):
            out = np.squeeze(m_safe, -1) + np.log(s)
    mm = np.squeeze(m, -1)
    return np.where(np.isfinite(mm), out, mm)


def _z(g: ArrayLike, loc: ArrayLike, scale: float) -> NDArray[np.float64]:
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be finite and > 0, got {scale}")
    return (np.asarray(g, dtype=np.float64) - np.asarray(loc, dtype=np.float64)) / scale


# ------------------------------------------------------------------------------------------
# Gumbel law
# ------------------------------------------------------------------------------------------
def gumbel_logcdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`\log F(g) = -e^{-z}`, :math:`z = (g - \mu)/\beta` (``-inf`` for
    :math:`z \lesssim -709.8` where :math:`e^{-z}` overflows, which is also the true float64 value)."""
    with np.errstate(over="ignore"):
        return -np.exp(-_z(g, loc, scale))


def gumbel_cdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`F(g) = \exp(-e^{-(g - \mu)/\beta})` (Gumbel-max law, location :math:`\mu`)."""
    return np.exp(gumbel_logcdf(g, loc, scale))


def gumbel_sf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`1 - F(g) = -\operatorname{expm1}(-e^{-z})`, accurate in the upper tail
    (:math:`\approx e^{-z}` for large :math:`z`, no cancellation)."""
    with np.errstate(over="ignore"):
        return -np.expm1(-np.exp(-_z(g, loc, scale)))


def gumbel_logpdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`\log f(g) = -z - e^{-z} - \log\beta`, :math:`z = (g-\mu)/\beta`.

    Never evaluates :math:`f` itself, so :math:`\log f(-5) = 5 - e^{5} \approx -143.41`
    (pytorch#15681 returned ``-inf``). ``g = +-inf`` gives ``-inf``.
    """
    z = _z(g, loc, scale)
    with np.errstate(over="ignore", invalid="ignore"):
        out = -z - np.exp(-z) - math.log(scale)
    return np.where(np.isneginf(z), -np.inf, out)


def gumbel_pdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`f(g) = \frac{1}{\beta} e^{-z - e^{-z}}`."""
    return np.exp(gumbel_logpdf(g, loc, scale))


def gumbel_ppf(q: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r"""Quantile :math:`F^{-1}(q) = \mu - \beta \log(-\log q)` for :math:`q \in [0, 1]`
    (``-inf`` at 0, ``+inf`` at 1, NaN outside). For upper-tail quantiles use :func:`gumbel_isf`."""
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be finite and > 0, got {scale}")
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(loc, dtype=np.float64) - scale * np.log(-np.log(q))


def gumbel_isf(s: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r"""Inverse survival function: the :math:`g` with :math:`1 - F(g) = s`,
    :math:`g = \mu - \beta \log(-\operatorname{log1p}(-s))`; accurate for tiny :math:`s`
    (e.g. :math:`s = 2^{-53}` gives 36.7368, the float64 noise cap)."""
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be finite and > 0, got {scale}")
    s = np.asarray(s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(loc, dtype=np.float64) - scale * np.log(-np.log1p(-s))


def max_cdf(m: ArrayLike, logits: ArrayLike) -> NDArray[np.float64]:
    r"""T2: :math:`P(\max_i (x_i + g_i) \le m) = \prod_i F(m - x_i) =
    \exp(-e^{-(m - \operatorname{lse}(x))})` (1-D ``logits``; ``-inf`` entries contribute 1)."""
    x = validate_logits(np.asarray(logits, dtype=np.float64))
    if x.ndim != 1:
        raise ValueError(f"max_cdf takes one logit vector, got shape {x.shape}")
    return gumbel_cdf(m, loc=float(logsumexp(x)))


# ------------------------------------------------------------------------------------------
# Logistic law of log-ratios (C2)
# ------------------------------------------------------------------------------------------
def logistic_cdf(t: ArrayLike) -> NDArray[np.float64]:
    r""":math:`\sigma(t) = 1/(1 + e^{-t})`, the Logistic(0, 1) CDF (law of :math:`g_i - g_j`)."""
    return expit(np.asarray(t, dtype=np.float64))


def logistic_logpdf(t: ArrayLike) -> NDArray[np.float64]:
    r""":math:`\log \sigma'(t) = -|t| - 2\log(1 + e^{-|t|})` (no overflow for any :math:`t`)."""
    a = np.abs(np.asarray(t, dtype=np.float64))
    return -a - 2.0 * np.log1p(np.exp(-a))


def logratio_joint_cdf(t: ArrayLike) -> NDArray[np.float64]:
    r"""C2 joint law of :math:`d_i = g_i - g_K`, :math:`i < K`:

    .. math:: P(d_i \le t_i\ \forall i < K) = \int f(g) \prod_{i<K} F(g + t_i)\,dg
              = \frac{1}{1 + \sum_{i<K} e^{-t_i}}.

    ``t`` has shape ``(..., K-1)``; evaluated as :math:`\exp(-\operatorname{lse}(0, -t))`.
    Entries may be ``+-inf`` (``-inf`` anywhere gives 0; ``+inf`` drops that constraint).
    Its marginals are logistic: letting all but :math:`t_i` go to :math:`+\infty` gives
    :math:`\sigma(t_i)`.
    """
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 0:
        raise ValueError("t must have a last axis of length K-1")
    z = np.concatenate([np.zeros(t.shape[:-1] + (1,)), -t], axis=-1)
    return np.exp(-_lse_last(z))


def logratio_joint_logpdf(t: ArrayLike) -> NDArray[np.float64]:
    r"""Joint log-density of :math:`d = (g_i - g_K)_{i<K}`: the mixed derivative of
    :func:`logratio_joint_cdf`,

    .. math:: p(t) = \frac{(K-1)!\, \prod_{i<K} e^{-t_i}}{(1 + \sum_{i<K} e^{-t_i})^{K}},

    computed as :math:`\log (K-1)! - \sum_i t_i - K \operatorname{lse}(0, -t)`. By C2 this is
    the Concrete density (C1) in the coordinates :math:`t_i = T\log(y_i/y_K) - (x_i - x_K)`,
    whatever :math:`T` and :math:`x`.
    """
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 0:
        raise ValueError("t must have a last axis of length K-1")
    k = t.shape[-1] + 1
    z = np.concatenate([np.zeros(t.shape[:-1] + (1,)), -t], axis=-1)
    with np.errstate(invalid="ignore"):
        out = gammaln(k) - np.sum(t, axis=-1) - k * _lse_last(z)
    return np.where(np.all(np.isfinite(t), axis=-1), out, -np.inf)


# ------------------------------------------------------------------------------------------
# Concrete law (C1, C4)
# ------------------------------------------------------------------------------------------
def concrete_logpdf(
    y: ArrayLike | None,
    logits: ArrayLike,
    temperature: float,
    *,
    log_y: ArrayLike | None = None,
    simplex_atol: float | None = 1e-4,
) -> NDArray[np.float64]:
    r"""C1: log-density of the Concrete (Gumbel-softmax) law on the open simplex.

    With :math:`\alpha = e^{x}` and :math:`\lambda = T`,

    .. math::

        p(y) = (K-1)!\,\lambda^{K-1} \prod_k \alpha_k y_k^{-\lambda-1}
               \Big/ \Big(\sum_i \alpha_i y_i^{-\lambda}\Big)^K,

    computed as :math:`\log (K-1)! + (K-1)\log\lambda + \sum_k (x_k - (\lambda+1)\log y_k)
    - K\,\operatorname{lse}_i(x_i - \lambda \log y_i)`. The density is with respect to the
    Lebesgue measure on the first :math:`K-1` coordinates (Maddison et al. 2017, eq. 3); the
    product runs over all :math:`K` coordinates. It equals
    ``torch.distributions.RelaxedOneHotCategorical(T, logits=x).log_prob(y)`` exactly (see
    ``tests/test_laws.py``; torch's ``ExpRelaxedCategorical.log_prob(log y)`` is this plus
    :math:`\sum_{k=1}^K \log y_k`, which is *not* a normalised density of
    :math:`(\log y_1..\log y_{K-1})`: that one is this plus :math:`\sum_{k<K} \log y_k`).

    Pass ``log_y`` instead of ``y`` when samples underflow (at small T a float ``y_k`` is often
    exactly 0 although :math:`\log y_k` is finite: pytorch#18254, tfp#1738). Points on the
    boundary or outside the open simplex (a ``y_k <= 0``, or a ``log_y`` entry ``-inf``) get
    ``-inf``: the support is open, so the density there is 0 by definition; never NaN.

    A point with every ``y_k > 0`` (``y`` or ``exp(log_y)``) must sum to 1 within
    ``simplex_atol`` (default ``1e-4``, which admits float32 samples; pass a larger value for
    float16 samples, or ``None`` to evaluate the formula as given). Raises ``ValueError`` for a
    point off the simplex, NaN or ``+inf`` in ``y``/``log_y``, non-finite logits, a bad
    temperature, or mismatched category counts.
    """
    t = validate_temperature(temperature)
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("logits must have a category axis")
    if log_y is None:
        if y is None:
            raise ValueError("pass y or log_y")
        yy = np.asarray(y, dtype=np.float64)
        if np.any(np.isnan(yy)):
            raise ValueError("y contains NaN")
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.where(yy > 0, np.log(np.where(yy > 0, yy, 1.0)), -np.inf)
    else:
        ly = np.asarray(log_y, dtype=np.float64)
        if np.any(np.isnan(ly)):
            raise ValueError("log_y contains NaN")
    if ly.ndim == 0:
        raise ValueError("y must have a category axis")
    if np.any(np.isposinf(ly)):
        raise ValueError("y (or log_y) contains +inf; a point of the simplex has y_k <= 1")
    k = x.shape[-1]
    if ly.shape[-1] != k:
        raise ValueError(f"y has {ly.shape[-1]} categories, logits have {k}")
    if not np.all(np.isfinite(x)):
        raise ValueError(
            "concrete_logpdf needs finite logits (NaN/+inf are invalid; a -inf logit puts the "
            "law on a face of the simplex, which has no density here: drop that category)"
        )
    outside = ~np.all(np.isfinite(ly), axis=-1)
    if simplex_atol is not None:
        with np.errstate(over="ignore"):
            off = np.where(outside, 0.0, np.abs(np.expm1(_lse_last(ly))))
        if np.any(off > simplex_atol):
            raise ValueError(
                f"y is not on the simplex: |sum(y) - 1| = {float(np.max(off)):.3g} > "
                f"simplex_atol = {simplex_atol} (normalise y, or pass simplex_atol)"
            )
    ly_safe = np.where(np.isfinite(ly), ly, 0.0)
    a = x - t * ly_safe
    out = gammaln(k) + (k - 1) * math.log(t) + np.sum(x - (t + 1.0) * ly_safe, axis=-1) - k * _lse_last(a)
    return np.where(outside, -np.inf, out)


def binary_concrete_cdf(u: ArrayLike, logit_diff: float, temperature: float) -> NDArray[np.float64]:
    r"""C4: with :math:`y_1 = \sigma((\Delta + L)/T)`, :math:`\Delta = x_1 - x_2`,
    :math:`L \sim \mathrm{Logistic}(0,1)`:

    .. math:: P(y_1 \le u) = \sigma(T \operatorname{logit}(u) - \Delta),\quad u \in [0, 1],

    0 for :math:`u \le 0` and 1 for :math:`u \ge 1` (a CDF on the real line); NaN stays NaN.
    """
    t = validate_temperature(temperature)
    d = _finite_scalar(logit_diff, "logit_diff")
    u = np.asarray(u, dtype=np.float64)
    uc = np.clip(u, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return expit(t * logit(uc) - d)


def binary_concrete_logpdf(u: ArrayLike, logit_diff: float, temperature: float) -> NDArray[np.float64]:
    r"""Log-density of :math:`y_1` in C4:

    .. math:: \frac{d}{du}\sigma(T\operatorname{logit}u - \Delta) = \sigma'(s)\,\frac{T}{u(1-u)},
              \quad s = T\operatorname{logit}(u) - \Delta,

    the K = 2 case of C1. ``-inf`` outside the open interval (0, 1) (boundary included)."""
    t = validate_temperature(temperature)
    d = _finite_scalar(logit_diff, "logit_diff")
    u = np.asarray(u, dtype=np.float64)
    inside = (u > 0) & (u < 1)
    us = np.where(inside, u, 0.5)
    s = t * logit(us) - d
    out = logistic_logpdf(s) + math.log(t) - np.log(us) - np.log1p(-us)
    return np.where(inside, out, np.where(np.isnan(u), np.nan, -np.inf))


# ------------------------------------------------------------------------------------------
# Plackett-Luce (T5)
# ------------------------------------------------------------------------------------------
def plackett_luce_logprob(logits: ArrayLike, order: Sequence[int]) -> float:
    r"""T5: :math:`\log P(i_1, \dots, i_k) = \sum_j \big(x_{i_j} - \operatorname{lse}(x_{\setminus
    \{i_1..i_{j-1}\}})\big)`, i.e. :math:`\prod_j p_{i_j} / (1 - \sum_{l<j} p_{i_l})` computed
    without cancellation. 1-D logits (``-inf`` allowed, NaN/+inf/all ``-inf`` raise
    :class:`~reference.softmax.LogitsError`); indices must be integers in ``[0, K)``.
    A repeated index or a zero-weight pick gives ``-inf`` (an impossible ordered tuple)."""
    x = np.array(validate_logits(np.asarray(logits, dtype=np.float64)), dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"plackett_luce_logprob takes one logit vector, got shape {x.shape}")
    k_all = x.shape[0]
    idx = []
    for i in order:
        try:
            j = operator.index(i)
        except TypeError:
            raise ValueError(f"order must contain integers, got {i!r}") from None
        if not 0 <= j < k_all:
            raise ValueError(f"index {j} out of range for {k_all} categories")
        idx.append(j)
    total = 0.0
    for i in idx:
        if not np.isfinite(x[i]):
            return -math.inf
        total += float(x[i] - logsumexp(x[np.isfinite(x)]))
        x[i] = -np.inf
    return total


def plackett_luce_table(logits: ArrayLike, k: int) -> tuple[list[tuple[int, ...]], NDArray[np.float64]]:
    """All ordered ``k``-tuples of distinct categories and their Plackett-Luce probabilities.

    Zero-weight categories (``-inf`` logits) are kept in the table with probability 0 so that a
    sampler that returns one is an impossible event, not a missing bin. The probabilities sum to
    1. ``ValueError`` if ``k`` is negative or exceeds the number of categories with positive
    probability (sampling that many without replacement is impossible). Small K only (the table
    has K!/(K-k)! rows).
    """
    x = validate_logits(np.asarray(logits, dtype=np.float64))
    if x.ndim != 1:
        raise ValueError(f"plackett_luce_table takes one logit vector, got shape {x.shape}")
    k = operator.index(k)
    n_pos = int(np.sum(np.isfinite(x)))
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if k > n_pos:
        raise ValueError(
            f"k = {k} exceeds the {n_pos} categories with positive probability "
            f"(of {x.shape[0]}): no ordered {k}-tuple without replacement has positive probability"
        )
    tuples = list(permutations(range(x.shape[-1]), k))
    probs = np.array([math.exp(plackett_luce_logprob(x, t)) for t in tuples], dtype=np.float64)
    return tuples, probs


# ------------------------------------------------------------------------------------------
# Gradients (G1) and asymptotes (C5, G3)
# ------------------------------------------------------------------------------------------
def concrete_jacobian(y: ArrayLike, temperature: float) -> NDArray[np.float64]:
    r"""G1: :math:`\partial y / \partial x = \frac{1}{T}(\operatorname{diag}(y) - y y^\top)`
    for :math:`y = \operatorname{softmax}((x + g)/T)` at fixed noise; batched over leading axes
    (shape ``(..., K, K)``, entry ``[i, j] = dy_i/dx_j``). Symmetric, rows and columns sum to 0."""
    t = validate_temperature(temperature)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 0:
        raise ValueError("y must have a category axis")
    eye = np.eye(y.shape[-1])
    return (y[..., :, None] * eye - y[..., :, None] * y[..., None, :]) / t


def one_minus_max_asymptote(logits: ArrayLike, temperature: ArrayLike) -> NDArray[np.float64]:
    r"""C5 (K = 2): :math:`E[1 - \max_i y_i] = 2 \ln 2\, p_1 p_2\, T + O(T^3)`.

    (:math:`E = \int \sigma(-|s|/T)\, \phi(s)\, ds` with :math:`\phi` the density of
    :math:`x_1 - x_2 + L`, :math:`\phi(0) = p_1 p_2`, :math:`\int\sigma(-|u|)du = 2\ln 2`; the
    odd term of :math:`\phi` vanishes, so the relative error is :math:`O(T^2)`.)"""
    p = softmax(np.asarray(logits, dtype=np.float64))
    if p.shape[-1] != 2:
        raise ValueError("the C5 asymptote is for K = 2")
    return 2.0 * LN2 * p[..., 0] * p[..., 1] * _validate_temperatures(temperature)


def pathwise_variance_asymptote(logits: ArrayLike, temperature: ArrayLike) -> NDArray[np.float64]:
    r"""G3 (K = 2, f(y) = y_1): :math:`\operatorname{Var}[\partial y_1/\partial x_1] =
    p_1 p_2 / (6T) - (p_1 p_2)^2 + O(T)` (since :math:`\int (\sigma')^2 = 1/6`); returns the
    leading term :math:`p_1 p_2/(6T)`."""
    p = softmax(np.asarray(logits, dtype=np.float64))
    if p.shape[-1] != 2:
        raise ValueError("the G3 asymptote is for K = 2")
    return p[..., 0] * p[..., 1] / (6.0 * _validate_temperatures(temperature))


def categorical_logprobs(logits: ArrayLike) -> NDArray[np.float64]:
    """T1 target law: ``log_softmax(logits)`` in float64."""
    return log_softmax(np.asarray(logits, dtype=np.float64))
