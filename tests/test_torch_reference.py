"""The PyTorch Gumbel-softmax reference: closed form, gradients, straight-through, dtypes,
numerics at extreme tau and logits, layouts, the exact noise range, RNG, bad input, CUDA.

Deterministic throughout: noise is either passed in explicitly or drawn from seeded
``torch.Generator``s; the only distributional checks use tolerances derived from the sample size.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import laws
from reference import torch_gumbel_softmax as tgs
from reference.softmax import softmax as np_softmax
from reference.torch_gumbel_softmax import (
    NOISE_RANGE,
    UNIFORM_RANGE,
    compute_dtype,
    gumbel_noise,
    gumbel_softmax,
    noise_from_uniform,
    relaxed_from_noise,
)

F64 = torch.float64
ALL_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
# unit roundoff of each output dtype (half an ulp at 1)
UNIT = {torch.float16: 2.0 ** -11, torch.bfloat16: 2.0 ** -8, torch.float32: 2.0 ** -24, torch.float64: 2.0 ** -53}
# half the smallest subnormal step: the absolute rounding error of tiny outputs
SUB = {dt: torch.finfo(dt).tiny * UNIT[dt] for dt in UNIT}


def _assert_rounded(actual: torch.Tensor, exact: torch.Tensor, slack: float = 2.0):
    """``actual`` (any dtype) is ``exact`` (float64) rounded once to actual's dtype, up to
    ``slack`` unit roundoffs plus float64 rounding of the computation."""
    dt = actual.dtype
    np.testing.assert_allclose(actual.double().cpu().numpy(), exact.double().cpu().numpy(),
                               rtol=slack * UNIT[dt] + 1e-13, atol=slack * SUB[dt])


def _gen(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def _logits(shape, seed=0, scale=2.0, dtype=F64):
    return (scale * torch.randn(shape, generator=_gen(seed), dtype=F64)).to(dtype)


# ------------------------------------------------------------------------------------------
# Closed form
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0, 3.0])
def test_matches_numpy_closed_form(tau):
    x = _logits((6, 7), seed=1)
    y, g = gumbel_softmax(x, tau, generator=_gen(2), return_noise=True)
    assert g.dtype == F64 and g.shape == x.shape
    ref = np_softmax((x.numpy() + g.numpy()) / tau, axis=-1)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-13, atol=1e-300)
    assert torch.equal(relaxed_from_noise(x, g, tau), y)
    np.testing.assert_allclose(y.sum(-1).numpy(), 1.0, rtol=0, atol=8 * 2.0 ** -53)


@settings(max_examples=60, deadline=None)
@given(
    logits=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(-math.inf)), min_size=1, max_size=8)
    .filter(lambda v: any(math.isfinite(a) for a in v)),
    tau=st.floats(1e-6, 1e6),
    seed=st.integers(0, 2 ** 31),
)
def test_property_matches_closed_form_for_any_valid_logits(logits, tau, seed):
    """For any valid logits (some -inf) and tau: y = softmax(((x - max x) + g)/tau) in float64,
    finite, on the simplex, exactly 0 at -inf, and the hard sample is its argmax's one-hot."""
    x = torch.tensor([logits], dtype=F64)
    y, g = gumbel_softmax(x, tau, generator=_gen(seed), return_noise=True)
    xd = x.numpy()
    scores = (xd - xd.max()) + g.numpy()
    ref = np_softmax((scores - scores.max()) / tau)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-300)
    assert torch.isfinite(y).all() and abs(float(y.sum()) - 1.0) <= 1e-14 * len(logits)
    assert (y[torch.isneginf(x)] == 0).all()
    yh = relaxed_from_noise(x, g, tau, hard=True)
    assert float(yh.sum()) == 1.0 and float(yh[0, int(np.argmax(scores))]) == 1.0


def test_hard_forward_is_exactly_one_hot_of_argmax_x_plus_g():
    x = _logits((200, 5), seed=3)
    y, g = gumbel_softmax(x, 0.37, hard=True, generator=_gen(4), return_noise=True)
    onehot = torch.nn.functional.one_hot((x + g).argmax(-1), 5).to(F64)
    assert torch.equal(y, onehot)  # bit-exact 0/1
    for dt in ALL_DTYPES:
        yh = relaxed_from_noise(x.to(dt), g, 0.37, hard=True)
        assert yh.dtype == dt
        assert set(torch.unique(yh.double()).tolist()) <= {0.0, 1.0}
        assert torch.equal(yh.double().sum(-1), torch.ones(200, dtype=F64))


# ------------------------------------------------------------------------------------------
# Gradients (G1, G4)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.3, 1.0, 2.5])
def test_jacobian_equals_closed_form(tau):
    x = _logits((3, 6), seed=5)
    g = gumbel_noise(x.shape, generator=_gen(6))
    jac = torch.autograd.functional.jacobian(lambda v: relaxed_from_noise(v, g, tau), x)
    y = relaxed_from_noise(x, g, tau).numpy()
    closed = laws.concrete_jacobian(y, tau)
    for r in range(3):
        np.testing.assert_allclose(jac[r, :, r, :].numpy(), closed[r], rtol=0, atol=1e-12)
        others = [c for c in range(3) if c != r]
        assert torch.count_nonzero(jac[r][:, others]) == 0  # rows do not mix


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_gradcheck_and_gradgradcheck(dim):
    x = _logits((2, 3, 4), seed=7).requires_grad_(True)
    g = gumbel_noise(x.shape, generator=_gen(8))
    w = torch.randn(x.shape, generator=_gen(9), dtype=F64)

    def fn(v):
        return relaxed_from_noise(v, g, 0.7, dim=dim) * w

    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-9, rtol=1e-7)
    assert torch.autograd.gradgradcheck(fn, (x,), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_gradcheck_with_respect_to_tensor_tau():
    x = _logits((3, 4), seed=10).requires_grad_(True)
    tau = torch.tensor([[0.5], [2.0], [0.2]], dtype=F64, requires_grad=True)
    g = gumbel_noise(x.shape, generator=_gen(11))
    w = torch.randn(x.shape, generator=_gen(12), dtype=F64)
    fn = lambda v, t: (relaxed_from_noise(v, g, t) * w).sum()  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, tau), eps=1e-6, atol=1e-9, rtol=1e-7)
    assert torch.autograd.gradgradcheck(fn, (x, tau), eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("tau", [0.2, 1.0])
@pytest.mark.parametrize("dim", [-1, 0])
def test_straight_through_backward_equals_soft_jacobian(tau, dim):
    """G4: the gradient of w . y_hard is J_soft^T w with J_soft = (diag(s) - s s^T)/tau; a weighted
    functional (the gradient of sum(y) is 0 by construction, bugs.md A.9)."""
    x = _logits((4, 6), seed=13)
    g = gumbel_noise(x.shape, generator=_gen(14))
    w = torch.randn(x.shape, generator=_gen(15), dtype=F64)
    xh = x.clone().requires_grad_(True)
    xs = x.clone().requires_grad_(True)
    yh = relaxed_from_noise(xh, g, tau, hard=True, dim=dim)
    ys = relaxed_from_noise(xs, g, tau, hard=False, dim=dim)
    (w * yh).sum().backward()
    (w * ys).sum().backward()
    assert torch.equal(xh.grad, xs.grad)
    # the closed form, per slice along dim
    s_m = ys.detach().movedim(dim, -1).numpy()
    w_m = w.movedim(dim, -1).numpy()
    expected = np.einsum("...ij,...i->...j", laws.concrete_jacobian(s_m, tau), w_m)
    np.testing.assert_allclose(xh.grad.movedim(dim, -1).numpy(), expected, rtol=0, atol=1e-12)
    assert xh.grad.abs().max() > 1e-3  # not the trivially-zero gradient
    # the forward is the one-hot of the soft sample's argmax (same noise)
    assert torch.equal(yh.detach().argmax(dim), ys.detach().argmax(dim))
    # the plain sum has zero gradient by construction: the reason for w
    xz = x.clone().requires_grad_(True)
    relaxed_from_noise(xz, g, tau, hard=True, dim=dim).sum().backward()
    assert xz.grad.abs().max() <= 1e-14


def test_straight_through_gradient_reaches_half_precision_logits():
    x = _logits((3, 4), seed=16, dtype=torch.float16).requires_grad_(True)
    g = gumbel_noise(x.shape, generator=_gen(17))
    w = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float16)
    (relaxed_from_noise(x, g, 0.5, hard=True) * w).sum().backward()
    assert x.grad.dtype == torch.float16
    s = relaxed_from_noise(x.detach().double(), g, 0.5).numpy()
    expected = np.einsum("...ij,i->...j", laws.concrete_jacobian(s, 0.5), w.double().numpy())
    np.testing.assert_allclose(x.grad.double().numpy(), expected, rtol=0, atol=2e-2)


# ------------------------------------------------------------------------------------------
# dtypes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("tau", [0.1, 1.0, 10.0])
def test_dtypes_return_input_dtype_and_sum_to_one(dtype, tau):
    """Every dtype is computed in float64 and rounded once: each entry is within one unit
    roundoff (relative, or half a subnormal step) of the float64 answer on the same
    (representable) logits and noise, and the sum is 1 within K/2 unit roundoffs... in fact
    within one: the rounding errors are relative to entries that sum to 1."""
    k = 50
    x = _logits((8, k), seed=18, scale=3.0, dtype=dtype)
    y, g = gumbel_softmax(x, tau, generator=_gen(19), return_noise=True)
    assert y.dtype == dtype and y.shape == x.shape
    assert torch.isfinite(y).all() and (y >= 0).all()
    exact = np_softmax((x.double().numpy() + g.numpy()) / tau)
    _assert_rounded(y, torch.tensor(exact), slack=1.0)
    sums = y.double().sum(-1)
    assert float((sums - 1.0).abs().max()) <= UNIT[dtype] + k * SUB[dtype] + 1e-14


def test_compute_dtype():
    for dt in ALL_DTYPES:
        assert compute_dtype(dt) == F64
    for dt in (torch.int64, torch.bool, torch.complex64):
        with pytest.raises(ValueError, match="floating"):
            compute_dtype(dt)


# ------------------------------------------------------------------------------------------
# Extreme tau and logits (bugs.md A.7, B.19, B.27, C)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, F64], ids=str)
@pytest.mark.parametrize("hard", [False, True])
def test_tiny_tau_with_huge_logits_gives_one_hot(dtype, hard):
    x = torch.tensor([[1e30, -1e30, 0.0], [-1e30, 1e30, 1e29], [0.0, 5.0, -1e30]], dtype=dtype)
    g = gumbel_noise(x.shape, generator=_gen(20))
    for tau in (1e-8, 1e-30):
        y = relaxed_from_noise(x, g, tau, hard=hard)
        assert not torch.isnan(y).any()
        assert torch.equal(y, torch.nn.functional.one_hot((x.double() + g).argmax(-1), 3).to(dtype))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32], ids=str)
def test_extreme_finite_tau(dtype):
    """tau = 1e-50 / 1e-300 or 1e300 is finite and > 0 (0 / inf in float32: a float32 division
    gives 0/0 and -inf/inf = NaN). The answer is the one-hot, resp. uniform over finite logits."""
    x = torch.tensor([[0.0, -1.0, -math.inf, 2.0]], dtype=dtype)
    g = torch.zeros(x.shape, dtype=F64)
    np.testing.assert_array_equal(relaxed_from_noise(x, g, 1e-50).double().numpy(), [[0, 0, 0, 1]])
    np.testing.assert_array_equal(relaxed_from_noise(x, g, torch.tensor(1e-300, dtype=F64)).double().numpy(),
                                  [[0, 0, 0, 1]])
    y = relaxed_from_noise(x, g, 1e300).double().numpy()
    np.testing.assert_allclose(y, [[1 / 3, 1 / 3, 0.0, 1 / 3]], rtol=UNIT[dtype])


def test_huge_tau_is_nearly_uniform():
    x = _logits((5, 4), seed=21)
    g = gumbel_noise(x.shape, generator=_gen(22))
    y = relaxed_from_noise(x, g, 1e8)
    spread = float(((x + g).amax(-1) - (x + g).amin(-1)).max())
    # |softmax(z / tau) - 1/K| <= (max z - min z) / tau
    assert float((y - 0.25).abs().max()) <= spread / 1e8


@pytest.mark.parametrize("scale", [1000.0, 1e5, 1e30])
@pytest.mark.parametrize("dtype", [torch.float32, F64], ids=str)
def test_large_magnitudes_do_not_overflow(scale, dtype):
    x = torch.tensor([[scale, -scale, 0.0, scale - 1.0]], dtype=dtype)
    g = gumbel_noise(x.shape, generator=_gen(23))
    y = relaxed_from_noise(x, g, 1.0)
    xd = x.double().numpy()
    ref = np_softmax((xd - xd.max()) + g.numpy())  # x - max x is exact here (Sterbenz)
    _assert_rounded(y, torch.tensor(ref), slack=1.0)
    x16 = torch.tensor([[6e4, -6e4, 0.0]], dtype=torch.float16)
    assert torch.isfinite(gumbel_softmax(x16, 0.5, generator=_gen(24))).all()


@pytest.mark.parametrize("offset", [1e5, 1e12])
def test_common_offset_does_not_swallow_the_noise(offset):
    """The logits are max-subtracted before the noise is added. With a common offset of 1e12,
    x + g rounds g to ~1e-4 (naive float64 errors ~1e-3 in y); x - max(x) is exact (Sterbenz)
    so the reference is exact to float64 rounding for the given logits."""
    x = _logits((4, 6), seed=53) + offset
    g = gumbel_noise(x.shape, generator=_gen(54))
    y = relaxed_from_noise(x, g, 0.3)
    xd, gd = x.numpy(), g.numpy()
    exact = np_softmax(((xd - xd.max(-1, keepdims=True)) + gd) / 0.3)
    np.testing.assert_allclose(y.numpy(), exact, rtol=1e-12, atol=1e-300)
    naive = np_softmax((xd + gd) / 0.3)
    if offset >= 1e12:
        assert np.max(np.abs(naive - exact)) > 1e-6  # the check discriminates


# ------------------------------------------------------------------------------------------
# Shapes, axes, layouts (bugs.md A.8, B.20, B.21)
# ------------------------------------------------------------------------------------------
def test_batched_tau_of_shape_n_by_1():
    x = _logits((4, 5), seed=25)
    tau = torch.tensor([[0.1], [0.5], [1.0], [7.0]], dtype=F64)
    y, g = gumbel_softmax(x, tau, generator=_gen(26), return_noise=True)
    for r in range(4):
        row = relaxed_from_noise(x[r:r + 1], g[r:r + 1], float(tau[r, 0]))
        np.testing.assert_allclose(y[r:r + 1].numpy(), row.numpy(), rtol=1e-15, atol=0)
    yh = gumbel_softmax(x, tau, hard=True, generator=_gen(26))
    assert torch.equal(yh, torch.nn.functional.one_hot((x + g).argmax(-1), 5).to(F64))
    # tau with an integer dtype is accepted as a number
    assert torch.isfinite(relaxed_from_noise(x, g, torch.tensor([[1], [2], [3], [4]]))).all()


def test_tau_that_would_broadcast_the_output_is_rejected():
    x = _logits((4, 5), seed=27)
    for bad in (torch.ones(3, 1, dtype=F64), torch.ones(2, 4, 5, dtype=F64), torch.ones(4, 2, dtype=F64)):
        with pytest.raises(ValueError, match="broadcast"):
            gumbel_softmax(x, bad)


@pytest.mark.parametrize("dim", [0, 1, -2])
def test_dim_other_than_last(dim):
    x = _logits((5, 6, 7), seed=28)
    y, g = gumbel_softmax(x, 0.6, dim=dim, generator=_gen(29), return_noise=True)
    assert y.shape == x.shape
    np.testing.assert_allclose(y.sum(dim).numpy(), 1.0, rtol=0, atol=1e-15)
    ref = np_softmax((x.numpy() + g.numpy()) / 0.6, axis=dim)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-13, atol=1e-300)
    moved = relaxed_from_noise(x.movedim(dim, -1), g.movedim(dim, -1), 0.6).movedim(-1, dim)
    np.testing.assert_allclose(y.numpy(), moved.numpy(), rtol=1e-15, atol=0)
    yh = relaxed_from_noise(x, g, 0.6, hard=True, dim=dim)
    assert torch.equal(yh.argmax(dim), (x + g).argmax(dim))
    assert torch.equal(yh.sum(dim), torch.ones_like(yh.sum(dim)))


@pytest.mark.parametrize("view", ["transpose", "stride2", "expand"])
@pytest.mark.parametrize("hard", [False, True])
def test_non_contiguous_input_equals_contiguous_copy(view, hard):
    base = _logits((6, 10), seed=30)
    if view == "transpose":
        x = base.t()
    elif view == "stride2":
        x = base[:, ::2]
    else:
        x = base[:1].expand(4, 10)
    assert not x.is_contiguous()
    y1 = gumbel_softmax(x, 0.5, hard=hard, generator=_gen(31))
    y2 = gumbel_softmax(x.contiguous(), 0.5, hard=hard, generator=_gen(31))
    assert torch.equal(y1, y2)
    y1 = gumbel_softmax(x, 0.5, hard=hard, dim=0, generator=_gen(32))
    y2 = gumbel_softmax(x.contiguous(), 0.5, hard=hard, dim=0, generator=_gen(32))
    assert torch.equal(y1, y2)


def test_each_row_gets_its_own_noise():
    """bugs.md B.22: one noise draw reused across the batch would make equal rows equal."""
    x = torch.zeros(64, 8, dtype=F64)
    y, g = gumbel_softmax(x, 1.0, generator=_gen(33), return_noise=True)
    assert torch.unique(g).numel() == g.numel()
    assert torch.unique(y, dim=0).shape[0] == 64


# ------------------------------------------------------------------------------------------
# The noise (bugs.md A.1, A.2, A.3, B.7-B.12)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, F64], ids=str)
def test_noise_from_uniform_exact_edge_values(dtype):
    d = 24 if dtype == torch.float32 else 53
    lo, hi = NOISE_RANGE[dtype]
    assert UNIFORM_RANGE[dtype] == (2.0 ** -d, 1.0 - 2.0 ** -d)
    one_minus = float(np.nextafter(np.array(1.0, dtype=np.float32 if d == 24 else np.float64), 0))
    assert one_minus == 1.0 - 2.0 ** -d
    u = torch.tensor([0.0, 2.0 ** -d, 2.0 ** -(d - 1), 0.5, one_minus, 1.0], dtype=dtype)
    g = noise_from_uniform(u)
    assert g.dtype == dtype and torch.isfinite(g).all()
    ulp = 2.0 ** -(d - 1) * 32  # an ulp at |g| <= 32 (float32) / 64 (float64): generous 1 ulp
    assert float(g[0]) == float(g[1]) == pytest.approx(lo, abs=ulp)
    assert float(g[4]) == float(g[5]) == pytest.approx(hi, abs=ulp)
    assert float(g[3]) == pytest.approx(-math.log(math.log(2.0)), abs=ulp)
    # the closed-form bounds: P(g > hi) = P(g < lo) = 2^-d
    assert laws.gumbel_sf(hi) == pytest.approx(2.0 ** -d, rel=1e-12)
    assert laws.gumbel_cdf(lo) == pytest.approx(2.0 ** -d, rel=1e-12)
    assert u[0] == 0.0  # the input is not modified


@pytest.mark.parametrize("dtype", [torch.float32, F64], ids=str)
def test_noise_from_uniform_is_monotone_and_within_range(dtype):
    d = 24 if dtype == torch.float32 else 53
    k = torch.cat([torch.arange(0, 4096), torch.arange(2 ** 20, 2 ** 20 + 4096)]).to(F64)
    near0 = k * 2.0 ** -d
    near1 = 1.0 - k.flip(0) * 2.0 ** -d
    u = torch.cat([near0, torch.linspace(0.001, 0.999, 4001, dtype=F64), near1]).to(dtype)
    u, _ = torch.sort(u)
    g = noise_from_uniform(u)
    assert torch.isfinite(g).all()
    assert (g[1:] >= g[:-1]).all()
    e0, e1 = noise_from_uniform(torch.tensor([0.0, 1.0], dtype=dtype))
    assert g.min() == e0 and g.max() == e1


def test_noise_from_uniform_rejects_bad_uniforms():
    for bad in ([-0.1, 0.5], [0.5, 1.5], [math.nan, 0.5]):
        with pytest.raises(ValueError, match="outside"):
            noise_from_uniform(torch.tensor(bad, dtype=F64))
    with pytest.raises(ValueError, match="float32 or float64"):
        noise_from_uniform(torch.tensor([0.5], dtype=torch.float16))
    with pytest.raises(ValueError, match="Tensor"):
        noise_from_uniform([0.5])
    assert noise_from_uniform(torch.empty(0, dtype=F64)).shape == (0,)


@pytest.mark.parametrize("dtype", [torch.float32, F64], ids=str)
@pytest.mark.parametrize("adversarial", ["zeros", "ones", "nextafter", "alternating"])
def test_gumbel_noise_with_adversarial_rng(monkeypatch, dtype, adversarial):
    """An RNG that returns u = 0, u = 1 or u = nextafter(1, 0) everywhere: the noise stays
    finite and in NOISE_RANGE, and -inf logits stay at probability exactly 0 (no -inf + inf)."""
    real_rand = torch.rand
    one_minus = 1.0 - UNIFORM_RANGE[dtype][0]

    def fake_rand(shape, *, dtype=torch.float32, device=None, generator=None):
        u = real_rand(shape, dtype=dtype, device=device, generator=generator)
        if adversarial == "zeros":
            return torch.zeros_like(u)
        if adversarial == "ones":
            return torch.ones_like(u)
        if adversarial == "nextafter":
            return torch.full_like(u, one_minus)
        flat = torch.zeros(u.numel(), dtype=dtype, device=u.device)
        flat[1::2] = 1.0
        return flat.reshape(u.shape)

    monkeypatch.setattr(tgs.torch, "rand", fake_rand)
    g = gumbel_noise((50, 4), dtype=dtype)
    lo, hi = NOISE_RANGE[dtype]
    tol = 1e-5 if dtype == torch.float32 else 1e-13
    assert torch.isfinite(g).all()
    assert float(g.min()) >= lo - tol and float(g.max()) <= hi + tol
    x = torch.tensor([[0.0, -math.inf, 1.0, -math.inf]], dtype=F64).expand(50, 4)
    y = gumbel_softmax(x, 0.5, noise_dtype=dtype)
    assert not torch.isnan(y).any()
    assert (y[:, 1] == 0).all() and (y[:, 3] == 0).all()
    yh = gumbel_softmax(x, 0.5, hard=True, noise_dtype=dtype)
    assert (yh[:, 1] == 0).all() and (yh[:, 3] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, F64], ids=str)
def test_gumbel_noise_draws_within_range_and_gumbel_distributed(dtype):
    """1e6 seeded draws: inside NOISE_RANGE; KS distance to the Gumbel CDF below the DKWM bound
    at alpha = 1e-6 (a fixed seed: deterministic, and a correct sampler fails it with
    probability <= 1e-6); the mean within 6 standard errors of Euler's gamma."""
    n = 10 ** 6
    g = gumbel_noise((n,), dtype=dtype, generator=_gen(34))
    lo, hi = NOISE_RANGE[dtype]
    tol = 1e-5 if dtype == torch.float32 else 1e-13
    assert torch.isfinite(g).all() and float(g.min()) >= lo - tol and float(g.max()) <= hi + tol
    gs = np.sort(g.double().numpy())
    cdf = laws.gumbel_cdf(gs)
    ecdf_hi = np.arange(1, n + 1) / n
    ks = max(np.max(ecdf_hi - cdf), np.max(cdf - (ecdf_hi - 1.0 / n)))
    # float32 uniforms sit on a 2^-24 grid: add that discretisation to the bound
    grid = 2.0 ** -24 if dtype == torch.float32 else 0.0
    assert ks <= math.sqrt(math.log(2 / 1e-6) / (2 * n)) + grid
    se = math.pi / math.sqrt(6 * n)
    assert abs(gs.mean() - np.euler_gamma) <= 6 * se


def test_gumbel_noise_bad_dtype():
    for dt in (torch.float16, torch.bfloat16, torch.int32):
        with pytest.raises(ValueError, match="float32 or float64"):
            gumbel_noise((3,), dtype=dt)
        with pytest.raises(ValueError, match="float32 or float64"):
            gumbel_softmax(torch.zeros(2, 3), noise_dtype=dt)


# ------------------------------------------------------------------------------------------
# Reproducibility
# ------------------------------------------------------------------------------------------
def test_generator_reproducibility_and_global_rng_untouched():
    x = _logits((5, 9), seed=35)
    state = torch.random.get_rng_state()
    a = gumbel_softmax(x, 0.5, generator=_gen(36))
    b = gumbel_softmax(x, 0.5, generator=_gen(36))
    c = gumbel_softmax(x, 0.5, generator=_gen(37))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.equal(torch.random.get_rng_state(), state)
    gen = _gen(38)
    first, second = gumbel_softmax(x, 0.5, generator=gen), gumbel_softmax(x, 0.5, generator=gen)
    assert not torch.equal(first, second)  # the generator advances
    torch.manual_seed(39)
    d = gumbel_softmax(x, 0.5)
    torch.manual_seed(39)
    assert torch.equal(d, gumbel_softmax(x, 0.5))


# ------------------------------------------------------------------------------------------
# Bad inputs and documented behaviour (bugs.md C)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "logits, match",
    [
        ([[0.0, math.nan, 1.0]], "NaN"),
        ([[0.0, math.inf, 1.0]], r"\+inf"),
        ([[-math.inf, -math.inf, -math.inf]], "all -inf"),
        ([[0.0, 1.0], [-math.inf, -math.inf]], "all -inf"),
    ],
)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_bad_logits_raise(logits, match, dtype):
    x = torch.tensor(logits, dtype=dtype)
    with pytest.raises(ValueError, match=match):
        gumbel_softmax(x)
    with pytest.raises(ValueError, match=match):
        relaxed_from_noise(x, torch.zeros(x.shape, dtype=F64))


@pytest.mark.parametrize("tau, match", [
    (0.0, "> 0"), (-1.0, "> 0"), (math.nan, "finite"), (math.inf, "finite"), (-math.inf, "finite"),
    (torch.tensor(0.0), "> 0"), (torch.tensor([[1.0], [-0.5]]), "> 0"), (torch.tensor(math.nan), "NaN"),
    (torch.tensor([[1.0], [math.inf]]), "inf"), ("hot", "number"), (None, "number"), (True, "number"),
    (torch.tensor(True), "real"), (torch.tensor(1e-8, dtype=torch.float16), "> 0"),
])
def test_bad_tau_raises(tau, match):
    x = torch.zeros(2, 3, dtype=F64)
    with pytest.raises(ValueError, match=match):
        gumbel_softmax(x, tau)
    with pytest.raises(ValueError, match=match):
        relaxed_from_noise(x, torch.zeros_like(x), tau)


def test_neg_inf_logits_have_probability_exactly_zero_and_are_never_selected():
    x = torch.tensor([0.0, -math.inf, 2.0, -math.inf, -1e5], dtype=F64).expand(2000, 5)
    y = gumbel_softmax(x, 0.3, generator=_gen(40))
    assert (y[:, 1] == 0).all() and (y[:, 3] == 0).all()
    assert torch.isfinite(y).all()
    yh = gumbel_softmax(x, 0.3, hard=True, generator=_gen(40))
    assert (yh[:, 1] == 0).all() and (yh[:, 3] == 0).all()
    # -1e5 loses to 0 by more than the noise range can bridge: never selected, exactly
    assert NOISE_RANGE[F64][1] - NOISE_RANGE[F64][0] < 1e5
    assert (yh[:, 4] == 0).all()


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("hard", [False, True])
def test_all_but_one_neg_inf_is_exactly_one_hot(dtype, hard):
    x = torch.tensor([[-math.inf, 0.3, -math.inf], [5.0, -math.inf, -math.inf]], dtype=dtype)
    y = gumbel_softmax(x, 0.7, hard=hard, generator=_gen(41))
    assert torch.equal(y, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype))


def test_k_equals_one_gives_exactly_one_with_zero_gradient():
    x = _logits((4, 1), seed=42).requires_grad_(True)
    for hard in (False, True):
        y = gumbel_softmax(x, 0.5, hard=hard, generator=_gen(43))
        assert torch.equal(y, torch.ones(4, 1, dtype=F64))
        (3.0 * y).sum().backward()
        assert torch.equal(x.grad, torch.zeros_like(x))
        x.grad = None


@pytest.mark.parametrize("shape, dim", [((0, 5), -1), ((3, 0, 4), -1), ((0, 5), 0)])
def test_empty_batch(shape, dim):
    if shape[dim] == 0:
        with pytest.raises(ValueError, match="empty category"):
            gumbel_softmax(torch.zeros(shape), dim=dim)
        return
    x = torch.zeros(shape, dtype=torch.float32)
    for hard in (False, True):
        y, g = gumbel_softmax(x, 0.5, hard=hard, dim=dim, return_noise=True)
        assert y.shape == x.shape and y.dtype == x.dtype and g.shape == x.shape


def test_empty_category_axis_and_other_shape_errors():
    with pytest.raises(ValueError, match="empty category"):
        gumbel_softmax(torch.zeros(3, 0))
    with pytest.raises(ValueError, match="0-d"):
        gumbel_softmax(torch.tensor(1.0))
    with pytest.raises(ValueError, match="out of range"):
        gumbel_softmax(torch.zeros(2, 3), dim=2)
    with pytest.raises(ValueError, match="out of range"):
        gumbel_softmax(torch.zeros(2, 3), dim=-3)
    with pytest.raises(ValueError, match="integer"):
        gumbel_softmax(torch.zeros(2, 3), dim=1.0)
    with pytest.raises(ValueError, match="Tensor"):
        gumbel_softmax([[0.0, 1.0]])


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.uint8, torch.complex64], ids=str)
def test_non_floating_logits_raise(dtype):
    with pytest.raises(ValueError, match="floating"):
        gumbel_softmax(torch.zeros(2, 3, dtype=dtype))


def test_bad_noise_raises():
    x = torch.zeros(2, 3, dtype=F64)
    with pytest.raises(ValueError, match="shape"):
        relaxed_from_noise(x, torch.zeros(3, 2, dtype=F64))
    with pytest.raises(ValueError, match="floating"):
        relaxed_from_noise(x, torch.zeros(2, 3, dtype=torch.int64))
    for bad in (math.inf, -math.inf, math.nan):
        g = torch.zeros(2, 3, dtype=F64)
        g[1, 2] = bad
        with pytest.raises(ValueError, match="finite"):
            relaxed_from_noise(x, g)


def test_large_k_with_a_large_gap():
    """K = 262144 with one logit 20 above the rest: finite, sums to 1, the favourite has
    probability p = e^20/(e^20 + K - 1) ~ 0.9996 and wins unless the noise spread beats 20."""
    k = 2 ** 18
    x = torch.zeros(1, k, dtype=torch.float32)
    x[0, 7] = 20.0
    y, g = gumbel_softmax(x, 1.0, generator=_gen(44), return_noise=True)
    assert torch.isfinite(y).all()
    assert abs(float(y.double().sum()) - 1.0) <= UNIT[torch.float32] + 1e-12
    ref = np_softmax(x.double().numpy() + g.numpy())
    _assert_rounded(y, torch.tensor(ref), slack=1.0)
    assert float(y[0, 7]) > 0.5


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_logits_match_float64_on_the_same_values(dtype):
    """float16/bfloat16 logits are valid input: same answer as float64 on the same (exactly
    representable) values, to the output dtype's precision."""
    x = torch.tensor([[0.0, -3.5, 7.25, -1e3], [1.5, 1.5, 1.5, 1.5]], dtype=dtype)
    g = gumbel_noise(x.shape, generator=_gen(45))
    y = relaxed_from_noise(x, g, 0.8)
    assert y.dtype == dtype
    _assert_rounded(y, relaxed_from_noise(x.double(), g, 0.8), slack=1.0)


def test_ties_with_zero_noise_are_split_evenly_and_hard_picks_one():
    x = torch.zeros(1, 4, dtype=F64)
    g = torch.zeros(1, 4, dtype=F64)
    assert torch.equal(relaxed_from_noise(x, g, 1e-8), torch.full((1, 4), 0.25, dtype=F64))
    yh = relaxed_from_noise(x, g, 1e-8, hard=True)
    assert float(yh.sum()) == 1.0 and set(yh.flatten().tolist()) == {0.0, 1.0}


# ------------------------------------------------------------------------------------------
# Device (CUDA when present)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_on_device(device, dtype):
    x = _logits((64, 11), seed=46).to(device=device, dtype=dtype)
    x[:, 3] = -math.inf
    y, g = gumbel_softmax(x, 0.4, generator=_gen(47, device), return_noise=True)
    assert y.device == x.device and g.device == x.device and y.dtype == dtype
    assert torch.isfinite(y).all() and (y[:, 3] == 0).all()
    lo, hi = NOISE_RANGE[F64]
    assert float(g.min()) >= lo - 1e-12 and float(g.max()) <= hi + 1e-12
    y2 = gumbel_softmax(x, 0.4, generator=_gen(47, device))
    assert torch.equal(y, y2)
    ref = np_softmax((x.double().cpu().numpy() + g.cpu().numpy()) / 0.4)
    _assert_rounded(y, torch.tensor(ref), slack=1.0)
    yh = gumbel_softmax(x, 0.4, hard=True, generator=_gen(48, device))
    assert torch.equal(yh.double().sum(-1).cpu(), torch.ones(64, dtype=F64))
    assert (yh[:, 3] == 0).all()
    g32 = gumbel_noise((10 ** 5,), dtype=torch.float32, device=device, generator=_gen(49, device))
    assert torch.isfinite(g32).all()
    assert float(g32.min()) >= NOISE_RANGE[torch.float32][0] - 1e-5
    assert float(g32.max()) <= NOISE_RANGE[torch.float32][1] + 1e-5


@pytest.mark.cuda
def test_cuda_gradients_match_cpu():
    x = _logits((8, 6), seed=50)
    g = gumbel_noise(x.shape, generator=_gen(51))
    w = torch.randn(x.shape, generator=_gen(52), dtype=F64)
    grads = []
    for dev in ("cpu", "cuda"):
        xx = x.to(dev).requires_grad_(True)
        (relaxed_from_noise(xx, g.to(dev), 0.5, hard=True) * w.to(dev)).sum().backward()
        grads.append(xx.grad.cpu())
    np.testing.assert_allclose(grads[0].numpy(), grads[1].numpy(), rtol=1e-12, atol=1e-14)
