"""The exact laws of ``reference.laws`` against closed forms, mpmath, quadrature and torch.

Everything is deterministic (quadrature, mpmath, fixed seeds for the test points only); the
tolerances are those of float64 arithmetic and of the quadrature's own error estimate.
"""
from __future__ import annotations

import math
from itertools import permutations

import mpmath
import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from scipy import integrate
from scipy.special import expit, log_expit

from reference import laws
from reference.softmax import LogitsError, softmax

RNG_POINTS = np.random.default_rng(20240601)


def _d5(fun, x, h, step=None):
    """Five-point central difference (truncation O(h^4)); ``step`` = |h| when h is a vector."""
    return (-fun(x + 2 * h) + 8 * fun(x + h) - 8 * fun(x - h) + fun(x - 2 * h)) / (12 * (h if step is None else step))


def _assert_exp_close(actual, desired):
    """A value e^{-a} computed from an a with relative rounding eps carries a relative error
    a * eps (the conditioning of exp): tolerance 4 eps (1 + |log desired|)."""
    desired = np.asarray(desired, dtype=np.float64)
    with np.errstate(divide="ignore"):
        tol = 4 * np.finfo(float).eps * (1.0 + np.abs(np.log(desired)))
    tol = np.where(np.isfinite(tol), tol, 0.0)
    np.testing.assert_array_less(np.abs(np.asarray(actual) - desired), tol * np.abs(desired) + 1e-300)


# ------------------------------------------------------------------------------------------
# Gumbel law
# ------------------------------------------------------------------------------------------
G_GRID = np.array([-6.0, -5.0, -3.0, -1.0, -0.3, 0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0])


def test_gumbel_cdf_logpdf_sf_match_mpmath():
    mpmath.mp.dps = 40
    for g in G_GRID:
        e = mpmath.exp(-mpmath.mpf(g))
        cdf = mpmath.exp(-e)
        # exp(-e^{-g}) amplifies the rounding of e^{-g} by e^{-g} (403 at g = -6): inherent
        rel = 1e-15 * (4.0 + math.exp(-g))
        assert laws.gumbel_cdf(g) == pytest.approx(float(cdf), rel=rel, abs=0)
        assert laws.gumbel_sf(g) == pytest.approx(float(1 - cdf), rel=rel, abs=0)
        assert laws.gumbel_logpdf(g) == pytest.approx(float(-g - e), rel=1e-14, abs=0)
        assert laws.gumbel_pdf(g) == pytest.approx(float(mpmath.exp(-g - e)), rel=rel, abs=0)
        assert laws.gumbel_logcdf(g) == pytest.approx(float(-e), rel=1e-14, abs=0)


def test_gumbel_logpdf_minus_five_no_underflow():
    """pytorch#15681: Gumbel.log_prob(-5) was -inf; the true value is 5 - e^5 = -143.4132."""
    mpmath.mp.dps = 40
    ref = float(5 - mpmath.exp(5))
    assert ref == pytest.approx(-143.41315910257660, rel=1e-15)
    assert laws.gumbel_logpdf(-5.0) == pytest.approx(ref, rel=1e-15, abs=0)
    # far left: finite as long as e^{-g} is finite; the exact answer below is beyond float64
    assert laws.gumbel_logpdf(-700.0) == pytest.approx(float(700 - mpmath.exp(700)), rel=1e-14)
    assert laws.gumbel_logpdf(-800.0) == -np.inf
    np.testing.assert_array_equal(laws.gumbel_logpdf([-np.inf, np.inf]), [-np.inf, -np.inf])
    np.testing.assert_array_equal(laws.gumbel_cdf([-np.inf, np.inf]), [0.0, 1.0])
    np.testing.assert_array_equal(laws.gumbel_sf([-np.inf, np.inf]), [1.0, 0.0])


def test_gumbel_matches_scipy_gumbel_r():
    g = np.linspace(-4, 30, 200)
    np.testing.assert_allclose(laws.gumbel_cdf(g), scipy.stats.gumbel_r.cdf(g), rtol=1e-13, atol=0)
    np.testing.assert_allclose(laws.gumbel_logpdf(g, 1.5, 2.0),
                               scipy.stats.gumbel_r.logpdf(g, 1.5, 2.0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(laws.gumbel_sf(g), scipy.stats.gumbel_r.sf(g), rtol=1e-12, atol=0)


@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (2.5, 0.7), (-40.0, 3.0)])
def test_gumbel_cdf_derivative_is_pdf(loc, scale):
    g = loc + scale * np.linspace(-2.5, 12.0, 60)
    h = 1e-3 * scale
    num = _d5(lambda v: laws.gumbel_cdf(v, loc, scale), g, h)
    np.testing.assert_allclose(num, laws.gumbel_pdf(g, loc, scale), rtol=0, atol=2e-11 / scale)


@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (2.5, 0.7)])
def test_gumbel_pdf_integrates_to_cdf(loc, scale):
    for g in loc + scale * np.array([-2.0, 0.0, 1.0, 6.0]):
        val, err = integrate.quad(lambda v: laws.gumbel_pdf(v, loc, scale), -np.inf, g,
                                  epsabs=1e-14, epsrel=1e-13)
        assert abs(val - laws.gumbel_cdf(g, loc, scale)) <= 1e-12
    total, _ = integrate.quad(lambda v: laws.gumbel_pdf(v, loc, scale), -np.inf, np.inf,
                              epsabs=1e-14, epsrel=1e-13)
    assert total == pytest.approx(1.0, abs=1e-12)


def test_gumbel_ppf_and_isf_invert_cdf_and_sf():
    q = np.concatenate([np.logspace(-300, -1, 40), np.linspace(0.05, 0.95, 19), 1 - np.logspace(-1, -15, 15)])
    _assert_exp_close(laws.gumbel_cdf(laws.gumbel_ppf(q)), q)
    s = np.logspace(-300, -0.1, 60)
    _assert_exp_close(laws.gumbel_sf(laws.gumbel_isf(s)), s)
    g = np.linspace(-3.0, 10.0, 53)
    # condition number of g -> F(g): |dg| = eps * F / f, largest (2.5e-12) at g = 10
    np.testing.assert_allclose(laws.gumbel_ppf(laws.gumbel_cdf(g)), g, rtol=0, atol=5e-12)
    g = np.linspace(0.0, 700.0, 71)
    np.testing.assert_allclose(laws.gumbel_isf(laws.gumbel_sf(g)), g, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(laws.gumbel_ppf([0.0, 1.0]), [-np.inf, np.inf])
    assert np.isnan(laws.gumbel_ppf(1.5))
    # the float noise caps of the torch reference (u = 1 - 2^-d)
    assert laws.gumbel_isf(2.0 ** -53) == pytest.approx(36.7368005696771, rel=1e-14)
    assert laws.gumbel_isf(2.0 ** -24) == pytest.approx(16.635532303636364, rel=1e-14)
    assert laws.gumbel_ppf(0.3, loc=2.0, scale=3.0) == pytest.approx(2.0 + 3.0 * laws.gumbel_ppf(0.3), rel=1e-15)


@pytest.mark.parametrize("scale", [0.0, -1.0, np.nan, np.inf])
def test_gumbel_bad_scale(scale):
    for fn in (laws.gumbel_cdf, laws.gumbel_logpdf, laws.gumbel_sf, laws.gumbel_ppf, laws.gumbel_isf):
        with pytest.raises(ValueError, match="scale"):
            fn(0.5, 0.0, scale)


def test_max_cdf_is_product_of_gumbel_cdfs():
    """T2: P(max_i (x_i + g_i) <= m) = prod_i F(m - x_i) exactly; -inf logits contribute 1."""
    for _ in range(5):
        x = RNG_POINTS.normal(scale=3.0, size=6)
        x[2] = -np.inf
        m = np.linspace(-3, 15, 37)
        prod = np.prod(laws.gumbel_cdf(m[:, None] - x[None, :]), axis=1)
        _assert_exp_close(laws.max_cdf(m, x), prod)
    with pytest.raises(LogitsError, match="NaN"):
        laws.max_cdf(0.0, [0.0, np.nan])
    with pytest.raises(LogitsError, match="all -inf"):
        laws.max_cdf(0.0, [-np.inf, -np.inf])


def test_max_cdf_by_quadrature_of_the_max_density():
    """T2 from scratch: the density of the max is sum_i f(m - x_i) prod_{j != i} F(m - x_j)."""
    x = np.array([0.3, -1.2, 2.0])

    def dens(m):
        f = laws.gumbel_pdf(m - x)
        big_f = laws.gumbel_cdf(m - x)
        return sum(f[i] * np.prod(np.delete(big_f, i)) for i in range(3))

    for m in (-1.0, 1.5, 4.0):
        val, _ = integrate.quad(dens, -np.inf, m, epsabs=1e-14, epsrel=1e-13)
        assert val == pytest.approx(float(laws.max_cdf(m, x)), abs=1e-12)


# ------------------------------------------------------------------------------------------
# Logistic law and the joint law of log-ratios (C2)
# ------------------------------------------------------------------------------------------
def test_logistic_cdf_and_logpdf():
    t = np.concatenate([np.linspace(-40, 40, 81), [-800.0, 800.0]])
    np.testing.assert_allclose(laws.logistic_cdf(t), scipy.stats.logistic.cdf(t), rtol=1e-14, atol=0)
    np.testing.assert_allclose(laws.logistic_logpdf(t), scipy.stats.logistic.logpdf(t), rtol=1e-14, atol=0)
    assert laws.logistic_logpdf(800.0) == pytest.approx(-800.0, rel=1e-15)
    tt = np.linspace(-20, 20, 41)
    num = _d5(laws.logistic_cdf, tt, 1e-3)
    np.testing.assert_allclose(num, np.exp(laws.logistic_logpdf(tt)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("t", [-6.0, -1.0, 0.0, 0.7, 5.0, 25.0])
def test_difference_of_gumbels_is_logistic_by_quadrature(t):
    """P(g_1 - g_2 <= t) = int f(g) F(g + t) dg = sigma(t)."""
    val, _ = integrate.quad(lambda g: laws.gumbel_pdf(g) * laws.gumbel_cdf(g + t), -np.inf, np.inf,
                            epsabs=1e-14, epsrel=1e-13)
    assert val == pytest.approx(float(laws.logistic_cdf(t)), abs=1e-12)


def test_logratio_joint_cdf_k2_and_marginals_are_logistic():
    t = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(laws.logratio_joint_cdf(t[:, None]), expit(t), rtol=1e-14, atol=0)
    for k in (3, 5):
        for i in range(k - 1):
            tt = np.full((t.size, k - 1), np.inf)
            tt[:, i] = t
            np.testing.assert_allclose(laws.logratio_joint_cdf(tt), expit(t), rtol=1e-14, atol=0)
    # empty event (K = 1): probability 1; a -inf constraint: probability 0
    assert laws.logratio_joint_cdf(np.zeros(0)) == 1.0
    assert laws.logratio_joint_cdf([-np.inf, 3.0]) == 0.0
    assert laws.logratio_joint_cdf([np.inf, np.inf]) == 1.0


@pytest.mark.parametrize("k", [3, 4, 6])
def test_logratio_joint_cdf_by_quadrature(k):
    """P(g_i - g_K <= t_i for all i < K) = int f(g) prod_i F(g + t_i) dg, on random boxes."""
    for _ in range(4):
        t = RNG_POINTS.normal(scale=3.0, size=k - 1)
        val, _ = integrate.quad(lambda g: laws.gumbel_pdf(g) * np.prod(laws.gumbel_cdf(g + t)),
                                -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)
        assert val == pytest.approx(float(laws.logratio_joint_cdf(t)), abs=1e-12)


def test_logratio_joint_cdf_extreme_values_vs_mpmath():
    mpmath.mp.dps = 50
    for t in ([-800.0, 0.0], [-700.0, -710.0, 3.0], [50.0, 60.0], [1e-3, -1e-3]):
        ref = 1 / (1 + mpmath.fsum(mpmath.exp(-mpmath.mpf(v)) for v in t))
        assert laws.logratio_joint_cdf(t) == pytest.approx(float(ref), rel=1e-13, abs=0)


def test_logratio_joint_logpdf_is_mixed_derivative_of_cdf():
    """K = 3: d^2 F / dt1 dt2 by nested five-point differences equals the joint density."""
    for _ in range(5):
        t = RNG_POINTS.normal(scale=1.5, size=2)
        h = 1e-2

        def d1(a):
            return _d5(lambda b: laws.logratio_joint_cdf(np.array([a, b])), t[1], h)

        num = _d5(d1, t[0], h)
        assert num == pytest.approx(float(np.exp(laws.logratio_joint_logpdf(t))), abs=1e-9)


# Trapezoid rule on R^2 for the K = 3 integrals below. In the log-ratio coordinates t the
# integrands are analytic in the strip |Im t| < pi (the nearest singularity solves
# 1 + e^{-t_1} + e^{-t_2} = 0) and decay like e^{-|t|}: the trapezoid error with step H is
# ~ e^{-2 pi^2 / H} (1e-34 at H = 0.25) and truncating at |t| = 45 drops ~ e^{-45} = 3e-20.
# So these sums are exact to float64 rounding, vectorised (130k points), and fast.
H_TRAP = 0.25
T_GRID = np.arange(-45.0, 45.0 + H_TRAP / 2, H_TRAP)


def _trapezoid_r2(log_integrand):
    t1, t2 = np.meshgrid(T_GRID, T_GRID, indexing="ij")
    t = np.stack([t1.ravel(), t2.ravel()], axis=-1)
    return float(np.exp(log_integrand(t)).sum() * H_TRAP ** 2)


def test_logratio_joint_logpdf_integrates_to_one():
    val, _ = integrate.quad(lambda t: float(np.exp(laws.logratio_joint_logpdf([t]))), -np.inf, np.inf,
                            epsabs=1e-14, epsrel=1e-13)
    assert val == pytest.approx(1.0, abs=1e-12)
    assert _trapezoid_r2(laws.logratio_joint_logpdf) == pytest.approx(1.0, abs=1e-12)
    # the trapezoid rule is a real check: a density off by a factor (1 + 1e-9) is seen
    assert abs(_trapezoid_r2(lambda t: laws.logratio_joint_logpdf(t) + 1e-9) - 1.0) > 5e-10


@pytest.mark.slow
def test_logratio_joint_logpdf_integrates_to_one_dblquad():
    f = lambda t2, t1: float(np.exp(laws.logratio_joint_logpdf(np.array([t1, t2]))))  # noqa: E731
    val, _ = integrate.dblquad(f, -45, 45, -45, 45, epsabs=1e-11, epsrel=1e-11)
    assert val == pytest.approx(1.0, abs=1e-9)


# ------------------------------------------------------------------------------------------
# Concrete density (C1)
# ------------------------------------------------------------------------------------------
def _logy_from_ratios(s):
    """log y for y = softmax(s_1, .., s_{K-1}, 0), with s = log(y_i / y_K)."""
    z = np.concatenate([np.asarray(s, dtype=np.float64), [0.0]])
    m = z.max()
    return z - (m + np.log(np.exp(z - m).sum()))


@pytest.mark.parametrize("temperature", [0.05, 0.3, 1.0, 2.5])
def test_concrete_logpdf_in_logratio_coordinates_is_the_c2_density(temperature):
    """C1 -> C2: with s_i = log(y_i/y_K) the Jacobian d(y_1..y_{K-1})/d(s) is prod_k y_k; with
    t_i = T s_i - (x_i - x_K) it is 1/T^{K-1}. The transformed C1 density must be the joint
    density of Gumbel differences, free of T and x: a pointwise identity, any T, any K."""
    for k in (2, 3, 5):
        x = RNG_POINTS.normal(scale=2.0, size=k)
        for _ in range(6):
            t = RNG_POINTS.normal(scale=2.0, size=k - 1)
            s = (t + (x[:-1] - x[-1])) / temperature
            ly = _logy_from_ratios(s)
            lhs = laws.concrete_logpdf(None, x, temperature, log_y=ly) + ly.sum() - (k - 1) * math.log(temperature)
            assert lhs == pytest.approx(float(laws.logratio_joint_logpdf(t)), rel=1e-12, abs=1e-11)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 3.0])
def test_concrete_density_integrates_to_one_k2(temperature):
    """K = 2: int_0^1 p(y, 1 - y) dy = 1. Singular at the ends for T < 1, so integrate in the
    log-ratio coordinate r = T logit(y) - (x_1 - x_2): dy = y(1-y)/T dr (exact change of
    variables, smooth integrand with exponential tails)."""
    x = np.array([0.4, -1.3])
    d = x[0] - x[1]

    def integrand(r):
        s = (r + d) / temperature
        ly = np.array([log_expit(s), log_expit(-s)])
        return math.exp(laws.concrete_logpdf(None, x, temperature, log_y=ly) + ly.sum()) / temperature

    val, err = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13)
    assert val == pytest.approx(1.0, abs=1e-11)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_concrete_density_integrates_to_one_k2_direct(temperature):
    """T >= 1: the density in y itself is bounded, integrate on (0, 1) directly."""
    x = np.array([0.4, -1.3])
    val, _ = integrate.quad(lambda y: math.exp(laws.concrete_logpdf([y, 1 - y], x, temperature)),
                            0.0, 1.0, epsabs=1e-13, epsrel=1e-13)
    assert val == pytest.approx(1.0, abs=1e-11)


@pytest.mark.parametrize("temperature", [0.05, 0.2, 0.7, 1.0, 2.0, 10.0])
def test_concrete_density_integrates_to_one_k3(temperature):
    """K = 3 over R^2 in the coordinates t_i = T log(y_i/y_3) - (x_i - x_3) (exact change of
    variables, Jacobian y_1 y_2 y_3 / T^2), by the trapezoid rule above: T < 1 makes the density
    in y singular at the simplex boundary, but not in t."""
    x = np.array([0.2, -0.8, 1.1])

    def log_integrand(t):
        s = (t + (x[:-1] - x[-1])) / temperature
        z = np.concatenate([s, np.zeros((s.shape[0], 1))], axis=-1)
        ly = z - scipy.special.logsumexp(z, axis=-1, keepdims=True)
        return laws.concrete_logpdf(None, x, temperature, log_y=ly) + ly.sum(-1) - 2 * math.log(temperature)

    assert _trapezoid_r2(log_integrand) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_concrete_density_integrates_to_one_k3_on_the_simplex(temperature):
    """K = 3 directly on the simplex {y_1 + y_2 < 1}: bounded or integrably singular for T >= 1."""
    x = np.array([0.2, -0.8, 1.1])

    def integrand(y2, y1):
        y3 = 1.0 - y1 - y2
        if y3 <= 0:
            return 0.0
        return math.exp(laws.concrete_logpdf([y1, y2, y3], x, temperature))

    val, _ = integrate.dblquad(integrand, 0, 1, 0, lambda y1: 1 - y1, epsabs=1e-9, epsrel=1e-9)
    assert val == pytest.approx(1.0, abs=1e-6)


def test_concrete_k2_equals_binary_concrete_density():
    u = np.linspace(1e-6, 1 - 1e-6, 101)
    for temperature in (0.1, 0.5, 1.0, 4.0):
        for d in (-3.0, 0.0, 1.7):
            x = np.array([d / 2 + 0.3, -d / 2 + 0.3])
            c1 = laws.concrete_logpdf(np.stack([u, 1 - u], -1), x, temperature)
            np.testing.assert_allclose(c1, laws.binary_concrete_logpdf(u, d, temperature), rtol=1e-12, atol=1e-12)


def test_concrete_logpdf_vs_mpmath_at_extreme_points():
    """Small T, log y of order -1e3 (y underflows in float64): log_y path vs 50-digit formula."""
    mpmath.mp.dps = 50
    x = np.array([1.0, -2.0, 0.5])
    for temperature, ly in ((0.01, [-800.0, -3.0, 0.0]), (0.3, [-2.0, -1.0, 0.0]), (5.0, [-50.0, -60.0, 0.0])):
        ly = np.array(ly)
        ly = ly - float(mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in ly)))
        k, lam = 3, mpmath.mpf(temperature)
        lyp = [mpmath.mpf(v) for v in ly]
        ref = (mpmath.log(mpmath.factorial(k - 1)) + (k - 1) * mpmath.log(lam)
               + mpmath.fsum(mpmath.mpf(xi) - (lam + 1) * v for xi, v in zip(x, lyp))
               - k * mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(xi) - lam * v) for xi, v in zip(x, lyp))))
        got = laws.concrete_logpdf(None, x, temperature, log_y=ly)
        assert got == pytest.approx(float(ref), rel=1e-12)
        y = np.exp(ly)
        if np.all(y > 0):
            assert laws.concrete_logpdf(y, x, temperature) == pytest.approx(float(ref), rel=1e-12)
        else:  # y underflowed to exactly 0: the boundary has density 0 (documented), never NaN
            assert laws.concrete_logpdf(y, x, temperature) == -np.inf


@pytest.mark.parametrize("k", [2, 3, 7])
@pytest.mark.parametrize("temperature", [0.1, 0.66, 1.0, 3.0])
def test_concrete_logpdf_equals_torch_relaxed_one_hot_log_prob(k, temperature):
    """torch's RelaxedOneHotCategorical.log_prob is C1 itself (to 1e-12); its
    ExpRelaxedCategorical.log_prob(log y) is C1 + sum_k log y_k over *all* K coordinates
    (torch subtracts the log-Jacobian of exp summed over all K entries)."""
    from torch.distributions import RelaxedOneHotCategorical
    from torch.distributions.relaxed_categorical import ExpRelaxedCategorical

    x = RNG_POINTS.normal(scale=1.5, size=k)
    ly = np.stack([_logy_from_ratios(RNG_POINTS.normal(scale=2.0, size=k - 1)) for _ in range(8)])
    ours = laws.concrete_logpdf(np.exp(ly), x, temperature)
    tt = torch.tensor(temperature, dtype=torch.float64)
    dist = RelaxedOneHotCategorical(tt, logits=torch.tensor(x), validate_args=False)
    theirs = dist.log_prob(torch.tensor(np.exp(ly))).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    exp_dist = ExpRelaxedCategorical(tt, logits=torch.tensor(x), validate_args=False)
    np.testing.assert_allclose(exp_dist.log_prob(torch.tensor(ly)).numpy(), ours + ly.sum(-1), rtol=1e-12, atol=1e-12)


def test_torch_exp_relaxed_log_prob_is_not_a_density_of_the_first_log_coordinates():
    """Finding: exp(ExpRelaxedCategorical.log_prob(v)) integrated over v_1 (K = 2, v_2 =
    log(1 - e^{v_1})) gives E[y_2], not 1: it is a density w.r.t. dv_1 / y_2. The normalised
    density of v_1 is C1 + log y_1 (dy_1 = y_1 dv_1), in general C1 + sum_{k<K} log y_k."""
    from torch.distributions.relaxed_categorical import ExpRelaxedCategorical

    x, temperature = np.array([0.5, -0.5]), 1.0
    dist = ExpRelaxedCategorical(torch.tensor(temperature, dtype=torch.float64), logits=torch.tensor(x),
                                 validate_args=False)

    def ly_of(v1):
        return np.array([v1, np.log(-np.expm1(v1))])

    exp_total, _ = integrate.quad(lambda v: math.exp(float(dist.log_prob(torch.tensor(ly_of(v))))),
                                  -np.inf, 0.0, epsabs=1e-13, epsrel=1e-12)
    ours_total, _ = integrate.quad(lambda v: math.exp(laws.concrete_logpdf(None, x, temperature, log_y=ly_of(v)) + v),
                                   -np.inf, 0.0, epsabs=1e-13, epsrel=1e-12)
    e_y2, _ = integrate.quad(lambda u: (1 - u) * math.exp(laws.binary_concrete_logpdf(u, 1.0, temperature)),
                             0.0, 1.0, epsabs=1e-13, epsrel=1e-12)
    assert ours_total == pytest.approx(1.0, abs=1e-10)
    assert exp_total == pytest.approx(e_y2, abs=1e-10)
    assert abs(exp_total - 1.0) > 0.1


def test_concrete_logpdf_bad_inputs_and_boundary():
    x = np.array([0.0, 1.0, -1.0])
    y = np.array([0.2, 0.3, 0.5])
    assert np.isfinite(laws.concrete_logpdf(y, x, 0.5))
    for bad_t in (0.0, -1.0, np.nan, np.inf, "a", None, True):
        with pytest.raises(ValueError, match="temperature"):
            laws.concrete_logpdf(y, x, bad_t)
    for bad_x, match in (([0.0, np.nan, 1.0], "finite"), ([0.0, np.inf, 1.0], "finite"),
                         ([0.0, -np.inf, 1.0], "finite")):
        with pytest.raises(ValueError, match=match):
            laws.concrete_logpdf(y, bad_x, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        laws.concrete_logpdf([0.2, np.nan, 0.8], x, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        laws.concrete_logpdf(None, x, 0.5, log_y=[0.0, np.nan, -1.0])
    with pytest.raises(ValueError, match=r"\+inf"):
        laws.concrete_logpdf(None, x, 0.5, log_y=[np.inf, -1.0, -1.0])
    with pytest.raises(ValueError, match="categories"):
        laws.concrete_logpdf([0.5, 0.5], x, 0.5)
    with pytest.raises(ValueError, match="simplex"):
        laws.concrete_logpdf([0.5, 0.5, 0.5], x, 0.5)
    with pytest.raises(ValueError, match="pass y or log_y"):
        laws.concrete_logpdf(None, x, 0.5)
    # float32 samples pass the default tolerance; an explicit None skips the check
    y32 = np.array([0.2, 0.3, 0.5], dtype=np.float32)
    assert np.isfinite(laws.concrete_logpdf(y32, x, 0.5))
    assert np.isfinite(laws.concrete_logpdf([0.5, 0.5, 0.5], x, 0.5, simplex_atol=None))
    # the boundary / outside of the open simplex: density 0, log-density -inf, never NaN
    out = laws.concrete_logpdf([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [-0.1, 0.6, 0.5], [0.2, 0.3, 0.5]], x, 0.5)
    np.testing.assert_array_equal(out[:3], [-np.inf] * 3)
    assert np.isfinite(out[3])
    assert laws.concrete_logpdf(None, x, 0.5, log_y=[-np.inf, 0.0, -800.0]) == -np.inf


def test_concrete_logpdf_batched_and_invariant_to_logit_shift():
    x = np.array([0.3, -0.2, 1.0, 0.0])
    ly = np.stack([_logy_from_ratios(RNG_POINTS.normal(size=3)) for _ in range(5)])
    batched = laws.concrete_logpdf(None, x, 0.8, log_y=ly)
    single = [laws.concrete_logpdf(None, x, 0.8, log_y=row) for row in ly]
    np.testing.assert_allclose(batched, single, rtol=1e-15)
    # a log-density: compare absolutely too (shifting the logits by 123 cancels to ~1e-14 in absolute terms,
    # which is a large relative error when the log-density itself is ~0.016)
    np.testing.assert_allclose(laws.concrete_logpdf(None, x + 123.0, 0.8, log_y=ly), batched, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------------
# Binary Concrete (C4)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("d", [-2.0, 0.0, 1.3])
def test_binary_concrete_cdf_is_the_integrated_k2_density(temperature, d):
    """P(y_1 <= u) = int_0^u p_C1(v, 1 - v) dv; integrated in s = logit(v) (dv = v(1-v) ds), which
    removes the endpoint singularity of T < 1."""
    x = np.array([d, 0.0])

    def integrand(s):
        ly = np.array([log_expit(s), log_expit(-s)])
        return math.exp(laws.concrete_logpdf(None, x, temperature, log_y=ly) + ly.sum())

    for u in (1e-6, 0.05, 0.3, 0.5, 0.8, 0.999):
        val, _ = integrate.quad(integrand, -np.inf, math.log(u / (1 - u)), epsabs=1e-14, epsrel=1e-12)
        assert val == pytest.approx(float(laws.binary_concrete_cdf(u, d, temperature)), abs=1e-11)


def test_binary_concrete_cdf_derivative_symmetry_and_range():
    u = np.linspace(0.01, 0.99, 99)
    for temperature, d in ((0.5, 0.7), (2.0, -1.0)):
        num = _d5(lambda v: laws.binary_concrete_cdf(v, d, temperature), u, 1e-4)
        dens = np.exp(laws.binary_concrete_logpdf(u, d, temperature))
        np.testing.assert_allclose(num, dens, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(laws.binary_concrete_cdf(u, d, temperature),
                                   1 - laws.binary_concrete_cdf(1 - u, -d, temperature), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(laws.binary_concrete_cdf([-1.0, 0.0, 1.0, 2.0], 0.3, 0.5), [0, 0, 1, 1])
    np.testing.assert_array_equal(laws.binary_concrete_logpdf([-1.0, 0.0, 1.0, 2.0], 0.3, 0.5), [-np.inf] * 4)
    assert np.isnan(laws.binary_concrete_cdf(np.nan, 0.3, 0.5))
    # T = 1 and d = 0: y_1 is uniform on (0, 1)
    np.testing.assert_allclose(laws.binary_concrete_cdf(u, 0.0, 1.0), u, rtol=1e-14)
    for bad in (0.0, -2.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="temperature"):
            laws.binary_concrete_cdf(0.5, 0.0, bad)
        with pytest.raises(ValueError, match="temperature"):
            laws.binary_concrete_logpdf(0.5, 0.0, bad)
    with pytest.raises(ValueError, match="logit_diff"):
        laws.binary_concrete_cdf(0.5, np.nan, 1.0)


# ------------------------------------------------------------------------------------------
# Plackett-Luce (T5)
# ------------------------------------------------------------------------------------------
def _brute_pl(p, order):
    prob, used = 1.0, 0.0
    for i in order:
        prob *= p[i] / (1.0 - used)
        used += p[i]
    return prob


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_plackett_luce_table_sums_to_one_and_matches_brute_force(k):
    x = np.array([0.3, -1.0, 1.2, 0.0, -0.4])
    p = softmax(x)
    tuples, probs = laws.plackett_luce_table(x, k)
    assert len(tuples) == math.perm(5, k)
    assert probs.sum() == pytest.approx(1.0, abs=1e-13)
    np.testing.assert_allclose(probs, [_brute_pl(p, t) for t in tuples], rtol=1e-12)
    if k == 1:
        np.testing.assert_allclose(probs, p, rtol=1e-14)


def test_plackett_luce_marginalises_to_the_shorter_table():
    x = np.array([0.3, -1.0, 1.2, 0.0])
    t3, p3 = laws.plackett_luce_table(x, 3)
    t2, p2 = laws.plackett_luce_table(x, 2)
    marg = {t: 0.0 for t in t2}
    for t, pr in zip(t3, p3):
        marg[t[:2]] += pr
    np.testing.assert_allclose([marg[t] for t in t2], p2, rtol=1e-13)


def test_plackett_luce_first_two_by_gumbel_quadrature():
    """From the Gumbel scores: a first and b second iff b's score s = x_b + g_b beats every
    other score and loses to a's: P = int f(s - x_b) prod_{c != a, b} F(s - x_c) (1 - F(s - x_a)) ds."""
    x = np.array([0.5, -0.7, 0.1, -2.0])
    for a, b in ((0, 1), (1, 0), (3, 2), (2, 3)):
        others = np.array([c for c in range(4) if c not in (a, b)])

        def integrand(s):
            return float(laws.gumbel_pdf(s - x[b]) * np.prod(laws.gumbel_cdf(s - x[others]))
                         * laws.gumbel_sf(s - x[a]))

        val, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-12)
        assert val == pytest.approx(math.exp(laws.plackett_luce_logprob(x, (a, b))), rel=1e-10)


def test_plackett_luce_zero_weights_extreme_gaps_and_bad_input():
    x = np.array([0.0, -np.inf, 1.0, 2.0])
    tuples, probs = laws.plackett_luce_table(x, 3)
    assert probs.sum() == pytest.approx(1.0, abs=1e-14)
    assert all(pr == 0.0 for t, pr in zip(tuples, probs) if 1 in t)
    assert all(pr > 0.0 for t, pr in zip(tuples, probs) if 1 not in t)
    with pytest.raises(ValueError, match="exceeds"):
        laws.plackett_luce_table(x, 4)
    with pytest.raises(ValueError, match="exceeds"):
        laws.plackett_luce_table([0.0, 1.0], 3)
    with pytest.raises(ValueError, match=">= 0"):
        laws.plackett_luce_table([0.0, 1.0], -1)
    t0, p0 = laws.plackett_luce_table([0.0, 1.0], 0)
    assert t0 == [()] and p0.tolist() == [1.0]
    assert laws.plackett_luce_logprob(x, (0, 0)) == -np.inf
    assert laws.plackett_luce_logprob(x, (1,)) == -np.inf
    for bad in ((4,), (-1,), (0.5,)):
        with pytest.raises(ValueError, match="range|integers"):
            laws.plackett_luce_logprob(x, bad)
    for bad, match in (([0.0, np.nan], "NaN"), ([0.0, np.inf], r"\+inf"), ([-np.inf, -np.inf], "all -inf")):
        with pytest.raises(LogitsError, match=match):
            laws.plackett_luce_logprob(bad, (0,))
        with pytest.raises(LogitsError, match=match):
            laws.plackett_luce_table(bad, 1)
    # a gap of 50 and 100: 1 - sum p cancels in the naive formula; log space is exact
    mpmath.mp.dps = 60
    xs = [0.0, -50.0, -100.0]
    e = [mpmath.exp(v) for v in xs]
    z = mpmath.fsum(e)
    ref = mpmath.log(e[2] / z) + mpmath.log(e[1] / (z - e[2]))
    assert laws.plackett_luce_logprob(xs, (2, 1, 0)) == pytest.approx(float(ref), rel=1e-14)


# ------------------------------------------------------------------------------------------
# Jacobian (G1) and asymptotes (C5, G3)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0, 4.0])
def test_concrete_jacobian_matches_torch_autograd(temperature):
    for k in (2, 3, 10):
        x = torch.tensor(RNG_POINTS.normal(scale=2.0, size=k))
        g = torch.tensor(RNG_POINTS.gumbel(size=k))
        fn = lambda v: torch.softmax((v + g) / temperature, dim=-1)  # noqa: E731
        jac = torch.autograd.functional.jacobian(fn, x).numpy()
        y = fn(x).numpy()
        ours = laws.concrete_jacobian(y, temperature)
        np.testing.assert_allclose(ours, jac, rtol=0, atol=1e-12 / temperature)
        np.testing.assert_allclose(ours, ours.T, rtol=0, atol=0)
        np.testing.assert_allclose(ours.sum(axis=0), 0.0, atol=1e-15 / temperature)


def test_concrete_jacobian_matches_finite_differences_and_batches():
    x = RNG_POINTS.normal(size=(4, 5))
    g = RNG_POINTS.gumbel(size=(4, 5))
    temperature = 0.7
    y = softmax((x + g) / temperature)
    jac = laws.concrete_jacobian(y, temperature)
    assert jac.shape == (4, 5, 5)
    h = 1e-4
    for j in range(5):
        e = np.zeros(5)
        e[j] = h
        num = _d5(lambda s: softmax((x + g + s) / temperature), np.zeros(5), e, step=h)
        np.testing.assert_allclose(num, jac[:, :, j], rtol=0, atol=1e-11)
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="temperature"):
            laws.concrete_jacobian(y, bad)


def _logistic_pdf(v):
    return math.exp(float(laws.logistic_logpdf(v)))


def _quad_split(fun):
    a, _ = integrate.quad(fun, -np.inf, 0.0, epsabs=1e-15, epsrel=1e-13, limit=200)
    b, _ = integrate.quad(fun, 0.0, np.inf, epsabs=1e-15, epsrel=1e-13, limit=200)
    return a + b


@pytest.mark.parametrize("temperature", [1e-2, 1e-3, 1e-4])
def test_one_minus_max_asymptote_against_exact_quadrature(temperature):
    """C5: E[1 - max y] = 2 ln2 p1 p2 T (1 + O(T^2)). Exact: with s = d + L = T w,
    E = T int sigma(-|w|) phi(T w) dw, phi(s) = sigma'(s - d) the density of d + L."""
    x = np.array([0.8, -0.4])
    d = x[0] - x[1]
    exact = temperature * _quad_split(lambda w: float(expit(-abs(w))) * _logistic_pdf(temperature * w - d))
    ratio = exact / float(laws.one_minus_max_asymptote(x, temperature))
    assert abs(ratio - 1.0) <= 5 * temperature ** 2 + 1e-11


@pytest.mark.parametrize("temperature", [1e-2, 1e-3, 1e-4])
def test_pathwise_variance_asymptote_against_exact_quadrature(temperature):
    """G3: X = dy_1/dx_1 = sigma'(s/T)/T; E[X] = int sigma'(w) phi(T w) dw,
    E[X^2] = (1/T) int sigma'(w)^2 phi(T w) dw, so Var = p1 p2/(6T) - (p1 p2)^2 + O(T) and the
    relative error of the leading term is about 6 T p1 p2."""
    x = np.array([0.8, -0.4])
    d = x[0] - x[1]
    m1 = _quad_split(lambda w: _logistic_pdf(w) * _logistic_pdf(temperature * w - d))
    m2 = _quad_split(lambda w: _logistic_pdf(w) ** 2 * _logistic_pdf(temperature * w - d)) / temperature
    ratio = (m2 - m1 ** 2) / float(laws.pathwise_variance_asymptote(x, temperature))
    p = softmax(x)
    assert abs(ratio - 1.0) <= 10 * temperature
    assert ratio - 1.0 == pytest.approx(-6 * temperature * p[0] * p[1], abs=10 * temperature ** 2)


def test_asymptotes_bad_input():
    for fn in (laws.one_minus_max_asymptote, laws.pathwise_variance_asymptote):
        with pytest.raises(ValueError, match="K = 2"):
            fn([0.0, 1.0, 2.0], 0.1)
        with pytest.raises(ValueError, match="temperature"):
            fn([0.0, 1.0], [0.1, 0.0])
        with pytest.raises(ValueError, match="temperature"):
            fn([0.0, 1.0], np.nan)
    np.testing.assert_allclose(laws.one_minus_max_asymptote([0.0, 0.0], [0.1, 0.2]),
                               [2 * math.log(2) * 0.25 * 0.1, 2 * math.log(2) * 0.25 * 0.2], rtol=1e-15)


def test_validate_temperature():
    assert laws.validate_temperature(np.float32(0.5)) == 0.5
    assert laws.validate_temperature(1e-8) == 1e-8
    assert laws.validate_temperature(1e8) == 1e8
    for bad, match in ((0.0, "> 0"), (-1.0, "> 0"), (np.nan, "NaN"), (np.inf, "finite"),
                       ("x", "real"), (None, "real"), (True, "real")):
        with pytest.raises(ValueError, match=match):
            laws.validate_temperature(bad)


def test_categorical_logprobs_and_all_exports():
    np.testing.assert_allclose(laws.categorical_logprobs([0.0, math.log(3.0)]), np.log([0.25, 0.75]), rtol=1e-15)
    for name in laws.__all__:
        assert hasattr(laws, name), name


def test_permutation_helper_sanity():
    # brute-force helper: full orderings of K = 4 sum to 1 (guards the brute force itself)
    p = softmax(np.array([0.1, 0.2, -0.3, 1.0]))
    assert sum(_brute_pl(p, t) for t in permutations(range(4))) == pytest.approx(1.0, abs=1e-14)
