r"""Discrete goodness of fit against a known categorical law.

Rules that each function follows (the harness bugs of bugs.md A.11 are regression-tested in
``tests/test_stats_discrete.py``):

* every category is counted, observed or not (jax#7040 computed expected counts only for the
  observed categories, so a never-seen category was invisible);
* categories with expected count :math:`< 5` are pooled, by expected count only (never by
  the observed counts, which would bias the test), so that **every** bin has expected count
  :math:`\ge 5` (unless the whole sample has :math:`N < 5`, a single bin that cannot fail);
  the degrees of freedom are ``bins - 1 - ddof`` after pooling, with ``ddof = 0`` for a fully
  specified law (ranjs#198 subtracted 3 unestimated "parameters": 6-11% false alarms at a
  nominal 1%);
* one observation in a category of probability 0 is an impossible event: the result is
  flagged ``impossible > 0`` with p-value 0, whatever the statistic says;
* probabilities are validated: NaN, inf, negative, all-zero, or a sum off 1 by more than
  the rounding of the input's precision raise ``ValueError`` (numpy#12545); float32
  probabilities summing to 0.99999994 are accepted and renormalised in float64 (numpy#6123,
  numpy#8317).

Discrete p-values. The exact, Monte Carlo and binomial tests have discrete p-values: under
the null :math:`P(p \le u) \le u` with equality only at attainable values. Each such result
also carries ``pvalue_lower`` (the probability of a *strictly* more extreme outcome), so that
:math:`p_{\text{lower}} + U (p - p_{\text{lower}})`, :math:`U \sim U(0, 1)`, is an exactly
uniform randomised p-value (used to test calibration, never to decide).

References: K. Pearson (1900); W. G. Cochran (1954), "Some methods for strengthening the
common chi-square tests", *Biometrics* 10:417-451 (expected counts >= 5); Cressie & Read
(1984) for the G (likelihood-ratio) statistic :math:`G = 2\sum O \ln(O/E)`; D. A. Williams
(1976), "Improved likelihood ratio tests for complete contingency tables", *Biometrika*
63:33-37 (the correction :math:`q = 1 + (\sum_b 1/\pi_b - 1)/(6N(\mathrm{bins}-1))`); Read &
Cressie (1988) for exact multinomial tests; Davison & Hinkley (1997) for Monte Carlo p-values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.special import gammaln

__all__ = [
    "GofResult",
    "BinomialTailResult",
    "validate_probabilities",
    "pool_categories",
    "chisquare_gof",
    "g_test",
    "exact_multinomial",
    "exact_multinomial_size",
    "monte_carlo_multinomial",
    "monte_carlo_multinomial_size",
    "binomial_tail",
    "pearson_gof",
    "pearson_null_sf",
    "mc_replicates",
    "max_cell_test",
    "MaxCellResult",
    "EXACT_MAX_OUTCOMES",
    "SUM_TOLERANCE",
]

SUM_TOLERANCE = 1e-6  # float32 rounding of a K <= 1e6 probability vector stays well inside
_TIE_RTOL = 1e-9  # statistics within this relative distance are the same outcome (ties)


@dataclass(frozen=True)
class GofResult:
    """Result of a discrete goodness-of-fit test.

    ``statistic`` and ``pvalue`` as in scipy; ``df`` degrees of freedom after pooling;
    ``n`` total count; ``bins`` number of bins after pooling; ``impossible`` the number of
    observations in probability-0 categories (p-value forced to 0 when > 0);
    ``observed``/``expected`` the pooled counts; ``groups`` the original categories of each bin;
    ``method`` ``"asymptotic"``, ``"exact"`` or ``"monte-carlo"``; ``pvalue_lower`` for
    discrete tests the probability of a strictly more extreme outcome (None for asymptotic
    tests); ``min_expected`` the smallest expected count of a bin (>= 5 after pooling unless
    N < 5); ``ddof`` the extra degrees of freedom subtracted.
    """

    test: str
    statistic: float
    pvalue: float
    df: int
    n: int
    bins: int
    impossible: int = 0
    impossible_categories: tuple[int, ...] = ()
    method: str = "asymptotic"
    observed: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)
    expected: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)
    groups: tuple[tuple[int, ...], ...] = field(default=(), repr=False)
    pvalue_lower: float | None = None
    min_expected: float = math.nan
    ddof: int = 0

    @property
    def can_fail(self) -> bool:
        """False when the test has no degrees of freedom (a single bin)."""
        return self.df >= 1 or self.impossible > 0

    def randomized_pvalue(self, u: float) -> float:
        """:math:`p_{\\text{lower}} + u\\,(p - p_{\\text{lower}})`: exactly U(0, 1) under the null
        when ``u`` ~ U(0, 1) independent of the data (calibration only)."""
        lo = self.pvalue if self.pvalue_lower is None else self.pvalue_lower
        return float(lo + u * (self.pvalue - lo))


def _sum_tolerance(dtype: np.dtype, k: int) -> float:
    eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else 0.0
    return max(SUM_TOLERANCE, 4.0 * eps * math.sqrt(k))


def validate_probabilities(probs: ArrayLike, tolerance: float | None = None) -> NDArray[np.float64]:
    """Probabilities as float64 summing to 1; ``ValueError`` naming the problem otherwise.

    The sum must be within ``tolerance`` of 1; by default ``max(1e-6, 4 eps sqrt(K))`` with
    ``eps`` the machine epsilon of the input's dtype (float32 vectors summing to 0.99999994
    pass; a float16 vector gets the slack its precision needs). The result is renormalised
    in float64.
    """
    raw = np.asarray(probs)
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError(f"probabilities must be a non-empty 1-D vector, got shape {raw.shape}")
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"probabilities must be real numbers, got dtype {raw.dtype}")
    p = raw.astype(np.float64)
    if np.any(np.isnan(p)):
        raise ValueError(f"probabilities contain NaN (at index {int(np.flatnonzero(np.isnan(p))[0])})")
    if np.any(p < 0):
        raise ValueError(f"probabilities contain negative values (min {p.min():.3g} at index "
                         f"{int(np.argmin(p))})")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities contain inf")
    s = float(p.sum())
    if s == 0:
        raise ValueError("probabilities are all zero")
    tol = _sum_tolerance(raw.dtype, p.size) if tolerance is None else float(tolerance)
    if abs(s - 1.0) > tol:
        raise ValueError(f"probabilities sum to {s!r}, not 1 (tolerance {tol:g})")
    return p / s


def _validate_counts(observed: ArrayLike, k: int) -> NDArray[np.float64]:
    o = np.asarray(observed)
    if o.shape != (k,):
        raise ValueError(f"observed counts have shape {o.shape}, expected ({k},): count every category")
    if o.dtype.kind not in "biuf":
        raise ValueError(f"observed counts must be numbers, got dtype {o.dtype}")
    o = o.astype(np.float64)
    if np.any(~np.isfinite(o)) or np.any(o < 0) or np.any(o != np.round(o)):
        raise ValueError("observed counts must be finite non-negative integers")
    return o


def pool_categories(expected: ArrayLike, min_expected: float = 5.0) -> list[tuple[int, ...]]:
    """Group the categories (of positive expected count) so that every group has expected
    count >= ``min_expected``.

    Categories already at or above the threshold stay alone; the small ones are merged in
    ascending order of expected count into groups that reach the threshold; a leftover group
    below it is merged into the smallest other group (which then stays above it). Only when
    the total is below the threshold is there a single group below it. Depends on the
    expected counts only (pooling by observed counts would bias the test).
    """
    e = np.asarray(expected, dtype=np.float64)
    order = np.argsort(e, kind="stable")
    order = order[e[order] > 0]
    es = e[order].tolist()
    idx = order.tolist()
    groups: list[list[int]] = []
    sums: list[float] = []
    cur: list[int] = []
    acc = 0.0
    n_small = int(np.searchsorted(e[order], min_expected, side="left"))
    for i, ei in zip(idx[:n_small], es[:n_small]):
        cur.append(i)
        acc += ei
        if acc >= min_expected:
            groups.append(cur)
            sums.append(acc)
            cur, acc = [], 0.0
    out = [tuple(g) for g in groups] + [(i,) for i in idx[n_small:]]
    sums += es[n_small:]
    if cur:
        if out:
            j = min(range(len(out)), key=lambda g: (sums[g], g))
            out[j] = tuple(out[j]) + tuple(cur)
        else:
            out.append(tuple(cur))
    return out


def _prepare(observed: ArrayLike, probs: ArrayLike, min_expected: float):
    p = validate_probabilities(probs)
    o = _validate_counts(observed, p.size)
    n = int(o.sum())
    zero = p == 0
    impossible_cats = tuple(int(i) for i in np.flatnonzero(zero & (o > 0)))
    impossible = int(o[zero].sum())
    groups = pool_categories(n * p, min_expected) if n > 0 else [tuple(int(i) for i in np.flatnonzero(~zero))]
    gid = np.full(p.size, len(groups), dtype=np.int64)  # zero-probability categories: no bin
    if groups:
        members = np.fromiter((i for g in groups for i in g), dtype=np.int64)
        gid[members] = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    obs = np.bincount(gid, weights=o, minlength=len(groups) + 1)[:-1]
    exp = n * np.bincount(gid, weights=p, minlength=len(groups) + 1)[:-1]
    return p, o, n, impossible, impossible_cats, groups, obs, exp


def _stat(obs: NDArray[np.float64], exp: NDArray[np.float64], kind: str) -> float:
    if kind == "pearson":
        return float(np.sum((obs - exp) ** 2 / exp))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(obs > 0, obs * np.log(obs / exp), 0.0)
    # sum O ln(O/E) = sum [O ln(O/E) - O + E] since sum O = sum E; the second form is a sum of
    # non-negative terms (no cancellation), so G >= 0 to rounding.
    return float(max(0.0, 2.0 * np.sum(terms - obs + exp)))


def _gof(observed, probs, min_expected: float, kind: str, ddof: int = 0,
         williams: bool = False) -> GofResult:
    name = "Pearson chi-square" if kind == "pearson" else "G test (likelihood ratio)"
    if williams:
        name += ", Williams-corrected"
    if int(ddof) != ddof or ddof < 0:
        raise ValueError(f"ddof must be a non-negative integer, got {ddof!r}")
    p, o, n, impossible, cats, groups, obs, exp = _prepare(observed, probs, min_expected)
    bins = len(groups)
    df = bins - 1 - int(ddof)
    stat = _stat(obs, exp, kind) if n > 0 else 0.0
    if williams and df >= 1 and n > 0:
        q = 1.0 + (float(np.sum(n / exp)) - 1.0) / (6.0 * n * (bins - 1))
        stat /= q
    pval = float(stats.chi2.sf(stat, df)) if df >= 1 else 1.0
    if impossible:
        pval = 0.0
    return GofResult(name, stat, pval, df, n, bins, impossible, cats, "asymptotic", obs, exp,
                     tuple(groups), None, float(exp.min()) if exp.size else math.nan, int(ddof))


def chisquare_gof(observed: ArrayLike, probs: ArrayLike, min_expected: float = 5.0, *,
                  ddof: int = 0) -> GofResult:
    r"""Pearson's :math:`X^2 = \sum_b (O_b - E_b)^2 / E_b` over all (pooled) bins,
    :math:`E_b = N \sum_{i \in b} p_i`, p-value from :math:`\chi^2_{\mathrm{bins}-1-\mathrm{ddof}}`.

    ``observed`` has one count per category (length K, zeros included); ``probs`` the null
    law. Observations in a probability-0 category force ``pvalue = 0`` (``impossible``).
    ``ddof`` (default 0) is the number of parameters estimated from the same data; it is 0
    whenever the law is fully specified, as in every claim of the spec.
    """
    return _gof(observed, probs, min_expected, "pearson", ddof)


def g_test(observed: ArrayLike, probs: ArrayLike, min_expected: float = 5.0, *,
           ddof: int = 0, williams: bool = False) -> GofResult:
    r"""Likelihood-ratio :math:`G = 2 \sum_b O_b \ln(O_b / E_b)` (0 ln 0 = 0), same pooling,
    df and impossible-event rule as :func:`chisquare_gof`. ``williams=True`` divides G by
    Williams' (1976) factor :math:`q = 1 + (\sum_b N/E_b - 1)/(6N(\mathrm{bins}-1))`, which
    removes most of G's small-sample excess of false alarms."""
    return _gof(observed, probs, min_expected, "g", ddof, williams)


def _compositions(n: int, k: int):
    """All vectors of k non-negative ints summing to n (stars and bars)."""
    for bars in combinations(range(n + k - 1), k - 1):
        prev = -1
        out = []
        for b in bars:
            out.append(b - prev - 1)
            prev = b
        out.append(n + k - 2 - prev)
        yield out


def _compositions_array(n: int, k: int) -> NDArray[np.int64]:
    """All vectors of k non-negative ints summing to n, as a (C(n+k-1, k-1), k) array."""
    if k == 1:
        return np.array([[n]], dtype=np.int64)
    # rows[m] = compositions of m into the last (k - j) parts, built from the right
    prev = [np.array([[m]], dtype=np.int64) for m in range(n + 1)]
    for parts in range(2, k + 1):
        cur = []
        for m in range(n + 1):
            blocks = [np.hstack([np.full((prev[m - f].shape[0], 1), f, dtype=np.int64), prev[m - f]])
                      for f in range(m + 1)]
            cur.append(np.vstack(blocks))
        prev = cur
    return prev[n]


EXACT_MAX_OUTCOMES = 200_000
ExactStatistic = Literal["pearson", "g", "probability"]


def _outcome_stat(x: NDArray[np.float64], e: NDArray[np.float64], logpmf: NDArray[np.float64] | None,
                  statistic: str) -> NDArray[np.float64]:
    if statistic == "pearson":
        return np.sum((x - e) ** 2 / e, axis=-1)
    if statistic == "g":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(x > 0, x * np.log(x / e), 0.0) - x + e
        return 2.0 * np.sum(t, axis=-1)
    if statistic == "probability":
        assert logpmf is not None
        return -logpmf
    raise ValueError(f"statistic must be 'pearson', 'g' or 'probability', got {statistic!r}")


def _multinomial_logpmf(x: NDArray[np.float64], n: int, logp: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore"):
        terms = np.where(x > 0, x * logp, 0.0)
    return gammaln(n + 1.0) - np.sum(gammaln(x + 1.0), axis=-1) + np.sum(terms, axis=-1)


@lru_cache(maxsize=64)
def _exact_table(n: int, pp: tuple[float, ...], statistic: str):
    """Sorted null distribution of the statistic over all outcomes: (stat ascending,
    P(T >= stat_i), P(T > stat_i) with ties merged at relative tolerance)."""
    p = np.array(pp)
    kk = p.size
    x = _compositions_array(n, kk).astype(np.float64)
    e = n * p
    logpmf = _multinomial_logpmf(x, n, np.log(p))
    t = _outcome_stat(x, e, logpmf, statistic)
    order = np.argsort(t, kind="stable")
    t = t[order]
    prob = np.exp(logpmf[order])
    # merge numerical ties: values within rtol of the previous distinct value share its level
    tol = _TIE_RTOL * np.maximum(1.0, np.abs(t))
    new_level = np.concatenate([[True], np.diff(t) > tol[1:]])
    level_id = np.cumsum(new_level) - 1
    level_val = t[new_level]
    level_prob = np.bincount(level_id, weights=prob)
    ge = np.cumsum(level_prob[::-1])[::-1]  # P(T >= level)
    gt = np.concatenate([ge[1:], [0.0]])  # P(T > level)
    return level_val, np.minimum(ge, 1.0), np.minimum(gt, 1.0)


def _exact_lookup(n: int, pp: NDArray[np.float64], statistic: str, obs_stat: float) -> tuple[float, float]:
    vals, ge, gt = _exact_table(n, tuple(float(v) for v in pp), statistic)
    tol = _TIE_RTOL * max(1.0, abs(obs_stat))
    i = int(np.searchsorted(vals, obs_stat - tol, side="left"))
    if i >= vals.size:  # more extreme than any outcome (cannot happen for a valid outcome)
        return 0.0, 0.0
    j = int(np.searchsorted(vals, obs_stat + tol, side="right"))
    lower = float(ge[j]) if j < vals.size else 0.0
    return float(ge[i]), lower


def _check_exact_size(n: int, kk: int) -> None:
    if math.comb(n + kk - 1, kk - 1) > EXACT_MAX_OUTCOMES:
        raise ValueError(f"exact test needs C({n + kk - 1}, {kk - 1}) = "
                         f"{math.comb(n + kk - 1, kk - 1):.3g} outcomes: more than "
                         f"EXACT_MAX_OUTCOMES = {EXACT_MAX_OUTCOMES}; use monte_carlo_multinomial")


def exact_multinomial(observed: ArrayLike, probs: ArrayLike, *,
                      statistic: ExactStatistic = "pearson") -> GofResult:
    r"""Exact multinomial test: :math:`p = \sum_{o:\, T(o) \ge T(\text{obs})} \mathrm{Mult}(o; N, p)`,
    summing over every outcome of the positive-probability categories (no pooling, no
    asymptotics). ``statistic`` orders the outcomes: ``"pearson"`` (:math:`X^2`, default),
    ``"g"`` (likelihood ratio) or ``"probability"`` (less probable = more extreme, the
    classical exact test). Numerically tied statistics (relative 1e-9) count as equal.

    Feasible when the number of outcomes :math:`\binom{N + K' - 1}{K' - 1}` is at most
    ``EXACT_MAX_OUTCOMES``; otherwise ``ValueError`` (use :func:`monte_carlo_multinomial`).
    The null distribution is cached per (N, p, statistic), so repeated calls are cheap.
    """
    p = validate_probabilities(probs)
    o = _validate_counts(observed, p.size)
    n = int(o.sum())
    pos = np.flatnonzero(p > 0)
    zero_obs = o[p == 0]
    cats = tuple(int(i) for i in np.flatnonzero((p == 0) & (o > 0)))
    kk = pos.size
    _check_exact_size(n, kk)
    pp = p[pos]
    e = n * pp
    xo = o[pos]
    if n == 0 or kk == 1:
        obs_stat, pval, lower = 0.0, 1.0, 0.0
    else:
        lp = _multinomial_logpmf(xo, n, np.log(pp)) if statistic == "probability" else None
        obs_stat = float(_outcome_stat(xo, e, lp, statistic))
        pval, lower = _exact_lookup(n, pp, statistic, obs_stat)
    if zero_obs.sum() > 0:
        pval, lower = 0.0, 0.0
    name = {"pearson": "Pearson", "g": "G", "probability": "probability"}[statistic]
    return GofResult(f"exact multinomial ({name} ordering)", obs_stat, pval, kk - 1, n, kk,
                     int(zero_obs.sum()), cats, "exact", xo, e, tuple((int(i),) for i in pos),
                     lower, float(e.min()) if n > 0 else 0.0, 0)


def exact_multinomial_size(n: int, probs: ArrayLike, alpha: float, *,
                           statistic: ExactStatistic = "pearson") -> float:
    r"""The attained size :math:`P_0(p \le \alpha)` of the level-``alpha`` exact multinomial
    test with ``n`` draws: the largest attainable p-value not above ``alpha`` (at most
    ``alpha``; the test is conservative by the discreteness of its outcomes)."""
    p = validate_probabilities(probs)
    pp = p[p > 0]
    _check_exact_size(n, pp.size)
    if n == 0 or pp.size == 1:
        return 0.0
    _, ge, _ = _exact_table(int(n), tuple(float(v) for v in pp), statistic)
    ok = ge[ge <= alpha]
    return float(ok.max()) if ok.size else 0.0


def monte_carlo_multinomial(
    observed: ArrayLike,
    probs: ArrayLike,
    n_sim: int = 9999,
    seed: int | np.random.Generator | None = 0,
    statistic: Literal["pearson", "g"] = "pearson",
) -> GofResult:
    r"""Monte Carlo p-value (Davison & Hinkley 1997, eq. 4.11):
    :math:`p = (1 + \#\{b: T_b \ge T_{\text{obs}}\}) / (B + 1)` with :math:`T_b` computed on
    ``n_sim`` multinomial draws under the null. A valid (slightly conservative) p-value for
    any N; no pooling needed. Seeded: the same ``seed`` gives the same p-value.
    ``pvalue_lower`` is :math:`\#\{b: T_b > T_{\text{obs}}\}/(B + 1)`, so that
    ``randomized_pvalue(u)`` is exactly U(0, 1) under the null."""
    p = validate_probabilities(probs)
    o = _validate_counts(observed, p.size)
    if int(n_sim) < 1:
        raise ValueError(f"n_sim must be >= 1, got {n_sim}")
    n = int(o.sum())
    pos = p > 0
    e = n * p[pos]
    rng = np.random.default_rng(seed)
    sims = rng.multinomial(n, p[pos], size=int(n_sim)).astype(np.float64)
    impossible = int(o[~pos].sum())
    cats = tuple(int(i) for i in np.flatnonzero(~pos & (o > 0)))
    if n == 0 or int(pos.sum()) == 1:
        obs_stat, pval, lower = 0.0, 1.0, 0.0
    else:
        obs_stat = float(_outcome_stat(o[pos], e, None, statistic))
        t = _outcome_stat(sims, e, None, statistic)
        tol = _TIE_RTOL * max(1.0, obs_stat)
        pval = float((1 + np.sum(t >= obs_stat - tol)) / (n_sim + 1))
        # R / (B + 1) with R = #{T_b > T_obs}: lower + U (p - lower) is then exactly U(0, 1)
        # under the null (a uniformly tie-broken rank of T_obs among the B + 1 statistics)
        lower = float(np.sum(t > obs_stat + tol) / (n_sim + 1))
    if impossible:
        pval, lower = 0.0, 0.0
    name = "Monte Carlo multinomial (" + ("Pearson" if statistic == "pearson" else "G") + ")"
    return GofResult(name, obs_stat, pval, int(pos.sum()) - 1, n, int(pos.sum()), impossible,
                     cats, "monte-carlo", o[pos], e, tuple((int(i),) for i in np.flatnonzero(pos)),
                     lower, float(e.min()) if n > 0 else 0.0, 0)


def monte_carlo_multinomial_size(n: int, probs: ArrayLike, alpha: float, n_sim: int = 9999,
                                 statistic: Literal["pearson", "g"] = "pearson") -> float:
    r"""Exactly attained size :math:`P_0(p_{MC} \le \alpha)` of the level-``alpha`` Monte Carlo
    test (small N only: it enumerates the outcomes like :func:`exact_multinomial`). Given an
    outcome whose exact p-value is :math:`\pi`, the number of simulated statistics at least
    as large is Binomial(B, :math:`\pi`), and :math:`p_{MC} \le \alpha` iff that number is at
    most :math:`\lfloor \alpha (B + 1) \rfloor - 1`."""
    p = validate_probabilities(probs)
    pp = p[p > 0]
    _check_exact_size(n, pp.size)
    if n == 0 or pp.size == 1:
        return 0.0
    vals, ge, gt = _exact_table(int(n), tuple(float(v) for v in pp), statistic)
    mass = ge - gt
    kmax = math.floor(alpha * (n_sim + 1) + 1e-9) - 1
    if kmax < 0:
        return 0.0
    return float(np.sum(mass * stats.binom.cdf(kmax, n_sim, ge)))


@dataclass(frozen=True)
class BinomialTailResult:
    r"""Exact binomial test of a rare category: ``k`` hits in ``n`` trials, null rate ``p``.

    ``z = (k - n p) / \sqrt{n p (1 - p)}``; ``pvalue`` exact (two-sided by default,
    scipy.stats.binomtest: outcomes no more probable than ``k``); ``expected = n p``;
    ``pvalue_lower`` the probability of a strictly more extreme outcome."""

    statistic: float
    pvalue: float
    k: int
    n: int
    p: float
    expected: float
    z: float
    alternative: str
    test: str = "exact binomial"
    pvalue_lower: float | None = None

    def randomized_pvalue(self, u: float) -> float:
        """Exactly U(0, 1) under the null for ``u`` ~ U(0, 1) (calibration only)."""
        lo = self.pvalue if self.pvalue_lower is None else self.pvalue_lower
        return float(lo + u * (self.pvalue - lo))


def _binom_atom(k: int, n: int, p: float, alternative: str, pval: float) -> float:
    """Probability of the outcomes tied with ``k`` in the test's ordering: ``k`` itself and,
    for the two-sided test (scipy's rule: outcomes with pmf <= pmf(k) (1 + 1e-7) are as
    extreme), an outcome on the other side of the mean whose pmf equals pmf(k) within that
    tolerance. The pmf is decreasing away from the mean, so the candidate is the first
    outcome on the other side at or below pmf(k) (1 + 1e-7); it is found in one vectorised
    pmf evaluation over a window of 40 standard deviations (beyond it the pmf underflows)."""
    pk = float(stats.binom.pmf(k, n, p))
    if alternative != "two-sided" or pk == 0.0:
        return pk
    mode = n * p
    rtol = 1 + 1e-7
    w = int(40 * math.sqrt(n * p * (1 - p)) + 40)
    if k < mode:
        lo = int(math.ceil(mode))
        js = np.arange(lo, min(n, lo + w) + 1)
        pj = stats.binom.pmf(js, n, p)
        idx = np.flatnonzero(pj <= pk * rtol)
    else:
        hi = int(math.floor(mode))
        js = np.arange(hi, max(0, hi - w) - 1, -1)
        pj = stats.binom.pmf(js, n, p)
        idx = np.flatnonzero(pj <= pk * rtol)
    if idx.size == 0:
        return pk
    j, pjj = int(js[idx[0]]), float(pj[idx[0]])
    other = pjj if (j != k and pjj >= pk / rtol) else 0.0
    return pk + other


def binomial_tail(
    k: int, n: int, p: float, alternative: Literal["two-sided", "less", "greater"] = "two-sided"
) -> BinomialTailResult:
    """Exact binomial test for the count of a rare category (spec S, 'Tail mass')."""
    if math.isnan(p) or not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n}")
    if int(k) != k or not 0 <= k <= n:
        raise ValueError(f"need integer 0 <= k <= n, got k={k}, n={n}")
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")
    k, n = int(k), int(n)
    expected = n * p
    sd = math.sqrt(n * p * (1 - p))
    z = (k - expected) / sd if sd > 0 else (0.0 if k == expected else math.copysign(math.inf, k - expected))
    if p == 0 or p == 1 or n == 0:
        consistent = (k == 0) if p == 0 else (k == n) if p == 1 else True
        pval = 1.0 if consistent else 0.0
        lower = 0.0
    else:
        pval = float(stats.binomtest(k, n, p, alternative=alternative).pvalue)
        lower = max(0.0, pval - _binom_atom(k, n, p, alternative, pval))
    return BinomialTailResult(float(k), pval, k, n, float(p), expected, z, alternative,
                              pvalue_lower=lower)


def _pooled_pearson(counts: NDArray[np.float64], exp: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.sum((counts - exp) ** 2 / exp, axis=-1)


def pearson_null_sf(n: int, bin_probs: ArrayLike, statistic: float, n_sim: int, seed: int,
                    chunk: int = 8192) -> tuple[int, int]:
    r"""Number of the ``n_sim`` null statistics :math:`X^2_b` (pooled Pearson on multinomial
    counts of the bins, simulated with ``numpy.random.default_rng(seed)``) that are
    :math:`\ge` / :math:`>` ``statistic`` (ties at relative 1e-9)."""
    pb = np.asarray(bin_probs, dtype=np.float64)
    e = n * pb
    rng = np.random.default_rng(seed)
    tol = _TIE_RTOL * max(1.0, abs(statistic))
    ge = gt = 0
    left = int(n_sim)
    while left > 0:
        b = min(chunk, left)
        t = _pooled_pearson(rng.multinomial(n, pb, size=b).astype(np.float64), e)
        ge += int(np.sum(t >= statistic - tol))
        gt += int(np.sum(t > statistic + tol))
        left -= b
    return ge, gt


def mc_replicates(level: float, per_level: int = 50) -> int:
    r"""Null replicates :math:`B` of the Monte Carlo p-value used at decision levels down to
    ``level``: :math:`B + 1 = \lceil 50/\text{level} \rceil` (about 50 exceedances allowed at
    the smallest level, so the test loses little power against the exact one)."""
    return int(math.ceil(per_level / level)) - 1


def pearson_gof(observed: ArrayLike, probs: ArrayLike, *, exact_above: float, min_level: float,
                seed: int, min_expected: float = 5.0) -> GofResult:
    r"""Pearson goodness of fit whose p-value is **valid at every level** :math:`u \le`
    ``exact_above`` (the largest level at which it is judged), whatever the expected counts.

    Categories are pooled to expected counts :math:`\ge 5` (:func:`pool_categories`). Then

    * **two bins**: the pooled count is binomial; the p-value is the exact two-sided binomial
      one (:func:`binomial_tail`), valid at every level;
    * **more bins**: the asymptotic :math:`\chi^2_{\mathrm{bins}-1}` p-value :math:`p_a` is kept
      when :math:`p_a >` ``exact_above`` (no decision is made there); otherwise the p-value is
      the Monte Carlo one, :math:`(1 + \#\{b: X^2_b \ge X^2\})/(B + 1)` over :math:`B`
      multinomial null samples of the pooled bins (seeded by ``seed``), with
      :math:`B + 1 = \lceil 50/\text{min\_level} \rceil` (:func:`mc_replicates`). For
      :math:`u \le` ``exact_above``, :math:`P(p \le u) = P(p_a \le \text{exact\_above},\,
      p_{MC} \le u) \le P(p_{MC} \le u) = \lfloor u (B+1) \rfloor/(B+1) \le u` (exchangeability
      of the :math:`B + 1` statistics): the size is at most the level, exactly, with no
      large-sample approximation (the chi-square approximation with expected counts near 5 is
      anti-conservative at small levels: x1.27 at 1e-3 for 712 bins).
    """
    res = chisquare_gof(observed, probs, min_expected)
    if res.impossible or res.df < 1 or res.n == 0:
        return res
    from dataclasses import replace

    if res.bins == 2:
        pb = float(res.expected[0] / res.n)
        bt = binomial_tail(int(res.observed[0]), res.n, pb)
        return replace(res, test="Pearson chi-square (2 bins: exact binomial p-value)", pvalue=bt.pvalue,
                       method="exact", pvalue_lower=bt.pvalue_lower)
    if res.pvalue > exact_above:
        return res
    b = mc_replicates(min_level)
    ge, gt = pearson_null_sf(res.n, res.expected / res.n, res.statistic, b, seed)
    return replace(res, test=f"Pearson chi-square (Monte Carlo p-value, B = {b})",
                   pvalue=(1 + ge) / (b + 1), method="monte-carlo", pvalue_lower=gt / (b + 1))


@dataclass(frozen=True)
class MaxCellResult:
    r"""Max-cell test: the most extreme category count. ``pvalue = min(1, K' min_i p_i)`` over the
    ``K'`` positive-probability categories, :math:`p_i = \min(1, 2\min(P(X \le o_i), P(X \ge o_i)))`,
    :math:`X \sim \mathrm{Bin}(N, p_i)` (exact binomial tails, doubled: valid; Bonferroni over
    the categories: valid), ``category`` the one attaining it."""

    pvalue: float
    category: int
    count: int
    expected: float
    cell_pvalue: float
    categories: int
    test: str = "max-cell exact binomial (Bonferroni over the categories)"


def max_cell_test(observed: ArrayLike, probs: ArrayLike) -> MaxCellResult:
    """The max-cell test of :class:`MaxCellResult`: sees a concentrated error that pooling hides
    (one token of probability 6e-7 drawn 10 times in 256 draws: p ~ 1e-33 at V = 152 064),
    and a high-probability category that is missing or in excess."""
    p = validate_probabilities(probs)
    o = _validate_counts(observed, p.size)
    n = int(o.sum())
    pos = np.flatnonzero(p > 0)
    if n == 0 or pos.size < 2:
        return MaxCellResult(1.0, int(pos[0]) if pos.size else 0, 0, 0.0, 1.0, int(pos.size))
    op, pp = o[pos], p[pos]
    up = stats.binom.sf(op - 1, n, pp)
    lo = stats.binom.cdf(op, n, pp)
    two = np.minimum(1.0, 2.0 * np.minimum(up, lo))
    j = int(np.argmin(two))
    return MaxCellResult(float(min(1.0, pos.size * two[j])), int(pos[j]), int(op[j]), float(n * pp[j]),
                         float(two[j]), int(pos.size))
