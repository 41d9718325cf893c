"""Text, Markdown, HTML and JSON renderings of check results: the per-target table, the
conformance matrix (targets x checks) and the mutant table. HTML is self-contained (inline
CSS, no scripts, simple tables)."""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness.verdict import Verdict

__all__ = [
    "text_table", "text_report", "markdown_report", "html_report",
    "matrix", "matrix_text", "matrix_markdown", "matrix_html",
    "mutant_rows", "mutant_text", "mutant_markdown", "mutant_html",
    "write_single", "write_matrix", "write_mutants",
]

CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:110em}table{border-collapse:collapse;"
       "margin:1em 0}td,th{border:1px solid #bbb;padding:3px 7px;font-size:13px;vertical-align:top}"
       "th{background:#eee}.PASS,.ok{background:#dfd}.FAIL,.fail{background:#fcc}.warn{background:#ffd}"
       ".skip{color:#888}pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap}")


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
    if "tail_grades" in p:  # token kind: exact binomial power of TK.tail per noise precision grade
        t = p["tail_grades"]
        out.append(f"tail power ({t['check']}, N = {t['n']:,}, gap {t['gap']:.1f} nats, level {t['level']:.3g}): "
                   + ", ".join(f"{g} {v:.3f}" for g, v in t["power"].items()))
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


# ---------------------------------------------------------------- markdown / html ----------

def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _html_table(head: Sequence[str], rows: Iterable[Sequence[str]], cls_col: int | None = None) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            c = str(c)
            cls = ""
            if c.startswith(("PASS", "FAIL")):
                cls = f' class="{c[:4]}"'
            elif cls_col is not None and i == cls_col and c:
                cls = f' class="{html.escape(c.split()[0].lower())}"'
            cells.append(f"<td{cls}>{html.escape(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{h}</tr>{''.join(body)}</table>"


def _html_page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")


def markdown_report(res) -> str:
    status = "conforms" if res.passed else "**does not conform**"
    parts = [f"# Conformance check: `{res.target}` ({res.kind})", "",
             f"Budget `{res.budget}`, seed {res.seed}, Holm family of {res.family_size} statistical checks at "
             f"alpha {res.alpha:g}, {res.seconds:.1f} s. The target {status}.", ""]
    parts += [f"- {x}" for x in _power_lines(res)]
    parts += ["", "## Checks", "", _md_table(HEAD, _rows(res))]
    if res.failed_verdicts or res.failed_findings:
        parts += ["", "## Failures", "", "```", res.explain(), "```"]
    if res.findings:
        parts += ["", "## Probe findings", "", _md_table(["severity", "probe", "input", "outcome", "detail"],
                                                        _finding_rows(res))]
    if "log_prob" in res.info:
        parts += ["", "## log_prob vs C1", "", "```", json.dumps(res.info["log_prob"], indent=1), "```"]
    return "\n".join(parts) + "\n"


def html_report(res) -> str:
    status = "conforms" if res.passed else "does NOT conform"
    body = [f"<h1>Conformance check: <code>{html.escape(res.target)}</code> ({res.kind})</h1>",
            f"<p>Budget <b>{res.budget}</b>, seed {res.seed}, Holm family of {res.family_size} statistical checks at "
            f"alpha {res.alpha:g}, {res.seconds:.1f} s. The target <b class='{'ok' if res.passed else 'fail'}'>"
            f"{status}</b>.</p>"]
    body += ["<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in _power_lines(res)) + "</ul>"]
    body += ["<h2>Checks</h2>", _html_table(HEAD, _rows(res))]
    if res.failed_verdicts or res.failed_findings:
        body += ["<h2>Failures</h2>", f"<pre>{html.escape(res.explain())}</pre>"]
    if res.findings:
        body += ["<h2>Probe findings</h2>",
                 _html_table(["severity", "probe", "input", "outcome", "detail"],
                             [[r[0].lower()] + r[1:] for r in _finding_rows(res)], cls_col=0)]
    if "log_prob" in res.info:
        body += ["<h2>log_prob vs C1</h2>", f"<pre>{html.escape(json.dumps(res.info['log_prob'], indent=1))}</pre>"]
    return _html_page(f"check {res.target}", "".join(body))


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


def matrix_markdown(results, skipped=None, budget: str = "", seed: int = 0) -> str:
    head, rows = matrix(results, skipped)
    parts = ["# Conformance matrix", "", f"Budget `{budget}`, seed {seed}. Columns are check groups (all checks "
             "of the group pass: PASS; FAIL k/m: k of its m checks failed); empty: not applicable to the kind.", "",
             _md_table(head, rows), ""]
    for r in results:
        if r.failed_verdicts or r.failed_findings or r.warnings:
            parts += [f"## {r.target}", ""]
            if r.failed_verdicts or r.failed_findings:
                parts += ["```", r.explain(), "```", ""]
            fr = _finding_rows(r, ("fail", "warn"))
            if fr:
                parts += [_md_table(["severity", "probe", "input", "outcome", "detail"], fr), ""]
    return "\n".join(parts)


def matrix_html(results, skipped=None, budget: str = "", seed: int = 0) -> str:
    head, rows = matrix(results, skipped)
    body = ["<h1>Conformance matrix</h1>", f"<p>Budget <b>{html.escape(budget)}</b>, seed {seed}. Columns are "
            "check groups; FAIL k/m: k of the group's m checks failed; empty: not applicable.</p>",
            _html_table(head, rows)]
    for r in results:
        if r.failed_verdicts or r.failed_findings or r.warnings:
            body.append(f"<h2>{html.escape(r.target)}</h2>")
            if r.failed_verdicts or r.failed_findings:
                body.append(f"<pre>{html.escape(r.explain())}</pre>")
            fr = _finding_rows(r, ("fail", "warn"))
            if fr:
                body.append(_html_table(["severity", "probe", "input", "outcome", "detail"],
                                        [[x[0].lower()] + x[1:] for x in fr], cls_col=0))
    return _html_page("conformance matrix", "".join(body))


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


def mutant_markdown(entries, budget: str = "") -> str:
    head, rows = mutant_rows(entries)
    return "\n".join(["# Mutant table", "", f"Each mutant is checked at budget `{budget}` with the checks "
                      "its catalogue entry names (plus probes where listed).", "", _md_table(head, rows), ""])


def mutant_html(entries, budget: str = "") -> str:
    head, rows = mutant_rows(entries)
    body = ["<h1>Mutant table</h1>", f"<p>Budget <b>{html.escape(budget)}</b>.</p>", _html_table(head, rows)]
    return _html_page("mutant table", "".join(body))


# ---------------------------------------------------------------- files --------------------

def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)[:80]


def write_single(res, out: str | Path) -> list[Path]:
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    base = d / f"check-{_slug(res.target)}"
    paths = [base.with_suffix(".json"), base.with_suffix(".md"), base.with_suffix(".html")]
    paths[0].write_text(res.to_json())
    paths[1].write_text(markdown_report(res))
    paths[2].write_text(html_report(res))
    return paths


def write_matrix(results, skipped, out: str | Path, budget: str, seed: int) -> list[Path]:
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    head, rows = matrix(results, skipped)
    data = {"budget": budget, "seed": seed, "columns": head, "rows": rows, "skipped": skipped,
            "results": [r.to_dict() for r in results]}
    paths = [d / "conformance.json", d / "conformance.md", d / "conformance.html"]
    paths[0].write_text(json.dumps(data, indent=2))
    paths[1].write_text(matrix_markdown(results, skipped, budget, seed))
    paths[2].write_text(matrix_html(results, skipped, budget, seed))
    for r in results:
        paths += write_single(r, d / "targets")
    return paths


def write_mutants(entries, out: str | Path, budget: str) -> list[Path]:
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    head, rows = mutant_rows(entries)
    data = {"budget": budget, "columns": head, "rows": rows,
            "mutants": [{"mutant": m.name, "kind": m.kind, "mirrors": m.mirrors, "expected": list(m.caught_by),
                         "caught_by": r.caught_by(), "rejected": not r.passed, "seconds": r.seconds}
                        for m, r in entries]}
    paths = [d / "mutants.json", d / "mutants.md", d / "mutants.html"]
    paths[0].write_text(json.dumps(data, indent=2, default=str))
    paths[1].write_text(mutant_markdown(entries, budget))
    paths[2].write_text(mutant_html(entries, budget))
    return paths
