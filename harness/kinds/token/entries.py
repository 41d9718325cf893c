"""The entries of the ``token`` plan, built from ``(budget, options)``: the same checks under
every law profile, each row's expected law the profile's (:meth:`~harness.kinds.token.plan.Row.law`),
and an entry made *not applicable* (``PlannedCheck.skip``, never run) when

* a row uses a parameter the engine does not declare (``--filters``), or
* the profile does not determine a row's law (:func:`reference.token_laws.ambiguous` at a
  relative tolerance of 1e-4, 1000 float32 ulps: an unspecified tie order that matters, a
  parameter on a rounding boundary, a temperature at the profile's greedy threshold).

At the default options (``hf``, every filter) no entry is skipped and the plan is the one it
has always been (``tests/test_behaviour_snapshot.py``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from harness.core.budgets import Budget
from harness.kinds.base import mk
from harness.kinds.token.options import FILTERS, declared
from harness.kinds.token.plan import (CUDA_TAIL_FACTOR, NEG, TOKEN_LOGITS, Row, _law, _pairs, _tail, greedy_check,
                                      large_n, tail_gap_for, tail_n)

__all__ = ["build", "AMBIGUITY_TOL"]

#: relative tolerance of the ambiguity test (float32 engines)
AMBIGUITY_TOL = 1e-4


def _skip(rows: list[Row], needs: set[str], filters: tuple[str, ...], profile: str) -> str:
    from reference.token_laws import ambiguous

    missing = [f for f in FILTERS if f in needs and f not in filters]
    if missing:
        return f"needs {', '.join(missing)}, not among the engine's declared filters ({', '.join(filters) or 'none'})"
    for r in rows:
        why = ambiguous(r.as_tuple(), profile, tol=AMBIGUITY_TOL)
        if why:
            return f"law profile {profile} does not determine the law of [{r.label()}]: {why}"
    return ""


def _profile_entries(profile: str, n: int, R) -> list:
    """``TK.law.profile.v<V>``: the stored discriminating rows of every pair of profiles
    (:mod:`harness.kinds.token.identify`) whose law ``profile`` determines, one entry per
    vocabulary size; only when a law profile is asked for (``--law``), so each profile's run
    includes the rows that tell it from every other one."""
    from harness.kinds.token.identify import load_rows

    groups: dict[int, list] = {}
    for r in load_rows():
        if profile in r["determined"]:
            groups.setdefault(len(r["logits"]), []).append(
                R(np.asarray(r["logits"], dtype=np.float32), r["temperature"], top_k=r["top_k"], top_p=r["top_p"],
                  min_p=r["min_p"]))
    return [(f"TK.law.profile.v{v}", f"the discriminating rows of the law profiles at V = {v} under {profile} "
             f"({len(rows)} rows), N = {n:,} each", len(rows), rows, n, {}) for v, rows in sorted(groups.items())]


def build(b: Budget, options: Any = None) -> list:
    """The checks of the ``token`` kind at budget ``b`` under ``options`` (module doc)."""
    profile = options["law"] if options else "hf"
    filters = declared(options)
    L = TOKEN_LOGITS
    ns = b.n_relaxed
    n8 = b.n_discrete // 8
    rev = L["v64"][::-1].copy()
    tn = tail_n(b)

    def R(*a, **k) -> Row:
        return replace(Row(*a, **k), profile=profile)

    mixed = [R(L["v64"]), R(rev, 0.5, top_k=5), R(L["v64"] + np.float32(1000.0), 2.0, top_p=0.895),
             R(np.where(np.arange(64) % 3 == 0, np.float32(NEG), L["v64"]).astype(np.float32), 1.0, min_p=0.2)]
    temps = [R(L["v8"], t) for t in (0.25, 0.5, 1.0, 2.0, 4.0)]
    greedy_rows = [R(L["v8"], 0.0)]
    entries = [
        ("TK.law.v8", f"law, V = 8, T = 1, N = {n8:,}", 1, [R(L["v8"])], n8, {}),
        ("TK.law.v64", f"law, V = 64, T = 0.7, N = {ns:,}", 1, [R(L["v64"], 0.7)], ns, {}),
        ("TK.law.v4096", f"law, V = 4096 LLM-like logits, T = 1.3, N = {large_n(b, 4096):,}", 1,
         [R(L["v4096"], 1.3)], large_n(b, 4096), {}),
        ("TK.law.v152k", f"law, V = 152 064, T = 1, N = {large_n(b, 152_064):,} (pooled chi-square + exact "
         "binomial of the tail set)", 2, [R(L["v152k"])], large_n(b, 152_064), {"tail_test": True}),
        ("TK.law.v262k", f"law, V = 262 144, T = 0.8, N = {large_n(b, 262_144):,} (pooled chi-square + exact "
         "binomial of the tail set)", 2, [R(L["v262k"], 0.8)], large_n(b, 262_144), {"tail_test": True}),
        ("TK.batch.mixed", f"4 very different rows (filters, T, +1000, -inf) in one batch, N = {ns:,} each", 4,
         mixed, ns, {}),
        ("TK.batch.pairs", f"two identical rows of one batch give independent tokens (64 cells), N = {ns:,}", 1,
         [R(L["v8"])], ns, "pairs"),
        ("TK.temp.rows", f"per-row temperatures 0.25..4 in one batch, N = {ns:,} each", 5, temps, ns, {}),
        ("TK.filter.top_k", f"top-k = 6, V = 32, N = {ns:,}", 1, [R(L["topk"], 1.0, top_k=6)], ns, {}),
        ("TK.filter.top_k.ties", f"top-k = 4 with the 4th value tied 5 times (8 tokens kept), N = {ns:,}", 1,
         [R(L["ties"], 1.0, top_k=4)], ns, {}),
        ("TK.filter.top_p", f"top-p = 0.8 at T = 1.5 (the crossing token kept), N = {ns:,}", 1,
         [R(L["topp"], 1.5, top_p=0.8)], ns, {"alt": [R(L["topp"], 1.5, top_p=0.75)]}),
        ("TK.filter.min_p", f"min-p = 0.1 at T = 0.5 (relative to the max probability), N = {ns:,}", 1,
         [R(L["minp"], 0.5, min_p=0.1)], ns, {"alt": [R(L["minp"], 0.5, min_p=0.12)]}),
        ("TK.filter.combined", f"T = 0.8, top-k 200, top-p 0.9, min-p 0.02 at V = 4096, N = {large_n(b, 4096):,}",
         1, [R(L["v4096"], 0.8, top_k=200, top_p=0.9, min_p=0.02)], large_n(b, 4096), {}),
        ("TK.filter.v152k", f"T = 0.7, top-k 50, top-p 0.95 at V = 152 064, N = {large_n(b, 152_064):,}", 1,
         [R(L["v152k"], 0.7, top_k=50, top_p=0.95)], large_n(b, 152_064),
         {"alt": [R(L["v152k"], 0.7, top_k=50, top_p=0.9)]}),
        ("TK.mask", f"-inf tokens never returned (V = 256, 10 finite, top-k 20 > 10), N = {ns:,}", 1,
         [R(L["mask"], 0.5, top_k=20)], ns, {}),
        ("TK.greedy", "T = 0: greedy, lowest index on ties, mixed with T = 1 rows (V = 152 064)", 0, greedy_rows, 0,
         "greedy"),
        ("TK.tiny_T", f"T = 1e-5 on logits 1e-5 apart (a non-degenerate law), no NaN, N = {ns:,}", 1,
         [R(L["tinyT"], 1e-5)], ns, {}),
        ("TK.large_logits", f"logits ~ +-1e4 in float32 at T = 0.5, N = {ns:,}", 1, [R(L["large"], 0.5)], ns, {}),
        ("TK.tail", f"tail mass: V = 2, {tail_gap_for(tn):.1f} nats gap, N = {tn:,} on CPU "
         f"(x{CUDA_TAIL_FACTOR} on CUDA), exact binomial", 1, [R(L["v8"])], tn, "tail"),
    ]
    if options and options.source("law") != "default":
        entries += _profile_entries(profile, ns, R)
    out = []
    for cid, title, size, rows, n, how in entries:
        needs = set().union(*(r.needs() for r in rows))
        if how == "greedy":
            body, needs, amb_rows = greedy_check(profile, "top_k" in filters), {"temperature"}, []
        elif how == "pairs":
            body, amb_rows = _pairs(rows[0], n), rows
        elif how == "tail":
            body, needs, amb_rows = _tail, set(), []
        else:
            how = dict(how)
            alt = how.pop("alt", None)
            if alt and _skip(rows, needs, filters, profile) and not _skip(alt, needs, filters, profile):
                # the profile puts the usual row on a boundary: the same check on a row that is not
                title += f"; under law profile {profile}: [{alt[0].label()}] (the usual row is on a boundary)"
                rows = alt
            body, amb_rows = _law(rows, n, **how), rows
        out.append(mk(cid, "TK", title, size, body, skip=_skip(amb_rows, needs, filters, profile)))
    return out
