"""Closed-form softmax / log-softmax / logsumexp against mpmath at 50 digits, and bad input."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from reference.softmax import LogitsError, log_softmax, logsumexp, softmax


def _mp_softmax(x):
    mpmath.mp.dps = 50
    e = [mpmath.e ** mpmath.mpf(float(v)) if np.isfinite(v) else mpmath.mpf(0) for v in x]
    s = mpmath.fsum(e)
    return np.array([float(v / s) for v in e]), float(mpmath.log(s))


@pytest.mark.parametrize("seed", range(5))
def test_softmax_matches_mpmath(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=10, size=int(rng.integers(1, 50)))
    p_ref, lse_ref = _mp_softmax(x)
    np.testing.assert_allclose(softmax(x), p_ref, rtol=1e-12, atol=0)
    assert abs(logsumexp(x) - lse_ref) <= 1e-12 * max(1.0, abs(lse_ref))


def test_neg_inf_is_probability_zero():
    p = softmax([0.0, -np.inf, np.log(3.0)])
    np.testing.assert_allclose(p, [0.25, 0.0, 0.75], rtol=1e-15)
    assert log_softmax([0.0, -np.inf])[1] == -np.inf


@pytest.mark.parametrize("scale", [1000.0, 1e5, 1e30])
def test_huge_magnitudes_do_not_overflow(scale):
    p = softmax([scale, -scale, 0.0])
    np.testing.assert_array_equal(p, [1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "bad, match",
    [([np.nan, 0.0], "NaN"), ([np.inf, 0.0], r"\+inf"), ([-np.inf, -np.inf], "all -inf"),
     (np.zeros(0), "empty"), (np.float64(1.0), "scalar")],
)
@pytest.mark.parametrize("fn", [softmax, log_softmax, logsumexp])
def test_bad_logits_raise(fn, bad, match):
    with pytest.raises(LogitsError, match=match):
        fn(bad)


def test_axis_and_float32():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    p0 = softmax(x, axis=0)
    assert p0.dtype == np.float32
    np.testing.assert_allclose(p0.sum(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p0, softmax(x.T.astype(np.float64)).T, rtol=1e-6)
