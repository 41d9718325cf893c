"""Built-in targets of the ``token`` kind (module-level functions, picklable by reference).

* :func:`torch_multinomial_token`: the documented filters (the reference's
  :func:`reference.torch_token_sampler.filter_scores`, float64) then
  ``torch.multinomial(softmax, 1)``: isolates torch's multinomial as the sampling step.
* :func:`hf_logits_processors`: HuggingFace transformers' ``TemperatureLogitsWarper``,
  ``TopKLogitsWarper``, ``TopPLogitsWarper``, ``MinPLogitsWarper`` (``generate``'s order) on the
  float32 logits, then ``torch.multinomial(softmax(scores), 1)``; the warpers take one
  scalar per call, so rows are grouped by their parameters; ``T = 0`` rows take the argmax.

Both seed a ``torch.Generator`` on the logits' device with ``seed`` (or use ``generator``).
"""
from __future__ import annotations

from typing import Any

import torch

from reference.torch_token_sampler import as_rows, filter_scores, make_generator, row_tensors

__all__ = ["torch_multinomial_token", "hf_logits_processors"]


def torch_multinomial_token(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                            min_p: Any = None, seed: int | None = None,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Filters of the law (float64), then ``torch.multinomial(p, 1, generator=...)``."""
    x = as_rows(logits)
    b = x.shape[0]
    t, k, p, m = row_tensors(b, x.device, temperature, top_k, top_p, min_p)
    out = torch.empty(b, dtype=torch.int64, device=x.device)
    if b == 0:
        return out
    greedy = t == 0
    out[greedy] = x[greedy].argmax(dim=1)
    rnd = ~greedy
    if bool(rnd.any()):
        z, keep = filter_scores(x[rnd], t[rnd], k[rnd], p[rnd], m[rnd])
        probs = torch.softmax(torch.where(keep, z, torch.full_like(z, -float("inf"))), dim=1)
        gen = make_generator(x.device, seed, generator)
        out[rnd] = torch.multinomial(probs, 1, replacement=True, generator=gen)[:, 0]
    return out


def hf_logits_processors(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                         min_p: Any = None, seed: int | None = None,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """transformers' warpers (per group of rows with equal parameters), then multinomial."""
    from transformers import MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    scores = logits if isinstance(logits, torch.Tensor) else torch.as_tensor(logits)
    if scores.ndim != 2:
        raise ValueError(f"logits must have shape [B, V], got {tuple(scores.shape)}")
    b = scores.shape[0]
    cols = row_tensors(b, scores.device, temperature, top_k, top_p, min_p)
    params = torch.stack([c.to(torch.float64) for c in cols], dim=1).cpu()
    out = torch.empty(b, dtype=torch.int64, device=scores.device)
    gen = make_generator(scores.device, seed, generator)
    ids = torch.zeros((1, 1), dtype=torch.long, device=scores.device)
    groups = torch.unique(params, dim=0) if b else params
    for g in groups:
        rows = (params == g).all(dim=1).nonzero()[:, 0].to(scores.device)
        t, k, p, m = (float(v) for v in g)
        s = scores[rows]
        if t == 0:
            out[rows] = s.argmax(dim=1)
            continue
        s = TemperatureLogitsWarper(t)(ids, s)
        if k > 0:
            s = TopKLogitsWarper(int(k))(ids, s)
        if p < 1:
            s = TopPLogitsWarper(p)(ids, s)
        if m > 0:
            s = MinPLogitsWarper(m)(ids, s)
        out[rows] = torch.multinomial(torch.softmax(s, dim=-1), 1, replacement=True, generator=gen)[:, 0]
    return out
