r"""Port of SGLang's ``pytorch`` sampling backend.

Read: sgl-project/sglang ``python/sglang/srt/layers/sampler.py`` @
``584f55d1ce76e57478ef233d04f6afbfd585960f`` (``Sampler.forward``,
``top_k_top_p_min_p_sampling_from_probs_torch``; the same filter lines in a newer stored version)
and ``python/sglang/srt/sampling/sampling_params.py`` @ ``0bebedd800a35ae29a9adeab6617605970d724bd``
(``SamplingParams.__init__``). Step by step:

1. ``SamplingParams``: ``0 <= temperature < 1e-6`` becomes ``temperature = 1, top_k = 1``; ``top_k =
   -1`` (our "off") becomes ``1 << 30``;
2. an all-greedy batch: ``torch.argmax(logits, -1)``;
3. otherwise ``logits.div_(temperatures)``; ``probs = softmax(logits)``;
4. ``probs.sort(descending=True)``; ``probs_sum = cumsum(probs_sort)`` over the **full** sorted
   probabilities; positions ``>= top_k`` zeroed (exactly k); ``(probs_sum - probs_sort) > top_p``
   zeroed; with min-p in the batch, ``probs_sort < probs_sort[:, 0] * min_p`` zeroed;
5. ``torch.multinomial(probs_sort, 1)`` (unnormalised weights), mapped back through ``probs_idx``.
"""
from __future__ import annotations

from typing import Any

import torch

from tests.engines._common import columns, make_gen

_SAMPLING_EPS = 1e-6
TOP_K_ALL = 1 << 30


def sample(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None, min_p: Any = None,
           seed: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """``[B]`` token ids (the ``token`` protocol), SGLang pytorch-backend semantics (module doc)."""
    x, t, k, p, m = columns(logits, temperature, top_k, top_p, min_p)
    b, v = x.shape
    gen = make_gen(x, seed, generator)
    greedy = t < _SAMPLING_EPS
    if b == 0 or bool(greedy.all()):
        return x.argmax(dim=-1)
    temps = torch.where(greedy, torch.ones_like(t), t).to(torch.float32)
    top_ks = torch.where(k > 0, k, torch.full_like(k, TOP_K_ALL))
    top_ks = torch.where(greedy, torch.ones_like(top_ks), top_ks)
    x.div_(temps[:, None])
    probs = torch.softmax(x, dim=-1)
    probs_sort, probs_idx = probs.sort(dim=-1, descending=True)
    probs_sum = torch.cumsum(probs_sort, dim=-1)
    probs_sort[torch.arange(0, v, device=x.device).view(1, -1) >= top_ks.view(-1, 1)] = 0.0
    probs_sort[(probs_sum - probs_sort) > p.to(torch.float32).view(-1, 1)] = 0.0
    if bool((m > 0).any()):
        min_p_thresholds = probs_sort[:, 0] * m.to(torch.float32)
        probs_sort[probs_sort < min_p_thresholds.view(-1, 1)] = 0.0
    sampled_index = torch.multinomial(probs_sort, num_samples=1, generator=gen)
    return torch.gather(probs_idx, dim=1, index=sampled_index).view(-1)
