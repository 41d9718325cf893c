r"""The plan of the ``token`` kind: batched LLM token samplers (temperature, top-k, top-p,
min-p per row), checked against :mod:`reference.token_laws`.

Every check builds batches from a few *template rows* (logits, T, k, p, m), tiles them into
one ``[B, V]`` call (rows interleaved: position ``j R + r`` is copy ``j`` of template ``r``),
so **the batch is the sample**: one call returns ``B`` independent draws, and a large
vocabulary costs ``B V`` per call, not ``V`` per draw. Calls hold at most
``MAX_CALL_ELEMENTS`` logits (``4 * MAX_CALL_ELEMENTS`` on CUDA); each call has its own seed
(:func:`harness.core.seeds.seeded_chunks`). Logits go in as float32 tensors on ``ctx.device`` (the
engines' dtype); the parameters as Python scalars when every row shares them (``None`` for an
unused filter) or as ``[B]`` tensors (float32 temperature / top_p / min_p, int64 top_k, "off"
being 0 / 1.0 / 0.0). The law of each template is computed from exactly those float32 values.

Statistics (all verdicts one Holm family at ``budget.alpha``, power at ``alpha / m``):
per-template chi-square of the token counts against the law, pooled to expected >= 5 per
bin (:func:`harness.checks.builders.discrete_verdict`; a draw of a probability-0 token, i.e. a masked
or filtered one, is a forced FAIL), an exact binomial test of the pooled mass of the tokens
outside the top 64 at large V (the "small counts" of a 152k vocabulary), an adjacent-rows
pair table for shared noise, deterministic verdicts for greedy rows, and the exact binomial
tail test.

Sample sizes: ``n_small = budget.n_relaxed`` draws per template for V <= 64;
``large_n(V) = max(256, 30 n_discrete / V)`` draws at large V (standard: 789 draws at
V = 152 064, 120M logits per check).

**Tail check** ``TK.tail``: two tokens ``[0, -gap]``, ``n = tail_n(budget, device)`` draws
(``budget.n_tail``, times ``CUDA_TAIL_FACTOR = 40`` on a CUDA device), the gap chosen for 30
expected hits of the rare token (:func:`tail_gap_for`, capped at 24 nats). A sampler whose
exponential/uniform noise lives on a ``2^-b`` grid near 0 (b-bit uniforms; float32 noise is
b = 24, g <= 16.6) wins the rare token with probability ``rho a / (e^a - 1)``, ``a = 2^-b /
rho``, ``rho = e^-gap``, instead of ``rho``: :func:`tail_grade_power` gives the exact binomial
power against each grade, and :func:`tail_confirmed_power` the power of the confirmed decision at
the plan's Holm level (both stages at ``sqrt(alpha / m)``). The table per budget, device and grade
is docs/token.md's "Tail budget" section, generated from :func:`tail_power_table` by
``tools/gen_docs.py``: float32-grade noise is caught at ``thorough`` on the CPU and at
``standard`` on CUDA, half precision at every budget, a 2^-31 floor (Triton ``tl.rand``,
vllm#47524) at none (it needs ~1e12 draws).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from harness.core.budgets import Budget
from harness.checks.builders import deterministic_verdict, discrete_verdict, error_verdict, tail_verdict
from harness.checks.digests import hits_digest
from harness.core.context import RunContext
from harness.checks.samplers import MAX_CALL_ELEMENTS, TargetError, draw_tokens
from harness.core.seeds import seeded_chunks
from harness.core.verdict import Verdict
from harness.kinds.base import COUNTS, Compared, Observable, mk
from harness.kinds.token.power import (CUDA_TAIL_FACTOR, GRADES, power_info, tail_gap_for,  # noqa: F401
                                       tail_confirmed_power, tail_grade_power, tail_n,
                                       tail_power_table)
from reference.token_laws import token_probs

__all__ = ["Row", "token_counts", "large_n", "tail_n", "tail_gap_for",
           "tail_grade_power", "tail_confirmed_power", "tail_power_table", "CUDA_TAIL_FACTOR", "TOKEN_LOGITS", "GRADES",
           "power_info"]

NEG = -math.inf


def _llm_logits(v: int, seed: int, head: int = 32) -> np.ndarray:
    """LLM-like logits: a head of ``head`` tokens at random positions (anywhere in [0, V),
    so ids above 2^16 and 2^17 matter) carrying most of the mass, a long Normal tail."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.5, v) - 4.0
    pos = rng.choice(v, size=head, replace=False)
    x[pos] = 6.0 + rng.normal(0.0, 1.0, head)
    return np.round(x, 3).astype(np.float32)


def _masked(v: int, finite: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.full(v, NEG, dtype=np.float32)
    pos = rng.choice(v, size=finite, replace=False)
    x[pos] = np.round(rng.normal(0.0, 1.0, finite), 3)
    return x


_f = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
_f32v = lambda v: None if v is None else float(np.float32(v))  # noqa: E731
#: fixed template logits (float32, the engines' dtype)
TOKEN_LOGITS: dict[str, np.ndarray] = {
    "v8": _f(np.log([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.04, 0.01])),
    "v64": _f(np.round(np.random.default_rng(20240611).normal(0.0, 1.5, 64), 3)),
    "v4096": _llm_logits(4096, 1),
    "v152k": _llm_logits(152_064, 2),
    "v262k": _llm_logits(262_144, 3),
    "topk": _f([2.0, 0.5, 1.4, -0.3, 0.9, 1.1, -1.0, 0.2, 1.7, -0.6, 0.0, 0.7] + [-1.5] * 20),
    "ties": _f([3.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.0, -0.5, -1.0, 0.5, 1.0, -2.0, 0.0, 0.25, -0.25]),
    "topp": _f(np.log([0.28, 0.2, 0.14, 0.1, 0.08, 0.06, 0.045, 0.035, 0.025, 0.015, 0.01, 0.005, 0.003,
                       0.001, 0.0005, 0.0005])),
    "minp": _f(np.log([0.3, 0.22, 0.15, 0.1, 0.08, 0.05, 0.04, 0.03, 0.02, 0.005, 0.003, 0.002])),
    "mask": _masked(256, 10, 4),
    "tinyT": _f([0.0, -1e-5, -2e-5, -1.0, -2.5e-5, -0.5]),
    "large": _f([1e4, 1e4 - 1, 1e4 - 2.5, -1e4, 1e4 - 0.5, 0.0]),
    "shift": _f(np.log([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.04, 0.01]) + 1000.0),
}


@dataclass(frozen=True)
class Row:
    """One template row: logits (float32) and its parameters (``None`` = filter off)."""

    logits: np.ndarray
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    profile: str = "hf"

    def law(self) -> np.ndarray:
        x, t, k, p, m = self.as_tuple()
        return token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=self.profile)

    def as_tuple(self) -> tuple:
        """``(logits float64, T, k, p, m)`` of the float32 values the target gets."""
        return (self.logits.astype(np.float64), _f32v(self.temperature), self.top_k, _f32v(self.top_p),
                _f32v(self.min_p))

    def needs(self) -> set[str]:
        """The engine parameters this row uses (temperature unless T = 1)."""
        out = {"temperature"} if self.temperature != 1.0 else set()
        return out | {n for n in ("top_k", "top_p", "min_p") if getattr(self, n) is not None}

    def label(self) -> str:
        parts = [f"V={self.logits.size}", f"T={self.temperature:g}"]
        parts += [f"{n}={v:g}" for n, v in (("top_k", self.top_k), ("top_p", self.top_p),
                                             ("min_p", self.min_p)) if v is not None]
        return ", ".join(parts)


def _column(rows: Sequence[Row], name: str, reps: int, off: float, dtype: str, device: str) -> Any:
    vals = [getattr(r, name) for r in rows]
    if all(v == vals[0] for v in vals):
        return vals[0] if vals[0] is None else (int(vals[0]) if dtype == "int64" else float(vals[0]))
    import torch

    col = np.array([off if v is None else v for v in vals], dtype=np.float64)
    return torch.as_tensor(np.tile(col, reps).astype(dtype), device=device)


def _call_cap(device: str) -> int:
    return MAX_CALL_ELEMENTS * (4 if str(device).startswith("cuda") else 1)


def token_batches(fn: Callable, rows: Sequence[Row], n: int, seed: int, device: str = "cpu"):
    """Yield ``[reps, R]`` int64 draws: ``n`` copies of the ``R`` template rows in total, in
    calls of ``reps`` copies (interleaved), each call with its own seed. Raises
    :class:`TargetError` for a misbehaving call."""
    import torch

    r, v = len(rows), rows[0].logits.size
    per = max(1, min(n, _call_cap(device) // (r * v)))
    base = torch.as_tensor(np.stack([row.logits for row in rows]), device=device)
    for reps, s in seeded_chunks(n, per, seed):
        x = base.repeat(reps, 1)
        kw = dict(top_k=_column(rows, "top_k", reps, 0, "int64", device),
                  top_p=_column(rows, "top_p", reps, 1.0, "float32", device),
                  min_p=_column(rows, "min_p", reps, 0.0, "float32", device))
        t = _column(rows, "temperature", reps, 1.0, "float32", device)
        yield draw_tokens(fn, x, t, seed=s, **kw).reshape(reps, r)


def token_counts(fn: Callable, rows: Sequence[Row], n: int, seed: int, device: str = "cpu") -> np.ndarray:
    """``[R, V]`` token counts of ``n`` draws of each template row."""
    v = rows[0].logits.size
    counts = np.zeros((len(rows), v), dtype=np.int64)
    for d in token_batches(fn, rows, n, seed, device):
        for j in range(len(rows)):
            counts[j] += np.bincount(d[:, j], minlength=v)
    return counts


def large_n(b: Budget, v: int) -> int:
    """Draws per template at vocabulary size ``v`` (about ``30 n_discrete`` logits per check)."""
    return int(max(256, min(b.n_relaxed, 30 * b.n_discrete // v)))


# ----------------------------------------------------------------------- check bodies ------

def unsupported_hint(exc: Exception, passed: Sequence[str] = ("top_k", "top_p", "min_p")) -> str:
    """A sentence naming the parameter the target raised on (one this check passes) and the
    ``--filters`` flag; empty when the error names none."""
    import re

    text = str(exc)
    for name in passed:
        if re.search(rf"\b{name}\b", text):
            rest = ",".join(f for f in ("temperature", "top_k", "top_p", "min_p") if f != name)
            return (f"; the target raised on {name}, a parameter this check passes: if the engine has no {name}, "
                    f"declare the parameters it has (--filters {rest} / gumbel_harness_filters = "
                    f"{tuple(rest.split(','))!r}): the checks needing {name} are then listed not applicable, "
                    "never run")
    return ""


def _guarded(claim: str, check: str, text: str, ctx: RunContext, seed: int, n: int, body) -> list[Verdict]:
    try:
        return body()
    except TargetError as exc:
        return [error_verdict(claim, check, text, f"target error: {exc}{unsupported_hint(exc)}", n=n, seed=seed,
                              reproduce=ctx.repro(check, seed), alpha=ctx.alpha)]


def _row_suffixes(rows: Sequence[Row]) -> list[str]:
    return [f".row{j}" for j in range(len(rows))] if len(rows) > 1 else [""]


def _law(rows: Sequence[Row], n: int, *, tail_test: bool = False, text: str = "") -> Compared:
    """Per-template chi-square (one verdict per row; plus, with ``tail_test``, the exact
    binomial test of the mass outside the law's top 64 tokens). Observes the ``[V]`` token
    counts of each row (``compare``)."""
    suffixes = _row_suffixes(rows)

    def observe(fn, ctx: RunContext, cid: str) -> dict[str, np.ndarray]:
        counts = token_counts(fn, rows, n, ctx.seed_for(cid), ctx.device)
        return dict(zip(suffixes, counts))

    def run(fn, ctx: RunContext, cid: str) -> list[Verdict]:
        seed = ctx.seed_for(cid)
        head = text or "each row's tokens ~ softmax(filtered logits / T) (reference.token_laws)"
        if rows[0].profile != "hf":
            head += f", law profile {rows[0].profile}"

        def body():
            counts = list(observe(fn, ctx, cid).values())
            out = []
            for j, row in enumerate(rows):
                p = row.law()
                sub = f"{cid}.row{j}" if len(rows) > 1 else cid
                t = f"{head} [{row.label()}]"
                out.append(discrete_verdict("TK", sub, t, counts[j], p, **ctx.check_kwargs(cid),
                                            details={"row": row.label(), "law_profile": row.profile}))
                if tail_test:
                    top = np.argsort(-p, kind="stable")[:64]
                    rest = np.ones(p.size, dtype=bool)
                    rest[top] = False
                    out.append(tail_verdict("TK", f"{sub}.tail_set", f"{t}: mass outside the top 64 tokens",
                                            int(counts[j][rest].sum()), int(counts[j].sum()),
                                            float(p[rest].sum()), **ctx.check_kwargs(cid)))
            return out

        return _guarded("TK", cid, head, ctx, seed, n, body)

    return Compared(run, observe, tuple(Observable(sfx, COUNTS, r.label()) for sfx, r in zip(suffixes, rows)))


def _pairs(row: Row, n: int) -> Compared:
    """Two identical rows per copy: the pair (token of row 2j, token of row 2j+1) ~ p x p.
    Observes the ``K^2`` pair table (``compare``)."""
    k = row.logits.size

    def observe(fn, ctx, cid):
        cells = np.zeros(k * k, dtype=np.int64)
        for d in token_batches(fn, [row, row], n, ctx.seed_for(cid), ctx.device):
            cells += np.bincount(d[:, 0] * k + d[:, 1], minlength=k * k)
        return {"": cells}

    def run(fn, ctx, cid):
        seed = ctx.seed_for(cid)
        text = (f"rows of one batch are independent: two identical rows give independent tokens, "
                f"(s_a, s_b) ~ p x p [{row.label()}]")

        def body():
            p = row.law()
            return [discrete_verdict("TK", cid, text, observe(fn, ctx, cid)[""], np.outer(p, p).ravel(),
                                     **ctx.check_kwargs(cid), labels=[f"({a},{b})" for a in range(k) for b in range(k)])]

        return _guarded("TK", cid, text, ctx, seed, n, body)

    return Compared(run, observe, (Observable("", COUNTS, f"pairs of two identical rows [{row.label()}]"),))


def greedy_check(profile: str = "hf", top_k: bool = True) -> Callable:
    """TK.greedy under ``profile`` (``greedy_ties = any``: any maximal index is right), passing
    top-k only when the engine declares it."""
    return lambda fn, ctx, cid: _greedy(fn, ctx, cid, profile, top_k)


def _greedy(fn, ctx, cid, profile: str = "hf", pass_top_k: bool = True):
    """T = 0 rows (mixed with T = 1 rows in one batch) return the first maximal logit."""
    import torch

    from reference.token_laws import get_profile

    anymax = get_profile(profile).greedy_ties == "any"
    seed = ctx.seed_for(cid)
    text = ("T = 0 is greedy: " + ("any of the maximal logits" if anymax else "the lowest index among the maximal "
            "logits") + ", in a batch mixing T = 0 and T = 1 rows" + (f" (law profile {profile})"
                                                                     if profile != "hf" else ""))
    v = 152_064
    rows = np.full((6, v), -3.0, dtype=np.float32)
    rows[0, :4] = [1.0, 3.0, 3.0, 0.0]                      # tie -> 1
    rows[1, :3] = [NEG, 2.0, 2.0]                           # -inf and a tie -> 1
    rows[2, 100_000] = rows[2, 150_000] = 5.0               # tie at large ids -> 100000
    rows[3, 70_000] = 1e4                                    # large logit -> 70000
    rows[4, :] = 0.0                                          # all equal -> 0
    rows[5, 7] = 2.0
    want = np.array([1, 1, 100_000, 70_000, 0, 7])
    reps = 4
    x = torch.as_tensor(np.tile(rows, (reps, 1)), device=ctx.device)
    temp = torch.as_tensor(np.tile([0.0, 0.0, 0.0, 0.0, 0.0, 1.0], reps).astype(np.float32), device=ctx.device)
    kk = torch.as_tensor(np.tile([0, 2, 0, 1, 0, 0], reps), device=ctx.device) if pass_top_k else None
    try:
        got = draw_tokens(fn, x, temp, top_k=kk, seed=seed).reshape(reps, 6)
    except TargetError as exc:
        return [error_verdict("TK", cid, text, f"target error: {exc}{unsupported_hint(exc)}", seed=seed,
                              alpha=ctx.alpha, reproduce=ctx.repro(cid, seed))]
    ok = [{int(w)} if not anymax else set(np.flatnonzero(rows[j] == rows[j].max()).tolist())
          for j, w in enumerate(want)]
    bad = [(int(j), int(got[i, j]), int(want[j])) for i in range(reps) for j in range(5) if int(got[i, j]) not in ok[j]]
    reason = ("; ".join(f"row {j}: returned {g}, expected {w}" for j, g, w in bad[:4])
              or "every greedy row returned the first maximal logit")
    return [deterministic_verdict("TK", cid, text, float(len(bad)), 0.0, test="greedy rule", reason=reason,
                                  reproduce=ctx.repro(cid, seed))]


def _tail_row(ctx: RunContext) -> tuple[int, float, Row]:
    n = tail_n(ctx.budget, ctx.device)
    gap = tail_gap_for(n)
    return n, gap, Row(_f([0.0, -gap]))


def _tail_observe(fn, ctx, cid):
    """``[top-token count, rare-token count]`` of the tail row (``compare``)."""
    n, _gap, row = _tail_row(ctx)
    hits = sum(int(d.sum()) for d in token_batches(fn, [row], n, ctx.seed_for(cid), ctx.device))
    return {"": np.array([n - hits, hits], dtype=np.int64)}


def _tail_check(fn, ctx, cid):
    n, gap, row = _tail_row(ctx)
    p = float(row.law()[1])
    seed = ctx.seed_for(cid)
    text = (f"tail mass: the token {gap:.1f} nats below the top has probability {p:.4g}; its count in "
            f"{n:,} draws is Binomial(n, {p:.4g})")

    def body():
        hits, at, first = 0, 0, []
        for d in token_batches(fn, [row], n, seed, ctx.device):
            if len(first) < 64:
                first.extend((at + np.flatnonzero(d.ravel())[:64]).tolist())
            hits, at = hits + int(d.sum()), at + d.size
        v = tail_verdict("TK", cid, text, hits, n, p, **ctx.check_kwargs(cid),
                         details={"gap": gap, "device": str(ctx.device), "draws_digest": hits_digest(first[:64], p)})
        grades = {GRADES[b]: round(tail_confirmed_power(n, gap, b, ctx.alpha / ctx.family_size), 4) for b in GRADES}
        return [replace(v, details={**v.details, "grade_power": grades})]

    return _guarded("TK", cid, text, ctx, seed, n, body)


_tail = Compared(_tail_check, _tail_observe, (Observable("", COUNTS, "two tokens [0, -gap]: top vs rare token"),))
