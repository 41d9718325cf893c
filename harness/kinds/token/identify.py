r"""Which law profile does a token engine follow? ``gumbel-harness identify TARGET --kind token``.

**Rows.** For every pair of profiles of :data:`reference.token_laws.PROFILES`, the rows of
:func:`reference.token_rows.discriminating_rows` (TV >= 0.05 between the pair's laws, up to 3
per pair, one per differing stage; neither profile ambiguous on them; a (row, profile) is tested
only where the profile determines the row's law and float32 log-normalised logits do not move it,
:func:`_stable`), computed once and stored as
data in ``reference/token_discriminating_rows.json`` (the search takes ~15 s;
``tests/test_identify.py`` checks the file is current, ``python -m harness.kinds.token.identify``
rewrites it). Equal rows of several pairs are one row.

**Decision.** Each row is drawn ``n = budget.n_relaxed`` times (one batch of copies per row
group, the target called as ``check`` calls it, behind the same adapter). For every (row, profile)
whose law the profile determines, Pearson's chi-square of the counts against that profile's law
(a draw of a probability-0 token: ``p = 0``), confirmed (:mod:`harness.stats.confirm`: a stage-1
``p <= sqrt(alpha)`` is re-drawn, ``p = max(p1, p2)^2``); all of them are one Holm family at
``budget.alpha``. A profile is *consistent* when none of its tests is rejected, *rejected*
otherwise (the most significant row, its stage, observed and expected laws). Exit status: 0
exactly one profile consistent, 1 none, 4 several.

**Power** (:func:`simulate_power`, through :func:`decide`, the decision above): for each pair
``(a, b)``, the probability that a target drawing exactly from ``a``'s law is identified as ``a``
alone against ``b`` (``a`` consistent, ``b`` rejected).
"""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
import importlib.util
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["ROWS_FILE", "compute_rows", "load_rows", "decide", "identify", "Identification", "simulate_power",
           "row_tests"]

ROWS_FILE = Path(importlib.util.find_spec("reference").origin).parent / "token_discriminating_rows.json"
TOL = 1e-4  # the plan's ambiguity tolerance (harness.kinds.token.entries.AMBIGUITY_TOL)


def compute_rows() -> list[dict[str, Any]]:
    """The discriminating rows of every pair of profiles, deduplicated (module doc)."""
    from reference.token_laws import PROFILES, ambiguous
    from reference.token_rows import discriminating_rows

    by_key: dict[tuple, dict[str, Any]] = {}
    for a, b in itertools.combinations(PROFILES, 2):
        for r in discriminating_rows(a, b, max_rows=3):
            key = (r.logits, r.temperature, r.top_k, r.top_p, r.min_p)
            row = by_key.setdefault(key, {"logits": list(r.logits), "temperature": r.temperature, "top_k": r.top_k,
                                          "top_p": r.top_p, "min_p": r.min_p, "pairs": []})
            row["pairs"].append({"a": a, "b": b, "tv": round(r.tv, 6), "stage": r.stage, "why": r.why})
    rows = list(by_key.values())
    for row in rows:
        tup = _tuple(row)
        row["determined"] = [p for p in PROFILES if ambiguous(tup, p, tol=TOL) is None and _stable(tup, p)]
    return rows


def _stable(row: tuple, profile: str) -> bool:
    """The row's law under ``profile`` moves by less than TV 0.02 when the top logit moves by two
    float32 ulps of the log-normaliser (``x - logsumexp(x)`` in float32, as MLX-LM's ``generate``
    computes before any stage): a tiny temperature on logits 1e-7 apart is not determined at
    float32 for an engine that normalises first."""
    from reference.token_laws import token_probs, tv_distance

    x, t, k, p, m = row
    fin = np.isfinite(x)
    lse = float(np.log(np.sum(np.exp(x[fin] - x[fin].max()))) + x[fin].max())
    delta = 2 * float(np.spacing(np.float32(max(abs(lse), float(np.abs(x[fin]).max()), 1e-30))))
    a = token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=profile)
    top = int(np.argmax(x))
    for d in (delta, -delta):
        y = x.copy()
        y[top] += d
        if tv_distance(a, token_probs(y, t, top_k=k, top_p=p, min_p=m, profile=profile)) >= 0.02:
            return False
    return True


def load_rows() -> list[dict[str, Any]]:
    """The stored rows (module doc)."""
    return json.loads(ROWS_FILE.read_text())["rows"]


def _tuple(row: dict) -> tuple:
    return (np.asarray(row["logits"], dtype=np.float64), row["temperature"], row["top_k"], row["top_p"], row["min_p"])


def _label(row: dict) -> str:
    parts = [f"V={len(row['logits'])}", f"T={row['temperature']:g}"]
    parts += [f"{n}={row[n]:g}" for n in ("top_k", "top_p", "min_p") if row[n] is not None]
    return ", ".join(parts)


def row_tests(rows: Sequence[dict]) -> list[tuple[int, str, np.ndarray]]:
    """``(row index, profile, law)`` of every test of the family."""
    from reference.token_laws import token_probs

    out = []
    for i, row in enumerate(rows):
        x, t, k, p, m = _tuple(row)
        for prof in row["determined"]:
            out.append((i, prof, token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=prof)))
    return out


def _pvalue(counts: np.ndarray, law: np.ndarray) -> float:
    from harness.stats.discrete import chisquare_gof

    if np.any(counts[law == 0] > 0):
        return 0.0
    if (law > 0).sum() <= 1:
        return 1.0
    return float(chisquare_gof(counts, law).pvalue)


def decide(draw: Callable[[int], list[np.ndarray]], tests: list, alpha: float) -> tuple[dict[str, bool], list]:
    """The decision (module doc). ``draw(stage)`` returns the counts of every row (stage 1, and
    stage 2 for the confirmation); ``tests`` from :func:`row_tests`. Returns ``(consistent per
    profile, [(row, profile, p, holm p, counts)])``."""
    from harness.stats.confirm import combine, confirmation_threshold
    from harness.stats.family import holm

    c1 = draw(1)
    p1 = [_pvalue(c1[i], law) for i, _, law in tests]
    c2 = draw(2) if min(p1, default=1.0) <= confirmation_threshold(alpha) else None
    ps = [combine(p, None if p > confirmation_threshold(alpha) else _pvalue(c2[i], law), alpha)
          for p, (i, _, law) in zip(p1, tests)]
    h = holm(ps, alpha)
    adj = list(h.adjusted)
    rej = list(h.reject)
    consistent = {prof: True for _, prof, _ in tests}
    for (i, prof, _), r in zip(tests, rej):
        if r:
            consistent[prof] = False
    detail = [(i, prof, p, a, c1[i]) for (i, prof, _), p, a in zip(tests, ps, adj)]
    return consistent, detail


@dataclass
class Identification:
    """What :func:`identify` found: ``consistent`` / ``rejected`` profiles, per-profile lines,
    ``exit_status`` (0 one, 1 none, 4 several), ``power`` (the stated power, per pair)."""

    budget: str
    n: int
    consistent: list[str]
    rejected: dict[str, str]
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    power: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def exit_status(self) -> int:
        return 0 if len(self.consistent) == 1 else (1 if not self.consistent else 4)

    def text(self) -> str:
        head = {0: f"identified: {self.consistent[0] if self.consistent else ''}", 1: "no profile fits",
                4: f"several profiles fit: {', '.join(self.consistent)}"}[self.exit_status]
        out = [f"identify [token] budget={self.budget}, n = {self.n:,} draws per row: {head} "
               f"(exit status {self.exit_status}; {self.seconds:.1f} s)"]
        out += ["  " + ln for ln in self.lines] + self.notes
        if self.power:
            worst = min(self.power.values())
            out.append(f"stated power (simulated through this decision, {POWER_REPS} runs per pair, budget "
                       f"{self.budget}): every pair told apart with probability >= {worst:.3f}")
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {"budget": self.budget, "n": self.n, "consistent": self.consistent, "rejected": self.rejected,
                "exit_status": self.exit_status, "lines": self.lines, "notes": self.notes, "power": self.power,
                "seconds": self.seconds}


def _fmt(a: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in a) + "]"


def identify(fn: Callable, budget: Any, seed: int = 0, options: Any = None, device: str = "cpu",
             power: bool = True) -> Identification:
    """Run the discriminating rows on ``fn`` (a token-protocol callable, already behind the kind's
    adapter) and decide (module doc)."""
    import time

    from harness.core.seeds import derive_seed
    from harness.kinds.token.plan import Row, token_counts

    t0 = time.perf_counter()
    rows = load_rows()
    tests = row_tests(rows)
    n = int(budget.n_relaxed)
    trows = [Row(np.asarray(r["logits"], dtype=np.float32), r["temperature"], r["top_k"], r["top_p"], r["min_p"])
             for r in rows]

    def draw(stage: int) -> list[np.ndarray]:
        out: list[Any] = [None] * len(rows)
        by_v: dict[int, list[int]] = {}
        for i, r in enumerate(trows):
            by_v.setdefault(r.logits.size, []).append(i)
        for v, idx in sorted(by_v.items()):
            counts = token_counts(fn, [trows[i] for i in idx], n, derive_seed(seed, f"identify.{stage}.{v}"), device)
            for j, i in enumerate(idx):
                out[i] = counts[j]
        return out

    consistent, detail = decide(draw, tests, budget.alpha)
    res = _report(rows, tests, consistent, detail, budget, n)
    if power:
        res.power = simulate_power(budget, reps=POWER_REPS, seed=seed)
    res.seconds = time.perf_counter() - t0
    return res


def _stage_between(row: dict, p: str, others: Sequence[str]) -> str:
    """The stage in which ``p`` differs from the first of ``others`` on ``row`` (the stored pair's
    text, else :func:`~reference.token_rows.discriminating_rows` on this one row)."""
    from reference.token_rows import discriminating_rows

    for q in others:
        for pr in row["pairs"]:
            if {pr["a"], pr["b"]} == {p, q}:
                return pr["why"]
    for q in others:
        if q != p:
            found = discriminating_rows(p, q, candidates=[_tuple(row)], min_tv=0.0, tol=TOL, max_rows=1)
            if found:
                return found[0].why
    return row["pairs"][0]["why"]


def _report(rows, tests, consistent, detail, budget, n) -> Identification:
    from reference.token_laws import PROFILES

    ok = [p for p in PROFILES if consistent.get(p, False)]
    res = Identification(budget.name, n, ok, {})
    for prof in PROFILES:
        mine = [d for d in detail if d[1] == prof]
        if consistent.get(prof):
            res.lines.append(f"{prof:10s} consistent ({len(mine)} rows, none rejected)")
            continue
        i, _, p, adj, counts = min(mine, key=lambda d: d[3])
        law = next(law for (j, q, law) in tests if j == i and q == prof)
        obs = counts / max(1, counts.sum())
        why = _stage_between(rows[i], prof, ok or [q for q in PROFILES if q != prof])
        res.rejected[prof] = why
        res.lines.append(f"{prof:10s} rejected: {why} on row {i} [{_label(rows[i])}]: observed {_fmt(obs)}, "
                         f"expected {_fmt(law)} (p = {p:.2g}, Holm p = {adj:.2g})")
    rejected_rows = {}
    for i, prof, _, adj, _ in detail:
        rejected_rows.setdefault(i, []).append(adj <= budget.alpha)
    if not ok:
        none = [i for i, r in rejected_rows.items() if all(r)]
        stages = sorted({pr["stage"] for i in none for pr in rows[i]["pairs"]})
        res.notes.append("no profile fits; rows on which every profile is rejected: "
                         + ("; ".join(f"row {i} [{_label(rows[i])}]" for i in none) or "none (each profile fails "
                            "elsewhere)") + (f"; the stages they test fit none: {', '.join(stages)}" if stages else ""))
    elif len(ok) > 1:
        for a, b in itertools.combinations(ok, 2):
            rs = [f"row {i} [{_label(r)}] (TV {pr['tv']:.3f}, {pr['stage']})" for i, r in enumerate(rows)
                  for pr in r["pairs"] if {pr["a"], pr["b"]} == {a, b}]
            res.notes.append(f"{a} and {b} both fit: the rows that should tell them apart did not: "
                             + ("; ".join(rs) or "no stored row separates them"))
    return res


POWER_REPS = 200


def simulate_power(budget: Any, reps: int = POWER_REPS, seed: int = 0) -> dict[str, float]:
    """For each ordered pair ``a > b``: the probability that a target drawing exactly from
    ``a``'s law (multinomial counts of every row) is decided ``a`` consistent and ``b`` rejected,
    through :func:`decide`; keys ``"a|b"``. ``reps`` runs per true profile."""
    from reference.token_laws import PROFILES, token_probs

    rows = load_rows()
    tests = row_tests(rows)
    n = int(budget.n_relaxed)
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    for truth in PROFILES:
        laws = []
        for r in rows:
            x, t, k, p, m = _tuple(r)
            laws.append(token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=truth))
        wins = {b: 0 for b in PROFILES if b != truth}
        for _ in range(reps):
            consistent, _ = decide(lambda stage: [rng.multinomial(n, law) for law in laws], tests, budget.alpha)
            for b in wins:
                wins[b] += bool(consistent.get(truth, False) and not consistent.get(b, True))
        for b, w in wins.items():
            out[f"{truth}|{b}"] = w / reps
    return out


def _pair_tv(rows: list[dict]) -> dict[str, float]:
    tv: dict[str, float] = {}
    for r in rows:
        for pr in r["pairs"]:
            key = f"{pr['a']}|{pr['b']}"
            tv[key] = max(tv.get(key, 0.0), pr["tv"])
    return tv


if __name__ == "__main__":
    data = {"note": "written by python -m harness.kinds.token.identify (reference.token_rows.discriminating_rows "
                    "of every pair of PROFILES, max_rows=3); do not edit", "rows": compute_rows()}
    ROWS_FILE.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {ROWS_FILE} ({len(data['rows'])} rows); pair TV: {_pair_tv(data['rows'])}")
    _ = math
