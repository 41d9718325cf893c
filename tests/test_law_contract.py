"""Issue 10, section 1: two verdicts (the law, the contract), exit statuses 0/1/3, the
precision and reproducibility contracts, the conformance matrix's expectations."""
from __future__ import annotations

import json

import numpy as np
import pytest

from harness.core.budgets import get_budget
from harness.checker import ConformanceError, assert_conforms, check_sampler, plan_for
from harness.kinds import get_kind
from harness.cli import main

pytest_plugins = ["pytester"]


# ---- samplers (module level: picklable by reference) ---------------------------------------

def gumbel_max(logits, n, seed):
    """A correct Gumbel-max sampler without input validation (NaN logits -> an index)."""
    x = np.asarray(logits, dtype=np.float64)
    return np.argmax(x + np.random.default_rng(seed).gumbel(size=(n, x.shape[-1])), axis=1)


def probs_as_logits(logits, n, seed):
    """Law-broken: argmax(p + g) (bugs.md B3)."""
    x = np.asarray(logits, dtype=np.float64)
    p = np.exp(x - x.max())
    p /= p.sum()
    return np.argmax(p + np.random.default_rng(seed).gumbel(size=(n, x.size)), axis=1)


def relaxed_f32_in_f64(logits, temperature, n, seed):
    """A correct Concrete sampler whose float64 output carries float32 precision (a quantizer)."""
    from harness.checks.samplers import reference_relaxed

    return reference_relaxed(logits, temperature, n, seed).astype(np.float32).astype(np.float64)


_GLOBAL = np.random.default_rng(7)


def ignores_seed_global(logits, n, seed):
    """Draws from global state: the same seed twice gives different draws."""
    x = np.asarray(logits, dtype=np.float64)
    return np.argmax(x + _GLOBAL.gumbel(size=(n, x.size)), axis=1)


def ignores_seed_fixed(logits, n, seed):
    """Always seed 0: every seed gives the same draws."""
    return gumbel_max(logits, n, 0)


def mutates_input(logits, n, seed):
    logits -= np.max(logits)  # in place
    return gumbel_max(logits, n, seed)


# ---- the split ------------------------------------------------------------------------------

def test_plan_groups_and_family_is_the_law():
    b = get_budget("quick")
    torch_plan = plan_for("torch", b)
    contract = {c.id for c in torch_plan if c.group == "contract"}
    assert contract == {"dim.axis1", "dtype.float16", "dtype.bfloat16", "dtype.float32", "dtype.float64"}
    assert {c.group for c in torch_plan} == {"law", "contract"}
    assert all(c.size == 0 for c in torch_plan if c.group == "contract")
    assert {c.group for k in ("categorical", "relaxed", "noise") for c in plan_for(k, b)} == {"law"}
    assert {c.group for c in torch_plan if c.id.startswith(("G1", "G4"))} == {"law"}  # gradient identities


def test_correct_non_validating_sampler_law_holds_contract_fails_exit_3():
    res = check_sampler(gumbel_max, "categorical", budget="quick", only="T1.law.power", probes=True,
                        adversarial=False)
    assert res.law_passed and not res.contract_passed and not res.passed
    assert res.exit_status == 3
    assert res.headline.startswith("law HOLDS") and "contract FAILS" in res.headline
    assert "probe.nan" in res.headline
    assert all(v.details["group"] == "law" for v in res.law_verdicts) and not res.contract_verdicts
    assert res.contract_findings == res.findings
    rep = res.report()
    assert rep.index("LAW") < rep.index("CONTRACT") and "exit status 3" in rep
    d = json.loads(res.to_json())
    assert d["exit_status"] == 3 and d["headline"] == res.headline
    assert d["law"]["passed"] is True and d["contract"]["passed"] is False
    assert "probe.nan" in d["contract"]["failed_findings"]
    assert d["verdicts"][0]["details"]["group"] == "law"
    # judged on the law alone, it conforms; judged on both, it does not
    assert assert_conforms(gumbel_max, "categorical", budget="quick", only="T1.law.power", probes=True,
                           adversarial=False, law_only=True).law_passed
    with pytest.raises(ConformanceError, match=r"law HOLDS .*; contract FAILS"):
        assert_conforms(gumbel_max, "categorical", budget="quick", only="T1.law.power", probes=True,
                        adversarial=False)


def test_law_broken_sampler_exit_1():
    res = check_sampler(probs_as_logits, "categorical", budget="quick", only="T1.law.power")
    assert not res.law_passed and res.exit_status == 1 and res.headline.startswith("law REJECTED")
    assert "T1.law.power" in res.headline


def test_torch_contract_checks_are_contract_and_judged_outside_the_family():
    res = check_sampler("reference-torch", budget="quick", only=["dtype.float64", "C3.hard.power"])
    groups = {v.check.split(".")[0]: v.details["group"] for v in res.verdicts}
    assert groups["dtype"] == "contract" and res.family_size == 1
    assert res.exit_status == 0 and "1 checks" in res.headline.split("contract")[1]


def test_cli_exit_statuses_3_and_1(tmp_path, monkeypatch, capsys):
    (tmp_path / "lawcontract_mod.py").write_text(
        "import numpy as np\n"
        "def sample(logits, n, seed):\n"
        "    x = np.asarray(logits, dtype=np.float64)\n"
        "    return np.argmax(x + np.random.default_rng(seed).gumbel(size=(n, x.shape[-1])), axis=1)\n")
    monkeypatch.chdir(tmp_path)
    rc = main(["check", "lawcontract_mod:sample", "--kind", "categorical", "--budget", "quick"])
    out = capsys.readouterr().out
    assert rc == 3
    assert out.index("law HOLDS") < out.index("contract FAILS") and "FAIL      probe.nan" in out
    assert "exit status 3: the law holds, the contract fails" in out
    rc = main(["check", "lawcontract_mod:sample", "--kind", "categorical", "--budget", "quick", "--only",
               "T1.law.power"])
    assert rc == 0  # --only: no probes, the law holds
    rc = main(["check", "--mutant", "cat_probs_as_logits", "--budget", "quick", "--only", "T1.law.power"])
    assert rc == 0  # the mutant was rejected
    rc = main(["check", "test_law_contract:probs_as_logits", "--kind", "categorical", "--budget", "quick",
               "--only", "T1.law.power"])
    assert rc == 1


# ---- the precision contract -----------------------------------------------------------------

def test_float64_with_float32_precision_is_a_contract_finding_and_the_law_still_runs():
    res = check_sampler(relaxed_f32_in_f64, "relaxed", budget="quick", only=["C2.scale.T1", "C3.round.T1"],
                        probes=True, adversarial=True)
    assert {f.probe for f in res.failed_findings} == {"contract.precision"}  # one finding, not one per probe
    assert res.law_passed, res.report()  # the law checks ran on the output, with statistics
    assert all(v.statistic is not None and "target" not in v.reason for v in res.law_verdicts)
    (f,) = [f for f in res.findings if f.probe == "contract.precision"]
    assert f.severity == "fail" and f.outcome == "precision shortfall"
    assert "max |sum(y) - 1| = " in f.detail and "float32" in f.detail
    assert res.exit_status == 3


def test_rows_summing_to_1001_name_the_cause():
    from harness.checks.samplers import TargetError, draw_relaxed

    def off(x, t, n, s):
        y = np.zeros((n, len(x)))
        y[:, 0], y[:, 1] = 1.0005, 5e-4  # nearly one-hot rows summing to 1.001 (today: "outside [0, 1]")
        return y

    with pytest.raises(TargetError, match=r"rows do not sum to 1 .*max \|sum - 1\| = 0\.001"):
        draw_relaxed(off, np.zeros(4), 1.0, 10, 0)


# ---- the reproducibility contract -----------------------------------------------------------

@pytest.mark.parametrize("fn,outcome", [(ignores_seed_global, "not reproducible"),
                                        (ignores_seed_fixed, "ignores its seed"),
                                        (gumbel_max, "ok")])
def test_reproducibility_probe(fn, outcome):
    (f,) = [f for f in get_kind("categorical").contract(fn, 3) if f.probe == "contract.reproducible"]
    assert f.outcome == outcome
    assert f.severity == ("ok" if outcome == "ok" else "fail")


def test_seed_ignoring_target_fails_the_contract_not_the_law():
    res = check_sampler(ignores_seed_fixed, "categorical", budget="quick", only="T1.law.power", probes=True,
                        adversarial=False)
    assert res.law_passed and "contract.reproducible" in {f.probe for f in res.failed_findings}


@pytest.mark.parametrize("kind,name", [("relaxed", "reference-relaxed"), ("noise", "reference-noise"),
                                       ("torch", "reference-torch")])
def test_reproducibility_probe_passes_correct_builtins(kind, name):
    from harness.targets.loading import BUILTINS

    fs = {f.probe: f for f in get_kind(kind).contract(BUILTINS[name].factory(), 1)}
    assert fs["contract.reproducible"].severity == "ok"
    if kind != "noise":
        assert fs["contract.precision"].severity == "ok" and fs["contract.input_unchanged"].severity == "ok"


def test_mutating_sampler_is_told_so():
    (f,) = [f for f in get_kind("categorical").contract(mutates_input, 0) if f.probe == "contract.input_unchanged"]
    assert f.severity == "fail" and "modified the logits" in f.detail


# ---- pytest fixture ---------------------------------------------------------------------------

LAW_ONLY_TEST = '''
import numpy as np

def sample(logits, n, seed):
    x = np.asarray(logits, dtype=np.float64)
    return np.argmax(x + np.random.default_rng(seed).gumbel(size=(n, x.shape[-1])), axis=1)

def test_both(gumbel_check):
    gumbel_check(sample, kind="categorical", only="T1.law.power", probes=True, adversarial=False)

def test_law_kw(gumbel_check):
    gumbel_check(sample, kind="categorical", only="T1.law.power", probes=True, adversarial=False, law_only=True)
'''


def test_fixture_fails_on_contract_by_default_and_law_only_judges_the_law(pytester):
    pytester.makepyfile(test_lc=LAW_ONLY_TEST)
    r = pytester.runpytest("-p", "no:cacheprovider", "--gumbel-budget", "quick")
    r.assert_outcomes(passed=1, failed=1)
    assert "contract FAILS" in r.stdout.str() and "law HOLDS" in r.stdout.str()
    pytester.runpytest("-p", "no:cacheprovider", "--gumbel-budget", "quick", "--gumbel-law-only"
                       ).assert_outcomes(passed=2)
    pytester.makeini("[pytest]\ngumbel_law_only = true\ngumbel_budget = quick\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


# ---- conformance matrix -----------------------------------------------------------------------

def test_builtin_expectations_by_budget():
    from harness.targets.loading import BUILTINS

    f32 = BUILTINS["torch-gumbel-noise-f32"]
    # the float32 noise cap: the reach probe fails the contract at every budget, N.tail the law
    # only at thorough
    assert f32.expected("thorough") == {"law": False, "contract": False, "pass": False}
    assert f32.expected("standard") == {"law": None, "contract": False, "pass": False}
    assert BUILTINS["jax-categorical"].expected("quick") == {"law": True, "contract": False, "pass": False}
    assert BUILTINS["numpy-choice"].expected("quick") == {"law": True, "contract": True, "pass": True}


def test_matrix_counts_mismatches_and_fits_100_columns(monkeypatch, capsys):
    import harness.targets.loading as tg

    subset = {"reference-categorical": tg.BUILTINS["reference-categorical"],
              # declared conforming but law-broken: a mismatch
              "zz-broken-but-expected-to-pass": tg.BuiltinTarget(
                  "zz-broken-but-expected-to-pass", "categorical", "x", lambda: probs_as_logits)}
    monkeypatch.setattr(tg, "BUILTINS", subset)
    # isolation none: a worker process would not see the monkeypatched registry
    rc = main(["check", "--builtin", "all", "--budget", "quick", "--only", "T1.law.power,T1.pairs",
               "--isolation", "none"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "mismatches: 1 (zz-broken-but-expected-to-pass)" in " ".join(out.split())  # wrapped to the terminal
    row = [line for line in out.splitlines() if line.startswith("zz-broken")][0]
    assert "FAIL" in row and "PASS/PASS" in row and "NO" in row
    assert "law: T1.law" in out
    matrix = out.split("\n=== ")[0]
    assert max(len(line) for line in matrix.splitlines()) <= 100
    monkeypatch.setattr(tg, "BUILTINS", {"reference-categorical": subset["reference-categorical"]})
    assert main(["check", "--builtin", "all", "--budget", "quick", "--only", "T1.law.power"]) == 0
