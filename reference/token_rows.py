"""Discriminating rows: where two law profiles (:mod:`reference.token_laws`) differ, by how much
(TV), and which stage makes the difference -- the rows ``gumbel-harness identify`` draws."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from reference.token_laws import LawProfile, ambiguous, get_profile, token_probs, tv_distance, unpack_row

__all__ = ["ASPECTS", "differing_aspects", "DiscriminatingRow", "candidate_rows", "discriminating_rows"]


# --------------------------------------------------------------------------------------------
# Discriminating rows: where two profiles' laws differ, and which stage makes the difference
# --------------------------------------------------------------------------------------------

#: the aspects in which two profiles can differ (the "stage" of a discriminating row)
ASPECTS: tuple[str, ...] = ("temperature", "filter_order", "top_k", "top_p.base", "top_p.crossing",
                            "top_p.ties", "greedy")


def _with_aspect(a: LawProfile, b: LawProfile, aspect: str) -> LawProfile:
    """``a`` with one aspect taken from ``b``."""
    if aspect == "temperature":  # b's temperature position, a's filter order
        filters = [s for s in a.stages if s != "temperature"]
        filters.insert(b.stages.index("temperature"), "temperature")
        return replace(a, stages=tuple(filters))
    if aspect == "filter_order":  # b's filter order, a's temperature position
        filters = [s for s in b.stages if s != "temperature"]
        filters.insert(a.stages.index("temperature"), "temperature")
        return replace(a, stages=tuple(filters))
    field_of = {"top_k": ("top_k_rule",), "top_p.base": ("top_p_base",), "top_p.crossing": ("top_p_crossing",),
                "top_p.ties": ("top_p_ties",), "greedy": ("greedy_below", "greedy_ties")}[aspect]
    return replace(a, **{f: getattr(b, f) for f in field_of})


def _aspect_text(a: LawProfile, b: LawProfile, aspect: str) -> str:
    def where_t(pr):
        i = pr.stages.index("temperature")
        return "first" if i == 0 else ("last" if i == 3 else f"after {', '.join(pr.stages[:i])}")
    if aspect == "temperature":
        return f"temperature applied {where_t(a)} ({a.name}) / {where_t(b)} ({b.name})"
    if aspect == "filter_order":
        fa = " -> ".join(s for s in a.stages if s != "temperature")
        fb = " -> ".join(s for s in b.stages if s != "temperature")
        return f"filter order {fa} ({a.name}) / {fb} ({b.name})"
    if aspect == "greedy":
        return (f"greedy below T = {a.greedy_below:g}, ties {a.greedy_ties} ({a.name}) / below "
                f"T = {b.greedy_below:g}, ties {b.greedy_ties} ({b.name})")
    f = {"top_k": "top_k_rule", "top_p.base": "top_p_base", "top_p.crossing": "top_p_crossing",
         "top_p.ties": "top_p_ties"}[aspect]
    return f"{aspect}: {getattr(a, f)} ({a.name}) / {getattr(b, f)} ({b.name})"


def differing_aspects(a: "str | LawProfile", b: "str | LawProfile") -> tuple[str, ...]:
    """The :data:`ASPECTS` in which profiles ``a`` and ``b`` differ."""
    a, b = get_profile(a), get_profile(b)
    return tuple(asp for asp in ASPECTS if _with_aspect(a, b, asp) != a)


@dataclass(frozen=True)
class DiscriminatingRow:
    """A row where the laws of profiles ``a`` and ``b`` differ by ``tv``; ``stage`` is the
    aspect (of :data:`ASPECTS`) that alone moves ``a``'s law the most on this row, ``stages``
    every aspect that moves it by at least 0.01, ``why`` says it in words."""

    a: str
    b: str
    logits: tuple[float, ...]
    temperature: float
    top_k: int | None
    top_p: float | None
    min_p: float | None
    tv: float
    stage: str
    stages: tuple[str, ...]
    why: str
    law_a: tuple[float, ...]
    law_b: tuple[float, ...]

    @property
    def row(self) -> tuple[np.ndarray, float, Any, Any, Any]:
        """``(logits, T, k, p, m)``, as :func:`token_probs` and :func:`ambiguous` take it."""
        return (np.asarray(self.logits, dtype=np.float64), self.temperature, self.top_k, self.top_p, self.min_p)

    def label(self) -> str:
        parts = [f"V={len(self.logits)}", f"T={self.temperature:g}"]
        parts += [f"{n}={v:g}" for n, v in (("top_k", self.top_k), ("top_p", self.top_p), ("min_p", self.min_p))
                  if v is not None]
        return ", ".join(parts)


def _f32(v: float) -> float:
    return float(np.float32(v))


def candidate_rows(seed: int = 0, n_random: int = 3000) -> list[tuple[np.ndarray, float, Any, Any, Any]]:
    """The candidate rows :func:`discriminating_rows` searches: hand-made rows for each aspect
    and ``n_random`` seeded random rows (V 4-10, logits on a 0.1 grid or 3 decimals, float32
    values; temperatures 0.5-3 and near the greedy thresholds). Deterministic for a seed."""
    rows: list[tuple[np.ndarray, float, Any, Any, Any]] = []
    f32 = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)  # noqa: E731
    lq = lambda q: f32(np.round(np.log(q), 4))  # noqa: E731
    # hand-made: temperature position, top-p base, min-p position, crossing rule, greedy threshold
    rows.append((lq([0.35, 0.25, 0.2, 0.12, 0.08]), 2.0, None, _f32(0.6), None))
    rows.append((lq([0.3, 0.25, 0.2, 0.15, 0.1]), 1.0, 2, _f32(0.5), None))
    rows.append((lq([0.3, 0.25, 0.2, 0.15, 0.1]), 0.7, 3, _f32(0.45), None))
    rows.append((lq([0.4, 0.3, 0.15, 0.1, 0.05]), 1.0, None, _f32(0.8), _f32(0.3)))
    rows.append((lq([0.5, 0.3, 0.15, 0.05]), 1.0, None, _f32(0.62), None))
    for tiny in (5e-6, 5e-7):
        rows.append((f32([0.0, -0.6 * tiny, -3.0, -4.0]), _f32(tiny), None, None, None))
    rng = np.random.default_rng(seed)
    temps = [0.5, 0.7, 1.0, 1.5, 2.0, 3.0]
    for _ in range(n_random):
        v = int(rng.integers(4, 11))
        if rng.random() < 0.5:
            x = np.round(rng.normal(0.0, 1.5, v), 1)
        else:
            x = np.round(rng.normal(0.0, 1.5, v), 3)
        t = temps[int(rng.integers(len(temps)))]
        k = int(rng.integers(1, v)) if rng.random() < 0.5 else None
        p = _f32(round(float(rng.uniform(0.2, 0.95)), 3)) if rng.random() < 0.6 else None
        m = _f32(round(float(rng.uniform(0.02, 0.6)), 3)) if rng.random() < 0.4 else None
        rows.append((f32(x), t, k, p, m))
    return rows


_CANDIDATES: dict[int, list] = {}
_LAWS: dict[tuple, list] = {}


def _law_table(prof: LawProfile, cands: list, key: int | None, tol: float) -> list:
    """``[(law, ambiguity)]`` of every candidate under ``prof`` (memoised for the seeded sets)."""
    if key is not None and (prof, key, tol) in _LAWS:
        return _LAWS[(prof, key, tol)]
    table = [(token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=prof), ambiguous((x, t, k, p, m), prof, tol=tol))
             for x, t, k, p, m in cands]
    if key is not None:
        _LAWS[(prof, key, tol)] = table
    return table


def discriminating_rows(a: "str | LawProfile", b: "str | LawProfile", *, min_tv: float = 0.05,
                        max_rows: int = 3, tol: float = 1e-3, seed: int = 0,
                        candidates: Sequence[Any] | None = None) -> list[DiscriminatingRow]:
    """Rows where the laws of profiles ``a`` and ``b`` differ by TV ``>= min_tv``, found by
    search over :func:`candidate_rows` (or ``candidates``): rows ambiguous under either profile
    (at ``tol``, :func:`ambiguous`) are skipped, so a check can run each returned row against
    either law. Returns at most ``max_rows``, largest TV first: the best row, then the best row of
    each further differing aspect. Empty when the two profiles agree on every candidate."""
    pa, pb = get_profile(a), get_profile(b)
    if candidates is None:
        cands, key = _CANDIDATES.setdefault(seed, [unpack_row(r) for r in candidate_rows(seed)]), seed
    else:
        cands, key = [unpack_row(r) for r in candidates], None
    ta, tb = _law_table(pa, cands, key, tol), _law_table(pb, cands, key, tol)
    aspects = differing_aspects(pa, pb)
    hybrids = {asp: _with_aspect(pa, pb, asp) for asp in aspects}
    found: list[DiscriminatingRow] = []
    for (x, t, k, p, m), (la, amb_a), (lb, amb_b) in zip(cands, ta, tb):
        kw = dict(top_k=k, top_p=p, min_p=m)
        tv = tv_distance(la, lb)
        if tv < min_tv or amb_a or amb_b:
            continue
        moves = {asp: tv_distance(token_probs(x, t, **kw, profile=h), la) for asp, h in hybrids.items()}
        stages = tuple(asp for asp in aspects if moves[asp] >= 0.01) or aspects
        stage = max(stages, key=lambda asp: moves.get(asp, 0.0))
        found.append(DiscriminatingRow(
            a=pa.name, b=pb.name, logits=tuple(float(v) for v in x), temperature=float(t),
            top_k=None if k is None else int(k), top_p=None if p is None else float(p),
            min_p=None if m is None else float(m), tv=tv, stage=stage, stages=stages,
            why=f"{_aspect_text(pa, pb, stage)}: TV {tv:.3f}",
            law_a=tuple(float(v) for v in la), law_b=tuple(float(v) for v in lb)))
    found.sort(key=lambda r: -r.tv)
    out: list[DiscriminatingRow] = []
    seen: set[str] = set()
    for r in found:
        if not out or r.stage not in seen:
            out.append(r)
            seen.add(r.stage)
        if len(out) >= max_rows:
            break
    return out
