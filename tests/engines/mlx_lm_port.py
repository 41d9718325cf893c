r"""Port of MLX-LM's ``make_sampler`` (in torch; MLX itself is not needed).

Read: ml-explore/mlx-lm ``mlx_lm/sample_utils.py`` @ ``d78bf58e217c904ec282ed8da9b947491f78c022``
(``make_sampler``, ``apply_top_p``, ``apply_min_p``, ``apply_top_k``, ``categorical_sampling``) and
``mlx_lm/generate.py`` (same commit: ``logprobs = logits - logsumexp(logits)`` is what the sampler
gets). Step by step:

* ``temp == 0``: ``argmax``;
* the chain: ``apply_top_p`` if ``0 < top_p < 1`` (``probs = exp(logprobs)``, ascending
  ``argsort``, ``cumsum``, keep ``cumulative > 1 - top_p``: on the full ``T = 1`` distribution,
  crossing token kept), ``apply_min_p`` if ``min_p != 0`` (``logprobs < max + log(min_p)``
  removed, ``min_tokens_to_keep = 1``), ``apply_top_k`` if ``top_k > 0`` (``argpartition(-logprobs,
  top_k - 1)``, entries ``[top_k:]`` masked: exactly k, ties unspecified; ``ValueError`` unless
  ``0 < top_k < V``);
* ``categorical_sampling``: ``mx.random.categorical(logprobs * (1 / temp))``: the temperature
  last. Here the categorical draw is the Gumbel-max / exponential race ``argmax(l / T - log E)``,
  ``E ~ Exp(1)`` float32 from ``exponential_``.

``make_sampler`` takes scalars; the port applies the same arithmetic row-wise with each row's
parameters (an adapter would group rows, ``--scalar-params``).
"""
from __future__ import annotations

from typing import Any

import torch

from tests.engines._common import NEG_INF, columns, make_gen


def sample(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None, min_p: Any = None,
           seed: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """``[B]`` token ids (the ``token`` protocol), MLX-LM ``make_sampler`` semantics (module doc)."""
    x, t, k, p, m = columns(logits, temperature, top_k, top_p, min_p)
    b, v = x.shape
    gen = make_gen(x, seed, generator)
    if bool(((k > 0) & (k >= v)).any()):
        raise ValueError(f"`top_k` has to be an integer in the (0, {v}) interval, but is {int(k.max())}.")
    lp = x - torch.logsumexp(x, dim=-1, keepdim=True)
    on = ((p > 0) & (p < 1))[:, None]
    if bool(on.any()):  # apply_top_p
        probs = torch.exp(lp)
        sorted_indices = torch.argsort(lp, dim=-1)
        cum_sorted = torch.cumsum(probs.gather(1, sorted_indices), dim=-1)
        cum = torch.empty_like(cum_sorted).scatter_(1, sorted_indices, cum_sorted)
        lp = torch.where(~on | (cum > (1 - p.to(torch.float32))[:, None]), lp, torch.full_like(lp, NEG_INF))
    on = (m != 0)[:, None]
    if bool(on.any()):  # apply_min_p
        scaled = lp.max(dim=-1, keepdim=True).values + torch.log(m.clamp_min(1e-30)).to(torch.float32)[:, None]
        lp = lp.masked_fill(on & (lp < scaled), NEG_INF)
    on = (k > 0)[:, None]
    if bool(on.any()):  # apply_top_k: exactly k (argpartition)
        kk = torch.where(k > 0, k, torch.full_like(k, v))
        ranks = torch.empty_like(kk[:, None].expand(b, v))
        order = torch.argsort(lp, dim=-1, descending=True)
        ranks.scatter_(1, order, torch.arange(v, device=x.device).expand(b, v).contiguous())
        lp = lp.masked_fill(on & (ranks >= kk[:, None]), NEG_INF)
    greedy = t == 0
    tt = torch.where(greedy, torch.ones_like(t), t).to(torch.float32)[:, None]
    e = torch.empty_like(lp).exponential_(generator=gen)
    drawn = (lp * (1 / tt) - torch.log(e)).argmax(dim=-1)
    return torch.where(greedy, x.argmax(dim=-1), drawn)


__all__ = ["sample"]
