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
                   pooled by ``a + b``; exact 2-bin /          TV, proportional tilt) / TV(A, B)
                   conditional Monte Carlo p below 0.01)       upper bound (Clopper-Pearson,
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
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

from harness.checks.builders import _bound, _det, bound_level, level_for, mc_level
from harness.core.verdict import Verdict
from harness.stats.twosample import (
    ad_2sample,
    difference_band,
    homogeneity_chi2,
    homogeneity_power,
    ks2_power,
    ks_2sample,
    sup_distance_bound_two_sample,
    tv_bound_two_sample,
)

__all__ = ["homogeneity_verdict", "ks2_verdict", "FIGURE_POINTS"]

#: grid points of the ECDF figure data of a continuous observable
FIGURE_POINTS = 200


def homogeneity_verdict(claim: str, check: str, claim_text: str, a: ArrayLike, b: ArrayLike, *,
                        seed: int, alpha: float, family_size: int, reproduce: str = "",
                        details: Mapping[str, Any] | None = None) -> Verdict:
    """Chi-square of homogeneity of the count tables ``a`` (target A) and ``b`` (target B)."""
    a = np.asarray(a, dtype=np.int64).ravel()
    b = np.asarray(b, dtype=np.int64).ravel()
    r = homogeneity_chi2(a, b, seed=seed, min_level=mc_level(alpha))
    level = level_for(alpha, family_size)
    a_b = bound_level(alpha, family_size)
    if r.can_fail:
        pw = homogeneity_power(a + b, r.n_a, r.n_b, level)
        det = _det("cohen_w", pw.value, alpha, family_size, tv=pw.tv,
                   note=f"worst case (proportional tilt of the pooled law), {pw.note}")
    else:
        det = _det("cohen_w", math.inf, alpha, family_size, tv=math.inf,
                   note="every draw fell in one bin: no two-sample test can fail here")
    tv, tv_note = tv_bound_two_sample(a, b, a_b)
    bound = _bound("TV(law A, law B)", tv, alpha, tv_note)
    d: dict[str, Any] = {"observable": "counts", "method": r.method, "df": r.df, "bins": r.bins,
                         "replicates": r.replicates, "pooled_mass": r.pooled_mass, "dropped": r.dropped,
                         "n_a": int(a.sum()), "n_b": int(b.sum()), "categories": int(a.size),
                         "figure": _count_figure(a, b, a_b)}
    d.update(details or {})
    ea, eb = a / max(1, a.sum()), b / max(1, b.sum())
    emp_tv = float(0.5 * np.abs(ea - eb).sum())
    expected = "the same law for A and B: given the pooled counts, every labelling of the draws equally likely"
    seen = (f"X^2 = {r.statistic:.4g} on {r.df} df over {r.bins} bins (balanced n = {r.n_a} per target; "
            f"empirical TV {emp_tv:.3g})")
    reason = f"{r.test}; {r.bins} bins pooled by the pooled counts (pooled mass {r.pooled_mass:.3g})"
    return Verdict(claim=claim, check=check, claim_text=claim_text, test=r.test, statistic=float(r.statistic),
                   pvalue=float(r.pvalue), n=int(r.n_a), alpha=alpha, detectable=det, reason=reason, seed=seed,
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
