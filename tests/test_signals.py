"""Ctrl-C and kills (issue 10, section 2): SIGINT stops ``report`` and ``check`` within a couple
of seconds with one line and exit status 130 (no traceback); SIGKILL of ``report`` leaves no
worker process behind. Each test runs the real command in a subprocess, bounded in time."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: long enough to be interrupted (several seconds), with a process pool of 2 workers
REPORT = ["report", "--budget", "standard", "--only", "T2,T3", "--workers", "2"]
CHECK = ["check", "--builtin", "reference-categorical", "--budget", "thorough", "--progress"]


def _start(args, tmp_path):
    env = dict(os.environ, GUMBEL_HARNESS_PROGRESS="1", PYTHONPATH=str(ROOT) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    err: list[bytes] = []
    started = threading.Event()

    def pump():
        for chunk in iter(lambda: p.stderr.read1(4096), b""):
            err.append(chunk)
            started.set()

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    assert started.wait(60), "the command never started its work"
    time.sleep(1.0)  # well inside the run (progress bars are up)
    assert p.poll() is None, "the run ended before it could be interrupted"
    return p, err, t


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("args", [REPORT, CHECK], ids=["report", "check"])
def test_sigint_stops_promptly_with_one_line_and_130(tmp_path, args):
    out = tmp_path / "out"
    p, err, t = _start(args + ["--out", str(out)], tmp_path)
    kids = _children(p.pid)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    elapsed = time.monotonic() - t0
    t.join(5)
    deadline = time.monotonic() + 5
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [k for k in kids if _alive(k)]
    for k in survivors:  # never leave them behind, even when the test fails
        os.kill(k, signal.SIGKILL)
    text = b"".join(err).decode(errors="replace")
    assert rc == 130, text[-2000:]
    assert elapsed < 3.0, elapsed
    assert "Traceback" not in text, text[-3000:]
    last = [ln for ln in text.replace("\r", "\n").splitlines() if "interrupted" in ln]
    assert len(last) == 1 and last[0].startswith("gumbel-harness"), text[-2000:]
    assert not out.exists()  # nothing half-written
    assert not survivors


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_sigkill_of_report_leaves_no_workers(tmp_path):
    p, err, t = _start(REPORT + ["--out", str(tmp_path / "out")], tmp_path)
    deadline = time.monotonic() + 30
    kids: list[int] = []
    while time.monotonic() < deadline:  # the pool's workers are up
        kids = _children(p.pid)
        if len(kids) >= 2:
            break
        time.sleep(0.1)
    assert len(kids) >= 2, kids
    time.sleep(2.0)  # the workers are through their initializer (they bind to the parent there)
    kids = _children(p.pid)
    p.kill()
    p.wait(timeout=10)
    deadline = time.monotonic() + 10  # generous on a loaded machine; typically < 0.2 s
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [k for k in kids if _alive(k)]
    for k in survivors:  # do not leave them behind even when the test fails
        os.kill(k, signal.SIGKILL)
    assert not survivors
