"""Shared fixtures. CUDA tests are marked ``cuda`` and skip cleanly without a device."""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("GUMBEL_HARNESS_PROGRESS", "0")
# The suite runs 2+ processes per core (xdist workers, the supervised workers, the report's pool):
# one BLAS / OpenMP thread per process avoids oversubscribing the cores (the numbers do not
# depend on it: tests/test_behaviour_snapshot.py passes either way). Set before NumPy and torch load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Import the C-extension modules the harness loads lazily before any in-process pytester run
# (tests/test_plugin.py): pytester restores sys.modules afterwards, and a NumPy extension
# (numpy.fft's _pocketfft_umath, via scipy.stats) cannot be loaded a second time in a process.
import numpy.fft  # noqa: E402,F401
import scipy.stats  # noqa: E402,F401


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    """Each test using it runs on the CPU and, when present, on CUDA."""
    return request.param


def _shared_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # under xdist each worker's basetemp is <session basetemp>/popen-gwN: share the session one
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _shared_report(tmp_path_factory, name: str, *extra: str):
    """(report directory, exit code) of ``gumbel-harness report --budget quick --seed 0 EXTRA``: ONE
    run per test session, shared by every xdist worker through a lock in the session's temporary
    directory."""
    from harness.cli import main

    root = _shared_root(tmp_path_factory)
    out = root / name
    rc_file = root / f"{name}.rc"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not rc_file.exists():
            rc = main(["report", "--budget", "quick", "--seed", "0", "--out", str(out), "--workers", "2",
                       "--no-progress", *extra])
            rc_file.write_text(str(rc))
    return out, int(rc_file.read_text())


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory):
    """The quick report of every claim, without the mutant table (the default suite's)."""
    return _shared_report(tmp_path_factory, "quick-report", "--no-mutants")


@pytest.fixture(scope="session")
def results(quick_report):
    out, _ = quick_report
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="session")
def full_quick_report(tmp_path_factory):
    """The full quick report, mutant table included (every standard mutant's
    ``run_mutant(m, seed=0)``): the slow tests of the report and of the mutant catalogue read it
    (one run of the catalogue, not two)."""
    out, rc = _shared_report(tmp_path_factory, "quick-report-full")
    return out, rc, json.loads((out / "results.json").read_text())
