r"""Sizes of the discrete tests at the levels where decisions are made (issue 9, error 3).

A confirmed check (:mod:`harness.stats.confirm`) is decided at Holm levels between
:math:`L = \alpha/m` and :math:`\alpha`, i.e. each stage at levels between :math:`\sqrt{\alpha/m}`
(the most stringent) and :math:`\sqrt{\alpha}` (the largest). ``tests/discrete_configs.py: record_discrete_configs``
records every Pearson configuration a run uses (N, pooled bin probabilities, the two levels);
:func:`config_size` then gives its size at a level:

* two bins (exact binomial p-value): computed **exactly** by summing the binomial null
  probabilities of the rejection region;
* more bins (asymptotic p-value above :math:`\sqrt\alpha`, Monte Carlo p-value with :math:`B`
  replicates below): **measured** over ``n_null`` independent null tables (multinomial counts of
  the pooled bins): size :math:`= E[1\{p_a \le \sqrt\alpha\}\, P(\mathrm{Bin}(B, \pi(T)) \le k_u)]`,
  :math:`k_u = \lfloor u(B+1)\rfloor - 1`, with the null survival :math:`\pi(T)` estimated from a
  **second, independent** null sample of ``n_ref`` tables (issue 18: estimating it from the same
  sample returned :math:`(k_u + 1)/(B + 1)` whatever the configuration). The standard error is
  that of the mean of the per-table rejection probabilities (and the reference's own error is
  reported, ``se_ref``); :func:`detectable_excess` gives the relative excess of the size over the
  level that the measurement detects (one-sided at 0.001 with power 0.9). The asymptotic-only size
  :math:`P(p_a \le u)` is reported beside it for contrast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


import numpy as np
from scipy import stats

from harness.stats.discrete import mc_replicates, pool_categories, validate_probabilities
from harness.stats.power import binomial_power

__all__ = ["DiscreteConfig", "SizeResult", "config_size", "config_sizes", "pooled_config",
           "detectable_excess", "sims_for_excess"]


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
    ``n_null`` independent null simulations with standard error ``se``, and ``se_ref`` the
    standard error due to the independent reference sample of the null survival);
    ``asymptotic``: the size the chi-square p-value alone would have."""

    level: float
    size: float
    exact: bool
    n_null: int = 0
    se: float = 0.0
    asymptotic: float | None = None
    se_ref: float = 0.0

    @property
    def excess(self) -> float:
        """The relative excess over the level this measurement detects (:func:`detectable_excess`)."""
        return 0.0 if self.exact else detectable_excess(self.level, self.n_null)

    @property
    def ok(self) -> bool:
        """Exact: at or below the level. Measured: not significantly above it (one-sided z-test at
        0.001 on the total standard error)."""
        if self.exact:
            return self.size <= self.level * (1 + 1e-12)
        return self.size <= self.level + 3.09 * math.hypot(self.se, self.se_ref)


def detectable_excess(level: float, n_sims: int, z_alpha: float = 3.09, z_power: float = 1.2816) -> float:
    r"""The relative excess :math:`e` of a size :math:`(1 + e)u` over the level :math:`u` that
    ``n_sims`` independent null simulations detect (one-sided at 0.001, power 0.9, normal
    approximation of the binomial count): the smallest :math:`e` with
    :math:`e\,u\sqrt{n} \ge z_lpha\sqrt{u} + z_eta\sqrt{(1+e)u}`."""
    if n_sims < 1:
        return math.inf
    a = math.sqrt(level * n_sims)
    e = 0.0
    for _ in range(50):
        e = (z_alpha + z_power * math.sqrt(1 + e)) / a
    return float(e)


def sims_for_excess(level: float, excess: float = 0.2) -> int:
    """Null simulations needed so that :func:`detectable_excess` is at most ``excess``."""
    z = 3.09 + 1.2816 * math.sqrt(1 + excess)
    return int(math.ceil((z / excess) ** 2 / level))


def pooled_config(check: str, n: int, probs, exact_above: float, min_level: float) -> DiscreteConfig:
    """The configuration :func:`harness.stats.discrete.pearson_gof` uses for ``n`` draws from
    ``probs`` (pooled to expected counts >= 5)."""
    p = validate_probabilities(probs)
    groups = pool_categories(n * p)
    bp = tuple(float(sum(p[i] for i in g)) for g in groups)
    return DiscreteConfig(check, int(n), bp, float(exact_above), float(min_level))




def _binomial_size(n: int, p0: float, level: float) -> float:
    """Exact size of the level-``level`` binomial test: its power at the null rate itself."""
    return binomial_power(n, p0, p0, level)


def config_size(cfg: DiscreteConfig, level: float, n_null: int = 1_000_000, seed: int = 0,
                chunk: int = 20_000, n_ref: int | None = None) -> SizeResult:
    """Size of the configuration's test at ``level`` (module doc)."""
    return config_sizes(cfg, (level,), n_null, seed, chunk, n_ref)[0]


def _null_stats(cfg: DiscreteConfig, n: int, seed: int, chunk: int) -> np.ndarray:
    pb = np.asarray(cfg.bin_probs)
    e = cfg.n * pb
    rng = np.random.default_rng(seed)
    ts = np.empty(n)
    for s in range(0, n, chunk):
        k = min(chunk, n - s)
        c = rng.multinomial(cfg.n, pb, size=k).astype(np.float64)
        ts[s:s + k] = np.sum((c - e) ** 2 / e, axis=1)
    return ts


def config_sizes(cfg: DiscreteConfig, levels, n_null: int = 1_000_000, seed: int = 0,
                 chunk: int = 20_000, n_ref: int | None = None) -> list[SizeResult]:
    """:func:`config_size` at several levels from one set of null simulations (and one
    independent reference sample of ``n_ref`` tables, default ``n_null``, for the null survival)."""
    levels = [float(u) for u in levels]
    if cfg.bins < 2:
        return [SizeResult(u, 0.0, True) for u in levels]
    if cfg.bins == 2:
        return [SizeResult(u, _binomial_size(cfg.n, cfg.bin_probs[0], u), True) for u in levels]
    df = cfg.bins - 1
    ts = _null_stats(cfg, n_null, seed, chunk)
    m_ref = int(n_ref or n_null)
    ref = np.sort(_null_stats(cfg, m_ref, seed + 10_007, chunk))  # independent of ts
    pa = stats.chi2.sf(ts, df)
    b = mc_replicates(cfg.min_level)
    sel = pa <= cfg.exact_above
    # pi(T) = P0(T' >= T), from the independent reference sample
    pi = (m_ref - np.searchsorted(ref, ts[sel], side="left")) / m_ref
    out = []
    for u in levels:
        asym = float(np.mean(pa <= u))
        ku = math.floor(u * (b + 1) + 1e-9) - 1
        if ku < 0 or not sel.any():
            out.append(SizeResult(u, 0.0, False, n_null, 0.0, asym))
            continue
        r = stats.binom.cdf(ku, b, pi)  # P(reject | T) for each null table that passes the gate
        size = float(r.sum() / n_null)
        se = float(math.sqrt(max(float(np.sum(r * r)) / n_null - size * size, 0.0) / n_null))
        # the reference's error: pi near u has relative sd sqrt((1 - u)/(u m_ref)); the size moves
        # about as much (it is close to P(pi(T) <= u))
        se_ref = float(size * math.sqrt(1.0 / max(u * m_ref, 1.0)))
        out.append(SizeResult(u, size, False, n_null, se, asym, se_ref))
    return out
