r"""Our reference token sampler (the ``token`` protocol): batched exponential race with
temperature, top-k, top-p and min-p per row, on the CPU or a CUDA device.

``sample_tokens(logits [B, V], temperature, *, top_k, top_p, min_p, seed, generator)``
returns ``[B]`` int64 token ids on the logits' device, distributed per row as
:func:`reference.token_laws.token_probs` (same semantics, same order: temperature, top-k,
top-p, min-p; ``T = 0`` greedy with the lowest index on ties).

Mechanism, per row (:func:`filter_scores` then :func:`race`):

* the scores ``z = x / T`` and the kept mask are computed in float64 (top-k by the k-th
  largest value from ``torch.topk``, ties kept; top-p from the sorted probabilities of the
  tokens still kept, exclusive cumulative mass ``< p``, boundary ties to the lower index;
  min-p as ``z - max z >= log m``, i.e. ``q >= m max q``); ``w = exp(z - max z)`` is 1 at the top token;
* exponential race: the token is ``argmax_i w_i / E_i`` over the kept tokens, ``E_i`` iid
  Exp(1) from ``Tensor.exponential_`` in **float64** (``noise_dtype``); ``P(argmax = i) =
  w_i / sum w`` exactly (the race's first arrival). An exponential of exactly ``0`` or
  ``-0.0`` (which real backends return: pytorch#48841, #192577) is replaced by the smallest
  positive float64, and non-kept tokens get the score ``-1`` *after* the division, so a
  masked token can never win, even when its ``E`` is 0 (``0 / 0 = NaN`` would: vllm-metal#622).
* rows with ``T = 0`` take ``argmax x`` (first maximal index; no noise consumed).

Randomness: ``generator`` if given, else a fresh ``torch.Generator`` on the logits' device
seeded with ``seed`` (``None``: nondeterministic). One ``[B, V]`` noise tensor per call: rows
never share noise. Reproducible for a seed on one device type.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["sample_tokens", "staged_sample", "filter_scores", "race", "as_rows", "make_generator", "row_tensors"]


def as_rows(logits: Any) -> torch.Tensor:
    """``[B, V]`` float logits as a tensor (NumPy accepted), validated: no NaN, no +inf, no
    all ``-inf`` row, ``V >= 1``. ``ValueError`` otherwise."""
    if not isinstance(logits, torch.Tensor):
        a = np.asarray(logits)
        if a.dtype.kind not in "fiu":
            raise ValueError(f"logits must be real numbers, got dtype {a.dtype}")
        logits = torch.as_tensor(a.astype(np.float64))
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape [B, V], got {tuple(logits.shape)}")
    if logits.shape[1] == 0:
        raise ValueError("logits have an empty vocabulary (V = 0)")
    if not (logits.is_floating_point() or logits.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"logits must be real numbers, got {logits.dtype}")
    x = logits.detach().to(torch.float64)
    if x.shape[0]:
        top = x.max(dim=1).values  # NaN if a row has NaN, +inf if +inf, -inf if all -inf
        if torch.isnan(top).any():
            raise ValueError("logits contain NaN")
        if torch.isposinf(top).any():
            raise ValueError("logits contain +inf")
        if torch.isneginf(top).any():
            raise ValueError("a row of logits is all -inf: no token can be sampled")
    return x


def row_tensors(b: int, device: torch.device, temperature: Any, top_k: Any, top_p: Any,
                min_p: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scalar-or-``[B]`` parameters as ``[B]`` tensors (float64, int64, float64, float64) with
    "off" as ``k = 0``, ``p = 1``, ``m = 0``; validated (``ValueError``)."""
    def col(v, name, default, ok, why):
        if v is None:
            return torch.full((b,), default, dtype=torch.float64, device=device)
        if not isinstance(v, torch.Tensor) and np.ndim(v) == 0:  # a scalar: validate once
            f = float(v)
            if not ok(torch.tensor(f, dtype=torch.float64)):
                raise ValueError(f"{name} {why}, got {v!r}")
            return torch.full((b,), f, dtype=torch.float64, device=device)
        t = torch.as_tensor(v.detach() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=np.float64))
        t = t.to(device=device, dtype=torch.float64)
        if t.ndim == 0:
            t = t.expand(b)
        if tuple(t.shape) != (b,):
            raise ValueError(f"{name} must be a scalar or have shape ({b},), got {tuple(t.shape)}")
        if b and not ok(t):
            raise ValueError(f"{name} {why}, got {t.tolist()[:8]}")
        return t

    t = col(temperature, "temperature", 1.0, lambda a: bool((torch.isfinite(a) & (a >= 0)).all()),
            "must be finite and >= 0 (0 = greedy)")
    kf = col(top_k, "top_k", 0.0, lambda a: bool((torch.isfinite(a) & (a >= 0) & (a == a.round())).all()),
             "must be non-negative integers (0 or None = off)")
    p = col(top_p, "top_p", 1.0, lambda a: bool(((a > 0) & (a <= 1)).all()), "must be in (0, 1] (1 or None = off)")
    m = col(min_p, "min_p", 0.0, lambda a: bool(((a >= 0) & (a <= 1)).all()), "must be in [0, 1] (0 or None = off)")
    return t, kf.to(torch.int64), p, m


def filter_scores(x: torch.Tensor, t: torch.Tensor, k: torch.Tensor, p: torch.Tensor,
                  m: torch.Tensor, *, order: str = "temperature_first",
                  top_k_ties: str = "keep", top_p_crossing: str = "include",
                  min_p_reference: str = "max") -> tuple[torch.Tensor, torch.Tensor]:
    """``(z, keep)``: float64 scores ``x / T`` (``T = 0`` rows use ``T = 1``) and the kept mask
    of every row (module doc). The keyword stages exist for the mutant catalogue
    (:mod:`harness.mutants.token`); their defaults are the documented law."""
    b, v = x.shape
    tt = torch.where(t > 0, t, torch.ones_like(t))[:, None]
    z = x / tt if order == "temperature_first" else x.clone()
    keep = torch.isfinite(z)
    kk = torch.where((k > 0) & (k < v), k, torch.zeros_like(k))
    if bool((kk > 0).any()):
        kmax = int(kk.max())
        if top_k_ties == "keep":
            tau = torch.topk(z, kmax, dim=1).values.gather(1, (kk - 1).clamp_min(0)[:, None])
            topk = z >= tau
        else:  # exactly k indices (boundary ties broken by position): not the documented law
            idx = torch.sort(z, dim=1, descending=True, stable=True).indices
            ranks = torch.empty_like(idx)
            ranks.scatter_(1, idx, torch.arange(v, device=x.device).expand(b, v).contiguous())
            topk = ranks < kk[:, None]
        keep &= _on_rows(kk > 0, topk)
    if bool((p < 1).any()):
        keep &= _on_rows(p < 1, _top_p(z, keep, p, top_p_crossing))
    if bool((m > 0).any()):
        if min_p_reference == "max":  # q_i >= m max q  <=>  z_i - max z >= log m (the top token is kept)
            zmax = z.max(dim=1, keepdim=True).values
            minp = z >= zmax + torch.log(m.clamp_min(1e-300))[:, None]
        else:  # absolute threshold q_i >= m: not the documented law
            minp = _probs(z, keep) >= m[:, None]
        keep &= _on_rows(m > 0, minp)
    if order != "temperature_first":
        z = x / tt
    return z, keep


def _on_rows(active: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``mask`` on the active rows, all-True elsewhere (no copy when every row is active)."""
    return mask if bool(active.all()) else mask | ~active[:, None]


def _top_p(z: torch.Tensor, keep: torch.Tensor, p: torch.Tensor, crossing: str = "include") -> torch.Tensor:
    """The top-p kept set on the ``c`` candidates still kept only (``torch.topk``, re-ordered
    by score descending then index ascending: the law's tie order), scattered back."""
    zm = z.masked_fill(~keep, -math.inf)
    c = int(keep.sum(dim=1).max())
    zs, idx = torch.topk(zm, c, dim=1)
    by_index = torch.sort(idx, dim=1).indices
    zs, idx = zs.gather(1, by_index), idx.gather(1, by_index)
    by_score = torch.sort(zs, dim=1, descending=True, stable=True).indices
    zs, idx = zs.gather(1, by_score), idx.gather(1, by_score)
    w = torch.exp(zs - zs[:, :1])  # 0 for -inf candidates of rows with fewer than c kept
    qs = w / w.sum(dim=1, keepdim=True)
    incl = torch.cumsum(qs, dim=1)
    inside = (incl - qs) < p[:, None] if crossing == "include" else incl < p[:, None]
    inside[:, 0] = True
    return torch.zeros_like(keep).scatter_(1, idx, inside & (w > 0))


def _probs(z: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    zz = torch.where(keep, z, torch.full_like(z, -math.inf))
    return torch.softmax(zz, dim=1)


def race(z: torch.Tensor, keep: torch.Tensor, gen: torch.Generator, *,
         noise_dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``argmax_i w_i / E_i`` over the kept tokens (module doc), ``w = exp(z - max z)``."""
    w = z.masked_fill(~keep, -math.inf)
    w -= w.max(dim=1, keepdim=True).values
    w.exp_()  # exactly 0 off the kept set, 1 at the top token
    e = torch.empty(z.shape, dtype=noise_dtype, device=z.device).exponential_(generator=gen).to(torch.float64)
    e.clamp_min_(5e-324)  # exact 0 / -0.0 exponentials: w / E stays finite or +inf, never NaN
    w /= e
    w.masked_fill_(~keep, -1.0)  # a masked token never wins, whatever its E
    return w.argmax(dim=1)


def make_generator(device: torch.device, seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    if generator is not None:
        return generator
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed) % (2**63))
    return gen


def sample_tokens(logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                  min_p: Any = None, seed: int | None = None, generator: torch.Generator | None = None,
                  noise_dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``[B]`` int64 token ids, one per row of ``logits`` (the ``token`` protocol; module doc).
    Bad logits or parameters raise ``ValueError``."""
    return staged_sample(logits, temperature, top_k, top_p, min_p, seed, generator,
                         race_fn=lambda z, keep, gen: race(z, keep, gen, noise_dtype=noise_dtype))


def staged_sample(logits: Any, temperature: Any, top_k: Any, top_p: Any, min_p: Any, seed: int | None,
                  generator: torch.Generator | None, *, filters: dict | None = None,
                  race_fn: Any = race) -> torch.Tensor:
    """:func:`sample_tokens` with its two stages as parameters: ``filters`` (keywords of
    :func:`filter_scores`) and ``race_fn(z, keep, generator) -> [b] ids``. The mutant catalogue
    (:mod:`harness.mutants.token`) replaces one stage; the defaults are the reference."""
    x = as_rows(logits)
    dev = x.device
    b = x.shape[0]
    t, k, p, m = row_tensors(b, dev, temperature, top_k, top_p, min_p)
    if b == 0:
        return torch.zeros(0, dtype=torch.int64, device=dev)
    with torch.no_grad():
        greedy = t == 0
        if not bool(greedy.any()):  # the common case: no row indexing
            z, keep = filter_scores(x, t, k, p, m, **(filters or {}))
            return race_fn(z, keep, make_generator(dev, seed, generator))
        out = x.argmax(dim=1)
        rnd = ~greedy
        if bool(rnd.any()):
            z, keep = filter_scores(x[rnd], t[rnd], k[rnd], p[rnd], m[rnd], **(filters or {}))
            out[rnd] = race_fn(z, keep, make_generator(dev, seed, generator))
    return out
