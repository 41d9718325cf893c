"""Samplers in any language: the `command` target (harness.targets.external), the worked C
example (examples/c_sampler), crash/timeout handling, and offline `--samples` checks."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.checker import check_sampler
from harness.checker.offline import check_samples
from harness.targets.external import CommandTarget
from harness.cli import main
from harness.checks.samplers import TargetError

C_SRC = Path(__file__).resolve().parents[1] / "examples" / "c_sampler" / "gumbel_max.c"


@pytest.fixture(scope="module")
def c_sampler(tmp_path_factory):
    if shutil.which("gcc") is None:  # pragma: no cover - gcc is on every CI machine
        pytest.skip("gcc is not installed")
    d = tmp_path_factory.mktemp("c_sampler")
    exes = {}
    for name, flags in (("good", []), ("broken", ["-DBROKEN"])):
        exe = d / f"gumbel_max_{name}"
        subprocess.run(["gcc", "-O2", "-Wall", "-Werror", *flags, "-o", str(exe), str(C_SRC), "-lm"], check=True)
        exes[name] = f"{exe} --n {{n}} --seed {{seed}} --logits {{logits}}"
    exes["good_npy"] = exes["good"] + " --out {out}"
    return exes


def test_c_example_passes_at_quick(c_sampler):
    res = check_sampler(CommandTarget(c_sampler["good"], "categorical"), budget="quick", seed=0)
    assert res.passed, res.report()
    assert res.target.startswith("command:")
    by = {f.probe: f for f in res.findings}
    assert by["probe.nan"].outcome == "clear error" and "NaN logit" in by["probe.nan"].detail
    assert by["reach.gap"].outcome == "not measured"  # another process's RNG cannot be forced


def test_broken_c_variant_fails_at_quick(c_sampler):
    res = check_sampler(CommandTarget(c_sampler["broken"], "categorical"), budget="quick", seed=0,
                        only=["T1.law.power"])
    assert not res.passed
    (v,) = res.verdicts
    # confirmed p = max(p1, p2)^2; Monte Carlo p-values bottom out at 1/(B + 1) each
    assert v.pvalue < 1e-8 and "--command" in v.reproduce


def test_c_example_npy_output_gives_the_same_draws(c_sampler):
    text, npy = CommandTarget(c_sampler["good"], "categorical"), CommandTarget(c_sampler["good_npy"], "categorical")
    x = np.log([0.1, 0.2, 0.3, 0.4])
    assert np.array_equal(text(x, 1000, 5), npy(x, 1000, 5))
    res = check_sampler(npy, "categorical", budget="quick", only=["T1.law.power", "T1.tail"])
    assert res.passed, res.report()


def test_cli_command_exit_statuses(c_sampler, capsys):
    good = ["check", "--command", c_sampler["good"], "--kind", "categorical", "--budget", "quick", "--only",
            "T1.law.power,T1.pairs"]
    assert main(good) == 0
    assert main(["check", "--command", c_sampler["broken"], "--kind", "categorical", "--budget", "quick",
                 "--only", "T1.law.power"]) == 1
    assert main(["check", "--command", c_sampler["good"], "--kind", "torch"]) == 2
    assert "--kind categorical / relaxed / noise" in capsys.readouterr().err


def _script(tmp_path: Path, body: str) -> str:
    p = tmp_path / "s.py"
    p.write_text(body)
    return f"{sys.executable} {p}"


def test_crash_signal_nonzero_exit_and_bad_output_are_target_errors(tmp_path):
    x = np.zeros(3)
    cases = {
        "import sys; sys.stderr.write('boom'); sys.exit(3)": "exited with status 3: boom",
        "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)": "killed by SIGSEGV",
        "print('1 2 oops')": "not whitespace-separated numbers",
        "print('1 2')": "returned 2 values, expected 5",
    }
    for body, msg in cases.items():
        t = CommandTarget(_script(tmp_path, body) + " {n}", "categorical")
        with pytest.raises(TargetError, match=msg):
            t(x, 5, 0)
    with pytest.raises(TargetError, match="cannot start"):
        CommandTarget("/no/such/exe {n}", "categorical")(x, 5, 0)


def test_timeout_kills_the_process_group(tmp_path):
    marker = tmp_path / "child.pid"
    body = (f"import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            f"open({str(marker)!r}, 'w').write(str(c.pid)); time.sleep(60)")
    t = CommandTarget(_script(tmp_path, body), "noise", timeout=1.0)
    t0 = time.perf_counter()
    with pytest.raises(TargetError, match="per-call timeout of 1 s"):
        t((4,), 0)
    assert time.perf_counter() - t0 < 10
    pid = int(marker.read_text())
    for _ in range(50):  # the grandchild was killed with its group
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the child process survived the timeout")


def test_npy_out_file_stdin_and_relaxed_kind(tmp_path):
    body = ("import sys, numpy as np\n"
            "x = np.array(sys.stdin.read().split(), dtype=float)\n"
            "n, seed, t, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]\n"
            "g = np.random.default_rng(seed).gumbel(size=(n, x.size))\n"
            "s = (x + g) / t; s -= s.max(axis=1, keepdims=True); y = np.exp(s); y /= y.sum(axis=1, keepdims=True)\n"
            "np.save(out + '.npy', y); import os; os.rename(out + '.npy', out)\n")
    t = CommandTarget(_script(tmp_path, body) + " {n} {seed} {temperature} {out}", "relaxed")
    y = t(np.log([0.2, 0.3, 0.5]), 0.5, 7, 1)
    assert y.shape == (7, 3) and np.allclose(y.sum(axis=1), 1)
    res = check_sampler(t, "relaxed", budget="quick", only=["C2.scale.T1", "C3.round.T1"])
    assert res.passed, res.report()


def test_command_target_pickles(c_sampler):
    import pickle

    t = pickle.loads(pickle.dumps(CommandTarget(c_sampler["good"], "categorical", timeout=9)))
    assert t.timeout == 9 and t(np.zeros(3), 4, 1).shape == (4,)


def test_bad_templates_are_value_errors():
    with pytest.raises(ValueError, match="placeholder"):
        CommandTarget("exe {nope}", "categorical")
    with pytest.raises(ValueError, match="kind"):
        CommandTarget("exe {n}", "torch")
    with pytest.raises(ValueError, match="empty"):
        CommandTarget("  ", "noise")


# ---------------------------------------------------------------- offline samples --------

def test_offline_categorical_sample(tmp_path):
    logits = np.log([0.1, 0.2, 0.3, 0.4])
    np.savetxt(tmp_path / "logits.txt", logits[None])
    good = np.random.default_rng(0).choice(4, 50_000, p=[0.1, 0.2, 0.3, 0.4])
    np.savetxt(tmp_path / "good.txt", good, fmt="%d")
    np.save(tmp_path / "bad.npy", np.random.default_rng(0).choice(4, 50_000, p=[0.12, 0.2, 0.3, 0.38]))
    res = check_samples(str(tmp_path / "good.txt"), str(tmp_path / "logits.txt"), "categorical")
    assert res.passed and res.budget == "offline" and "no seeds" in res.info["offline"]
    assert not res.findings  # no probes on a fixed sample
    bad = check_samples(str(tmp_path / "bad.npy"), str(tmp_path / "logits.txt"), "categorical")
    assert not bad.passed
    assert main(["check", "--samples", str(tmp_path / "bad.npy"), "--logits", str(tmp_path / "logits.txt"),
                 "--kind", "categorical"]) == 1


def test_offline_relaxed_and_noise_samples(tmp_path):
    from harness.checks.samplers import reference_noise, reference_relaxed

    x = np.log([0.2, 0.3, 0.5])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", reference_relaxed(x, 0.5, 20_000, 3))
    assert check_samples(str(tmp_path / "y.npy"), str(tmp_path / "x.npy"), "relaxed", temperature=0.5).passed
    wrong_t = check_samples(str(tmp_path / "y.npy"), str(tmp_path / "x.npy"), "relaxed", temperature=0.6)
    assert not wrong_t.passed  # C2 sees the temperature mismatch
    np.save(tmp_path / "g.npy", reference_noise((20_000,), 4))
    assert check_samples(str(tmp_path / "g.npy"), None, "noise").passed


def test_offline_bad_files_are_clear_errors(tmp_path, capsys):
    (tmp_path / "s.txt").write_text("0 1 7\n")
    (tmp_path / "l.txt").write_text("0 0\n")
    assert main(["check", "--samples", str(tmp_path / "s.txt"), "--logits", str(tmp_path / "l.txt"),
                 "--kind", "categorical"]) == 2
    assert "integers in [0, 2)" in capsys.readouterr().err
    assert main(["check", "--samples", str(tmp_path / "missing.txt"), "--logits", str(tmp_path / "l.txt"),
                 "--kind", "categorical"]) == 2
    assert main(["check", "--samples", str(tmp_path / "s.txt"), "--logits", str(tmp_path / "l.txt"),
                 "--kind", "relaxed"]) == 2
    assert "--temperature" in capsys.readouterr().err
