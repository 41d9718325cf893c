r"""T3, independence of the maximum and the argmax: the law of :math:`M = \max_i(x_i + g_i)` given
:math:`\arg\max = i` is the same Gumbel(lse(x), 1) for every :math:`i`.

Per class a KS test of :math:`M \mid \arg\max = i` against the exact CDF (all of them in the
report's Holm family), plus a chi-square test of independence of the argmax and :math:`M` binned
at the deciles of Gumbel(lse(x)) (:func:`harness.stats.continuous.independence_chi2`).
"""
from __future__ import annotations

import math

import numpy as np

from harness.checks.builders import error_verdict, independence_verdict, ks_verdict
from harness.core.context import RunContext
from harness.experiments.base import Collector, experiment, repro
from harness.checks.samplers import draw_noise, reference_noise
from harness.checks.claims import fmt_logits
from reference import laws
from reference.softmax import logsumexp, softmax

REGIMES: list[tuple[str, list[float]]] = [
    ("k4", [1.0, 0.0, -1.0, 0.5]),
    ("peaked_neg_inf", [2.5, 0.0, -math.inf, -1.0]),
]


def sizes(b):
    return {"n": b.n_continuous}


def _planned(ctx) -> int:
    return sum(int(np.sum(np.isfinite(x))) + 1 for _, x in REGIMES)


@experiment(
    "T3",
    title="Independence of the maximum and the argmax",
    claim="The maximum M of the perturbed logits is independent of which category attains it.",
    formula="P(M <= m | argmax = i) = exp(-exp(-(m - lse(x)))) for every i with p_i > 0",
    implementations=("reference.numpy_sampler.gumbel_noise (float64)",),
    planned=_planned,
    sizes=sizes,
)
def run(ctx: RunContext):
    col = Collector(ctx, "T3")
    n = sizes(ctx.budget)["n"]
    for name, raw in REGIMES:
        x = np.asarray(raw, dtype=np.float64)
        lse = float(logsumexp(x))
        p = softmax(x)
        check = f"T3.{name}"
        seed = ctx.seed_for(check)
        text0 = f"M | argmax = i ~ Gumbel(lse(x) = {lse:.5g}, 1) for every i, x = {fmt_logits(x)}"
        try:
            g = draw_noise(reference_noise, n * x.size, seed).reshape(n, x.size)
        except Exception as exc:  # noqa: BLE001
            col.add(error_verdict("T3", check, text0, exc, seed=seed, reproduce=repro(ctx, check),
                                  alpha=ctx.alpha))
            continue
        s = x + g
        m = s.max(axis=1)
        a = s.argmax(axis=1)
        cdf = lambda v, lse=lse: laws.gumbel_cdf(v, loc=lse)  # noqa: E731
        series = []
        for i in np.flatnonzero(p > 0):
            ci = f"{check}.class{i}"
            text = f"M | argmax = {i} ~ Gumbel(lse(x) = {lse:.5g}, 1), p_{i} = {p[i]:.4g}, x = {fmt_logits(x)}"
            sel = m[a == i]
            if sel.size == 0:
                col.add(error_verdict("T3", ci, text, f"class {i} (p = {p[i]:.3g}) never attained the max in {n} draws",
                                      n=n, seed=seed, reproduce=repro(ctx, ci), alpha=ctx.alpha, test="Kolmogorov-Smirnov"))
                continue
            kw = col.kw(check)
            kw["reproduce"] = repro(ctx, ci, seed)
            v = col.add(ks_verdict("T3", ci, text, sel, cdf, **kw, details={"class": int(i), "count": int(sel.size)}))[0]
            e = v.details.get("ecdf", {})
            series.append({"label": f"argmax = {i} (n = {sel.size})", "x": [t - lse for t in e.get("x", [])],
                           "y": list(e.get("ecdf", []))})
        zero = np.flatnonzero(p == 0)
        if zero.size and np.isin(a, zero).any():
            col.add(error_verdict("T3", f"{check}.impossible", text0, "a zero-probability category attained the max",
                                  n=n, seed=seed, reproduce=repro(ctx, check), alpha=ctx.alpha))
        ci = f"{check}.chi2"
        text = f"argmax and M are independent (contingency of argmax x deciles of Gumbel(lse(x))), x = {fmt_logits(x)}"

        def chi2(ci=ci, text=text, a=a, m=m, lse=lse, seed=seed):
            edges = laws.gumbel_ppf(np.arange(1, 10) / 10.0, loc=lse)
            return independence_verdict("T3", ci, text, a, m, edges, seed=seed,
                                        reproduce=repro(ctx, ci, seed), alpha=ctx.alpha,
                                        family_size=ctx.family_size)

        col.guard(ci, text, chi2)
        grid = np.linspace(-3, 8, 200)
        col.figure(f"T3.{name}.ecdf", "ecdf", f"T3: ECDF of M - lse(x) given the argmax, x = {fmt_logits(x)}",
                   {"series": series, "exact": {"x": grid.tolist(), "y": laws.gumbel_cdf(grid).tolist()},
                    "xlabel": "m - lse(x)"})
    return col.result()
