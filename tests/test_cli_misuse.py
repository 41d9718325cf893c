"""Issue 10, section 3: every misuse answered clearly (exit 2 with one line, or a FAIL naming
the real cause), and reproduce commands that are shell-safe and actually run."""
from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from harness.checker import check_sampler
from harness.targets.protocol import ProtocolMismatch
from harness.cli import main

CAT = ["check", "harness.checks.samplers:reference_categorical", "--kind", "categorical", "--budget", "quick"]


def _run_cli(argv, capsys):
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


# ---- --only ---------------------------------------------------------------------------------

@pytest.mark.parametrize("only", ["T1.law.powr,T1.tail", "T1.tail,Z9", ",", " , "])
def test_only_any_unmatched_or_empty_is_exit_2(only, capsys):
    rc, out, err = _run_cli(CAT + ["--only", only], capsys)
    assert rc == 2 and out == ""
    assert "T1.law.power" in err  # lists the valid ids
    assert ("no check matches" in err) or ("empty check selection" in err)


def test_only_in_the_api():
    with pytest.raises(ValueError, match="no check matches 'T1.law.powr'"):
        check_sampler("reference-categorical", only=["T1.law.powr", "T1.tail"])
    with pytest.raises(ValueError, match="empty check selection"):
        check_sampler("reference-categorical", only=[])
    with pytest.raises(ValueError, match="nothing to run"):
        check_sampler("reference-categorical", only="none", probes=False, adversarial=False)
    res = check_sampler("reference-categorical", budget="quick", only="none", adversarial=False)  # probes only
    assert not res.verdicts and res.findings and "law NOT CHECKED" in res.headline


# ---- --timeout --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "abc"])
def test_timeout_usage_errors(value, capsys):
    rc, _, err = _run_cli(CAT + ["--only", "T1.law.power", "--timeout", value], capsys)
    assert rc == 2 and "timeout" in err


def test_timeout_none_spelling_and_api(capsys):
    rc, out, _ = _run_cli(CAT + ["--only", "T1.law.power", "--timeout", "none"], capsys)
    assert rc == 0 and "law HOLDS" in out
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout"):
            check_sampler("reference-categorical", only="T1.law.power", timeout=bad)


# ---- --seed ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [str(2**70), str(2**64), "-1", "1.5"])
def test_seed_beyond_64_bits_or_negative_is_refused(seed, capsys):
    rc, _, err = _run_cli(CAT + ["--only", "T1.law.power", "--seed", seed], capsys)
    assert rc == 2 and "seed" in err
    rc, _, err = _run_cli(["report", "--budget", "quick", "--seed", seed], capsys)
    assert rc == 2 and "seed" in err


def test_seed_in_the_api():
    for bad in (2**70, -1, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            check_sampler("reference-categorical", only="T1.law.power", seed=bad)
    assert check_sampler("reference-categorical", budget="quick", only="T1.law.power", seed=2**64 - 1).seed == 2**64 - 1


# ---- MODULE:CALLABLE from the current directory -------------------------------------------------

def test_module_resolves_from_the_current_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "cwd_sampler_mod.py").write_text(textwrap.dedent("""
        import numpy as np
        def sample(logits, n, seed):
            x = np.asarray(logits, dtype=np.float64)
            return np.argmax(x + np.random.default_rng(seed).gumbel(size=(n, x.shape[-1])), axis=1)
    """))
    cwd = str(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", cwd)])
    monkeypatch.chdir(tmp_path)
    rc, out, err = _run_cli(["check", "cwd_sampler_mod:sample", "--kind", "categorical", "--budget", "quick",
                             "--only", "T1.law.power"], capsys)
    assert rc == 0, err  # resolved from the current directory (in the worker process, which imports it)


# ---- protocol mismatch ------------------------------------------------------------------------

def categorical_fn(logits, n, seed):
    return np.zeros(n, dtype=np.int64)


def returns_none(logits, n, seed):
    return None


async def coroutine_fn(logits, n, seed):
    return np.zeros(n, dtype=np.int64)


@pytest.mark.parametrize("kind", ["relaxed", "noise", "torch"])
def test_wrong_kind_is_one_protocol_mismatch_exit_2(kind, capsys):
    rc, out, err = _run_cli(["check", "test_cli_misuse:categorical_fn", "--kind", kind, "--budget", "quick"],
                            capsys)
    assert rc == 2 and out == ""
    assert err.count("protocol mismatch") == 1 and len(err.strip().splitlines()) == 1
    assert f"The {kind} protocol is fn(" in err


@pytest.mark.parametrize("fn,what", [(returns_none, "returned None"), (coroutine_fn, "returned a coroutine")])
def test_none_and_coroutine_are_named(fn, what):
    with pytest.raises(ProtocolMismatch, match=what):
        check_sampler(fn, "categorical", budget="quick", only="T1.law.power")
    from harness.checks.samplers import TargetError, draw_categorical

    with pytest.raises(TargetError, match=what):
        draw_categorical(fn, np.zeros(3), 5, 0)


def test_relaxed_rows_off_the_simplex_name_the_cause():
    def off(x, t, n, s):
        y = np.zeros((n, len(x)))
        y[:, 0], y[:, 1] = 1.0005, 5e-4  # nearly one-hot rows summing to 1.001
        return y

    res = check_sampler(off, "relaxed", budget="quick", only="C2.scale.T1")
    (v,) = res.verdicts
    assert "rows do not sum to 1" in v.reason and "0.001" in v.reason and "outside [0, 1]" not in v.reason


# ---- reproduce commands ---------------------------------------------------------------------

def _cli_cmd(cmd: str) -> str:
    """Run the printed command with the gumbel-harness of this interpreter when it is not on PATH."""
    if cmd.startswith("gumbel-harness ") and shutil.which("gumbel-harness") is None:
        return f"{shlex.quote(sys.executable)} -m harness " + cmd[len("gumbel-harness "):]
    return cmd.replace("python -c", f"{shlex.quote(sys.executable)} -c", 1)


def _env():
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    env["GUMBEL_HARNESS_PROGRESS"] = "0"
    return env


BROKEN = """
import numpy as np

def broken(logits, n, seed):
    return np.zeros(n, dtype=np.int64)

class Sampler:
    def draw(self, logits, n, seed):
        return np.zeros(n, dtype=np.int64)

sampler = Sampler()
"""


def test_reproduce_command_of_a_module_target_runs(tmp_path, monkeypatch):
    (tmp_path / "repro_mod.py").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    res = check_sampler("repro_mod:broken", "categorical", budget="quick", only="T1.law.power")
    (v,) = res.verdicts
    assert v.passed is False and v.reproduce.startswith("gumbel-harness check repro_mod:broken --kind categorical")
    p = subprocess.run(_cli_cmd(v.reproduce), shell=True, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 1, p.stderr
    assert "FAIL T1.law.power" in p.stdout and "law REJECTED" in p.stdout


def test_reproduce_for_bound_methods_and_api_callables(tmp_path, monkeypatch):
    (tmp_path / "repro_mod2.py").write_text(BROKEN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import repro_mod2

    res = check_sampler(repro_mod2.sampler.draw, "categorical", budget="quick", only="T1.law.power")
    assert "gumbel-harness check repro_mod2:sampler.draw --kind categorical" in res.verdicts[0].reproduce
    res = check_sampler(lambda x, n, s: np.zeros(n, dtype=np.int64), "categorical", budget="quick",
                        only="T1.law.power")
    assert "check_sampler(YOUR_CALLABLE, kind='categorical'" in res.verdicts[0].reproduce


def test_reproduce_for_a_main_script_is_a_python_snippet_that_runs(tmp_path):
    script = tmp_path / "my script.py"
    script.write_text(BROKEN + textwrap.dedent("""
        if __name__ == "__main__":
            from harness.checker import check_sampler
            res = check_sampler(broken, "categorical", budget="quick", only="T1.law.power")
            print(res.verdicts[0].reproduce)
    """))
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=300)
    cmd = p.stdout.strip().splitlines()[-1]
    assert cmd.startswith("python -c ") and "runpy" in cmd
    q = subprocess.run(_cli_cmd(cmd), shell=True, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=300)
    assert q.returncode == 0, q.stderr
    assert "FAIL T1.law.power" in q.stdout


def test_reproduce_is_shell_quoted(tmp_path):
    from harness.checker.reproduce import reproduce_template

    evil = "mod:$(touch pwned)`touch pwned2`"
    tpl = reproduce_template(evil, categorical_fn, evil, "categorical", "quick", 0, builtin=False, mutant=False)
    cmd = tpl.format(check="T1.law.power", seed=0)
    assert shlex.split(cmd)[2] == evil
    p = subprocess.run("printf '%s\\n' " + cmd, shell=True, cwd=tmp_path, capture_output=True, text=True)
    assert evil in p.stdout and not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    res = check_sampler(lambda x, n, s: np.zeros(n, dtype=np.int64), "categorical", budget="quick",
                        only="T1.law.power", name="x{y}'$(z)")
    assert "T1.law.power" in res.verdicts[0].reproduce  # braces in a name do not break the template
