r"""C1, the Concrete density (Maddison, Mnih, Teh 2017):

.. math:: p(y) = (K-1)!\,T^{K-1}\prod_k \alpha_k y_k^{-T-1} \Big/ \Big(\sum_i \alpha_i y_i^{-T}\Big)^K,
   \quad \alpha = e^x,

a density of the first K - 1 coordinates on the open simplex (``reference.laws.concrete_logpdf``).

* **Normalisation** (deterministic): K = 2 by ``quad`` and K = 3 by a tensor trapezoid rule, both
  in the log-ratio coordinates :math:`s_i = \log(y_i/y_K)` (a bijection of the open simplex onto
  :math:`\mathbb R^{K-1}` with Jacobian :math:`\prod_k y_k`, where the integrand is smooth and
  decays exponentially, so the rules converge geometrically; in :math:`y` the density has
  integrable singularities at the faces for :math:`T < 1`).
* **Histogram** (K = 3, chi-square): the torch reference's samples counted in a grid of cells of the
  simplex, the images of the boxes of a grid in :math:`d_i = T\log(y_i/y_3) - (x_i - x_3)` cut at
  logistic quantiles (so every cell has mass); each cell's probability is the C1 density
  integrated over it by composite Gauss-Legendre. Cross-checked (deterministic) against the
  same cells' probabilities from the closed-form joint CDF of C2.
* **torch.distributions.RelaxedOneHotCategorical.log_prob** agrees with C1 to rounding (float64).
  What torch computes: ``ExpRelaxedCategorical.log_prob(log y)`` :math:`= \log(K-1)! + (K-1)\log T
  + \sum_k(x_k - T\log y_k) - K\operatorname{lse}(x - T\log y)` (logits normalised), and the
  ``ExpTransform`` subtracts :math:`\sum_{k=1}^{K}\log y_k`: exactly C1. At small T float samples
  have exact zeros; there torch returns NaN while C1 evaluated from :math:`\log y` is finite
  (pytorch#18254, tfp#1738): measured and reported as a finding.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.special import log_expit, logsumexp as sp_lse

from harness.checks.builders import discrete_verdict
from harness.core.context import RunContext
from harness.experiments.base import Collector, counts_figure_data, experiment, numpy_generator, tname
from harness.checks.samplers import draw_relaxed, reference_relaxed, torch_as_relaxed
from harness.checks.claims import fmt_logits
from reference import laws
from reference.softmax import log_softmax

X2 = np.array([0.8, -0.4])
X3 = np.array([0.5, -0.3, 0.1])
MC_TEMPS = (0.5, 2.0)
CUTS = 7


def sizes(b):
    return {"n_histogram": b.n_relaxed, "n_log_prob": 2000}


# ------------------------------------------------------------ normalisation -----------------

def normalisation_k2(x: np.ndarray, t: float) -> float:
    r""":math:`\int_0^1 p(y_1, 1 - y_1)\,dy_1` computed as :math:`\int_{\mathbb R} p(y(s))\,y_1 y_2\,ds`,
    :math:`y_1 = \sigma(s)`."""
    c = (x[0] - x[1]) / t

    def f(s: float) -> float:
        ly = np.array([log_expit(s), log_expit(-s)])
        return math.exp(float(laws.concrete_logpdf(None, x, t, log_y=ly)) + ly.sum())

    lo, hi = c - 50.0 / t, c + 50.0 / t
    val, _ = integrate.quad(f, lo, hi, points=[c], epsabs=0.0, epsrel=1e-13, limit=400)
    return float(val)


def normalisation_k3(x: np.ndarray, t: float, h_d: float = 0.15, half: float = 45.0) -> float:
    r""":math:`\iint p(y_1, y_2)\,dy_1 dy_2 = \iint p(y(s))\,y_1y_2y_3\,ds` by the trapezoid rule in
    :math:`s = (\log(y_1/y_3), \log(y_2/y_3))` (step :math:`h_d/T`, box :math:`\pm` ``half``/T)."""
    c = (x[:2] - x[2]) / t
    h = h_d / t
    m = int(round(2 * half / h_d)) + 1
    g1 = c[0] + (np.arange(m) - (m - 1) / 2) * h
    g2 = c[1] + (np.arange(m) - (m - 1) / 2) * h
    s1, s2 = np.meshgrid(g1, g2, indexing="ij")
    s = np.stack([s1, s2, np.zeros_like(s1)], axis=-1)
    ly = log_softmax(s)
    lp = laws.concrete_logpdf(None, x, t, log_y=ly) + ly.sum(axis=-1)
    return float(np.exp(lp).sum() * h * h)


# ------------------------------------------------------------ cells ---------------------------

def _panels(a: float, b: float) -> list[tuple[float, float]]:
    """Split [a, b] into panels of width 0.5, 1, 2, 4, ... growing away from the end nearer 0
    (the outer cells reach |d| = 40, where the integrand has decayed like e^-|d|)."""
    if b - a <= 1.0:
        return [(a, b)]
    toward_a = b <= 0  # lower outer cell: start at b, grow towards a
    pts = [b if toward_a else a]
    w = 0.5
    while (pts[-1] - w > a) if toward_a else (pts[-1] + w < b):
        pts.append(pts[-1] - w if toward_a else pts[-1] + w)
        w *= 2
    pts.append(a if toward_a else b)
    pts = sorted(pts)
    return list(zip(pts[:-1], pts[1:]))


def _nodes(a: float, b: float, order: int = 20) -> tuple[np.ndarray, np.ndarray]:
    u, w = np.polynomial.legendre.leggauss(order)
    xs, ws = [], []
    for lo, hi in _panels(a, b):
        xs.append((hi - lo) / 2 * u + (hi + lo) / 2)
        ws.append((hi - lo) / 2 * w)
    return np.concatenate(xs), np.concatenate(ws)


def cell_edges(cuts: int = CUTS, outer: float = 40.0) -> np.ndarray:
    """Cut points in d (logistic quantiles) with the outer truncation (mass beyond ~e^-40)."""
    inner = np.log(np.arange(1, cuts + 1) / (cuts + 1 - np.arange(1, cuts + 1)))
    return np.concatenate([[-outer], inner, [outer]])


def cell_probabilities_c1(x: np.ndarray, t: float, cuts: int = CUTS) -> np.ndarray:
    r"""Probability of each cell (box in :math:`d`) by integrating the C1 density: in the box
    variables :math:`d`, :math:`s = (d + x_{1:2} - x_3)/T` and the density is
    :math:`p(y(s))\,y_1 y_2 y_3 / T^2`."""
    e = cell_edges(cuts)
    nb = e.size - 1
    nodes = [_nodes(e[i], e[i + 1]) for i in range(nb)]
    out = np.zeros((nb, nb))
    for i in range(nb):
        d1, w1 = nodes[i]
        for j in range(nb):
            d2, w2 = nodes[j]
            D1, D2 = np.meshgrid(d1, d2, indexing="ij")
            s = np.stack([(D1 + x[0] - x[2]) / t, (D2 + x[1] - x[2]) / t, np.zeros_like(D1)], axis=-1)
            ly = log_softmax(s)
            lp = laws.concrete_logpdf(None, x, t, log_y=ly) + ly.sum(axis=-1) - 2 * math.log(t)
            out[i, j] = float(np.einsum("i,ij,j->", w1, np.exp(lp), w2))
    return out


def cell_probabilities_c2(cuts: int = CUTS) -> np.ndarray:
    """The same cells from the C2 joint CDF 1/(1 + e^-t1 + e^-t2) by inclusion-exclusion."""
    e = cell_edges(cuts)
    e = np.concatenate([[-np.inf], e[1:-1], [np.inf]])
    t1, t2 = np.meshgrid(e, e, indexing="ij")
    F = laws.logratio_joint_cdf(np.stack([t1, t2], axis=-1))
    return F[1:, 1:] - F[:-1, 1:] - F[1:, :-1] + F[:-1, :-1]


def _cell_counts(y: np.ndarray, x: np.ndarray, t: float, cuts: int = CUTS) -> np.ndarray:
    ly = np.log(y)
    d = t * (ly[:, :2] - ly[:, 2:3]) - (x[:2] - x[2])
    inner = cell_edges(cuts)[1:-1]
    i1 = np.searchsorted(inner, d[:, 0], side="right")
    i2 = np.searchsorted(inner, d[:, 1], side="right")
    return np.bincount(i1 * (cuts + 1) + i2, minlength=(cuts + 1) ** 2)


# ------------------------------------------------------------ experiment ----------------------

@experiment(
    "C1",
    title="The Concrete density",
    claim=("The Gumbel-softmax sample y = softmax((x + g)/T) has the Concrete density on the open "
           "simplex: it integrates to 1, matches sample histograms, and equals what "
           "torch.distributions.RelaxedOneHotCategorical.log_prob computes."),
    formula="p(y) = (K-1)! T^(K-1) prod_k (alpha_k y_k^(-T-1)) / (sum_i alpha_i y_i^(-T))^K,  alpha = e^x",
    implementations=("reference.laws.concrete_logpdf", "reference.torch_gumbel_softmax.gumbel_softmax (float64)",
                     "torch.distributions.RelaxedOneHotCategorical.log_prob", "scipy.integrate.quad / Gauss-Legendre"),
    planned=len(MC_TEMPS),
    sizes=sizes,
    cost=2,
)
def run(ctx: RunContext):
    col = Collector(ctx, "C1")
    n = sizes(ctx.budget)

    # normalisation
    for t in (0.1, 0.5, 1.0, 3.0):
        check = f"C1.normalisation.k2_{tname(t)}"
        text = f"int p(y) dy = 1 for K = 2, T = {t:g}, x = {fmt_logits(X2)} (quad in s = log(y1/y2))"
        col.guard(check, text, lambda t=t, check=check, text=text: col.deterministic(
            check, text, abs(normalisation_k2(X2, t) - 1.0), 1e-10, test="scipy.integrate.quad",
            details={"temperature": t}))
    for t in (0.5, 1.0, 2.0):
        check = f"C1.normalisation.k3_{tname(t)}"
        text = f"iint p(y) dy = 1 for K = 3, T = {t:g}, x = {fmt_logits(X3)} (trapezoid in log-ratio coordinates)"
        col.guard(check, text, lambda t=t, check=check, text=text: col.deterministic(
            check, text, abs(normalisation_k3(X3, t) - 1.0), 1e-10, test="2-D trapezoid rule",
            details={"temperature": t}))

    # cell probabilities: C1 quadrature vs C2 closed form
    cells = {}
    for t in MC_TEMPS:
        check = f"C1.cells_vs_C2.{tname(t)}"
        text = (f"the C1 density integrated over each of the {(CUTS + 1) ** 2} histogram cells equals the cell "
                f"probability from the C2 joint CDF (K = 3, T = {t:g})")

        def cellcheck(t=t, check=check, text=text):
            p1 = cell_probabilities_c1(X3, t)
            p2 = cell_probabilities_c2()
            cells[t] = p1
            err = float(np.max(np.abs(p1 - p2)))
            return col.deterministic(check, text, err, 1e-11, test="composite Gauss-Legendre vs closed form",
                                     reason=f"max |cell_C1 - cell_C2| = {err:.2e}; sum of C1 cells = {p1.sum():.15f}",
                                     details={"sum_c1": float(p1.sum()), "temperature": t})

        col.guard(check, text, cellcheck)

    # histogram chi-square on the torch reference
    from reference.torch_gumbel_softmax import gumbel_softmax

    sampler = torch_as_relaxed(gumbel_softmax)
    for t in MC_TEMPS:
        check = f"C1.histogram.{tname(t)}"
        text = (f"K = 3 Gumbel-softmax samples fall in the simplex cells with the probabilities of the "
                f"C1 density, T = {t:g}, x = {fmt_logits(X3)}")

        def hist(t=t, check=check, text=text):
            probs = cells[t] if t in cells else cell_probabilities_c1(X3, t)
            y = draw_relaxed(sampler, X3, t, n["n_histogram"], col.ctx.seed_for(check))
            obs = _cell_counts(y, X3, t)
            return discrete_verdict("C1", check, text, obs, probs.ravel() / probs.sum(), **col.kw(check),
                                    details={"temperature": t, "cuts": CUTS})

        v = col.guard(check, text, hist)
        if t == MC_TEMPS[0] and v and v[0].details.get("observed"):
            col.figure("C1.histogram.counts", "counts",
                       f"C1: K = 3 samples per simplex cell vs the integrated Concrete density (T = {t:g})",
                       counts_figure_data(v[0]), "Cells are the images of a grid of boxes in log-ratio "
                       "coordinates (row-major: d1 bin, then d2 bin).")

    # torch log_prob
    import torch
    from torch.distributions import RelaxedOneHotCategorical

    for k in (2, 3, 5):
        check = f"C1.torch_log_prob.k{k}"
        x = np.linspace(0.9, -0.7, k)
        text = (f"torch.distributions.RelaxedOneHotCategorical(T, logits=x).log_prob(y) = log C1(y) "
                f"(float64, T in 0.5, 1, 2, x = {fmt_logits(x)})")

        def lp(k=k, x=x, check=check, text=text):
            worst = 0.0
            for t in (0.5, 1.0, 2.0):
                y = reference_relaxed(x, t, n["n_log_prob"], col.ctx.seed_for(f"{check}.{t}"))
                ours = laws.concrete_logpdf(y, x, t)
                dist = RelaxedOneHotCategorical(torch.tensor(t, dtype=torch.float64),
                                                logits=torch.tensor(x, dtype=torch.float64))
                theirs = dist.log_prob(torch.tensor(y)).numpy()
                worst = max(worst, float(np.max(np.abs(theirs - ours) / np.maximum(1.0, np.abs(ours)))))
            return col.deterministic(check, text, worst, 1e-10, test="torch log_prob vs reference.laws",
                                     reason=f"max relative difference {worst:.2e} over {3 * n['n_log_prob']} samples")

        col.guard(check, text, lp)

    # finding: boundary samples at small T
    def boundary():
        rows = []
        for dtype, t in (("float64", 0.01), ("float32", 0.1)):
            rng = numpy_generator(ctx, f"C1.boundary.{dtype}")
            g = -np.log(rng.standard_exponential((2000, 3)))
            s = (X3 + g) / t
            ly = log_softmax(s)
            y = np.exp(ly).astype(dtype)
            zero_rows = int(np.sum(np.any(y == 0, axis=1)))
            dist = RelaxedOneHotCategorical(torch.tensor(t, dtype=getattr(torch, dtype)),
                                            logits=torch.tensor(X3, dtype=getattr(torch, dtype)), validate_args=False)
            tl = dist.log_prob(torch.tensor(y)).double().numpy()
            ours = laws.concrete_logpdf(None, X3, t, log_y=ly)
            rows.append({"dtype": dtype, "temperature": t, "samples": 2000, "rows_with_exact_zero": zero_rows,
                         "torch_nonfinite": int(np.sum(~np.isfinite(tl))),
                         "c1_from_log_y_nonfinite": int(np.sum(~np.isfinite(ours)))})
        txt = "; ".join(f"{r['dtype']} at T = {r['temperature']:g}: {r['rows_with_exact_zero']} of {r['samples']} samples "
                        f"have an exact 0 coordinate, torch log_prob is non-finite for {r['torch_nonfinite']}, "
                        f"C1 from log y for {r['c1_from_log_y_nonfinite']}" for r in rows)
        col.finding("C1.boundary_samples", "Concrete log-density at small T (samples on the boundary)",
                    "At small T float samples of y underflow to exact zeros (the law itself has no mass "
                    "there); torch's log_prob then returns NaN/inf, while the C1 density evaluated from "
                    "log y (reference.laws.concrete_logpdf(log_y=...)) stays finite. " + txt, {"rows": rows})
        return []

    col.guard("C1.boundary_samples", "boundary finding", boundary)
    return col.result()
