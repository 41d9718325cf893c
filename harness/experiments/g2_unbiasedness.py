r"""G2, unbiasedness of the pathwise gradient: :math:`\nabla_x E_g[f(y(x, g))] = E_g[\nabla_x f(y(x, g))]`.

K = 2, :math:`f(y) = h(y_1)` for :math:`h(y) = y` and :math:`h(y) = y^2`, at T = 0.5, 1, 2.
Ground truth :math:`\partial_{x_1} E[h(y_1)]` by 1-D quadrature over the logistic variable,
differentiated under the integral (:mod:`harness.experiments._binary`), cross-checked
(deterministic) against central finite differences of a 1e-12 quadrature of :math:`E[h(y_1)]`.
Monte Carlo z-tests against it of

* the **pathwise** estimator: autograd of :math:`h(y_1)` through the torch reference
  (``relaxed_from_noise``, float64), one gradient per sample;
* the **score-function** estimator :math:`h(y_1)\,\partial_{x_1}\log p(y; x)` with the C1 density
  (``torch.distributions.RelaxedOneHotCategorical.log_prob``, which C1 shows equals
  ``reference.laws.concrete_logpdf``), on independent samples: an independent estimate.
"""
from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np

from harness.checks.builders import z_verdict
from harness.core.context import RunContext
from harness.experiments import _binary
from harness.experiments.base import Collector, experiment, tname, torch_generator

X = np.array([0.3, -0.4])
TEMPS = (0.5, 1.0, 2.0)
#: K = 3 (spec: "K = 3 by 2-D quadrature"): the pathwise gradient of E[y_1] against a 2-D
#: quadrature over the simplex of y_1 times the score of the Concrete density (C1)
X3 = np.array([0.3, -0.4, 0.1])
TEMPS3 = (0.5, 1.0)
FUNCS = ("y1", "y1^2")


def sizes(b):
    return {"n": b.n_gradient}


def _h(name: str, y1):
    return y1 if name == "y1" else y1 * y1


def _k3_density_terms(y1: float, y2: float, t: float, x1_shift: float = 0.0) -> tuple[float, float]:
    """(Concrete density of (y1, y2, 1 - y1 - y2) at logits X3 (+ x1_shift on x_1), its
    derivative with respect to x_1), as plain floats (dblquad calls this ~1e5 times)."""
    y3 = 1.0 - y1 - y2
    if y1 <= 0 or y2 <= 0 or y3 <= 0:
        return 0.0, 0.0
    xs = (X3[0] + x1_shift, X3[1], X3[2])
    ys = (y1, y2, y3)
    ws = [math.exp(xi - t * math.log(yi)) for xi, yi in zip(xs, ys)]
    sw = sum(ws)
    logp = math.log(2.0 * t * t) + sum(xi - (t + 1) * math.log(yi) for xi, yi in zip(xs, ys)) - 3 * math.log(sw)
    p = math.exp(logp)
    return p, p * (1.0 - 3.0 * ws[0] / sw)


@lru_cache(maxsize=32)
def k3_quadrature(t: float, what: str = "grad", x1_shift: float = 0.0) -> float:
    """2-D quadrature (scipy.integrate.dblquad) over the simplex: ``"mass"`` (int p = 1),
    ``"mean"`` (E[y_1]) or ``"grad"`` (d/dx_1 E[y_1] = int y_1 dp/dx_1, differentiation under
    the integral) for the Concrete law at logits X3 and temperature ``t``."""
    from scipy.integrate import dblquad

    def f(y2, y1):
        p, dp = _k3_density_terms(y1, y2, t, x1_shift)
        return p if what == "mass" else y1 * p if what == "mean" else y1 * dp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quadpack's subdivision notices; accuracy is checked (G2.k3.ground_truth)
        val, _ = dblquad(f, 0.0, 1.0, 0.0, lambda y1: 1.0 - y1, epsabs=1e-10, epsrel=1e-9)
    return float(val)


def pathwise(ctx: RunContext, check: str, h: str, t: float, n: int, x0: np.ndarray = X) -> np.ndarray:
    import torch

    from reference.torch_gumbel_softmax import gumbel_noise, relaxed_from_noise

    k = x0.size
    g = gumbel_noise((n, k), generator=torch_generator(ctx, check))
    x = torch.tensor(x0, dtype=torch.float64).expand(n, k).clone().requires_grad_(True)
    y = relaxed_from_noise(x, g, t)
    _h(h, y[:, 0]).sum().backward()
    return x.grad[:, 0].numpy().copy()


def score(ctx: RunContext, check: str, h: str, t: float, n: int) -> np.ndarray:
    import torch
    from torch.distributions import RelaxedOneHotCategorical

    from reference.torch_gumbel_softmax import gumbel_noise, relaxed_from_noise

    g = gumbel_noise((n, 2), generator=torch_generator(ctx, check))
    x0 = torch.tensor(X, dtype=torch.float64)
    with torch.no_grad():
        y = relaxed_from_noise(x0.expand(n, 2), g, t)
    x = x0.expand(n, 2).clone().requires_grad_(True)
    lp = RelaxedOneHotCategorical(torch.tensor(t, dtype=torch.float64), logits=x).log_prob(y)
    lp.sum().backward()
    return (_h(h, y[:, 0]) * x.grad[:, 0]).numpy().copy()


@experiment(
    "G2",
    title="Unbiasedness of the reparameterization gradient",
    claim=("The gradient of the expectation equals the expectation of the pathwise gradient; checked against "
           "an exact quadrature ground truth and against the independent score-function estimator."),
    formula="grad_x E_g[f(y(x, g))] = E_g[grad_x f(y(x, g))] = E_y[f(y) grad_x log p(y; x)]",
    implementations=("reference.torch_gumbel_softmax.relaxed_from_noise + autograd (float64)",
                     "torch.distributions.RelaxedOneHotCategorical.log_prob (score function)",
                     "scipy.integrate.quad (ground truth)"),
    planned=2 * len(TEMPS) * len(FUNCS) + len(TEMPS3),
    sizes=sizes,
)
def run(ctx: RunContext):
    col = Collector(ctx, "G2")
    n = sizes(ctx.budget)["n"]
    delta = float(X[0] - X[1])

    def fdcheck():
        worst = 0.0
        for h in FUNCS:
            for t in TEMPS:
                a = _binary.grad_expect(h, delta, t)
                fd = _binary.finite_difference(lambda d: _binary.expect(h, d, t), delta)
                worst = max(worst, abs(a - fd))
        return col.deterministic("G2.ground_truth", "d/dx1 E[h(y1)] by differentiation under the integral equals central "
                                 "finite differences of the quadrature of E[h(y1)] (h = y, y^2; T = 0.5, 1, 2)",
                                 worst, 1e-8, test="quadrature: analytic vs finite differences")

    col.guard("G2.ground_truth", "ground truth", fdcheck)
    def k3_truth():
        worst = 0.0
        for t in TEMPS3:
            hstep = 1e-3
            fd = (k3_quadrature(t, "mean", hstep) - k3_quadrature(t, "mean", -hstep)) / (2 * hstep)
            worst = max(worst, abs(k3_quadrature(t, "grad") - fd), abs(k3_quadrature(t, "mass") - 1.0))
        return col.deterministic("G2.k3.ground_truth", "K = 3: the 2-D quadrature of the Concrete density has mass 1 "
                                 "and its d/dx1 E[y1] (under the integral) equals central finite differences of E[y1] "
                                 "(T = 0.5, 1)", worst, 1e-6, test="2-D quadrature (scipy dblquad)")
    col.guard("G2.k3.ground_truth", "K = 3 ground truth", k3_truth)
    for t in TEMPS3:
        check = f"G2.k3.pathwise.y1.{tname(t)}"
        text = f"K = 3: E[d y1/dx1] = d/dx1 E[y1] (2-D quadrature), T = {t:g}, x = {X3.tolist()}"

        def k3_check(check=check, t=t, text=text):
            exact = k3_quadrature(t, "grad")
            return z_verdict("G2", check, text.replace("(2-D", f"= {exact:.8g} (2-D"), pathwise(ctx, check, "y1", t, n, X3),
                             exact, **col.kw(check), details={"temperature": t, "h": "y1", "estimator": "pathwise",
                                                              "logits": X3.tolist()}, measure="gradient_shift")
        col.guard(check, text, k3_check)
    fig = {h: {"path": [], "path_se": [], "score": [], "score_se": [], "exact": []} for h in FUNCS}
    for h in FUNCS:
        for t in TEMPS:
            exact = _binary.grad_expect(h, delta, t)
            for est, fn in (("pathwise", pathwise), ("score", score)):
                check = f"G2.{est}.{h.replace('^', '')}.{tname(t)}"
                text = (f"E[{'d h(y1)/dx1' if est == 'pathwise' else 'h(y1) d log p(y)/dx1'}] = d/dx1 E[h(y1)] = {exact:.8g} "
                        f"(exact), h(y) = {h.replace('y1', 'y')}, T = {t:g}, x = {X.tolist()}")
                v = col.guard(check, text, lambda fn=fn, check=check, h=h, t=t, text=text, exact=exact: z_verdict(
                    "G2", check, text, fn(ctx, check, h, t, n), exact, **col.kw(check),
                    details={"temperature": t, "h": h, "estimator": est}, measure="gradient_shift"))
                if v and v[0].pvalue is not None:
                    key = "path" if est == "pathwise" else "score"
                    fig[h][key].append(v[0].details.get("estimate"))
                    fig[h][key + "_se"].append(v[0].details.get("se"))
            fig[h]["exact"].append(exact)
    for h in FUNCS:
        d = fig[h]
        if len(d["path"]) == len(TEMPS) and len(d["score"]) == len(TEMPS):
            col.figure(f"G2.{h.replace('^', '')}", "sweep",
                       f"G2: d/dx1 E[{h.replace('y1', 'y_1')}] - pathwise and score-function estimates vs the exact gradient",
                       {"x": list(TEMPS), "xlabel": "temperature T", "ylabel": "gradient", "logx": True,
                        "series": [{"label": "exact (quadrature)", "y": d["exact"], "style": "line"},
                                   {"label": "pathwise (autograd), +-2 se", "y": d["path"],
                                    "yerr": [2 * s for s in d["path_se"]], "style": "points"},
                                   {"label": "score function (C1 density), +-2 se", "y": d["score"],
                                    "yerr": [2 * s for s in d["score_se"]], "style": "points"}]})
    return col.result()
