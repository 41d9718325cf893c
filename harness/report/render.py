"""The human-readable report: ``index.html`` (self-contained, figures embedded as base64 PNG) and
``report.md`` (figures linked from ``figures/``), both generated from the ``results.json``
payload by the templates ``report.html`` / ``report.md`` of :mod:`harness.output.rendering` (this module
only gathers what they show), plus the console table."""
from __future__ import annotations

from typing import Any, Mapping

from harness.output.rendering import fmt_p, fmt_stat
from harness.report.columns import SMALLEST_P
from harness.report.runner import claim_rows

__all__ = ["to_html", "to_markdown", "figure_path", "console_table"]

SUMMARY_FIGURE = "summary"


def figure_path(fig_id: str) -> str:
    """Relative path of a figure's PNG inside the report directory."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in fig_id)
    return f"figures/{safe}.png"


_p = fmt_p
_stat = fmt_stat


def _power(v: Mapping[str, Any]) -> str:
    from harness.output.rendering import effect_text

    d = v.get("detectable")
    if not d:
        return f"tolerance {_p(v.get('tolerance'))}" if v.get("pvalue") is None else "-"
    return effect_text(d)


def _bound(v: Mapping[str, Any]) -> str:
    from harness.output.rendering import _bound as bound_text

    return bound_text(v)


def _status(v: Mapping[str, Any]) -> str:
    return {True: "PASS", False: "FAIL"}.get(v.get("passed"), "UNDECIDED")


def _env_rows(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    gpu = env.get("gpu", {})
    gpu_s = ", ".join(gpu.get("devices", [])) if gpu.get("cuda_available") else "none (CUDA not available)"
    rows = [("python", f"{env.get('python')} ({env.get('implementation')})"), ("platform", env.get("platform", "")),
            ("CPU", f"{env.get('cpu')} x {env.get('cpu_count')}"), ("GPU", gpu_s)]
    rows += [(k, v) for k, v in env.get("packages", {}).items()]
    if env.get("git_commit"):
        rows.append(("git commit", env["git_commit"]))
    return rows


def _run_rows(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    b = payload["budget"]
    fam = payload["family"]
    run = payload.get("run", {})
    return [
        ("seed", str(payload["seed"])),
        ("budget", f"{b['name']} (discrete N {b['n_discrete']:,}, continuous N {b['n_continuous']:,}, relaxed N "
                   f"{b['n_relaxed']:,}, gradient N {b['n_gradient']:,}, tail N {b['n_tail']:,})"),
        ("family-wise alpha", f"{fam['alpha']:g} (Holm-Bonferroni over m = {fam['m']} statistical checks; "
                              f"power stated at alpha/{fam['planned_m']} = {fam['power_level']:.2g})"),
        ("selection", ", ".join(payload.get("only") or []) or "all claims"),
        ("started (UTC)", str(run.get("started_utc", ""))),
        ("run time", f"{run.get('wall_seconds', 0):.1f} s with {run.get('workers', 1)} worker(s)"),
        ("reproduce a check", payload.get("reproduce", "")),
    ]


# ------------------------------------------------------------------ documents --------------

SPEC_PATH = "docs/spec.md"
BUGS_PATH = "docs/bugs.md"
VERDICT_COLS = ["check", "test", "statistic", "p", "Holm p", "n", "power 0.9 / tolerance"]


def _verdict_view(v: Mapping[str, Any]) -> dict[str, Any]:
    cells = [v["check"], v.get("test", ""), _stat(v.get("statistic")), _p(v.get("pvalue")),
             _p(v.get("adjusted_pvalue")), str(v.get("n", "")), _power(v)]
    return {"cells": cells, "check": v["check"], "status": _status(v), "reason": v.get("reason", ""),
            "bound": _bound(v), "claim_text": v.get("claim_text", ""), "seed": v.get("seed"),
            "reproduce": v.get("reproduce") or ""}


def _context(payload: Mapping[str, Any], pngs: Mapping[str, bytes]) -> dict[str, Any]:
    """Everything the report templates show, as plain strings and lists (escaped by the templates)."""
    from harness.mutants.blind_spots import report_hint

    figs_by_id = {f["id"]: f for f in payload["figures"]}
    claims = []
    for c in payload["claims"]:
        vs = [_verdict_view(v) for v in payload["verdicts"] if v["claim"] == c["id"]]
        claims.append({
            "id": c["id"], "title": c["title"], "status": "PASS" if c["passed"] else "FAIL", "claim": c["claim"],
            "formula": c["formula"], "implementations": "; ".join(c["implementations"]),
            "sample_sizes": ", ".join(f"{k} = {v:,}" for k, v in c["sample_sizes"].items()),
            "figures": [{"id": fid, "caption": figs_by_id[fid].get("caption") or "", "png": pngs.get(fid),
                         "file": figure_path(fid)} for fid in c.get("figures", []) if fid in figs_by_id],
            "findings": [f for f in payload["findings"] if f["claim"] == c["id"]],
            "verdicts": vs,
            "md_head": VERDICT_COLS + (["certificate"] if any(v["bound"] for v in vs) else []) + ["verdict"],
            "md_rows": [v["cells"] + ([v["bound"]] if any(w["bound"] for w in vs) else []) + [v["status"]]
                        for v in vs],
        })
    rows = claim_rows(payload)
    cols = list(rows[0].keys()) if rows else ["claim"]
    mt = payload.get("mutants")
    mutants = None
    if mt:
        mutants = {"status": "FAIL" if mt["escaped"] else "PASS", "columns": mt["columns"],
                   "rows": [[str(x) for x in r] for r in mt["rows"]],
                   "text": (f"{mt['note']}. {len(mt['rows'])} mutants run"
                            + (f", escaped: {', '.join(mt['escaped'])}" if mt["escaped"] else ", every one rejected")
                            + (f"; not run at this budget: {', '.join(sorted(mt['not_run']))}" if mt["not_run"] else "")
                            + ".")}
    # with the mutant table, the line counts every mutant it could not run (the same set as its
    # "not run at this budget"); without it, the bug classes this report's claims would catch
    hint_claims = None if payload.get("mutants") else [c["id"] for c in payload["claims"]]
    hint = report_hint(payload["budget"]["name"], payload["seed"], hint_claims)
    return {
        "title": "gumbel-harness validation report", "version": str(payload.get("harness_version")),
        "spec_path": SPEC_PATH, "bugs_path": BUGS_PATH, "passed": bool(payload["passed"]),
        "n_pass": sum(c["passed"] for c in payload["claims"]), "n_claims": len(payload["claims"]),
        "hints": [hint] if hint else [],
        "run_rows": [[k, str(v)] for k, v in _run_rows(payload)],
        "env_rows": [[k, str(v)] for k, v in _env_rows(payload.get("environment", {}))],
        "summary": rows, "summary_cols": cols, "summary_rows": [[str(r[c]) for c in cols] for r in rows],
        "summary_png": pngs.get(SUMMARY_FIGURE), "summary_file": figure_path(SUMMARY_FIGURE),
        "verdict_cols": VERDICT_COLS, "claims": claims, "mutants": mutants, "smallest_p": SMALLEST_P,
    }


def to_html(payload: Mapping[str, Any], pngs: Mapping[str, bytes]) -> str:
    """The self-contained HTML report (figures embedded as base64 PNG)."""
    from harness.output.rendering import render

    return render("report.html", **_context(payload, pngs))


def to_markdown(payload: Mapping[str, Any], pngs: Mapping[str, bytes]) -> str:
    """The Markdown report (figures linked as ``figures/<id>.png``)."""
    from harness.output.rendering import render

    return render("report.md", **_context(payload, pngs))


def console_table(payload: Mapping[str, Any]) -> str:
    """The claim table as plain text (printed by the command)."""
    rows = claim_rows(payload)
    cols = ["claim", "checks", SMALLEST_P, "alpha", "verdict", "title"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) if rows else len(c) for c in cols}
    out = ["  ".join(c.ljust(widths[c]) for c in cols)]
    out += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(out)
