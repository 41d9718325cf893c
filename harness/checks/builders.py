"""Verdict builders: turn a statistical test on samples into a :class:`~harness.core.verdict.Verdict`
that states its statistic, null, level and power. Shared by the experiments (our references)
and the checker (third-party samplers): one mechanism for both.

Every builder takes ``family_size`` (the number of statistical checks in the run): the power
statement is "power 0.9 at the Bonferroni level ``L = alpha / family_size``" (the most
stringent level Holm can apply, so the stated detectable effect is conservative) **for the
confirmed two-stage p-value** of :mod:`harness.stats.confirm`: each stage at ``sqrt(L)`` with
power ``sqrt(0.9)``. The decision itself is made later, for the whole family, by
:func:`harness.core.verdict.judge_family`. Every builder also attaches the distance bound a PASS
certifies (:class:`~harness.core.verdict.Bound`, :mod:`harness.stats.bounds`), at confidence
``1 - alpha/family_size`` each, so that the bounds of a run hold simultaneously at ``1 - alpha``.
:func:`confirm_verdicts` runs the second stage.
"""
from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from harness.core.budgets import DEFAULT_ALPHA, DEFAULT_FAMILY_SIZE
from harness.core.context import RunContext
from harness.stats.continuous import (
    anderson_darling,
    conditional_gof,
    independence_chi2,
    ks_test,
    z_test,
)
from harness.core.seeds import derive_seed
from harness.stats.bounds import cp_interval, mean_bound, sup_distance_bound, tv_upper_bound
from harness.stats.confirm import (
    CONFIRMATION_KEY,
    STAGE_POWER,
    combine,
    confirmation_threshold,
    stage_level,
)
from harness.stats.discrete import (
    EXACT_MAX_OUTCOMES,
    binomial_tail,
    exact_multinomial,
    g_test,
    max_cell_test,
    monte_carlo_multinomial,
    pearson_gof,
    pool_categories,
    mc_replicates,
    validate_probabilities,
)
from harness.stats.power import (
    binomial_detectable_ratio,
    binomial_detectable_w,
    mc_effective_level,
    ks_detectable_distance,
    min_detectable_w,
    pearson_detectable_w,
    tv_for_w,
    z_detectable,
)
from harness.core.verdict import Bound, Detectable, Verdict
from harness.checks.digests import counts_digest, sequence_digest

__all__ = [
    "discrete_verdict",
    "pearson_stated_w",
    "ks_verdict",
    "ad_verdict",
    "tail_verdict",
    "z_verdict",
    "deterministic_verdict",
    "error_verdict",
    "conditional_verdict",
    "independence_verdict",
    "level_for",
    "stage_for",
    "bound_level",
]


def level_for(alpha: float = DEFAULT_ALPHA, family_size: int = DEFAULT_FAMILY_SIZE) -> float:
    """Per-check Bonferroni level ``alpha / family_size`` of the power statements."""
    return alpha / max(1, family_size)


def stage_for(alpha: float = DEFAULT_ALPHA, family_size: int = DEFAULT_FAMILY_SIZE) -> tuple[float, float]:
    """``(stage level, stage power)`` = ``(sqrt(alpha/family_size), sqrt(0.9))``: a stage
    detecting an effect with this power at this level makes the confirmed check detect it with
    power 0.9 at ``alpha/family_size`` (:mod:`harness.stats.confirm`)."""
    return stage_level(level_for(alpha, family_size)), STAGE_POWER


#: the family size the Monte Carlo resolution is sized for: B + 1 = 50 / sqrt(alpha / 200), so that
#: the p-value of a check does not depend on how many other checks run with it (``--only``
#: reproduces it exactly); larger families only lose a little power, never validity
MC_FAMILY_MAX = 200


def mc_level(alpha: float = DEFAULT_ALPHA, split: int = 1) -> float:
    """The smallest stage level the Monte Carlo p-values resolve: ``sqrt(alpha/200) / split``."""
    return math.sqrt(alpha / MC_FAMILY_MAX) / max(1, split)


def bound_level(alpha: float = DEFAULT_ALPHA, family_size: int = DEFAULT_FAMILY_SIZE) -> float:
    """Level ``a`` of each distance bound (confidence ``1 - a``): ``alpha / family_size``, so the
    bounds of one run hold simultaneously with probability ``>= 1 - alpha``."""
    return alpha / max(1, family_size)


def _bound(measure: str, value: float, alpha: float, note: str) -> Bound:
    return Bound(measure, float(value), 1.0 - alpha, note + " (each bound of the run at 1 - alpha/m: "
                 "simultaneous at 1 - alpha)")


def _det(measure: str, value: float, alpha: float, family_size: int, *, tv: float | None = None,
         note: str = "") -> Detectable:
    level = level_for(alpha, family_size)
    stage = stage_level(level)
    how = f"confirmed: each of two stages at level {stage:.3g} with power {STAGE_POWER:.4f}"
    return Detectable(measure, value, 0.9, level, tv, f"{how}; {note}" if note else how)


def _common(claim: str, check: str, claim_text: str, seed: int | None, reproduce: str,
            alpha: float) -> dict[str, Any]:
    return dict(claim=claim, check=check, claim_text=claim_text, seed=seed, reproduce=reproduce,
                alpha=alpha)


def _vec(x: np.ndarray, fmt: str) -> str:
    return "[" + ", ".join(format(float(v), fmt) for v in x) + "]"


def pearson_stated_w(bins: ArrayLike, n: int, *, alpha: float = DEFAULT_ALPHA,
                     family_size: int = DEFAULT_FAMILY_SIZE, split: int = 1,
                     max_cell: bool = False) -> tuple[float, str]:
    """``(w, binding candidate)``: the Cohen's w a Pearson verdict on the (pooled) bin
    probabilities ``bins`` with ``n`` draws states, i.e. the smallest w its *confirmed* decision
    detects with power 0.9 at ``alpha / family_size``: each stage at ``sqrt(alpha / m)`` (halved
    when a max-cell test shares the level), the worst case of the actual statistic
    (:func:`~harness.stats.power.pearson_detectable_w`), at the effective level of the Monte
    Carlo p-value that decides below ``sqrt(alpha)`` (its resolution is not counted as power:
    :func:`~harness.stats.power.mc_effective_level`). :func:`discrete_verdict` and the power
    table (:mod:`harness.checker.power_table`) both state this figure; tests/test_power_pearson.py
    simulates it through the decision."""
    stage, spower = stage_for(alpha, family_size)
    share = 2 if max_cell else 1
    b_mc = mc_replicates(mc_level(alpha, split * share))
    return pearson_detectable_w(np.asarray(bins, dtype=float), int(n), mc_effective_level(stage / share, b_mc),
                                min(0.999, spower / 0.995))


def discrete_verdict(
    claim: str,
    check: str,
    claim_text: str,
    observed: ArrayLike,
    probs: ArrayLike,
    *,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    family_size: int = DEFAULT_FAMILY_SIZE,
    details: Mapping[str, Any] | None = None,
    labels: list[str] | None = None,
    method: str = "auto",
    n_sim: int = 9999,
    split: int = 1,
) -> Verdict:
    """Goodness of fit of category counts to ``probs``.

    ``method="auto"`` uses the exact multinomial test when the outcome space is small (N <= 200
    and at most ``EXACT_MAX_OUTCOMES`` outcomes), otherwise Pearson's chi-square with pooling
    (every bin with expected count >= 5) whose p-value is valid at every decision level
    (:func:`~harness.stats.discrete.pearson_gof`: exact binomial for two bins, Monte Carlo null
    below ``sqrt(alpha)``). ``"chisquare"``, ``"g"``, ``"exact"`` and ``"monte-carlo"`` force
    one test (the Monte Carlo p-value uses ``n_sim`` draws seeded by ``seed``). Any observation
    in a probability-0 category is a forced FAIL naming the category. Power: minimum Cohen's w
    (:func:`pearson_stated_w` for Pearson) and the TV detected against **every** alternative
    (:func:`~harness.stats.power.tv_for_w` on the pooled bins, plus the mass of the pooled
    categories, inside which deviations are not seen). Bound: an upper confidence bound on
    TV(target, claimed) (:func:`~harness.stats.bounds.tv_upper_bound`). ``split``: the number of
    tables a check Bonferroni-combines (its p-value is then judged at ``1/split`` of the level).
    """
    p = validate_probabilities(probs)
    o = np.asarray(observed)
    n = int(np.sum(o))
    k_pos = int(np.sum(p > 0))
    if method == "auto":
        use_exact = n <= 200 and k_pos > 1 and math.comb(n + k_pos - 1, k_pos - 1) <= EXACT_MAX_OUTCOMES
        method = "exact" if use_exact else "chisquare"
    stage, spower = stage_for(alpha, family_size)
    pooled_table = False
    if method == "chisquare":
        # a table whose pooling merges categories gets a max-cell test beside Pearson (Bonferroni,
        # 2: each at half the level): pooling hides a concentrated error in one small category
        pooled_table = any(len(g) > 1 for g in pool_categories(n * p)) if n > 0 else False
    if method == "exact":
        res = exact_multinomial(o, p)
    elif method == "chisquare":
        res = pearson_gof(o, p, exact_above=confirmation_threshold(alpha),
                          min_level=mc_level(alpha, split * (2 if pooled_table else 1)),
                          seed=derive_seed(0 if seed is None else int(seed), "null"))
    elif method == "g":
        res = g_test(o, p)
    elif method == "monte-carlo":
        res = monte_carlo_multinomial(o, p, n_sim=n_sim, seed=seed)
    else:
        raise ValueError(f"method must be auto, exact, chisquare, g or monte-carlo, got {method!r}")
    cell = None
    pvalue = res.pvalue
    test = res.test
    if pooled_table and res.df >= 1 and not res.impossible:
        cell = max_cell_test(o, p)
        pvalue = float(min(1.0, 2.0 * min(res.pvalue, cell.pvalue)))
        test = f"{res.test} + {cell.test}, Bonferroni over the two"
    w_level = stage / (2 if cell is not None else 1)
    binding = "noncentral chi-square"
    if res.df < 1:
        w = math.inf
    elif method == "chisquare" and res.bins == 2:
        w, binding = binomial_detectable_w(float(res.expected[0] / n), n, w_level, spower)
    elif method == "chisquare":
        w, binding = pearson_stated_w(res.expected / max(n, 1), n, alpha=alpha, family_size=family_size,
                                      split=split, max_cell=cell is not None)
    else:
        w = min_detectable_w(n, res.df, w_level, spower)
    tv_star, tv_note = None, ""
    if math.isfinite(w) and res.groups:
        pooled = [g for g in res.groups if len(g) > 1]
        mass = float(sum(p[i] for g in pooled for i in g))
        tv_star = min(1.0, tv_for_w(w, res.expected / max(n, 1)) + mass)
        tv_note = (f"Cohen's w over the {res.bins} pooled bins, worst case of the actual Pearson statistic "
                   f"(first-order term and small-bin variance included; binding: {binding})"
                   + (", Pearson at half the level (max-cell test beside it)" if cell is not None else "")
                   + f"; TV against every alternative: w* max_A sqrt(P(A)(1-P(A))) over the {res.bins} bins"
                   + (f" + {mass:.3g} (mass of the pooled categories)" if pooled else ""))
    det = _det("cohen_w", w, alpha, family_size, tv=tv_star, note=tv_note)
    a_b = bound_level(alpha, family_size)
    tvb, bnote = tv_upper_bound(o, p, a_b)
    bound = _bound("TV(target, claimed)", tvb, alpha, bnote)
    name = (lambda i: labels[i]) if labels else (lambda i: str(i))
    e_full = n * p
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(e_full > 0, (o - e_full) / np.sqrt(e_full), 0.0)
    worst = int(np.argmax(np.abs(z))) if z.size else 0
    forced = res.impossible > 0
    k = p.size
    if forced:
        cats = ", ".join(f"{name(i)} (seen {int(o[i])} times)" for i in res.impossible_categories)
        reason = (f"impossible event: category {cats} has probability 0 but was sampled; "
                  "expected count 0")
        expected = ", ".join(f"category {name(i)}: count 0 (probability 0)"
                             for i in res.impossible_categories)
        seen = ", ".join(f"category {name(i)}: count {int(o[i])}" for i in res.impossible_categories)
    else:
        reason = (f"largest deviation at category {name(worst)}: observed {int(o[worst])}, "
                  f"expected {e_full[worst]:.1f} (z = {z[worst]:+.2f}); "
                  f"{res.bins} bins after pooling, df = {res.df}")
        if k <= 12:
            expected = f"counts N p = {_vec(e_full, '.1f')} (N = {n})"
            seen = f"counts {_vec(o, '.0f')}; largest |z| = {abs(z[worst]):.2f} at category {name(worst)}"
        else:
            expected = (f"N p_i for each of {k} categories, e.g. category {name(worst)}: "
                        f"{e_full[worst]:.1f} (N = {n}, p = {p[worst]:.4g})")
            seen = f"category {name(worst)}: {int(o[worst])} (z = {z[worst]:+.2f}), the largest |z|"
        seen += f"; {res.test} statistic {res.statistic:.4g} on df = {res.df}"
    if cell is not None and not forced:
        reason += (f"; max-cell: category {name(cell.category)} observed {cell.count}, expected {cell.expected:.3g} "
                   f"(p = {cell.pvalue:.3g} over {cell.categories} categories); Pearson p = {res.pvalue:.3g}")
    if res.df < 1 and not forced:
        reason += "; only one bin: the test cannot fail except on impossible events"
    little = []
    if tv_star is None or tv_star > 0.1:
        little.append("its power statement is weak: it detects (power 0.9) only alternatives at TV >= "
                      + ("1 (none)" if tv_star is None else f"{tv_star:.2g}"))
    if tvb >= 0.5:
        little.append(f"its PASS bound TV <= {tvb:.2g} is {'vacuous' if tvb >= 0.999 else 'weak'}")
    if little and not forced:
        reason += "; this check certifies little: " + " and ".join(little)
    d = {"observed": o.tolist(), "expected": e_full.tolist(), "df": res.df, "bins": res.bins,
         "method": res.method, "min_expected_bin": res.min_expected, "draws_digest": counts_digest(o, p)}
    if cell is not None:
        d["pearson_pvalue"] = res.pvalue
        d["max_cell"] = {"category": cell.category, "count": cell.count, "expected": cell.expected,
                         "pvalue": cell.pvalue, "categories": cell.categories}
    d.update(details or {})
    return Verdict(
        **_common(claim, check, claim_text, seed, reproduce, alpha),
        test=test, statistic=res.statistic, pvalue=pvalue, n=n, detectable=det,
        reason=reason, forced_fail=forced, details=d, expected=expected, seen=seen,
        bound=None if forced else bound,
    )


def _ecdf_points(x: np.ndarray, cdf: Callable, m: int = 200) -> dict[str, list[float]]:
    xs = np.sort(x)
    idx = np.unique(np.linspace(0, xs.size - 1, min(m, xs.size)).astype(int))
    return {"x": xs[idx].tolist(), "ecdf": ((idx + 1) / xs.size).tolist(),
            "cdf": np.asarray(cdf(xs[idx]), dtype=float).tolist()}


def _nonfinite_verdict(x: np.ndarray, what: str, claim: str, check: str, claim_text: str, *,
                       seed: int | None, reproduce: str, alpha: float, test: str) -> Verdict | None:
    """A FAIL naming the non-finite entries of ``x`` (how many, a few examples), or None."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return None
    return error_verdict(claim, check, claim_text, f"{int(bad.sum())} of {x.size} {what} are not finite "
                         f"(NaN/inf), e.g. {x[bad][:3].tolist()}", n=x.size, seed=seed,
                         reproduce=reproduce, alpha=alpha, test=test)


def ks_verdict(
    claim: str,
    check: str,
    claim_text: str,
    samples: ArrayLike,
    cdf: Callable,
    *,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    family_size: int = DEFAULT_FAMILY_SIZE,
    details: Mapping[str, Any] | None = None,
) -> Verdict:
    """KS test of ``samples`` against the exact ``cdf``; power as a KS sup-distance (DKWM, per
    stage); bound: ``sup |F_target - F| <= D + eps`` (DKW band)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    stage, spower = stage_for(alpha, family_size)
    if (err := _nonfinite_verdict(x, "samples", claim, check, claim_text, seed=seed, reproduce=reproduce,
                                  alpha=alpha, test="Kolmogorov-Smirnov")) is not None:
        return err
    res = ks_test(x, cdf, alpha=stage)
    det = _det("ks_sup_distance", ks_detectable_distance(x.size, stage, spower), alpha, family_size)
    a_b = bound_level(alpha, family_size)
    bound = _bound("sup |F_target - F_claimed|", sup_distance_bound(res.statistic, x.size, a_b), alpha,
                   "D_n + sqrt(ln(2/a)/(2n)) (DKW band)")
    d = {"dkwm_epsilon": res.dkwm_epsilon, "sup_location": res.location,
         "ecdf": _ecdf_points(x, cdf), "draws_digest": sequence_digest(x)}
    d.update(details or {})
    reason = (f"sup |F_n - F| = {res.statistic:.4g} at x = {res.location:.4g}; under the null it "
              f"exceeds {res.dkwm_epsilon:.4g} with probability <= {stage:.2g} (DKWM)")
    f_at = float(np.asarray(cdf(np.array([res.location])), dtype=float).ravel()[0])
    fn_lo = float(np.sum(x < res.location)) / x.size
    fn_hi = float(np.sum(x <= res.location)) / x.size
    expected = (f"F(x) of the claimed law; sup |F_n - F| <= {res.dkwm_epsilon:.3g} "
                f"(DKWM, probability {1 - stage:.4g})")
    seen = (f"at x = {res.location:.5g}: F = {f_at:.5g}, F_n = {fn_lo:.5g}..{fn_hi:.5g} "
            f"(D = {res.statistic:.4g}, n = {x.size})")
    return Verdict(**_common(claim, check, claim_text, seed, reproduce, alpha),
                   test=res.test, statistic=res.statistic, pvalue=res.pvalue, n=x.size,
                   detectable=det, reason=reason, details=d, expected=expected, seen=seen, bound=bound)


def ad_verdict(
    claim: str,
    check: str,
    claim_text: str,
    samples: ArrayLike,
    cdf: Callable,
    *,
    logcdf: Callable | None = None,
    logsf: Callable | None = None,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    family_size: int = DEFAULT_FAMILY_SIZE,
    details: Mapping[str, Any] | None = None,
) -> Verdict:
    """Anderson-Darling test against the exact law (tail-sensitive companion of KS). No power
    figure: no distribution-free detectable distance is known for A^2, and AD is not uniformly
    more powerful than KS (a narrow density bump at the KS detectable distance is missed by AD),
    so the power of a law check is carried by its KS companion. Bound: the DKW band of the same
    sample (``sup |F_target - F| <= D_n + eps``)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    if (err := _nonfinite_verdict(x, "samples", claim, check, claim_text, seed=seed, reproduce=reproduce,
                                  alpha=alpha, test="Anderson-Darling")) is not None:
        return err
    res = anderson_darling(x, cdf, logcdf=logcdf, logsf=logsf)
    a_b = bound_level(alpha, family_size)
    dn = float(ks_test(x, cdf).statistic)
    bound = _bound("sup |F_target - F_claimed|", sup_distance_bound(dn, x.size, a_b), alpha,
                   "D_n + sqrt(ln(2/a)/(2n)) (DKW band of the same sample)")
    return Verdict(**_common(claim, check, claim_text, seed, reproduce, alpha),
                   test=res.test, statistic=res.statistic, pvalue=res.pvalue, n=x.size,
                   detectable=None, bound=bound,
                   reason=(f"A^2 = {res.statistic:.4g}; power: not stated (no distribution-free figure "
                           "for A^2; the KS companion carries the power statement)"),
                   details={"draws_digest": sequence_digest(x), **dict(details or {})},
                   expected="A^2 of order 1 under the claimed law (mean 1; 95% quantile 2.49, "
                            "99.9% quantile 5.97)",
                   seen=f"A^2 = {res.statistic:.4g} (n = {x.size})")


def tail_verdict(
    claim: str,
    check: str,
    claim_text: str,
    hits: int,
    n: int,
    p: float,
    *,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    family_size: int = DEFAULT_FAMILY_SIZE,
    details: Mapping[str, Any] | None = None,
) -> Verdict:
    """Exact binomial test of a rare category's count (tail mass); power as the relative rate
    change detected in both directions (exact binomial power); bound: ``|rate/p - 1|`` from the
    Clopper-Pearson interval of the rate."""
    res = binomial_tail(int(hits), int(n), float(p))
    stage, spower = stage_for(alpha, family_size)
    det = _det("relative_rate", binomial_detectable_ratio(n, p, stage, spower), alpha, family_size,
               note="exact binomial power, deficit and excess")
    lo, hi = cp_interval(int(hits), int(n), bound_level(alpha, family_size))
    r_lo = float(lo) / p if p > 0 else 0.0
    r_hi = float(hi) / p if p > 0 else math.inf
    # both sides of the rate, each its own bound (a/2 each side: simultaneous at 1 - a): the
    # deficit side is the lower bound on rate_target / rate_claimed (what catches a truncated
    # tail), the excess side the upper one; a single |ratio - 1| would hide a vacuous deficit side
    bound = _bound(f"rate_target / rate_claimed >= {r_lo:.3g} (deficit side) and rate_target / rate_claimed - 1",
                   r_hi - 1.0, alpha, "two-sided Clopper-Pearson interval of the rate, each side at a/2")
    d = {"hits": int(hits), "expected": res.expected, "z": res.z,  # draws_digest: from the caller
         "rate_ratio_lower": r_lo, "rate_ratio_upper": r_hi}
    d.update(details or {})
    reason = f"observed {int(hits)} hits, expected {res.expected:.2f} (z = {res.z:+.2f})"
    if r_lo < 0.5:
        reason += (f"; the deficit side certifies little: a rate as low as {r_lo:.3g} x the claimed one "
                   "is not excluded")
    return Verdict(**_common(claim, check, claim_text, seed, reproduce, alpha),
                   test="exact binomial tail", statistic=res.z, pvalue=res.pvalue, n=int(n),
                   detectable=det, reason=reason, details=d, bound=bound,
                   expected=f"N p = {int(n)} x {p:.4g} = {res.expected:.2f} hits",
                   seen=f"{int(hits)} hits (z = {res.z:+.2f})")


def z_verdict(
    claim: str,
    check: str,
    claim_text: str,
    samples: ArrayLike,
    target: float,
    *,
    se: float | None = None,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    family_size: int = DEFAULT_FAMILY_SIZE,
    details: Mapping[str, Any] | None = None,
    measure: str = "mean_shift",
) -> Verdict:
    """Two-sided z-test of a sample mean against ``target``; power as the detectable shift;
    bound: ``|mean_target - target| <= |estimate - target| + z se``."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    if (err := _nonfinite_verdict(x, "samples", claim, check, claim_text, seed=seed, reproduce=reproduce,
                                  alpha=alpha, test="z-test")) is not None:
        return err
    res = z_test(x, target, se)
    stage, spower = stage_for(alpha, family_size)
    det = _det(measure, z_detectable(res.se, stage, spower), alpha, family_size)
    bound = _bound("|mean_target - mean_claimed|",
                   mean_bound(res.estimate, target, res.se, bound_level(alpha, family_size)), alpha,
                   "|estimate - target| + z_{1-a/2} se (normal approximation)")
    d = {"estimate": res.estimate, "se": res.se, "target": target, "draws_digest": sequence_digest(x)}
    d.update(details or {})
    reason = f"estimate {res.estimate:.6g} +- {res.se:.2g} (se) vs exact {target:.6g} (z = {res.statistic:+.2f})"
    return Verdict(**_common(claim, check, claim_text, seed, reproduce, alpha),
                   test=res.test, statistic=res.statistic, pvalue=res.pvalue, n=x.size,
                   detectable=det, reason=reason, details=d, bound=bound,
                   expected=f"mean {target:.6g}",
                   seen=f"{res.estimate:.6g} +- {res.se:.2g} (se), z = {res.statistic:+.2f}")


def deterministic_verdict(
    claim: str,
    check: str,
    claim_text: str,
    error: float,
    tolerance: float,
    *,
    test: str,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    reproduce: str = "",
) -> Verdict:
    """A deterministic check (symbolic, quadrature, closed form): passes iff
    ``error <= tolerance`` (``error`` NaN fails)."""
    ok = bool(error <= tolerance)
    msg = reason or (f"max error {error:.3g} {'<=' if ok else '>'} tolerance {tolerance:.3g}")
    return Verdict(claim=claim, check=check, claim_text=claim_text, test=test, statistic=float(error),
                   pvalue=None, n=0, passed=ok, reason=msg, tolerance=tolerance,
                   details=dict(details or {}), reproduce=reproduce,
                   expected=f"error <= {tolerance:.3g}", seen=f"error = {float(error):.3g}")


def error_verdict(
    claim: str,
    check: str,
    claim_text: str,
    cause: str | BaseException,
    *,
    n: int = 0,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    test: str = "target call",
) -> Verdict:
    """A forced FAIL naming its cause (the target raised, hung, returned garbage...)."""
    if isinstance(cause, BaseException):
        tb = traceback.format_exception_only(type(cause), cause)
        cause = "".join(tb).strip()
    return Verdict(claim=claim, check=check, claim_text=claim_text, test=test, statistic=None,
                   pvalue=None, n=n, passed=False, forced_fail=True, reason=str(cause), seed=seed,
                   reproduce=reproduce, alpha=alpha, expected="a valid result",
                   seen=str(cause).splitlines()[-1] if str(cause) else "an error")


def conditional_verdict(
    claim: str,
    check: str,
    claim_text: str,
    labels: ArrayLike,
    values: ArrayLike,
    cdf: Callable,
    *,
    test: str = "ks",
    logcdf: Callable | None = None,
    logsf: Callable | None = None,
    min_count: int = 20,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    family_size: int = DEFAULT_FAMILY_SIZE,
    details: Mapping[str, Any] | None = None,
) -> Verdict:
    """k-sample check (spec T3): the law of ``values`` given each label is ``cdf``. One KS
    (or AD) test per class against the exact CDF, Holm-combined inside the check (its
    p-value is the smallest Holm-adjusted one, so it enters the run's family as one check).
    Power (KS only; none is stated for AD, see :func:`ad_verdict`): the KS sup-distance
    detectable in the smallest class, each stage at ``sqrt(alpha/family_size) / classes``.
    Bound: the largest per-class DKW band."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if (err := _nonfinite_verdict(x, "values", claim, check, claim_text, seed=seed, reproduce=reproduce,
                                  alpha=alpha, test="per-class KS")) is not None:
        return err
    res = conditional_gof(labels, x, cdf, test=test, min_count=min_count,  # type: ignore[arg-type]
                          logcdf=logcdf, logsf=logsf)
    m = len(res.classes)
    stage, spower = stage_for(alpha, family_size)
    det = None
    if test == "ks":
        det = _det("ks_sup_distance", ks_detectable_distance(min(res.sizes), stage / m, spower), alpha,
                   family_size, note=f"in the smallest of {m} classes (n = {min(res.sizes)}), Holm inside the check")
    a_b = bound_level(alpha, family_size) / m
    labs = np.asarray(labels).ravel()
    dns = res.statistics if test == "ks" else [
        float(ks_test(x[np.isin(labs, np.asarray(c))], cdf).statistic) for c in res.classes]
    bval = max(sup_distance_bound(float(dn), int(nc), a_b) for dn, nc in zip(dns, res.sizes))
    bound = _bound("max over classes of sup |F_target(.|class) - F_claimed|", bval, alpha,
                   f"per-class DKW bands, each at a/{m}")
    w = res.worst
    d = {"classes": [list(c) for c in res.classes], "sizes": list(res.sizes),
         "statistics": list(res.statistics), "pvalues": list(res.pvalues),
         "adjusted": list(res.adjusted), "draws_digest": sequence_digest(x)}
    d.update(details or {})
    reason = (f"{m} classes; smallest p = {res.pvalues[w]:.3g} in class {list(res.classes[w])} "
              f"(n = {res.sizes[w]}, statistic {res.statistics[w]:.4g})")
    return Verdict(**_common(claim, check, claim_text, seed, reproduce, alpha),
                   test=res.test, statistic=res.statistic, pvalue=res.pvalue, n=res.n,
                   detectable=det, reason=reason, details=d, bound=bound,
                   expected=f"the same law (the given CDF) in each of {m} classes",
                   seen=(f"class {list(res.classes[w])}: statistic {res.statistics[w]:.4g}, "
                         f"p = {res.pvalues[w]:.3g} (Holm-adjusted {res.adjusted[w]:.3g})"))


def _conditional_mc(res: Any, min_level: float, seed: int) -> Any:
    """The Monte Carlo p-value of the independence chi-square conditional on the table's margins
    (``scipy.stats.random_table``, Patefield's algorithm): valid at every level, exactly, under
    independence (the margins are sufficient), used where a decision can be made (below
    ``sqrt(alpha)``; see :func:`harness.stats.discrete.pearson_gof` for the argument)."""
    from dataclasses import replace as _r

    from scipy import stats as _st

    from harness.stats.discrete import mc_replicates

    t = np.asarray(res.table, dtype=np.int64)
    r, c = t.sum(1), t.sum(0)
    e = np.outer(r, c) / t.sum()
    b = mc_replicates(min_level)
    rng = np.random.default_rng(seed)
    ge, left = 0, b
    tol = 1e-9 * max(1.0, res.statistic)
    while left > 0:
        k = min(8192, left)
        sims = _st.random_table(r, c).rvs(size=k, random_state=rng)
        ge += int(np.sum(np.sum((sims - e) ** 2 / e, axis=(1, 2)) >= res.statistic - tol))
        left -= k
    return _r(res, pvalue=(1 + ge) / (b + 1),
              test=f"{res.test} (Monte Carlo p-value given the margins, B = {b})")


def independence_verdict(
    claim: str,
    check: str,
    claim_text: str,
    labels: ArrayLike,
    values: ArrayLike,
    edges: ArrayLike,
    *,
    seed: int | None = None,
    reproduce: str = "",
    alpha: float = DEFAULT_ALPHA,
    family_size: int = DEFAULT_FAMILY_SIZE,
    details: Mapping[str, Any] | None = None,
) -> Verdict:
    """Chi-square test of independence of ``labels`` and ``values`` binned at ``edges``
    (spec T3). Power as Cohen's w of the contingency table (df = (rows-1)(bins-1))."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if (err := _nonfinite_verdict(x, "values", claim, check, claim_text, seed=seed, reproduce=reproduce,
                                  alpha=alpha, test="chi-square test of independence")) is not None:
        return err
    res = independence_chi2(labels, x, edges)
    stage, spower = stage_for(alpha, family_size)
    if res.df >= 1 and res.pvalue <= confirmation_threshold(alpha):
        res = _conditional_mc(res, mc_level(alpha), derive_seed(0 if seed is None else int(seed), "null"))
    w = min_detectable_w(res.n, res.df, stage, spower) if res.df >= 1 else math.inf
    det = _det("cohen_w", w, alpha, family_size, note="Cohen's w of the joint table vs independence")
    d = {"table": res.table.tolist(), "df": res.df, "min_expected_cell": res.min_expected,
         "row_groups": [list(g) for g in res.row_groups], "draws_digest": sequence_digest(x)}
    d.update(details or {})
    return Verdict(**_common(claim, check, claim_text, seed, reproduce, alpha),
                   test=res.test, statistic=res.statistic, pvalue=res.pvalue, n=res.n,
                   detectable=det, reason=f"{res.table.shape[0]} x {res.table.shape[1]} table, df = {res.df}",
                   details=d, expected=f"independence: X^2 ~ chi2({res.df}), mean {res.df}",
                   seen=f"X^2 = {res.statistic:.4g} on df = {res.df}")
