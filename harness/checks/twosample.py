"""Two-sample verdict builders (``compare``): the observables of one plan entry drawn from two
targets, A and B, judged by the two-sample tests of :mod:`harness.stats.twosample`, as
:class:`~harness.core.verdict.Verdict` s with the house's conventions
(:mod:`harness.checks.builders`): the power statement is "power 0.9 at the Bonferroni level
``L = alpha / family_size``" of the **confirmed** decision (both stages at ``sqrt(L)``), the
least-favourable (worst-case) alternative; the bound a PASS certifies is at confidence
``1 - alpha / family_size``, so the bounds of one compare run hold simultaneously at
``1 - alpha``.

=================  ==========================================  =====================================
observable         test                                        power / PASS bound
=================  ==========================================  =====================================
counts ``[K]``     chi-square of homogeneity (balanced, cells  ``homogeneity_power`` (Cohen's w and
                   pooled by ``a + b``; exact 2-bin /          TV, proportional tilt) and
                   conditional Monte Carlo p below 0.01) and   ``max_cell_power`` (one category),
                   for K > 2 the max-cell test, one p-value    each at half the stage level / TV(A,
                   ``2 min(p_chi2, p_cell)``                   B) upper bound (Clopper-Pearson,
                                                               Hoeffding over subsets)
samples            two-sample Kolmogorov-Smirnov (balanced,    ``ks2_power`` (sup distance) /
                   exact null of D(n, n)); Anderson-Darling    sup |F_A - F_B| <= D + DKW epsilons
                   reported in ``details`` (no power figure,
                   not in the family)
=================  ==========================================  =====================================

``details["figure"]``: the data of the figure "both empirical laws with the difference and its
simultaneous band": for counts the categories with a pooled count (``categories``), ``p_a``,
``p_b``, ``diff`` and ``half_width`` (:func:`~harness.stats.twosample.difference_band`,
Bonferroni-simultaneous at the bound level); for samples both empirical CDFs on a grid of pooled
quantiles, their difference and the half-width of the simultaneous DKW band.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

from harness.checks.builders import _bound, _det, bound_level, level_for, mc_level
from harness.core.verdict import Verdict
from harness.stats.confirm import confirmation_threshold
from harness.stats.twosample import (ad_2sample, homogeneity_chi2, max_cell_test, ks_2sample)
from harness.stats.twosample_power import (difference_band, homogeneity_power, ks2_power, max_cell_power, sup_distance_bound_two_sample, tv_bound_two_sample)

__all__ = ["homogeneity_verdict", "ks2_verdict", "FIGURE_POINTS"]

#: grid points of the ECDF figure data of a continuous observable
FIGURE_POINTS = 200


def homogeneity_verdict(claim: str, check: str, claim_text: str, a: ArrayLike, b: ArrayLike, *,
                        seed: int, alpha: float, family_size: int, reproduce: str = "",
                        details: Mapping[str, Any] | None = None) -> Verdict:
    """Count tables ``a`` (target A) and ``b`` (target B) of one law? For ``K > 2`` categories two
    tests, Bonferroni-combined into one p-value ``min(1, 2 min(p_chi2, p_cell))``: the
    chi-square of homogeneity (differences spread over the table) and the max-cell test (a
    difference on one category, e.g. a token one implementation never draws, where chi-square
    spreads its power over all bins); each sub-test's power statement is at half the stage level
    (a stage rejects when either does). ``K = 2``: the exact two-bin test alone."""
    a = np.asarray(a, dtype=np.int64).ravel()
    b = np.asarray(b, dtype=np.int64).ravel()
    split = 1 if a.size <= 2 else 2
    r = homogeneity_chi2(a, b, seed=seed, min_level=mc_level(alpha, split))
    level = level_for(alpha, family_size)
    sub_level = level / split ** 2  # the sub-tests' stage level sqrt(level) / split
    a_b = bound_level(alpha, family_size)
    pvalue, test = float(r.pvalue), r.test
    d: dict[str, Any] = {"observable": "counts", "method": r.method, "df": r.df, "bins": r.bins,
                         "replicates": r.replicates, "pooled_mass": r.pooled_mass, "dropped": r.dropped,
                         "n_a": int(a.sum()), "n_b": int(b.sum()), "categories": int(a.size),
                         "chi2_pvalue": float(r.pvalue)}
    notes = []
    if r.can_fail:
        pw = homogeneity_power(a + b, r.n_a, r.n_b, sub_level)
        det = _det("cohen_w", pw.value, alpha, family_size, tv=pw.tv,
                   note=f"worst case (proportional tilt of the pooled law), {pw.note}")
    else:
        det = _det("cohen_w", math.inf, alpha, family_size, tv=math.inf,
                   note="every draw fell in one bin: the chi-square cannot fail here")
    if split == 2:
        mc = max_cell_test(a, b, max_level=confirmation_threshold(alpha) / 2, seed=seed)
        pvalue = float(min(1.0, 2.0 * min(r.pvalue, mc.pvalue)))
        test = f"{r.test} + max-cell (Bonferroni of the two)"
        d["max_cell"] = {"pvalue": mc.pvalue, "cell": mc.cell, "m": mc.m, "statistic": mc.statistic}
        t = a + b
        pmax = float(t[mc.tested].max() / t.sum()) if mc.m else 0.0
        if 0 < pmax < 1:
            cp = max_cell_power(pmax, mc.n_a, mc.n_b, sub_level, mc.m)
            d["max_cell"]["power"] = {"abs_cell_difference": cp.value, "pooled_probability": pmax}
            notes.append(f"max-cell: any one category with |p_A - p_B| >= {cp.value:.3g} (worst case: the most "
                         f"probable of the {mc.m} testable cells, pooled probability {pmax:.3g})")
            det = replace(det, note=det.note + "; " + notes[-1])
    tv, tv_note = tv_bound_two_sample(a, b, a_b)
    bound = _bound("TV(law A, law B)", tv, alpha, tv_note)
    d["figure"] = _count_figure(a, b, a_b)
    d.update(details or {})
    ea, eb = a / max(1, a.sum()), b / max(1, b.sum())
    emp_tv = float(0.5 * np.abs(ea - eb).sum())
    expected = "the same law for A and B: given the pooled counts, every labelling of the draws equally likely"
    seen = (f"X^2 = {r.statistic:.4g} on {r.df} df over {r.bins} bins (balanced n = {r.n_a} per target; "
            f"empirical TV {emp_tv:.3g})")
    if "max_cell" in d and d["max_cell"]["cell"] >= 0:
        c = d["max_cell"]["cell"]
        seen += f"; largest single difference: category {c}, A {int(a[c])} vs B {int(b[c])} draws"
    reason = f"{r.test}; {r.bins} bins pooled by the pooled counts (pooled mass {r.pooled_mass:.3g})"
    return Verdict(claim=claim, check=check, claim_text=claim_text, test=test, statistic=float(r.statistic),
                   pvalue=pvalue, n=int(r.n_a), alpha=alpha, detectable=det, reason=reason, seed=seed,
                   reproduce=reproduce, details=d, expected=expected, seen=seen, bound=bound)


def _count_figure(a: np.ndarray, b: np.ndarray, level: float) -> dict[str, Any]:
    if a.sum() == 0 or b.sum() == 0:
        return {}
    band = difference_band(a, b, level)
    nz = np.flatnonzero((a + b) > 0)
    return {"categories": nz, "p_a": band.p_a[nz], "p_b": band.p_b[nz], "diff": band.diff[nz],
            "half_width": band.half_width[nz], "critical": band.critical, "level": band.level,
            "outside": band.outside}


def ks2_verdict(claim: str, check: str, claim_text: str, x: ArrayLike, y: ArrayLike, *, seed: int,
                alpha: float, family_size: int, reproduce: str = "",
                details: Mapping[str, Any] | None = None) -> Verdict:
    """Two-sample KS of the samples ``x`` (target A) and ``y`` (target B); AD in ``details``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    bad = [f"{name}: {int((~np.isfinite(v)).sum())} non-finite values" for name, v in (("A", x), ("B", y))
           if not np.all(np.isfinite(v))]
    if bad:
        return Verdict(claim=claim, check=check, claim_text=claim_text, test="two-sample Kolmogorov-Smirnov",
                       statistic=None, pvalue=0.0, n=int(min(x.size, y.size)), alpha=alpha, forced_fail=True,
                       reason="; ".join(bad) + ": the statistic is not defined", seed=seed, reproduce=reproduce)
    r = ks_2sample(x, y, seed=seed)
    level = level_for(alpha, family_size)
    a_b = bound_level(alpha, family_size)
    pw = ks2_power(r.n_a, r.n_b, level)
    det = _det("ks_sup_distance", pw.value, alpha, family_size,
               note=f"any pair of continuous laws (least favourable: a tent at the median), {pw.note}")
    bound = _bound("sup |F_A - F_B|", sup_distance_bound_two_sample(r.statistic, r.n_a, r.n_b, a_b), alpha,
                   "D + the DKW-Massart epsilon of each sample")
    ad = ad_2sample(x, y)
    eps = sup_distance_bound_two_sample(0.0, x.size, y.size, a_b)
    q = np.quantile(np.concatenate([x, y]), np.linspace(0.0, 1.0, FIGURE_POINTS))
    fa = np.searchsorted(np.sort(x), q, side="right") / x.size
    fb = np.searchsorted(np.sort(y), q, side="right") / y.size
    d: dict[str, Any] = {"observable": "samples", "location": r.location, "dropped": r.dropped,
                         "n_a": int(x.size), "n_b": int(y.size),
                         "anderson_darling": {"statistic": ad.statistic, "pvalue": ad.pvalue,
                                              "note": "limit-law p-value; not in the Holm family (no power "
                                                      "figure exists for AD)"},
                         "figure": {"x": q, "F_a": fa, "F_b": fb, "diff": fa - fb, "half_width": eps}}
    d.update(details or {})
    expected = "the same continuous law for A and B (exact null of D(n, n))"
    seen = f"D = {r.statistic:.4g} at x = {r.location:.5g} (balanced n = {r.n_a} per target)"
    return Verdict(claim=claim, check=check, claim_text=claim_text, test="two-sample Kolmogorov-Smirnov (exact)",
                   statistic=float(r.statistic), pvalue=float(r.pvalue), n=int(r.n_a), alpha=alpha, detectable=det,
                   reason=f"sup |F_A,n - F_B,n| = {r.statistic:.4g}", seed=seed, reproduce=reproduce, details=d,
                   expected=expected, seen=seen, bound=bound)
