r"""Claim checks over the sampler protocols of :mod:`harness.checks.samplers`.

One function per (claim, observable): each draws from a sampler through the validating
``draw_*`` helpers, runs the test of :mod:`harness.stats` and returns Verdicts with their power
statements (:mod:`harness.checks.builders`). The experiments run them on the references; the checker
runs the same functions on third-party targets. A target that misbehaves (raises, wrong
shape, NaN, index out of range, off the simplex) yields a FAIL verdict naming the cause.

=================  ====================  ==================================================
function           protocol              claim / statistic
=================  ====================  ==================================================
categorical_law    categorical           T1 argmax law: chi-square (exact for small N)
tail_mass          categorical           T1 tail: exact binomial count of a rare category
rounding_law       relaxed               C3 argmax of y ~ softmax(x): chi-square
logratio_marginal  relaxed               C2 T log(y_i/y_K) - (x_i - x_K) ~ Logistic: KS
logratio_scale     relaxed               C2 E[d^2] = pi^2/3: z-test (sharp on temperature)
logratio_joint     relaxed               C2 joint law of d on a grid of boxes: chi-square
binary_concrete    relaxed (K = 2)       C4 P(y_1 <= u) = sigma(T logit u - Delta): KS
noise_law          noise                 Gumbel CDF: KS and Anderson-Darling
noise_tail         noise                 P(g > t) = 1 - exp(-e^{-t}): exact binomial
noise_resolution   noise                 no repeated values (continuous law): Poisson count
max_stability      noise                 T2 max_i (x_i + g_i) ~ Gumbel(lse x): KS
jacobian           torch                 G1 dy/dx = (diag y - y y^T)/T on its own output
straight_through   torch                 G4 forward one-hot, backward a soft Jacobian
=================  ====================  ==================================================
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
from scipy import stats as sps

from harness.checks.builders import (ad_verdict, bound_level, deterministic_verdict, discrete_verdict, error_verdict,
                                     ks_verdict, level_for, tail_verdict, z_verdict)
from harness.checks.digests import hits_digest, sequence_digest
from harness.core.context import RunContext
from harness.stats.bounds import mean_bound
from harness.checks.samplers import TargetError, draw_categorical, draw_noise, draw_relaxed, onehot_rows
from harness.core.seeds import seeded_chunks
from harness.core.verdict import Bound, Detectable, Verdict
from reference import laws
from reference.softmax import logsumexp, softmax

__all__ = [
    "categorical_law",
    "tail_mass",
    "rounding_law",
    "logratio_marginal",
    "logratio_scale",
    "logratio_joint",
    "binary_concrete",
    "noise_law",
    "noise_tail",
    "noise_resolution",
    "max_stability",
    "jacobian",
    "straight_through",
    "fmt_logits",
    "categorical_counts", "tail_counts", "rounding_counts", "log_ratio_samples", "binary_logit_samples",
    "noise_tail_counts", "noise_tail_threshold", "max_samples",
]

PI2_3 = math.pi ** 2 / 3.0
#: Var(L^2) for L ~ Logistic(0, 1): E L^4 = 7 pi^4 / 15, so Var = 7pi^4/15 - pi^4/9.
VAR_L2 = 7 * math.pi ** 4 / 15 - math.pi ** 4 / 9
#: Draws per seeded chunk of the tail checks (``tail_mass``, ``noise_tail``).
TAIL_CHUNK = 1 << 24


def fmt_logits(x: np.ndarray, limit: int = 6) -> str:
    x = np.asarray(x)
    body = ", ".join(f"{v:.4g}" for v in x[:limit])
    return f"[{body}{', ...' if x.size > limit else ''}] (K={x.size})"


def _repro(ctx: RunContext, check: str, seed: int) -> str:
    """``ctx.reproduce`` with ``{check}`` and ``{seed}`` filled in (empty when not set)."""
    return ctx.repro(check, seed)


def _guard(claim: str, check: str, text: str, ctx: RunContext, seed: int, n: int,
           body: Callable[[], list[Verdict]]) -> list[Verdict]:
    try:
        return body()
    except TargetError as exc:
        return [error_verdict(claim, check, text, f"target error: {exc}", n=n, seed=seed,
                              reproduce=_repro(ctx, check, seed), alpha=ctx.alpha)]




# ---------------------------------------------------------------- observables ------------
# What the checks below draw and judge, as functions of (fn, ..., seed): the one-sample checks
# judge them against the claimed law, ``compare`` judges two targets' against each other
# (harness.kinds.base.Compared). Same calls, same seeds.

def categorical_counts(fn: Callable, logits: Sequence[float], n: int, seed: int) -> np.ndarray:
    """``[K]`` category counts of ``n`` draws."""
    x = np.asarray(logits, dtype=np.float64)
    return np.bincount(draw_categorical(fn, x, n, seed), minlength=x.size)


def tail_counts(fn: Callable, logits: Sequence[float], n: int, seed: int, rare: int) -> np.ndarray:
    """``[others, rare]``: the count of category ``rare`` in ``n`` draws (chunks of TAIL_CHUNK)."""
    x = np.asarray(logits, dtype=np.float64)
    hits = 0
    for m, s in seeded_chunks(n, TAIL_CHUNK, seed):
        hits += int(np.count_nonzero(draw_categorical(fn, x, m, s) == rare))
    return np.array([n - hits, hits], dtype=np.int64)


def rounding_counts(fn: Callable, logits: Sequence[float], temperature: float, n: int, seed: int) -> np.ndarray:
    """``[K]`` counts of ``argmax y`` over ``n`` relaxed draws."""
    x = np.asarray(logits, dtype=np.float64)
    return np.bincount(np.argmax(draw_relaxed(fn, x, temperature, n, seed), axis=1), minlength=x.size)


def log_ratio_samples(fn: Callable, logits: Sequence[float], temperature: float, n: int, seed: int) -> np.ndarray:
    """``[n, K - 1]`` log-ratios ``T log(y_i/y_K) - (x_i - x_K)`` of ``n`` relaxed draws."""
    x = np.asarray(logits, dtype=np.float64)
    return _log_ratios(draw_relaxed(fn, x, temperature, n, seed), x, temperature, "relaxed sampler")


def binary_logit_samples(fn: Callable, logits: Sequence[float], temperature: float, n: int, seed: int) -> np.ndarray:
    """``logit(y_1)`` of ``n`` binary (K = 2) relaxed draws."""
    x = np.asarray(logits, dtype=np.float64)
    y = draw_relaxed(fn, x, temperature, n, seed)
    if np.any(y <= 0):
        raise TargetError(f"{int(np.any(y <= 0, axis=1).sum())} samples have a coordinate exactly 0 "
                          f"at T = {temperature:g} (underflow): logit(y_1) undefined")
    return np.log(y[:, 0]) - np.log(y[:, 1])  # = logit(y_1), exact for y on the simplex


def noise_tail_counts(fn: Callable, n: int, seed: int, threshold: float) -> tuple[np.ndarray, float]:
    """``([draws <= t, draws > t], largest draw)`` of ``n`` noise draws (chunks of TAIL_CHUNK)."""
    hits = 0
    gmax = -math.inf
    for m, s in seeded_chunks(n, TAIL_CHUNK, seed):
        g = draw_noise(fn, m, s)
        hits += int(np.sum(g > threshold))
        gmax = max(gmax, float(g.max()))
    return np.array([n - hits, hits], dtype=np.int64), gmax


def noise_tail_threshold(n: int, expected_hits: float = 50.0) -> float:
    """The threshold ``t`` of :func:`noise_tail`: ``n (1 - F(t)) = expected_hits``."""
    return float(laws.gumbel_isf(expected_hits / n))


def max_samples(fn: Callable, logits: Sequence[float], n: int, seed: int) -> np.ndarray:
    """``max_i (x_i + g_i)`` of ``n`` rows of noise."""
    x = np.asarray(logits, dtype=np.float64)
    g = draw_noise(fn, n * x.size, seed).reshape(n, x.size)
    return np.max(x + g, axis=1)


# ---------------------------------------------------------------- categorical (T1) ---------

def categorical_law(fn: Callable, logits: Sequence[float], n: int, ctx: RunContext, *,
                    check: str, claim: str = "T1", label: str = "") -> list[Verdict]:
    """T1: the category counts of ``n`` draws fit ``softmax(logits)`` (every category
    counted; a draw of a ``-inf`` category is an impossible event, a forced FAIL)."""
    x = np.asarray(logits, dtype=np.float64)
    p = softmax(x)
    seed = ctx.seed_for(check)
    text = f"P(argmax_i(x_i + g_i) = i) = softmax(x)_i for x = {fmt_logits(x)}" + (f" [{label}]" if label else "")

    def body():
        draws = draw_categorical(fn, x, n, seed)
        counts = np.bincount(draws, minlength=x.size)  # = categorical_counts (compare observes that)
        return [discrete_verdict(claim, check, text, counts, p, **ctx.check_kwargs(check),
                                 details={"logits": x.tolist(), "probs": p.tolist(), "label": label,
                                          "draws_digest": sequence_digest(draws[:1 << 16])})]

    return _guard(claim, check, text, ctx, seed, n, body)


def tail_mass(fn: Callable, logits: Sequence[float], n: int, ctx: RunContext, *, rare: int,
              check: str, claim: str = "T1") -> list[Verdict]:
    """T1 in the tail: the count of the rare category ``rare`` is Binomial(n, p_rare).

    A sampler whose noise is truncated (float32 / 24-bit uniforms cap g near 16.6) under-samples
    categories that need a large g to win (bugs.md A.3); the exact binomial test sees it when
    ``n p_rare`` is large enough (the power statement gives the relative deficit detected).
    """
    x = np.asarray(logits, dtype=np.float64)
    p = float(softmax(x)[rare])
    seed = ctx.seed_for(check)
    text = (f"tail mass: category {rare} of x = {fmt_logits(x)} has probability {p:.4g}; "
            f"its count is Binomial(n, {p:.4g})")

    def body():
        hits, at, first = 0, 0, []
        for m, s in seeded_chunks(n, TAIL_CHUNK, seed):
            hit = draw_categorical(fn, x, m, s) == rare
            if len(first) < 64:
                first.extend((at + np.flatnonzero(hit)[:64]).tolist())
            hits, at = hits + int(np.sum(hit)), at + m
        return [tail_verdict(claim, check, text, hits, n, p, **ctx.check_kwargs(check),
                             details={"logits": x.tolist(), "rare": rare, "draws_digest": hits_digest(first[:64], p)})]

    return _guard(claim, check, text, ctx, seed, n, body)


# ---------------------------------------------------------------- relaxed (C2-C4) ----------

def rounding_law(fn: Callable, logits: Sequence[float], temperature: float, n: int, ctx: RunContext,
                 *, check: str, claim: str = "C3") -> list[Verdict]:
    """C3: ``argmax_i y_i ~ softmax(x)`` for every T > 0 (softmax is monotone)."""
    x = np.asarray(logits, dtype=np.float64)
    p = softmax(x)
    seed = ctx.seed_for(check)
    text = f"argmax of y = softmax((x + g)/T) is Categorical(softmax(x)) at T = {temperature:g}, x = {fmt_logits(x)}"

    def body():
        counts = rounding_counts(fn, x, temperature, n, seed)
        return [discrete_verdict(claim, check, text, counts, p, **ctx.check_kwargs(check),
                                 details={"temperature": temperature, "logits": x.tolist()})]

    return _guard(claim, check, text, ctx, seed, n, body)


def _log_ratios(y: np.ndarray, x: np.ndarray, t: float, what: str) -> np.ndarray:
    """d_i = T log(y_i / y_K) - (x_i - x_K), i < K; TargetError if a y_i is exactly 0."""
    zero = y <= 0
    if zero.any():
        raise TargetError(f"{what}: {int(zero.any(axis=1).sum())} of {y.shape[0]} samples have a "
                          "coordinate exactly 0 (underflow): the log-ratio is undefined there")
    ly = np.log(y)
    return t * (ly[:, :-1] - ly[:, -1:]) - (x[:-1] - x[-1])


def logratio_marginal(fn: Callable, logits: Sequence[float], temperature: float, n: int,
                      ctx: RunContext, *, check: str, claim: str = "C2") -> list[Verdict]:
    """C2: for each i < K, ``T log(y_i/y_K) - (x_i - x_K) = g_i - g_K ~ Logistic(0, 1)``:
    one KS verdict per pair (K - 1 verdicts, all in the Holm family)."""
    x = np.asarray(logits, dtype=np.float64)
    seed = ctx.seed_for(check)
    text = f"T log(y_i/y_K) - (x_i - x_K) ~ Logistic(0, 1) at T = {temperature:g}, x = {fmt_logits(x)}"

    def body():
        d = log_ratio_samples(fn, x, temperature, n, seed)
        return [ks_verdict(claim, f"{check}.pair{i}-{x.size - 1}", text.replace("_i", f"_{i}"),
                           d[:, i], laws.logistic_cdf, **ctx.check_kwargs(check),
                           details={"temperature": temperature, "pair": [i, x.size - 1]})
                for i in range(x.size - 1)]

    return _guard(claim, check, text, ctx, seed, n, body)


def temperature_ratio_bound(moment_bound: float, dx: float) -> float:
    r"""Bound on :math:`|T'/T - 1|` for a sampler running at temperature :math:`T'` instead of
    :math:`T`, from :math:`|E[d^2] - \pi^2/3| \le B`: with :math:`r = T/T'`,
    :math:`E[d^2] = f(r) = r^2\pi^2/3 + (r - 1)^2 \Delta x^2` (:math:`\Delta x = x_1 - x_K`),
    convex with :math:`f(1) = \pi^2/3`; the :math:`r > 0` with :math:`|f(r) - \pi^2/3| \le B`
    form an interval around 1 (the other root of :math:`f = \pi^2/3` is negative) whose ends
    solve :math:`f(r) = \pi^2/3 \pm B`; ``inf`` when the lower end reaches 0."""
    a, c0 = PI2_3, dx * dx
    qa = a + c0

    def roots(target: float) -> list[float]:
        # qa r^2 - 2 c0 r + (c0 - target) = 0
        disc = c0 * c0 - qa * (c0 - target)
        if disc < 0:
            return []
        s = math.sqrt(disc)
        return [(c0 - s) / qa, (c0 + s) / qa]

    hi = max(roots(a + moment_bound))
    lo_r = [r for r in roots(a - moment_bound) if r > c0 / qa]
    if not lo_r or lo_r[0] <= 0:
        return math.inf
    lo = lo_r[0]
    return float(max(1.0 / lo - 1.0, 1.0 - 1.0 / hi))


def logratio_scale(fn: Callable, logits: Sequence[float], temperature: float, n: int,
                   ctx: RunContext, *, check: str, claim: str = "C2") -> list[Verdict]:
    r"""C2, second moment: with :math:`d = T\log(y_1/y_K) - (x_1 - x_K) \sim` Logistic(0, 1),
    :math:`E[d^2] = \pi^2/3`, :math:`\operatorname{Var}[d^2] = 7\pi^4/15 - \pi^4/9`. A sampler
    whose temperature is off by a factor :math:`r` has :math:`E[d^2] = r^2\pi^2/3`; the z-test
    on the mean of :math:`d^2` (exact null variance) detects a few percent at the standard
    budget, where KS needs far more samples. Power is stated as the relative temperature
    error detected."""
    x = np.asarray(logits, dtype=np.float64)
    seed = ctx.seed_for(check)
    text = (f"E[(T log(y_1/y_K) - (x_1 - x_K))^2] = pi^2/3 (Logistic second moment) at "
            f"T = {temperature:g}, x = {fmt_logits(x)}")

    def body():
        y = draw_relaxed(fn, x, temperature, n, seed)
        d = _log_ratios(y, x, temperature, "relaxed sampler")[:, 0]
        se = math.sqrt(VAR_L2 / d.size)
        v = z_verdict(claim, check, text, d * d, PI2_3, se=se, **ctx.check_kwargs(check),
                      details={"temperature": temperature}, measure="second_moment_shift")
        # express the detectable shift as a relative temperature error: E d^2 = r^2 pi^2/3
        # (both directions T' = T (1 +- e): the smaller E[d^2] shift of the two must be detected)
        shift = v.detectable.value if v.detectable else math.inf
        rel = temperature_ratio_bound(shift, float(x[0] - x[-1])) if math.isfinite(shift) else math.inf
        det = Detectable("relative_temperature_error", rel, 0.9, v.detectable.level if v.detectable else float("nan"),
                         note=f"|T'/T - 1| >= this moves E[d^2] by >= {shift:.3g} either way; "
                              + (v.detectable.note if v.detectable else ""))
        from dataclasses import replace
        bound = v.bound
        if bound is not None:
            # the null se is too small when T' < T (Var d^2 grows with T/T'): the bound uses the
            # larger of the null and the sample standard error, valid for T' on both sides
            se_b = max(se, float(np.std(d * d, ddof=1)) / math.sqrt(d.size))
            mb = mean_bound(float(np.mean(d * d)), PI2_3, se_b, bound_level(ctx.alpha, ctx.family_size))
            bound = Bound("|T_target / T - 1|", temperature_ratio_bound(mb, float(x[0] - x[-1])),
                          bound.confidence, "if the target runs at temperature T' (d = (T/T') L + (T/T' - 1) dx): "
                          f"from |E[d^2] - pi^2/3| <= {mb:.3g} (max of the null and the sample standard "
                          "error, valid for T' < T and T' > T); " + bound.note)
        return [replace(v, detectable=det, bound=bound)]

    return _guard(claim, check, text, ctx, seed, n, body)


def _box_grid_probs(edges: np.ndarray) -> np.ndarray:
    """Cell probabilities of the K = 3 joint log-ratio law on the grid edges x edges by
    inclusion-exclusion of the joint CDF 1/(1 + e^{-t1} + e^{-t2})."""
    e = np.concatenate([[-1e4], edges, [1e4]])  # +-1e4: CDF exactly 0 / marginal, no inf - inf
    t1, t2 = np.meshgrid(e, e, indexing="ij")
    with np.errstate(over="ignore"):
        F = laws.logratio_joint_cdf(np.stack([t1, t2], axis=-1))
    cells = F[1:, 1:] - F[:-1, 1:] - F[1:, :-1] + F[:-1, :-1]
    return np.clip(cells, 0.0, None)


def logratio_joint(fn: Callable, logits: Sequence[float], temperature: float, n: int,
                   ctx: RunContext, *, check: str, claim: str = "C2", cuts: int = 7) -> list[Verdict]:
    r"""C2 joint (K = 3; equivalently the Concrete density C1 through a bijection): the vector
    :math:`d = (d_1, d_2)` falls in the boxes of a ``(cuts+1)^2`` grid (cut at Logistic
    quantiles) with the probabilities given by inclusion-exclusion of
    :math:`P(d \le t) = 1/(1 + e^{-t_1} + e^{-t_2})`; Pearson chi-square over all boxes."""
    x = np.asarray(logits, dtype=np.float64)
    if x.size != 3:
        raise ValueError("logratio_joint is for K = 3")
    seed = ctx.seed_for(check)
    text = (f"joint law of (T log(y_i/y_3) - (x_i - x_3))_(i=1,2): P(d <= t) = 1/(1 + e^-t1 + e^-t2) "
            f"at T = {temperature:g}, x = {fmt_logits(x)}")
    edges = np.log(np.arange(1, cuts + 1) / (cuts + 1 - np.arange(1, cuts + 1)))  # logistic quantiles

    def body():
        y = draw_relaxed(fn, x, temperature, n, seed)
        d = _log_ratios(y, x, temperature, "relaxed sampler")
        i1 = np.searchsorted(edges, d[:, 0], side="right")
        i2 = np.searchsorted(edges, d[:, 1], side="right")
        counts = np.bincount(i1 * (cuts + 1) + i2, minlength=(cuts + 1) ** 2)
        probs = _box_grid_probs(edges).ravel()
        return [discrete_verdict(claim, check, text, counts, probs / probs.sum(), **ctx.check_kwargs(check),
                                 details={"temperature": temperature, "edges": edges.tolist()})]

    return _guard(claim, check, text, ctx, seed, n, body)


def binary_concrete(fn: Callable, logits: Sequence[float], temperature: float, n: int,
                    ctx: RunContext, *, check: str, claim: str = "C4") -> list[Verdict]:
    r"""C4 (K = 2): :math:`P(y_1 \le u) = \sigma(T\,\mathrm{logit}(u) - (x_1 - x_2))`; KS on the
    logit scale, :math:`\mathrm{logit}(y_1) \sim` Logistic(:math:`\Delta/T`, :math:`1/T`)
    (same statistic as KS on ``y_1``, since logit is monotone, but no saturation at 0/1)."""
    x = np.asarray(logits, dtype=np.float64)
    if x.size != 2:
        raise ValueError("binary_concrete is for K = 2")
    delta = float(x[0] - x[1])
    t = float(temperature)
    seed = ctx.seed_for(check)
    text = f"P(y_1 <= u) = sigma(T logit(u) - (x_1 - x_2)) at T = {t:g}, x_1 - x_2 = {delta:.4g}"

    def body():
        z = binary_logit_samples(fn, x, t, n, seed)
        return [ks_verdict(claim, check, text, z, lambda s: laws.logistic_cdf(t * np.asarray(s) - delta),
                           **ctx.check_kwargs(check), details={"temperature": t, "logit_diff": delta})]

    return _guard(claim, check, text, ctx, seed, n, body)


# ---------------------------------------------------------------- noise ----------------------

def noise_law(fn: Callable, n: int, ctx: RunContext, *, check: str, claim: str = "N") -> list[Verdict]:
    """Standard Gumbel law of the noise: KS and Anderson-Darling (tail-weighted)."""
    seed = ctx.seed_for(check)
    text = "noise ~ standard Gumbel: F(g) = exp(-exp(-g))"

    def body():
        g = draw_noise(fn, n, seed)
        kw = ctx.check_kwargs(check)
        return [ks_verdict(claim, f"{check}.ks", text, g, laws.gumbel_cdf, **kw),
                ad_verdict(claim, f"{check}.ad", text, g, laws.gumbel_cdf, logcdf=laws.gumbel_logcdf,
                           logsf=lambda v: np.log(laws.gumbel_sf(v)), **kw)]

    return _guard(claim, check, text, ctx, seed, n, body)


def noise_tail(fn: Callable, n: int, ctx: RunContext, *, check: str, claim: str = "N",
               expected_hits: float = 50.0) -> list[Verdict]:
    r"""Upper tail of the noise: the number of draws above :math:`t` is Binomial(n, 1 - F(t))
    with :math:`t` chosen so that ``n (1 - F(t)) = expected_hits``. At the thorough budget
    :math:`t > 16.64`, which float32 / 24-bit-uniform noise never exceeds (bugs.md A.3)."""
    q = expected_hits / n
    t = noise_tail_threshold(n, expected_hits)
    seed = ctx.seed_for(check)
    text = f"P(g > {t:.3f}) = {q:.3g} (upper tail of the standard Gumbel)"

    def body():
        hits = 0
        gmax = -math.inf
        at, first = 0, []
        for m, s in seeded_chunks(n, TAIL_CHUNK, seed):
            g = draw_noise(fn, m, s)
            if len(first) < 64:
                first.extend((at + np.flatnonzero(g > t)[:64]).tolist())
            hits, at = hits + int(np.sum(g > t)), at + m
            gmax = max(gmax, float(g.max()))
        return [tail_verdict(claim, check, text, hits, n, q, **ctx.check_kwargs(check),
                             details={"threshold": t, "max_noise_seen": gmax, "draws_digest": hits_digest(first[:64], q)})]

    return _guard(claim, check, text, ctx, seed, n, body)


def noise_resolution(fn: Callable, n: int, ctx: RunContext, *, check: str, claim: str = "N",
                     bits: int = 52) -> list[Verdict]:
    r"""Resolution of the noise: a continuous law has no repeated values. With noise from
    uniforms of ``bits`` bits the number of coinciding pairs among ``n`` draws is about
    Poisson(:math:`\binom{n}{2} 2^{-\text{bits}}`) (at most; the Gumbel transform is
    one-to-one). Too few bits (a :math:`2^{-31}` or :math:`2^{-24}` grid, bugs.md A.3,
    vllm#47524) shows as many collisions: exact Poisson upper-tail p-value."""
    seed = ctx.seed_for(check)
    lam = n * (n - 1) / 2.0 * 2.0 ** (-bits)
    text = f"the noise takes at least 2^{bits} values: repeated values ~ Poisson({lam:.3g})"

    def body():
        g = draw_noise(fn, n, seed)
        g.sort()
        dup = int(np.sum(g[1:] == g[:-1]))
        p = float(sps.poisson.sf(dup - 1, lam)) if dup > 0 else 1.0
        reason = f"{dup} repeated values among {n} draws, expected about {lam:.2g}"
        return [Verdict(claim=claim, check=check, claim_text=text, test="Poisson collision count",
                        statistic=float(dup), pvalue=p, n=n, alpha=ctx.alpha, seed=seed,
                        reproduce=_repro(ctx, check, seed), reason=reason,
                        detectable=Detectable("resolution_bits", 2 * math.log2(max(n, 2)) - 4, 0.9,
                                              level_for(ctx.alpha, ctx.family_size),
                                              note="a grid of fewer bits gives >= 8 expected repeats"),
                        details={"duplicates": dup, "expected": lam},
                        expected=f"about {lam:.3g} repeated values among {n} draws (Poisson, {bits}-bit grid)",
                        seen=f"{dup} repeated values")]

    return _guard(claim, check, text, ctx, seed, n, body)


def max_stability(fn: Callable, logits: Sequence[float], n: int, ctx: RunContext, *, check: str,
                  claim: str = "T2") -> list[Verdict]:
    r"""T2: :math:`M = \max_i (x_i + g_i) \sim` Gumbel(:math:`\operatorname{lse}(x)`, 1); KS."""
    x = np.asarray(logits, dtype=np.float64)
    seed = ctx.seed_for(check)
    lse = float(logsumexp(x))
    text = f"max_i (x_i + g_i) ~ Gumbel(loc = lse(x) = {lse:.6g}, scale 1), x = {fmt_logits(x)}"

    def body():
        m = max_samples(fn, x, n, seed)
        return [ks_verdict(claim, check, text, m, lambda v: laws.gumbel_cdf(v, loc=lse), **ctx.check_kwargs(check),
                           details={"lse": lse})]

    return _guard(claim, check, text, ctx, seed, n, body)


# ---------------------------------------------------------------- torch gradients ------------

def _jacobian_rows(fn: Callable, x, tau: float, hard: bool):
    """Forward once on a batch, then K backward passes (weights e_j): J[b, j, :] = d y_bj / d x_b."""
    import torch

    xr = x.detach().clone().requires_grad_(True)
    y = fn(xr, tau=tau, hard=hard, dim=-1)
    if not isinstance(y, torch.Tensor):
        raise TargetError(f"returned {type(y).__name__}, expected a torch.Tensor")
    if y.shape != xr.shape:
        raise TargetError(f"returned shape {tuple(y.shape)}, expected {tuple(xr.shape)}")
    if not y.requires_grad:
        raise TargetError("the output does not require grad: no gradient flows to the logits "
                          "(y_hard alone, or a detached result)")
    k = xr.shape[-1]
    rows = []
    for j in range(k):
        (gj,) = torch.autograd.grad(y[:, j].sum(), xr, retain_graph=j < k - 1, allow_unused=True)
        if gj is None:
            raise TargetError("the logits are not in the autograd graph of the output")
        rows.append(gj.detach().to(torch.float64))
    return y.detach().to(torch.float64), torch.stack(rows, dim=1)


def _seeded_jacobian(fn: Callable, x: np.ndarray, t: float, hard: bool, ctx: RunContext, claim: str,
                     check: str, text: str, seed: int, batch: int, dtype: Any, test: str):
    """(y, J) from one seeded forward pass of ``batch`` copies of ``x`` and K backward passes,
    or a FAIL verdict naming what the target did wrong."""
    import torch

    try:
        torch.manual_seed(seed % (2**63))
        xt = torch.as_tensor(x, dtype=dtype, device=ctx.device).expand(batch, -1).contiguous()
        return _jacobian_rows(fn, xt, t, hard=hard)
    except TargetError as exc:
        cause = f"target error: {exc}"
    except Exception as exc:  # noqa: BLE001 - whatever the target raised is its failure
        cause = f"target raised {type(exc).__name__}: {exc}"
    return error_verdict(claim, check, text, cause, seed=seed, alpha=ctx.alpha,
                         reproduce=_repro(ctx, check, seed), test=test)


def _grad_tolerance(dtype) -> float:
    import torch

    return {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 5e-2}[dtype]


def jacobian(fn: Callable, logits: Sequence[float], temperature: float, ctx: RunContext, *,
             check: str, claim: str = "G1", batch: int = 64, dtype: Any = None) -> list[Verdict]:
    r"""G1 on the target's own output: for each of ``batch`` samples, the Jacobian recovered by
    autograd equals :math:`(\operatorname{diag}(y) - y y^\top)/T` computed from the output
    :math:`y` itself (noise unseen). Deterministic: max abs error against a dtype tolerance
    scaled by :math:`1/T`."""
    import torch

    dtype = dtype or torch.float64
    x = np.asarray(logits, dtype=np.float64)
    seed = ctx.seed_for(check)
    text = f"dy/dx = (diag(y) - y y^T)/T on the sampler's own output, T = {temperature:g}, {dtype}"
    got = _seeded_jacobian(fn, x, temperature, False, ctx, claim, check, text, seed, batch, dtype,
                           "autograd Jacobian")
    if isinstance(got, Verdict):
        return [got]
    y, jac = got
    expected = (torch.diag_embed(y) - y[:, :, None] * y[:, None, :]) / temperature
    err = float((jac - expected).abs().max())
    tol = _grad_tolerance(dtype) / temperature
    return [deterministic_verdict(claim, check, text, err, tol, test="autograd Jacobian vs closed form",
                                  details={"temperature": temperature, "dtype": str(dtype), "batch": batch},
                                  reproduce=_repro(ctx, check, seed))]


def _recover_soft(J: np.ndarray, t: float) -> np.ndarray:
    """s with (diag(s) - s s^T)/T = J (K >= 3 from off-diagonal products; K = 2 up to the
    swap, resolved later by the argmax)."""
    k = J.shape[0]
    P = -t * J  # off-diagonal s_i s_j
    if k == 2:
        prod = max(P[0, 1], 0.0)
        r = math.sqrt(max(0.0, 1 - 4 * prod))
        return np.array([(1 + r) / 2, (1 - r) / 2])
    s = np.zeros(k)
    for i in range(k):
        j, l = [m for m in range(k) if m != i][:2]
        s[i] = math.sqrt(max(0.0, P[i, j] * P[i, l] / P[j, l])) if P[j, l] > 0 else 0.0
    return s


def straight_through(fn: Callable, logits: Sequence[float], temperature: float, ctx: RunContext, *,
                     check: str, claim: str = "G4", batch: int = 64, dtype: Any = None) -> list[Verdict]:
    r"""G4: with ``hard=True`` the forward value is exactly one-hot, and the Jacobian recovered
    from backward is :math:`(\operatorname{diag}(s) - s s^\top)/T` for an :math:`s` on the
    simplex whose argmax is the forward one-hot (straight-through ``y_hard - y_soft.detach() +
    y_soft``). Deterministic; max reconstruction error against a dtype tolerance."""
    import torch

    dtype = dtype or torch.float64
    x = np.asarray(logits, dtype=np.float64)
    seed = ctx.seed_for(check)
    t = float(temperature)
    text = ("hard=True: forward exactly one-hot; backward = (diag(s) - s s^T)/T for s on the simplex "
            f"with argmax s = the forward index, T = {t:g}, {dtype}")
    got = _seeded_jacobian(fn, x, t, True, ctx, claim, check, text, seed, batch, dtype, "straight-through")
    if isinstance(got, Verdict):
        return [got]
    y, jac = got
    yn, jn = y.cpu().numpy(), jac.cpu().numpy()
    onehot = onehot_rows(yn)
    if not onehot.all():
        return [error_verdict(claim, check, text, f"{int((~onehot).sum())} of {batch} forward rows are not "
                              f"exactly one-hot, e.g. {yn[~onehot][0].tolist()}", seed=seed, alpha=ctx.alpha,
                              reproduce=_repro(ctx, check, seed), test="straight-through")]
    tol = _grad_tolerance(dtype) / t
    worst = 0.0
    problems = []
    for b in range(batch):
        s = _recover_soft(jn[b], t)
        idx = int(np.argmax(yn[b]))
        if x.size == 2 and idx == 1:
            s = s[::-1]
        recon = (np.diag(s) - np.outer(s, s)) / t
        err = float(np.max(np.abs(recon - jn[b])))
        sum_err = abs(float(s.sum()) - 1.0)
        worst = max(worst, err, sum_err / t)
        if np.max(np.abs(jn[b])) == 0:
            problems.append(f"row {b}: zero gradient (straight-through without the soft term?)")
        elif int(np.argmax(s)) != idx and s[idx] < s.max() - 1e-6:
            problems.append(f"row {b}: forward index {idx} but the soft sample behind the gradient peaks at "
                            f"{int(np.argmax(s))} (s = {np.round(s, 4).tolist()})")
    if problems:
        return [error_verdict(claim, check, text, "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)"
                              if len(problems) > 3 else ""), seed=seed, alpha=ctx.alpha,
                              reproduce=_repro(ctx, check, seed), test="straight-through")]
    return [deterministic_verdict(claim, check, text, worst, tol, test="straight-through Jacobian reconstruction",
                                  details={"temperature": t, "dtype": str(dtype), "batch": batch},
                                  reproduce=_repro(ctx, check, seed))]
