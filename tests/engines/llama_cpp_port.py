r"""Port of llama.cpp's default sampler chain (top-k -> top-p -> min-p -> temperature -> dist).

Read: ggml-org/llama.cpp ``src/llama-sampler.cpp`` @ ``6f7f63ee4dffdf00f29be2f1fa00ad3c341ff7b2``
and ``common/sampling.cpp`` @ ``3b3f5fed31ab654c4ed858b98b70df1b9855a2aa`` (``common_sampler_init``:
the samplers in ``params.samplers`` order, then ``dist``; the default order is penalties, dry,
top-n-sigma, top-k, typical-p, top-p, min-p, xtc, temperature). Per row, on the candidate array:

* ``llama_sampler_top_k_impl``: ``k <= 0`` off; ``k = min(k, size)``; partial sort descending,
  ``size = k`` (exactly k; the sort is not stable, so which tied token stays is unspecified);
* ``llama_sampler_top_p_apply``: ``p >= 1`` off; softmax over the current candidates; in
  descending order accumulate ``cum_sum += p_i`` and keep ``0..i`` for the first ``i`` with
  ``cum_sum >= p`` (the crossing token is kept);
* ``llama_sampler_min_p_apply``: ``p <= 0`` off; keep ``logit >= max_logit + logf(p)``;
* ``llama_sampler_temp_impl``: ``temp <= 0``: only the first strictly larger logit in the current
  order survives (greedy); else ``logit /= temp``;
* ``llama_sampler_dist_apply``: ``p_i = expf(logit_i - max)``, ``sum`` in double, one uniform
  double ``rnd`` (``std::uniform_real_distribution<double>`` over mt19937; here
  ``torch.rand(float64)``), the first ``i`` with running sum ``>= sum * rnd``.

Batched here: each row is sorted descending once (``torch.sort``, not stable, as one valid
realisation of the unstable sorts), so every filter keeps a prefix of the sorted order; float32
scores as in llama.cpp's ``llama_token_data``. ``top_p_rule="pre_1953"`` is the bug fixed by
llama.cpp#1953 (top-p kept the largest set with cumulative probability ``<= p``, dropping the
crossing token; at least one token kept).
"""
from __future__ import annotations

from typing import Any

import torch

from tests.engines._common import NEG_INF, columns, make_gen


def sample(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None, min_p: Any = None,
           seed: int | None = None, generator: torch.Generator | None = None,
           top_p_rule: str = "fixed") -> torch.Tensor:
    """``[B]`` token ids (the ``token`` protocol), llama.cpp default-chain semantics (module doc)."""
    x, t, k, p, m = columns(logits, temperature, top_k, top_p, min_p)
    b, v = x.shape
    gen = make_gen(x, seed, generator)
    if b == 0:
        return torch.zeros(0, dtype=torch.int64, device=x.device)
    s, idx = torch.sort(x, dim=1, descending=True)  # candidates, sorted (llama.cpp sorts at top-k/top-p)
    pos = torch.arange(v, device=x.device)[None, :]
    alive = torch.isfinite(s)
    # top-k: size = min(k, size)
    kk = torch.where(k > 0, torch.clamp(k, max=v), torch.full_like(k, v))
    alive &= pos < kk[:, None]
    # top-p: softmax over the candidates, keep 0..i for the first i with cum_sum >= p
    on = (p < 1)[:, None]
    sm = s.masked_fill(~alive, NEG_INF)
    probs = torch.softmax(sm, dim=1)
    cum = torch.cumsum(probs, dim=1)
    pf = p.to(torch.float32)[:, None]
    if top_p_rule == "fixed":
        inside = (cum - probs) < pf  # no earlier i reached p
    else:  # pre-#1953: the largest prefix with cum_sum <= p, at least one token
        inside = (cum <= pf) | (pos == 0)
    alive &= ~on | inside
    # min-p: logit >= max_logit + logf(p), on the candidates (the first one always stays)
    on = (m > 0)[:, None]
    min_logit = s[:, :1] + torch.log(m.clamp_min(1e-30)).to(torch.float32)[:, None]
    alive &= ~on | (s >= min_logit) | (pos == 0)
    # temperature: greedy keeps the first candidate (the sorted maximum); else logit /= temp
    greedy = (t <= 0)[:, None]
    alive &= ~greedy | (pos == 0)
    tt = torch.where(t > 0, t, torch.ones_like(t)).to(torch.float32)[:, None]
    s = (s / tt).masked_fill(~alive, NEG_INF)
    # dist: p_i = expf(l_i - max), sum in double, first i with running sum >= sum * rnd
    w = torch.exp(s - s[:, :1]).to(torch.float64)
    run = torch.cumsum(w, dim=1)
    rnd = torch.rand(b, dtype=torch.float64, generator=gen, device=x.device)
    target = run[:, -1] * rnd
    sel = torch.searchsorted(run, target[:, None]).clamp_max(v - 1)
    return idx.gather(1, sel)[:, 0]


__all__ = ["sample"]
