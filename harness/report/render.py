"""The human-readable report: ``index.html`` (self-contained, figures embedded as base64 PNG) and
``report.md`` (figures linked from ``figures/``), both generated from the ``results.json``
payload."""
from __future__ import annotations

import base64
import html
import math
from typing import Any, Mapping

from harness.report.runner import claim_rows

__all__ = ["to_html", "to_markdown", "figure_path", "console_table"]

SUMMARY_FIGURE = "summary"


def figure_path(fig_id: str) -> str:
    """Relative path of a figure's PNG inside the report directory."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in fig_id)
    return f"figures/{safe}.png"


def _p(v: Any) -> str:
    if v is None:
        return "-"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "-"
    return f"{f:.3g}"


def _stat(v: Any) -> str:
    if v is None:
        return "-"
    try:
        return f"{float(v):.4g}"
    except (TypeError, ValueError):
        return str(v)


def _power(v: Mapping[str, Any]) -> str:
    d = v.get("detectable")
    if not d:
        return f"tolerance {_p(v.get('tolerance'))}" if v.get("pvalue") is None else "-"
    s = f"{d['measure']} >= {_p(d['value'])}"
    if d.get("tv") is not None:
        s += f" (TV {_p(d['tv'])})"
    return s


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


# ------------------------------------------------------------------ HTML ---------------------

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#222;line-height:1.4}
h1{margin-bottom:0.2em} h2{border-bottom:1px solid #ccc;padding-bottom:0.2em;margin-top:2em}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.85em} th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#eee} .PASS{background:#c7e9c0} .FAIL{background:#fcbba1} .UNDECIDED{background:#ffeda0}
.banner{padding:0.6em 1em;font-size:1.2em;font-weight:bold;border-radius:4px} code{background:#f4f4f4;padding:0 3px}
.formula{font-family:monospace;background:#f7f7f7;padding:0.4em;display:block;white-space:pre-wrap}
figure{display:inline-block;margin:0.5em;vertical-align:top;max-width:100%} figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:0.8em;color:#555;max-width:700px} .reason{font-size:0.85em;color:#333;max-width:420px}
details{margin:0.3em 0} .finding{background:#f0f4ff;border-left:4px solid #6b8cff;padding:0.4em 0.8em;margin:0.5em 0}
"""


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return f"<em>(figure {html.escape(alt)} not drawn)</em>"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: list[str], rows: list[list[str]], cls_col: int | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for r in rows:
        cells = []
        for j, c in enumerate(r):
            cls = f' class="{html.escape(c)}"' if cls_col is not None and j == cls_col else ""
            cells.append(f"<td{cls}>{c if c.startswith('<') else html.escape(c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def to_html(payload: Mapping[str, Any], pngs: Mapping[str, bytes]) -> str:
    """The self-contained HTML report."""
    ok = payload["passed"]
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>gumbel-harness validation report</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>gumbel-harness validation report</h1>",
             f"<p>The Gumbel-max trick and the Gumbel-softmax (Concrete) relaxation, checked claim by claim "
             f"(<code>../shared/spec.md</code>) symbolically, by quadrature and by Monte Carlo with calibrated "
             f"tests; harness {e(str(payload.get('harness_version')))}.</p>",
             f"<div class='banner {'PASS' if ok else 'FAIL'}'>{'Every claim holds' if ok else 'At least one claim FAILS'}"
             f" ({sum(c['passed'] for c in payload['claims'])} of {len(payload['claims'])} claims pass)</div>",
             "<h2>Run</h2>", _table(["", ""], [[k, v] for k, v in _run_rows(payload)]),
             "<h2>Summary of the claims</h2>"]
    rows = claim_rows(payload)
    cols = list(rows[0].keys()) if rows else []
    parts.append(_table(cols, [[f"<a href='#{e(r['claim'])}'>{e(r['claim'])}</a>"] + [str(r[c]) for c in cols[1:]]
                               for r in rows], cls_col=len(cols) - 1))
    parts.append("<p>checks = statistical + deterministic. <em>min Holm p</em> is the smallest Holm-adjusted p-value; "
                 "a statistical check fails when it is at most alpha. <em>Weakest detectable effect</em>: per effect "
                 "measure, the largest of the claim's minimum detectable effects (power 0.9 at the Bonferroni level) - "
                 "every check of the claim detects at least that deviation.</p>")
    if SUMMARY_FIGURE in pngs:
        parts.append(f"<figure>{_img(pngs[SUMMARY_FIGURE], 'summary table')}</figure>")
    parts.append("<h2>Environment</h2>")
    parts.append(_table(["", ""], [[k, str(v)] for k, v in _env_rows(payload.get("environment", {}))]))

    verdicts_by_claim: dict[str, list[Mapping[str, Any]]] = {}
    for v in payload["verdicts"]:
        verdicts_by_claim.setdefault(v["claim"], []).append(v)
    figs_by_id = {f["id"]: f for f in payload["figures"]}
    finds_by_claim: dict[str, list[Mapping[str, Any]]] = {}
    for f in payload["findings"]:
        finds_by_claim.setdefault(f["claim"], []).append(f)
    for c in payload["claims"]:
        status = "PASS" if c["passed"] else "FAIL"
        parts.append(f"<h2 id='{e(c['id'])}'>{e(c['id'])}: {e(c['title'])} <span class='{status}'>&nbsp;{status}&nbsp;</span></h2>")
        parts.append(f"<p>{e(c['claim'])}</p><span class='formula'>{e(c['formula'])}</span>")
        parts.append("<p><b>Implementations:</b> " + e("; ".join(c["implementations"])) + "<br><b>Sample sizes:</b> "
                     + e(", ".join(f"{k} = {v:,}" for k, v in c["sample_sizes"].items())) + "</p>")
        for fid in c.get("figures", []):
            f = figs_by_id.get(fid)
            if f is None:
                continue
            cap = e(f.get("caption") or "")
            parts.append(f"<figure>{_img(pngs.get(fid), fid)}<figcaption>{e(fid)}. {cap}</figcaption></figure>")
        for f in finds_by_claim.get(c["id"], []):
            parts.append(f"<div class='finding'><b>Finding {e(f['id'])}: {e(f['title'])}.</b> {e(f['text'])}</div>")
        vrows = []
        for v in verdicts_by_claim.get(c["id"], []):
            st = _status(v)
            reason = e(v.get("reason", ""))
            extra = f"<details><summary>claim, seed, reproduce</summary>{e(v.get('claim_text', ''))}<br>seed {v.get('seed')}<br><code>{e(v.get('reproduce') or '')}</code></details>"
            vrows.append([e(v["check"]), e(v.get("test", "")), _stat(v.get("statistic")), _p(v.get("pvalue")),
                          _p(v.get("adjusted_pvalue")), str(v.get("n", "")), e(_power(v)),
                          f"<div class='reason'>{reason}{extra}</div>", st])
        parts.append(_table(["check", "test", "statistic", "p", "Holm p", "n", "power 0.9 / tolerance", "detail", "verdict"],
                            vrows, cls_col=8))
    mt = payload.get("mutants")
    if mt:
        ok_m = not mt["escaped"]
        parts.append(f"<h2 id='mutants'>The harness proves its power: the mutant catalogue "
                     f"<span class='{'PASS' if ok_m else 'FAIL'}'>&nbsp;{'PASS' if ok_m else 'FAIL'}&nbsp;</span></h2>")
        parts.append(f"<p>{e(mt['note'])}. {len(mt['rows'])} mutants run"
                     + (f", escaped: {e(', '.join(mt['escaped']))}" if mt["escaped"] else ", every one rejected")
                     + (f"; not run at this budget: {e(', '.join(sorted(mt['not_run'])))}" if mt["not_run"] else "")
                     + ".</p>")
        parts.append(_table(mt["columns"], [[e(str(c)) for c in r] for r in mt["rows"]]))
    parts.append("<h2>How to read this report</h2><p>Each Monte Carlo check is a hypothesis test of the claim with an "
                 "exact null law; its p-value is uniform when the implementation is correct. All statistical checks "
                 "of the run form one Holm-Bonferroni family at the stated family-wise alpha, so a correct "
                 "implementation fails a run with probability at most alpha. The power column states the smallest "
                 "deviation each check detects with probability 0.9 (Cohen's w and the matching total-variation "
                 "distance for counts, the sup-distance between CDFs for KS/AD, a mean shift for z-tests, a relative "
                 "rate for tail counts). Deterministic checks (symbolic algebra, quadrature, Jacobians) pass when "
                 "their error is within the stated tolerance. Findings are measurements of documented properties "
                 "(e.g. the float32 noise tail), not tests. The numbers behind every table and figure are in "
                 "<code>results.json</code>.</p></body></html>")
    return "\n".join(parts)


# ------------------------------------------------------------------ Markdown -----------------

def _md_table(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def to_markdown(payload: Mapping[str, Any], pngs: Mapping[str, bytes]) -> str:
    """The Markdown report (figures linked as ``figures/<id>.png``)."""
    ok = payload["passed"]
    lines = ["# gumbel-harness validation report", "",
             f"**{'Every claim holds' if ok else 'At least one claim FAILS'}** "
             f"({sum(c['passed'] for c in payload['claims'])} of {len(payload['claims'])} claims pass).", "",
             "## Run", "", _md_table(["", ""], [[k, v] for k, v in _run_rows(payload)]), "",
             "## Summary of the claims", ""]
    rows = claim_rows(payload)
    if rows:
        cols = list(rows[0].keys())
        lines += [_md_table(cols, [[str(r[c]) for c in cols] for r in rows]), ""]
    if SUMMARY_FIGURE in pngs:
        lines += [f"![summary table]({figure_path(SUMMARY_FIGURE)})", ""]
    lines += ["## Environment", "", _md_table(["", ""], [[k, str(v)] for k, v in _env_rows(payload.get("environment", {}))]), ""]
    figs_by_id = {f["id"]: f for f in payload["figures"]}
    for c in payload["claims"]:
        lines += [f"## {c['id']}: {c['title']} - {'PASS' if c['passed'] else 'FAIL'}", "", c["claim"], "",
                  f"    {c['formula']}", "",
                  f"Implementations: {'; '.join(c['implementations'])}. Sample sizes: "
                  + ", ".join(f"{k} = {v:,}" for k, v in c["sample_sizes"].items()) + ".", ""]
        for fid in c.get("figures", []):
            if fid in figs_by_id and fid in pngs:
                lines += [f"![{fid}]({figure_path(fid)})", ""]
        for f in payload["findings"]:
            if f["claim"] == c["id"]:
                lines += [f"> **Finding {f['id']}: {f['title']}.** {f['text']}", ""]
        vrows = [[v["check"], v.get("test", ""), _stat(v.get("statistic")), _p(v.get("pvalue")), _p(v.get("adjusted_pvalue")),
                  str(v.get("n", "")), _power(v), _status(v)] for v in payload["verdicts"] if v["claim"] == c["id"]]
        lines += [_md_table(["check", "test", "statistic", "p", "Holm p", "n", "power 0.9 / tolerance", "verdict"], vrows), ""]
        fails = [v for v in payload["verdicts"] if v["claim"] == c["id"] and v.get("passed") is False]
        for v in fails:
            lines += [f"- **{v['check']} FAILED**: {v.get('reason', '')} (reproduce: `{v.get('reproduce', '')}`)"]
        if fails:
            lines.append("")
    mt = payload.get("mutants")
    if mt:
        lines += ["## The harness proves its power: the mutant catalogue - "
                  + ("PASS" if not mt["escaped"] else "FAIL"), "",
                  f"{mt['note']}. {len(mt['rows'])} mutants run"
                  + (f", escaped: {', '.join(mt['escaped'])}" if mt["escaped"] else ", every one rejected")
                  + (f"; not run at this budget: {', '.join(sorted(mt['not_run']))}" if mt["not_run"] else "") + ".", "",
                  _md_table(mt["columns"], [[str(c) for c in r] for r in mt["rows"]]), ""]
    return "\n".join(lines) + "\n"


def console_table(payload: Mapping[str, Any]) -> str:
    """The claim table as plain text (printed by the command)."""
    rows = claim_rows(payload)
    cols = ["claim", "checks", "min p", "min Holm p", "alpha", "verdict", "title"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) if rows else len(c) for c in cols}
    out = ["  ".join(c.ljust(widths[c]) for c in cols)]
    out += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(out)
