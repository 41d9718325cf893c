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
* TV: every alternative at TV :math:`\ge w \max_A \sqrt{P(A)(1-P(A))}` has Cohen's w at least
  ``w`` (:func:`tv_for_w`; worst case the proportional tilt, :func:`worst_case_alternative`).
* Exact binomial: power and detectable relative changes from the exact rejection region.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import optimize, stats

__all__ = [
    "cohen_w",
    "noncentrality",
    "chisquare_power",
    "min_detectable_w",
    "n_for_w",
    "tv_for_w",
    "max_split_variance",
    "best_split",
    "worst_case_alternative",
    "dkwm_epsilon",
    "ks_detectable_distance",
    "z_detectable",
    "binomial_detectable_ratio",
    "binomial_power",
    "binomial_rejection_region",
    "tail_absence_rate",
    "pearson_moments",
    "pearson_power",
    "pearson_candidates",
    "pearson_worst_power",
    "pearson_detectable_w",
    "binomial_detectable_w",
    "mc_effective_level",
]


def _check(alpha: float, power: float | None = None) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if power is not None and not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")


def cohen_w(q: Sequence[float], p: Sequence[float]) -> float:
    r"""Cohen's :math:`w = \sqrt{\sum_i (q_i - p_i)^2 / p_i}` of the alternative ``q`` against
    the null ``p`` (over the categories with :math:`p_i > 0`; mass of ``q`` where
    :math:`p_i = 0` is an impossible event, ``w = inf``)."""
    qq = np.asarray(q, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    if qq.shape != pp.shape:
        raise ValueError(f"q and p differ in shape: {qq.shape} vs {pp.shape}")
    zero = pp == 0
    if np.any(qq[zero] > 0):
        return math.inf
    return float(math.sqrt(np.sum((qq[~zero] - pp[~zero]) ** 2 / pp[~zero])))


def noncentrality(q: Sequence[float], p: Sequence[float], n: int) -> float:
    r"""Noncentrality :math:`\lambda = N w^2` of Pearson's :math:`X^2` under ``q``."""
    return float(n) * cohen_w(q, p) ** 2


def chisquare_power(w: float, n: int, df: int, alpha: float) -> float:
    r"""Power of the level-``alpha`` chi-square test: :math:`P(\chi'^2_{df}(N w^2) > \chi^2_{df,1-\alpha})`.

    The noncentral approximation (Cohen 1988; Mitra 1958) holds for local alternatives,
    :math:`q - p = O(N^{-1/2})`, with every expected count of moderate size; it is the law
    ``tests/test_power.py`` measures against."""
    _check(alpha)
    if df < 1:
        return 0.0
    crit = stats.chi2.isf(alpha, df)
    return float(stats.ncx2.sf(crit, df, n * w * w)) if w > 0 else float(alpha)


@lru_cache(maxsize=1024)
def _lambda_for_power(df: int, alpha: float, power: float) -> float:
    if power <= alpha:
        return 0.0
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


_SUBSET_ENUM_MAX = 16  # exact maximisation over subsets up to 2^16 of them


def max_split_variance(probs: Sequence[float]) -> float:
    r""":math:`\max_A P(A)(1 - P(A))` over the subsets :math:`A` of the categories (at most 1/4).

    Exact (every subset enumerated) for up to 16 positive categories; beyond, the upper bound
    1/4 is returned, which only makes :func:`tv_for_w` larger, i.e. its statement weaker and
    still true (with many categories a subset with :math:`P(A)` close to 1/2 exists anyway)."""
    p = np.asarray(probs, dtype=np.float64)
    p = p[p > 0]
    if p.size < 2:
        return 0.0
    if p.size > _SUBSET_ENUM_MAX:
        return 0.25
    # subsets containing the last category are the complements of the others: skip them
    sums = np.zeros(1)
    for v in p[:-1]:
        sums = np.concatenate([sums, sums + v])
    s = sums / p.sum()
    return float(np.max(s * (1.0 - s)))


def tv_for_w(w: float, probs: Sequence[float]) -> float:
    r"""The total-variation distance :math:`\delta^*` such that **every** alternative at TV
    :math:`\ge \delta^*` from ``probs`` has Cohen's :math:`w \ge` ``w`` (so a chi-square test
    detecting ``w`` detects every such alternative).

    For an alternative :math:`q` at TV :math:`\delta`, let :math:`A = \{q > p\}`; then
    :math:`\delta = \sum_A (q - p) = \sum_{A^c} (p - q)` and Cauchy-Schwarz on each side gives
    :math:`w^2 \ge \delta^2 (1/P(A) + 1/P(A^c)) = \delta^2 / (P(A) P(A^c))`. Hence
    :math:`\delta^* = w \max_A \sqrt{P(A)(1 - P(A))}` (:func:`max_split_variance`); the bound is
    attained by the proportional tilt :func:`worst_case_alternative` (mass :math:`+\delta` spread
    over the best half :math:`A` in proportion to :math:`p`, :math:`-\delta` over the rest),
    which is what a temperature error looks like. At most :math:`w/2`.
    """
    v = max_split_variance(probs)
    if v <= 0:
        return math.inf
    return float(w * math.sqrt(v))


def best_split(probs: Sequence[float]) -> np.ndarray:
    """The boolean mask of a subset :math:`A` maximising :math:`P(A)(1 - P(A))` (exact up to 16
    positive categories; beyond, a greedy split of the categories sorted by probability)."""
    p = np.asarray(probs, dtype=np.float64)
    pos = np.flatnonzero(p > 0)
    mask = np.zeros(p.size, dtype=bool)
    if pos.size < 2:
        return mask
    pp = p[pos] / p[pos].sum()
    if pos.size <= _SUBSET_ENUM_MAX:
        k = pos.size - 1
        codes = np.arange(2 ** k)
        bits = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)
        s = bits @ pp[:-1]
        best = bits[int(np.argmax(s * (1 - s)))]
        mask[pos[:-1][best]] = True
        return mask
    acc = 0.0
    for i in np.argsort(-pp):
        if acc + pp[i] <= 0.5:
            acc += pp[i]
            mask[pos[i]] = True
    return mask


def worst_case_alternative(probs: Sequence[float], tv: float) -> np.ndarray:
    r"""The alternative at TV ``tv`` with the smallest Cohen's w: the proportional tilt
    :math:`q = p (1 + \delta/P(A))` on the best split :math:`A` (:func:`best_split`),
    :math:`q = p (1 - \delta/P(A^c))` elsewhere; its :math:`w = \delta/\sqrt{P(A)P(A^c)}`."""
    p = np.asarray(probs, dtype=np.float64)
    a = best_split(p)
    pa = float(p[a].sum())
    q = np.where(a, p * (1 + tv / pa), p * (1 - tv / (1 - pa)))
    if np.any(q < 0):
        raise ValueError(f"TV {tv} too large for a tilt of {p.tolist()}")
    return q


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
    r"""Smallest relative change :math:`|r - 1|` of a rare rate ``p`` that the level-``alpha``
    two-sided exact binomial test of ``n`` trials detects with probability at least ``power``
    in **both** directions (a deficit :math:`r < 1` and an excess :math:`r > 1`): the larger of
    the two, each found by bisection on the exact power :func:`binomial_power` (no normal
    approximation; at about 30 expected hits the two differ by several percent). A deficit
    that no rate reaches (even :math:`r = 0` is not detected with that power) gives ``inf``."""
    _check(alpha, power)
    if n < 1 or not 0 < p < 1:
        return math.inf
    region = binomial_rejection_region(n, p, alpha)
    pw = lambda p1: _power_in_region(region, n, p1)  # noqa: E731
    # deficit: power increases as p1 falls to 0
    if pw(0.0) < power:
        down = math.inf
    else:
        lo, hi = 0.0, p  # pw(lo) >= power > pw(hi)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if pw(mid) >= power else (lo, mid)
        down = 1.0 - lo / p
    lo, hi = p, min(1.0, 2 * p)
    while pw(hi) < power and hi < 1.0:
        lo, hi = hi, min(1.0, 2 * hi)
    if pw(hi) < power:
        return math.inf
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if pw(mid) >= power else (mid, hi)
    up = hi / p - 1.0
    return float(max(down, up))


def _power_in_region(region: tuple[int, int], n: int, p1: float) -> float:
    k_lo, k_hi = region
    out = 0.0
    if k_lo >= 0:
        out += float(stats.binom.cdf(k_lo, n, p1))
    if k_hi <= n:
        out += float(stats.binom.sf(k_hi - 1, n, p1))
    return out


def binomial_rejection_region(n: int, p0: float, alpha: float,
                               alternative: str = "two-sided") -> tuple[int, int]:
    r"""The rejection region of the level-``alpha`` exact binomial test of :math:`p = p_0`
    with ``n`` trials, as ``(k_lo, k_hi)``: reject iff :math:`k \le k_{lo}` or
    :math:`k \ge k_{hi}` (``k_lo = -1`` / ``k_hi = n + 1`` when a side is empty). The p-value
    is monotone on each side of the mean, so each boundary is found by bisection."""
    from harness.stats.discrete import binomial_tail

    _check(alpha)
    rej = lambda k: binomial_tail(int(k), n, p0, alternative).pvalue <= alpha  # noqa: E731
    mode = n * p0
    k_lo, k_hi = -1, n + 1
    if alternative in ("two-sided", "less"):
        hi = int(math.floor(mode)) if alternative == "two-sided" else n
        if rej(0):
            lo = 0  # largest k in [0, hi] that rejects: rej is True on [0, k_lo]
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if rej(mid):
                    lo = mid
                else:
                    hi = mid - 1
            k_lo = lo
    if alternative in ("two-sided", "greater"):
        lo = int(math.ceil(mode)) if alternative == "two-sided" else 0
        if rej(n):
            hi = n  # smallest k in [lo, n] that rejects
            while lo < hi:
                mid = (lo + hi) // 2
                if rej(mid):
                    hi = mid
                else:
                    lo = mid + 1
            k_hi = hi
    return k_lo, k_hi


def binomial_power(n: int, p0: float, p1: float, alpha: float,
                   alternative: str = "two-sided") -> float:
    r"""Exact power of the level-``alpha`` exact binomial test of :math:`H_0: p = p_0` when the
    true rate is ``p1``: :math:`P_{p_1}(K \le k_{lo}) + P_{p_1}(K \ge k_{hi})` over the
    rejection region of :func:`binomial_rejection_region`."""
    if n < 1:
        return 0.0
    return _power_in_region(binomial_rejection_region(n, p0, alpha, alternative), n, p1)


def tail_absence_rate(n: int, alpha: float) -> float:
    r"""The smallest rate :math:`p` for which *zero* hits in ``n`` trials is rejected by the
    two-sided exact binomial test at level ``alpha``: a sampler whose tail is truncated
    (never returns a category of probability :math:`\ge p`) is caught for sure.
    For small p, :math:`P(0) = (1 - p)^n \approx e^{-np}` must fall to ``alpha`` (the other
    tail adds a little), so :math:`np \approx \ln(1/\alpha)`. The p-value of 0 hits jumps
    where the set of outcomes in the other tail changes, so the rate is found by bisection
    (relative precision 1e-9) and the returned rate rejects."""
    from harness.stats.discrete import binomial_tail

    _check(alpha)
    if n < 1:
        return math.inf
    rejects = lambda lp: binomial_tail(0, n, math.exp(lp)).pvalue <= alpha  # noqa: E731
    lo, hi = math.log(1e-3 / n), math.log(min(0.5, 50.0 / n))
    if not rejects(hi):
        return math.inf
    if rejects(lo):
        return math.exp(lo)
    while hi - lo > 1e-9:
        mid = 0.5 * (lo + hi)
        if rejects(mid):
            hi = mid
        else:
            lo = mid
    return float(math.exp(hi))


# ------------------------------------------------------------------------------------------
# Pearson power in many-bin tables (issue 18): the actual statistic, not the noncentral model
# ------------------------------------------------------------------------------------------

def pearson_moments(q: Sequence[float], p: Sequence[float], n: int) -> tuple[float, float]:
    r"""Exact mean and variance of Pearson's :math:`X^2 = \sum_b (O_b - N p_b)^2/(N p_b)` when
    :math:`O \sim \mathrm{Mult}(N, q)` (bins ``p``, all positive).

    With :math:`q = p + d`: :math:`E X^2 = (K - 1) + (N - 1) w^2 + \sum_b d_b/p_b` -- the
    noncentral model keeps only :math:`N w^2`; the first-order term :math:`\sum d_b/p_b` is
    negative when mass moves from many small bins to a few large ones. The variance is
    :math:`\mathrm{Var}\,\sum_b O_b^2/(N p_b)` from the multinomial factorial moments
    :math:`E\,O_a^{(r)} O_b^{(s)} = N^{(r+s)} q_a^r q_b^s`."""
    qq = np.asarray(q, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    n = float(n)
    c = 1.0 / (n * pp)
    n2, n3 = n * (n - 1), n * (n - 1) * (n - 2)
    n4 = n3 * (n - 3)
    m2 = n2 * qq ** 2 + n * qq
    m4 = n4 * qq ** 4 + 6 * n3 * qq ** 3 + 7 * n2 * qq ** 2 + n * qq
    mean = float(np.sum(c * m2) - n)
    a1, a2 = float(np.sum(c * qq)), float(np.sum(c * qq ** 2))
    c2 = c * c
    cross = (n4 * (a2 * a2 - np.sum(c2 * qq ** 4)) + 2 * n3 * (a2 * a1 - np.sum(c2 * qq ** 3))
             + n2 * (a1 * a1 - np.sum(c2 * qq ** 2)))
    cm2 = float(np.sum(c * m2))
    var = float(np.sum(c2 * (m4 - m2 * m2)) + cross - (cm2 * cm2 - np.sum(c2 * m2 * m2)))
    return mean, max(var, 0.0)


def _gamma_sf(x: float, mean: float, var: float) -> float:
    """``P(a chi2_nu > x)`` with ``a, nu`` matching ``mean`` and ``var`` (Patnaik 1949)."""
    if var <= 0:
        return float(x < mean)
    a, nu = var / (2 * mean), 2 * mean * mean / var
    return float(stats.chi2.sf(x / a, nu))


def _gamma_isf(level: float, mean: float, var: float) -> float:
    a, nu = var / (2 * mean), 2 * mean * mean / var
    return float(a * stats.chi2.isf(level, nu))


def pearson_power(q: Sequence[float], p: Sequence[float], n: int, level: float) -> float:
    r"""Power of the level-``level`` Pearson test of the bins ``p`` with ``n`` draws against the
    bin law ``q``: the null critical value and the alternative law of :math:`X^2` are each a
    scaled chi-square matching the exact first two moments (:func:`pearson_moments`; Patnaik's
    approximation, which keeps the first-order term and the extra variance of small bins that
    the noncentral chi-square model drops). Checked by simulation through the real decision in
    ``tests/test_power_claims.py``."""
    pp = np.asarray(p, dtype=np.float64)
    m0, v0 = pearson_moments(pp, pp, n)
    crit = _gamma_isf(level, m0, v0)
    m1, v1 = pearson_moments(q, pp, n)
    return _gamma_sf(crit, m1, v1)


def _rescale_to_w(p: np.ndarray, d: np.ndarray, w: float) -> np.ndarray | None:
    """``q = p + t d`` (``sum d = 0``) with Cohen's w exactly ``w``, or None when it leaves the simplex."""
    w1 = math.sqrt(float(np.sum(d * d / p)))
    if w1 == 0:
        return None
    q = p + (w / w1) * d
    return q if np.all(q >= -1e-15) else None


def pearson_candidates(p: Sequence[float], w: float) -> dict[str, np.ndarray]:
    r"""The candidate least-favourable bin laws at Cohen's ``w`` from the bins ``p``:

    * ``"mean"``: the direction minimising :math:`E X^2` at fixed w:
      :math:`d_b \propto -(1 - K p_b)` (minimise :math:`\sum d_b/p_b = x\cdot u` over
      :math:`|x| = w`, :math:`x \perp \sqrt p`, with :math:`x_b = d_b/\sqrt{p_b}`,
      :math:`u_b = 1/\sqrt{p_b}`: :math:`\min = -w\sqrt{\sum_b 1/p_b - K^2}`), mass moved from the
      bins below :math:`1/K` to those above; where it would leave the simplex, the largest
      feasible multiple of it completed by the proportional tilt;
    * ``"tilt"``: the proportional tilt between two halves of the mass (the old worst case, the
      one with the smallest w at a given TV);
    * ``"spike"``: all the excess in the smallest bin (the largest variance of :math:`X^2` at
      fixed w: its count is nearly Poisson with a large mean), ``"spike_top"``: in the largest
      bin, ``"dip_top"``: a deficit of the largest bin;
    * ``"mean+spike(f)"``: mixtures ``f mean + (1 - f) spike``, f = 0.25, 0.5, 0.75 (in the
      many-bin tables of the checker these bind: the simulations of ``tests/test_power_claims.py``).
    """
    pp = np.asarray(p, dtype=np.float64)
    k = pp.size
    out: dict[str, np.ndarray] = {}
    u = -(1.0 - k * pp)
    tilt_dir = None
    a = best_split(pp)
    pa = float(pp[a].sum())
    if 0 < pa < 1:
        tilt_dir = np.where(a, pp / pa, -pp / (1 - pa))
        q = _rescale_to_w(pp, tilt_dir, w)
        if q is not None:
            out["tilt"] = q
    if np.any(np.abs(u) > 1e-12 * k):
        q = _rescale_to_w(pp, u, w)
        if q is None and tilt_dir is not None:  # largest feasible multiple of u, then tilt
            neg = u < 0
            t = float(np.min(pp[neg] / -u[neg])) * 0.999
            base = pp + t * u
            wb = math.sqrt(float(np.sum((t * u) ** 2 / pp)))
            if wb < w:
                # add the tilt of the *remaining* law until w is reached (bisection on the factor)
                lo, hi = 0.0, 1.0
                for _ in range(60):
                    mid = 0.5 * (lo + hi)
                    qq = base + mid * tilt_dir * (1 - 1e-9) * np.minimum(1.0, base / np.maximum(pp, 1e-300))
                    qq = np.maximum(qq, 0)
                    qq /= qq.sum()
                    (lo, hi) = (mid, hi) if cohen_w(qq, pp) < w else (lo, mid)
                qq = base + hi * tilt_dir * (1 - 1e-9) * np.minimum(1.0, base / np.maximum(pp, 1e-300))
                qq = np.maximum(qq, 0)
                q = qq / qq.sum()
        if q is not None:
            out["mean"] = q
    s, t_ = int(np.argmin(pp)), int(np.argmax(pp))
    for name, j, sign in (("spike", s, 1.0), ("spike_top", t_, 1.0), ("dip_top", t_, -1.0)):
        e = -pp.copy()
        e[j] += 1.0
        q = _rescale_to_w(pp, sign * e, w)
        if q is not None:
            out[name] = q
    if "mean" in out and "spike" in out:
        for f in (0.25, 0.5, 0.75):  # mixtures: a lower mean and a larger variance at once
            q = _rescale_to_w(pp, f * (out["mean"] - pp) + (1 - f) * (out["spike"] - pp), w)
            if q is not None:
                out[f"mean+spike({f:g})"] = q
    return out


def pearson_worst_power(p: Sequence[float], n: int, w: float, level: float) -> tuple[float, str]:
    """The smallest :func:`pearson_power` over :func:`pearson_candidates` at Cohen's ``w``, and
    which candidate gives it."""
    cands = pearson_candidates(p, w)
    if not cands:
        return 0.0, "none"
    res = {k: pearson_power(q, p, n, level) for k, q in cands.items()}
    name = min(res, key=res.get)  # type: ignore[arg-type]
    return res[name], name


def pearson_detectable_w(p: Sequence[float], n: int, level: float, power: float = 0.9,
                         w_max: float | None = None) -> tuple[float, str]:
    """Cached front of :func:`_pearson_detectable_w` (the same table recurs in every run)."""
    pp = np.ascontiguousarray(np.asarray(p, dtype=np.float64))
    return _pearson_detectable_w_cached(pp.tobytes(), int(n), float(level), float(power),
                                        None if w_max is None else float(w_max))


@lru_cache(maxsize=4096)
def _pearson_detectable_w_cached(key: bytes, n: int, level: float, power: float,
                                 w_max: float | None) -> tuple[float, str]:
    return _pearson_detectable_w(np.frombuffer(key, dtype=np.float64), n, level, power, w_max)


def _pearson_detectable_w(p: Sequence[float], n: int, level: float, power: float = 0.9,
                          w_max: float | None = None) -> tuple[float, str]:
    r"""The smallest Cohen's w (over the bins ``p``) such that the level-``level`` Pearson test
    with ``n`` draws has power >= ``power`` against the least favourable candidates of
    :func:`pearson_candidates` at that w and at every larger w of a grid up to ``w_max``
    (default 4 x the noncentral figure): the first-order term and the variance of small bins
    included (issue 18). ``inf`` when no w below ``w_max`` reaches it. Returns ``(w, name)`` of
    the binding candidate."""
    pp = np.asarray(p, dtype=np.float64)
    df = pp.size - 1
    if df < 1 or n < 1:
        return math.inf, "none"
    w0 = min_detectable_w(n, df, level, power)
    top = w_max if w_max is not None else 4.0 * w0
    ok = lambda w: pearson_worst_power(pp, n, w, level)[0] >= power  # noqa: E731
    hi = _smallest_detected(ok, 0.5 * w0, w0, 1.25, top)
    # every larger w up to w_max must also be detected (the worst case need not be monotone):
    # on a failure, search again above the failing w
    for _ in range(8):
        if hi is None:
            return math.inf, "none"
        bad = [w for w in np.geomspace(hi, top, 12)[1:] if not ok(w)]
        if not bad:
            return float(hi), pearson_worst_power(pp, n, hi, level)[1]
        hi = _smallest_detected(ok, bad[-1], bad[-1] * 1.1, 1.1, top)
    return math.inf, "none"


def _smallest_detected(ok, lo: float, hi: float, grow: float, top: float) -> float | None:
    """Grow ``hi`` by ``grow`` until ``ok(hi)`` (None past ``top``), then bisect ``[lo, hi]`` to a
    relative 1e-4 for the smallest ``w`` with ``ok(w)``."""
    while not ok(hi):
        lo, hi = hi, hi * grow
        if hi > top:
            return None
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
        if hi - lo < 1e-4 * hi:
            break
    return hi


def binomial_detectable_w(p0: float, n: int, level: float, power: float = 0.9) -> tuple[float, str]:
    r"""Two bins (the exact binomial p-value of :func:`harness.stats.discrete.pearson_gof`): the
    smallest Cohen's :math:`w` (:math:`q_0 = p_0 \pm w\sqrt{p_0 p_1}`) detected with ``power`` in
    **both** directions, by exact binomial power (bisection)."""
    p1 = 1.0 - p0
    if not 0 < p0 < 1 or n < 1:
        return math.inf, "none"
    sd = math.sqrt(p0 * p1)
    region = binomial_rejection_region(n, p0, level)

    def ok(w: float) -> bool:
        up, dn = p0 + w * sd, p0 - w * sd
        return all(_power_in_region(region, n, min(1.0, max(0.0, r))) >= power for r in (up, dn))

    hi = 1e-6
    while not ok(hi):
        hi *= 1.5
        if hi > 1.0 / sd:
            return math.inf, "none"
    lo = hi / 1.5
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return float(hi), "exact binomial, both directions"


def mc_effective_level(level: float, b: int, sure: float = 0.995) -> float:
    r"""The Monte Carlo p-value :math:`(1 + \#\{T_b \ge T\})/(B + 1)` rejects at ``level`` iff the
    exceedance count, Binomial(B, :math:`\pi(T)`) given the statistic, is at most
    :math:`k = \lfloor \text{level}(B+1)\rfloor - 1`: the largest :math:`u` with
    :math:`P(\mathrm{Bin}(B, u) \le k) \ge` ``sure``. Every outcome whose exact p-value
    :math:`\pi(T) \le u` is then rejected with probability :math:`\ge` ``sure``, so the MC test's
    power is at least ``sure`` times the exact test's power at level ``u`` (the power statements
    use this, so that the MC resolution is not counted as power)."""
    k = math.floor(level * (b + 1) + 1e-9) - 1
    if k < 0:
        return 0.0
    lo, hi = 0.0, level
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if stats.binom.cdf(k, b, mid) >= sure else (lo, mid)
    return float(lo)
