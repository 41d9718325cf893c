r"""The exact laws behind every claim of ``../shared/spec.md``.

All functions are NumPy, float64, vectorised, and written in log space where a naive formula
overflows or cancels. Notation: logits :math:`x`, :math:`p = \operatorname{softmax}(x)`,
temperature :math:`T = \lambda > 0`, standard Gumbel :math:`g` with
:math:`F(g) = e^{-e^{-g}}`, :math:`f(g) = e^{-g - e^{-g}}`.

References
----------
* E. J. Gumbel, *Statistics of Extremes* (1958); max-stability of the Gumbel law.
* C. J. Maddison, A. Mnih, Y. W. Teh, "The Concrete Distribution", ICLR 2017 (C1, C4).
* E. Jang, S. Gu, B. Poole, "Categorical Reparameterization with Gumbel-Softmax", ICLR 2017.
* W. Kool, H. van Hoof, M. Welling, "Stochastic Beams and Where to Find Them", ICML 2019 (T5).
"""
from __future__ import annotations

import math
from itertools import permutations
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, gammaln, logit

from reference.softmax import log_softmax, logsumexp, softmax

__all__ = [
    "validate_temperature",
    "gumbel_cdf",
    "gumbel_logcdf",
    "gumbel_sf",
    "gumbel_logpdf",
    "gumbel_pdf",
    "gumbel_ppf",
    "max_cdf",
    "logistic_cdf",
    "logistic_logpdf",
    "logratio_joint_cdf",
    "concrete_logpdf",
    "binary_concrete_cdf",
    "binary_concrete_logpdf",
    "plackett_luce_logprob",
    "plackett_luce_table",
    "concrete_jacobian",
    "one_minus_max_asymptote",
    "pathwise_variance_asymptote",
    "LN2",
]

LN2 = math.log(2.0)


def validate_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float after checking ``0 < T < inf``; ``ValueError`` otherwise."""
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


def _z(g: ArrayLike, loc: ArrayLike, scale: float) -> NDArray[np.float64]:
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    return (np.asarray(g, dtype=np.float64) - np.asarray(loc, dtype=np.float64)) / scale


def gumbel_logcdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`\log F(g) = -e^{-(g - \mu)/\beta}`."""
    with np.errstate(over="ignore"):
        return -np.exp(-_z(g, loc, scale))


def gumbel_cdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`F(g) = \exp(-e^{-(g - \mu)/\beta})` (Gumbel-max law, location :math:`\mu`)."""
    return np.exp(gumbel_logcdf(g, loc, scale))


def gumbel_sf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`1 - F(g) = -\operatorname{expm1}(-e^{-z})`, accurate in the upper tail."""
    with np.errstate(over="ignore"):
        return -np.expm1(-np.exp(-_z(g, loc, scale)))


def gumbel_logpdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`\log f(g) = -z - e^{-z} - \log\beta`, :math:`z = (g-\mu)/\beta`.

    Never evaluates :math:`f` itself, so :math:`\log f(-5) = 5 - e^{5} \approx -143.41`
    (pytorch#15681 returned ``-inf``).
    """
    z = _z(g, loc, scale)
    with np.errstate(over="ignore"):
        return -z - np.exp(-z) - math.log(scale)


def gumbel_pdf(g: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r""":math:`f(g) = \frac{1}{\beta} e^{-z - e^{-z}}`."""
    return np.exp(gumbel_logpdf(g, loc, scale))


def gumbel_ppf(q: ArrayLike, loc: ArrayLike = 0.0, scale: float = 1.0) -> NDArray[np.float64]:
    r"""Quantile :math:`F^{-1}(q) = \mu - \beta \log(-\log q)` for :math:`q \in (0, 1)`."""
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(loc, dtype=np.float64) - scale * np.log(-np.log(q))


def max_cdf(m: ArrayLike, logits: ArrayLike) -> NDArray[np.float64]:
    r"""T2: :math:`P(\max_i (x_i + g_i) \le m) = \exp(-e^{-(m - \operatorname{lse}(x))})`."""
    return gumbel_cdf(m, loc=float(logsumexp(np.asarray(logits, dtype=np.float64))))


def logistic_cdf(t: ArrayLike) -> NDArray[np.float64]:
    r""":math:`\sigma(t) = 1/(1 + e^{-t})`, the Logistic(0, 1) CDF (law of :math:`g_i - g_j`)."""
    return expit(np.asarray(t, dtype=np.float64))


def logistic_logpdf(t: ArrayLike) -> NDArray[np.float64]:
    r""":math:`\log \sigma'(t) = -|t| - 2\log(1 + e^{-|t|})`."""
    a = np.abs(np.asarray(t, dtype=np.float64))
    return -a - 2.0 * np.log1p(np.exp(-a))


def logratio_joint_cdf(t: ArrayLike) -> NDArray[np.float64]:
    r"""C2 joint law of :math:`d_i = (g_i - g_K)`, :math:`i < K`:

    .. math:: P(d_i \le t_i\ \forall i < K) = \frac{1}{1 + \sum_{i<K} e^{-t_i}}.

    ``t`` has shape ``(..., K-1)``; evaluated as :math:`\exp(-\operatorname{lse}(0, -t))`.
    """
    t = np.asarray(t, dtype=np.float64)
    z = np.concatenate([np.zeros(t.shape[:-1] + (1,)), -t], axis=-1)
    m = np.max(z, axis=-1, keepdims=True)
    lse = np.squeeze(m, -1) + np.log(np.sum(np.exp(z - m), axis=-1))
    return np.exp(-lse)


def concrete_logpdf(
    y: ArrayLike | None,
    logits: ArrayLike,
    temperature: float,
    *,
    log_y: ArrayLike | None = None,
) -> NDArray[np.float64]:
    r"""C1: log-density of the Concrete (Gumbel-softmax) law on the open simplex.

    With :math:`\alpha = e^{x}` and :math:`\lambda = T`,

    .. math::

        p(y) = (K-1)!\,\lambda^{K-1} \prod_k \alpha_k y_k^{-\lambda-1}
               \Big/ \Big(\sum_i \alpha_i y_i^{-\lambda}\Big)^K,

    computed as :math:`\log (K-1)! + (K-1)\log\lambda + \sum_k (x_k - (\lambda+1)\log y_k)
    - K\,\operatorname{lse}_i(x_i - \lambda \log y_i)`. The density is with respect to the
    Lebesgue measure on the first :math:`K-1` coordinates (Maddison et al. 2017, eq. 3).

    Pass ``log_y`` instead of ``y`` when samples underflow (at small T a float ``y_k`` is often
    exactly 0 although :math:`\log y_k` is finite: pytorch#18254, tfp#1738). Points outside the
    open simplex (a ``y_k <= 0`` or a non-finite ``log_y``) get ``-inf``: the support is open,
    so the density there is 0 by definition; this is the documented answer, never NaN.
    """
    t = validate_temperature(temperature)
    x = np.asarray(logits, dtype=np.float64)
    if log_y is None:
        if y is None:
            raise ValueError("pass y or log_y")
        yy = np.asarray(y, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.log(yy)
    else:
        ly = np.asarray(log_y, dtype=np.float64)
    k = x.shape[-1]
    if ly.shape[-1] != k:
        raise ValueError(f"y has {ly.shape[-1]} categories, logits have {k}")
    finite_logits = np.isfinite(x)
    if not np.all(finite_logits):
        raise ValueError("concrete_logpdf needs finite logits (a -inf logit has no density)")
    outside = ~np.all(np.isfinite(ly), axis=-1)
    ly_safe = np.where(np.isfinite(ly), ly, 0.0)
    a = x - t * ly_safe
    m = np.max(a, axis=-1, keepdims=True)
    lse = np.squeeze(m, -1) + np.log(np.sum(np.exp(a - m), axis=-1))
    out = (
        gammaln(k) + (k - 1) * math.log(t) + np.sum(x - (t + 1.0) * ly_safe, axis=-1) - k * lse
    )
    return np.where(outside, -np.inf, out)


def binary_concrete_cdf(u: ArrayLike, logit_diff: float, temperature: float) -> NDArray[np.float64]:
    r"""C4: with :math:`y_1 = \sigma((\Delta + L)/T)`, :math:`\Delta = x_1 - x_2`,
    :math:`L \sim \mathrm{Logistic}(0,1)`:

    .. math:: P(y_1 \le u) = \sigma(T \operatorname{logit}(u) - \Delta),\quad u \in [0, 1].
    """
    t = validate_temperature(temperature)
    u = np.asarray(u, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return expit(t * logit(u) - logit_diff)


def binary_concrete_logpdf(u: ArrayLike, logit_diff: float, temperature: float) -> NDArray[np.float64]:
    r"""Density of :math:`y_1` in C4: :math:`\frac{d}{du}\sigma(T\operatorname{logit}u - \Delta)
    = \sigma'(s)\,T / (u(1-u))`, :math:`s = T\operatorname{logit}(u) - \Delta`."""
    t = validate_temperature(temperature)
    u = np.asarray(u, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = t * logit(u) - logit_diff
        return logistic_logpdf(s) + math.log(t) - np.log(u) - np.log1p(-u)


def plackett_luce_logprob(logits: ArrayLike, order: Sequence[int]) -> float:
    r"""T5: :math:`\log P(i_1, \dots, i_k) = \sum_j \big(x_{i_j} - \operatorname{lse}(x_{\setminus
    \{i_1..i_{j-1}\}})\big)`, i.e. :math:`\prod_j p_{i_j} / (1 - \sum_{l<j} p_{i_l})` computed
    without cancellation. Repeated indices or a zero-weight pick give ``-inf``."""
    x = np.array(logits, dtype=np.float64)
    total = 0.0
    for i in order:
        if not np.isfinite(x[i]):
            return -math.inf
        total += float(x[i] - logsumexp(x[np.isfinite(x)]))
        x[i] = -np.inf
    return total


def plackett_luce_table(logits: ArrayLike, k: int) -> tuple[list[tuple[int, ...]], NDArray[np.float64]]:
    """All ordered ``k``-tuples of distinct categories and their Plackett-Luce probabilities.

    Zero-weight categories (``-inf`` logits) are kept in the table with probability 0 so that a
    sampler that returns one is an impossible event, not a missing bin. Small K only
    (the table has K!/(K-k)! rows).
    """
    x = np.asarray(logits, dtype=np.float64)
    tuples = list(permutations(range(x.shape[-1]), k))
    probs = np.array([math.exp(plackett_luce_logprob(x, t)) for t in tuples])
    return tuples, probs


def concrete_jacobian(y: ArrayLike, temperature: float) -> NDArray[np.float64]:
    r"""G1: :math:`\partial y / \partial x = \frac{1}{T}(\operatorname{diag}(y) - y y^\top)`
    for :math:`y = \operatorname{softmax}((x + g)/T)` at fixed noise; batched over leading axes
    (shape ``(..., K, K)``, entry ``[i, j] = dy_i/dx_j``)."""
    t = validate_temperature(temperature)
    y = np.asarray(y, dtype=np.float64)
    eye = np.eye(y.shape[-1])
    return (y[..., :, None] * eye - y[..., :, None] * y[..., None, :]) / t


def one_minus_max_asymptote(logits: ArrayLike, temperature: ArrayLike) -> NDArray[np.float64]:
    r"""C5 (K = 2): :math:`E[1 - \max_i y_i] = 2 \ln 2\, p_1 p_2\, T + o(T)`."""
    p = softmax(np.asarray(logits, dtype=np.float64))
    if p.shape[-1] != 2:
        raise ValueError("the C5 asymptote is for K = 2")
    return 2.0 * LN2 * p[..., 0] * p[..., 1] * np.asarray(temperature, dtype=np.float64)


def pathwise_variance_asymptote(logits: ArrayLike, temperature: ArrayLike) -> NDArray[np.float64]:
    r"""G3 (K = 2, f(y) = y_1): :math:`\operatorname{Var}[\partial y_1/\partial x_1] \sim
    p_1 p_2 / (6T)` as :math:`T \to 0` (since :math:`\int (\sigma')^2 = 1/6`)."""
    p = softmax(np.asarray(logits, dtype=np.float64))
    if p.shape[-1] != 2:
        raise ValueError("the G3 asymptote is for K = 2")
    return p[..., 0] * p[..., 1] / (6.0 * np.asarray(temperature, dtype=np.float64))


def categorical_logprobs(logits: ArrayLike) -> NDArray[np.float64]:
    """T1 target law: ``log_softmax(logits)`` in float64."""
    return log_softmax(np.asarray(logits, dtype=np.float64))
