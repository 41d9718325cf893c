"""Stand-ins for three families of engine sampling APIs (README "Engine conventions and adapters"):
what an adapter wraps. Not the engines: small torch functions with the engines' calling shapes.

* :func:`batched_sample`: per-row tensors and one generator per row (vLLM / SGLang style), vLLM's
  law (:mod:`tests.engines.vllm_port`);
* :func:`scalar_sample`: one scalar per parameter per call, no min-p (MLX-LM ``make_sampler``
  style), MLX-LM's law;
* :func:`global_rng_sample`: temperature and top-k only, drawing from torch's default generator
  (gpt-fast / nanochat style), HF's law for those two stages.
"""
from __future__ import annotations

import torch


def batched_sample(logits, temperatures, top_ks, top_ps, min_ps, generators):
    """``[B]`` ids; ``top_ks`` -1 = off (vLLM's convention), ``generators``: one per row."""
    from tests.engines.vllm_port import sample

    out = torch.empty(logits.shape[0], dtype=torch.int64)
    seed = generators[0].initial_seed() if generators else None
    k = torch.where(top_ks < 0, torch.zeros_like(top_ks), top_ks)
    out[:] = sample(logits, temperatures, top_k=k, top_p=top_ps, min_p=min_ps, seed=seed)
    return out


def scalar_sample(logits, temp: float, top_p: float = 0.0, top_k: int = 0, seed: int = 0):
    """One scalar per parameter (``top_p = 0`` / ``top_k = 0`` off, as MLX-LM's make_sampler)."""
    from tests.engines.mlx_lm_port import sample

    if not all(isinstance(v, (int, float)) for v in (temp, top_p, top_k)):
        raise TypeError("scalar_sample takes one Python scalar per parameter")
    return sample(logits, temp, top_k=top_k or None, top_p=top_p if 0 < top_p < 1 else None, seed=seed)


def global_rng_sample(logits, temperature: float, top_k: int | None = None):
    """gpt-fast style: ``torch.multinomial`` on torch's default generator; no seed argument."""
    x = logits.double() / max(temperature, 1e-5)
    if top_k:
        v = torch.topk(x, min(top_k, x.shape[-1])).values[..., -1:]
        x = torch.where(x < v, torch.full_like(x, -float("inf")), x)
    return torch.multinomial(torch.softmax(x, -1), 1)[:, 0]
