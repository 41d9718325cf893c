"""Statistical machinery: one function per test, each returning a small result object
(statistic, pvalue and extra fields), in the style of ``scipy.stats``.

* :mod:`harness.stats.discrete`: chi-square (all categories, pooling, impossible events), G,
  exact / Monte Carlo multinomial, exact binomial tail.
* :mod:`harness.stats.continuous`: KS and Anderson-Darling against an exact CDF, DKWM,
  contingency test of independence.
* :mod:`harness.stats.power`: noncentral chi-square power, minimum detectable effects,
  sample sizes, DKWM distance.
* :mod:`harness.stats.family`: Holm-Bonferroni.
"""
from harness.stats.continuous import (
    AndersonDarlingResult,
    KSResult,
    anderson_darling,
    independence_chi2,
    ks_test,
    z_test,
)
from harness.stats.discrete import (
    BinomialTailResult,
    GofResult,
    binomial_tail,
    chisquare_gof,
    exact_multinomial,
    g_test,
    monte_carlo_multinomial,
    pool_categories,
    validate_probabilities,
)
from harness.stats.family import HolmResult, holm
from harness.stats.power import (
    chisquare_power,
    dkwm_epsilon,
    ks_detectable_distance,
    min_detectable_w,
    n_for_w,
    tv_for_w,
    z_detectable,
)

__all__ = [
    "AndersonDarlingResult", "KSResult", "anderson_darling", "independence_chi2", "ks_test",
    "z_test", "BinomialTailResult", "GofResult", "binomial_tail", "chisquare_gof",
    "exact_multinomial", "g_test", "monte_carlo_multinomial", "pool_categories",
    "validate_probabilities", "HolmResult", "holm", "chisquare_power", "dkwm_epsilon",
    "ks_detectable_distance", "min_detectable_w", "n_for_w", "tv_for_w", "z_detectable",
]
