r"""Token-sampler mutants (and the float32-noise torch mutant of the tail check), registered
into :data:`harness.mutants.catalogue.MUTANTS` by one line there.

Every token mutant is :func:`reference.torch_token_sampler.staged_sample` (validation, greedy
rows, float64 filters, exponential race) with **one** stage replaced: a ``filters`` keyword of
:func:`~reference.torch_token_sampler.filter_scores` or the race. Instances of the top-level
class :class:`TokenMutant` (picklable by reference). B numbers 29-32 are the token-filter classes added to
docs/bugs.md B (from bugs.md A.10, token samplers).

=====  ==============================  ===========  ==========================================  =========
B      mutant                          kind         caught by                                   budget
=====  ==============================  ===========  ==========================================  =========
11     token_noise_f32                 token        TK.tail                                     thorough
29     token_topk_exact_k              token        TK.filter.top_k.ties                        standard
30     token_topp_drops_crossing       token        TK.filter.top_p                             standard
31     token_temperature_after_top_p   token        TK.filter.top_p                             standard
32     token_minp_absolute             token        TK.filter.min_p                             standard
22     token_rows_share_noise          token        TK.batch.pairs                              standard
14     token_masked_zero_exponential   token        adversarial.E=0, adversarial.E=-0           standard
11     torch_noise_f32                 torch        C3.tail                                     thorough
=====  ==============================  ===========  ==========================================  =========
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["TokenMutant", "TorchNoiseF32", "token_catalogue"]


def _race_f32_grid(z: torch.Tensor, keep: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """E = -log(u), u = torch.rand float32 (multiples of 2^-24, u <= 1 - 2^-24): E >= 6e-8,
    the race's noise tail is cut (g = -log E <= 16.6): vllm#43150, #51367."""
    import torch

    u = torch.rand(z.shape, generator=gen, dtype=torch.float32, device=z.device).clamp_min(2.0 ** -24)
    e = -torch.log(u).to(torch.float64)
    w = torch.exp(z.masked_fill(~keep, -math.inf) - z.masked_fill(~keep, -math.inf).max(dim=1, keepdim=True).values)
    return (w / e).masked_fill(~keep, -1.0).argmax(dim=1)


def _race_shared(z: torch.Tensor, keep: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One exponential row [1, V] broadcast to every row of the batch."""
    import torch

    e = torch.empty((1, z.shape[1]), dtype=torch.float64, device=z.device).exponential_(generator=gen)
    w = torch.exp(z.masked_fill(~keep, -math.inf) - z.masked_fill(~keep, -math.inf).max(dim=1, keepdim=True).values)
    return (w / e.clamp_min(5e-324)).masked_fill(~keep, -1.0).argmax(dim=1)


def _race_unguarded(z: torch.Tensor, keep: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """argmax(w / E) with no guard: E = 0 at a masked token gives 0 / 0 = NaN, which argmax picks."""
    import torch

    e = torch.empty(z.shape, dtype=torch.float64, device=z.device).exponential_(generator=gen)
    w = torch.exp(z.masked_fill(~keep, -math.inf) - z.masked_fill(~keep, -math.inf).max(dim=1, keepdim=True).values)
    return (w / e).argmax(dim=1)


_RACES = {"f32_grid": _race_f32_grid, "shared": _race_shared, "unguarded": _race_unguarded}


def _race(name: str):
    """The race variant ``name`` (``"reference"``: the reference race). torch is imported when a
    mutant is called, not when the catalogue is listed (the CLI's blind-spot line lists it)."""
    if name == "reference":
        from reference.torch_token_sampler import race

        return race
    return _RACES[name]


class TokenMutant:
    """A token sampler: the reference with ``filters`` (keywords of ``filter_scores``) and the
    race ``race`` (a key of the race variants) replaced."""

    def __init__(self, race: str = "reference", **filters: str):
        self.race, self.filters = race, dict(filters)

    def __call__(self, logits: Any, temperature: Any = 1.0, *, top_k: Any = None, top_p: Any = None,
                 min_p: Any = None, seed: int | None = None, generator: torch.Generator | None = None):
        from reference.torch_token_sampler import staged_sample

        return staged_sample(logits, temperature, top_k, top_p, min_p, seed, generator, filters=self.filters,
                             race_fn=_race(self.race))


class TorchNoiseF32:
    """``F.gumbel_softmax`` contract with Gumbel noise from float32 uniforms (24-bit grid):
    ``g = -log(-log u) <= 16.6``, computed in float64 afterwards (so only the tail is wrong)."""

    def __call__(self, logits: torch.Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                 dim: int = -1) -> torch.Tensor:
        import torch

        u = torch.rand(logits.shape, dtype=torch.float32, device=logits.device)
        u = u.clamp(2.0 ** -24, 1 - 2.0 ** -24).to(logits.dtype)
        g = -torch.log(-torch.log(u))
        y = torch.softmax((logits + g) / tau, dim=dim)
        if not hard:
            return y
        idx = y.argmax(dim=dim, keepdim=True)
        y_hard = torch.zeros_like(y).scatter_(dim, idx, 1.0)
        return y_hard - y.detach() + y


def token_catalogue() -> list[tuple]:
    """Entries ``(name, kind, bug, mirrors, doc, caught_by, budget, fn)`` for the catalogue."""
    T = "token"
    return [
        ("token_noise_f32", T, 11, "vllm#43150, vllm#51367", "exponential race with E = -log(u), u float32 on "
         "the 2^-24 grid: E >= 6e-8, tokens far below the top under-sampled", ("TK.tail",), "thorough",
         TokenMutant(race="f32_grid")),
        ("token_topk_exact_k", T, 29, "vllm#15478 (tie semantics)", "top-k keeps exactly k ids (boundary ties "
         "broken by position) instead of every token tied with the k-th value", ("TK.filter.top_k.ties",),
         "standard", TokenMutant(top_k_ties="exact")),
        ("token_topp_drops_crossing", T, 30, "top-p off by one token", "top-p keeps tokens whose inclusive "
         "cumulative mass is < p: the token crossing p is dropped", ("TK.filter.top_p",), "standard",
         TokenMutant(top_p_crossing="exclude")),
        ("token_temperature_after_top_p", T, 31, "filter order (HF applies temperature first)", "top-k / top-p / "
         "min-p computed on the T = 1 logits, temperature applied afterwards", ("TK.filter.top_p",), "standard",
         TokenMutant(order="filters_first")),
        ("token_minp_absolute", T, 32, "min-p reference (HF MinPLogitsWarper)", "min-p threshold q_i >= min_p "
         "instead of q_i >= min_p * max q", ("TK.filter.min_p",), "standard",
         TokenMutant(min_p_reference="absolute")),
        ("token_rows_share_noise", T, 22, "jax#13124-style broadcast", "one exponential row shared by every row "
         "of the batch", ("TK.batch.pairs",), "standard", TokenMutant(race="shared")),
        ("token_masked_zero_exponential", T, 14, "vllm-metal#622", "argmax(p / E) without a guard: E = 0 at a "
         "masked token gives 0/0 = NaN, which argmax returns", ("adversarial.E=0", "adversarial.E=-0"), "standard",
         TokenMutant(race="unguarded")),
        ("torch_noise_f32", "torch", 11, "jax#5348, vllm#51367", "gumbel_softmax with Gumbel noise from float32 "
         "uniforms (g <= 16.6), float64 otherwise", ("C3.tail",), "thorough", TorchNoiseF32()),
    ]
