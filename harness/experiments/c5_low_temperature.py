r"""C5, the limit T -> 0 (K = 2): :math:`E[1 - \max_i y_i] = 2\ln 2\,p_1 p_2\,T + O(T^3)`,
:math:`E[y] \to p`, and the argmax law is exact at every T.

For each T of a grid from 1 to 1e-3, on the torch reference (float64):

* a z-test of the mean of :math:`1 - \max y` (computed as the smaller coordinate, no
  cancellation) against its **exact** value, a 1-D quadrature over the logistic variable
  (:mod:`harness.experiments._binary`); the measured and exact ratios to the asymptote
  :math:`2\ln 2\,p_1p_2T` are reported and plotted (they tend to 1);
* a z-test of the mean of :math:`y_1` against its exact value (which tends to :math:`p_1`);
* a chi-square of the argmax frequencies against :math:`p` (their TV distance to p is plotted: it is
  sampling noise at every T), while the L1 distance of y to the one-hot, :math:`2(1 - \max y)`
  for K = 2, falls linearly with T.

Deterministic: the exact ratio is within 1e-5 of 1 at T = 1e-3, the exact curve decreases with T,
and :math:`|E[y_1] - p_1| < 10^{-6}` at T = 1e-3.
"""
from __future__ import annotations

import math

import numpy as np

from harness.checks.builders import discrete_verdict, z_verdict
from harness.core.context import RunContext
from harness.experiments import _binary
from harness.experiments.base import Collector, experiment, tname
from harness.checks.samplers import draw_relaxed, torch_as_relaxed
from reference import laws
from reference.softmax import softmax

X = np.array([0.6, 0.0])
GRID = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
#: temperatures where E[y_1] is tested: below 0.1, y is one-hot to within 1e-2 on almost every
#: draw and mean(y_1) is the same statistic as the argmax frequency (a duplicate test costs power)
MEAN_Y1_T = (1.0, 0.3, 0.1)
#: temperatures where the approach to the asymptote is tested: |ratio - 1| <= T^2 (it is 0.485 T^2)
ASYMPTOTE_T = (0.03, 0.01, 0.003, 0.001)


def sizes(b):
    return {"n_per_T": 4 * b.n_relaxed}


@experiment(
    "C5",
    title="The zero-temperature limit",
    claim=("As T -> 0 the Concrete sample tends to the one-hot Gumbel-max sample: for K = 2, "
           "E[1 - max y] = 2 ln2 p1 p2 T + o(T), E[y] -> p, and the argmax law is exact at every T."),
    formula="E[1 - max_i y_i] = 2 ln(2) p_1 p_2 T + O(T^3)  (K = 2)",
    implementations=("reference.torch_gumbel_softmax (float64)", "scipy.integrate.quad (exact curve)"),
    planned=2 * len(GRID) + len(MEAN_Y1_T),
    sizes=sizes,
)
def run(ctx: RunContext):
    from reference.torch_gumbel_softmax import gumbel_softmax

    col = Collector(ctx, "C5")
    n = sizes(ctx.budget)["n_per_T"]
    delta = float(X[0] - X[1])
    p = softmax(X)
    sampler = torch_as_relaxed(gumbel_softmax)
    rows = {k: [] for k in ("T", "mean", "se", "exact", "asym", "mean_y1", "se_y1", "exact_y1", "tv", "l1")}
    for t in GRID:
        check = f"C5.{tname(t)}"
        exact = _binary.one_minus_max(delta, t)
        asym = float(laws.one_minus_max_asymptote(X, t))
        ey1 = _binary.expect("y1", delta, t)
        try:
            y = draw_relaxed(sampler, X, t, n, ctx.seed_for(check))
        except Exception as exc:  # noqa: BLE001
            col.guard(check, "draw", lambda exc=exc: (_ for _ in ()).throw(exc))
            continue
        omm = np.min(y, axis=1)  # 1 - max y for K = 2, without cancellation
        text = (f"E[1 - max y] = {exact:.6g} (exact; asymptote 2 ln2 p1 p2 T = {asym:.6g}, ratio {exact / asym:.6f}) "
                f"at T = {t:g}, x = {X.tolist()}")
        v = col.add(z_verdict("C5", f"{check}.one_minus_max", text, omm, exact, **col.kw(f"{check}.one_minus_max"),
                              details={"temperature": t, "asymptote": asym, "exact": exact}))[0]
        v1 = None
        if t in MEAN_Y1_T:
            text = f"E[y_1] = {ey1:.8g} (exact; p_1 = {p[0]:.8g}) at T = {t:g}"
            v1 = col.add(z_verdict("C5", f"{check}.mean_y1", text, y[:, 0], ey1, **col.kw(f"{check}.mean_y1"),
                                   details={"temperature": t, "p1": float(p[0])}))[0]
        cnt = np.bincount(np.argmax(y, axis=1), minlength=2)
        text = f"argmax of y ~ Categorical(p = {np.round(p, 6).tolist()}) at T = {t:g}"
        col.add(discrete_verdict("C5", f"{check}.argmax", text, cnt, p, **col.kw(f"{check}.argmax"),
                                 details={"temperature": t}))
        rows["T"].append(t)
        rows["mean"].append(v.details.get("estimate"))
        rows["se"].append(v.details.get("se"))
        rows["exact"].append(exact)
        rows["asym"].append(asym)
        rows["mean_y1"].append(v1.details.get("estimate") if v1 else float(np.mean(y[:, 0])))
        rows["se_y1"].append(v1.details.get("se") if v1 else float(np.std(y[:, 0]) / math.sqrt(n)))
        rows["exact_y1"].append(ey1)
        rows["tv"].append(float(0.5 * np.abs(cnt / n - p).sum()))
        rows["l1"].append(2.0 * float(np.mean(omm)))

    tmin = min(GRID)
    ratio = _binary.one_minus_max(delta, tmin) / float(laws.one_minus_max_asymptote(X, tmin))
    col.add(col.deterministic("C5.exact_ratio", f"exact E[1 - max y] / (2 ln2 p1 p2 T) -> 1: at T = {tmin:g}",
                              abs(ratio - 1.0), 1e-5, test="1-D quadrature",
                              reason=f"ratio {ratio:.9f} at T = {tmin:g}",
                              details={"ratios": {str(t): _binary.one_minus_max(delta, t) / float(laws.one_minus_max_asymptote(X, t)) for t in GRID}}))
    rel = {t: abs(_binary.one_minus_max(delta, t) / float(laws.one_minus_max_asymptote(X, t)) - 1.0) / t ** 2
           for t in ASYMPTOTE_T}
    col.add(col.deterministic("C5.asymptote_order", "E[1 - max y] = 2 ln2 p1 p2 T (1 + O(T^2)): |ratio - 1| <= T^2 "
                              f"at T = {', '.join(f'{t:g}' for t in ASYMPTOTE_T)}",
                              max(rel.values()), 1.0, test="1-D quadrature",
                              reason="max |ratio - 1| / T^2 = " + f"{max(rel.values()):.4f}",
                              details={"relative_error_over_T2": {str(t): v for t, v in rel.items()}}))
    ex = [_binary.one_minus_max(delta, t) for t in sorted(GRID)]
    bad = sum(1 for a, b in zip(ex, ex[1:]) if not a < b)
    col.add(col.deterministic("C5.exact_monotone", "the exact E[1 - max y] decreases as T decreases (T grid)",
                              float(bad), 0.0, test="1-D quadrature",
                              reason=f"{bad} non-increasing steps along the T grid", details={"exact": ex}))
    e1 = _binary.expect("y1", delta, tmin)
    col.add(col.deterministic("C5.mean_limit", f"E[y_1] -> p_1 as T -> 0: |E[y_1] - p_1| at T = {tmin:g}",
                              abs(e1 - p[0]), 1e-6, test="1-D quadrature",
                              reason=f"|E[y_1] - p_1| = {abs(e1 - p[0]):.2e} at T = {tmin:g}"))
    if rows["T"]:
        T = np.array(rows["T"])
        mean, se, asym, exact = (np.array(rows[k], dtype=float) for k in ("mean", "se", "asym", "exact"))
        col.figure("C5.one_minus_max", "sweep", "C5: E[1 - max y] over T (K = 2), measured vs exact and the asymptote",
                   {"x": T.tolist(), "xlabel": "temperature T", "ylabel": "E[1 - max_i y_i]", "logx": True, "logy": True,
                    "series": [{"label": "measured (torch reference), +-2 se", "y": mean.tolist(),
                                "yerr": (2 * se).tolist(), "style": "points"},
                               {"label": "exact (quadrature)", "y": exact.tolist(), "style": "line"},
                               {"label": "2 ln2 p1 p2 T", "y": asym.tolist(), "style": "dashed"}]})
        col.figure("C5.ratio", "sweep", "C5: E[1 - max y] / (2 ln2 p1 p2 T) -> 1 as T -> 0",
                   {"x": T.tolist(), "xlabel": "temperature T", "ylabel": "ratio to the asymptote", "logx": True,
                    "hline": 1.0,
                    "series": [{"label": "measured / asymptote, +-2 se", "y": (mean / asym).tolist(),
                                "yerr": (2 * se / asym).tolist(), "style": "points"},
                               {"label": "exact / asymptote", "y": (exact / asym).tolist(), "style": "line"}]})
        col.figure("C5.distances", "sweep", "C5: L1 distance of y to the one-hot falls with T; argmax TV to p stays at noise level",
                   {"x": T.tolist(), "xlabel": "temperature T", "ylabel": "distance", "logx": True, "logy": True,
                    "series": [{"label": "E||y - onehot(argmax y)||_1 (measured)", "y": rows["l1"], "style": "points"},
                               {"label": "2 x exact E[1 - max y]", "y": (2 * exact).tolist(), "style": "line"},
                               {"label": "TV(argmax frequencies, p)", "y": [max(v, 1e-12) for v in rows["tv"]],
                                "style": "points"},
                               {"label": "sampling noise of the TV (~sqrt(p1 p2 / n))",
                                "y": [math.sqrt(p[0] * p[1] / n)] * len(T), "style": "dashed"}]})
    return col.result()
