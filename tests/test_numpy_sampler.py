"""Tests of ``reference.numpy_sampler``: law (chi-square against softmax, Plackett-Luce, exact
binomial tail), streaming memory, seeds, bad inputs, adversarial RNG streams.

Statistical assertions run at fixed seeds, so each is deterministic; the threshold is a
per-assertion significance level ``ALPHA = 1e-4``: a correct sampler passes at any seed with
probability 1 - 1e-4, while the broken samplers of bugs.md (sign flip, probabilities for
logits, a reused draw, truncated noise) give p-values below 1e-30 at these sample sizes.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc
from itertools import permutations

import numpy as np
import pytest

import reference.numpy_sampler as ns
from harness.core.streaming import counts
from harness.stats.discrete import binomial_tail, chisquare_gof
from reference.laws import plackett_luce_table
from reference.numpy_sampler import (
    SMALL_K,
    as_generator,
    exponential_noise,
    gumbel_noise,
    sample,
    top_k,
)
from reference.softmax import softmax

ALPHA = 1e-4
X6 = np.array([0.0, 1.0, -1.0, 2.0, -np.inf, 0.5])  # one zero-probability category
P6 = softmax(X6)


def assert_law(observed, probs, alpha: float = ALPHA):
    res = chisquare_gof(observed, probs)
    assert res.impossible == 0, f"{res.impossible} draws of a probability-0 category"
    assert res.pvalue > alpha, res
    return res


# ------------------------------------------------------------------------------ the law
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["race", "gumbel"])
def test_counts_matches_softmax_small_k(dtype, method):
    c = counts(X6, 400_000, 11, dtype=dtype, method=method, workers=1)
    assert c.dtype == np.int64 and c.shape == (6,) and c.sum() == 400_000
    assert c[4] == 0
    assert_law(c, P6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_counts_matches_softmax_k1000(dtype):
    x = np.random.default_rng(3).normal(0.0, 2.0, 1000)
    c = counts(x, 60_000, 12, dtype=dtype, workers=1)
    assert c.sum() == 60_000
    assert_law(c, softmax(x))


@pytest.mark.parametrize("k", [2, SMALL_K, SMALL_K + 1])
def test_counts_both_layouts(k):
    """K <= SMALL_K uses the category-major kernel, larger K the sample-major one."""
    x = np.linspace(-2.0, 2.0, k)
    assert_law(counts(x, 200_000, k, workers=1), softmax(x))


def test_counts_detects_a_sign_flip():
    """Power check of the test itself: Gumbel-min (bugs.md B.2) is rejected at this N."""
    c = counts(-X6[np.isfinite(X6)], 400_000, 11, workers=1)  # argmax(-x + g) ~ softmax(-x)
    assert chisquare_gof(c, P6[np.isfinite(X6)]).pvalue < 1e-30


@pytest.mark.parametrize("method", ["race", "gumbel"])
def test_sample_matches_softmax(method):
    s = sample(X6, 200_000, 5, method=method)
    assert s.shape == (200_000,) and s.dtype == np.int64
    assert_law(np.bincount(s, minlength=6), P6)


def test_sample_batched_any_axis():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 4))  # categories along axis 1, batch (3, 4)
    logits[0, 2, 1] = -np.inf
    s = sample(logits, 40_000, 9, axis=1)
    assert s.shape == (40_000, 3, 4)
    p = softmax(logits, axis=1)
    for i in range(3):
        for j in range(4):
            assert_law(np.bincount(s[:, i, j], minlength=5), p[i, :, j])
    assert not np.any(s[:, 0, 1] == 2)
    # axis=0 and a transposed (non-contiguous) view give the same law
    s0 = sample(np.swapaxes(logits, 0, 1), 20_000, 9, axis=0)
    assert s0.shape == (20_000, 3, 4)
    assert_law(np.bincount(s0[:, 2, 3], minlength=5), p[2, :, 3])


def test_sample_fresh_noise_per_batch_entry_and_sample():
    """Identical batch rows must not share noise (bugs.md B.22): they agree with
    probability sum p^2, not 1."""
    x = np.zeros((2, 8))
    s = sample(x, 50_000, 4)
    agree = np.mean(s[:, 0] == s[:, 1])
    assert abs(agree - 1 / 8) < 0.01
    assert len(np.unique(s[:, 0])) == 8


def test_float32_and_float64_paths_differ_but_both_exact():
    c32 = counts(X6, 300_000, 2, dtype=np.float32, workers=1)
    c64 = counts(X6, 300_000, 2, dtype=np.float64, workers=1)
    assert not np.array_equal(c32, c64)
    assert_law(c32, P6)
    assert_law(c64, P6)
    g32 = gumbel_noise(np.random.default_rng(0), (1000,), np.float32)
    g64 = gumbel_noise(np.random.default_rng(0), (1000,), np.float64)
    assert g32.dtype == np.float32 and g64.dtype == np.float64


# ------------------------------------------------------------------------- Gumbel-top-k
def test_top_k_plackett_luce_law():
    x = np.array([0.5, -0.3, 1.2, 0.0, -np.inf])
    k, n = 3, 120_000
    s = top_k(x, k, n, 21)
    assert s.shape == (n, k) and s.dtype == np.int64
    tuples, probs = plackett_luce_table(x, k)
    index = {t: i for i, t in enumerate(tuples)}
    obs = np.zeros(len(tuples), np.int64)
    for row, c in zip(*np.unique(s, axis=0, return_counts=True)):
        obs[index[tuple(int(v) for v in row)]] += c
    assert obs.sum() == n
    assert_law(obs, probs)


def test_top_k_distinct_and_never_zero_weight():
    x = np.array([0.0, -np.inf, 3.0, -np.inf, -1.0])
    s = top_k(x, 3, 20_000, 2)
    assert not np.isin(s, [1, 3]).any()
    assert np.all(np.sort(s, axis=1) == np.array([0, 2, 4]))  # all three, each once
    assert np.all(top_k(np.array([0.0, -np.inf]), 1, 100, 0) == 0)


def test_top_k_full_permutation_and_order():
    x = np.array([10.0, 0.0, -10.0])
    s = top_k(x, 3, 2_000, 1)
    assert set(map(tuple, s)) <= set(permutations(range(3)))
    assert np.mean(s[:, 0] == 0) > 0.99


@pytest.mark.parametrize("k", [0, -1, 4, 1.5, True])
def test_top_k_bad_k(k):
    with pytest.raises(ValueError):
        top_k(np.array([0.0, 1.0, -np.inf, 2.0]), k, 10, 0)


def test_top_k_more_than_nonzero_is_an_error():
    with pytest.raises(ValueError, match="only 2 of 4"):
        top_k(np.array([0.0, -np.inf, 1.0, -np.inf]), 3, 10, 0)


# --------------------------------------------------------------- zero-probability categories
def test_neg_inf_logits_never_sampled():
    x = np.full(50, -np.inf)
    x[[3, 17]] = [0.0, -5.0]
    for dt in (np.float32, np.float64):
        for method in ("race", "gumbel"):
            c = counts(x, 100_000, 1, dtype=dt, method=method, workers=1)
            assert c.sum() == 100_000 and c[3] + c[17] == 100_000
            s = sample(x, 10_000, 1, dtype=dt, method=method)
            assert np.isin(s, [3, 17]).all()
    only = np.full(7, -np.inf)
    only[6] = 1e30
    assert np.all(sample(only, 100, 0) == 6)
    assert np.all(counts(only, 1000, 0, workers=1) == np.eye(7, dtype=np.int64)[6] * 1000)


def test_extreme_magnitudes():
    x = np.array([1e30, -1e30, 0.0])
    assert np.all(counts(x, 10_000, 0, workers=1) == [10_000, 0, 0])
    x = np.array([-1e5, 0.0])  # pytorch#91863: a logit of -1e5 has probability e^-1e5 = 0.0
    assert counts(x, 100_000, 0, workers=1)[0] == 0
    x = np.array([1000.0, 1000.0])
    assert_law(counts(x, 100_000, 0, workers=1), [0.5, 0.5])


# ------------------------------------------------------------------------------ bad inputs
BAD_LOGITS = [
    ("nan", np.array([0.0, np.nan, 1.0])),
    ("+inf", np.array([0.0, np.inf])),
    ("all -inf", np.array([-np.inf, -np.inf])),
    ("scalar", np.array(1.0)),
    ("empty axis", np.zeros(0)),
    ("complex", np.array([1 + 1j, 0j])),
    ("strings", np.array(["a", "b"])),
]


@pytest.mark.parametrize("name,x", BAD_LOGITS, ids=[b[0] for b in BAD_LOGITS])
@pytest.mark.parametrize("fn", ["sample", "counts", "top_k"])
def test_bad_logits_raise_value_error(name, x, fn):
    with pytest.raises(ValueError):
        if fn == "sample":
            sample(x, 10, 0)
        elif fn == "counts":
            counts(x, 10, 0, workers=1)
        else:
            top_k(x, 1, 10, 0)


def test_all_neg_inf_slice_in_a_batch():
    x = np.zeros((3, 4))
    x[1] = -np.inf
    with pytest.raises(ValueError, match="all -inf"):
        sample(x, 10, 0)


@pytest.mark.parametrize("n", [-1, 1.5, "10", None, True])
def test_bad_n(n):
    for call in (lambda: sample(X6, n, 0), lambda: counts(X6, n, 0, workers=1),
                 lambda: top_k(X6, 2, n, 0)):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("dtype", [np.float16, np.int32, "bfloat16-ish", np.complex128])
def test_bad_noise_dtype(dtype):
    for call in (lambda: sample(X6, 5, 0, dtype=dtype),
                 lambda: counts(X6, 5, 0, dtype=dtype, workers=1),
                 lambda: top_k(X6, 2, 5, 0, dtype=dtype),
                 lambda: gumbel_noise(np.random.default_rng(0), (3,), dtype)):
        with pytest.raises(ValueError):
            call()


def test_bad_method_and_seed():
    with pytest.raises(ValueError, match="method"):
        counts(X6, 5, 0, method="gumbel-min", workers=1)
    with pytest.raises(ValueError, match="method"):
        sample(X6, 5, 0, method="inverse-cdf")
    for seed in (1.5, -3, "seed"):
        with pytest.raises(ValueError):
            counts(X6, 5, seed, workers=1)
        with pytest.raises(ValueError):
            sample(X6, 5, seed)


def test_n_zero_and_float_n():
    assert counts(X6, 0, 0).tolist() == [0] * 6
    assert sample(X6, 0, 0).shape == (0,)
    assert top_k(X6, 2, 0, 0).shape == (0, 2)
    assert counts(X6, 1e3, 0, workers=1).sum() == 1000  # an integral float is accepted


def test_empty_batch():
    assert sample(np.zeros((0, 3)), 5, 0).shape == (5, 0)
    assert counts(np.zeros((0, 3)), 5, 0).shape == (0, 3)


# ------------------------------------------------------------------------------- seeds
def test_seeds_reproducible():
    a = counts(X6, 50_000, 123, workers=1)
    assert np.array_equal(a, counts(X6, 50_000, 123, workers=1))
    assert not np.array_equal(a, counts(X6, 50_000, 124, workers=1))
    ss = np.random.SeedSequence(99)
    assert np.array_equal(counts(X6, 50_000, ss, workers=1), counts(X6, 50_000, ss, workers=1))
    # a Generator is a stateful source: successive calls differ, the sequence reproduces
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    first = counts(X6, 50_000, g1, workers=1)
    assert not np.array_equal(first, counts(X6, 50_000, g1, workers=1))
    assert np.array_equal(first, counts(X6, 50_000, g2, workers=1))
    assert np.array_equal(sample(X6, 100, 7), sample(X6, 100, 7))
    assert np.array_equal(sample(X6, 100, np.random.SeedSequence(7)), sample(X6, 100, 7))
    assert np.array_equal(top_k(X6, 3, 100, 7), top_k(X6, 3, 100, 7))
    assert isinstance(as_generator(3), np.random.Generator)


def test_counts_chunking_is_exact():
    """Any chunk / block size gives a valid law and exactly n draws; the chunk size is part of
    the result's definition (the worker count is not: see test_parallel.py)."""
    for n, chunk, block in [(2_001, 7, 3), (12_345, 1 << 10, 1 << 8), (12_345, 60, 1 << 16)]:
        c = counts(X6, n, 3, chunk_elements=chunk, block_elements=block, workers=1)
        assert c.sum() == n and c[4] == 0
    c = counts(X6, 300_000, 3, chunk_elements=1 << 12, block_elements=1 << 9, workers=1)
    assert_law(c, P6)


def test_counts_batched():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3))  # categories along axis 0, batch of 3
    c = counts(x, 60_000, 8, axis=0, workers=1)
    assert c.shape == (4, 3) and np.all(c.sum(axis=0) == 60_000)
    p = softmax(x, axis=0)
    for j in range(3):
        assert_law(c[:, j], p[:, j])
    assert not np.array_equal(c[:, 0], counts(x[:, 0], 60_000, 8, workers=1))


# --------------------------------------------------------------- adversarial RNG streams
class ZeroInjectingGenerator(np.random.Generator):
    """A real PCG64 stream with exact zeros forced into the Exp(1) draws: the first
    ``zero_calls`` calls set every ``every``-th value (from ``offset``) to 0.0."""

    def __init__(self, seed, every=3, offset=0, zero_calls=3):
        super().__init__(np.random.PCG64(seed))
        self.every, self.offset, self.zero_calls = every, offset, zero_calls
        self.zeros = 0

    def standard_exponential(self, size=None, dtype=np.float64, method="zig", out=None):
        e = super().standard_exponential(size=size, dtype=dtype, method=method, out=out)
        if self.zero_calls > 0 and np.size(e):
            self.zero_calls -= 1
            flat = e.reshape(-1)
            flat[self.offset::self.every] = 0.0
            self.zeros += flat[self.offset::self.every].size
        return e


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_zero_exponentials_are_redrawn(dtype):
    g = ZeroInjectingGenerator(0, every=2, zero_calls=3)  # half the values, and the redraws
    e = exponential_noise(g, (1000,), dtype)
    assert g.zeros > 500 and np.all(e > 0) and np.all(np.isfinite(e))
    g = ZeroInjectingGenerator(0, every=2, zero_calls=3)
    z = gumbel_noise(g, (1000,), dtype)
    assert np.all(np.isfinite(z)) and z.max() < 40


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["race", "gumbel"])
@pytest.mark.parametrize("k", [6, 40])
def test_zero_draws_never_corrupt_samples(monkeypatch, dtype, method, k):
    """Zeros land on the zero-probability category (0 * inf = NaN, -inf + inf = NaN) and on
    finite ones (a score of 0 would always win): the guard redraws them, so no NaN/inf reaches
    argmin, the -inf category is never drawn, and the law is unchanged (the redraw is exact
    rejection)."""
    x = np.linspace(-1.0, 1.0, k)
    x[4] = -np.inf
    made = []

    def make(seed):
        g = ZeroInjectingGenerator(seed, every=7, offset=4, zero_calls=10**9)
        made.append(g)
        return g

    monkeypatch.setattr(ns, "_make_generator", make)
    c = counts(x, 100_000, 1, dtype=dtype, method=method, workers=1)
    assert sum(g.zeros for g in made) > 50_000
    assert c[4] == 0 and c.sum() == 100_000
    assert_law(c, softmax(x))
    s = sample(x, 20_000, ZeroInjectingGenerator(2, every=5, offset=4, zero_calls=10**9),
               dtype=dtype, method=method)
    assert not np.any(s == 4) and s.min() >= 0 and s.max() < k
    assert_law(np.bincount(s, minlength=k), softmax(x))
    t = top_k(x, 3, 5_000, ZeroInjectingGenerator(3, every=5, offset=4, zero_calls=10**9),
              dtype=dtype)
    assert not np.any(t == 4)


def test_float32_exponential_zero_rate_documented():
    """NumPy's float32 ziggurat returns exactly 0.0 with probability 2^-23 per draw (module
    doc). 2^26 draws: 8 expected; Poisson(8) > 0 except with probability 3e-4."""
    rng = np.random.default_rng(2024)
    buf = np.empty(1 << 22, np.float32)
    zeros = 0
    for _ in range(16):
        rng.standard_exponential(dtype=np.float32, out=buf)
        zeros += int(np.count_nonzero(buf == 0))
    assert 0 < zeros < 30
    assert np.all(exponential_noise(np.random.default_rng(2024), (1 << 22,), np.float32) > 0)


def test_noise_range():
    e = exponential_noise(np.random.default_rng(1), (1 << 20,))
    g = gumbel_noise(np.random.default_rng(1), (1 << 20,))
    assert e.min() > 0 and np.isfinite(e).all()
    assert np.isfinite(g).all() and -4.0 < g.min() and g.max() <= 39.49
    out = np.empty((4, 5), np.float32)
    assert exponential_noise(np.random.default_rng(1), (4, 5), np.float32, out=out) is out


# ----------------------------------------------------------------------- the tail, large K
def _gap_logits(k: int, gap: float) -> tuple[np.ndarray, float]:
    """One head category at 0 and k - 1 rare ones at -gap; returns (logits, rare mass)."""
    x = np.full(k, -gap)
    x[0] = 0.0
    return x, float(softmax(x)[1:].sum())


def test_large_k_tail_mass_float64():
    """K = 262144, gap 16: the rare categories (each p = 1.1e-7, total 2.9%) win as often as
    they should (exact binomial, two-sided)."""
    x, q = _gap_logits(262_144, 16.0)
    n = 1_000
    c = counts(x, n, 31, workers=1)
    res = binomial_tail(int(c[1:].sum()), n, q)
    assert res.pvalue > ALPHA, res
    s = sample(x, 200, 31)
    assert s.shape == (200,) and s.max() < 262_144


@pytest.mark.slow
def test_large_k_tail_mass_gap18_float64_exact_float32_cut():
    """K = 262144, gap 18 (each rare p = 1.5e-8, total 0.4%): float64 is exact (binomial
    p > ALPHA), float32 is visibly short (its smallest positive Exp(1) draw is 7.6e-9 and the
    lattice near 0 thins the mass: module doc), binomial 'less' p < 1e-6."""
    x, q = _gap_logits(262_144, 18.0)
    n = 25_000
    c64 = counts(x, n, 5)
    assert binomial_tail(int(c64[1:].sum()), n, q).pvalue > ALPHA
    c32 = counts(x, n, 5, dtype=np.float32)
    res = binomial_tail(int(c32[1:].sum()), n, q, alternative="less")
    assert res.pvalue < 1e-6, res


# ------------------------------------------------------------------------------ memory
def test_counts_memory_is_o_block_not_o_n():
    """tracemalloc peak of counts (NumPy reports its buffers to tracemalloc) does not grow
    with n: 1e5 and 4e6 draws at K = 10 peak within the same few blocks."""
    x = np.linspace(0.0, 1.0, 10)
    counts(x, 10, 0, workers=1)  # warm imports
    peaks = []
    for n in (100_000, 4_000_000):
        tracemalloc.start()
        counts(x, n, 0, workers=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    block_bytes = ns.DEFAULT_BLOCK_ELEMENTS * 8
    assert peaks[1] < 4 * block_bytes + (1 << 20), peaks
    assert peaks[1] < 1.5 * peaks[0] + (1 << 18), peaks
    assert 4_000_000 * 10 * 8 > 100 * peaks[1]  # far below the N x K array (320 MB)


@pytest.mark.parametrize("n", [10**7, pytest.param(10**8, marks=pytest.mark.slow)])
def test_counts_peak_rss_under_300mb(n):
    """counts for N = 1e7 (default run) and 1e8 (slow: ~10 CPU-s), K = 10, in a fresh process:
    peak RSS (VmHWM: interpreter, NumPy and SciPy included) < 300 MB."""
    code = textwrap.dedent(f"""
        import numpy as np
        from harness.core.streaming import counts
        c = counts(np.linspace(0.0, 1.0, 10), {n}, 1, workers=1)
        assert int(c.sum()) == {n}
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                print(int(line.split()[1]))
    """)
    if not sys.platform.startswith("linux"):
        pytest.skip("VmHWM is Linux-only")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, check=True)
    peak_mb = int(out.stdout.split()[-1]) / 1024
    assert peak_mb < 300, f"peak RSS {peak_mb:.0f} MB"
