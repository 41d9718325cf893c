"""Built-in targets: every correct one conforms at the standard budget; the jax targets (jax is
in the test extra) run, and would skip cleanly without jax; RelaxedOneHotCategorical.log_prob
agrees with C1."""
from __future__ import annotations

import importlib.util

import pytest

from harness.checker import BUILTINS, TargetLoadError, check_sampler

CORRECT = ["reference-categorical", "reference-relaxed", "reference-noise", "reference-torch",
           "torch-gumbel-softmax", "torch-relaxed-onehot", "torch-categorical", "torch-multinomial",
           "numpy-choice", "numpy-gumbel", "torch-gumbel-noise"]
@pytest.mark.parametrize("name", CORRECT)
def test_correct_builtin_conforms(name):
    """Every correct built-in conforms at quick (every check and probe of its kind)."""
    res = check_sampler(name, budget="quick", seed=0)
    assert res.passed, res.report()
    assert BUILTINS[name].expect_pass
    assert not res.failed_findings


@pytest.mark.slow
@pytest.mark.parametrize("name", CORRECT)
def test_correct_builtin_conforms_at_standard(name):
    """... and at the standard budget (the documented power): with -m slow (tox -e thorough);
    tests/test_checker.py runs numpy-choice at standard in the default suite."""
    res = check_sampler(name, budget="standard", seed=0)
    assert res.passed, res.report()


def test_relaxed_onehot_log_prob_matches_c1():
    res = check_sampler("torch-relaxed-onehot", budget="quick", seed=1, probes=False, adversarial=False)
    (v,) = [v for v in res.verdicts if v.check == "C1.log_prob"]
    assert v.passed and v.statistic <= 1e-9
    assert res.info["log_prob"]["formula"].endswith("equals C1")


def test_f_gumbel_softmax_known_warnings_are_listed():
    res = check_sampler("torch-gumbel-softmax", budget="quick", seed=2, only="none", probes=True)
    warned = {f.probe for f in res.warnings}
    assert {"probe.T0", "probe.nan"} <= warned  # NaN at tau = 0 (pytorch#184031), NaN logits
    assert "T = 0" in res.report()


def test_jax_targets_skip_cleanly_without_jax(monkeypatch):
    import harness.targets.loading as tg

    real = importlib.util.find_spec
    monkeypatch.setattr(tg.importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    ok, why = BUILTINS["jax-gumbel"].available()
    assert not ok and "jax is not installed" in why
    with pytest.raises(TargetLoadError, match="unavailable"):
        check_sampler("jax-categorical")


@pytest.mark.parametrize("name,only", [
    ("jax-categorical", ["T1.law.power"]),
    ("jax-gumbel", ["N.law", "T2"]),
    ("jax-gumbel-softmax", ["C2.scale.T1"]),
])
def test_jax_targets_run(name, only):
    res = check_sampler(name, budget="quick", seed=0, only=only)
    assert res.verdicts and all(v.passed for v in res.verdicts), res.report()


@pytest.mark.slow
def test_jax_categorical_bad_input_findings():
    """jax compiles per shape (~1 s per probe case): slow. NaN and all -inf logits give a
    valid-looking index (the tfp#1571 / MLX#4177 class): failing findings."""
    pytest.importorskip("jax")
    res = check_sampler("jax-categorical", budget="quick", seed=0, only="none", probes=True)
    fails = {f.probe for f in res.failed_findings}
    assert {"probe.nan", "probe.all_neginf"} <= fails


def test_expected_verdicts_are_declared():
    assert {n for n, t in BUILTINS.items() if not t.expect_pass} == {"torch-gumbel-noise-f32", "jax-gumbel",
                                                                       "jax-categorical", "numpyro-categorical",
                                                                       "numpyro-gumbel"}


@pytest.mark.thorough
def test_torch_gumbel_float32_tail_cut_rejected_at_thorough():
    """torch.distributions.Gumbel in float32 never exceeds g = 15.54 (u <= 1 - 3 2^-24): the
    thorough N.tail check (threshold 17.5, 50 expected hits) sees none."""
    res = check_sampler("torch-gumbel-noise-f32", budget="thorough", only=["N.tail"])
    assert not res.passed and res.verdicts[0].details["hits"] == 0
