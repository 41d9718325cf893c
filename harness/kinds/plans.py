r"""Check plans: which claim checks run for each kind of target, on which logits and
temperatures, with how many samples (from the budget).

Every entry is a :class:`PlannedCheck` whose ``run(target, ctx)`` calls the claim checks of
:mod:`harness.checks.claims` (never re-implemented here) and returns Verdicts. All
statistical verdicts of one plan form one Holm family at ``budget.alpha``; ``size`` is the
number of statistical verdicts an entry contributes (the family is the law's: contract entries
are deterministic), so the family size (and the power statements, computed at
``alpha / family_size``) is known before anything runs.

Power requirements (issue 5), at the **standard** budget (family alpha 1e-4, Holm over confirmed
p-values: a check is rejected at the Bonferroni level ``L = alpha/m`` iff both of its stages
reject at ``sqrt(L)``, :mod:`harness.stats.confirm`):

* ``T1.law.power`` draws ``n_discrete`` = 4 000 000 samples from ``p = (0.1, 0.2, 0.3, 0.4)``
  (df = 3). For any alternative ``q`` at total-variation distance ``delta``, Cohen's
  :math:`w^2 = \sum (q-p)^2/p \ge 4\delta^2` (the minimum puts ``+delta`` on one half of the
  mass and ``-delta`` on the other, proportionally to ``p``; these logits split exactly into
  halves {0.1, 0.4} / {0.2, 0.3}, so the bound is attained). At ``delta = 0.002``, ``w = 0.004``,
  noncentrality ``N w^2 = 64``; the confirmed power (stage power squared, each stage at
  ``sqrt(1e-4/11)``) is 0.99999 for the categorical family (``m = 11``): :func:`power_targets`
  computes it for the actual run.
* ``C2.scale.T1`` tests :math:`E[d^2] = \pi^2/3` for ``d = T log(y_1/y_K) - (x_1 - x_K)`` on
  ``n_relaxed`` = 200 000 samples (se 0.0132). A sampler running at temperature ``T (1 + e)``
  has :math:`E[d^2] = \pi^2/(3(1+e)^2) + \dots`; at ``e = +-2%`` the shift is 9.7-10.3 standard
  errors, confirmed power > 0.99999 at ``1e-4/m``.

Regimes (why each exists, i.e. which real bug it catches):

==================  ===========================================================================
``power``           log(0.1, 0.2, 0.3, 0.4): the TV-0.002 power regime; wrong math (B1-B6)
``wide``            K = 64 Normal(0, 1.5) logits: bf16/float16 inverse-CDF cumsum (B16)
``neginf``          -inf entries: zero-probability categories must never appear (A.4)
``shift``           logits ~ 1000: max-subtraction omitted (B27), logits cast to bf16 (B15)
``ties``            K = 8 equal logits: ties resolved to the lowest index (B25)
``pairs``           consecutive draws of one call independent: noise reused (B22)
``lags``            one call independent at lags 1..4096 (periodic or chunk-reused noise)
``seeds``           neighbouring seeds s, s + 1 give independent streams (seed ignored / shifted)
``gap8``            K = 2 with a gap of 8 nats: coarse or capped noise (half precision, B11)
``tail``            K = 2 with a gap of 11-18 nats: truncated noise tail (A.3, B10-B12)
``T = 0.5 / 2``     temperature applied twice or multiplied (B18)
``dim`` / ``batch``  dim ignored (B20), strides ignored (B21), rows mixed (jax#13124)
==================  ===========================================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from harness.core.budgets import Budget
from harness.checks.builders import (
    conditional_verdict,
    confirm_verdicts,
    confirmation_context,
    deterministic_verdict,
    discrete_verdict,
    error_verdict,
)
from harness.core.context import RunContext
from harness.checks import claims as sc
from harness.checks.samplers import (
    TargetError,
    draw_categorical,
    draw_noise,
    onehot_rows,
    simplex_tolerance,
    torch_as_categorical,
    torch_as_relaxed,
)
from harness.core.verdict import Verdict
from reference.softmax import softmax

__all__ = [
    "PlannedCheck",
    "plan_for",
    "select",
    "NO_CHECKS",
    "matches",
    "parse_only",
    "power_targets",
    "LOGITS",
    "tail_gap",
    "pair_independence",
    "noise_bits_for",
    "KINDS",
    "lag_independence",
    "seed_independence",
    "max_argmax_independence",
]

NEG = -math.inf
#: The logits regimes (fixed, so every run tests the same laws).
LOGITS: dict[str, np.ndarray] = {
    "power": np.log(np.array([0.1, 0.2, 0.3, 0.4])),
    "wide": np.round(np.random.default_rng(20240611).normal(0.0, 1.5, 64), 3),
    "neginf": np.array([1.0, NEG, 0.0, NEG, 2.0, -0.5]),
    "shift": np.array([1000.2, 999.7, 1001.0, 998.5]),
    "ties": np.zeros(8),
    "k5": np.array([1.5, -0.5, 0.3, 0.0, -2.0]),
    "k3": np.array([0.5, -0.5, 0.0]),
    "k3b": np.array([0.3, -0.2, 0.9]),
    "k2": np.array([0.8, -0.4]),
    "gap8": np.array([0.0, -8.0]),
    "neginf4": np.array([1.0, NEG, 0.0, 2.0]),
}


class ConfirmedCheck:
    """``run(target, ctx)`` of a plan entry with confirmed rejections: the entry's body runs at
    ``ctx``; if one of its statistical verdicts has ``p <= sqrt(alpha)`` it runs again under
    :func:`~harness.checks.builders.confirmation_context` (fresh draws) and those verdicts report
    ``max(p1, p2)**2`` (:func:`~harness.checks.builders.confirm_verdicts`). A top-level class, so that
    plans stay picklable by reference."""

    def __init__(self, body: Callable[[Callable, RunContext], list[Verdict]]) -> None:
        self.body = body

    def __call__(self, target: Callable, ctx: RunContext) -> list[Verdict]:
        return confirm_verdicts(self.body(target, ctx), lambda: self.body(target, confirmation_context(ctx)),
                                ctx.alpha)


@dataclass(frozen=True)
class PlannedCheck:
    """One entry of a plan: ``id`` (the check id, also its seed key), ``claim``, a one-line
    ``title``, ``size`` (statistical verdicts it adds to the Holm family), ``run`` and
    ``group``: ``"law"`` (the statistical law checks and the gradient identities: does the
    target sample and differentiate what the theorem says) or ``"contract"`` (the input /
    dtype / shape / precision / reproducibility contract). The law's statistical checks form
    the run's Holm family; contract checks are deterministic."""

    id: str
    claim: str
    title: str
    size: int
    run: Callable[[Callable, RunContext], list[Verdict]]
    group: str = "law"

    def __post_init__(self) -> None:
        # every entry reports confirmed p-values (harness.stats.confirm): a stage-1 p-value
        # <= sqrt(alpha) is re-tested on fresh draws inside run, before the family is judged
        if not isinstance(self.run, ConfirmedCheck):
            object.__setattr__(self, "run", ConfirmedCheck(self.run))

    @property
    def column(self) -> str:
        """Conformance-matrix column: the first two dot-separated parts of the id."""
        return ".".join(self.id.split(".")[:2])


def tail_gap(budget: Budget) -> float:
    """Logit gap of the K = 2 tail regime: about 30 expected hits of the rare category at the
    budget's ``n_tail``, capped at 18 (vllm#51367; the float32 noise cap 16.6 shows there)."""
    return float(min(18.0, max(6.0, math.log(budget.n_tail / 30.0))))


def noise_bits_for(dtype: np.dtype) -> int:
    """Resolution (bits) the ``noise_resolution`` check demands for a noise output dtype:
    52 for float64, 22 for float32 (24-bit uniforms plus float32 rounding of g), and 22 for
    anything narrower, which float16/bfloat16 noise (11/8 bits) then fails."""
    return 52 if np.dtype(dtype).itemsize >= 8 else 22


def pair_independence(fn: Callable, logits, n_pairs: int, ctx: RunContext, *, check: str,
                      claim: str = "T1") -> list[Verdict]:
    """Consecutive draws of one call are independent: the ordered pairs
    ``(s[2j], s[2j+1])`` of ``2 n_pairs`` draws fit ``p (x) p`` (chi-square over K^2 cells).
    A sampler that reuses a noise draw across samples (B22) or correlates neighbours fails."""
    x = np.asarray(logits, dtype=np.float64)
    p = softmax(x)
    k = x.size
    seed = ctx.seed_for(check)
    text = (f"consecutive draws of one call are independent: (s_2j, s_2j+1) ~ p x p for "
            f"x = {sc.fmt_logits(x)}")
    repro = ctx.repro(check, seed)
    try:
        s = draw_categorical(fn, x, 2 * n_pairs, seed)
    except TargetError as exc:
        return [error_verdict(claim, check, text, f"target error: {exc}", n=2 * n_pairs, seed=seed,
                              reproduce=repro, alpha=ctx.alpha)]
    counts = np.bincount(s[0::2] * k + s[1::2], minlength=k * k)
    return [discrete_verdict(claim, check, text, counts, np.outer(p, p).ravel(), seed=seed,
                             reproduce=repro, alpha=ctx.alpha, family_size=ctx.family_size,
                             labels=[f"({a},{b})" for a in range(k) for b in range(k)],
                             details={"logits": x.tolist()})]


#: lags of the within-call serial test (chunk-like boundaries 1024 / 4096 included)
WITHIN_LAGS = (1, 2, 3, 7, 64, 1024, 4096)
#: lags (b_j against a_{j+l}) between the streams of neighbouring seeds s and s + 1
SEED_LAGS = (-2, -1, 0, 1, 2)


def _disjoint_lag_pairs(s: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint pairs ``(s_j, s_{j+lag})``: j runs over the first half of each block of
    ``2 lag`` draws, so no draw is used twice and the pair counts are multinomial under
    independence (overlapping pairs are not)."""
    j = np.arange(s.size - lag)
    j = j[(j // lag) % 2 == 0]
    return s[j], s[j + lag]


def _lagged_verdict(claim: str, check: str, text: str, tables: list[tuple[str, np.ndarray]], p: np.ndarray,
                    ctx: RunContext, seed: int, repro: str, details: dict) -> list[Verdict]:
    """One verdict for several K^2 pair tables against ``p (x) p``: Bonferroni over the tables
    inside the check (p = min(1, L p_min)); each table's test and power at the split level (family
    size ``m L^2``, so that its stage level is ``sqrt(alpha/m)/L``)."""
    k = p.size
    el = len(tables)
    labels = [f"({a},{b})" for a in range(k) for b in range(k)]
    vs = [(name, discrete_verdict(claim, check, text, counts, np.outer(p, p).ravel(), seed=seed, reproduce=repro,
                                  alpha=ctx.alpha, family_size=ctx.family_size * el * el, labels=labels, split=el,
                                  details={**details, "lag": name}))
          for name, counts in tables]
    name, worst = min(vs, key=lambda t: (t[1].pvalue if t[1].pvalue is not None else 1.0))
    if worst.forced_fail:
        return [worst]
    pmin = float(worst.pvalue)  # type: ignore[arg-type]
    per = {n: float(v.pvalue) for n, v in vs}  # type: ignore[arg-type]
    det = worst.detectable
    if det is not None:  # the check is judged at alpha/m like any other; each lag table at 1/L of it
        det = replace(det, level=ctx.alpha / max(1, ctx.family_size),
                      note=f"in each of the {el} lag tables (Bonferroni inside the check); {det.note}")
    return [replace(worst, pvalue=min(1.0, el * pmin), detectable=det,
                    test=f"{worst.test}, Bonferroni over {el} lags",
                    reason=f"smallest p = {pmin:.3g} at lag {name} (of {el}); {worst.reason}",
                    details={**dict(worst.details), "lag_pvalues": per})]


def lag_independence(fn: Callable, logits, n: int, ctx: RunContext, *, check: str,
                     claim: str = "T1") -> list[Verdict]:
    """Draws of one call are independent at several lags (:data:`WITHIN_LAGS`, including
    chunk-like boundaries): disjoint pairs ``(s_j, s_{j+l})`` fit ``p (x) p`` for every lag."""
    x = np.asarray(logits, dtype=np.float64)
    p = softmax(x)
    k = x.size
    seed = ctx.seed_for(check)
    repro = ctx.repro(check, seed)
    text = (f"draws of one call are independent at lags {', '.join(map(str, WITHIN_LAGS))}: "
            f"(s_j, s_j+l) ~ p x p for x = {sc.fmt_logits(x)}")
    try:
        s = draw_categorical(fn, x, n, seed)
    except TargetError as exc:
        return [error_verdict(claim, check, text, f"target error: {exc}", n=n, seed=seed, reproduce=repro,
                              alpha=ctx.alpha)]
    tables = []
    for lag in WITHIN_LAGS:
        a, b = _disjoint_lag_pairs(s, lag)
        tables.append((str(lag), np.bincount(a * k + b, minlength=k * k)))
    return _lagged_verdict(claim, check, text, tables, p, ctx, seed, repro, {"logits": x.tolist()})


def seed_independence(fn: Callable, logits, n: int, ctx: RunContext, *, check: str,
                      claim: str = "T1") -> list[Verdict]:
    """The streams of neighbouring seeds ``s`` and ``s + 1`` are independent: pairs
    ``(a_{j+l}, b_j)`` of the draws ``a`` (seed s) and ``b`` (seed s + 1) fit ``p (x) p`` at the
    lags :data:`SEED_LAGS`. A target that ignores its seed (or keeps only its high bits) repeats
    its stream (lag 0); one that offsets one stream by the seed shifts it (lag +-1); both fail.
    The confirmation of rejections (harness.stats.confirm) relies on this independence."""
    x = np.asarray(logits, dtype=np.float64)
    p = softmax(x)
    k = x.size
    seed = ctx.seed_for(check) & ((1 << 62) - 1)
    repro = ctx.repro(check, seed)
    text = (f"draws for neighbouring seeds s and s + 1 are independent: (a_j+l, b_j) ~ p x p for "
            f"l in {list(SEED_LAGS)}, x = {sc.fmt_logits(x)}")
    try:
        a = draw_categorical(fn, x, n, seed)
        b = draw_categorical(fn, x, n, seed + 1)
    except TargetError as exc:
        return [error_verdict(claim, check, text, f"target error: {exc}", n=2 * n, seed=seed, reproduce=repro,
                              alpha=ctx.alpha)]
    h = max(abs(v) for v in SEED_LAGS)
    tables = []
    for lag in SEED_LAGS:
        aa = a[h + lag: n - h + lag]
        bb = b[h: n - h]
        tables.append((str(lag), np.bincount(aa * k + bb, minlength=k * k)))
    return _lagged_verdict(claim, check, text, tables, p, ctx, seed, repro,
                           {"logits": x.tolist(), "seeds": [seed, seed + 1]})


# ------------------------------------------------------------------ categorical -------------

def _categorical_plan(b: Budget) -> list[PlannedCheck]:
    L = LOGITS
    nd = b.n_discrete

    def law(regime: str, n: int):
        return lambda fn, ctx, _id: sc.categorical_law(fn, L[regime], n, ctx, check=_id, label=regime)

    gap = tail_gap(b)
    plan = [
        ("T1.law.power", "T1", f"argmax law, p = (0.1, 0.2, 0.3, 0.4), N = {nd:,} (TV-0.002 power regime)", 1,
         law("power", nd)),
        ("T1.law.wide", "T1", f"argmax law, K = 64, N = {nd // 4:,}", 1, law("wide", nd // 4)),
        ("T1.law.neginf", "T1", f"argmax law with -inf logits (never sampled), N = {nd // 4:,}", 1,
         law("neginf", nd // 4)),
        ("T1.law.shift", "T1", f"argmax law, logits ~ 1000 (max-subtraction, bf16), N = {nd // 8:,}", 1,
         law("shift", nd // 8)),
        ("T1.law.ties", "T1", f"argmax law, K = 8 equal logits (ties), N = {nd:,}", 1, law("ties", nd)),
        ("T1.law.k5", "T1", f"argmax law, K = 5 spread logits, N = {nd // 4:,}", 1, law("k5", nd // 4)),
        ("T1.law.gap8", "T1", f"argmax law, K = 2 with a gap of 8 nats (p = 3.4e-4), N = {nd // 4:,}", 1,
         law("gap8", nd // 4)),
        ("T1.pairs", "T1", f"consecutive draws independent (K^2 = 16 cells), {nd // 8:,} pairs", 1,
         lambda fn, ctx, _id: pair_independence(fn, L["power"], nd // 8, ctx, check=_id)),
        ("T1.lags", "T1", f"one call independent at lags {', '.join(map(str, WITHIN_LAGS))}, N = {nd // 4:,}", 1,
         lambda fn, ctx, _id: lag_independence(fn, L["power"], nd // 4, ctx, check=_id)),
        ("T1.seeds", "T1", f"streams of seeds s and s + 1 independent (lags -2..2), 2 x {nd // 8:,} draws", 1,
         lambda fn, ctx, _id: seed_independence(fn, L["power"], nd // 8, ctx, check=_id)),
        ("T1.tail", "T1", f"tail mass: K = 2, gap {gap:.1f} nats, N = {b.n_tail:,} (exact binomial)", 1,
         lambda fn, ctx, _id: sc.tail_mass(fn, [0.0, -gap], b.n_tail, ctx, rare=1, check=_id)),
    ]
    return [_mk(*p) for p in plan]


def _mk(cid: str, claim: str, title: str, size: int, body, group: str = "law") -> PlannedCheck:
    return PlannedCheck(cid, claim, title, size, lambda fn, ctx, _b=body, _id=cid: _b(fn, ctx, _id), group)


# ------------------------------------------------------------------ relaxed -----------------

def _relaxed_entries(b: Budget, prefix: str = "") -> list[tuple]:
    L = LOGITS
    nr = b.n_relaxed

    def rnd(regime, t):
        return lambda fn, ctx, _id: sc.rounding_law(fn, L[regime], t, nr, ctx, check=_id)

    def scale(regime, t):
        return lambda fn, ctx, _id: sc.logratio_scale(fn, L[regime], t, nr, ctx, check=_id)

    return [
        (f"{prefix}C3.round.T1", "C3", f"argmax of y ~ softmax(x), T = 1, N = {nr:,}", 1, rnd("power", 1.0)),
        (f"{prefix}C3.round.T0.1", "C3", f"argmax of y ~ softmax(x), K = 5, T = 0.1, N = {nr:,}", 1,
         rnd("k5", 0.1)),
        (f"{prefix}C3.round.neginf", "C3", f"argmax of y with -inf logits, T = 0.5, N = {nr:,}", 1,
         rnd("neginf4", 0.5)),
        (f"{prefix}C3.round.shift", "C3", f"argmax of y, logits ~ 1000, T = 0.5, N = {nr:,}", 1,
         rnd("shift", 0.5)),
        (f"{prefix}C2.scale.T1", "C2", f"E[d^2] = pi^2/3, T = 1, N = {nr:,} (2%-temperature power regime)", 1,
         scale("power", 1.0)),
        (f"{prefix}C2.scale.T0.5", "C2", f"E[d^2] = pi^2/3, K = 3, T = 0.5, N = {nr:,}", 1, scale("k3b", 0.5)),
        (f"{prefix}C2.scale.T2", "C2", f"E[d^2] = pi^2/3, K = 3, T = 2, N = {nr:,}", 1, scale("k3b", 2.0)),
        (f"{prefix}C2.marginal.T0.5", "C2", f"log-ratios ~ Logistic (KS per pair), K = 4, T = 0.5, N = {nr:,}", 3,
         lambda fn, ctx, _id: sc.logratio_marginal(fn, L["power"], 0.5, nr, ctx, check=_id)),
        (f"{prefix}C2.joint", "C2", f"joint law of the log-ratios (K = 3, 64 boxes), T = 0.7, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.logratio_joint(fn, L["k3"], 0.7, nr, ctx, check=_id)),
        (f"{prefix}C4.binary", "C4", f"binary Concrete CDF (K = 2), T = 0.5, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.binary_concrete(fn, L["k2"], 0.5, nr, ctx, check=_id)),
    ]


def _relaxed_plan(b: Budget) -> list[PlannedCheck]:
    return [_mk(*e) for e in _relaxed_entries(b)]


# ------------------------------------------------------------------ noise -------------------

def _noise_dtype(fn: Callable) -> np.dtype:
    out = fn((16,), 12345)
    if hasattr(out, "detach"):
        out = out.detach().cpu()
        s = str(out.dtype)
        return np.dtype({"torch.bfloat16": "float16", "torch.float16": "float16",
                         "torch.float32": "float32"}.get(s, "float64"))
    return np.asarray(out).dtype


def max_argmax_independence(fn: Callable, logits, n: int, ctx: RunContext, *, check: str,
                            claim: str = "T3") -> list[Verdict]:
    r"""T3 on a noise target: :math:`M = \max_i(x_i + g_i)` given the argmax is
    Gumbel(lse(x)) in every class. Per-class Anderson-Darling with exact log-CDF / log-survival
    (tail-weighted: a noise whose upper tail is cut or reshaped changes the law of M in the class
    that needs the largest g, the least probable one), Holm inside the check."""
    from scipy.special import logsumexp

    from reference import laws

    x = np.asarray(logits, dtype=np.float64)
    seed = ctx.seed_for(check)
    lse = float(logsumexp(x))
    text = f"max_i (x_i + g_i) | argmax = i ~ Gumbel(lse(x) = {lse:.6g}, 1) for every class i, x = {sc.fmt_logits(x)}"
    try:
        g = draw_noise(fn, n * x.size, seed).reshape(n, x.size)
    except TargetError as exc:
        return [error_verdict(claim, check, text, f"target error: {exc}", n=n, seed=seed,
                              reproduce=ctx.repro(check, seed), alpha=ctx.alpha)]
    s = x + g
    cdf = lambda v: laws.gumbel_cdf(v, loc=lse)  # noqa: E731
    logcdf = lambda v: -np.exp(-(np.asarray(v, dtype=np.float64) - lse))  # noqa: E731
    logsf = lambda v: np.log(-np.expm1(-np.exp(-(np.asarray(v, dtype=np.float64) - lse))))  # noqa: E731
    return [conditional_verdict(claim, check, text, s.argmax(axis=1), s.max(axis=1), cdf, test="ad",
                                logcdf=logcdf, logsf=logsf, **ctx.check_kwargs(check),
                                details={"lse": lse, "logits": x.tolist()})]


def _noise_plan(b: Budget) -> list[PlannedCheck]:
    nc = b.n_continuous

    def resolution(fn, ctx, _id):
        try:
            dt = _noise_dtype(fn)
        except TargetError as exc:
            return [error_verdict("N", _id, "noise resolution", f"target error: {exc}", alpha=ctx.alpha)]
        if dt.kind != "f":
            return [error_verdict("N", _id, "noise resolution", f"the noise has dtype {dt}, expected floating "
                                  "point", alpha=ctx.alpha)]
        vs = sc.noise_resolution(fn, 5 * nc, ctx, check=_id, bits=noise_bits_for(dt))
        return [replace(v, details={**v.details, "output_dtype": str(dt)}) for v in vs]

    plan = [
        ("N.law", "N", f"standard Gumbel law: KS and Anderson-Darling, N = {nc:,}", 2,
         lambda fn, ctx, _id: sc.noise_law(fn, nc, ctx, check=_id)),
        ("N.tail", "N", f"upper tail: P(g > t) with 50 expected hits in N = {b.n_tail:,}", 1,
         lambda fn, ctx, _id: sc.noise_tail(fn, b.n_tail, ctx, check=_id)),
        ("N.resolution", "N", f"no repeated values (52 bits float64, 22 float32), N = {5 * nc:,}", 1, resolution),
        ("T2.max", "T2", f"max_i(x_i + g_i) ~ Gumbel(lse x), K = 5, N = {nc:,}", 1,
         lambda fn, ctx, _id: sc.max_stability(fn, LOGITS["k5"], nc, ctx, check=_id)),
        ("T3.max_argmax", "T3", f"max independent of argmax: per-class Anderson-Darling, K = 5, N = {nc:,}", 1,
         lambda fn, ctx, _id: max_argmax_independence(fn, LOGITS["k5"], nc, ctx, check=_id)),
    ]
    return [_mk(*p) for p in plan]


# ------------------------------------------------------------------ torch -------------------

def _torch_dim0_categorical(fn: Callable) -> Callable:
    """Categorical sampler through ``dim=0`` of a transposed (non-contiguous) ``(K, n)`` view."""
    import torch

    def sampler(logits: np.ndarray, n: int, seed: int):
        torch.manual_seed(int(seed) % (2**63))
        k = logits.shape[-1]
        base = torch.as_tensor(logits, dtype=torch.float64).expand(n, k).contiguous()
        x = base.t()  # (K, n), strides (1, K): non-contiguous
        assert not x.is_contiguous() or n == 1
        with torch.no_grad():
            y = fn(x, tau=1.0, hard=True, dim=0)
        if not isinstance(y, torch.Tensor):
            raise TargetError(f"dim=0 call returned {type(y).__name__}, expected a tensor")
        if tuple(y.shape) != (k, n):
            raise TargetError(f"dim=0 on a ({k}, {n}) input returned shape {tuple(y.shape)}")
        yn = y.detach().cpu().double().numpy()
        ok = onehot_rows(yn, axis=0)
        if not ok.all():
            raise TargetError(f"hard=True, dim=0: {int((~ok).sum())} of {n} columns are not exactly one-hot "
                              "along dim 0 (dim ignored: normalised along the last axis?)")
        return np.argmax(yn, axis=0)

    return sampler


def _torch_mixed_batch(fn: Callable, other: np.ndarray) -> Callable:
    """Categorical sampler whose rows alternate ``logits`` / ``other`` in one batch; returns the
    indices of the ``logits`` rows. Rows mixed, broadcast wrongly or sharing noise fail the law."""
    import torch

    def sampler(logits: np.ndarray, n: int, seed: int):
        torch.manual_seed(int(seed) % (2**63))
        k = logits.shape[-1]
        x = torch.empty((2 * n, k), dtype=torch.float64)
        x[0::2] = torch.as_tensor(logits, dtype=torch.float64)
        x[1::2] = torch.as_tensor(other, dtype=torch.float64)
        with torch.no_grad():
            y = fn(x, tau=1.0, hard=True, dim=-1)
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != (2 * n, k):
            raise TargetError(f"mixed batch of shape {(2 * n, k)} returned "
                              f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
        yn = y.detach().cpu().double().numpy()[0::2]
        ok = onehot_rows(yn)
        if not ok.all():
            raise TargetError(f"hard=True: {int((~ok).sum())} rows are not exactly one-hot")
        return np.argmax(yn, axis=1)

    return sampler


def _torch_dtype_check(dtype_name: str) -> Callable:
    def run(fn, ctx, _id):
        import torch

        dt = getattr(torch, dtype_name)
        x = torch.as_tensor(LOGITS["power"], dtype=torch.float64).expand(256, -1).to(dt).contiguous()
        text = (f"{dtype_name} logits -> {dtype_name} output of the same shape, finite, on the simplex "
                "(hard=True: exactly one-hot)")
        seed = ctx.seed_for(_id)
        problems = []
        try:
            torch.manual_seed(seed % (2**63))
            with torch.no_grad():
                for hard in (False, True):
                    y = fn(x, tau=1.0, hard=hard, dim=-1)
                    if not isinstance(y, torch.Tensor):
                        problems.append(f"hard={hard}: returned {type(y).__name__}")
                        continue
                    if y.dtype != dt:
                        problems.append(f"hard={hard}: output dtype {y.dtype}, expected {dt}")
                    if tuple(y.shape) != tuple(x.shape):
                        problems.append(f"hard={hard}: output shape {tuple(y.shape)}, expected {tuple(x.shape)}")
                        continue
                    yn = y.detach().cpu().double().numpy()
                    if not np.all(np.isfinite(yn)):
                        problems.append(f"hard={hard}: {int(np.sum(~np.isfinite(yn)))} non-finite values")
                        continue
                    tol = simplex_tolerance(np.dtype(f"f{min(8, torch.finfo(dt).bits // 8)}"))
                    dev = float(np.max(np.abs(yn.sum(axis=1) - 1)))
                    if yn.min() < -tol or dev > tol:
                        problems.append(f"hard={hard}: off the simplex (min {yn.min():.3g}, max |sum-1| {dev:.3g})")
                    if hard:
                        oh = onehot_rows(yn)
                        if not oh.all():
                            problems.append(f"hard=True: {int((~oh).sum())} rows not exactly one-hot")
        except TargetError as exc:
            return [error_verdict("dtype", _id, text, f"target error: {exc}", seed=seed, alpha=ctx.alpha,
                                  test="dtype contract")]
        except Exception as exc:  # noqa: BLE001
            return [error_verdict("dtype", _id, text, f"target raised {type(exc).__name__}: {exc}", seed=seed,
                                  alpha=ctx.alpha, test="dtype contract")]
        v = deterministic_verdict("dtype", _id, text, float(len(problems)), 0.0, test="dtype contract",
                                  reason="; ".join(problems) or "same dtype, finite, on the simplex",
                                  details={"dtype": dtype_name})
        return [replace(v, seed=seed)]

    return run


def _torch_axis_check(fn, ctx, _id):
    """3-D input (B, K, C), dim=1: normalised along dim 1 (soft), one-hot along dim 1 (hard)."""
    import torch

    text = "3-D logits (B, K, C) with dim=1: y sums to 1 along dim 1; hard=True is one-hot along dim 1"
    seed = ctx.seed_for(_id)
    x = torch.as_tensor(LOGITS["power"], dtype=torch.float64)[None, :, None].expand(64, 4, 5).contiguous()
    problems = []
    try:
        torch.manual_seed(seed % (2**63))
        with torch.no_grad():
            for hard in (False, True):
                y = fn(x, tau=1.0, hard=hard, dim=1)
                if not isinstance(y, torch.Tensor) or tuple(y.shape) != tuple(x.shape):
                    problems.append(f"hard={hard}: returned "
                                    f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
                    continue
                yn = y.double().numpy()
                if not np.all(np.isfinite(yn)):
                    problems.append(f"hard={hard}: non-finite values")
                    continue
                dev = float(np.max(np.abs(yn.sum(axis=1) - 1)))
                if dev > 1e-9:
                    problems.append(f"hard={hard}: sums along dim 1 off by {dev:.3g} (normalised along another dim?)")
                if hard and not np.all(np.sum(yn == 1, axis=1) == 1):
                    problems.append("hard=True: not one-hot along dim 1")
    except TargetError as exc:
        return [error_verdict("dim", _id, text, f"target error: {exc}", seed=seed, alpha=ctx.alpha, test="dim contract")]
    except Exception as exc:  # noqa: BLE001
        return [error_verdict("dim", _id, text, f"target raised {type(exc).__name__}: {exc}", seed=seed,
                              alpha=ctx.alpha, test="dim contract")]
    return [replace(deterministic_verdict("dim", _id, text, float(len(problems)), 0.0, test="dim contract",
                                          reason="; ".join(problems) or "normalised along dim 1"), seed=seed)]


def _tail_n(b: Budget, device: str) -> int:
    from harness.kinds.token_plan import tail_n

    return tail_n(b, device)


def _tail_gap(b: Budget, device: str) -> float:
    from harness.kinds.token_plan import tail_gap_for

    return tail_gap_for(_tail_n(b, device))


def _torch_tail(fn, ctx, _id):
    """The token kind's tail check through ``hard=True`` (same sizes: token_plan.tail_n)."""
    import torch

    n = _tail_n(ctx.budget, ctx.device)
    gap = _tail_gap(ctx.budget, ctx.device)
    return sc.tail_mass(torch_as_categorical(fn, dtype=torch.float64, device=ctx.device), [0.0, -gap], n, ctx,
                        rare=1, check=_id, claim="C3")


def _torch_plan(b: Budget) -> list[PlannedCheck]:
    import torch

    L = LOGITS
    nd, nr = b.n_discrete, b.n_relaxed
    f64 = torch.float64
    f32 = torch.float32

    def relaxed(body):  # body(relaxed sampler, ctx, id)
        return lambda fn, ctx, _id: body(torch_as_relaxed(fn, dtype=f64, device=ctx.device), ctx, _id)

    entries = []
    for cid, claim, title, size, body in _relaxed_entries(b):
        entries.append((cid, claim, title + " (via hard=False, float64)", size, relaxed(body)))

    def hard_law(regime, n, dtype=f64, t=1.0):
        return lambda fn, ctx, _id: sc.categorical_law(
            torch_as_categorical(fn, temperature=t, dtype=dtype, device=ctx.device), L[regime], n, ctx,
            check=_id, claim="C3", label=f"hard=True, {regime}")

    entries += [
        ("C3.hard.power", "C3", f"hard=True argmax law, p = (0.1, 0.2, 0.3, 0.4), N = {nd:,} (TV-0.002 power)", 1,
         hard_law("power", nd)),
        ("C3.hard.neginf", "C3", f"hard=True with -inf logits, N = {nd // 8:,}", 1, hard_law("neginf", nd // 8)),
        ("C3.hard.shift", "C3", f"hard=True, logits ~ 1000, N = {nd // 8:,}", 1, hard_law("shift", nd // 8)),
        ("C3.hard.f32", "C3", f"hard=True law in float32, K = 5, T = 0.5, N = {nr:,}", 1,
         hard_law("k5", nr, f32, 0.5)),
        ("C2.scale.f32", "C2", f"E[d^2] = pi^2/3 in float32, T = 1, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.logratio_scale(torch_as_relaxed(fn, dtype=f32, device=ctx.device),
                                                L["power"], 1.0, nr, ctx, check=_id)),
        ("dim.law", "C3", f"hard=True law through dim=0 of a transposed (non-contiguous) input, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.categorical_law(_torch_dim0_categorical(fn), L["power"], nr, ctx, check=_id,
                                                 claim="C3", label="dim=0, transposed")),
        ("batch.mixed", "C3", f"rows with different logits in one batch keep their own law, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.categorical_law(_torch_mixed_batch(fn, L["power"][::-1].copy()), L["power"],
                                                 nr, ctx, check=_id, claim="C3", label="mixed batch")),
        ("dim.axis1", "dim", "3-D input, dim=1: normalised / one-hot along dim 1", 0, _torch_axis_check,
         "contract"),
        ("C3.tail", "C3", f"hard=True tail mass: K = 2, gap {_tail_gap(b, 'cpu'):.1f} nats, N = {_tail_n(b, 'cpu'):,} "
         f"on CPU (x{_tail_n(b, 'cuda') // _tail_n(b, 'cpu')} on CUDA), exact binomial (float32-grade noise caught at thorough / CUDA standard)", 1,
         _torch_tail),
    ]
    for name in ("float16", "bfloat16", "float32", "float64"):
        entries.append((f"dtype.{name}", "dtype", f"{name} in -> {name} out, finite, on the simplex", 0,
                        _torch_dtype_check(name), "contract"))
    entries += [
        ("G1.jacobian.f64", "G1", "autograd Jacobian = (diag y - y y^T)/T on own output, T = 1, float64", 0,
         lambda fn, ctx, _id: sc.jacobian(fn, L["power"], 1.0, ctx, check=_id, dtype=f64)),
        ("G1.jacobian.f32", "G1", "autograd Jacobian on own output, K = 5, T = 0.5, float32", 0,
         lambda fn, ctx, _id: sc.jacobian(fn, L["k5"], 0.5, ctx, check=_id, dtype=f32)),
        ("G4.st.f64", "G4", "straight-through: one-hot forward, soft Jacobian backward, T = 1, float64", 0,
         lambda fn, ctx, _id: sc.straight_through(fn, L["power"], 1.0, ctx, check=_id, dtype=f64)),
        ("G4.st.f32", "G4", "straight-through, K = 5, T = 0.5, float32", 0,
         lambda fn, ctx, _id: sc.straight_through(fn, L["k5"], 0.5, ctx, check=_id, dtype=f32)),
    ]
    return [_mk(*e) for e in entries]


def _lazy(spec: str) -> Callable[[Budget], list[PlannedCheck]]:
    """A plan function imported on first use (``"module:function"``): kinds whose module needs
    an optional dependency (jax) or imports this module."""
    def plan(b: Budget) -> list[PlannedCheck]:
        import importlib

        mod, _, attr = spec.partition(":")
        return getattr(importlib.import_module(mod), attr)(b)

    plan.__name__ = spec
    return plan


#: The registry of kinds: kind -> plan function (CLI ``--kind`` choices and API validation).
KINDS: dict[str, Callable[[Budget], list[PlannedCheck]]] = {
    "categorical": _categorical_plan,
    "relaxed": _relaxed_plan,
    "noise": _noise_plan,
    "torch": _torch_plan,
    "jax-categorical": _lazy("harness.kinds.jax:categorical_plan"),
    "jax-relaxed": _lazy("harness.kinds.jax:relaxed_plan"),
    "jax-noise": _lazy("harness.kinds.jax:noise_plan"),
    "token": _lazy("harness.kinds.token_plan:token_plan"),
}
_PLANS = KINDS


def plan_for(kind: str, budget: Budget) -> list[PlannedCheck]:
    """The checks for ``kind`` (one of :data:`KINDS`) at ``budget``."""
    try:
        return KINDS[kind](budget)
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; choose one of {sorted(KINDS)}") from None


#: ``only`` value that selects no plan check (probes only: ``--only none``).
NO_CHECKS = "none"


def select(plan: list[PlannedCheck], only: Any) -> list[PlannedCheck]:
    """Entries whose id equals or starts with one of ``only`` (``"T1.law"`` selects every
    ``T1.law.*``); ``None`` keeps all; :data:`NO_CHECKS` (``"none"``) selects no plan check
    (probes only). ``ValueError`` (naming the valid ids) when the selection is empty
    (``[]``, ``","``) or when ANY pattern matches nothing, also if other patterns match."""
    if only is None:
        return list(plan)
    if isinstance(only, str) and only.strip() == NO_CHECKS:
        return []
    pats = parse_only(only) or []
    ids = [c.id for c in plan]
    if not pats:
        raise ValueError(f"empty check selection (only={only!r}); give check ids or prefixes, or "
                         f"{NO_CHECKS!r} for probes only. Valid ids: {', '.join(ids)}")

    unmatched = [p for p in pats if not any(matches(c.id, p) for c in plan)]
    if unmatched:
        raise ValueError(f"no check matches {', '.join(map(repr, unmatched))}; valid ids (or prefixes of "
                         f"them): {', '.join(ids)}")
    return [c for c in plan if any(matches(c.id, p) for p in pats)]


def matches(check_id: str, pattern: str) -> bool:
    """``check_id`` equals ``pattern`` or starts with it (``"T1.law"`` matches ``T1.law.power``)."""
    return check_id == pattern or check_id.startswith(pattern)


def parse_only(only: Any) -> list[str] | None:
    """``only`` (a comma-separated string or a list) as a list of patterns; None for None."""
    if only is None:
        return None
    pats = only.split(",") if isinstance(only, str) else [str(p) for p in only]
    return [p.strip() for p in pats if p.strip()]


def power_targets(kind: str, budget: Budget, family_size: int, device: str = "cpu") -> dict[str, Any]:
    """The issue-5 power figures for this plan: the confirmed power of ``T1.law.power`` (or
    ``C3.hard.power``) against **any** alternative at TV 0.002, and of ``C2.scale.T1`` against a
    2% temperature error, both at the Bonferroni level ``L = alpha / family_size`` (conservative
    for Holm): a confirmed check rejects iff both stages reject at ``sqrt(L)``, so its power is
    the stage power squared (:mod:`harness.stats.confirm`)."""
    from scipy import stats

    from harness.stats.power import chisquare_power, max_split_variance

    from harness.kinds.jax import base_kind

    kind = base_kind(kind)
    level = budget.alpha / max(1, family_size)
    stage = math.sqrt(level)
    out: dict[str, Any] = {"level": level, "stage_level": stage, "family_size": family_size}
    if kind == "token":
        from harness.kinds.token_plan import power_info

        out.update(power_info(budget, family_size, device))
    if kind in ("categorical", "torch"):
        # worst case over all alternatives at TV 0.002: w = delta / max_A sqrt(P(A)(1-P(A)))
        w = 0.002 / math.sqrt(max_split_variance(softmax(LOGITS["power"])))
        out["tv_0.002"] = {"check": "T1.law.power" if kind == "categorical" else "C3.hard.power",
                           "n": budget.n_discrete, "cohen_w": w, "df": 3,
                           "power": chisquare_power(w, budget.n_discrete, 3, stage) ** 2}
    if kind in ("relaxed", "torch"):
        se = math.sqrt(sc.VAR_L2 / budget.n_relaxed)
        z = stats.norm.isf(stage / 2)
        dx = float(LOGITS["power"][0] - LOGITS["power"][-1])
        powers = []
        for e in (0.02, -0.02):
            r = 1.0 / (1.0 + e)
            shift = (r * r - 1) * math.pi ** 2 / 3 + (r - 1) ** 2 * dx * dx
            # the variance of d^2 changes with r too: use the alternative's se (r^2 scaling)
            se_alt = se * r * r
            powers.append(float(stats.norm.sf((z * se - abs(shift)) / se_alt)) ** 2)
        out["temperature_2pct"] = {"check": "C2.scale.T1", "n": budget.n_relaxed, "power": min(powers)}
    return out
