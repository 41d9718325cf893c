"""Statistical machinery: one function per test, each returning a small result object
(statistic, pvalue and extra fields), in the style of ``scipy.stats``.

* :mod:`harness.stats.discrete`: chi-square (all categories, pooling, impossible events), G,
  exact / Monte Carlo multinomial, exact binomial tail.
* :mod:`harness.stats.continuous`: KS and Anderson-Darling against an exact CDF, DKWM,
  per-class (k-sample) goodness of fit, contingency test of independence, z-test.
* :mod:`harness.stats.power`: noncentral chi-square power, minimum detectable effects,
  sample sizes, DKWM distance, exact binomial power.
* :mod:`harness.stats.family`: Holm-Bonferroni.
* :mod:`harness.stats.confirm`: confirmed (two-stage) p-values; :mod:`harness.stats.bounds`:
  distance bounds a PASS certifies; :mod:`harness.stats.sizes`: sizes at the decision levels.
* :mod:`harness.stats.twosample`: two-sample tests of ``compare`` (homogeneity chi-square,
  max-cell, KS, AD, Welch), their power statements and distance bounds.
* :mod:`harness.stats.calibration`: Clopper-Pearson intervals, false-alarm rate and power
  measured over seeds, p-value uniformity.
"""
from harness.stats.calibration import (
    CalibrationResult,
    acceptance_region,
    calibrate,
    clopper_pearson,
    measure_power,
    pvalue_uniformity,
    rate_consistent,
)
from harness.stats.continuous import (
    AndersonDarlingResult,
    ConditionalGofResult,
    IndependenceResult,
    KSResult,
    ZResult,
    ad_pvalue,
    anderson_darling,
    conditional_gof,
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
    exact_multinomial_size,
    g_test,
    monte_carlo_multinomial,
    monte_carlo_multinomial_size,
    pearson_gof,
    pool_categories,
    validate_probabilities,
)
from harness.stats.bounds import sup_distance_bound, tv_upper_bound
from harness.stats.confirm import combine, confirmation_threshold
from harness.stats.family import HolmResult, bonferroni_min, holm
from harness.stats.power import (
    binomial_detectable_ratio,
    binomial_power,
    binomial_rejection_region,
    chisquare_power,
    cohen_w,
    dkwm_epsilon,
    ks_detectable_distance,
    min_detectable_w,
    n_for_w,
    noncentrality,
    tail_absence_rate,
    max_split_variance,
    tv_for_w,
    worst_case_alternative,
    z_detectable,
)

__all__ = [
    "AndersonDarlingResult", "KSResult", "anderson_darling", "independence_chi2", "ks_test",
    "z_test", "BinomialTailResult", "GofResult", "binomial_tail", "chisquare_gof",
    "exact_multinomial", "g_test", "monte_carlo_multinomial", "pool_categories",
    "validate_probabilities", "HolmResult", "holm", "chisquare_power", "dkwm_epsilon",
    "ks_detectable_distance", "min_detectable_w", "n_for_w", "tv_for_w", "z_detectable",
    # added with issue 3
    "ConditionalGofResult", "IndependenceResult", "ZResult", "ad_pvalue", "conditional_gof",
    "exact_multinomial_size", "bonferroni_min", "binomial_detectable_ratio", "binomial_power",
    "cohen_w", "noncentrality", "tail_absence_rate", "CalibrationResult", "acceptance_region",
    "calibrate", "clopper_pearson", "measure_power", "pvalue_uniformity", "rate_consistent",
    "monte_carlo_multinomial_size", "binomial_rejection_region",
    # added with issue 9
    "pearson_gof", "tv_upper_bound", "sup_distance_bound", "combine", "confirmation_threshold",
    "worst_case_alternative", "max_split_variance",
]
