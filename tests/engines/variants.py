"""Variants of the reference token sampler for ``compare`` tests (issue 20).

* :func:`min_p_before_top_p`: the reference (temperature, top-k, top-p, min-p, exponential race)
  with the **min-p stage moved before top-p**: top-p then measures its nucleus on the tokens
  min-p kept, renormalised, so it keeps fewer tokens whenever min-p removed mass (engines differ
  on this order: vLLM's FlashInfer path vs its torch-native path, SGLang's ``min_p`` before
  ``top_p``). Same law wherever a row has no top-p or no min-p.
"""
from __future__ import annotations

from typing import Any

import torch

from reference.torch_token_sampler import _on_rows, _top_p, as_rows, filter_scores, make_generator, race, row_tensors

__all__ = ["min_p_before_top_p", "min_p_before_top_p_keep"]


def min_p_before_top_p_keep(x: torch.Tensor, t, k, p, m) -> tuple[torch.Tensor, torch.Tensor]:
    """``(z, keep)`` of the variant: temperature, top-k, min-p, then top-p on the survivors."""
    z, keep = filter_scores(x, t, k, torch.ones_like(p), m)  # top-p off
    if bool((p < 1).any()):
        keep &= _on_rows(p < 1, _top_p(z, keep, p))
    return z, keep


def min_p_before_top_p(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                       min_p: Any = None, seed: int | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    x = as_rows(logits)
    b = x.shape[0]
    t, k, p, m = row_tensors(b, x.device, temperature, top_k, top_p, min_p)
    with torch.no_grad():
        out = x.argmax(dim=1) if b else torch.zeros(0, dtype=torch.int64, device=x.device)
        rnd = t > 0
        if bool(rnd.any()):
            z, keep = min_p_before_top_p_keep(x[rnd], t[rnd], k[rnd], p[rnd], m[rnd])
            out[rnd] = race(z, keep, make_generator(x.device, seed, generator))
    return out
