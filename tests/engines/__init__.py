"""Our own faithful ports, in torch, of five engines' token samplers, as targets of the ``token``
kind protocol (``fn(logits [B, V], temperature, *, top_k, top_p, min_p, seed, generator) -> [B]
ids``, harness conventions: ``0 / None`` = off for top-k and min-p, ``1 / None`` for top-p, ``T =
0`` greedy). Each port translates those to the engine's own conventions and then does what the
engine's code does, step by step (each module's docstring cites repository, file, function and
commit, the same reads as the matching :data:`reference.token_laws.PROFILES` entry). Not the
engines themselves: they reproduce the *semantics* (order, rules, dtypes where they matter).

:data:`PORTS` maps a profile name to its port; :mod:`tests.engines.mutants` holds four bugs from
public issues as variants of these ports.
"""
from __future__ import annotations

from tests.engines import hf_port, llama_cpp_port, mlx_lm_port, sglang_port, vllm_port

#: profile name -> the port of that engine's sampler
PORTS = {
    "hf": hf_port.sample,
    "vllm": vllm_port.sample,
    "sglang": sglang_port.sample,
    "llama.cpp": llama_cpp_port.sample,
    "mlx-lm": mlx_lm_port.sample,
}

__all__ = ["PORTS"]
