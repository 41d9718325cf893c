"""Terminal text renderings of check results: the per-target table, the conformance matrix
(targets x checks) and the mutant table, and the row data they share with the Markdown / HTML
documents of :mod:`harness.checker.documents` (rendered through :mod:`harness.rendering`)."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from harness.verdict import Verdict

__all__ = ["text_table", "text_report", "matrix", "matrix_text", "mutant_rows", "mutant_text"]

def _f(x: Any, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return format(x, spec) if isinstance(x, (int, float)) else str(x)


def _power(v: Verdict) -> str:
    d = v.detectable
    if d is None:
        return f"tol {_f(v.tolerance)}" if v.tolerance is not None else "-"
    s = f"{d.measure} {_f(d.value)}"
    if d.tv is not None and math.isfinite(d.tv):
        s += f" (TV {_f(d.tv)})"
    return s


def _status(v: Verdict) -> str:
    return {True: "PASS", False: "FAIL", None: "?"}[v.passed]


def _rows(res) -> list[list[str]]:
    rows = []
    for v in res.verdicts:
        rows.append([v.check, v.claim, v.test, _f(v.statistic, ".4g"), _f(v.pvalue), _f(v.adjusted_pvalue),
                     _power(v), str(v.n), _f(v.details.get("seconds"), ".2f"), _status(v)])
    return rows


HEAD = ["check", "claim", "test", "statistic", "p", "Holm p", "power (detects at 0.9)", "n", "s", "verdict"]


def _ascii(head: Sequence[str], rows: Sequence[Sequence[str]], max_w: int = 48) -> str:
    rows = [[c if len(c) <= max_w else c[: max_w - 3] + "..." for c in r] for r in rows]
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w[i]) for i, h in enumerate(head))
    out = [line, "  ".join("-" * x for x in w)]
    out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    return "\n".join(out)


def text_table(res) -> str:
    return _ascii(HEAD, _rows(res))


def _power_lines(res) -> list[str]:
    p = res.info.get("power", {})
    out = []
    if "tv_0.002" in p:
        t = p["tv_0.002"]
        out.append(f"power vs any TV-0.002 deviation ({t['check']}, N = {t['n']:,}): {t['power']:.6f} "
                   f"at level {p['level']:.3g} (alpha {res.alpha:g} / {p['family_size']} checks)")
    if "temperature_2pct" in p:
        t = p["temperature_2pct"]
        out.append(f"power vs a 2% temperature error ({t['check']}, N = {t['n']:,}): {t['power']:.6f} "
                   f"at level {p['level']:.3g}")
    return out


def _finding_rows(res, severities=("fail", "warn", "ok", "info")) -> list[list[str]]:
    order = {s: i for i, s in enumerate(("fail", "warn", "ok", "info"))}
    fs = sorted((f for f in res.findings if f.severity in severities), key=lambda f: order.get(f.severity, 9))
    return [[f.severity.upper(), f.probe, f.input, f.outcome, f.detail] for f in fs]


def text_report(res, findings: str = "fail,warn") -> str:
    status = "CONFORMS" if res.passed else "DOES NOT CONFORM"
    lines = [f"{res.target} [{res.kind}] budget={res.budget} seed={res.seed}: {status} "
             f"({len(res.failed_verdicts)} failing checks, {len(res.failed_findings)} failing findings, "
             f"{len(res.warnings)} warnings; Holm family of {res.family_size} at alpha {res.alpha:g}; "
             f"{res.seconds:.1f} s)", "", text_table(res)]
    pl = _power_lines(res)
    if pl:
        lines += [""] + pl
    if res.failed_verdicts or res.failed_findings:
        lines += ["", "Failures:", "", res.explain()]
    sev = tuple(findings.split(","))
    fr = _finding_rows(res, sev)
    if fr:
        lines += ["", "Probe findings (" + "/".join(sev) + "):",
                  _ascii(["severity", "probe", "input", "outcome", "detail"], fr, max_w=90)]
    return "\n".join(lines)


# ---------------------------------------------------------------- conformance matrix -------

def matrix(results: Sequence, skipped: dict[str, str] | None = None) -> tuple[list[str], list[list[str]]]:
    """Columns (check groups: the first two parts of the check ids, in plan order) and one row
    per target: PASS / FAIL (k/m) / "" (not applicable), findings, verdict, seconds."""
    cols: list[str] = []
    for r in results:
        for c in r.plan:
            if c["column"] not in cols:
                cols.append(c["column"])
    extra = any(any(v.check in ("C1.log_prob", "extra") for v in r.verdicts) for r in results)
    if extra:
        cols.append("C1.log_prob")
    rows = []
    for r in results:
        st = r.plan_status()
        cells = []
        for col in cols:
            ids = [c["id"] for c in r.plan if c["column"] == col] or ([col] if col in st else [])
            if not ids:
                cells.append("")
                continue
            fails = sum(1 for i in ids if st.get(i) == "FAIL")
            cells.append("PASS" if not fails else f"FAIL {fails}/{len(ids)}")
        nf, nw = len(r.failed_findings), len(r.warnings)
        exp = r.info.get("builtin", {}).get("expect_pass")
        rows.append([r.target, r.kind] + cells + [f"{nf} fail / {nw} warn", "PASS" if r.passed else "FAIL",
                                                  {True: "pass", False: "fail", None: ""}[exp], f"{r.seconds:.1f}"])
    for name, why in (skipped or {}).items():
        rows.append([name, "-"] + [""] * len(cols) + ["", f"skipped: {why}", "", ""])
    return ["target", "kind"] + cols + ["probe findings", "verdict", "expected", "s"], rows


def matrix_text(results, skipped=None) -> str:
    head, rows = matrix(results, skipped)
    return _ascii(head, rows, max_w=60)


# ---------------------------------------------------------------- mutant table -------------

def _rank(budget: str) -> int:
    return {"quick": 0, "standard": 1, "thorough": 2}.get(budget, 1)


def mutant_rows(entries: Sequence[tuple[Any, Any]]) -> tuple[list[str], list[list[str]]]:
    """``entries``: (Mutant, CheckResult). Row: mutant, kind, bugs.md B number, mirrored issues,
    expected catching checks, the budget it needs, the budget it ran at, rejected?, the checks
    that caught it, the smallest Holm-adjusted p ("forced": a forced FAIL), seconds."""
    head = ["mutant", "kind", "B", "mirrors", "expected", "needs", "run at", "rejected", "caught by", "min Holm p",
            "s"]
    rows = []
    for m, r in entries:
        caught = r.caught_by()
        ps = [c["adjusted"] for c in caught if c["adjusted"] is not None]
        rows.append([m.name, m.kind, f"B{m.bug}", m.mirrors, ", ".join(m.caught_by), m.budget, r.budget,
                     "yes" if not r.passed else (f"no (needs {m.budget})" if _rank(m.budget) > _rank(r.budget)
                                                 else "NO"), ", ".join(sorted({c["check"] for c in caught})) or "-",
                     _f(min(ps)) if ps else ("forced" if caught else "-"), f"{r.seconds:.1f}"])
    return head, rows


def mutant_text(entries) -> str:
    head, rows = mutant_rows(entries)
    return _ascii(head, rows, max_w=70)
