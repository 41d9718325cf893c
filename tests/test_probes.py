"""Bad-input probe (bugs.md C) and adversarial streams: outcomes, severities, robustness."""
from __future__ import annotations

import time

import numpy as np
import pytest

from harness.checker import GuardedTarget, probe_target
from harness.probes.adversarial import AdversarialBitGenerator, adversarial_streams
from harness.checks.samplers import reference_categorical, reference_noise, reference_relaxed


def _by_probe(findings):
    return {f.probe: f for f in findings}


def test_reference_categorical_findings_all_ok():
    fs = _by_probe(probe_target(reference_categorical, "categorical", seed=1))
    assert not [f for f in fs.values() if f.severity in ("fail", "warn")], fs
    assert fs["probe.nan"].outcome == "clear error" and fs["probe.nan"].severity == "ok"
    assert fs["probe.neginf_one"].outcome == "ok/documented"
    assert fs["adversarial.u=0"].outcome == "ok/documented"  # reached: the reference redraws E = 0


def test_silent_index_for_nan_and_all_neginf_fails():
    def naive(logits, n, seed):  # argmax(x + g) with no validation: NaN -> index, all -inf -> 0
        rng = np.random.default_rng(seed)
        x = np.asarray(logits, dtype=np.float64)
        return np.argmax(x - np.log(rng.standard_exponential((n, x.size)) + 1e-300), axis=1)

    fs = _by_probe(probe_target(naive, "categorical", seed=2, adversarial=False))
    for p in ("probe.nan", "probe.all_neginf"):
        assert fs[p].outcome == "silent wrong answer" and fs[p].severity == "fail", fs[p]
    assert fs["probe.posinf"].outcome == "ok/documented"  # always the +inf category: the limit


def test_out_of_range_index_is_a_failure():
    def sentinel(logits, n, seed):  # tfp#1571 / tensorflow#2774: index K as an error signal
        x = np.asarray(logits, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            return np.full(n, x.size)
        return reference_categorical(x, n, seed)

    fs = _by_probe(probe_target(sentinel, "categorical", seed=3, adversarial=False))
    assert fs["probe.nan"].outcome == "out-of-range index" and fs["probe.nan"].severity == "fail"
    # -inf logits are valid input: the sentinel misfires there too
    assert fs["probe.neginf_one"].outcome == "out-of-range index"


def test_relaxed_nan_outputs_are_warnings_for_invalid_inputs_failures_for_valid():
    def unguarded(logits, t, n, seed):  # naive: no validation, no max-subtraction of (x+g)/T
        x = np.asarray(logits, dtype=np.float64)
        g = -np.log(np.random.default_rng(seed).standard_exponential((n, x.size)))
        with np.errstate(all="ignore"):
            e = np.exp((x - np.max(x) + g) / t)
            return e / e.sum(axis=1, keepdims=True)

    fs = _by_probe(probe_target(unguarded, "relaxed", seed=4, adversarial=False))
    assert fs["probe.T0"].outcome == "NaN output" and fs["probe.T0"].severity == "warn"
    assert fs["probe.tiny_T"].outcome == "NaN output" and fs["probe.tiny_T"].severity == "fail"
    assert fs["probe.T_negative"].severity in ("warn", "ok")


def test_reference_relaxed_and_noise_probe_clean():
    for fn, kind in ((reference_relaxed, "relaxed"), (reference_noise, "noise")):
        bad = [f for f in probe_target(fn, kind, seed=5) if f.severity in ("fail", "warn")]
        assert not bad, bad


def test_hanging_probe_case_is_a_finding_and_others_continue():
    from harness.checker.api import _FreshGuard

    def hangs_on_nan(logits, n, seed):
        if np.isnan(np.asarray(logits, dtype=np.float64)).any():
            time.sleep(20)
        return reference_categorical(logits, n, seed)

    t0 = time.perf_counter()
    fs = _by_probe(probe_target(_FreshGuard(hangs_on_nan, 0.5, "hangs"), "categorical", seed=6,
                                adversarial=False))
    assert time.perf_counter() - t0 < 15
    assert fs["probe.nan"].outcome == "hang" and fs["probe.nan"].severity == "fail"
    assert fs["probe.all_neginf"].outcome == "clear error"  # later cases still ran


def test_torch_probes_on_f_gumbel_softmax():
    import torch.nn.functional as F

    fs = _by_probe(probe_target(F.gumbel_softmax, "torch", seed=7))
    assert not [f for f in fs.values() if f.severity == "fail"], [f for f in fs.values() if f.severity == "fail"]
    assert fs["probe.T0"].outcome == "NaN output" and fs["probe.T0"].severity == "warn"  # pytorch#184031
    assert fs["probe.neginf_one"].outcome == "ok/documented"
    assert fs["probe.float16"].outcome == "ok/documented" and fs["probe.bfloat16"].outcome == "ok/documented"
    assert fs["adversarial.E=0"].severity == "warn"  # -log(exponential_() = 0) = inf -> NaN
    # the torch kind tells users which of their warnings F.gumbel_softmax gets too: that list is true
    from harness.kinds.torch import F_GUMBEL_SOFTMAX_WARNINGS

    assert {(f.probe, f.outcome) for f in fs.values() if f.severity == "warn"} == F_GUMBEL_SOFTMAX_WARNINGS


def test_a_warning_that_f_gumbel_softmax_also_gets_says_so():
    from harness.checker import check_sampler

    res = check_sampler("reference-torch", budget="quick", only="none", isolation="none")
    text = res.report()
    warned = [f for f in res.findings if f.severity == "warn"]
    from harness.kinds.torch import F_GUMBEL_SOFTMAX_WARNINGS

    shared = [f for f in warned if (f.probe, f.outcome) in F_GUMBEL_SOFTMAX_WARNINGS]
    assert text.count("F.gumbel_softmax gets this warning too") == len(shared)


def test_adversarial_bit_generator_forces_boundaries():
    g = np.random.Generator(AdversarialBitGenerator(1, word=0))
    u = g.random(256)
    assert (u == 0.0).sum() >= 32
    assert (g.standard_exponential(256) == 0.0).sum() >= 16
    g1 = np.random.Generator(AdversarialBitGenerator(1, word=2**64 - 1))
    assert (g1.random(256) == np.nextafter(1.0, 0.0)).sum() >= 32
    assert np.all(np.isfinite(g1.gumbel(size=300)))  # numpy's own loop redraws U = 1


def test_adversarial_streams_patch_and_restore():
    import torch

    orig_rng, orig_rand, orig_exp = np.random.default_rng, torch.rand, torch.Tensor.exponential_
    with adversarial_streams("u=0") as st:
        assert (np.random.default_rng(3).random(64) == 0).sum() == 32
        assert (torch.rand(128) == 0).sum() >= 32
    assert st.delivered > 0
    with adversarial_streams("E=-0"):
        e = torch.empty(64).exponential_()
        assert torch.signbit(e[0]) and e[0] == 0
    assert np.random.default_rng is orig_rng and torch.rand is orig_rand
    assert torch.Tensor.exponential_ is orig_exp
    with pytest.raises(ValueError):
        with adversarial_streams("nope"):
            pass


def test_guard_turns_exceptions_into_target_errors():
    from harness.checks.samplers import TargetError

    g = GuardedTarget(lambda: 1 / 0, timeout=5, name="div")
    with pytest.raises(TargetError, match="ZeroDivisionError"):
        g()
    g2 = GuardedTarget(lambda: 7, timeout=None)
    assert g2() == 7


def _topk_fallback(logits, n, seed):
    """Gumbel-max through torch.topk with max-subtraction: under E = 0 a row is all NaN and
    torch.topk returns index 0 / 2 / 6 for K = 3 / 4 / 8 (issue 18 item 7)."""
    import torch

    x = np.asarray(logits, dtype=np.float64)
    e = np.random.default_rng(seed).standard_exponential((n, x.size))
    with np.errstate(all="ignore"):
        z = x - np.log(e)
        z = z - z.max(axis=1, keepdims=True)
    return torch.topk(torch.as_tensor(z), 1).indices[:, 0].numpy()


def test_masked_category_at_every_position_catches_a_fixed_index_fallback():
    from harness.kinds.categorical import _adversarial_call
    from harness.probes.adversarial import adversarial_probe
    from harness.probes.findings import Recorder, masked_rows

    assert len(masked_rows()) == 3 + 4 + 8
    assert all(np.isneginf(x).sum() == 1 for x in masked_rows())
    old = Recorder("adversarial")  # the two fixed rows alone miss it
    adversarial_probe(_topk_fallback, old, 0, _adversarial_call, "ok", masked=False)
    assert _by_probe(old.findings)["adversarial.u=0"].severity == "ok"
    fs = _by_probe(probe_target(_topk_fallback, "categorical", seed=0))
    f = fs["adversarial.u=0"]
    assert f.severity == "fail" and f.outcome == "silent wrong answer", f


def test_token_masked_everywhere_catches_a_topk_fallback():
    import torch

    from harness.kinds.token.probes import _masked_everywhere
    from harness.probes.adversarial import adversarial_streams

    def token_topk(logits, temperature, *, top_k=None, top_p=None, min_p=None, seed=0):
        g = torch.Generator().manual_seed(int(seed))
        q = torch.empty(logits.shape, dtype=torch.float64).exponential_(generator=g)
        z = logits.double() / temperature - torch.log(q)
        z = z - z.max(-1, keepdim=True).values
        return torch.topk(z, 1).indices[:, 0]

    assert _masked_everywhere(token_topk, 0) is None  # no forced stream: never a masked token
    with adversarial_streams("E=0"):
        bad = _masked_everywhere(token_topk, 0)
    assert bad is not None and bad[3] == bad[2] == [0] and bad[0].size == 3, bad  # K = 3: topk's all-NaN index 0


def test_torch_kind_masked_batch_catches_a_topk_fallback():
    import torch

    from harness.kinds.torch import _adversarial_call
    from harness.probes.adversarial import adversarial_streams
    from harness.probes.findings import Outcome, masked_batch

    def gs_topk(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):  # hard index from torch.topk
        g = -torch.empty_like(logits).exponential_().log()
        z = (logits + g) / tau
        soft = torch.where(torch.isneginf(logits), 0.0, 1.0)
        soft = soft / soft.sum(dim, keepdim=True)  # a valid soft output: only the hard path is probed
        if not hard:
            return soft
        idx = torch.topk(z - z.max(dim, keepdim=True).values, 1, dim=dim).indices
        return torch.zeros_like(z).scatter_(dim, idx, 1.0)

    with adversarial_streams("E=0"):
        _adversarial_call(gs_topk, np.array([-np.inf, 0.5, 0.0, 1.0]), 0)  # the fixed row misses it
        with pytest.raises(Outcome, match="hard=True"):
            _adversarial_call(gs_topk, masked_batch(4), 0)  # topk's all-NaN index 2 is masked in some rows
