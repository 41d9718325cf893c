"""Issue 9, error 3: every discrete p-value is valid at the levels where it is judged.

A confirmed check is decided with each stage between sqrt(alpha/m) (the most stringent level)
and sqrt(alpha) (the largest Holm level); the Monte Carlo p-values are sized for levels down to
sqrt(alpha/200) (so that a check's p-value does not depend on m), and the sizes are checked on a
grid from there to sqrt(alpha). For every Pearson configuration the checker and the
report use (recorded while they run), the size at both levels is computed exactly (two bins:
exact binomial sums) or measured over null simulations (>= 1e6 in the slow tests) and must lie
at or below the level within 3 Monte Carlo standard errors.
"""
from __future__ import annotations

import numpy as np
import pytest

from harness.core.budgets import get_budget
from harness.checker.api import check_sampler
from harness.stats.discrete import chisquare_gof, pearson_gof
from harness.stats.sizes import config_size, config_sizes, pooled_config, record_discrete_configs


def _configs(kind_targets, budget):
    out = {}
    with record_discrete_configs() as seen:
        for target, kind in kind_targets:
            check_sampler(target, kind, budget=budget, seed=11, probes=False, adversarial=False,
                          isolation="none")  # the configurations are recorded in this process
    for c in seen:
        out.setdefault(c.key, c)
    return list(out.values())


def _assert_sizes(configs, n_null, max_bins=None):
    rows = []
    for c in configs:
        if max_bins is not None and c.bins > max_bins:
            continue
        # every decision level lies between the Monte Carlo resolution level (sqrt(alpha/200)/split)
        # and sqrt(alpha): a geometric grid of 6 levels covering both ends
        levels = np.geomspace(c.min_level, c.exact_above, 6)
        for r in config_sizes(c, levels, n_null=n_null, seed=c.n % 1000):
            rows.append((c.n, c.bins, r.level, r.size, r.se, r.asymptotic, r.exact))
            assert r.ok, (c.n, c.bins, r)
    return rows


def test_exact_binomial_size_gap8_at_the_decision_levels():
    """T1.law.gap8 at quick (K = 2, 16.8 expected hits): the Pearson asymptotic p-value was
    anti-conservative (1.22e-3 at 1.11e-3); the exact binomial p-value's size is <= the level."""
    b = get_budget("quick")
    p = np.array([1.0, np.exp(-8.0)])
    p /= p.sum()
    for m in (9, 118):
        lo, hi = (1e-4 / m) ** 0.5, 1e-4 ** 0.5
        cfg = pooled_config("T1.law.gap8", b.n_discrete // 4, p, hi, lo)
        for level in (lo, hi):
            r = config_size(cfg, level)
            assert r.exact and r.size <= level


def test_pearson_gof_two_bins_is_the_exact_binomial():
    o = np.array([49969, 31])
    p = np.array([1.0, np.exp(-8.0)])
    p /= p.sum()
    r = pearson_gof(o, p, exact_above=0.01, min_level=1e-3, seed=0)
    assert r.method == "exact" and 1.5e-3 < r.pvalue < 2.5e-3  # seed 162's false alarm: exact p = 2.0e-3
    assert chisquare_gof(o, p).pvalue < 1e-3  # the asymptotic one it replaces


def test_pearson_gof_monte_carlo_below_the_switch():
    p = np.full(6, 1 / 6)
    o = np.array([1100, 1000, 1000, 1000, 1000, 900])
    r = pearson_gof(o, p, exact_above=0.01, min_level=1e-2, seed=1)
    assert r.method == "monte-carlo" and r.pvalue <= 0.01
    assert r.pvalue == pearson_gof(o, p, exact_above=0.01, min_level=1e-2, seed=1).pvalue  # seeded
    ok = np.array([1010, 1000, 990, 1000, 1005, 995])
    assert pearson_gof(ok, p, exact_above=0.01, min_level=1e-2, seed=1).method == "asymptotic"


def test_sizes_categorical_checker_quick():
    """Fast version: every configuration of the categorical checker at quick, 1e5 nulls each."""
    from harness.targets.loading import resolve

    fn, kind, _, _ = resolve("numpy-choice", None)
    rows = _assert_sizes(_configs([(fn, kind)], "quick"), n_null=100_000)
    assert len(rows) >= 40


@pytest.mark.slow
@pytest.mark.parametrize("budget", ["quick", "standard"])
def test_sizes_every_checker_kind_1e6(budget):
    """Every Pearson configuration of the categorical, relaxed and torch checkers (numpy-choice,
    the reference relaxed sampler, torch.nn.functional.gumbel_softmax) at ``budget``: size at
    sqrt(alpha/m) and sqrt(alpha) measured over 1e6 null simulations (two bins: exact)."""
    from harness.targets.loading import resolve

    targets = [resolve(name, None)[:2] for name in ("numpy-choice", "torch-gumbel-softmax")]
    rows = _assert_sizes(_configs(targets, budget), n_null=1_000_000)
    for r in rows:
        print("n=%d bins=%d level=%.3g size=%.3g se=%.2g asymptotic=%s exact=%s" % r)


@pytest.mark.slow
def test_sizes_report_quick_1e6():
    """Every Pearson configuration of the validation report at quick (recorded in-process), 1e6
    null simulations each (the 712-bin T1.mc.k1000 configuration included: a few minutes)."""
    from harness.core.budgets import get_budget as gb
    from harness.report.runner import run_report

    with record_discrete_configs() as seen:
        run_report(gb("quick"), seed=5, workers=1, show_progress=False)
    configs = list({c.key: c for c in seen}.values())
    rows = _assert_sizes(configs, n_null=1_000_000)
    for r in rows:
        print("n=%d bins=%d level=%.3g size=%.3g se=%.2g asymptotic=%s exact=%s" % r)
