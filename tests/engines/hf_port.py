r"""Port of HuggingFace ``generate``'s sampling path: the warpers in ``generate``'s order, then
``torch.multinomial``.

Read: huggingface/transformers ``src/transformers/generation/logits_process.py`` @
``aa5108b449965084a90a4c8ce130a156aebf28f1``:

* ``TemperatureLogitsWarper``: ``scores / temperature``;
* ``TopKLogitsWarper``: ``top_k = min(top_k, V)``; ``scores < torch.topk(scores, top_k)[0][..., -1,
  None]`` set to ``-inf`` (every token tied with the k-th value survives);
* ``TopPLogitsWarper``: ``torch.sort(scores, descending=False)``, ``cumulative_probs =
  sorted.softmax(-1).cumsum(-1)``, ``cumulative_probs <= 1 - top_p`` removed, the last
  ``min_tokens_to_keep = 1`` sorted entries kept, scattered back;
* ``MinPLogitsWarper``: ``probs = softmax(scores)``, ``probs < min_p * probs.max()`` removed (the
  top token kept);
* order temperature, top-k, top-p, min-p (``generation/utils.py`` ``_get_logits_processor``), then
  ``_sample``: ``probs = softmax(scores)``, ``torch.multinomial(probs, 1)``; ``do_sample=False``
  is ``argmax`` (our ``T = 0``).

The warpers take one scalar per call; here they are applied row-wise with the row's parameter
(the same arithmetic, float32 like the engine's scores). ``temperature_last=True`` is the bug of
transformers#8686 (the temperature warper after top-k / top-p, as in v3.5.x).
"""
from __future__ import annotations

from typing import Any

import torch

from tests.engines._common import NEG_INF, columns, make_gen


def _warp(s: torch.Tensor, t: torch.Tensor, k: torch.Tensor, p: torch.Tensor, m: torch.Tensor,
          temperature_last: bool) -> torch.Tensor:
    v = s.shape[1]
    tt = t.to(s.dtype)[:, None]
    if not temperature_last:
        s = s / tt
    on = k > 0
    if bool(on.any()):  # TopKLogitsWarper
        kk = torch.clamp(k, 1, v)
        thresh = torch.topk(s, int(kk.max()), dim=1).values.gather(1, (kk - 1)[:, None])
        s = s.masked_fill((s < thresh) & on[:, None], NEG_INF)
    on = p < 1
    if bool(on.any()):  # TopPLogitsWarper
        sorted_logits, sorted_idx = torch.sort(s, descending=False)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cum <= (1 - p.to(s.dtype))[:, None]
        remove_sorted[:, -1] = False
        remove = remove_sorted.scatter(1, sorted_idx, remove_sorted)
        s = s.masked_fill(remove & on[:, None], NEG_INF)
    on = m > 0
    if bool(on.any()):  # MinPLogitsWarper
        probs = torch.softmax(s, dim=-1)
        top = probs.max(dim=-1, keepdim=True).values
        s = s.masked_fill((probs < m.to(s.dtype)[:, None] * top) & on[:, None], NEG_INF)
    if temperature_last:
        s = s / tt
    return s


def sample(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None, min_p: Any = None,
           seed: int | None = None, generator: torch.Generator | None = None,
           temperature_last: bool = False) -> torch.Tensor:
    """``[B]`` token ids (the ``token`` protocol), HF ``generate`` semantics (module doc)."""
    x, t, k, p, m = columns(logits, temperature, top_k, top_p, min_p)
    gen = make_gen(x, seed, generator)
    out = x.argmax(dim=1)  # greedy rows (do_sample=False)
    rnd = t > 0
    if bool(rnd.any()):
        s = _warp(x[rnd], t[rnd], k[rnd], p[rnd], m[rnd], temperature_last)
        out[rnd] = torch.multinomial(torch.softmax(s, dim=-1), 1, replacement=True, generator=gen)[:, 0]
    return out

