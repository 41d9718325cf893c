"""The token laws (reference/token_laws.py) against brute-force enumeration, hand-computed
cases for every filter, the HuggingFace warpers' kept sets (when transformers is installed),
and the reference torch token sampler's filter stage against the law."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reference.token_laws import (
    kept_mask,
    token_probs,
    token_probs_batch,
    token_probs_bruteforce,
    validate_token_params,
)

NEG = -math.inf


def _boundary_free(x, t, k, p, m):
    """No top-p prefix mass and no min-p ratio within 1e-9 of its threshold (the vectorised
    cumsum and the brute-force fsum may round differently exactly there)."""
    if t == 0:
        return True
    z = np.asarray(x, dtype=np.float64) / t
    keep = np.isfinite(z)
    if k and 0 < k < z.size:
        keep &= z >= np.sort(z)[::-1][k - 1]
    if p is not None and p < 1:
        q = np.where(keep, np.exp(z - z[keep].max()), 0.0)
        q /= q.sum()
        c = np.cumsum(np.sort(q)[::-1])
        if np.any(np.abs(c - p) < 1e-9):
            return False
    if m:
        r = np.exp(z[np.isfinite(z)] - z[np.isfinite(z)].max())
        if np.any(np.abs(r - m) < 1e-9):
            return False
    return True


logit_rows = st.lists(st.one_of(st.integers(-4, 4).map(float), st.just(NEG),
                                st.floats(-5, 5, allow_nan=False)), min_size=1, max_size=9).filter(
    lambda r: any(v != NEG for v in r))


@settings(max_examples=300, deadline=None)
@given(x=logit_rows, t=st.sampled_from([0.0, 1e-5, 0.3, 1.0, 2.5]),
       k=st.one_of(st.none(), st.integers(0, 10)),
       p=st.one_of(st.none(), st.floats(0.05, 1.0)),
       m=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_law_equals_bruteforce_enumeration(x, t, k, p, m):
    assume(_boundary_free(x, t, k, p, m))
    a = token_probs(x, t, top_k=k, top_p=p, min_p=m)
    b = np.array(token_probs_bruteforce(x, t, top_k=k, top_p=p, min_p=m))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
    assert abs(a.sum() - 1) < 1e-12
    assert np.all(a[np.isneginf(np.asarray(x))] == 0)  # masked tokens: probability exactly 0


def test_top_k_keeps_every_token_tied_with_the_kth_value():
    x = [3.0, 1.0, 2.0, 1.0, 1.0, 0.0]
    keep = kept_mask(x, 1.0, top_k=3)
    assert keep.tolist() == [True, True, True, True, True, False]  # 5 tokens survive k = 3
    p = token_probs(x, 1.0, top_k=3)
    e = np.exp([3.0, 1, 2, 1, 1])
    np.testing.assert_allclose(p[:5], e / e.sum())
    assert kept_mask(x, 1.0, top_k=2).sum() == 2 and kept_mask(x, 1.0, top_k=100).sum() == 6


def test_top_k_counts_masked_tokens():
    x = [0.0, NEG, 1.0, NEG]
    assert kept_mask(x, 1.0, top_k=3).tolist() == [True, False, True, False]


def test_top_p_keeps_the_token_that_crosses_p():
    q = np.array([0.5, 0.3, 0.15, 0.05])
    x = np.log(q)
    assert kept_mask(x, 1.0, top_p=0.6).tolist() == [True, True, False, False]  # 0.5 < 0.6: keep #1
    assert kept_mask(x, 1.0, top_p=0.5).tolist() == [True, False, False, False]  # mass before #1 = 0.5
    assert kept_mask(x, 1.0, top_p=0.81).tolist() == [True, True, True, False]
    assert kept_mask(x, 1.0, top_p=0.01).tolist() == [True, False, False, False]  # top token always kept
    np.testing.assert_allclose(token_probs(x, 1.0, top_p=0.6)[:2], [0.625, 0.375])


def test_top_p_is_computed_at_the_temperature():
    x = np.log([0.5, 0.3, 0.15, 0.05])
    # at T = 1 the 0.7 prefix is {0, 1}; at T = 3 the distribution is flatter and needs 3 tokens
    assert kept_mask(x, 1.0, top_p=0.7).sum() == 2
    assert kept_mask(x, 3.0, top_p=0.7).sum() == 3


def test_min_p_is_relative_to_the_max_probability_at_temperature():
    x = np.log([0.4, 0.2, 0.1, 0.05, 0.25])
    # q_i >= 0.3 * 0.4 = 0.12 at T = 1
    assert kept_mask(x, 1.0, min_p=0.3).tolist() == [True, True, False, False, True]
    # at T = 0.5 ratios are squared: (q_i / q_max)^2 >= 0.3 keeps only ratio >= 0.548
    assert kept_mask(x, 0.5, min_p=0.3).tolist() == [True, False, False, False, True]
    assert kept_mask(x, 1.0, min_p=1.0).tolist() == [True, False, False, False, False]


def test_min_p_after_top_p_order():
    x = np.log([0.4, 0.3, 0.2, 0.1])
    # top-p 0.7 keeps {0, 1}; then min-p is relative to the renormalised max (same ratios)
    assert kept_mask(x, 1.0, top_p=0.7, min_p=0.5).tolist() == [True, True, False, False]


def test_greedy_lowest_index_on_ties_and_tiny_temperature_is_not_greedy():
    assert token_probs([1.0, 3.0, 3.0, 0.0], 0.0).tolist() == [0, 1, 0, 0]
    p = token_probs([1.0, 3.0, 3.0, 0.0], 1e-5)
    np.testing.assert_allclose(p, [0, 0.5, 0.5, 0], atol=1e-300)
    p = token_probs([0.0, -1e-5, -2e-5, -1.0], 1e-5)
    e = np.exp([0.0, -1.0, -2.0])
    np.testing.assert_allclose(p[:3], e / e.sum(), rtol=1e-9)
    assert p[3] == 0.0 and np.all(np.isfinite(p))


def test_large_logits_and_batch():
    x = np.array([[1e4, 1e4 - 1, -1e4], [0.0, NEG, 1.0]])
    p = token_probs_batch(x, [0.5, 1.0], top_k=[0, 1])
    e = np.exp([0.0, -2.0])
    np.testing.assert_allclose(p[0, :2], e / e.sum())
    assert p[1].tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("kw, msg", [
    (dict(temperature=-1.0), "temperature"), (dict(temperature=math.nan), "temperature"),
    (dict(temperature=math.inf), "temperature"), (dict(top_k=-1), "top_k"), (dict(top_k=1.5), "top_k"),
    (dict(top_p=0.0), "top_p"), (dict(top_p=1.5), "top_p"), (dict(top_p=math.nan), "top_p"),
    (dict(min_p=-0.1), "min_p"), (dict(min_p=2.0), "min_p"),
])
def test_bad_parameters_raise(kw, msg):
    args = dict(temperature=1.0) | kw
    with pytest.raises(ValueError, match=msg):
        validate_token_params(**args)


@pytest.mark.parametrize("x, msg", [([0.0, math.nan], "NaN"), ([0.0, math.inf], r"\+inf"),
                                    ([NEG, NEG], "all -inf"), ([], "empty")])
def test_bad_logits_raise(x, msg):
    with pytest.raises(ValueError, match=msg):
        token_probs(np.array(x, dtype=np.float64), 1.0)


@settings(max_examples=150, deadline=None)
@given(x=logit_rows, t=st.sampled_from([1e-5, 0.5, 1.0, 2.0]),
       k=st.one_of(st.none(), st.integers(0, 10)),
       p=st.one_of(st.none(), st.floats(0.05, 1.0)),
       m=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_torch_reference_filters_equal_the_law(x, t, k, p, m):
    import torch

    from reference.torch_token_sampler import filter_scores, row_tensors

    assume(_boundary_free(x, t, k, p, m))
    xt = torch.tensor([x], dtype=torch.float64)
    _, keep = filter_scores(xt, *row_tensors(1, xt.device, t, k, p, m))
    assert keep[0].tolist() == kept_mask(x, t, top_k=k, top_p=p, min_p=m).tolist()


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers not installed")
@settings(max_examples=150, deadline=None)
@given(x=st.lists(st.floats(-6, 6, allow_nan=False), min_size=2, max_size=12, unique=True),
       t=st.sampled_from([0.5, 1.0, 2.0]),
       k=st.one_of(st.none(), st.integers(1, 12)),
       p=st.one_of(st.none(), st.floats(0.05, 0.99)),
       m=st.one_of(st.none(), st.floats(0.01, 0.9)))
def test_huggingface_warpers_keep_the_same_tokens(x, t, k, p, m):
    """The HF semantics claim: TemperatureLogitsWarper, TopK, TopP, MinP (in generate's order)
    keep exactly kept_mask's tokens (float64 scores, no ties, no boundary within 1e-9)."""
    import torch
    from transformers import (MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper,
                              TopPLogitsWarper)

    assume(_boundary_free(x, t, k, p, m))
    s = torch.tensor([x], dtype=torch.float64)
    ids = torch.zeros((1, 1), dtype=torch.long)
    s = TemperatureLogitsWarper(t)(ids, s)
    if k is not None:
        s = TopKLogitsWarper(k)(ids, s)
    if p is not None:
        s = TopPLogitsWarper(p)(ids, s)
    if m is not None:
        s = MinPLogitsWarper(m)(ids, s)
    hf = torch.isfinite(s[0]).tolist()
    assert hf == kept_mask(x, t, top_k=k, top_p=p, min_p=m).tolist()
