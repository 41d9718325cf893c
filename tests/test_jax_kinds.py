"""Key-based JAX kinds (harness.kinds.jax): keys derived from the seeds, the NumPy plans
through picklable adapters, G1/G4 with jax.jacrev, planted JAX mutants rejected, the jax#5348
float32 cap flagged by the precision-reach probe at every budget."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from harness.checker import check_sampler
from harness.kinds.jax import (
    JAX_MUTANTS, JaxCategorical, JaxNoise, JaxRelaxed, gumbel_softmax, jax_key, random_categorical,
    random_gumbel,
)
from harness.kinds import get_kind, kind_names, plan_for
from harness.core.budgets import get_budget


def test_kinds_registered_and_plans_reuse_the_numpy_ids():
    assert {"jax-categorical", "jax-relaxed", "jax-noise"} <= set(kind_names())
    b = get_budget("quick")
    ids = [c.id for c in plan_for("jax-relaxed", b)]
    assert ids[:len(plan_for("relaxed", b))] == [c.id for c in plan_for("relaxed", b)]
    assert ids[-2:] == ["G1.jacobian.jax", "G4.st.jax"]
    assert [c.id for c in plan_for("jax-noise", b)] == [c.id for c in plan_for("noise", b)]


def test_keys_are_derived_from_the_seed_and_adapters_pickle():
    import jax

    a = np.asarray(jax.random.key_data(jax_key(2**40 + 7)))
    assert np.array_equal(a, np.asarray(jax.random.key_data(jax_key(2**40 + 7))))
    assert not np.array_equal(a, np.asarray(jax.random.key_data(jax_key(7))))  # the high word matters
    cat = JaxCategorical(random_categorical)
    assert np.array_equal(cat(np.log([0.2, 0.8]), 50, 3), cat(np.log([0.2, 0.8]), 50, 3))
    for ad in (cat, JaxRelaxed(gumbel_softmax), JaxNoise(random_gumbel)):
        assert type(pickle.loads(pickle.dumps(ad))) is type(ad)
    fn, kind = get_kind("jax-noise").protocol_view(random_gumbel)
    kind = kind.name
    assert kind == "noise" and isinstance(fn, JaxNoise)
    assert get_kind("noise").protocol_view(random_gumbel) == (random_gumbel, get_kind("noise"))


def test_reference_gumbel_softmax_gradients_pass():
    res = check_sampler(gumbel_softmax, "jax-relaxed", budget="quick", seed=0, only=["G1", "G4"])
    assert res.passed, res.report()
    assert {v.check for v in res.verdicts} == {"G1.jacobian.jax", "G4.st.jax"}


@pytest.mark.parametrize("name", list(JAX_MUTANTS))
def test_planted_jax_mutants_fail(name):
    kind, fn, ids = JAX_MUTANTS[name]
    res = check_sampler(fn, kind, budget="quick", seed=0, only=list(ids))
    assert not res.passed
    assert {c["check"].split(".")[0] for c in res.caught_by()} == {i.split(".")[0] for i in ids}


def test_g4_not_applicable_without_hard():
    def soft_only(key, logits, temperature, n):
        return gumbel_softmax(key, logits, temperature, n)

    res = check_sampler(soft_only, "jax-relaxed", budget="quick", only=["G4"])
    (v,) = res.verdicts
    assert v.passed and "not applicable" in v.reason


@pytest.mark.parametrize("budget", ["quick", "standard"])
def test_jax5348_float32_cap_is_flagged_by_the_reach_probe_at_every_budget(budget):
    res = check_sampler("jax-gumbel", budget=budget, seed=0, only="none", probes=False, adversarial=True)
    (f,) = [f for f in res.findings if f.probe == "reach.noise"]
    assert f.severity == "fail" and "15.94" in f.detail and "23.0 bits" in f.detail
    assert not res.passed


def test_reference_gumbel_softmax_reach_keeps_its_float32_promise():
    res = check_sampler("jax-gumbel-softmax", budget="quick", seed=0, only="none", probes=False, adversarial=True)
    (f,) = [f for f in res.findings if f.probe == "reach.gap"]
    assert f.severity == "ok" and "20.41 nats" in f.detail


@pytest.mark.slow
@pytest.mark.parametrize("name,passes", [("jax-gumbel-softmax", True), ("jax-categorical", False),
                                         ("jax-gumbel", False), ("numpyro-categorical", False),
                                         ("numpyro-gumbel", False)])
def test_jax_builtins_full_quick_run(name, passes):
    res = check_sampler(name, budget="quick", seed=0)
    assert res.passed is passes, res.report()


def test_cli_module_callable_with_a_jax_kind():
    from harness.cli import main

    assert main(["check", "harness.kinds.jax:gumbel_softmax", "--kind", "jax-relaxed", "--budget", "quick",
                 "--only", "C2.scale.T1"]) == 0
    assert main(["check", "harness.kinds.jax:mutant_temp_twice", "--kind", "jax-relaxed", "--budget",
                 "quick", "--only", "C2.scale.T0.5"]) == 1
