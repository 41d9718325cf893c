r"""T1, the Gumbel-max theorem, three ways.

1. **Symbolic** (sympy): every step of the source document's proof (docs/seed.md) is one checked equality: the event
   rearrangement, the competitor's Gumbel CDF (from its density), the product of CDFs as one
   exponential, the exponent identity :math:`-e - e^{-e}(1 + \sum_{j\ne i} e^{x_j}/e^{x_i}) =
   -e - e^{-e}/a`, the integral :math:`\int_{\mathbb R} e^{-e - e^{-e}/a}\,de = a` for
   :math:`a > 0` (by sympy's definite integration and by the source document's antiderivative
   :math:`a\,e^{-e^{-e}/a}`), and :math:`\sum_i a_i = 1`. ``K = 4`` symbolic logits.
2. **Quadrature**: :math:`P_i = \int f(e) \prod_{j\ne i} F(x_i + e - x_j)\,de` with the integrand
   evaluated literally in log space (:math:`\log f(e) + \sum_{j \ne i}\log F(x_i + e - x_j)`, no
   use of the simplified exponent), ``scipy.integrate.quad`` on a window around its mode,
   compared with ``reference.softmax.softmax`` (relative error, so a probability of 1e-13 counts
   as much as one of 0.5). Random logits, gaps of 30, K up to 1000, a +1000 shift, -inf entries.
3. **Monte Carlo**: counts of the NumPy reference (exponential race, and the literal
   :math:`\arg\max(x + g)`) against :math:`N p` through :func:`harness.checks.claims.categorical_law`
   (chi-square / exact multinomial, impossible events forced to FAIL) in several regimes.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from harness.checks.builders import discrete_verdict
from harness.checks.confirmation import design_rng
from harness.core.context import RunContext
from harness.experiments.base import Collector, counts_figure_data, experiment, numpy_generator
from harness.checks.samplers import reference_categorical
from harness.checks.claims import categorical_law, fmt_logits
from reference import laws
from harness.core.streaming import counts as np_counts
from reference.softmax import logsumexp, softmax

CLAIM = "P(argmax_i (x_i + g_i) = i) = softmax(x)_i"

#: (name, logits) of the Monte Carlo regimes run through sampler_checks.categorical_law.
REGIMES: list[tuple[str, list[float]]] = [
    ("uniform", [0.0] * 10),
    ("peaked", [5.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ("k2", [0.3, -0.9]),
    ("neg_inf", [0.0, -math.inf, 1.5, -math.inf, -0.5]),
    ("shift_plus1000", [1000.0, 999.0, 1001.5, 998.0]),
    ("shift_minus1000", [-1000.0, -1001.0, -998.5, -1002.0]),
    ("logit_minus1e5", [0.0, -1e5, 1.0]),
]


def sizes(b):
    return {"n_mc": b.n_discrete, "n_mc_k1000": b.n_discrete // 10, "n_mc_literal": b.n_discrete // 2}


# ------------------------------------------------------------------ symbolic -----------------

def _symbolic_steps() -> list[tuple[str, str, bool, str]]:
    """(check suffix, statement, holds, sympy result) for each step of the source document's proof, docs/seed.md."""
    import sympy as sp

    k = 4
    xs = sp.symbols(f"x1:{k + 1}", real=True)
    es = sp.symbols(f"e1:{k + 1}", real=True)
    e, c, t = sp.symbols("e c t", real=True)
    a = sp.symbols("a", positive=True)
    i = 0
    steps = []

    def zero(expr) -> tuple[bool, str]:
        s = sp.simplify(expr)
        return s == 0, str(s)

    # (1) x_j + e_j < x_i + e_i  <=>  e_j < x_i + e_i - x_j: the two differences are identical
    ok, s = zero(sum(((xs[i] + es[i]) - (xs[j] + es[j])) - ((xs[i] + es[i] - xs[j]) - es[j])
                     for j in range(1, k)))
    steps.append(("event", "x_j + e_j < x_i + e_i  <=>  e_j < x_i + e_i - x_j (same difference)", ok, s))

    # (2) the competitor's probability is its Gumbel CDF: int_{-oo}^{c} f = exp(-exp(-c))
    f = sp.exp(-t - sp.exp(-t))
    cdf = sp.integrate(f, (t, -sp.oo, c))
    ok, s = zero(cdf - sp.exp(-sp.exp(-c)))
    steps.append(("gumbel_cdf", "P(e_j < c) = int_{-oo}^c exp(-t - e^-t) dt = exp(-e^-c)", ok, s))

    # (3) prod_{j != i} exp(-e^{-(x_i + e - x_j)}) = exp(-sum_{j != i} e^{-(x_i + e - x_j)})
    prod = sp.Mul(*[sp.exp(-sp.exp(-(xs[i] + e - xs[j]))) for j in range(1, k)])
    summ = sp.exp(-sum(sp.exp(-(xs[i] + e - xs[j])) for j in range(1, k)))
    ok, s = zero(sp.powsimp(prod) - summ)
    steps.append(("product", "prod_{j!=i} exp(-e^{-(x_i+e-x_j)}) = exp(-sum_{j!=i} e^{-(x_i+e-x_j)})", ok, s))

    # (4) exponent identity, both equalities of the source document (docs/seed.md)
    lhs = -e - sp.exp(-e) - sum(sp.exp(-(xs[i] + e - xs[j])) for j in range(1, k))
    mid = -e - sp.exp(-e) * (1 + sum(sp.exp(xs[j]) / sp.exp(xs[i]) for j in range(1, k)))
    a_i = sp.exp(xs[i]) / sum(sp.exp(xj) for xj in xs)
    rhs = -e - sp.exp(-e) / a_i
    ok1, s1 = zero(sp.expand(lhs - mid))
    ok2, s2 = zero(mid - rhs)
    steps.append(("exponent_1", "-e - e^-e - sum_{j!=i} e^{-(x_i+e-x_j)} = -e - e^-e (1 + sum_{j!=i} e^{x_j}/e^{x_i})", ok1, s1))
    steps.append(("exponent_2", "-e - e^-e (1 + sum_{j!=i} e^{x_j}/e^{x_i}) = -e - e^-e / a, a = e^{x_i}/sum_j e^{x_j}", ok2, s2))

    # (5) int_R exp(-e - e^-e / a) de = a for a > 0, by sympy and by the source document's antiderivative
    integrand = sp.exp(-e - sp.exp(-e) / a)
    val = sp.integrate(integrand, (e, -sp.oo, sp.oo))
    ok, s = zero(val - a)
    steps.append(("integral", "int_{-oo}^{oo} exp(-e - e^-e/a) de = a  (a > 0, sympy.integrate)", ok, s))
    anti = a * sp.exp(-sp.exp(-e) / a)
    ok_d, s_d = zero(sp.diff(anti, e) - integrand)
    up = sp.limit(anti, e, sp.oo)
    lo = sp.limit(anti, e, -sp.oo)
    ok_l = sp.simplify(up - lo - a) == 0
    steps.append(("antiderivative", "d/de [a exp(-e^-e/a)] = exp(-e - e^-e/a) and [a exp(-e^-e/a)]_{-oo}^{oo} = a",
                  ok_d and ok_l, f"derivative residual {s_d}; limits {up}, {lo}"))

    # (6) the a_i sum to 1: the P_i form the categorical law softmax(x)
    ok, s = zero(sum(sp.exp(xj) / sum(sp.exp(xk) for xk in xs) for xj in xs) - 1)
    steps.append(("normalised", "sum_i e^{x_i}/sum_j e^{x_j} = 1", ok, s))
    return steps + _symbolic_general_k()


def _symbolic_general_k() -> list[tuple[str, str, bool, str]]:
    """The substantive steps for a general number K of categories (symbolic K, indexed logits
    x_j; sums over j != i written as the full sum minus the j = i term), as the seed's proof
    states them: the product of the competitors' Gumbel CDFs, the exponent simplification, the
    integrand, and that the resulting probabilities sum to 1."""
    import sympy as sp

    K = sp.Symbol("K", integer=True, positive=True)
    i, j = sp.symbols("i j", integer=True, positive=True)
    x = sp.IndexedBase("x", real=True)
    e = sp.Symbol("e", real=True)
    S = sp.Sum(sp.exp(x[j]), (j, 1, K))
    steps = []
    F = lambda c: sp.exp(-sp.exp(-c))  # noqa: E731 - the Gumbel CDF (step "gumbel_cdf")
    # (a) prod_{j != i} F(x_i + e - x_j) = exp(-sum_{j != i} e^{-(x_i + e - x_j)})
    g = -sp.exp(-(x[i] + e - x[j]))
    prod = sp.Product(F(x[i] + e - x[j]), (j, 1, K)) / F(x[i] + e - x[i])
    target = sp.exp(sp.Sum(g, (j, 1, K)) - g.subs(j, i))
    r = sp.simplify(prod.rewrite(sp.Sum) - target)
    steps.append(("general_K.product", "for any K: prod_{j != i} F(x_i + e - x_j) = exp(-sum_{j != i} e^{-(x_i+e-x_j)})",
                  r == 0, str(r)))
    # (b) sum_{j != i} e^{-(x_i + e - x_j)} = e^{-e} (S / e^{x_i} - 1), S = sum_j e^{x_j}
    lhs = sp.factor_terms(sp.expand(sp.Sum(sp.expand(sp.exp(-(x[i] + e - x[j]))), (j, 1, K)))) - sp.exp(-e)
    rhs = sp.exp(-e) * (S / sp.exp(x[i]) - 1)
    r = sp.simplify(sp.expand(lhs - rhs))
    steps.append(("general_K.exponent", "for any K: sum_{j != i} e^{-(x_i+e-x_j)} = e^{-e} (sum_j e^{x_j} / e^{x_i} - 1)",
                  r == 0, str(r)))
    # (c) the integrand: f(e) prod_{j != i} F(...) = exp(-e - e^{-e} / a_i), a_i = e^{x_i} / S
    a_i = sp.exp(x[i]) / S
    integrand = sp.exp(-e - sp.exp(-e)) * sp.exp(-(lhs))
    r = sp.simplify(sp.log(integrand).expand(force=True) - sp.expand(-e - sp.exp(-e) / a_i))
    r = sp.simplify(sp.factor_terms(sp.expand(r)))
    steps.append(("general_K.integrand", "for any K: f(e) prod_{j != i} F(x_i + e - x_j) = exp(-e - e^-e / a_i), "
                  "a_i = e^{x_i} / sum_j e^{x_j}", r == 0, str(r)))
    # (d) sum_i a_i = 1 (the two sums differ only in the name of their index)
    n = sp.factor_terms(sp.Sum(a_i, (i, 1, K)))
    s_i = sp.Sum(sp.exp(x[i]), (i, 1, K))
    same = bool(s_i.dummy_eq(S))
    r = sp.simplify(n.xreplace({s_i: S}) - 1) if same else n - 1
    steps.append(("general_K.normalised", "for any K: sum_i e^{x_i} / sum_j e^{x_j} = 1", same and r == 0, str(r)))
    return steps


# ------------------------------------------------------------------ quadrature ---------------

def _log_integrand(e: float, x: np.ndarray, i: int, others: np.ndarray) -> float:
    """log f(e) + sum_{j != i} log F(x_i + e - x_j), literally (no simplification)."""
    return float(laws.gumbel_logpdf(e) + np.sum(laws.gumbel_logcdf(x[i] + e - others)))


def quadrature_probability(x: np.ndarray, i: int) -> tuple[float, float]:
    """P(argmax = i) by quad of the literal integrand; returns (value, quad's error estimate).

    The window is [e* - 12, e* + 45] around the mode e* = log sum_{j} e^{x_j - x_i} of the
    integrand (beyond it the integrand is below 1e-19 of its peak); the integrand is scaled by
    its peak value so that quad's tolerance is relative.
    """
    others = np.delete(x, i)
    others = others[np.isfinite(others)]  # a -inf competitor has F(x_i + e + inf) = 1: drop it
    if not np.isfinite(x[i]):  # F(-inf + e - x_j) = 0: the integrand vanishes identically
        probe = [_log_integrand(e, x, i, others) for e in (-5.0, 0.0, 5.0, 30.0)]
        return (0.0 if all(v == -math.inf for v in probe) else math.nan), 0.0
    mode = float(logsumexp(np.concatenate([[0.0], others - x[i]])))
    peak = _log_integrand(mode, x, i, others)
    f = lambda e: math.exp(_log_integrand(e, x, i, others) - peak)  # noqa: E731
    val, err = integrate.quad(f, mode - 12.0, mode + 45.0, points=[mode], epsabs=0.0, epsrel=1e-13, limit=200)
    return val * math.exp(peak), err * math.exp(peak)


def _quadrature_cases(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, logits, categories to integrate)."""
    cases = []
    x = np.array([0.0, -30.0])
    cases.append(("k2_gap30", x, np.arange(2)))
    x = np.array([30.0, 0.0, -30.0, 1.0, -29.0])
    cases.append(("k5_gaps30", x, np.arange(5)))
    x = rng.normal(0.0, 3.0, 10)
    cases.append(("k10_random", x, np.arange(10)))
    x = rng.normal(0.0, 3.0, 8) + 1000.0
    cases.append(("k8_shift1000", x, np.arange(8)))
    x = np.array([0.0, -np.inf, 2.0, -np.inf, -1.0])
    cases.append(("k5_neg_inf", x, np.arange(5)))
    x = rng.normal(0.0, 3.0, 1000)
    x[rng.integers(1000)] += 30.0  # one category 30 above the rest
    order = np.argsort(x)
    pick = np.unique(np.concatenate([order[:3], order[-3:], order[np.linspace(0, 999, 34).astype(int)]]))
    cases.append(("k1000_random", x, pick))
    return cases


def _quadrature(col: Collector, ctx: RunContext) -> dict:
    rng = design_rng(ctx, "T1.quad")
    pts = {"p": [], "rel_error": [], "case": []}
    for name, x, cats in _quadrature_cases(rng):
        check = f"T1.quad.{name}"
        text = (f"P_i = int f(e) prod_(j!=i) F(x_i + e - x_j) de equals softmax(x)_i for x = {fmt_logits(x)} "
                f"({len(cats)} of {x.size} categories integrated)")

        def body(x=x, cats=cats, check=check, text=text, name=name):
            p = softmax(x)
            rel = 0.0
            abs_err = 0.0
            total = 0.0
            worst = None
            for i in cats:
                val, _ = quadrature_probability(x, int(i))
                if p[i] == 0.0:
                    r = 0.0 if val == 0.0 else math.inf
                else:
                    r = abs(val / p[i] - 1.0)
                    pts["p"].append(float(p[i]))
                    pts["rel_error"].append(max(r, 1e-17))
                    pts["case"].append(name)
                if r > rel:
                    rel, worst = r, int(i)
                abs_err = max(abs_err, abs(val - p[i]))
                total += val
            details = {"logits": x, "categories": cats, "max_abs_error": abs_err, "max_rel_error": rel,
                       "worst_category": worst}
            if len(cats) == x.size:
                details["sum_of_P"] = total
            reason = (f"max relative error {rel:.2e} (category {worst}), max absolute error {abs_err:.2e} "
                      f"over {len(cats)} categories; tolerance 1e-10 relative")
            return col.deterministic(check, text, rel, 1e-10, test="scipy.integrate.quad vs softmax",
                                     reason=reason, details=details)

        col.guard(check, text, body, test="quadrature")
    return pts


# ------------------------------------------------------------------ experiment ---------------

@experiment(
    "T1",
    title="The Gumbel-max theorem",
    claim=("For logits x and i.i.d. standard Gumbel noise g, argmax_i (x_i + g_i) is a sample of "
           "the categorical law softmax(x); checked symbolically (each step of the proof in the source document, docs/seed.md), "
           "by quadrature of the proof's integral, and by Monte Carlo in several regimes."),
    formula="P(argmax_i (x_i + g_i) = i) = int f(e) prod_{j!=i} F(x_i + e - x_j) de = e^{x_i} / sum_j e^{x_j}",
    implementations=("sympy (proof steps)", "scipy.integrate.quad", "reference.numpy_sampler (race and literal argmax)"),
    planned=len(REGIMES) + 2,
    sizes=sizes,
    cost=5,
)
def run(ctx: RunContext):
    col = Collector(ctx, "T1")
    n = sizes(ctx.budget)

    # 1. symbolic
    def symbolic():
        out = []
        for suffix, statement, ok, residual in _symbolic_steps():
            out.append(col.deterministic(f"T1.symbolic.{suffix}", statement, 0.0 if ok else 1.0, 0.0,
                                         test="sympy simplification",
                                         reason=("sympy confirms the equality" if ok else
                                                 f"sympy leaves a residual: {residual}"),
                                         details={"residual": residual}))
        return out

    col.guard("T1.symbolic", "each step of the proof in the source document (docs/seed.md)", symbolic, test="sympy")

    # 2. quadrature
    pts = _quadrature(col, ctx)
    col.figure("T1.quadrature_errors", "scatter", "T1 quadrature: relative error of P_i against softmax",
               {"x": pts["p"], "y": pts["rel_error"], "group": pts["case"], "xlabel": "p_i = softmax(x)_i",
                "ylabel": "|P_i / p_i - 1|", "logx": True, "logy": True, "tolerance": 1e-10},
               "Relative error of the quadrature of the source document's integral against the closed-form softmax; "
               "points at 1e-17 are exact to double precision.")

    # 3. Monte Carlo
    for name, logits in REGIMES:
        check = f"T1.mc.{name}"
        vs = col.add(categorical_law(reference_categorical, logits, n["n_mc"], ctx, check=check, label=name))
        if name in ("peaked", "neg_inf") and vs and vs[0].details.get("observed"):
            col.figure(f"{check}.counts", "counts", f"T1 {name}: observed vs expected counts (x = {fmt_logits(np.array(logits))})",
                       counts_figure_data(vs[0]))

    check = "T1.mc.k1000"
    rng = design_rng(ctx, check + ".logits")  # the same logits in both stages of the confirmation
    x = rng.normal(0.0, 1.5, 1000)
    text = f"{CLAIM} for K = 1000 random logits (N(0, 1.5^2)), x = {fmt_logits(x)}"
    col.guard(check, text, lambda: discrete_verdict(
        "T1", check, text, np_counts(x, n["n_mc_k1000"], ctx.seed_for(check), **ctx.parallel_kwargs()), softmax(x),
        **col.kw(check), details={"K": 1000, "implementation": "harness.core.streaming.counts (race)"}))

    check = "T1.mc.literal_argmax"
    x = design_rng(ctx, check + ".logits").normal(0.0, 2.0, 12)
    text = f"{CLAIM}, literal argmax(x + g) with g = -log E (method='gumbel'), x = {fmt_logits(x)}"
    col.guard(check, text, lambda: discrete_verdict(
        "T1", check, text, np_counts(x, n["n_mc_literal"], ctx.seed_for(check), method="gumbel", **ctx.parallel_kwargs()), softmax(x),
        **col.kw(check), details={"implementation": "harness.core.streaming.counts(method='gumbel')"}))
    return col.result()
