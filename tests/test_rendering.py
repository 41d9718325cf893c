"""One rendering path (issue 10, section 4): Jinja2 templates escape every value once (HTML) or
through the Markdown filters; target-controlled names cannot inject HTML or break tables; the
checker documents show the law and the contract apart; effects are named in words; a budget's
blind spot is stated with the command that can see it; the repository is self-contained."""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.output.rendering import md_code, md_escape, md_table

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert('x')</script> | `tick` *bold* [link](http://e.vil)"


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rendering") / "rep"
    rc = main(["report", "--budget", "quick", "--only", "T2.ks.k5", "--no-progress", "--workers", "1",
               "--out", str(out)])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def hostile_result():
    from harness.checker.api import check_sampler
    from harness.checks.samplers import reference_categorical

    return check_sampler(reference_categorical, "categorical", budget="quick", only=["T1.law.power"],
                         name=HOSTILE, probes=True, adversarial=False)


def _pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


# ------------------------------------------------------------------ escaping ------------------

def test_html_is_escaped_exactly_once(small_report):
    html = (small_report / "index.html").read_text()
    assert "&amp;gt;" not in html and "&amp;lt;" not in html and "&amp;amp;" not in html
    assert "&lt;=" in html  # the reasons' "<=" is escaped once


def test_markdown_filters():
    assert md_escape("<b>") == "&lt;b&gt;"
    assert md_escape("a|b") == "a\\|b" and md_escape("x\ny") == "x y"
    assert md_escape("cat_bf16_logits") == "cat_bf16_logits" and md_escape("_x_") == "\\_x\\_"
    assert md_code("a ` b") == "``a ` b``" and md_code("p|q") == "`p\\|q`"
    table = md_table((["a", "b"], [["x|y", "<i>"]])).splitlines()
    assert all(_pipes(line) == 3 for line in table)


def test_hostile_target_name_cannot_inject_html_or_break_tables(hostile_result):
    from harness.output.documents import html_report, markdown_report

    html = html_report(hostile_result)
    md = markdown_report(hostile_result)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>" not in md
    for block in md.split("\n\n"):
        rows = [ln for ln in block.splitlines() if ln.startswith("|")]
        if rows:
            assert len({_pipes(r) for r in rows}) == 1, rows


def test_no_hand_concatenated_html_in_python():
    offenders = []
    for path in (ROOT / "harness").rglob("*.py"):
        text = path.read_text()
        for tag in ("<td", "<table", "<html", "<h2", "<tr>"):
            if tag in text:
                offenders.append(f"{path.relative_to(ROOT)}: {tag}")
    assert not offenders, offenders


def test_templates_are_package_data():
    tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = conf["tool"]["setuptools"]["package-data"]["harness.output"]
    assert any(d.lower().startswith("jinja2") for d in conf["project"]["dependencies"])
    templates = sorted((ROOT / "harness" / "output" / "templates").iterdir())
    assert templates
    for t in templates:
        assert any(t.match(g) for g in globs), t.name


# ------------------------------------------------------------------ content -------------------

def test_check_documents_show_law_and_contract_apart(hostile_result):
    from harness.output.documents import html_report, markdown_report

    md = markdown_report(hostile_result)
    assert "## Law" in md and "## Contract" in md and md.index("## Law") < md.index("## Contract")
    assert "**Law**: the sampling law holds" in md
    html = html_report(hostile_result)
    assert "<h2>Law" in html and "<h2>Contract" in html


def test_effects_in_words_and_certificates(hostile_result):
    from harness.output.documents import html_report, markdown_report

    class Cert:
        def describe(self):
            return "TV(target, claimed) <= 0.0042 at 99% confidence"

    md = markdown_report(hostile_result)
    assert "detectable TV distance" in md and "cohen_w" not in md
    v = hostile_result.verdicts[0]
    object.__setattr__(v, "bound", Cert())  # the field engineer "stats" adds
    try:
        assert "TV(target, claimed) &lt;= 0.0042 at 99% confidence" in html_report(hostile_result)
    finally:
        object.__delattr__(v, "bound")


def test_summary_columns_a_reader_understands(small_report):
    html = (small_report / "index.html").read_text()
    md = (small_report / "report.md").read_text()
    for text in (html, md):
        assert "min Holm p" not in text and "ks_sup_distance" not in text and "cohen_w" not in text
        assert "smallest p (level needed)" in text and "sup-distance between CDFs" in text
        assert "Holm needs" in text


def test_report_cites_files_in_the_repository(small_report):
    for text in ((small_report / "index.html").read_text(), (small_report / "report.md").read_text(),
                 (ROOT / "README.md").read_text()):
        assert "../shared" not in text and "seed's proof" not in text
    assert "docs/spec.md" in (small_report / "index.html").read_text()
    for name in ("spec.md", "bugs.md", "seed.md"):
        assert (ROOT / "docs" / name).is_file()
    readme = (ROOT / "README.md").read_text()
    assert "docs/spec.md" in readme and "docs/bugs.md" in readme


def test_budget_blind_spot_is_stated_with_the_command(small_report, capsys):
    from harness.report.render import to_markdown

    payload = json.loads((small_report / "results.json").read_text())
    payload["claims"][0]["id"] = "N"  # a claim whose tail bug classes need the thorough budget
    md = to_markdown(payload, {})
    lines = [ln for ln in md.splitlines() if "cannot see" in ln]
    assert len(lines) == 1 and "gumbel-harness report --budget thorough" in lines[0]
    assert main(["check", "--builtin", "reference-noise", "--budget", "quick", "--only", "N.law",
                 "--no-probes"]) == 0
    out = [ln for ln in capsys.readouterr().out.splitlines() if "cannot see" in ln]
    assert len(out) == 1 and "--budget thorough" in out[0] and "N.tail" in out[0]


# ------------------------------------------------------------------ figures -------------------

def _axes_of(fig_dict):
    """Draw a figure dict onto a fresh Agg axes (as figures.render does) and return the axes."""
    from harness.report import figures

    fig = figures._new()
    ax = fig.add_subplot(1, 1, 1)
    figures._DRAW[fig_dict["kind"]](ax, fig_dict["data"])
    return ax


def test_count_plot_shows_standardized_residuals_with_bands():
    obs, exp = [110, 90, 100, 0], [100.0, 100.0, 100.0, 0.0]
    ax = _axes_of({"kind": "counts", "data": {"observed": obs, "expected": exp, "labels": ["a", "b", "c", "d"]}})
    assert "residual" in ax.get_ylabel() and ax.get_xlabel()
    ys = sorted(y for line in ax.get_lines() for y in line.get_ydata() if abs(y) not in (0,))
    assert any(abs(y - 1.0) < 1e-9 for y in ys) and any(abs(y + 1.0) < 1e-9 for y in ys)  # (110-100)/10
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("+-2" in t for t in labels) and any("simultaneous" in t for t in labels)


def test_ecdf_plot_is_a_difference_with_a_dkw_band():
    from harness.report.figures import dkw_halfwidth

    n = 20000
    x = [float(v) for v in range(10)]
    y = [(i + 1) / n for i in range(10)]
    ax = _axes_of({"kind": "ecdf", "data": {"series": [{"label": "s", "x": x, "y": y, "exact": [0.0] * 10}]}})
    assert "ECDF - exact CDF" in ax.get_ylabel()
    eps = dkw_halfwidth(n)
    assert abs(eps - (math.log(2 / 0.01) / (2 * n)) ** 0.5) < 1e-15
    segs = [c for c in ax.collections if hasattr(c, "get_segments")]
    levels = {round(float(seg[0][1]), 12) for c in segs for seg in c.get_segments()}
    assert round(eps, 12) in levels and round(-eps, 12) in levels
    assert any("DKW" in t.get_text() for t in ax.get_legend().get_texts())


def test_tail_plot_has_clopper_pearson_error_bars():
    from scipy.stats import binomtest

    from harness.report.figures import clopper_pearson

    lo, hi = clopper_pearson([0, 5], 1000)
    ci = binomtest(5, 1000).proportion_ci(0.95, method="exact")
    assert lo[0] == 0 and abs(lo[1] - ci.low) < 1e-12 and abs(hi[1] - ci.high) < 1e-12
    ax = _axes_of({"kind": "sweep", "data": {"x": [1, 2, 3], "logy": True, "xlabel": "t", "ylabel": "P",
                                              "series": [{"label": "rate", "y": [0.01, 0.005, 0.0],
                                                          "hits": [10, 5, 0], "n": 1000}]}})
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Clopper-Pearson" in t for t in texts) and any("upper bound" in t for t in texts)


def test_report_shows_certificates_when_verdicts_carry_them(small_report):
    from harness.report.render import to_html, to_markdown

    payload = json.loads((small_report / "results.json").read_text())
    payload["verdicts"][0]["bound"] = {"measure": "sup-distance", "value": 0.0123, "confidence": 0.99, "note": ""}
    md, html = to_markdown(payload, {}), to_html(payload, {})
    assert "| certificate |" in md and "0.0123" in md
    assert "certificate:" in html and "0.0123" in html
