"""``gumbel-harness check``: exit statuses, --json, --out (JSON + Markdown + HTML), --builtin,
--mutant, the conformance matrix."""
from __future__ import annotations

import json

from harness.core.budgets import get_budget
from harness.kinds import plan_for

import pytest

from harness.cli import main


def test_conforming_target_exits_0(capsys):
    rc = main(["check", "harness.checks.samplers:reference_categorical", "--kind", "categorical", "--budget", "quick",
               "--only", "T1.law.power,T1.pairs"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "law HOLDS" in out and "exit status 0" in out and "T1.law.power" in out and "power" in out


def test_rejected_target_exits_1_with_explanations(capsys):
    rc = main(["check", "--mutant", "cat_probs_as_logits", "--budget", "quick"])
    out = capsys.readouterr().out
    assert rc == 0  # --mutant: exit 0 means the mutant was rejected
    assert "law REJECTED" in out and "FAIL T1.law.power" in out
    rc = main(["check", "harness.mutants.catalogue:MUTANTS", "--kind", "categorical"])  # a dict, not callable
    assert rc == 2


def test_broken_target_by_path_exits_1(capsys, tmp_path, monkeypatch):
    mod = tmp_path / "brokenmod.py"
    mod.write_text("import numpy as np\n"
                   "def sample(logits, n, seed):\n    return np.zeros(n, dtype=np.int64)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["check", "brokenmod:sample", "--kind", "categorical", "--budget", "quick", "--only", "T1.law.power",
               "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 1 and "FAIL T1.law.power" in out
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [".gumbel-harness-report", "check-brokenmod_sample.html", "check-brokenmod_sample.json",
                     "check-brokenmod_sample.md"]
    data = json.loads((tmp_path / "out" / "check-brokenmod_sample.json").read_text())
    assert data["passed"] is False and data["caught_by"][0]["check"] == "T1.law.power"
    html = (tmp_path / "out" / "check-brokenmod_sample.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "<table>" in html


@pytest.mark.parametrize("argv", [
    ["check"],
    ["check", "no_such_mod_q:f", "--kind", "categorical"],
    ["check", "numpy:sum"],
    ["check", "--builtin", "nope"],
    ["check", "--mutant", "nope"],
    ["check", "a:b", "--builtin", "numpy-choice"],
    ["check", "harness.checks.samplers:reference_categorical", "--kind", "banana"],
    ["check", "harness.checks.samplers:reference_categorical", "--kind", "categorical", "--only", "Z9"],
    ["check", "--builtin", "numpy-choice", "--budget", "huge"],
])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2


def test_json_output(capsys):
    rc = main(["check", "--builtin", "reference-noise", "--budget", "quick", "--json", "--no-probes"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and data["kind"] == "noise" and data["passed"] and data["family_size"] == sum(
        c.size for c in plan_for("noise", get_budget("quick")))


def test_builtin_all_writes_matrix(monkeypatch, tmp_path, capsys):
    import harness.targets.loading as tg

    subset = {k: tg.BUILTINS[k] for k in ("reference-categorical", "numpy-gumbel")}
    subset["needs-missing"] = tg.BuiltinTarget("needs-missing", "noise", "x", lambda: None,
                                               requires=("no_such_pkg_zz",))
    monkeypatch.setattr(tg, "BUILTINS", subset)
    rc = main(["check", "--builtin", "all", "--budget", "quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "reference-categorical" in out and "skipped" in out and "mismatches: 0" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    md = (tmp_path / "conformance.md").read_text()
    assert "| target | kind |" in md and "needs-missing" in md and "T1.law" in md and "N.law" in md
    assert "<table>" in (tmp_path / "conformance.html").read_text()
    data = json.loads((tmp_path / "conformance.json").read_text())
    assert len(data["results"]) == 2 and "needs-missing" in data["skipped"]


def test_list(capsys):
    assert main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    assert "torch-gumbel-softmax" in out and "cat_bits24" in out and "G4.st.f64" in out
