"""Hostile targets (tests/hostile) against the supervised worker (isolation="process").

Each case ends in a FAIL naming the cause (a law FAIL for crashes, exits and hangs; a failing
``contract.*`` finding when only the contract is broken), within the time bound stated in the
case, and the harness process is left clean (its global RNG states, torch defaults, threads and
child processes are those it had before).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from harness.checker import check_sampler
from harness.checker.api import UnprotectedWarning
from harness.checks.samplers import reference_categorical

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
ONE = ["T1.law.power"]
HANG_TIMEOUT = 1.5


def _children() -> set[int]:
    """Live child processes of this process, except the supervisor's idle helpers (the fork
    server, a spare worker)."""
    from harness.run.supervisor import _POOL

    helpers = _POOL.helpers()
    me, out = os.getpid(), set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] != "Z" and int(d) not in helpers:
                out.add(int(d))
    return out


def _state():
    torch = sys.modules.get("torch")
    return (np.random.get_state()[1].copy(), random.getstate(),
            {t.ident for t in threading.enumerate() if not t.daemon},
            None if torch is None else (torch.get_default_dtype(), torch.is_grad_enabled(),
                                        torch.get_rng_state().clone()))


@pytest.fixture
def clean():
    """The harness process after the run is as before: global state, threads, children."""
    before, kids = _state(), _children()
    yield
    after = _state()
    assert np.array_equal(before[0], after[0]), "numpy global RNG changed in the harness process"
    assert before[1] == after[1] and before[2] == after[2]
    if before[3] is not None:
        assert before[3][:2] == after[3][:2] and bool((before[3][2] == after[3][2]).all())
    assert _children() <= kids, "a worker (or a child of one) outlived the run"


def _reasons(res) -> str:
    return " | ".join(v.reason for v in res.verdicts if not v.passed)


# (target, kind, extra kwargs, text every failing verdict of the run contains, bound in seconds)
LAW_CASES = {
    "os._exit(0)": ("hostile:os_exit0", "categorical", {}, "exited with status 0 during T1.law.power", 30),
    "sys.exit(0) in __array__": ("hostile:sys_exit_in_array", "categorical", {},
                                 "raised SystemExit(0) outside its call", 30),
    "sys.exit(0) at import": ("hostile.import_exit:sample", "categorical", {},
                              "raised SystemExit(0) while it was loaded (at import time)", 30),
    "os._exit(0) at import": ("hostile.import_os_exit:sample", "categorical", {},
                              "exited with status 0 while the target was loaded", 30),
    "segfault": ("hostile:segfault", "categorical", {}, "killed by SIGSEGV during T1.law.power", 30),
    "GIL-holding hang (regex)": ("hostile:gil_hang", "categorical", {"timeout": HANG_TIMEOUT},
                                 "no answer within the timeout of 1.5 s (in a call of the target): killed", 30),
    "sleeping hang": ("hostile:sleep_hang", "categorical", {"timeout": HANG_TIMEOUT},
                      "no answer within the timeout of 1.5 s (in a call of the target): killed", 30),
    "busy loop": ("hostile:busy_loop", "categorical", {"timeout": HANG_TIMEOUT},
                  "no answer within the timeout of 1.5 s (in a call of the target): killed", 30),
    "unbounded memory": ("hostile:memory_hog", "categorical", {"memory_limit": "300M", "timeout": 60},
                         "exceeded the memory limit of 300 MiB", 60),
    "printing forever": ("hostile:prints_forever", "categorical", {"timeout": 60},
                         "wrote more than 64 MiB to stdout/stderr: killed", 60),
    "sys.exit(0) in backward": ("hostile:torch_exit_in_backward", "torch", {"only": ["G1.jacobian.f64"]},
                                "raised SystemExit(0) outside its call", 60),
}


@pytest.mark.parametrize("case", list(LAW_CASES))
def test_hostile_target_fails_naming_the_cause(case, clean):
    target, kind, kw, cause, bound = LAW_CASES[case]
    kw = {"budget": "quick", "only": ONE, **kw}
    t0 = time.perf_counter()
    res = check_sampler(target, kind, **kw)
    took = time.perf_counter() - t0
    assert took < bound, f"{case}: {took:.1f} s"
    assert not res.passed and res.failed_verdicts
    assert all(cause in v.reason for v in res.failed_verdicts), _reasons(res)
    assert getattr(res, "exit_status", 1) == 1


# (target, kind, kwargs, failing contract probe, text of its detail)
CONTRACT_CASES = {
    "leaked non-daemon thread": ("hostile:leaks_thread", "categorical", {}, "contract.threads",
                                 "left 1 non-daemon thread(s) running (leaked-by-target)"),
    "thread started in the protocol trial only": ("hostile:thread_on_first_call", "categorical", {},
                                                  "contract.threads", "(first-call-thread)"),
    "numpy global RNG": ("hostile:seeds_numpy_global", "categorical", {}, "contract.global_state",
                         "numpy.random global state changed"),
    "torch default dtype": ("hostile:torch_sets_default_dtype", "torch", {"only": ["C2.scale.f32"]},
                            "contract.global_state", "torch default dtype changed (torch.float32 -> torch.float64)"),
    "zeroing the caller's tensor": ("hostile:torch_zeroes_input", "torch", {"only": ["G1.jacobian.f64"]},
                                    "contract.input_mutation", "changed its input (argument 0, Tensor"),
}


@pytest.mark.parametrize("case", list(CONTRACT_CASES))
def test_hostile_contract_breach_is_a_failing_finding(case, clean):
    target, kind, kw, probe, text = CONTRACT_CASES[case]
    t0 = time.perf_counter()
    res = check_sampler(target, kind, **{"budget": "quick", "only": ONE, **kw})
    assert time.perf_counter() - t0 < 60
    bad = [f for f in res.failed_findings if f.probe == probe]
    assert bad and text in bad[0].detail, res.findings
    assert not res.passed
    if probe != "contract.input_mutation":  # the law itself holds: only the contract is broken
        assert all(v.passed for v in res.verdicts), _reasons(res)
        assert getattr(res, "exit_status", 3) == 3


def test_printing_megabytes_is_captured_not_mixed_into_the_output(clean, capfd):
    res = check_sampler("hostile:prints_megabytes", "categorical", budget="quick", only=ONE)
    out, err = capfd.readouterr()
    assert "xxxxxxxx" not in out + err and "yyyyyyyy" not in out + err
    assert res.info["target_output_bytes"] >= 2 << 20
    assert 0 < len(res.info["target_output"]) < 10_000 and "bytes omitted" in res.info["target_output"]
    f = [f for f in res.findings if f.probe == "contract.output"]
    assert f and f[0].severity == "warn" and "MiB" in f[0].detail
    assert all(v.passed for v in res.verdicts)
    json.loads(res.to_json())


def test_target_killed_twice_in_a_row_is_not_called_again(clean):
    t0 = time.perf_counter()
    res = check_sampler("hostile:sleep_hang", "categorical", budget="quick", timeout=HANG_TIMEOUT,
                        only=["T1.law.power", "T1.law.wide", "T1.law.k5"])
    took = time.perf_counter() - t0
    # bound: two kills at the 1.5 s silence limit plus two worker starts; the third check never runs
    assert took < 40, took
    iso = res.info["isolation"]
    assert [k["step"] for k in iso["killed"]] == ["T1.law.power", "T1.law.wide"]
    assert iso["workers_started"] == 3  # the protocol trial call hung first (not counted as a kill)
    k5 = [v for v in res.verdicts if v.check == "T1.law.k5"]
    assert k5 and k5[0].passed is False and k5[0].reason.startswith("not run: the target was killed twice")


def test_target_killed_three_times_is_not_called_again(clean):
    """A target hanging on every other call is never killed twice in a row: the third kill of the
    run stops it (supervisor.MAX_KILLS), so the run stays bounded."""
    t0 = time.perf_counter()
    res = check_sampler("hostile:hangs_every_other_call", "categorical", budget="quick", timeout=HANG_TIMEOUT)
    took = time.perf_counter() - t0
    # bound: three kills at the 1.5 s silence limit, four worker starts, the calls that returned
    assert took < 90, took
    iso = res.info["isolation"]
    assert len(iso["killed"]) == 3 and iso["not_called_again"].startswith("the target was killed 3 times")
    assert any(v.reason.startswith("not run: the target was killed 3 times") for v in res.verdicts)
    assert res.exit_status == 1


def test_process_escaping_the_process_group_is_killed_and_reported(clean, tmp_path, monkeypatch):
    pids = tmp_path / "daemon.pid"
    monkeypatch.setenv("GUMBEL_TEST_DAEMON_PIDS", str(pids))
    res = check_sampler("hostile:daemonizes", "categorical", budget="quick", only=ONE)
    pid = int(pids.read_text())
    bad = [f for f in res.failed_findings if f.probe == "contract.processes"]
    assert bad and "left 1 process(es) running outside the worker's process group" in bad[0].detail, res.findings
    assert res.law_passed and res.exit_status == 3
    for _ in range(50):  # SIGKILLed; reaped by init
        if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the daemon {pid} outlived the run")


def test_hang_in_one_probe_case_kills_only_that_case(clean):
    res = check_sampler("hostile:hangs_on_nan", "categorical", budget="quick", only="none", probes=True,
                        adversarial=False, timeout=HANG_TIMEOUT)
    fs = {f.probe: f for f in res.findings}
    assert fs["probe.nan"].outcome == "hang" and fs["probe.nan"].severity == "fail"
    assert "during probe.nan" in fs["probe.nan"].detail
    assert fs["probe.all_neginf"].outcome == "clear error"  # later cases ran in a fresh worker
    assert fs["probe.neginf_one"].severity == "ok"
    assert [k["step"] for k in res.info["isolation"]["killed"]] == ["probe.nan"]


def _summary(res):
    return ([(v.check, v.statistic, v.pvalue, v.n, v.passed) for v in res.verdicts],
            sorted((f.probe, f.outcome, f.severity) for f in res.findings))


@pytest.mark.parametrize("target,kw", [
    ("reference-categorical", {}),
    ("torch-gumbel-softmax", {"only": ["C3.hard.power", "C2.scale.T1", "G1.jacobian.f64", "dtype.float32"]}),
])
def test_correct_target_same_verdicts_and_numbers_in_both_modes(target, kw):
    a = check_sampler(target, budget="quick", isolation="process", **kw)
    b = check_sampler(target, budget="quick", isolation="none", **kw)
    assert a.passed and b.passed
    assert _summary(a) == _summary(b)
    assert a.info["isolation"]["mode"] == "process" and b.info["isolation"]["mode"] == "none"


class _Locked:  # a callable whose state cannot be pickled (a lock)
    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, logits, n, seed):
        return reference_categorical(logits, n, seed)


def test_unpicklable_callable_runs_unprotected_with_a_warning():
    with pytest.warns(UnprotectedWarning, match="UNPROTECTED"):
        res = check_sampler(_Locked(), "categorical", budget="quick", only=ONE)
    assert res.passed and res.info["isolation"]["mode"] == "none"
    assert "cannot be pickled" in res.info["isolation"]["fallback"]


def test_lambda_and_closure_run_isolated_by_value():
    scale = [0]
    res = check_sampler(lambda x, n, s: reference_categorical(x, n, s) + scale[0], "categorical",
                        budget="quick", only=ONE)
    assert res.passed and res.info["isolation"]["mode"] == "process"


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="isolation"):
        check_sampler("reference-categorical", isolation="thread")
    with pytest.raises(ValueError, match="memory limit"):
        check_sampler("reference-categorical", memory_limit="lots")


def test_pytest_fixture_fails_the_test_instead_of_ending_the_session(gumbel_check):
    with pytest.raises(pytest.fail.Exception, match="exited with status 0"):
        gumbel_check("hostile:os_exit0", "categorical", budget="quick", only=ONE)


def _cli(*args, timeout=120):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "harness", "check", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.parametrize("target,status", [
    ("hostile:os_exit0", 1), ("hostile.import_exit:sample", 1), ("hostile:prints_megabytes", 0)])
def test_cli_exit_status_and_valid_json_whatever_the_target_does(target, status):
    p = _cli(target, "--kind", "categorical", "--budget", "quick", "--only", "T1.law.power", "--json")
    assert p.returncode == status, p.stderr[-2000:]
    doc = json.loads(p.stdout)  # stdout is the JSON document and nothing else
    assert "xxxxxxxx" not in p.stderr and "yyyyyyyy" not in p.stderr
    assert doc["info"]["isolation"]["mode"] == "process"
    if "megabytes" in target:  # the target's output is inside the document, truncated
        assert "xxxxxxxx" in doc["info"]["target_output"] and doc["info"]["target_output_bytes"] >= 2 << 20


def test_workers_are_forked_from_a_pristine_fork_server(clean):
    """Every worker is a fork of the fork server, which runs no target code: a mark the target
    leaves on a module in one run's worker is not in the next run's (a fresh fork)."""
    from harness.run.forkserver import available

    if not available():  # pragma: no cover - not Linux
        pytest.skip("workers are spawned here")
    for _ in range(2):
        res = check_sampler("hostile:marks_its_process", "categorical", budget="quick", only=ONE)
        assert res.passed, res.report()
        assert res.info["isolation"]["workers_forked"] == res.info["isolation"]["workers_started"] == 1


@pytest.mark.parametrize("case", ["os._exit(0)", "segfault", "sleeping hang"])
def test_spawned_workers_without_the_fork_server(case, clean, monkeypatch):
    """GUMBEL_HARNESS_FORKSERVER=0 (and systems without fork servers): spawned workers give the
    same outcome."""
    from harness.run.forkserver import DISABLE_VAR

    monkeypatch.setenv(DISABLE_VAR, "0")
    target, kind, kw, cause, _bound = LAW_CASES[case]
    res = check_sampler(target, kind, budget="quick", only=ONE, **kw)
    assert not res.passed and all(cause in v.reason for v in res.failed_verdicts), _reasons(res)
    assert res.info["isolation"]["workers_forked"] == 0


def test_spawned_worker_escapee_is_killed_and_reported(clean, tmp_path, monkeypatch):
    from harness.run.forkserver import DISABLE_VAR

    monkeypatch.setenv(DISABLE_VAR, "0")
    test_process_escaping_the_process_group_is_killed_and_reported(clean, tmp_path, monkeypatch)
