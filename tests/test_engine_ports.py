"""The engine ports (tests/engines/) against their own profiles' laws, without the checker: a
quick chi-square per row at a fixed seed; each port is also rejected under every other profile on
the discriminating row of the pair; the four bug mutants are rejected under their engine's own
profile on a row exercising the stage they break."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from reference.token_laws import PROFILES, ambiguous, token_probs
from reference.token_rows import discriminating_rows
from tests.engines import PORTS
from tests.engines.mutants import MUTANTS

N = 20_000
NEG = -math.inf
f32 = lambda v: None if v is None else float(np.float32(v))  # noqa: E731

#: rows (logits, T, k, p, m) exercising every filter; distinct logits, no boundary near a threshold
ROWS = [
    (np.log([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.04, 0.01]), 1.0, None, None, None),
    (np.log([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.04, 0.01]), 0.7, 5, None, None),
    (np.log([0.28, 0.2, 0.14, 0.1, 0.08, 0.06, 0.045, 0.035, 0.025, 0.015]), 1.5, None, 0.72, None),
    (np.log([0.3, 0.22, 0.15, 0.1, 0.08, 0.05, 0.04, 0.03]), 1.3, None, None, 0.2),
    (np.array([2.0, 0.5, 1.4, -0.3, 0.9, 1.1, NEG, 0.2, 1.7, -0.6]), 2.0, 6, 0.85, 0.1),
    (np.array([1.0, NEG, 0.3, -0.4, NEG, 0.0]), 0.0, None, None, None),
]


def _counts(fn, x, t, k, p, m, seed=0, n=N):
    logits = torch.tensor(np.tile(np.asarray(x, dtype=np.float32), (n, 1)))
    ids = torch.as_tensor(fn(logits, t, top_k=k, top_p=p, min_p=m, seed=seed)).cpu().numpy()
    return np.bincount(ids, minlength=len(x))


def _pvalue(counts, law):
    """Chi-square p-value of counts against law; a count on a zero-probability token is p = 0."""
    if np.any(counts[law == 0] > 0):
        return 0.0
    on = law > 0
    if on.sum() == 1:
        return 1.0
    exp = law[on] * counts.sum()
    return float(scipy.stats.chisquare(counts[on], exp).pvalue)


def _law(x, t, k, p, m, profile):
    return token_probs(np.asarray(x, dtype=np.float32).astype(np.float64), f32(t), top_k=k, top_p=f32(p),
                       min_p=f32(m), profile=profile)


@pytest.mark.parametrize("name", list(PORTS))
def test_port_holds_its_own_profile(name):
    for i, (x, t, k, p, m) in enumerate(ROWS):
        row = (np.asarray(x, dtype=np.float32).astype(np.float64), f32(t), k, f32(p), f32(m))
        assert ambiguous(row, name, tol=1e-3) is None, (name, i)
        pv = _pvalue(_counts(PORTS[name], x, t, k, p, m, seed=100 + i), _law(x, t, k, p, m, name))
        assert pv > 1e-4, (name, i, pv)


@pytest.mark.parametrize("name", list(PORTS))
def test_port_is_rejected_under_every_other_profile(name):
    for other in PORTS:
        if other == name:
            continue
        r = discriminating_rows(name, other, max_rows=1)[0]
        x, t, k, p, m = r.row
        counts = _counts(PORTS[name], x, t, k, p, m, seed=7)
        assert _pvalue(counts, np.asarray(r.law_a)) > 1e-4, (name, other, r.label())
        assert _pvalue(counts, np.asarray(r.law_b)) < 1e-6, (name, other, r.label(), r.tv)


def test_mutant_dropped_crossing_is_rejected_under_llama_cpp():
    fn, prof, _, _ = MUTANTS["llama_cpp_dropped_crossing"]
    row = (np.log([0.5, 0.3, 0.15, 0.05]), 1.0, None, 0.7, None)  # the crossing token #1 has q = 0.3
    assert _pvalue(_counts(PORTS[prof], *row), _law(*row, prof)) > 1e-4
    assert _pvalue(_counts(fn, *row), _law(*row, prof)) < 1e-12


def test_mutant_temperature_after_top_p_is_rejected_under_hf():
    fn, prof, _, _ = MUTANTS["hf_temperature_after_top_p"]
    row = (np.log([0.5, 0.3, 0.15, 0.05]), 3.0, None, 0.7, None)  # T = 3 widens the nucleus to 3 tokens
    assert _pvalue(_counts(PORTS[prof], *row), _law(*row, prof)) > 1e-4
    assert _pvalue(_counts(fn, *row), _law(*row, prof)) < 1e-12


def test_mutant_rows_share_noise_is_rejected_under_vllm():
    fn, prof, _, _ = MUTANTS["vllm_rows_share_noise"]
    x = np.log([0.3, 0.25, 0.2, 0.15, 0.1]).astype(np.float32)
    law = _law(x, 1.0, None, None, None, prof)
    for f, independent in ((PORTS[prof], True), (fn, False)):
        # 50 calls of 400 identical rows; rows 2i and 2i + 1 are the pairs of TK.batch.pairs
        pairs = np.concatenate([torch.as_tensor(f(torch.tensor(np.tile(x, (400, 1))), 1.0, seed=seed))
                                .numpy().reshape(-1, 2) for seed in range(50)])
        table = np.bincount(pairs[:, 0] * 5 + pairs[:, 1], minlength=25).reshape(5, 5)
        pv = _pvalue(table.ravel(), np.outer(law, law).ravel())
        assert (pv > 1e-4) if independent else (pv < 1e-12), pv
        if independent:
            assert _pvalue(np.bincount(pairs.ravel(), minlength=5), law) > 1e-4
        else:
            assert np.all(pairs[:, 0] == pairs[:, 1])  # every pair equal: one noise vector for all rows


def test_mutant_masked_zero_exponential_draws_a_masked_token_under_vllm():
    from harness.probes.adversarial import adversarial_streams

    fn, prof, _, _ = MUTANTS["vllm_masked_zero_exponential"]
    x = np.full(64, NEG, dtype=np.float32)
    x[[3, 17, 40]] = [1.0, 0.5, 0.0]
    logits = torch.tensor(np.tile(x, (64, 1)))
    masked = ~np.isfinite(x)
    # without a boundary draw, both hold the law
    assert _pvalue(_counts(fn, x, 1.0, None, None, None), _law(x, 1.0, None, None, None, prof)) > 1e-4
    with adversarial_streams("u=0"):  # torch.rand returns exactly 0 on bursts: q = -log(1 - 0) = -0.0
        bad = torch.as_tensor(fn(logits, 1.0, seed=1)).numpy()
        good = torch.as_tensor(PORTS[prof](logits, 1.0, seed=1)).numpy()
    assert masked[bad].any()  # 0 / -0.0 = NaN at a masked token, and argmax returns it
    assert not masked[good].any()  # the port's exponential_ is untouched by the u=0 stream


def test_mlx_port_raises_on_top_k_at_least_v_like_mlx():
    with pytest.raises(ValueError, match="top_k"):
        PORTS["mlx-lm"](torch.zeros(2, 4), 1.0, top_k=4, seed=0)
    assert PROFILES["mlx-lm"].top_k_at_least_v == "error"
