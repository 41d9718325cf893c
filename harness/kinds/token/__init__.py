"""The ``token`` kind: batched LLM token samplers,
``fn(logits: Tensor [B, V], temperature, *, top_k, top_p, min_p, seed) -> [B] token ids``.

The law is the engine's decoding law (temperature, top-k, top-p, min-p, greedy at T = 0) of
:mod:`reference.token_laws`. The kind's pieces: :mod:`~harness.kinds.token.plan` (the TK checks,
their sizes and power), :mod:`~harness.kinds.token.probes` (bad inputs, adversarial streams, the
reach selector), :mod:`~harness.kinds.token.targets` (built-in targets),
:mod:`~harness.kinds.token.options` (``--law``, ``--filters``, ``--scalar-params``, ``--rng``
and the adapter they put around a target), :mod:`~harness.kinds.token.entries` (the plan under
those options), :mod:`~harness.kinds.token.identify` (which profile an engine follows).
"""
from __future__ import annotations

from typing import Any

from harness.core.budgets import Budget
from harness.kinds.base import BuiltinTarget, Kind, load_callable, register
from harness.kinds.token import probes
from harness.kinds.token.options import OPTIONS, seeds_torch, wrap
from harness.kinds.token.entries import build as token_plan
from harness.kinds.token.plan import power_info
from harness.probes.reach import ReachStrategy

__all__ = ["KIND"]

SIGNATURE = ("fn(logits: Tensor [B, V], temperature: float | Tensor [B], *, top_k=None, top_p=None, min_p=None, "
             "seed: int) -> [B] integer token ids")


def trial() -> tuple[tuple, dict, tuple]:
    import numpy as np
    import torch

    x = torch.as_tensor(np.log(np.array([[0.1, 0.2, 0.3, 0.4]] * 3)), dtype=torch.float32)
    return (x, 1.0), {"top_k": None, "top_p": None, "min_p": None, "seed": 12345}, (3,)


def power(b: Budget, family_size: int, device: str, stage: float) -> dict[str, Any]:
    return power_info(b, family_size, device)


def _hint(text: str) -> str:
    from harness.kinds.token.plan import unsupported_hint

    return unsupported_hint(ValueError(text)).lstrip("; ").capitalize().replace("A parameter this check passes",
                                                                               "a parameter the harness passes")


def _identify(*args: Any, **kwargs: Any) -> Any:
    from harness.kinds.token.identify import identify

    return identify(*args, **kwargs)


BUILTINS = (
    BuiltinTarget("reference-token", "token",
                  "reference.torch_token_sampler.sample_tokens: float64 exponential race argmax(w / E) with "
                  "temperature, top-k (ties kept), top-p (crossing token kept), min-p per row",
                  lambda: load_callable("reference.torch_token_sampler:sample_tokens")),
    BuiltinTarget("torch-multinomial-token", "token",
                  "the documented filters (float64), then torch.multinomial(softmax, 1)",
                  lambda: load_callable("harness.kinds.token.targets:torch_multinomial_token")),
    BuiltinTarget("hf-logits-processors", "token",
                  "HuggingFace transformers TemperatureLogitsWarper, TopK, TopP, MinP (generate's order) on "
                  "float32 logits, then torch.multinomial",
                  lambda: load_callable("harness.kinds.token.targets:hf_logits_processors"),
                  requires=("transformers",),
                  notes="transformers 5.24: conforms at quick and standard (27/27 verdicts, no failing finding; "
                        "380 s at standard on 2 loaded cores, 243 s of it in TK.tail). Its kept sets equal "
                        "reference.token_laws on random rows (tests/test_token_laws.py). The thorough tail "
                        "(float32 probabilities into torch.multinomial) was not run."),
)

KIND = register(Kind(
    name="token", signature=SIGNATURE, plan=token_plan, trial=trial, bad_inputs=probes.bad_inputs,
    adversarial=probes.adversarial, reach=ReachStrategy(select=probes.select, tail="TK.tail at the thorough budget"), power=power, builtins=BUILTINS,
    options=OPTIONS, wrap=wrap, seeds_torch=seeds_torch, identify=_identify, hint=_hint, preload=("torch",),
    description="batched LLM token samplers (temperature, top-k, top-p, min-p)",
    param_hints=("logits", "temperature", "top_k", "top_p", "min_p", "seed", "generator")))
