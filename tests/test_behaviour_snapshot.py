"""Behaviour snapshot: every pinned run of ``tests/snapshot_runs.py`` decides exactly what
``tests/data/behaviour_snapshot.json`` recorded (exit status, law / contract verdicts, every
verdict's id, decision and p-values to 10 significant digits, every finding's severity and
outcome), at the same seeds.

A failure here means the checker's behaviour changed. If that change is deliberate (an issue
that changes a check, a probe or a sample size), regenerate the snapshot with
``python tests/snapshot_runs.py --write`` and say so in the commit; otherwise it is a regression
(e.g. of a refactor that should only move code).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import snapshot_runs as sr  # noqa: E402

STORED = sr.load_snapshot()


def test_snapshot_covers_every_run():
    assert sorted(STORED) == sorted(sr.RUN_NAMES), (
        "tests/data/behaviour_snapshot.json and snapshot_runs.RUNS list different runs: "
        "regenerate with python tests/snapshot_runs.py --write")


@pytest.mark.parametrize("name", sr.RUN_NAMES)
def test_behaviour_unchanged(name):
    missing = sr.requirement(sr._BY_NAME[name])
    if missing:
        pytest.skip(f"{name} needs {missing}")
    got = sr.compute(name)
    diff = sr.first_difference(STORED[name], got)
    if diff is not None:
        pytest.fail(f"{name}: behaviour changed at its fixed seed --\n{diff}\n(deliberate? regenerate with "
                    "python tests/snapshot_runs.py --write and say so in the commit)", pytrace=False)
