r"""Exact K = 2 expectations by 1-D quadrature over the logistic variable (C5, G2, G3).

For K = 2, :math:`y_1 = \sigma((\Delta + L)/T)` with :math:`\Delta = x_1 - x_2` and
:math:`L \sim` Logistic(0, 1) (density :math:`\phi(l) = \sigma(l)\sigma(-l)`), so every
expectation is a 1-D integral; :math:`u = \Delta + L` has density :math:`\phi(u - \Delta)`.
The integrals are written in the variable :math:`v = u/T` where the integrand varies on the
scale of :math:`T`, so that ``scipy.integrate.quad`` resolves it at every :math:`T` (1e-3 included)
to about 1e-12 relative. Results are cached (the report evaluates them once per run).

* :func:`one_minus_max`: :math:`E[1 - \max_i y_i] = T\int_0^\infty \sigma(-v)\,
  [\phi(Tv - \Delta) + \phi(Tv + \Delta)]\,dv`.
* :func:`expect`: :math:`E[h(y_1)] = \int h(\sigma(u/T))\,\phi(u - \Delta)\,du`.
* :func:`grad_expect`: :math:`\partial_{x_1} E[h(y_1)] = \int h'(\sigma(v))\,\sigma'(v)\,
  \phi(Tv - \Delta)\,dv` (differentiation under the integral; the pathwise gradient of
  :math:`h(y_1)` is :math:`h'(y_1)\,y_1 y_2/T`).
* :func:`grad_moment`: :math:`E[g^k]` for the pathwise gradient :math:`g = \partial y_1/\partial
  x_1 = \sigma'(u/T)/T`: :math:`T^{1-k}\int \sigma'(v)^k \phi(Tv - \Delta)\,dv`.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

from scipy import integrate
from scipy.special import expit

__all__ = ["phi", "dsigma", "one_minus_max", "expect", "grad_expect", "grad_moment", "grad_variance",
           "finite_difference", "H"]

_EPSREL = 1e-12
_LIMIT = 400


def phi(l: float) -> float:
    """Logistic(0, 1) density :math:`\\sigma(l)\\sigma(-l)`."""
    return float(expit(l) * expit(-l))


#: :math:`\sigma'(v) = \sigma(v)\sigma(-v)`: the same function as :func:`phi`.
dsigma = phi


def _quad(f: Callable[[float], float], a: float, b: float, points: list[float] | None = None) -> float:
    pts = sorted(p for p in (points or []) if a < p < b)
    val, _err = integrate.quad(f, a, b, points=pts or None, epsabs=1e-15, epsrel=_EPSREL, limit=_LIMIT)
    return float(val)


@lru_cache(maxsize=None)
def one_minus_max(delta: float, t: float) -> float:
    r""":math:`E[1 - \max(y_1, y_2)]` exactly (quadrature); see module doc."""
    f = lambda v: expit(-v) * (phi(t * v - delta) + phi(t * v + delta))  # noqa: E731
    return t * _quad(f, 0.0, 80.0, [abs(delta) / t])


# h and h' for the functionals used by the experiments, by name (hashable for the cache)
H: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "y1": (lambda y: y, lambda y: 1.0),
    "y1^2": (lambda y: y * y, lambda y: 2.0 * y),
}


@lru_cache(maxsize=None)
def expect(h: str, delta: float, t: float) -> float:
    r""":math:`E[h(y_1)]` for ``h`` a key of :data:`H`."""
    fn = H[h][0]
    w = 60.0 * t  # the step of sigma(u/T) lies in |u| < w: integrate it in v = u/T
    lo, hi = min(delta, -w) - 60.0, max(delta, w) + 60.0
    f = lambda u: fn(float(expit(u / t))) * phi(u - delta)  # noqa: E731
    g = lambda v: fn(float(expit(v))) * phi(t * v - delta)  # noqa: E731
    return (_quad(f, lo, -w, [delta]) + t * (_quad(g, -60.0, 0.0, [delta / t]) + _quad(g, 0.0, 60.0, [delta / t]))
            + _quad(f, w, hi, [delta]))


@lru_cache(maxsize=None)
def grad_expect(h: str, delta: float, t: float) -> float:
    r""":math:`\partial E[h(y_1)]/\partial x_1` by differentiation under the integral."""
    dfn = H[h][1]
    f = lambda v: dfn(float(expit(v))) * dsigma(v) * phi(t * v - delta)  # noqa: E731
    return _quad(f, -80.0, 0.0, [delta / t]) + _quad(f, 0.0, 80.0, [delta / t])


@lru_cache(maxsize=None)
def grad_moment(k: int, delta: float, t: float) -> float:
    r""":math:`E[g^k]`, :math:`g = \sigma'((\Delta + L)/T)/T`."""
    f = lambda v: dsigma(v) ** k * phi(t * v - delta)  # noqa: E731
    return t ** (1 - k) * (_quad(f, -80.0, 0.0, [delta / t]) + _quad(f, 0.0, 80.0, [delta / t]))


def grad_variance(delta: float, t: float) -> tuple[float, float]:
    r"""Exact :math:`\operatorname{Var}[g]` and the variance of the sample variance per draw,
    :math:`\mu_4 - \sigma^4` (so that :math:`\operatorname{Var}[\hat\sigma^2] \approx
    (\mu_4 - \sigma^4)/n`)."""
    m1, m2, m3, m4 = (grad_moment(k, delta, t) for k in (1, 2, 3, 4))
    var = m2 - m1 * m1
    mu4 = m4 - 4 * m3 * m1 + 6 * m2 * m1 * m1 - 3 * m1 ** 4
    return var, mu4 - var * var


def finite_difference(fn: Callable[[float], float], x: float, h: float = 1e-4) -> float:
    """Central difference :math:`(f(x+h) - f(x-h))/(2h)`."""
    return (fn(x + h) - fn(x - h)) / (2 * h)
