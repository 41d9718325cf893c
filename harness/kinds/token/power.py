"""The tail check's sizes and power of the ``token`` kind (:mod:`harness.kinds.token.plan`'s
module doc: the table of power per noise precision grade)."""
from __future__ import annotations

import math
from typing import Any

from harness.core.budgets import Budget

__all__ = ["CUDA_TAIL_FACTOR", "GRADES", "tail_n", "tail_gap_for", "tail_grade_power", "tail_confirmed_power",
           "tail_power_table", "power_info"]

CUDA_TAIL_FACTOR = 40
#: precision grades of the noise (bits of the uniform grid near 0) and what has them
GRADES: dict[int, str] = {8: "bfloat16 noise", 11: "float16 noise", 24: "float32 noise (24-bit uniforms)",
                          31: "Triton tl.rand (2^-31 floor)", 53: "float64 noise"}


def tail_n(b: Budget, device: str = "cpu") -> int:
    """Draws of the tail check: ``n_tail``, times :data:`CUDA_TAIL_FACTOR` on CUDA."""
    return int(b.n_tail * (CUDA_TAIL_FACTOR if str(device).startswith("cuda") else 1))


def tail_gap_for(n: int) -> float:
    """Gap (nats) of the two-token tail row: 30 expected rare hits in ``n`` draws, in [6, 24]."""
    return float(min(24.0, max(6.0, math.log(n / 30.0))))


def tail_grade_power(n: int, gap: float, bits: int, level: float) -> float:
    """Exact power of the two-sided binomial tail test (``n`` draws of ``[0, -gap]`` at
    ``level``) against noise on a ``2^-bits`` grid near 0: the rare token wins with probability
    ``rho a / (e^a - 1)``, ``a = 2^-bits / rho`` (module doc) instead of ``rho / (1 + rho)``."""
    from harness.stats.power import binomial_power

    rho = math.exp(-gap)
    p0 = rho / (1.0 + rho)
    a = 2.0 ** -bits / rho
    ratio = a * math.exp(-a) / -math.expm1(-a) if a > 1e-12 else 1.0
    return binomial_power(n, p0, p0 * ratio, level)


def tail_confirmed_power(n: int, gap: float, bits: int, level: float) -> float:
    """Power of the *confirmed* tail decision at the Holm level ``level`` (the decision the
    checker makes): both stages reject at ``sqrt(level)`` on independent draws, so the power is
    ``tail_grade_power(n, gap, bits, sqrt(level)) ** 2`` (:mod:`harness.stats.confirm`)."""
    from harness.stats.confirm import stage_level

    return tail_grade_power(n, gap, bits, stage_level(level)) ** 2


def tail_power_table(family_sizes: dict[str, int]) -> list[dict]:
    """Rows (budget, device, n, gap, level, confirmed power per grade) of docs/token.md's table:
    each budget at its own ``alpha / family_sizes[budget]`` (the token plan's Holm family, passed in
    by the caller: :func:`harness.checker.power_table.family_size`)."""
    from harness.core.budgets import BUDGETS

    out = []
    for dev in ("cpu", "cuda"):
        for b in BUDGETS.values():
            n = tail_n(b, dev)
            gap = tail_gap_for(n)
            level = b.alpha / max(1, int(family_sizes[b.name]))
            out.append({"budget": b.name, "device": dev, "n": n, "gap": gap, "level": level,
                        "power": {bits: tail_confirmed_power(n, gap, bits, level) for bits in GRADES}})
    return out


def power_info(b: Budget, family_size: int, device: str = "cpu") -> dict[str, Any]:
    """Power figures of the tail check for ``CheckResult.info["power"]``."""
    level = b.alpha / max(1, family_size)
    n = tail_n(b, device)
    gap = tail_gap_for(n)
    return {"tail_grades": {"check": "TK.tail", "n": n, "gap": gap, "level": level,
                            "confirmed": True,
                            "power": {GRADES[bits]: round(tail_confirmed_power(n, gap, bits, level), 4)
                                      for bits in GRADES}}}
