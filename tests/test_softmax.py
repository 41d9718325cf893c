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


@pytest.mark.parametrize("seed", range(3))
def test_log_softmax_matches_mpmath(seed):
    rng = np.random.default_rng(100 + seed)
    x = rng.normal(scale=30, size=20)
    x[3] = -np.inf
    p_ref, lse_ref = _mp_softmax(x)
    ls = log_softmax(x)
    assert ls[3] == -np.inf
    finite = np.isfinite(x)
    np.testing.assert_allclose(ls[finite], x[finite] - lse_ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.exp(ls), p_ref, rtol=1e-12, atol=0)


def test_all_but_one_neg_inf_is_one_hot():
    np.testing.assert_array_equal(softmax([-np.inf, 2.0, -np.inf]), [0.0, 1.0, 0.0])
    assert logsumexp([-np.inf, 2.0, -np.inf]) == 2.0


def test_extreme_magnitudes_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(softmax([1e308, -1e308]), [1.0, 0.0])
        np.testing.assert_array_equal(log_softmax([1e308, -1e308]), [0.0, -np.inf])
        assert logsumexp([1e308, -1e308]) == 1e308
        np.testing.assert_array_equal(softmax(np.array([3e38, -3e38], dtype=np.float32)), [1.0, 0.0])


@pytest.mark.parametrize("x", [np.array([1, 2, 3], dtype=np.int64), np.array([True, False]),
                               np.array([0.5, 1.5], dtype=np.float16)])
def test_integer_bool_and_half_inputs_are_float64(x):
    p = softmax(x)
    assert p.dtype == np.float64
    np.testing.assert_allclose(p, softmax(x.astype(np.float64)), rtol=0, atol=0)


@pytest.mark.parametrize("bad", [np.array([1 + 1j]), np.array(["a", "b"]), np.array([object(), 1.0], dtype=object)])
def test_non_real_dtypes_raise(bad):
    with pytest.raises(LogitsError, match="real numbers"):
        softmax(bad)


def test_axis_errors_and_empty_batch():
    with pytest.raises(LogitsError, match="out of range"):
        softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(LogitsError, match="integer"):
        softmax(np.zeros((2, 3)), axis=None)
    with pytest.raises(LogitsError, match="empty"):
        softmax(np.zeros((2, 0)))
    assert softmax(np.zeros((0, 3))).shape == (0, 3)
    assert logsumexp(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(LogitsError, match="all -inf"):
        softmax(np.array([[0.0, 1.0], [-np.inf, -np.inf]]))
    with pytest.raises(LogitsError, match="all -inf"):
        softmax(np.array([[0.0, -np.inf], [1.0, -np.inf]]), axis=0)


def test_axis_other_than_last_matches_moved_axis():
    x = np.random.default_rng(7).normal(size=(3, 4, 5))
    for axis in (0, 1, -2):
        np.testing.assert_allclose(softmax(x, axis=axis), np.moveaxis(softmax(np.moveaxis(x, axis, -1)), -1, axis),
                                   rtol=1e-15, atol=0)
        np.testing.assert_allclose(softmax(x, axis=axis).sum(axis=axis), 1.0, rtol=0, atol=4e-16)
