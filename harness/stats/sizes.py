r"""Sizes of the discrete tests at the levels where decisions are made (issue 9, error 3).

A confirmed check (:mod:`harness.stats.confirm`) is decided at Holm levels between
:math:`L = \alpha/m` and :math:`\alpha`, i.e. each stage at levels between :math:`\sqrt{\alpha/m}`
(the most stringent) and :math:`\sqrt{\alpha}` (the largest). :func:`record_discrete_configs`
records every Pearson configuration a run uses (N, pooled bin probabilities, the two levels);
:func:`config_size` then gives its size at a level:

* two bins (exact binomial p-value): computed **exactly** by summing the binomial null
  probabilities of the rejection region;
* more bins (asymptotic p-value above :math:`\sqrt\alpha`, Monte Carlo p-value with :math:`B`
  replicates below): **measured** by ``n_null`` null simulations of the pooled counts
  (``numpy.random.Generator.multinomial``): size :math:`= E[1\{p_a \le \sqrt\alpha\}\,
  P(\mathrm{Bin}(B, \pi(T)) \le k_u)]` with :math:`\pi(T)` the null survival of the statistic
  (estimated from the same simulations) and :math:`k_u = \lfloor u(B+1)\rfloor - 1`; the
  asymptotic-only size :math:`P(p_a \le u)` is reported beside it for contrast.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy import stats

from harness.stats.discrete import mc_replicates, pool_categories, validate_probabilities
from harness.stats.power import binomial_power

__all__ = ["DiscreteConfig", "SizeResult", "record_discrete_configs", "config_size", "config_sizes", "pooled_config"]


@dataclass(frozen=True)
class DiscreteConfig:
    """One Pearson configuration: ``n`` draws, ``bin_probs`` after pooling, the Monte Carlo
    switch ``exact_above`` (= sqrt(alpha)) and the smallest stage level ``min_level``."""

    check: str
    n: int
    bin_probs: tuple[float, ...]
    exact_above: float
    min_level: float

    @property
    def bins(self) -> int:
        return len(self.bin_probs)

    @property
    def key(self) -> tuple:
        return (self.n, tuple(round(v, 15) for v in self.bin_probs), self.exact_above, self.min_level)


@dataclass(frozen=True)
class SizeResult:
    """Size ``size`` at ``level`` (``exact`` True: computed exactly; else measured over
    ``n_null`` simulations with standard error ``se``); ``asymptotic``: the size the chi-square
    p-value alone would have (measured configurations only)."""

    level: float
    size: float
    exact: bool
    n_null: int = 0
    se: float = 0.0
    asymptotic: float | None = None

    @property
    def ok(self) -> bool:
        """At or below the level within 3 Monte Carlo standard errors (exact: at or below)."""
        return self.size <= self.level * (1 + 1e-12) + 3.0 * self.se


def pooled_config(check: str, n: int, probs, exact_above: float, min_level: float) -> DiscreteConfig:
    """The configuration :func:`harness.stats.discrete.pearson_gof` uses for ``n`` draws from
    ``probs`` (pooled to expected counts >= 5)."""
    p = validate_probabilities(probs)
    groups = pool_categories(n * p)
    bp = tuple(float(sum(p[i] for i in g)) for g in groups)
    return DiscreteConfig(check, int(n), bp, float(exact_above), float(min_level))


@contextlib.contextmanager
def record_discrete_configs() -> Iterator[list[DiscreteConfig]]:
    """Record the Pearson configuration of every :func:`harness.checks.builders.discrete_verdict` run
    inside the block (patches ``harness.checks.builders.pearson_gof``; this process only)."""
    import harness.checks.builders as checks

    seen: list[DiscreteConfig] = []
    orig = checks.pearson_gof

    def spy(observed, probs, *, exact_above, min_level, seed, min_expected=5.0):
        o = np.asarray(observed)
        seen.append(pooled_config("?", int(o.sum()), probs, exact_above, min_level))
        return orig(observed, probs, exact_above=exact_above, min_level=min_level, seed=seed,
                    min_expected=min_expected)

    checks.pearson_gof = spy
    try:
        yield seen
    finally:
        checks.pearson_gof = orig


def _binomial_size(n: int, p0: float, level: float) -> float:
    """Exact size of the level-``level`` binomial test: its power at the null rate itself."""
    return binomial_power(n, p0, p0, level)


def config_size(cfg: DiscreteConfig, level: float, n_null: int = 1_000_000, seed: int = 0,
                chunk: int = 20_000) -> SizeResult:
    """Size of the configuration's test at ``level`` (module doc)."""
    return config_sizes(cfg, (level,), n_null, seed, chunk)[0]


def config_sizes(cfg: DiscreteConfig, levels, n_null: int = 1_000_000, seed: int = 0,
                 chunk: int = 20_000) -> list[SizeResult]:
    """:func:`config_size` at several levels from one set of null simulations."""
    levels = [float(u) for u in levels]
    if cfg.bins < 2:
        return [SizeResult(u, 0.0, True) for u in levels]
    if cfg.bins == 2:
        return [SizeResult(u, _binomial_size(cfg.n, cfg.bin_probs[0], u), True) for u in levels]
    pb = np.asarray(cfg.bin_probs)
    e = cfg.n * pb
    df = cfg.bins - 1
    rng = np.random.default_rng(seed)
    ts = np.empty(n_null)
    for s in range(0, n_null, chunk):
        k = min(chunk, n_null - s)
        c = rng.multinomial(cfg.n, pb, size=k).astype(np.float64)
        ts[s:s + k] = np.sum((c - e) ** 2 / e, axis=1)
    pa = stats.chi2.sf(ts, df)
    b = mc_replicates(cfg.min_level)
    sel = pa <= cfg.exact_above
    srt = np.sort(ts)
    # pi(T) = P0(T' >= T), estimated by the share of simulated statistics at least T
    pi = (n_null - np.searchsorted(srt, ts[sel], side="left")) / n_null
    out = []
    for u in levels:
        asym = float(np.mean(pa <= u))
        ku = math.floor(u * (b + 1) + 1e-9) - 1
        if ku < 0 or not sel.any():
            out.append(SizeResult(u, 0.0, False, n_null, 0.0, asym))
            continue
        size = float(stats.binom.cdf(ku, b, pi).sum() / n_null)
        se = float(math.sqrt(max(size, 1.0 / n_null) / n_null))
        out.append(SizeResult(u, size, False, n_null, se, asym))
    return out
