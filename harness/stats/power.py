r"""Power and minimum detectable effects.

* Chi-square: under an alternative :math:`q`, Pearson's :math:`X^2` is approximately
  noncentral :math:`\chi^2(\mathrm{df}, \lambda)` with :math:`\lambda = N w^2`,
  :math:`w = \sqrt{\sum_i (q_i - p_i)^2 / p_i}` (Cohen's *w*; Cohen 1988, ch. 7).
* KS: by the Dvoretzky-Kiefer-Wolfowitz-Massart inequality
  :math:`P(\sup|F_n - F| > \varepsilon) \le 2e^{-2n\varepsilon^2}`, so
  :math:`\varepsilon_\alpha = \sqrt{\ln(2/\alpha)/(2n)}` (Massart 1990). A true sup-distance
  :math:`\Delta \ge \varepsilon_\alpha + \varepsilon_\beta` is detected with power
  :math:`\ge 1 - \beta`, distribution-free.
* z-tests: a shift of :math:`(z_{1-\alpha/2} + z_{\text{power}})\,\mathrm{se}` is detected with
  the stated power (two-sided).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import optimize, stats

__all__ = [
    "chisquare_power",
    "min_detectable_w",
    "n_for_w",
    "tv_for_w",
    "dkwm_epsilon",
    "ks_detectable_distance",
    "z_detectable",
    "binomial_detectable_ratio",
]


def _check(alpha: float, power: float | None = None) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if power is not None and not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")


def chisquare_power(w: float, n: int, df: int, alpha: float) -> float:
    r"""Power of the level-``alpha`` chi-square test: :math:`P(\chi'^2_{df}(N w^2) > \chi^2_{df,1-\alpha})`."""
    _check(alpha)
    if df < 1:
        return 0.0
    crit = stats.chi2.isf(alpha, df)
    return float(stats.ncx2.sf(crit, df, n * w * w)) if w > 0 else float(alpha)


def _lambda_for_power(df: int, alpha: float, power: float) -> float:
    crit = stats.chi2.isf(alpha, df)
    f = lambda lam: stats.ncx2.sf(crit, df, lam) - power  # noqa: E731
    hi = 1.0
    while f(hi) < 0:
        hi *= 2.0
    return float(optimize.brentq(f, 1e-9, hi, xtol=1e-10, rtol=1e-12))


def min_detectable_w(n: int, df: int, alpha: float, power: float = 0.9) -> float:
    r"""Smallest Cohen's :math:`w` detected with probability ``power``: :math:`\sqrt{\lambda^*/N}`."""
    _check(alpha, power)
    if df < 1 or n < 1:
        return math.inf
    return math.sqrt(_lambda_for_power(df, alpha, power) / n)


def n_for_w(w: float, df: int, alpha: float, power: float = 0.9) -> int:
    r"""Sample size :math:`N = \lceil \lambda^* / w^2 \rceil` to detect Cohen's ``w``."""
    _check(alpha, power)
    if w <= 0:
        raise ValueError("w must be > 0")
    return int(math.ceil(_lambda_for_power(df, alpha, power) / (w * w)))


def tv_for_w(w: float, probs: Sequence[float]) -> float:
    r"""Total-variation distance of the hardest one-category shift with Cohen's ``w``.

    Moving mass :math:`\delta` from category *a* to *b* gives :math:`w^2 = \delta^2 (1/p_a +
    1/p_b)` and TV :math:`= \delta`; the two largest categories make :math:`\delta` largest,
    so :math:`\mathrm{TV} = w / \sqrt{1/p_{(1)} + 1/p_{(2)}}` is the worst case (any one-category
    shift of at least this TV is detected).
    """
    p = np.sort(np.asarray(probs, dtype=np.float64)[np.asarray(probs) > 0])[::-1]
    if p.size < 2:
        return math.inf
    return float(w / math.sqrt(1.0 / p[0] + 1.0 / p[1]))


def dkwm_epsilon(n: int, alpha: float) -> float:
    r""":math:`\varepsilon = \sqrt{\ln(2/\alpha)/(2n)}`: :math:`P(\sup|F_n - F| > \varepsilon) \le \alpha`."""
    _check(alpha)
    if n < 1:
        return math.inf
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


def ks_detectable_distance(n: int, alpha: float, power: float = 0.9) -> float:
    r"""Sup-distance :math:`\varepsilon_\alpha + \varepsilon_{1-\text{power}}` that KS detects."""
    _check(alpha, power)
    return dkwm_epsilon(n, alpha) + dkwm_epsilon(n, 1.0 - power)


def z_detectable(se: float, alpha: float, power: float = 0.9) -> float:
    r"""Two-sided z-test: the shift :math:`(z_{1-\alpha/2} + z_{\text{power}})\cdot\mathrm{se}`."""
    _check(alpha, power)
    return float((stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) * se)


def binomial_detectable_ratio(n: int, p: float, alpha: float, power: float = 0.9) -> float:
    r"""Smallest relative change :math:`|r - 1|` of a rare rate ``p`` detected by the two-sided
    binomial test of ``n`` trials (normal approximation,
    :math:`(z_{1-\alpha/2} + z_{\text{power}})\sqrt{p(1-p)/n}/p`)."""
    if n < 1 or not 0 < p < 1:
        return math.inf
    return z_detectable(math.sqrt(p * (1 - p) / n), alpha, power) / p
