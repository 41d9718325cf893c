"""Smoke run of ``benchmarks/run.py`` at minimal sizes: it runs, writes valid JSON with the
expected keys and a Markdown table, and its ratios are positive. Nothing here is timed."""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "run.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("gumbel_bench_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--no-commands", "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_smoke_writes_json_and_markdown(smoke):
    out, proc = smoke
    data = json.loads((out / "bench.json").read_text())
    assert {"schema", "created", "machine", "settings", "targets", "throughput", "memory",
            "commands"} <= set(data)
    assert data["settings"]["smoke"] is True
    cores = data["machine"]["cores"]
    cells = {(c["K"], c["dtype"], c["workers"]) for c in data["throughput"]}
    assert cells == {(k, dt, w) for k in (10, 1000) for dt in ("float32", "float64")
                     for w in {1, cores}}
    for c in data["throughput"]:
        assert set(c["samples_per_s"]) == {"counts", "choice", "exp_floor"}
        for key in ("ratio_vs_floor", "ratio_vs_choice", "exp_per_s_floor"):
            assert math.isfinite(c[key]) and c[key] > 0, (key, c)
        assert all(v > 0 for v in c["samples_per_s"].values())
    assert data["memory"], "no memory run"
    for m in data["memory"]:
        assert m["status"] == "ok", m
        assert m["K"] == 10 and m["peak_rss_mb"] > 0 and m["tracemalloc_peak_mb"] >= 0
        assert isinstance(m["ok"], bool)
    names = [c["name"] for c in data["commands"]]
    assert len(names) == 3 and all(c["status"] == "skipped" for c in data["commands"])
    md = (out / "bench.md").read_text()
    assert "counts / floor" in md and "Peak memory" in md and "Wall times" in md
    assert "counts / floor" in proc.stdout


def test_failing_command_is_recorded_as_unavailable(tmp_path):
    bench = _load_script()
    res = bench.run_command("fails", [sys.executable, "-c", "raise SystemExit('no such cmd')"],
                            timeout=60, cwd=tmp_path)
    assert res["status"] == "unavailable" and "no such cmd" in res["error"]
    assert res["returncode"] == 1
    res = bench.run_command("missing", [str(tmp_path / "does-not-exist")], timeout=60)
    assert res["status"] == "unavailable" and "Error" in res["error"]
    res = bench.run_command("slow", [sys.executable, "-c", "import time; time.sleep(30)"],
                            timeout=0.5)
    assert res["status"] == "unavailable" and "timed out" in res["error"]
    res = bench.run_command("ok", [sys.executable, "-c", "print('fine')"], timeout=60)
    assert res["status"] == "ok" and res["wall_s"] >= 0


def test_commands_are_the_documented_ones(tmp_path):
    bench = _load_script()
    argvs = [" ".join(argv[1:]) for _, argv, _ in bench.commands(tmp_path)]
    assert "-m harness report --budget standard" in argvs[0]
    assert "check torch.nn.functional:gumbel_softmax --kind torch --budget standard" in argvs[1]
    assert "-m pytest -n auto" in argvs[2]


@pytest.mark.slow
def test_isolation_benchmark_smoke(tmp_path):
    """``benchmarks/isolation.py`` at the quick budget: writes JSON and Markdown with positive ratios."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "isolation.py"), "--budget", "quick",
                           "--repeats", "1", "--targets", "reference-categorical", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads((tmp_path / "isolation.json").read_text())["rows"][0]
    assert row["ratio_cold_vs_none"] > 0 and row["ratio_warm_vs_none"] > 0
    assert "process / none" in (tmp_path / "isolation.md").read_text()
