"""Markdown and HTML documents of check results (single target, conformance matrix, mutant
table) rendered through :mod:`harness.output.rendering`, and the output directories that hold them,
written as one unit by :func:`harness.output.outdir.write_atomic` (JSON, Markdown and HTML of one check
are replaced together, never new JSON next to stale HTML). The terminal text renderings stay in
:mod:`harness.output.terminal`, which also provides the row data used here."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from harness.output.terminal import HEAD, _finding_rows, _power_lines, _rows, matrix, mutant_rows
from harness.output.outdir import OutDirError, write_atomic
from harness.output.rendering import _bound, effect_text, render

__all__ = ["markdown_report", "html_report", "matrix_markdown", "matrix_html", "mutant_markdown", "mutant_html",
           "single_files", "matrix_files", "mutant_files", "write_single", "write_matrix", "write_mutants"]

POWER_COL = "power (detects at 0.9)"
FINDING_HEAD = ["severity", "probe", "input", "outcome", "detail"]


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)[:80]


def _check_context(res) -> dict[str, Any]:
    from harness.mutants.blind_spots import check_hint

    rows = _rows(res)
    if POWER_COL in HEAD:  # the power statement in words (detectable TV distance ...)
        j = HEAD.index(POWER_COL)
        rows = [r[:j] + [effect_text(v.detectable, v.tolerance)] + r[j + 1:] for v, r in zip(res.verdicts, rows)]
    by_id = {id(v): r for v, r in zip(res.verdicts, rows)}
    certified = any(getattr(v, "bound", None) is not None for v in res.verdicts)
    head = list(HEAD) + (["certificate"] if certified else [])

    def block(vs):
        return [by_id[id(v)] + ([_bound(v)] if certified else []) for v in vs if id(v) in by_id]

    finds = {id(f) for f in res.contract_findings}
    frows = [r for r, f in zip(_finding_rows(res), _sorted_findings(res)) if id(f) in finds]
    hint = check_hint(res)
    return {
        "title": f"check {res.target}", "target": str(res.target), "kind": res.kind, "budget": res.budget,
        "seed": res.seed, "family_size": res.family_size, "alpha": f"{res.alpha:g}", "seconds": f"{res.seconds:.1f}",
        "law_passed": res.law_passed, "contract_passed": res.contract_passed, "headline": res.headline,
        "hints": [hint] if hint else [], "power_lines": _power_lines(res), "head": head,
        "law_rows": block(res.law_verdicts), "contract_rows": block(res.contract_verdicts),
        "finding_head": FINDING_HEAD, "findings": [[r[0].lower()] + list(r[1:]) for r in frows],
        "failures": res.explain() if (res.failed_verdicts or res.failed_findings) else "",
        "log_prob": json.dumps(res.info["log_prob"], indent=1) if "log_prob" in res.info else "",
    }


def _sorted_findings(res) -> list:
    """The findings in the order of :func:`_finding_rows` (every severity)."""
    order = {s: i for i, s in enumerate(("fail", "warn", "ok", "info"))}
    return sorted((f for f in res.findings if f.severity in order), key=lambda f: order.get(f.severity, 9))


def markdown_report(res) -> str:
    return render("check.md", **_check_context(res))


def html_report(res) -> str:
    return render("check.html", **_check_context(res))


def _matrix_context(results, skipped, budget: str, seed: int) -> dict[str, Any]:
    head, rows = matrix(results, skipped)
    targets = []
    for r in results:
        if r.failed_verdicts or r.failed_findings or r.warnings:
            fr = _finding_rows(r, ("fail", "warn"))
            targets.append({"target": str(r.target),
                            "failures": r.explain() if (r.failed_verdicts or r.failed_findings) else "",
                            "findings": [[x[0].lower()] + list(x[1:]) for x in fr]})
    return {"title": "conformance matrix", "budget": budget, "seed": seed, "head": head, "rows": rows,
            "targets": targets, "finding_head": FINDING_HEAD}


def matrix_markdown(results, skipped=None, budget: str = "", seed: int = 0) -> str:
    return render("matrix.md", **_matrix_context(results, skipped, budget, seed))


def matrix_html(results, skipped=None, budget: str = "", seed: int = 0) -> str:
    return render("matrix.html", **_matrix_context(results, skipped, budget, seed))


def _mutant_context(entries, budget: str) -> dict[str, Any]:
    from harness.mutants.blind_spots import hint

    head, rows = mutant_rows(entries)
    h = hint(budget, "gumbel-harness check --mutant all --budget {budget}") if budget else None
    return {"title": "mutant table", "budget": budget, "head": head, "rows": rows, "hints": [h] if h else []}


def mutant_markdown(entries, budget: str = "") -> str:
    return render("mutants.md", **_mutant_context(entries, budget))


def mutant_html(entries, budget: str = "") -> str:
    return render("mutants.html", **_mutant_context(entries, budget))


# ---------------------------------------------------------------- files --------------------

def single_files(res, prefix: str = "") -> dict[str, str | bytes]:
    """``check-<target>.json`` (verdicts and findings; the long arrays by reference),
    ``check-<target>.arrays.npz`` (those arrays, when there are any: :mod:`harness.output.bulk`),
    ``.md`` and ``.html``."""
    from harness.output.bulk import npz_bytes

    base = f"{prefix}check-{_slug(str(res.target))}"
    files: dict[str, str | bytes] = {f"{base}.json": res.to_json(), f"{base}.md": markdown_report(res),
                                     f"{base}.html": html_report(res)}
    arrays = res.arrays()
    if arrays:
        files[f"{base}.arrays.npz"] = npz_bytes(arrays)
    return files


def matrix_files(results, skipped, budget: str, seed: int) -> dict[str, str]:
    head, rows = matrix(results, skipped)
    from harness.output.bulk import split_bulk

    data = {"budget": budget, "seed": seed, "columns": head, "rows": rows, "skipped": skipped,
            "results": [split_bulk(r.to_dict())[0] for r in results]}
    files = {"conformance.json": json.dumps(data, indent=2),
             "conformance.md": matrix_markdown(results, skipped, budget, seed),
             "conformance.html": matrix_html(results, skipped, budget, seed)}
    for r in results:
        files.update(single_files(r, "targets/"))
    return files


def mutant_files(entries, budget: str) -> dict[str, str]:
    head, rows = mutant_rows(entries)
    data = {"budget": budget, "columns": head, "rows": rows,
            "mutants": [{"mutant": m.name, "kind": m.kind, "mirrors": m.mirrors, "expected": list(m.caught_by),
                         "caught_by": r.caught_by(), "rejected": not r.passed, "seconds": r.seconds}
                        for m, r in entries]}
    return {"mutants.json": json.dumps(data, indent=2, default=str), "mutants.md": mutant_markdown(entries, budget),
            "mutants.html": mutant_html(entries, budget)}


def _write(out, files: dict[str, str], kind: str) -> list[Path]:
    """Write one unit; a failure of the file system (full disk...) is an :class:`OutDirError`
    naming it (the previous directory, if any, is left as it was)."""
    try:
        d = write_atomic(out, files, kind=kind)
    except OSError as exc:
        raise OutDirError(f"--out {out}: cannot write ({exc.strerror or type(exc).__name__}); "
                          f"the previous content is unchanged") from exc
    return [d / name for name in files]


def write_single(res, out: str | Path) -> list[Path]:
    """The JSON, Markdown and HTML of one check as the directory ``out`` (one atomic unit)."""
    return _write(out, single_files(res), "check")


def write_matrix(results, skipped, out: str | Path, budget: str, seed: int) -> list[Path]:
    return _write(out, matrix_files(results, skipped, budget, seed), "conformance")


def write_mutants(entries: Sequence, out: str | Path, budget: str) -> list[Path]:
    return _write(out, mutant_files(entries, budget), "mutants")


def compare_files(res, figures: bool = True) -> dict[str, str | bytes]:
    """``compare-<a>-vs-<b>.json`` (the long arrays by reference), ``.arrays.npz`` (the figure
    data of large tables), ``.txt`` (the terminal report) and, with matplotlib,
    ``figures/<check>.png`` per two-sample check (both empirical laws, the difference, its band)."""
    from harness.output.bulk import npz_bytes

    base = f"compare-{_slug(str(res.a))}-vs-{_slug(str(res.b))}"
    files: dict[str, str | bytes] = {f"{base}.json": res.to_json(), f"{base}.txt": res.report() + "\n"}
    arrays = res.arrays()
    if arrays:
        files[f"{base}.arrays.npz"] = npz_bytes(arrays)
    if figures:
        from harness.output.compare_figure import figure_png

        for v in res.verdicts:
            png = figure_png(v, res.a, res.b)
            if png is not None:
                files[f"figures/{_slug(v.check)}.png"] = png
    return files


def write_compare(res, out: str | Path) -> list[Path]:
    """The files of :func:`compare_files` as the directory ``out`` (one atomic unit)."""
    return _write(out, compare_files(res), "compare")
