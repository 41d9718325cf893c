r"""C4, the binary Concrete law (K = 2): :math:`y_1 = \sigma((x_1 - x_2 + L)/T)` and
:math:`P(y_1 \le u) = \sigma(T\,\mathrm{logit}(u) - (x_1 - x_2))`.

KS against the exact CDF through :func:`harness.checks.claims.binary_concrete` (on the logit
scale, which is the same statistic without saturation at 0 and 1), over a T grid on the NumPy
reference and on the torch reference in float64 and float32.
"""
from __future__ import annotations

import numpy as np

from harness.core.context import RunContext
from harness.experiments.base import Collector, ecdf_series, experiment, tname
from harness.checks.samplers import reference_relaxed, torch_as_relaxed
from harness.checks.claims import binary_concrete
from reference import laws

X = [0.8, -0.4]
CASES: list[tuple[str, float]] = [("numpy", 0.1), ("numpy", 0.5), ("numpy", 1.0), ("numpy", 3.0),
                                  ("torch64", 0.5), ("torch32", 1.0)]


def sizes(b):
    return {"n": b.n_relaxed}


@experiment(
    "C4",
    title="The binary Concrete law",
    claim="For K = 2, y_1 = sigmoid((x_1 - x_2 + L)/T) with L ~ Logistic(0, 1); its CDF is exact.",
    formula="P(y_1 <= u) = sigmoid(T logit(u) - (x_1 - x_2))",
    implementations=("reference numpy Concrete sampler (float64)", "reference.torch_gumbel_softmax (float64, float32)"),
    planned=len(CASES),
    sizes=sizes,
)
def run(ctx: RunContext):
    import torch

    from reference.torch_gumbel_softmax import gumbel_softmax

    col = Collector(ctx, "C4")
    n = sizes(ctx.budget)["n"]
    samplers = {"numpy": reference_relaxed, "torch64": torch_as_relaxed(gumbel_softmax, dtype=torch.float64),
                "torch32": torch_as_relaxed(gumbel_softmax, dtype=torch.float32)}
    series = []
    delta = X[0] - X[1]
    for impl, t in CASES:
        check = f"C4.{impl}.{tname(t)}"
        vs = col.add(binary_concrete(samplers[impl], X, t, n, ctx, check=check))
        if impl == "numpy" and vs and "ecdf" in vs[0].details:
            s = ecdf_series(vs[0], label=f"T = {t:g}")
            # plot on the y_1 scale: the KS ran on z = logit(y_1); y_1 = sigmoid(z)
            s["x"] = laws.logistic_cdf(np.asarray(s["x"])).tolist()
            series.append(s)
    col.figure("C4.ecdf", "ecdf", f"C4: ECDF of y_1 vs sigmoid(T logit(u) - (x_1 - x_2)), x_1 - x_2 = {delta:g}",
               {"series": series, "xlabel": "u", "per_series_exact": True})
    return col.result()
