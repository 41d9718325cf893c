"""What the kinds share: the fixed logits regimes, the tail gap, the noise resolution, and the
power statements that several kinds make (the TV-0.002 law regime, the 2% temperature regime).

Regimes (why each exists, i.e. which real bug it catches):

==================  ===========================================================================
``power``           log(0.1, 0.2, 0.3, 0.4): the TV-0.002 power regime; wrong math (B1-B6)
``wide``            K = 64 Normal(0, 1.5) logits: bf16/float16 inverse-CDF cumsum (B16)
``neginf``          -inf entries: zero-probability categories must never appear (A.4)
``shift``           logits ~ 1000: max-subtraction omitted (B27), logits cast to bf16 (B15)
``ties``            K = 8 equal logits: ties resolved to the lowest index (B25)
``pairs``           consecutive draws of one call independent: noise reused (B22)
``lags``            one call independent at lags 1..4096 (periodic or chunk-reused noise)
``seeds``           neighbouring seeds s, s + 1 give independent streams (seed ignored / shifted)
``gap8``            K = 2 with a gap of 8 nats: coarse or capped noise (half precision, B11)
``tail``            K = 2 with a gap of 11-18 nats: truncated noise tail (A.3, B10-B12)
``T = 0.5 / 2``     temperature applied twice or multiplied (B18)
``dim`` / ``batch``  dim ignored (B20), strides ignored (B21), rows mixed (jax#13124)
==================  ===========================================================================
"""
from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from harness.checks.claims import VAR_L2
from harness.core.budgets import Budget
from reference.softmax import softmax

__all__ = ["LOGITS", "NEG", "tail_gap", "noise_bits_for", "tv_power", "temperature_power", "seeded_torch"]


NEG = -math.inf


#: The logits regimes (fixed, so every run tests the same laws).
LOGITS: dict[str, np.ndarray] = {
    "power": np.log(np.array([0.1, 0.2, 0.3, 0.4])),
    "wide": np.round(np.random.default_rng(20240611).normal(0.0, 1.5, 64), 3),
    "neginf": np.array([1.0, NEG, 0.0, NEG, 2.0, -0.5]),
    "shift": np.array([1000.2, 999.7, 1001.0, 998.5]),
    "ties": np.zeros(8),
    "k5": np.array([1.5, -0.5, 0.3, 0.0, -2.0]),
    "k3": np.array([0.5, -0.5, 0.0]),
    "k3b": np.array([0.3, -0.2, 0.9]),
    "k2": np.array([0.8, -0.4]),
    "gap8": np.array([0.0, -8.0]),
    "neginf4": np.array([1.0, NEG, 0.0, 2.0]),
}


def tail_gap(budget: Budget) -> float:
    """Logit gap of the K = 2 tail regime: about 30 expected hits of the rare category at the
    budget's ``n_tail``, capped at 18 (vllm#51367; the float32 noise cap 16.6 shows there)."""
    return float(min(18.0, max(6.0, math.log(budget.n_tail / 30.0))))


def noise_bits_for(dtype: np.dtype) -> int:
    """Resolution (bits) the ``noise_resolution`` check demands for a noise output dtype:
    52 for float64, 22 for float32 (24-bit uniforms plus float32 rounding of g), and 22 for
    anything narrower, which float16/bfloat16 noise (11/8 bits) then fails."""
    return 52 if np.dtype(dtype).itemsize >= 8 else 22



def tv_power(check: str, budget: Budget, stage: float) -> dict[str, Any]:
    """The confirmed power of ``check`` (an argmax-law check on the ``power`` regime with
    ``budget.n_discrete`` draws) against **any** alternative at TV 0.002: the worst case over all
    alternatives is ``w = delta / max_A sqrt(P(A)(1-P(A)))``; the power is the stage power squared
    (both stages reject at ``stage``, :mod:`harness.stats.confirm`)."""
    from harness.stats.power import chisquare_power, max_split_variance

    w = 0.002 / math.sqrt(max_split_variance(softmax(LOGITS["power"])))
    return {"check": check, "n": budget.n_discrete, "cohen_w": w, "df": 3,
            "power": chisquare_power(w, budget.n_discrete, 3, stage) ** 2}


def temperature_power(budget: Budget, stage: float) -> dict[str, Any]:
    """The confirmed power of ``C2.scale.T1`` (``budget.n_relaxed`` draws) against a 2% temperature
    error either way, with the alternative's standard error."""
    from scipy import stats

    se = math.sqrt(VAR_L2 / budget.n_relaxed)
    z = stats.norm.isf(stage / 2)
    dx = float(LOGITS["power"][0] - LOGITS["power"][-1])
    powers = []
    for e in (0.02, -0.02):
        r = 1.0 / (1.0 + e)
        shift = (r * r - 1) * math.pi ** 2 / 3 + (r - 1) ** 2 * dx * dx
        # the variance of d^2 changes with r too: use the alternative's se (r^2 scaling)
        se_alt = se * r * r
        powers.append(float(stats.norm.sf((z * se - abs(shift)) / se_alt)) ** 2)
    return {"check": "C2.scale.T1", "n": budget.n_relaxed, "power": min(powers)}


@contextlib.contextmanager
def seeded_torch(seed: int):
    """``torch.manual_seed(seed)`` inside ``torch.random.fork_rng``: the built-in adapters honour
    the protocol's ``seed`` without changing the caller's global torch RNG state (a change the
    checker reports as a contract finding, ``contract.global_state``)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed) % (2**63))
        yield torch
