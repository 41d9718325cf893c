r"""Port of vLLM v1's native (PyTorch) sampling path.

Read: vllm-project/vllm ``vllm/v1/sample/sampler.py`` @ ``3e342658b2e9c85a30a54d19e64e5ad77b8a26a6``
(``Sampler.forward`` / ``sample``), ``vllm/v1/sample/logits_processor/builtin.py`` @
``bf17660a2493b9cec475b6ba790a390afd317e8b`` (``MinPLogitsProcessor.apply``),
``vllm/v1/sample/ops/topk_topp_sampler.py`` @ ``01fa3fe74b058bb604f236341ab2361c7cf3d25b``
(``TopKTopPSampler.forward_native``, ``apply_top_k_top_p_pytorch``, ``apply_top_k_only``,
``random_sample``, ``sample_with_exponential_noise``). Step by step:

1. logits to float32; ``greedy_sampled = logits.argmax(-1)`` (before the temperature);
2. ``apply_temperature``: ``temp = where(temp < 1e-5, 1.0, temp)``; ``logits.div_(temp)``;
3. min-p (argmax-invariant processor): ``probs = softmax(logits)``, ``probs < amax(probs) *
   min_p`` set to ``-inf`` (rows without min-p have ``min_p = 0``: nothing removed);
4. top-k / top-p: rows without top-k get ``k = V``, without top-p ``p = 1``; with top-k only,
   ``apply_top_k_only`` (threshold ``topk(max_k).values[k - 1]``, ``logits < threshold`` removed,
   ``k == V`` rows untouched); otherwise ``logits.sort(ascending)``, top-k ``logits_sort <
   logits_sort[V - k]`` removed, top-p ``softmax(logits_sort).cumsum() <= 1 - p`` removed with the
   last (largest) kept, scattered back;
5. ``probs = softmax(logits, float32)``; ``q = empty_like(probs).exponential_()``;
   ``probs.div(q).argmax(-1)``;
6. ``where(temperature < 1e-5, greedy_sampled, random_sampled)``.

The port draws ``q`` in one ``exponential_`` call on the harness's generator (vLLM: the default
generator, or one generator per seeded request). Like vLLM, it does not guard ``q = 0``: a
masked token (``probs = 0``) with ``q = 0`` gives ``0 / 0 = NaN``, which ``argmax`` returns (the
harness's ``E=0`` adversarial stream shows it; PyTorch's ``exponential_`` is not supposed to
return 0, pytorch#48841). ``noise`` selects the mutants of :mod:`tests.engines.mutants`.
"""
from __future__ import annotations

from typing import Any

import torch

from tests.engines._common import NEG_INF, columns, make_gen

_SAMPLING_EPS = 1e-5


def _noise(probs: torch.Tensor, gen: torch.Generator, noise: str, seed: int | None) -> torch.Tensor:
    q = torch.empty_like(probs)
    if noise == "exponential":
        return q.exponential_(generator=gen)
    if noise == "shared_seed":  # vllm#50440: every request carries the same seed -> its own generator
        s = gen.initial_seed() if seed is None else int(seed)
        for i in range(q.shape[0]):
            q[i].exponential_(generator=torch.Generator(q.device).manual_seed(s))
        return q
    if noise == "neg_log_uniform":  # E = -log(u), u in (0, 1]: u = 1 gives -0.0 (pytorch#192577's mechanism)
        u = 1.0 - torch.rand(q.shape, generator=gen, dtype=q.dtype, device=q.device)
        return -torch.log(u)
    raise ValueError(f"unknown noise {noise!r}")


def sample(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None, min_p: Any = None,
           seed: int | None = None, generator: torch.Generator | None = None,
           noise: str = "exponential") -> torch.Tensor:
    """``[B]`` token ids (the ``token`` protocol), vLLM v1 native semantics (module doc)."""
    x, t, k, p, m = columns(logits, temperature, top_k, top_p, min_p)
    b, v = x.shape
    gen = make_gen(x, seed, generator)
    if b == 0:
        return torch.zeros(0, dtype=torch.int64, device=x.device)
    temp = t.to(torch.float32)
    greedy_sampled = x.argmax(dim=-1)
    x = x.div_(torch.where(temp < _SAMPLING_EPS, torch.ones_like(temp), temp)[:, None])
    if bool((m > 0).any()):  # MinPLogitsProcessor
        probs = torch.softmax(x, dim=-1)
        adjusted = probs.amax(dim=-1, keepdim=True) * m.to(torch.float32)[:, None]
        x[probs < adjusted] = NEG_INF
    kt = None if not bool((k > 0).any()) else torch.where((k > 0) & (k < v), k, torch.full_like(k, v))
    pt = None if not bool((p < 1).any()) else p.to(torch.float32)
    if pt is None and kt is not None:  # apply_top_k_only
        no_top_k = kt == v
        kk = kt.masked_fill(no_top_k, 1)
        thresh = x.topk(int(kk.max()), dim=1).values.gather(1, (kk - 1)[:, None])
        thresh.masked_fill_(no_top_k[:, None], NEG_INF)
        x = x.masked_fill_(x < thresh, NEG_INF)
    elif pt is not None:  # apply_top_k_top_p_pytorch
        logits_sort, logits_idx = x.sort(dim=-1, descending=False)
        if kt is not None:
            top_k_mask = logits_sort.gather(1, (v - kt)[:, None])
            logits_sort.masked_fill_(logits_sort < top_k_mask, NEG_INF)
        probs_sort = logits_sort.softmax(dim=-1)
        probs_sum = torch.cumsum(probs_sort, dim=-1)
        top_p_mask = probs_sum <= 1 - pt[:, None]
        top_p_mask[:, -1] = False
        logits_sort.masked_fill_(top_p_mask, NEG_INF)
        x = x.scatter_(dim=-1, index=logits_idx, src=logits_sort)
    probs = x.softmax(dim=-1, dtype=torch.float32)
    q = _noise(probs, gen, noise, seed)
    random_sampled = probs.div(q).argmax(dim=-1)
    return torch.where(temp < _SAMPLING_EPS, greedy_sampled, random_sampled)
