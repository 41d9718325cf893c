"""Shared by the ports: the harness's parameter columns and generator."""
from __future__ import annotations

from typing import Any

import torch

from reference.torch_token_sampler import make_generator, row_tensors


def columns(logits: Any, temperature: Any, top_k: Any, top_p: Any, min_p: Any):
    """``(x float32 [B, V] (a copy), T, k, p, m)``: ``[B]`` float64 / int64 tensors in the harness
    convention (``k = 0``, ``p = 1``, ``m = 0`` off), validated by the reference's ``row_tensors``."""
    x = torch.as_tensor(logits).detach().to(torch.float32).clone()
    if x.ndim != 2:
        raise ValueError(f"logits must have shape [B, V], got {tuple(x.shape)}")
    t, k, p, m = row_tensors(x.shape[0], x.device, temperature, top_k, top_p, min_p)
    return x, t, k, p, m


def make_gen(x: torch.Tensor, seed: int | None, gen: torch.Generator | None) -> torch.Generator:
    return make_generator(x.device, seed, gen)


NEG_INF = float("-inf")
