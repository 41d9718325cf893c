"""Independence checks on a sampler's draws: consecutive draws (pairs), draws of one call at
several lags, the streams of neighbouring seeds, and (noise targets) the max of the scores
independent of their argmax (T3). Claim checks like :mod:`harness.checks.claims`: each draws
through the validating protocol wrappers and returns Verdicts."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from harness.checks.builders import conditional_verdict, discrete_verdict, error_verdict
from harness.checks.claims import fmt_logits
from harness.checks.samplers import TargetError, draw_categorical, draw_noise
from harness.core.context import RunContext
from harness.core.verdict import Verdict
from reference.softmax import softmax

__all__ = ["pair_independence", "lag_independence", "seed_independence", "max_argmax_independence",
           "WITHIN_LAGS", "SEED_LAGS"]


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
            f"x = {fmt_logits(x)}")
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
            f"(s_j, s_j+l) ~ p x p for x = {fmt_logits(x)}")
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
            f"l in {list(SEED_LAGS)}, x = {fmt_logits(x)}")
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
    text = f"max_i (x_i + g_i) | argmax = i ~ Gumbel(lse(x) = {lse:.6g}, 1) for every class i, x = {fmt_logits(x)}"
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

