"""Tests of ``reference.torch_sampler.torch_counts`` (chunked Gumbel-max on a torch device)
on CPU and, when present, CUDA (the ``device`` fixture; CUDA skips cleanly without one).
Chi-square assertions at fixed seeds, per-assertion alpha 1e-4 (see test_numpy_sampler.py)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from harness.stats.discrete import chisquare_gof  # noqa: E402
from reference.softmax import softmax  # noqa: E402
from reference.torch_sampler import torch_counts  # noqa: E402

X = np.array([0.0, 1.0, -1.0, 2.0, -np.inf, 0.5])


def test_torch_counts_law(device):
    c = torch_counts(X, 300_000, 3, device=device, chunk=1 << 16)
    assert c.dtype == np.int64 and c.shape == (6,) and c.sum() == 300_000
    assert c[4] == 0
    res = chisquare_gof(c, softmax(X))
    assert res.impossible == 0 and res.pvalue > 1e-4, res


def test_torch_counts_reproducible_and_chunked(device):
    a = torch_counts(X, 10_001, 5, device=device, chunk=60)  # 10 rows per chunk, ragged end
    assert a.sum() == 10_001 and a[4] == 0
    assert np.array_equal(a, torch_counts(X, 10_001, 5, device=device, chunk=60))
    x = torch.tensor([0.0, -float("inf"), 3.0], dtype=torch.float32)
    assert torch_counts(x, 1000, 0, device=device)[1] == 0


def test_torch_counts_large_k(device):
    x = np.random.default_rng(0).normal(0.0, 2.0, 1000)
    c = torch_counts(x, 20_000, 9, device=device)
    assert chisquare_gof(c, softmax(x)).pvalue > 1e-4


@pytest.mark.parametrize("bad", [np.array([np.nan, 0.0]), np.array([np.inf, 0.0]),
                                 np.array([-np.inf, -np.inf]), np.zeros((2, 2))])
def test_torch_counts_bad_logits(bad):
    with pytest.raises(ValueError):
        torch_counts(bad, 10, 0)


@pytest.mark.parametrize("kw", [{"n": -1}, {"n": 1.5}, {"chunk": 0}])
def test_torch_counts_bad_arguments(kw):
    args = dict(n=10, chunk=100) | kw
    with pytest.raises(ValueError):
        torch_counts(X, args["n"], 0, chunk=args["chunk"])
