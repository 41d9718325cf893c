"""Issue 17 item 3: identify. Each port is identified as its own profile; the stated power holds
by simulation through the decision (and the simulation can fail: at 30 draws per row it does not
reach 0.99); the stored rows are what the search finds (slow)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from harness.checker.identify import identify_target
from harness.core.budgets import get_budget
from harness.kinds.token.identify import ROWS_FILE, compute_rows, load_rows, simulate_power
from reference.token_laws import PROFILES


@pytest.mark.parametrize("prof", list(PROFILES))
def test_each_port_is_identified_as_its_profile(prof):
    from tests.engines import PORTS

    res = identify_target(PORTS[prof], "token", budget="quick", power=False)
    assert res.exit_status == 0 and res.consistent == [prof], res.text()
    assert set(res.rejected) == set(PROFILES) - {prof}
    assert "observed" in res.text() and "expected" in res.text()


def test_every_pair_has_a_stored_row_with_tv_at_least_005():
    pairs = {frozenset((p["a"], p["b"])) for r in load_rows() for p in r["pairs"] if p["tv"] >= 0.05}
    assert len(pairs) == len(PROFILES) * (len(PROFILES) - 1) // 2


def test_stated_power_at_quick_holds_by_simulation():
    power = simulate_power(get_budget("quick"), reps=60, seed=1)
    assert len(power) == 20 and min(power.values()) >= 0.99, power


def test_the_power_simulation_can_fail():
    tiny = replace(get_budget("quick"), n_relaxed=3)
    assert min(simulate_power(tiny, reps=60, seed=1).values()) < 0.99


def test_a_mutant_fits_no_profile_or_not_its_own():
    from tests.engines.mutants import MUTANTS

    fn = MUTANTS["hf_temperature_after_top_p"][0]
    res = identify_target(fn, "token", budget="quick", power=False)
    assert "hf" not in res.consistent, res.text()


@pytest.mark.slow
def test_stored_rows_are_current():
    assert json.loads(ROWS_FILE.read_text())["rows"] == json.loads(json.dumps(compute_rows()))
