"""``gumbel-harness report`` end to end: one quick-budget run shared by the tests of this module
(also across pytest-xdist workers, through a lock in the session's temporary directory), plus
cheap ``--only`` runs for reproducibility, selection and errors, and the atomic writer."""
from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.experiments import CLAIM_ORDER, all_experiments
from harness.report.runner import reproducible_view
from harness.report.writer import TMP_PREFIX, default_out_dir, write_atomic

CLAIMS = [e.id for e in all_experiments()]


def _run(tmp_path: Path, name: str, *args: str) -> tuple[int, Path]:
    out = tmp_path / name
    rc = main(["report", "--budget", "quick", "--out", str(out), "--no-progress", *args])
    return rc, out


# ------------------------------------------------------------------ the quick run ------------

def test_reference_passes_with_exit_code_zero(quick_report, results):
    _, rc = quick_report
    failed = [v["check"] for v in results["verdicts"] if not v["passed"]]
    assert rc == 0, failed
    assert results["passed"] is True and not failed


def test_report_files(quick_report, results):
    out, _ = quick_report
    for name in ("index.html", "report.md", "results.json", "figures/summary.png"):
        assert (out / name).is_file(), name
    for f in results["figures"]:
        png = out / "figures" / f"{f['id']}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f["id"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_html_is_self_contained_and_names_every_claim(quick_report, results):
    html = (quick_report[0] / "index.html").read_text()
    for cid in CLAIM_ORDER:
        assert f'id="{cid}"' in html, cid
        assert f">{cid}</a>" in html, cid  # row of the summary table
    for v in results["verdicts"]:
        assert v["check"] in html
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == len(results["figures"]) + 1  # + the summary table
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in imgs)
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # nothing external
    assert "Holm" in html and "family-wise alpha" in html


def test_markdown_links_existing_figures(quick_report):
    out = quick_report[0]
    md = (out / "report.md").read_text()
    links = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert links and all((out / link).is_file() for link in links)
    for cid in CLAIM_ORDER:
        assert f"## {cid}:" in md


def test_results_json_has_every_verdict(results):
    claims = {c["id"]: c for c in results["claims"]}
    assert list(claims) == CLAIMS
    assert len(results["verdicts"]) == sum(c["n_checks"] for c in claims.values())
    checks = [v["check"] for v in results["verdicts"]]
    assert len(checks) == len(set(checks))
    fam = results["family"]
    assert fam["m"] == fam["planned_m"] == sum(1 for v in results["verdicts"] if v["pvalue"] is not None)
    assert fam["alpha"] == results["budget"]["alpha"]
    for v in results["verdicts"]:
        assert v["claim"] in claims and v["alpha"] == fam["alpha"]
        if v["pvalue"] is not None:  # statistic, p-value, n and a power statement
            assert v["statistic"] is not None and 0 <= v["pvalue"] <= 1 and v["n"] > 0
            assert v["adjusted_pvalue"] >= v["pvalue"]
            d = v["detectable"]
            if d is None:  # no distribution-free power figure for A^2 (its KS companion has one)
                assert "Anderson-Darling" in v["test"]
            else:
                assert d["power"] == 0.9 and d["level"] == pytest.approx(fam["power_level"])
            assert "--only " + v["check"].split(".")[0] in v["reproduce"]
        else:  # deterministic: a tolerance
            assert v["tolerance"] is not None
    for key in ("python", "platform", "cpu", "cpu_count", "gpu", "packages"):
        assert key in results["environment"]
    for pkg in ("numpy", "scipy", "torch"):
        assert results["environment"]["packages"][pkg] != "not installed"
    assert results["seed"] == 0 and results["budget"]["name"] == "quick"
    assert results["run"]["wall_seconds"] > 0


def test_planned_family_matches_each_experiment(results):
    from harness.core.context import RunContext
    from harness.core.budgets import get_budget

    ctx = RunContext(budget=get_budget("quick"))
    for c in results["claims"]:
        from harness.experiments import get

        assert c["n_statistical"] == get(c["id"]).planned(ctx), c["id"]


def test_deterministic_checks_pass(results):
    det = [v for v in results["verdicts"] if v["pvalue"] is None]
    assert all(v["passed"] for v in det), [v["check"] for v in det if not v["passed"]]
    names = {v["check"] for v in det}
    for prefix in ("T1.symbolic.integral", "T1.symbolic.exponent_2", "T1.quad.k1000_random", "T1.quad.k5_gaps30",
                   "C1.normalisation.k3_T1", "C1.torch_log_prob.k3", "G1.gradcheck.T1", "C5.exact_ratio"):
        assert prefix in names, prefix


def test_figure_data_and_findings(results):
    figs = {f["id"]: f for f in results["figures"]}
    for fid in ("T1.mc.peaked.counts", "T2.ecdf", "C5.one_minus_max", "C5.ratio", "G3.variance", "G3.bias", "N.tail"):
        assert fid in figs, fid
    sweep = figs["C5.one_minus_max"]["data"]
    assert len(sweep["x"]) == len(sweep["series"][0]["y"]) >= 5
    assert figs["G3.variance"]["data"]["fit"]["slope"] < -0.8
    finds = {f["id"]: f for f in results["findings"]}
    n = finds["N.float32_tail"]["data"]
    assert n["float32_max"] <= n["float32_cap"] + 1e-6


# ------------------------------------------------------------------ cheap --only runs --------

def test_same_seed_same_numbers_whatever_the_workers(tmp_path, results):
    rc1, a = _run(tmp_path, "a", "--only", "T3,C4", "--seed", "0", "--workers", "1")
    rc2, b = _run(tmp_path, "b", "--only", "T3", "--only", "C4", "--seed", "0", "--workers", "2")
    assert rc1 == rc2 == 0
    ja, jb = (json.loads((d / "results.json").read_text()) for d in (a, b))
    assert reproducible_view(ja) == reproducible_view(jb)
    # a check re-run alone has the statistic and p-value it had in the full run
    full = {v["check"]: v for v in results["verdicts"]}
    for v in ja["verdicts"]:
        assert v["statistic"] == full[v["check"]]["statistic"]
        assert v["pvalue"] == full[v["check"]]["pvalue"]
    rc3, c = _run(tmp_path, "c", "--only", "C4", "--seed", "1", "--workers", "1")
    jc = json.loads((c / "results.json").read_text())
    stats = lambda j: [v["statistic"] for v in j["verdicts"] if v["claim"] == "C4"]  # noqa: E731
    assert rc3 == 0 and stats(jc) != stats(ja)


@pytest.mark.dask
def test_dask_scheduler_gives_the_same_numbers(tmp_path, results):
    """--scheduler local spreads T1's streaming counts over a Dask LocalCluster: same numbers."""
    pytest.importorskip("distributed")
    rc, out = _run(tmp_path, "dask", "--only", "T1.mc.k1000,T1.mc.literal_argmax", "--scheduler", "local")
    assert rc == 0
    got = {v["check"]: (v["statistic"], v["pvalue"]) for v in json.loads((out / "results.json").read_text())["verdicts"]}
    assert set(got) == {"T1.mc.k1000", "T1.mc.literal_argmax"}
    full = {v["check"]: (v["statistic"], v["pvalue"]) for v in results["verdicts"]}
    assert all(got[c] == full[c] for c in got)


def test_only_a_check_id(tmp_path):
    rc, out = _run(tmp_path, "one", "--only", "T5.k4_full", "--workers", "1")
    j = json.loads((out / "results.json").read_text())
    assert rc == 0
    assert [v["check"] for v in j["verdicts"]] == ["T5.k4_full"]
    assert j["family"]["m"] == 1 and [c["id"] for c in j["claims"]] == ["T5"]


def test_usage_errors_exit_2(tmp_path, capsys):
    rc, out = _run(tmp_path, "x", "--only", "X9")
    assert rc == 2 and not out.exists()
    assert "no experiment" in capsys.readouterr().err
    rc, out = _run(tmp_path, "y", "--only", "T5.no_such_check", "--workers", "1")
    assert rc == 2 and not out.exists()
    assert main(["report", "--budget", "nope"]) == 2


def test_failing_claim_exits_1(tmp_path, monkeypatch):
    """A claim that fails (here: an experiment that crashes) makes the exit status 1 and is named."""
    from dataclasses import replace

    from harness.experiments import get
    from harness.experiments.base import REGISTRY

    def broken(ctx):
        raise RuntimeError("simulated defect")

    monkeypatch.setitem(REGISTRY, "T5", replace(get("T5"), run=broken))
    rc, out = _run(tmp_path, "bad", "--only", "T5", "--workers", "1")
    j = json.loads((out / "results.json").read_text())
    assert rc == 1 and j["passed"] is False
    assert "simulated defect" in j["verdicts"][0]["reason"]
    assert "FAIL" in (out / "index.html").read_text()


@pytest.mark.slow
def test_full_report_carries_the_mutant_table(full_quick_report):
    """A full run checks the mutant catalogue: every mutant the budget allows is rejected by the
    checks its catalogue entry names, and the table is in the JSON, the HTML and the Markdown."""
    from harness.mutants.catalogue import MUTANTS

    out, _, results = full_quick_report
    mt = results["mutants"]
    col = {c: i for i, c in enumerate(mt["columns"])}
    names = [r[col["mutant"]] for r in mt["rows"]]
    assert mt["escaped"] == []
    assert set(names) | set(mt["not_run"]) == set(MUTANTS)
    assert set(mt["not_run"]) == {m.name for m in MUTANTS.values() if m.budget == "thorough"}
    for r in mt["rows"]:
        assert r[col["rejected"]] == "yes", r
        expected = r[col["expected"]].split(", ")
        caught = r[col["caught by"]].split(", ")
        assert all(any(c.startswith(e) for e in expected) for c in caught), r
    html_text = (out / "index.html").read_text()
    md_text = (out / "report.md").read_text()
    for name in names:
        assert name in html_text and name in md_text
    # the blind-spot line and the table's "not run" list count the same mutants
    n = len(mt["not_run"])
    assert f"cannot see {n} known bug{'s' if n != 1 else ''}" in md_text


def test_an_escaped_mutant_fails_the_report(tmp_path, monkeypatch):
    """If the harness lost its power (a mutant passes), the report says so and exits 1."""
    from harness.report import runner

    def table(budget, seed, show_progress=None):
        return {"note": "simulated", "columns": ["mutant", "rejected"], "rows": [["m_escaped", "NO"]],
                "escaped": ["m_escaped"], "not_run": {}}

    monkeypatch.setattr(runner, "mutant_table", table)
    # a full run is needed for the mutant table; keep it cheap by restricting the registry to T5
    from harness.experiments.base import REGISTRY

    for key in [k for k in REGISTRY if k != "T5"]:
        monkeypatch.delitem(REGISTRY, key)
    rc, out = _run(tmp_path, "esc", "--workers", "1")
    j = json.loads((out / "results.json").read_text())
    assert rc == 1 and j["passed"] is False
    assert all(c["passed"] for c in j["claims"])
    assert j["mutants"]["escaped"] == ["m_escaped"]
    assert "m_escaped" in (out / "index.html").read_text()


# ------------------------------------------------------------------ atomic writing -----------

class _Crash(Exception):
    pass


class _CrashingFiles(dict):
    """A file mapping whose iteration dies after the first file has been written."""

    def items(self):
        it = iter(list(super().items()))
        yield next(it)
        raise _Crash("disk full")


def test_crash_mid_write_leaves_no_report(tmp_path):
    out = tmp_path / "rep"
    with pytest.raises(_Crash):
        write_atomic(out, _CrashingFiles({"a.txt": "1", "figures/b.png": b"2", "c.txt": "3"}))
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary directory is gone too


def test_crash_keeps_the_previous_report_and_success_replaces_it(tmp_path):
    out = tmp_path / "rep"
    write_atomic(out, {"results.json": "old", "figures/x.png": b"x"})
    with pytest.raises(_Crash):
        write_atomic(out, _CrashingFiles({"results.json": "new", "index.html": "new"}))
    assert (out / "results.json").read_text() == "old"
    write_atomic(out, {"results.json": "new"})
    assert (out / "results.json").read_text() == "new" and not (out / "figures").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_crash_while_rendering_leaves_no_report(tmp_path, monkeypatch):
    import harness.report.render as render

    monkeypatch.setattr(render, "to_markdown", lambda *a, **k: (_ for _ in ()).throw(_Crash("render")))
    with pytest.raises(_Crash):
        _run(tmp_path, "r", "--only", "T5.k4_full", "--workers", "1")
    assert not (tmp_path / "r").exists() and list(tmp_path.iterdir()) == []


def test_writer_rejects_escaping_paths(tmp_path):
    with pytest.raises(ValueError):
        write_atomic(tmp_path / "r", {"../evil.txt": "x"})
    assert not (tmp_path / "evil.txt").exists() and list(tmp_path.iterdir()) == []


def test_default_out_dir_is_timestamped_and_unique(tmp_path):
    from datetime import datetime, timezone

    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = default_out_dir(tmp_path, now)
    assert first.name == "20250102-030405"
    first.mkdir()
    assert default_out_dir(tmp_path, now).name == "20250102-030405-2"


# ------------------------------------------------------------------ heavier ------------------

@pytest.mark.slow
def test_standard_budget_report(tmp_path):
    rc = main(["report", "--budget", "standard", "--out", str(tmp_path / "std"), "--no-progress"])
    j = json.loads((tmp_path / "std" / "results.json").read_text())
    assert rc == 0, [v["check"] for v in j["verdicts"] if not v["passed"]]
