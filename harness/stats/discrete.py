r"""Discrete goodness of fit against a known categorical law.

Rules that each function follows (the harness bugs of bugs.md A.11 are regression-tested):

* every category is counted, observed or not (jax#7040 computed expected counts only for the
  observed categories, so a never-seen category was invisible);
* categories with expected count :math:`< 5` are pooled, by expected count only (never by
  the observed counts, which would bias the test), and the degrees of freedom are
  ``bins - 1`` after pooling (ranjs#198: wrong df gave 6-11% false alarms);
* one observation in a category of probability 0 is an impossible event: the result is
  flagged ``impossible > 0`` with p-value 0, whatever the statistic says;
* probabilities are validated: NaN, negative, all-zero, or a sum off 1 by more than float32
  rounding raise ``ValueError`` (numpy#12545); float32 probabilities summing to 0.99999994
  are accepted and renormalised in float64 (numpy#6123, numpy#8317).

References: K. Pearson (1900); Cressie & Read (1984) for the G (likelihood-ratio) statistic
:math:`G = 2\sum O \ln(O/E)`; Read & Cressie (1988) for exact multinomial tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "GofResult",
    "BinomialTailResult",
    "validate_probabilities",
    "pool_categories",
    "chisquare_gof",
    "g_test",
    "exact_multinomial",
    "monte_carlo_multinomial",
    "binomial_tail",
]

SUM_TOLERANCE = 1e-6  # float32 rounding of a K <= 1e6 probability vector stays well inside


@dataclass(frozen=True)
class GofResult:
    """Result of a discrete goodness-of-fit test.

    ``statistic`` and ``pvalue`` as in scipy; ``df`` degrees of freedom after pooling;
    ``n`` total count; ``bins`` number of bins after pooling; ``impossible`` the number of
    observations in probability-0 categories (p-value forced to 0 when > 0);
    ``observed``/``expected`` the pooled counts; ``groups`` the original categories of each bin;
    ``method`` ``"asymptotic"``, ``"exact"`` or ``"monte-carlo"``.
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

    @property
    def can_fail(self) -> bool:
        """False when the test has no degrees of freedom (a single bin)."""
        return self.df >= 1


def validate_probabilities(probs: ArrayLike) -> NDArray[np.float64]:
    """Probabilities as float64 summing to 1; ``ValueError`` naming the problem otherwise."""
    p = np.asarray(probs)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"probabilities must be a non-empty 1-D vector, got shape {p.shape}")
    p = p.astype(np.float64)
    if np.any(np.isnan(p)):
        raise ValueError("probabilities contain NaN")
    if np.any(p < 0):
        raise ValueError(f"probabilities contain negative values (min {p.min():.3g})")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities contain inf")
    s = float(p.sum())
    if s == 0:
        raise ValueError("probabilities are all zero")
    if abs(s - 1.0) > SUM_TOLERANCE:
        raise ValueError(f"probabilities sum to {s!r}, not 1 (tolerance {SUM_TOLERANCE:g})")
    return p / s


def _validate_counts(observed: ArrayLike, k: int) -> NDArray[np.float64]:
    o = np.asarray(observed)
    if o.shape != (k,):
        raise ValueError(f"observed counts have shape {o.shape}, expected ({k},): count every category")
    o = o.astype(np.float64)
    if np.any(~np.isfinite(o)) or np.any(o < 0) or np.any(o != np.round(o)):
        raise ValueError("observed counts must be finite non-negative integers")
    return o


def pool_categories(expected: ArrayLike, min_expected: float = 5.0) -> list[tuple[int, ...]]:
    """Group the categories (of positive expected count) so that every group has expected
    count >= ``min_expected`` where possible.

    Categories already at or above the threshold stay alone; the small ones are merged in
    ascending order of expected count into groups that reach the threshold; a leftover group
    below it is merged into the smallest other group. Depends on the expected counts only.
    """
    e = np.asarray(expected, dtype=np.float64)
    idx = [int(i) for i in np.argsort(e, kind="stable") if e[i] > 0]
    big = [(i,) for i in idx if e[i] >= min_expected]
    small = [i for i in idx if e[i] < min_expected]
    groups: list[list[int]] = []
    cur: list[int] = []
    acc = 0.0
    for i in small:
        cur.append(i)
        acc += e[i]
        if acc >= min_expected:
            groups.append(cur)
            cur, acc = [], 0.0
    out = [tuple(g) for g in groups] + big
    if cur:
        if out:
            j = min(range(len(out)), key=lambda g: sum(e[list(out[g])]))
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
    groups = pool_categories(n * p, min_expected) if n > 0 else [tuple(np.flatnonzero(~zero))]
    obs = np.array([o[list(g)].sum() for g in groups])
    exp = np.array([n * p[list(g)].sum() for g in groups])
    return p, o, n, impossible, impossible_cats, groups, obs, exp


def _stat(obs: NDArray[np.float64], exp: NDArray[np.float64], kind: str) -> float:
    if kind == "pearson":
        return float(np.sum((obs - exp) ** 2 / exp))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(obs > 0, obs * np.log(obs / exp), 0.0)
    return float(2.0 * np.sum(terms))


def _gof(observed, probs, min_expected: float, kind: str) -> GofResult:
    name = "Pearson chi-square" if kind == "pearson" else "G test (likelihood ratio)"
    p, o, n, impossible, cats, groups, obs, exp = _prepare(observed, probs, min_expected)
    bins = len(groups)
    df = bins - 1
    stat = _stat(obs, exp, kind) if n > 0 else 0.0
    pval = float(stats.chi2.sf(stat, df)) if df >= 1 else 1.0
    if impossible:
        pval = 0.0
    return GofResult(name, stat, pval, df, n, bins, impossible, cats, "asymptotic", obs, exp,
                     tuple(groups))


def chisquare_gof(observed: ArrayLike, probs: ArrayLike, min_expected: float = 5.0) -> GofResult:
    r"""Pearson's :math:`X^2 = \sum_b (O_b - E_b)^2 / E_b` over all (pooled) bins,
    :math:`E_b = N \sum_{i \in b} p_i`, p-value from :math:`\chi^2_{\mathrm{bins}-1}`.

    ``observed`` has one count per category (length K, zeros included); ``probs`` the null
    law. Observations in a probability-0 category force ``pvalue = 0`` (``impossible``).
    """
    return _gof(observed, probs, min_expected, "pearson")


def g_test(observed: ArrayLike, probs: ArrayLike, min_expected: float = 5.0) -> GofResult:
    r"""Likelihood-ratio :math:`G = 2 \sum_b O_b \ln(O_b / E_b)` (0 ln 0 = 0), same pooling,
    df and impossible-event rule as :func:`chisquare_gof`."""
    return _gof(observed, probs, min_expected, "g")


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


EXACT_MAX_OUTCOMES = 200_000


def exact_multinomial(observed: ArrayLike, probs: ArrayLike) -> GofResult:
    r"""Exact multinomial test ordered by Pearson's statistic:
    :math:`p = \sum_{o:\, X^2(o) \ge X^2(\text{obs})} \mathrm{Mult}(o; N, p)`, summing over every
    outcome of the positive-probability categories (no pooling, no asymptotics).

    Feasible when the number of outcomes :math:`\binom{N + K' - 1}{K' - 1}` is at most
    ``EXACT_MAX_OUTCOMES``; otherwise ``ValueError`` (use :func:`monte_carlo_multinomial`).
    """
    p = validate_probabilities(probs)
    o = _validate_counts(observed, p.size)
    n = int(o.sum())
    pos = np.flatnonzero(p > 0)
    zero_obs = o[p == 0]
    cats = tuple(int(i) for i in np.flatnonzero((p == 0) & (o > 0)))
    kk = pos.size
    if math.comb(n + kk - 1, kk - 1) > EXACT_MAX_OUTCOMES:
        raise ValueError(f"exact test needs C({n + kk - 1}, {kk - 1}) outcomes: too many")
    pp = p[pos]
    e = n * pp
    outcomes = np.array(list(_compositions(n, kk)), dtype=np.float64).reshape(-1, kk)
    x2 = np.sum((outcomes - e) ** 2 / e, axis=1) if n > 0 else np.zeros(len(outcomes))
    logpmf = stats.multinomial.logpmf(outcomes, n, pp) if n > 0 else np.zeros(len(outcomes))
    obs_stat = float(np.sum((o[pos] - e) ** 2 / e)) if n > 0 else 0.0
    tol = 1e-9 * max(1.0, obs_stat)
    pval = float(min(1.0, np.exp(logpmf[x2 >= obs_stat - tol]).sum()))
    if zero_obs.sum() > 0:
        pval = 0.0
    return GofResult("exact multinomial (Pearson ordering)", obs_stat, pval, kk - 1, n, kk,
                     int(zero_obs.sum()), cats, "exact", o[pos], e, tuple((int(i),) for i in pos))


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
    any N; no pooling needed. Seeded."""
    p = validate_probabilities(probs)
    o = _validate_counts(observed, p.size)
    n = int(o.sum())
    pos = p > 0
    e = n * p[pos]
    rng = np.random.default_rng(seed)
    sims = rng.multinomial(n, p[pos], size=n_sim).astype(np.float64)

    def t(x):
        if statistic == "pearson":
            return np.sum((x - e) ** 2 / e, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2.0 * np.sum(np.where(x > 0, x * np.log(x / e), 0.0), axis=-1)

    obs_stat = float(t(o[pos]))
    tol = 1e-9 * max(1.0, obs_stat)
    pval = float((1 + np.sum(t(sims) >= obs_stat - tol)) / (n_sim + 1))
    impossible = int(o[~pos].sum())
    cats = tuple(int(i) for i in np.flatnonzero(~pos & (o > 0)))
    if impossible:
        pval = 0.0
    name = "Monte Carlo multinomial (" + ("Pearson" if statistic == "pearson" else "G") + ")"
    return GofResult(name, obs_stat, pval, int(pos.sum()) - 1, n, int(pos.sum()), impossible,
                     cats, "monte-carlo", o[pos], e, tuple((int(i),) for i in np.flatnonzero(pos)))


@dataclass(frozen=True)
class BinomialTailResult:
    r"""Exact binomial test of a rare category: ``k`` hits in ``n`` trials, null rate ``p``.

    ``z = (k - n p) / \sqrt{n p (1 - p)}``; ``pvalue`` exact (two-sided by default,
    scipy.stats.binomtest); ``expected = n p``."""

    statistic: float
    pvalue: float
    k: int
    n: int
    p: float
    expected: float
    z: float
    alternative: str
    test: str = "exact binomial"


def binomial_tail(
    k: int, n: int, p: float, alternative: Literal["two-sided", "less", "greater"] = "two-sided"
) -> BinomialTailResult:
    """Exact binomial test for the count of a rare category (spec S, 'Tail mass')."""
    if not 0 <= p <= 1 or math.isnan(p):
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    expected = n * p
    sd = math.sqrt(n * p * (1 - p))
    z = (k - expected) / sd if sd > 0 else (0.0 if k == expected else math.copysign(math.inf, k - expected))
    if p == 0:
        pval = 1.0 if k == 0 else 0.0
    elif p == 1:
        pval = 1.0 if k == n else 0.0
    else:
        pval = float(stats.binomtest(int(k), int(n), p, alternative=alternative).pvalue)
    return BinomialTailResult(float(k), pval, int(k), int(n), float(p), expected, z, alternative)
