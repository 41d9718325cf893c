"""Precision-reach probe (harness.probes.reach): every tail mutant is flagged at the quick
budget, no correct target is; the measured reaches are the exact values of the mechanisms."""
from __future__ import annotations

import math

import numpy as np
import pytest

import harness.mutants.catalogue as mm
from harness.checker import check_sampler
from harness.kinds import get_kind
from harness.probes.reach import GRADES, Reach, grade_of, measure_gap, measure_noise, reach_findings
from harness.mutants.catalogue import MUTANTS

#: the noise-tail mutants of the catalogue (bugs.md A.3 / B10-B12): truncated or coarse noise
TAIL = [m.name for m in MUTANTS.values() if m.bug in (10, 11, 12)]


def test_tail_catalogue_covers_every_mechanism():
    assert {"noise_bits24", "cat_bits24", "noise_floor_1e7", "cat_floor_1e7", "noise_bits31", "cat_bits31",
            "noise_float16", "cat_float16_noise", "relaxed_bits24", "torch_noise_float32"} <= set(TAIL)


@pytest.mark.parametrize("name", TAIL)
def test_every_tail_mutant_is_flagged_at_quick(name):
    m = MUTANTS[name]
    res = check_sampler(m.fn, m.kind, budget="quick", seed=0, only="none", probes=False, adversarial=True,
                        name=f"mutant:{name}")
    reach = [f for f in res.findings if f.probe.startswith("reach.")]
    assert len(reach) == 1 and reach[0].severity == "fail", reach
    assert not res.passed
    assert "tail mass beyond the reach" in reach[0].detail and "measured in" in reach[0].detail


def test_a_full_quick_check_of_a_thorough_tail_mutant_fails_by_the_reach_alone():
    """cat_bits24 needs 2e9 draws (thorough) statistically; the quick run fails it by reach.gap."""
    m = MUTANTS["cat_bits24"]
    res = check_sampler(m.fn, m.kind, budget="quick", seed=0, only=["T1.tail"], probes=False, adversarial=True)
    assert all(v.passed for v in res.verdicts)  # the statistical tail check cannot see it
    assert [c["check"] for c in res.caught_by()] == ["reach.gap"]


@pytest.mark.parametrize("kind,fn", [
    ("categorical", mm.gumbel_max()),
    ("categorical", mm.inverse_cdf()),
    ("relaxed", mm.concrete()),
    ("noise", mm.noise_sampler("gumbel")),
    ("torch", mm.torch_gumbel_softmax()),
])
def test_correct_builder_configurations_keep_the_float64_promise(kind, fn):
    (f,) = reach_findings(fn, get_kind(kind).reach, seed=0)
    assert f.severity == "ok" and f.outcome == "float64-grade reach", f


@pytest.mark.parametrize("name", ["reference-categorical", "reference-relaxed", "reference-noise",
                                  "reference-torch", "torch-gumbel-softmax", "torch-relaxed-onehot",
                                  "numpy-choice", "numpy-gumbel", "torch-gumbel-noise",
                                  "torch-categorical", "torch-multinomial"])
def test_no_correct_builtin_is_flagged(name):
    from harness.targets.loading import BUILTINS

    b = BUILTINS[name]
    fn, kind = get_kind(b.kind).protocol_view(b.factory())
    (f,) = reach_findings(fn, kind.reach, seed=0)
    assert f.severity in ("ok", "info"), f
    if name in ("torch-categorical", "torch-multinomial"):  # C++ samplers: no stream reaches them
        assert f.outcome == "not measured"


def test_exact_reaches():
    from harness.checks.samplers import reference_noise

    r = measure_noise(reference_noise)
    assert r.hi == pytest.approx(-math.log(7.08901424e-18), abs=1e-6)  # smallest ziggurat E: g = 39.49
    assert r.grade == "float64"
    b24 = measure_noise(MUTANTS["noise_bits24"].fn)
    assert (b24.lo, b24.hi) == pytest.approx((-math.log(24 * math.log(2)), -math.log(-math.log1p(-2.0 ** -24))),
                                             abs=1e-9)  # u in [2^-24, 1 - 2^-24]
    assert b24.bits == pytest.approx(24.0, abs=1e-6) and b24.grade == "float32"
    assert b24.missing_mass == pytest.approx(2 * 2.0 ** -24, rel=0.01)
    b31 = measure_noise(MUTANTS["noise_bits31"].fn)
    assert b31.hi == pytest.approx(-math.log(-math.log1p(-2.0 ** -31)), abs=1e-9) and b31.grade == "31-bit"
    g = measure_gap(MUTANTS["cat_bits24"].fn, get_kind("categorical").reach.select)
    assert g.gap == pytest.approx(24 * math.log(2) + math.log(24 * math.log(2)), abs=0.02)  # 16.64 + 2.81
    assert g.missing_mass == pytest.approx(1 / (1 + math.exp(g.gap)))


def test_grades_table():
    assert [g for g, _ in GRADES] == ["float64", "31-bit", "float32", "sub-float32", "half"]
    assert grade_of(53) == "float64" and grade_of(31) == "31-bit" and grade_of(24) == "float32"
    assert grade_of(23) == "sub-float32" and grade_of(11) == "half"
    assert "not measured" in Reach("gap", False, why="x").describe()


def test_precision_claim_attribute_lowers_the_promise():
    class Claimed:
        gumbel_harness_precision = "float32"

        def __call__(self, logits, n, seed):
            return MUTANTS["cat_bits24"].fn(logits, n, seed)

    (f,) = reach_findings(Claimed(), get_kind("categorical").reach)
    assert f.severity == "ok" and "gumbel_harness_precision" in f.detail
    res = check_sampler(Claimed(), "categorical", budget="quick", only="none", probes=False, adversarial=True)
    (f,) = [f for f in res.findings if f.probe == "reach.gap"]  # seen through the guards too
    assert f.severity == "ok", f


def test_unreached_target_is_not_measurable():
    def legacy(shape, seed):  # np.random.seed-style generator: the streams cannot reach it
        return np.random.RandomState(seed).gumbel(size=shape)

    (f,) = reach_findings(legacy, get_kind("noise").reach)
    assert f.outcome == "not measured" and f.severity == "info" and "N.tail" in f.detail
