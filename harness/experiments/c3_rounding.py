r"""C3, rounding: :math:`\arg\max_i y_i \sim \mathrm{Categorical}(p)` at every T > 0 (softmax is
monotone, so the argmax of y is the Gumbel-max sample).

Chi-square through :func:`harness.checks.claims.rounding_law` over a T grid from 1e-3 to 10, with
-inf entries, with a +-1000 shift at T = 1e-3, and on the torch reference in float64 and float32.
The float16 path is measured, not judged: its output is rounded to 11 bits, so at large T two
coordinates of y tie and ``argmax`` resolves the tie to the lower index (reported as a finding).
"""
from __future__ import annotations

import math

import numpy as np

from harness.core.context import RunContext
from harness.experiments.base import Collector, experiment, tname
from harness.checks.samplers import reference_relaxed, torch_as_relaxed
from harness.checks.claims import rounding_law
from reference.softmax import softmax

X = [1.0, 0.0, -0.5, 0.7]
GRID = (1e-3, 1e-2, 0.1, 1.0, 10.0)
EXTRA: list[tuple[str, str, list[float], float]] = [
    ("numpy", "neg_inf", [0.0, -math.inf, 1.0, -0.5], 0.5),
    ("numpy", "shift1000", [1000.0, 999.0, 1001.0, 998.5], 1e-3),
    ("torch64", "base", X, 0.1),
    ("torch32", "base", X, 1e-3),
    ("torch32", "base", X, 1.0),
]


def sizes(b):
    return {"n": b.n_relaxed}


def _tv(v) -> float:
    o = np.asarray(v.details.get("observed", []), dtype=float)
    e = np.asarray(v.details.get("expected", []), dtype=float)
    return float(0.5 * np.abs(o / o.sum() - e / e.sum()).sum()) if o.size and o.sum() > 0 else math.nan


@experiment(
    "C3",
    title="Rounding the Concrete sample gives the categorical sample",
    claim="For every T > 0 the argmax of y = softmax((x + g)/T) is distributed as softmax(x).",
    formula="P(argmax_i y_i = i) = softmax(x)_i  for all T > 0",
    implementations=("reference numpy Concrete sampler (float64)", "reference.torch_gumbel_softmax (float64, float32)"),
    planned=len(GRID) + len(EXTRA),
    sizes=sizes,
)
def run(ctx: RunContext):
    import torch

    from reference.torch_gumbel_softmax import gumbel_softmax

    col = Collector(ctx, "C3")
    n = sizes(ctx.budget)["n"]
    tvs = []
    for t in GRID:
        v = col.add(rounding_law(reference_relaxed, X, t, n, ctx, check=f"C3.numpy.{tname(t)}"))
        tvs.append(_tv(v[0]))
    samplers = {"numpy": reference_relaxed, "torch64": torch_as_relaxed(gumbel_softmax, dtype=torch.float64),
                "torch32": torch_as_relaxed(gumbel_softmax, dtype=torch.float32)}
    for impl, name, x, t in EXTRA:
        check = f"C3.{impl}.{name}_{tname(t)}" if name != "base" else f"C3.{impl}.{tname(t)}"
        col.add(rounding_law(samplers[impl], x, t, n, ctx, check=check))
    p = softmax(np.array(X))
    # E[TV] under the null, normal approximation: TV = 0.5 sum_i |p_hat_i - p_i| with
    # p_hat_i - p_i ~ N(0, p_i (1 - p_i)/n) and E|N(0, s^2)| = s sqrt(2/pi)
    tv_null = [float(0.5 * math.sqrt(2 / math.pi) * np.sum(np.sqrt(p * (1 - p) / n)))] * len(GRID)
    col.figure("C3.tv", "sweep", "C3: total variation between argmax frequencies and softmax(x), over T",
               {"x": list(GRID), "xlabel": "temperature T", "ylabel": "TV(argmax freq., p)", "logx": True,
                "series": [{"label": "measured TV (numpy reference)", "y": tvs, "style": "points"},
                           {"label": "E[TV] under the null (sampling noise, normal approx.)", "y": tv_null, "style": "dashed"}]},
               "Zero in law at every T: the measured distance is sampling noise only.")

    def half():
        rows = []
        x16 = torch.tensor(X, dtype=torch.float16)
        for t in (1.0, 10.0):
            torch.manual_seed(ctx.seed_for(f"C3.float16.{tname(t)}") % (2**63))
            y = gumbel_softmax(x16.expand(n, -1).contiguous(), tau=t).float().numpy()
            ties = int(np.sum(np.sum(y == y.max(axis=1, keepdims=True), axis=1) > 1))
            freq = np.bincount(np.argmax(y, axis=1), minlength=len(X)) / n
            rows.append({"temperature": t, "samples": n, "tied_rows": ties, "tie_rate": ties / n,
                         "tv_argmax_vs_p": float(0.5 * np.abs(freq - p).sum())})
        col.finding("C3.float16", "float16 output: ties in the argmax",
                    "float16 logits are computed in float32 and the result cast to float16 (11-bit "
                    "mantissa). At large T the coordinates of y are close and round to equal values; "
                    "argmax then returns the lowest tied index, a bias towards low indices whose size "
                    "is the tie rate. Take the argmax of the scores (hard=True does) or of a float32 "
                    "result, not of a float16 y. " +
                    "; ".join(f"T = {r['temperature']:g}: {r['tied_rows']} of {r['samples']} rows tied "
                              f"(TV of argmax frequencies to p: {r['tv_argmax_vs_p']:.2e})" for r in rows),
                    {"rows": rows})
        return []

    col.guard("C3.float16", "float16 finding", half)
    return col.result()
