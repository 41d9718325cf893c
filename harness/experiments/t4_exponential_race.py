r"""T4, the exponential race: with :math:`E_i` i.i.d. Exp(1) and :math:`p` normalised,
:math:`\arg\min_i E_i/p_i \sim \mathrm{Categorical}(p)` and :math:`\min_i E_i/p_i \sim \mathrm{Exp}(1)`.

Symbolic (sympy): :math:`-\log E` is standard Gumbel, :math:`P(\min_i E_i/p_i > t) = e^{-t}` and
:math:`P(\arg\min = i) = p_i` for three symbolic rates. Monte Carlo on the NumPy reference's
exponentials: chi-square of the argmin, KS (and AD) of the min. Deterministic: on the same
draws the race and the literal Gumbel-max agree exactly, :math:`\arg\min E/p = \arg\max(x - \log
E)` and :math:`\min E/p = e^{-(\max(x - \log E) - \operatorname{lse} x)}`.
"""
from __future__ import annotations

import math

import numpy as np

from harness.checks.builders import ad_verdict, discrete_verdict, ks_verdict
from harness.core.context import RunContext
from harness.experiments.base import Collector, counts_figure_data, experiment, numpy_generator
from harness.checks.claims import fmt_logits
from reference.numpy_sampler import exponential_noise
from reference.softmax import log_softmax, logsumexp, softmax

REGIMES: list[tuple[str, list[float], bool]] = [
    ("k5_zero", [0.5, -1.0, 2.0, 0.0, -math.inf], True),
    ("k2_rare", [0.0, math.log(1e-3 / (1 - 1e-3))], False),
]


def sizes(b):
    return {"n": b.n_discrete // 2}


def _symbolic():
    import sympy as sp

    g, t, e = sp.symbols("g t e", real=True)
    p = sp.symbols("p1:4", positive=True)
    out = []
    # P(-log E <= g) = P(E >= e^-g) = exp(-e^-g)
    lhs = sp.integrate(sp.exp(-e), (e, sp.exp(-g), sp.oo))
    out.append(("neglog_exp", "P(-log E <= g) = P(E >= e^-g) = exp(-e^-g): -log E is standard Gumbel",
                sp.simplify(lhs - sp.exp(-sp.exp(-g))) == 0))
    # E_i / p_i ~ Exp(rate p_i): P(min > t) = prod exp(-p_i t) = exp(-t sum p)
    s = sum(p)
    out.append(("min_exp", "P(min_i E_i/p_i > t) = prod_i e^{-p_i t} = e^{-t sum_i p_i} (= e^{-t} for sum p = 1)",
                sp.simplify(sp.Mul(*[sp.exp(-pi * t) for pi in p]) - sp.exp(-t * s)) == 0))
    # P(argmin = 1) = int p_1 e^{-p_1 t} prod_{j != 1} e^{-p_j t} dt = p_1 / sum p
    tt = sp.symbols("tt", positive=True)
    val = sp.integrate(p[0] * sp.exp(-p[0] * tt) * sp.exp(-p[1] * tt) * sp.exp(-p[2] * tt), (tt, 0, sp.oo))
    out.append(("argmin", "P(argmin_i E_i/p_i = 1) = int p_1 e^{-p_1 t} prod_{j!=1} e^{-p_j t} dt = p_1 / sum_j p_j",
                sp.simplify(val - p[0] / s) == 0))
    return out


@experiment(
    "T4",
    title="The exponential race",
    claim=("With E_i i.i.d. Exp(1), the index of the smallest E_i / p_i is Categorical(p) and the "
           "smallest value is Exp(1); -log E is standard Gumbel, so the race is the Gumbel-max trick."),
    formula="argmin_i E_i/p_i ~ Categorical(p),  min_i E_i/p_i ~ Exp(1)",
    implementations=("sympy", "reference.numpy_sampler.exponential_noise (float64)"),
    planned=sum(3 if ad else 2 for _, _, ad in REGIMES),
    sizes=sizes,
    cost=2,
)
def run(ctx: RunContext):
    col = Collector(ctx, "T4")
    n = sizes(ctx.budget)["n"]
    col.guard("T4.symbolic", "exponential race identities", lambda: [
        col.deterministic(f"T4.symbolic.{k}", text, 0.0 if ok else 1.0, 0.0, test="sympy simplification",
                          reason="sympy confirms the equality" if ok else "sympy could not confirm the equality")
        for k, text, ok in _symbolic()])
    for name, raw, with_ad in REGIMES:
        x = np.asarray(raw, dtype=np.float64)
        p = softmax(x)
        check = f"T4.{name}"
        rng = numpy_generator(ctx, check)
        e = exponential_noise(rng, (n, x.size))
        with np.errstate(over="ignore", divide="ignore"):
            inv_p = np.exp(-log_softmax(x))  # 1/p, +inf where p = 0
            w = e * inv_p
        amin = np.argmin(w, axis=1)
        wmin = w[np.arange(n), amin]
        text = f"argmin_i E_i/p_i ~ Categorical(p), p = softmax({fmt_logits(x)})"
        v = col.guard(f"{check}.argmin", text, lambda: discrete_verdict(
            "T4", f"{check}.argmin", text, np.bincount(amin, minlength=x.size), p, **col.kw(check)))
        if name == "k5_zero" and v:
            col.figure("T4.argmin.counts", "counts", f"T4: argmin of E/p, observed vs expected, p = softmax({fmt_logits(x)})",
                       counts_figure_data(v[0]))
        text = f"min_i E_i/p_i ~ Exp(1), p = softmax({fmt_logits(x)})"
        exp_cdf = lambda t: -np.expm1(-np.asarray(t))  # noqa: E731
        col.guard(f"{check}.min", text, lambda: ks_verdict("T4", f"{check}.min", text, wmin, exp_cdf, **col.kw(check)))
        if with_ad:
            col.guard(f"{check}.min_ad", text, lambda: ad_verdict(
                "T4", f"{check}.min_ad", text + " (Anderson-Darling)", wmin, exp_cdf,
                logcdf=lambda t: np.log(-np.expm1(-np.asarray(t))), logsf=lambda t: -np.asarray(t), **col.kw(check)))

        def same(x=x, e=e, amin=amin, wmin=wmin, check=check):
            with np.errstate(divide="ignore"):
                s = x - np.log(e)
            amax = np.argmax(s, axis=1)
            mism = int(np.sum(amax != amin))
            m = s[np.arange(n), amax]
            rel = float(np.max(np.abs(np.exp(-(m - logsumexp(x))) / wmin - 1.0)))
            err = max(mism / n, rel)
            return col.deterministic(
                f"{check}.same_as_gumbel_max", "argmin E/p = argmax(x - log E) and min E/p = exp(-(max(x - log E) - lse x)) on the same draws",
                err, 1e-12, test="race vs Gumbel-max on identical draws",
                reason=f"{mism} of {n} argmin/argmax disagree; max relative difference of the min {rel:.2e}",
                details={"mismatches": mism, "max_rel_diff": rel})

        col.guard(f"{check}.same_as_gumbel_max", "race = Gumbel-max", same)
    return col.result()
