"""``--out`` never loses or corrupts a user's files (issue 10, section 2): the tool replaces only
directories it marked, refuses anything else with exit status 2 before any work, replaces in one
atomic step and cleans the debris of killed runs; ``check --out`` writes its files as one unit."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.output.outdir import MARKER, OutDirError, check_out, tmp_prefix, write_atomic

REPORT = ["report", "--budget", "quick", "--only", "T2.ks.k5", "--no-progress", "--workers", "1"]
CHECK = ["check", "--builtin", "reference-noise", "--budget", "quick", "--only", "N.law", "--no-probes"]


def _no_work(monkeypatch):
    """Make any run of the experiments or the checker an error: refusals must come first."""
    import harness.checker.api as api
    import harness.report.runner as runner

    def boom(*a, **k):
        raise AssertionError("the run started before --out was validated")

    monkeypatch.setattr(runner, "run_report", boom)
    monkeypatch.setattr("harness.report.runner.run_report", boom)
    monkeypatch.setattr(api, "check_sampler", boom)


# ------------------------------------------------------------------ refusals -----------------

@pytest.mark.parametrize("cmd", [REPORT, CHECK], ids=["report", "check"])
def test_foreign_directory_is_refused_and_kept(tmp_path, cmd, capsys, monkeypatch):
    d = tmp_path / "d"
    d.mkdir()
    (d / "thesis.tex").write_text("x")
    _no_work(monkeypatch)
    assert main(cmd + ["--out", str(d)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing" in err[0] and "Traceback" not in err[0]
    assert (d / "thesis.tex").read_text() == "x" and sorted(p.name for p in d.iterdir()) == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize("cmd", [REPORT, CHECK], ids=["report", "check"])
def test_existing_file_is_refused_and_kept(tmp_path, cmd, capsys, monkeypatch):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    _no_work(monkeypatch)
    assert main(cmd + ["--out", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a directory" in err[0]
    assert f.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("place", ["/proc/gumbel-harness-x", "/proc/self/status/x", "FILE/sub"])
def test_unwritable_places_are_refused_in_one_line(tmp_path, place, capsys, monkeypatch):
    if place.startswith("FILE"):
        (tmp_path / "FILE").write_text("x")
        place = str(tmp_path / place)
    _no_work(monkeypatch)
    assert main(REPORT + ["--out", place]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gumbel-harness report: error:") and "cannot write" in err[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_parent_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutDirError, match="cannot write"):
            check_out(ro / "rep")
    finally:
        ro.chmod(0o755)


def test_read_only_file_system_is_refused(tmp_path, monkeypatch):
    """(Root ignores directory permissions, so the EROFS of a read-only mount is simulated.)"""
    import errno

    def ro(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path))

    monkeypatch.setattr("harness.output.outdir.tempfile.mkdtemp", ro)
    with pytest.raises(OutDirError, match="cannot write there .Read-only file system"):
        check_out(tmp_path / "rep")


def test_missing_parents_are_created(tmp_path):
    out = check_out(tmp_path / "a" / "b" / "rep")
    assert out.parent.is_dir() and not out.exists()


# ------------------------------------------------------------------ replacement --------------

def test_report_marks_its_directory_and_replaces_only_it(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(REPORT + ["--out", str(out)]) == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["tool"] == "gumbel-harness" and marker["kind"] == "report"
    assert "index.html" in marker["files"] and "results.json" in marker["files"]
    (out / "stale.txt").write_text("old")  # the old report's content disappears with it
    assert main(REPORT + ["--out", str(out)]) == 0
    assert not (out / "stale.txt").exists() and (out / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_empty_directory_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    write_atomic(out, {"a.txt": "1"})
    assert (out / "a.txt").read_text() == "1" and (out / MARKER).is_file()


def test_debris_of_a_killed_run_is_cleaned_but_foreign_files_are_not(tmp_path):
    out = tmp_path / "rep"
    write_atomic(out, {"a.txt": "1"})
    # a killed writer left its temporary directory (marked, pid long gone) ...
    dead = tmp_path / (tmp_prefix(out) + "dead")
    dead.mkdir()
    (dead / MARKER).write_text(json.dumps({"tool": "gumbel-harness", "pid": 2**22 + 12345}))
    (dead / "half.html").write_text("<html")
    # ... and a user's directory that merely looks similar
    foreign = tmp_path / (tmp_prefix(out) + "mine")
    foreign.mkdir()
    (foreign / "data.csv").write_text("1,2")
    write_atomic(out, {"a.txt": "2"})
    assert not dead.exists() and (foreign / "data.csv").read_text() == "1,2"
    assert (out / "a.txt").read_text() == "2"


def test_a_kill_at_any_step_leaves_old_or_new(tmp_path, monkeypatch):
    """Simulate a kill (an exception that skips all cleanup) at each rename/exchange step: the
    target is always a complete report, the old one or the new one."""
    import harness.output.outdir as od

    out = tmp_path / "rep"
    write_atomic(out, {"v.txt": "old"})

    class Killed(BaseException):
        pass

    real_rmtree = od.shutil.rmtree
    for step in ("exchange", "rmtree"):
        def exchange(a, b, _step=step):
            if _step == "exchange":
                raise Killed()
            return real_exchange(a, b)

        def rmtree(p, *a, _step=step, **k):
            if _step == "rmtree" and Path(p).name.startswith(tmp_prefix(out)):
                raise Killed()
            return real_rmtree(p, *a, **k)

        real_exchange = od._exchange
        monkeypatch.setattr(od, "_exchange", exchange)
        monkeypatch.setattr(od.shutil, "rmtree", rmtree)
        with pytest.raises(Killed):
            write_atomic(out, {"v.txt": f"new-{step}"})
        monkeypatch.setattr(od, "_exchange", real_exchange)
        monkeypatch.setattr(od.shutil, "rmtree", real_rmtree)
        assert (out / "v.txt").read_text() in ("old", "new-exchange", "new-rmtree")
        assert (out / MARKER).is_file()
    # the debris of the "killed" attempts carries our pid: a later run (another pid) cleans it
    for p in tmp_path.iterdir():
        if p.name != "rep":
            m = json.loads((p / MARKER).read_text())
            m["pid"] = 2**22 + 4321
            (p / MARKER).write_text(json.dumps(m))
    write_atomic(out, {"v.txt": "final"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_renameat2_exchange_is_used_on_linux(tmp_path):
    import sys

    import harness.output.outdir as od

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux only")
    assert od._exchange(a, b) is True
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


# ------------------------------------------------------------------ check --out as one unit ---

def test_check_out_is_one_unit(tmp_path, monkeypatch):
    """A failed write of a check keeps the previous JSON, Markdown and HTML together (no new JSON
    next to stale HTML)."""
    import harness.output.documents as docs

    out = tmp_path / "c"
    assert main(CHECK + ["--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert MARKER in before and any(n.endswith(".html") for n in before)

    def broken(res):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(docs, "html_report", broken)
    res = docs_result()
    with pytest.raises(OSError):
        docs.write_single(res, out)
    monkeypatch.undo()
    real = os.fsync

    def full_disk(fd):  # the disk fills up while the files are written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("harness.output.outdir.os.fsync", full_disk)
    with pytest.raises(OutDirError, match="No space left"):
        docs.write_single(res, out)
    monkeypatch.setattr("harness.output.outdir.os.fsync", real)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def docs_result():
    from harness.checker.api import check_sampler

    return check_sampler("reference-noise", budget="quick", only=["N.law"], probes=False, adversarial=False)


def test_check_out_replaces_an_earlier_check(tmp_path):
    out = tmp_path / "c"
    assert main(CHECK + ["--out", str(out)]) == 0
    t0 = json.loads((out / MARKER).read_text())["written_utc"]
    time.sleep(1.1)
    assert main(CHECK + ["--out", str(out)]) == 0
    assert json.loads((out / MARKER).read_text())["written_utc"] != t0
