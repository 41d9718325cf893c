"""A toy kind, whole in this one module: ``coin`` samplers, ``fn(p, n, seed) -> n draws in {0, 1}``.

``tests/test_architecture.py`` registers it (by importing this module) and runs it end to end
through ``check_sampler`` in both isolation modes: adding a kind is adding one module.
"""
from __future__ import annotations

import numpy as np

from harness.checks.builders import discrete_verdict, error_verdict
from harness.checks.samplers import to_numpy
from harness.kinds import BuiltinTarget, Kind, register
from harness.kinds.base import mk

P = 0.3


def _law(fn, ctx, cid):
    n, seed = ctx.budget.n_relaxed, ctx.seed_for(cid)
    text = f"P(1) = {P}"
    try:
        out = to_numpy(fn(P, n, seed), "coin sampler").astype(np.int64)
    except Exception as exc:  # noqa: BLE001 - the target's failure is a FAIL
        return [error_verdict("COIN", cid, text, f"target error: {exc}", seed=seed, alpha=ctx.alpha)]
    counts = np.bincount(np.clip(out, 0, 1), minlength=2)
    return [discrete_verdict("COIN", cid, text, counts, [1 - P, P], seed=seed, alpha=ctx.alpha,
                             family_size=ctx.family_size, reproduce=ctx.repro(cid, seed))]


def plan(budget):
    return [mk("COIN.law", "COIN", f"P(1) = {P}, N = {budget.n_relaxed:,}", 1, _law)]


def trial():
    return (0.5, 3, 12345), {}, (3,)


def fair_coin(p, n, seed):
    return (np.random.default_rng(seed).random(n) < p).astype(np.int64)


def biased_coin(p, n, seed):
    return (np.random.default_rng(seed).random(n) < p + 0.05).astype(np.int64)


KIND = register(Kind(name="coin", signature="fn(p: float, n: int, seed: int) -> n draws in {0, 1}", plan=plan,
                     trial=trial, builtins=(BuiltinTarget("toy-coin", "coin", "a NumPy coin", lambda: fair_coin),)))
