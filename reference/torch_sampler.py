r"""Chunked Gumbel-max counts with PyTorch, on the CPU or a CUDA device.

:func:`torch_counts` draws ``n`` samples of :math:`\arg\max_i(\log p_i + g_i)` in chunks of
about ``chunk`` noise values on ``device`` and returns the category counts. The noise is
:func:`reference.torch_gumbel_softmax.gumbel_noise` in float64 (``u`` on the 2^-53 grid,
clamped away from 0, so :math:`g \in [-3.60, 36.74]`: finite, and a ``-inf`` logit stays
``-inf`` and never wins). Memory on the device is O(K + chunk) whatever ``n``; the counts are
accumulated on the device (``bincount``) and copied back once. Reproducible for an int seed on
a given device type (CPU and CUDA generators give different streams).
"""
from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike

from reference.softmax import log_softmax, validate_logits
from reference.torch_gumbel_softmax import gumbel_noise

__all__ = ["torch_counts", "DEFAULT_TORCH_CHUNK"]

#: Noise values per chunk (float64): 16 M values = 128 MB of device memory.
DEFAULT_TORCH_CHUNK = 1 << 24


def torch_counts(
    logits: ArrayLike | torch.Tensor,
    n: int,
    seed: int | None = None,
    device: str | torch.device = "cpu",
    chunk: int = DEFAULT_TORCH_CHUNK,
) -> np.ndarray:
    """Counts (``int64`` NumPy array of shape ``(K,)``, summing to ``n``) of ``n`` Gumbel-max
    draws from 1-D ``logits``, sampled on ``device`` in chunks of ``max(1, chunk // K)`` rows.

    Bad logits (NaN, +inf, all ``-inf``, not 1-D), a negative ``n`` or a non-positive ``chunk``
    raise ``ValueError``.
    """
    if isinstance(logits, torch.Tensor):
        logits = logits.detach().to("cpu", torch.float64).numpy()
    x = validate_logits(logits)
    if x.ndim != 1:
        raise ValueError(f"torch_counts takes 1-D logits, got shape {x.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    dev = torch.device(device)
    k = x.shape[0]
    logp = torch.as_tensor(log_softmax(x.astype(np.float64)), dtype=torch.float64, device=dev)
    gen = torch.Generator(device=dev)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    rows = max(1, int(chunk) // k)
    total = torch.zeros(k, dtype=torch.int64, device=dev)
    done = 0
    with torch.no_grad():
        while done < n:
            r = min(rows, n - done)
            scores = gumbel_noise((r, k), dtype=torch.float64, device=dev, generator=gen)
            scores += logp
            total += torch.bincount(scores.argmax(dim=1), minlength=k)
            done += r
    return total.cpu().numpy().astype(np.int64)
