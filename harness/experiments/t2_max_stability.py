r"""T2, max-stability: :math:`M = \max_i (x_i + g_i) \sim \mathrm{Gumbel}(\operatorname{lse}(x), 1)`.

Kolmogorov-Smirnov through :func:`harness.checks.claims.max_stability` (NumPy float64 noise and
the torch float64 noise) and Anderson-Darling on an independent draw (tail-weighted; the upper
tail uses the survival function, no cancellation), for random logits, K = 50, -inf entries and a
+1000 shift.
"""
from __future__ import annotations

import math

import numpy as np

from harness.checks.builders import ad_verdict
from harness.checks.confirmation import design_rng
from harness.core.context import RunContext
from harness.experiments.base import Collector, ecdf_series, experiment, qq_data, torch_noise_sampler
from harness.checks.samplers import draw_noise, reference_noise
from harness.checks.claims import fmt_logits, max_stability
from reference import laws
from reference.softmax import logsumexp

REGIMES: list[tuple[str, list[float] | None]] = [
    ("k5", [0.5, -1.2, 2.0, 0.0, -0.3]),
    ("k50", None),  # N(0, 2^2) logits drawn from the check's seed
    ("neg_inf", [0.0, -math.inf, 2.0, -1.0]),
    ("shift1000", [1000.0, 999.5, 1001.0, 998.0]),
]


def sizes(b):
    return {"n": b.n_continuous}


def _logits(ctx: RunContext, name: str, x):
    if x is not None:
        return np.asarray(x, dtype=np.float64)
    return design_rng(ctx, f"T2.{name}.logits").normal(0.0, 2.0, 50)  # the same in both stages


@experiment(
    "T2",
    title="Max-stability of the Gumbel law",
    claim="The maximum of the perturbed logits is Gumbel distributed with location lse(x) and scale 1.",
    formula="P(max_i (x_i + g_i) <= m) = exp(-exp(-(m - lse(x))))",
    implementations=("reference.numpy_sampler.gumbel_noise (float64)",
                     "reference.torch_gumbel_softmax.gumbel_noise (float64)"),
    planned=2 * len(REGIMES) + 1,
    sizes=sizes,
    cost=3,
)
def run(ctx: RunContext):
    col = Collector(ctx, "T2")
    n = sizes(ctx.budget)["n"]
    series = []
    for name, raw in REGIMES:
        x = _logits(ctx, name, raw)
        lse = float(logsumexp(x))
        vs = col.add(max_stability(reference_noise, x, n, ctx, check=f"T2.ks.{name}"))
        if name in ("k5", "shift1000") and vs and "ecdf" in vs[0].details:
            series.append(ecdf_series(vs[0], label=f"{name} (shifted by lse = {lse:.4g})"))
            s = series[-1]
            s["x"] = [v - lse for v in s["x"]]
        check = f"T2.ad.{name}"
        text = f"max_i (x_i + g_i) ~ Gumbel(lse(x) = {lse:.6g}, 1), x = {fmt_logits(x)} (Anderson-Darling)"

        def ad(x=x, lse=lse, check=check, text=text, name=name):
            g = draw_noise(reference_noise, n * x.size, col.ctx.seed_for(check)).reshape(n, x.size)
            m = np.max(x + g, axis=1)
            if name == "k5":
                col.figure("T2.qq", "qq", f"T2: QQ of max_i (x_i + g_i) - lse(x) against Gumbel(0, 1), x = {fmt_logits(x)}",
                           dict(qq_data(m - lse, laws.gumbel_ppf), xlabel="Gumbel(0, 1) quantile",
                                ylabel="sample quantile of M - lse(x)"))
            return ad_verdict("T2", check, text, m, lambda v: laws.gumbel_cdf(v, loc=lse),
                              logcdf=lambda v: laws.gumbel_logcdf(v, loc=lse),
                              logsf=lambda v: np.log(laws.gumbel_sf(v, loc=lse)), **col.kw(check),
                              details={"lse": lse})

        col.guard(check, text, ad)
    x = np.array([0.5, -1.2, 2.0, 0.0, -0.3])
    col.add(max_stability(torch_noise_sampler("float64"), x, n, ctx, check="T2.ks.torch64"))
    grid = np.linspace(-3, 8, 200)
    col.figure("T2.ecdf", "ecdf", "T2: empirical CDF of max_i (x_i + g_i) - lse(x) vs Gumbel(0, 1)",
               {"series": series, "exact": {"x": grid.tolist(), "y": laws.gumbel_cdf(grid).tolist()},
                "xlabel": "m - lse(x)"})
    return col.result()
