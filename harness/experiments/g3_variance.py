r"""G3, bias and variance of the pathwise gradient as T -> 0 (K = 2, :math:`f(y) = y_1`).

The pathwise gradient :math:`g = \partial y_1/\partial x_1 = y_1 y_2/T` (autograd through the
torch reference, float64) has

* mean :math:`E[g] = \partial_{x_1}E[y_1] \to p_1 p_2`, the gradient of the discrete expectation
  :math:`\sum_i p_i f(e_i) = p_1` (the bias falls with T);
* variance :math:`\operatorname{Var}[g] \sim p_1 p_2/(6T)` (:math:`\int(\sigma')^2 = 1/6`).

Tests: per T a z-test of the mean against the exact :math:`E[g]` (1-D quadrature) and a test of the
variance level, :math:`E[g^2]` against its exact value, by Bernstein's inequality (g is bounded by
:math:`1/(4T)`; a sampler adding zero-mean gradient noise of size ~ 1/T fails it); the slope of
:math:`\log \widehat{\operatorname{Var}}` against :math:`\log T` over the small-T points,
weighted least squares with the delta-method standard errors
:math:`\operatorname{se}(\log\hat\sigma^2) = \sqrt{(\mu_4 - \sigma^4)/(n\sigma^4)}` from the exact
moments, z-tested against the slope of the exact variances at the same points (which is
:math:`-1 + O(T)`); deterministic: that exact slope is within 0.02 of -1, the exact variance is
within 0.5% of the asymptote at T = 1e-3, and the exact bias decreases with T and is below 1e-6
at T = 1e-3.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from harness.checks.builders import level_for, stage_for, z_verdict
from harness.core.context import RunContext
from harness.experiments import _binary
from harness.experiments.base import Collector, experiment, repro, tname, torch_generator
from harness.stats.power import z_detectable
from harness.core.verdict import Detectable, Verdict
from reference import laws
from reference.softmax import softmax

X = np.array([0.6, 0.0])
GRID = (0.1, 0.03, 0.01, 0.003, 0.001)
SLOPE_T = (0.03, 0.01, 0.003, 0.001)


def sizes(b):
    return {"n_per_T": 5 * b.n_gradient}


def _grads(ctx: RunContext, check: str, t: float, n: int) -> np.ndarray:
    import torch

    from reference.torch_gumbel_softmax import gumbel_noise, relaxed_from_noise

    g = gumbel_noise((n, 2), generator=torch_generator(ctx, check))
    x = torch.tensor(X, dtype=torch.float64).expand(n, 2).clone().requires_grad_(True)
    relaxed_from_noise(x, g, t)[:, 0].sum().backward()
    return x.grad[:, 0].numpy().copy()


def bernstein_second_moment(g: np.ndarray, t: float, m2: float, m4: float, level: float, power: float
                            ) -> tuple[float, float, float]:
    r"""Test of :math:`E[g^2] = m_2` valid at every level without a large-sample approximation:
    :math:`0 \le g = \sigma'(\cdot)/T \le 1/(4T)`, so :math:`X = g^2 \in [0, 1/(16T^2)]` and
    Bernstein's inequality gives the p-value :math:`\min(1, 2\exp(-n\varepsilon^2/(2\sigma^2 +
    2b\varepsilon/3)))`, :math:`\varepsilon = |\bar X - m_2|`, :math:`\sigma^2 = m_4 - m_2^2`
    (exact), :math:`b = \max(m_2, 1/(16T^2) - m_2)` (at small T the variable is heavy-tailed
    and a z-test would be anti-conservative at the decision levels). Returns (statistic
    :math:`\bar X - m_2`, p-value, detectable shift at ``level`` with ``power``: the rejection
    threshold plus :math:`z_{\text{power}}\,\sigma/\sqrt n`)."""
    n = g.size
    x = g * g
    var = max(m4 - m2 * m2, 0.0)
    b = max(m2, 1.0 / (16.0 * t * t) - m2)
    eps = abs(float(np.mean(x)) - m2)
    pval = min(1.0, 2.0 * math.exp(-n * eps * eps / (2.0 * var + 2.0 * b * eps / 3.0)))
    lg = math.log(2.0 / level)
    c = 2.0 * b * lg / 3.0
    thr = (c + math.sqrt(c * c + 8.0 * n * var * lg)) / (2.0 * n)
    return float(np.mean(x)) - m2, pval, thr + float(stats.norm.ppf(power)) * math.sqrt(var / n)


def wls_slope(lx: np.ndarray, ly: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares of ``ly`` on ``lx`` with weights 1/se^2: (slope, se, intercept)."""
    w = 1.0 / se ** 2
    xm = np.sum(w * lx) / w.sum()
    ym = np.sum(w * ly) / w.sum()
    sxx = np.sum(w * (lx - xm) ** 2)
    b = float(np.sum(w * (lx - xm) * (ly - ym)) / sxx)
    return b, float(math.sqrt(1.0 / sxx)), float(ym - b * xm)


@experiment(
    "G3",
    title="Bias and variance of the pathwise gradient as T -> 0",
    claim=("As T -> 0 the expected pathwise gradient tends to the gradient of the discrete expectation "
           "while its variance grows like 1/T: for K = 2 and f(y) = y_1, Var[dy_1/dx_1] ~ p1 p2/(6T)."),
    formula="E[dy_1/dx_1] -> p_1 p_2,   Var[dy_1/dx_1] ~ p_1 p_2 / (6 T)",
    implementations=("reference.torch_gumbel_softmax.relaxed_from_noise + autograd (float64)",
                     "scipy.integrate.quad (exact moments)"),
    planned=2 * len(GRID) + 1,
    sizes=sizes,
)
def run(ctx: RunContext):
    col = Collector(ctx, "G3")
    n = sizes(ctx.budget)["n_per_T"]
    delta = float(X[0] - X[1])
    p = softmax(X)
    discrete = float(p[0] * p[1])
    rows = {k: [] for k in ("T", "mean", "se_mean", "var", "var_exact", "se_logvar", "asym", "bias_exact")}
    for t in GRID:
        check = f"G3.{tname(t)}"
        m1 = _binary.grad_moment(1, delta, t)
        var, var_of_var = _binary.grad_variance(delta, t)
        try:
            g = _grads(ctx, check, t, n)
        except Exception as exc:  # noqa: BLE001
            col.guard(check, "draw", lambda exc=exc: (_ for _ in ()).throw(exc))
            continue
        text = (f"E[dy_1/dx_1] = {m1:.8g} (exact; discrete gradient p1 p2 = {discrete:.8g}, bias {m1 - discrete:+.3g}) "
                f"at T = {t:g}")
        v = col.add(z_verdict("G3", f"{check}.mean", text, g, m1, **col.kw(f"{check}.mean"),
                              details={"temperature": t, "discrete_gradient": discrete}, measure="gradient_shift"))[0]
        m2, m4 = _binary.grad_moment(2, delta, t), _binary.grad_moment(4, delta, t)
        stage, spower = stage_for(ctx.alpha, ctx.family_size)
        shift, pv, det = bernstein_second_moment(g, t, m2, m4, stage, spower)
        vc = f"{check}.variance"
        vtext = (f"E[(dy_1/dx_1)^2] = {m2:.8g} (exact; Var = {var:.6g}, asymptote p1 p2/(6T) = "
                 f"{float(laws.pathwise_variance_asymptote(X, t)):.6g}) at T = {t:g}")
        seed = ctx.seed_for(check)
        col.add(Verdict(claim="G3", check=vc, claim_text=vtext, test="Bernstein bound on the mean of g^2 (bounded g)",
                        statistic=shift, pvalue=pv, n=int(n), alpha=ctx.alpha, seed=seed,
                        reproduce=repro(ctx, vc, seed),
                        detectable=Detectable("second_moment_shift", det, 0.9, level_for(ctx.alpha, ctx.family_size),
                                              note=f"relative {det / m2:.3g} of E[g^2]; confirmed, each stage at "
                                                   f"{stage:.3g} with power {spower:.4f}"),
                        reason=f"mean g^2 = {m2 + shift:.6g} vs exact {m2:.6g} (shift {shift:+.3g})",
                        expected=f"mean of g^2 = {m2:.6g}", seen=f"{m2 + shift:.6g}",
                        details={"temperature": t, "exact_second_moment": m2, "exact_fourth_moment": m4}))
        rows["T"].append(t)
        rows["mean"].append(v.details.get("estimate"))
        rows["se_mean"].append(v.details.get("se"))
        rows["var"].append(float(np.var(g, ddof=1)))
        rows["var_exact"].append(var)
        rows["se_logvar"].append(math.sqrt(var_of_var / n) / var)
        rows["asym"].append(float(laws.pathwise_variance_asymptote(X, t)))
        rows["bias_exact"].append(m1 - discrete)

    T = np.array(rows["T"])
    sel = np.isin(T, SLOPE_T)
    fit = None
    if sel.sum() >= 2:
        lx = np.log(T[sel])
        se = np.array(rows["se_logvar"])[sel]
        b_hat, b_se, a_hat = wls_slope(lx, np.log(np.array(rows["var"])[sel]), se)
        b_ex, _, a_ex = wls_slope(lx, np.log(np.array(rows["var_exact"])[sel]), se)
        z = (b_hat - b_ex) / b_se
        pval = float(2 * stats.norm.sf(abs(z)))
        level = level_for(ctx.alpha, ctx.family_size)
        check = "G3.slope"
        text = (f"slope of log Var[dy_1/dx_1] against log T over T in {list(SLOPE_T)} equals the exact slope "
                f"{b_ex:.4f} (-1 + O(T); Var ~ p1 p2/(6T))")
        seed = ctx.seed_for(check)
        col.add(Verdict(claim="G3", check=check, claim_text=text, test="weighted least-squares slope, z-test",
                        statistic=float(z), pvalue=pval, n=int(n * sel.sum()), alpha=ctx.alpha, seed=seed,
                        reproduce=repro(ctx, check, seed),
                        detectable=Detectable("slope_shift", z_detectable(b_se, *stage_for(ctx.alpha, ctx.family_size)),
                                              0.9, level),
                        reason=f"fitted slope {b_hat:.4f} +- {1.96 * b_se:.4f} (95% CI) vs exact {b_ex:.4f} (z = {z:+.2f})",
                        expected=f"slope {b_ex:.4f} (exact variances at the same T; asymptote -1)",
                        seen=f"fitted slope {b_hat:.4f} +- {b_se:.2g} (se), z = {z:+.2f}",
                        details={"slope": b_hat, "slope_se": b_se, "slope_ci95": [b_hat - 1.96 * b_se, b_hat + 1.96 * b_se],
                                 "exact_slope": b_ex, "temperatures": T[sel].tolist()}))
        fit = {"slope": b_hat, "intercept": a_hat, "slope_se": b_se, "exact_slope": b_ex, "x": T[sel].tolist(),
               "label": f"fit: slope {b_hat:.3f} +- {1.96 * b_se:.3f} (exact {b_ex:.3f})"}
        col.add(col.deterministic("G3.exact_slope", f"the exact slope of log Var against log T over {list(SLOPE_T)} is -1 within 0.02",
                                  abs(b_ex + 1.0), 0.02, test="1-D quadrature", reason=f"exact slope {b_ex:.5f}"))
    tmin = min(GRID)
    var_min, _ = _binary.grad_variance(delta, tmin)
    ratio = var_min / float(laws.pathwise_variance_asymptote(X, tmin))
    col.add(col.deterministic("G3.variance_asymptote", f"exact Var[dy_1/dx_1] / (p1 p2/(6T)) -> 1: at T = {tmin:g}",
                              abs(ratio - 1.0), 5e-3, test="1-D quadrature", reason=f"ratio {ratio:.6f}"))
    biases = [abs(_binary.grad_moment(1, delta, t) - discrete) for t in sorted(GRID)]
    bad = sum(1 for a, b in zip(biases, biases[1:]) if not a < b)
    col.add(col.deterministic("G3.bias_limit", f"|E[dy_1/dx_1] - p1 p2| decreases with T and is below 1e-6 at T = {tmin:g}",
                              biases[0] if bad == 0 else math.inf, 1e-6, test="1-D quadrature",
                              reason=f"exact bias {biases[0]:.2e} at T = {tmin:g}; {bad} non-decreasing steps",
                              details={"abs_bias": biases, "temperatures": sorted(GRID)}))
    if rows["T"]:
        var = np.array(rows["var"])
        se = np.array(rows["se_logvar"])
        col.figure("G3.variance", "loglog", "G3: variance of the pathwise gradient vs T (log-log), with the fitted slope",
                   {"x": rows["T"], "xlabel": "temperature T", "ylabel": "Var[dy_1/dx_1]", "logx": True, "logy": True,
                    "series": [{"label": "measured, 95% CI", "y": var.tolist(),
                                "ylo": (var * np.exp(-1.96 * se)).tolist(), "yhi": (var * np.exp(1.96 * se)).tolist(),
                                "style": "points"},
                               {"label": "exact (quadrature)", "y": rows["var_exact"], "style": "line"},
                               {"label": "p1 p2 / (6T)", "y": rows["asym"], "style": "dashed"}],
                    "fit": fit})
        mean = np.array(rows["mean"])
        col.figure("G3.bias", "loglog", "G3: bias of the pathwise gradient against the discrete gradient p1 p2, vs T",
                   {"x": rows["T"], "xlabel": "temperature T", "ylabel": "|E[dy_1/dx_1] - p1 p2|", "logx": True, "logy": True,
                    "series": [{"label": "exact |bias| (quadrature)", "y": [abs(b) for b in rows["bias_exact"]], "style": "line"},
                               {"label": "measured |mean - p1 p2|", "y": np.maximum(np.abs(mean - discrete), 1e-12).tolist(),
                                "style": "points"},
                               {"label": "2 se of the measured mean", "y": (2 * np.array(rows["se_mean"])).tolist(),
                                "style": "dashed"}]},
                   "The exact bias falls like T^2; the measured bias is within its sampling noise at every T.")
    return col.result()
