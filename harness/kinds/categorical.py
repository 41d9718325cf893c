"""The ``categorical`` kind: ``fn(logits: ndarray (K,), n: int, seed: int) -> n integers in [0, K)``.

Its checks (T1: the argmax law in seven regimes, independence of pairs / lags / seeds, the tail
mass), bad-input cases, adversarial calls, precision reach (the gap crossed), contract probes,
built-in targets (NumPy's ``Generator.choice``, torch's ``multinomial`` / ``Categorical``, the
reference race) and power statement (any alternative at TV 0.002 on ``T1.law.power``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from harness.checks import claims as sc
from harness.checks.independence import WITHIN_LAGS, lag_independence, pair_independence, seed_independence
from harness.checks.samplers import to_numpy
from harness.core.budgets import Budget
from harness.kinds.base import (COUNTS, BuiltinTarget, Compared, ExternalProtocol, Kind, Observable, PlannedCheck,
                                load_callable, mk, register)
from harness.kinds.common import LOGITS, seeded_torch, tail_gap, tv_power
from harness.probes.adversarial import adversarial_probe
from harness.probes.contract import contract_findings
from harness.probes.findings import LAW_THRESHOLD, NAN, NEG, POS, Finding, Outcome, Recorder, call, indices, mini_law
from harness.probes.reach import ReachStrategy
from reference.softmax import softmax

__all__ = ["KIND", "plan", "numpy_choice", "torch_multinomial", "torch_categorical"]

SIGNATURE = "fn(logits: ndarray (K,), n: int, seed: int) -> n integers in [0, K)"


# ------------------------------------------------------------------ plan ------------------

def plan(b: Budget) -> list[PlannedCheck]:
    L = LOGITS
    nd = b.n_discrete

    def law(regime: str, n: int) -> Compared:
        return Compared(lambda fn, ctx, _id: sc.categorical_law(fn, L[regime], n, ctx, check=_id, label=regime),
                        lambda fn, ctx, _id: {"": sc.categorical_counts(fn, L[regime], n, ctx.seed_for(_id))},
                        (Observable("", COUNTS, f"category counts, {regime} logits"),))

    gap = tail_gap(b)
    plan = [
        ("T1.law.power", "T1", f"argmax law, p = (0.1, 0.2, 0.3, 0.4), N = {nd:,} (TV-0.002 power regime)", 1,
         law("power", nd)),
        ("T1.law.wide", "T1", f"argmax law, K = 64, N = {nd // 4:,}", 1, law("wide", nd // 4)),
        ("T1.law.neginf", "T1", f"argmax law with -inf logits (never sampled), N = {nd // 4:,}", 1,
         law("neginf", nd // 4)),
        ("T1.law.shift", "T1", f"argmax law, logits ~ 1000 (max-subtraction, bf16), N = {nd // 8:,}", 1,
         law("shift", nd // 8)),
        ("T1.law.ties", "T1", f"argmax law, K = 8 equal logits (ties), N = {nd:,}", 1, law("ties", nd)),
        ("T1.law.k5", "T1", f"argmax law, K = 5 spread logits, N = {nd // 4:,}", 1, law("k5", nd // 4)),
        ("T1.law.gap8", "T1", f"argmax law, K = 2 with a gap of 8 nats (p = 3.4e-4), N = {nd // 4:,}", 1,
         law("gap8", nd // 4)),
        ("T1.pairs", "T1", f"consecutive draws independent (K^2 = 16 cells), {nd // 8:,} pairs", 1,
         lambda fn, ctx, _id: pair_independence(fn, L["power"], nd // 8, ctx, check=_id)),
        ("T1.lags", "T1", f"one call independent at lags {', '.join(map(str, WITHIN_LAGS))}, N = {nd // 4:,}", 1,
         lambda fn, ctx, _id: lag_independence(fn, L["power"], nd // 4, ctx, check=_id)),
        ("T1.seeds", "T1", f"streams of seeds s and s + 1 independent (lags -2..2), 2 x {nd // 8:,} draws", 1,
         lambda fn, ctx, _id: seed_independence(fn, L["power"], nd // 8, ctx, check=_id)),
        ("T1.tail", "T1", f"tail mass: K = 2, gap {gap:.1f} nats, N = {b.n_tail:,} (exact binomial)", 1,
         Compared(lambda fn, ctx, _id: sc.tail_mass(fn, [0.0, -gap], b.n_tail, ctx, rare=1, check=_id),
                  lambda fn, ctx, _id: {"": sc.tail_counts(fn, [0.0, -gap], b.n_tail, ctx.seed_for(_id), 1)},
                  (Observable("", COUNTS, f"K = 2, gap {gap:.1f}: top vs rare category"),))),
    ]
    return [mk(*p) for p in plan]



def power(b: Budget, family_size: int, device: str, stage: float) -> dict[str, Any]:
    return {"tv_0.002": tv_power("T1.law.power", b, stage)}


# ------------------------------------------------------------------ protocol --------------

_X = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


def trial() -> tuple[tuple, dict, tuple]:
    return (_X.copy(), 3, 12345), {}, (3,)


def small_call(fn: Callable, x, n: int, seed: int) -> np.ndarray:
    """One small call (contract probes)."""
    return to_numpy(fn(x, n, seed), "categorical sampler")


# ------------------------------------------------------------------ bad inputs ------------

def _cat_cases():
    """(probe, description, domain, logits, n, check) with check(idx, x) -> (outcome, detail)."""
    def never(forbidden):
        def chk(idx, x):
            hit = np.isin(idx, forbidden)
            if hit.any():
                raise Outcome("silent wrong answer", f"zero-probability category {np.unique(idx[hit]).tolist()} "
                               f"sampled {int(hit.sum())} times")
            return "ok/documented", "zero-probability categories never sampled"
        return chk

    def law(sev_note=""):
        def chk(idx, x):
            p = softmax(np.asarray(x, dtype=np.float64))
            pv = mini_law(np.bincount(idx, minlength=p.size), p)
            if pv < LAW_THRESHOLD:
                freq = np.bincount(idx, minlength=p.size) / idx.size
                raise Outcome("silent wrong answer", f"frequencies {np.round(freq, 3).tolist()} vs "
                               f"p = {np.round(p, 3).tolist()} (chi-square p = {pv:.2g}){sev_note}")
            return "ok/documented", f"valid indices, frequencies fit p (chi-square p = {pv:.2g})"
        return chk

    def const(i):
        def chk(idx, x):
            if np.all(idx == i):
                return "ok/documented", f"always {i}"
            raise Outcome("silent wrong answer", f"returned {np.unique(idx)[:5].tolist()}, expected only {i}")
        return chk

    def silent(idx, x):
        raise Outcome("silent wrong answer", f"returned valid-looking indices {np.unique(idx)[:5].tolist()} "
                       "for logits that define no distribution")

    def posinf(idx, x):
        if np.all(np.isposinf(np.asarray(x)[idx])):
            return "ok/documented", "always the +inf category (point-mass limit)"
        raise Outcome("silent wrong answer", f"returned {np.unique(idx)[:5].tolist()}, not the +inf category")

    nc = np.zeros((4, 3))
    nc[:, 1] = LOG4
    big = np.zeros(152_064)
    big[::97] = 1.0
    gap = np.zeros(262_144)
    gap[0] = 20.0
    return [
        ("neginf_one", "one -inf logit [0.5, -inf, 0, 1]", "valid", np.array([0.5, NEG, 0.0, 1.0]), 4000, never([1])),
        ("neginf_all_but_one", "all but one -inf [-inf, 0.3, -inf, -inf]", "valid",
         np.array([NEG, 0.3, NEG, NEG]), 1000, const(1)),
        ("huge_1e30_unique", "magnitudes +-1e30, unique max [1e30, -1e30, 0]", "valid",
         np.array([1e30, -1e30, 0.0]), 1000, const(0)),
        ("huge_1e30_tie", "magnitudes +-1e30 with a tie [1e30, -1e30, 0, 1e30] (p = 0.5, 0, 0, 0.5)", "valid",
         np.array([1e30, -1e30, 0.0, 1e30]), 20000, law(" (noise absorbed by 1e30?)")),
        ("pm1000", "magnitudes +-1000 [1000, 999, -1000, 1000.5]", "valid",
         np.array([1000.0, 999.0, -1000.0, 1000.5]), 20000, law()),
        ("minus1e5", "a logit of -1e5 [0, -1e5, 1] (probability e^-1e5 = 0)", "valid",
         np.array([0.0, -1e5, 1.0]), 4000, never([1])),
        ("k1", "K = 1", "valid", np.array([0.7]), 100, const(0)),
        ("k2_rare", "K = 2 with a 1e-7 probability [0, -16.118]", "valid", np.array([0.0, -16.118]), 1000,
         lambda idx, x: ("ok/documented", f"{int(np.sum(idx == 1))} draws of the rare category")),
        ("k152k", "K = 152 064, n = 8", "valid", big, 8, lambda idx, x: ("ok/documented", "valid indices")),
        ("gap20_k262k", "K = 262 144 with one logit 20 nats above the rest, n = 8", "valid", gap, 8,
         lambda idx, x: ("ok/documented", "valid indices")),
        ("float16", "float16 logits", "valid", LOG4.astype(np.float16), 20000, law()),
        ("float32", "float32 logits", "valid", LOG4.astype(np.float32), 20000, law()),
        ("noncontiguous", "a non-contiguous view (stride 24 bytes)", "valid", nc[:, 1], 20000, law()),
        ("ties", "exact ties: 8 equal logits", "valid", np.zeros(8), 40000, law()),
        ("empty", "n = 0 (empty batch)", "valid", LOG4, 0, lambda idx, x: ("ok/documented", "empty result")),
        ("nan", "NaN logit [0, nan, 1]", "invalid", np.array([0.0, NAN, 1.0]), 100, silent),
        ("all_neginf", "all -inf logits", "invalid", np.array([NEG, NEG, NEG]), 100, silent),
        ("posinf", "+inf logit [0, +inf, 1]", "invalid", np.array([0.0, POS, 1.0]), 100, posinf),
    ]


LOG4 = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


def bad_inputs(fn: Callable, rec: Recorder, seed: int) -> None:
    for i, (probe, desc, domain, x, n, chk) in enumerate(_cat_cases()):
        def body(x=x, n=n, chk=chk, s=seed + i):
            idx = indices(call(fn, x, n, s), n, x.shape[-1])
            return chk(idx, x)
        sev_law = "warn" if probe == "huge_1e30_tie" else None
        rec.run(probe, desc, domain, body, on_nan=None)
        if sev_law and rec.findings[-1].outcome == "silent wrong answer":
            f = rec.findings[-1]
            rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn", f.detail)



def _adversarial_call(fn: Callable, x: np.ndarray, seed: int, n: int = 2048) -> None:
    forbidden = np.flatnonzero(np.isneginf(x))
    idx = indices(call(fn, x, n, seed), n, x.size)
    if np.isin(idx, forbidden).any():
        raise Outcome("silent wrong answer", f"zero-probability category {forbidden.tolist()} selected "
                      f"{int(np.isin(idx, forbidden).sum())} times")


def adversarial(fn: Callable, rec: Recorder, seed: int) -> None:
    adversarial_probe(fn, rec, seed, _adversarial_call, "valid output, zero-probability categories never selected")


def select(fn, x, n, seed):
    """Reach probe: the indices drawn for the K = 2 logits ``x``."""
    return np.asarray(fn(x, n, seed)).reshape(-1)


def contract(fn: Callable, seed: int) -> list:
    return contract_findings(fn, seed, small_call)


# ------------------------------------------------------------------ command / samples -----

def request(args: tuple) -> tuple:
    logits, n, seed = args
    return np.asarray(logits, dtype=np.float64), int(n), int(seed), None, (int(n),)


def offline(s: np.ndarray, x: np.ndarray, temperature: float | None) -> tuple[np.ndarray, list]:
    s = s.ravel()
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s != np.round(s)) or s.min() < 0 or s.max() >= x.size:
        raise ValueError(f"the samples must be integers in [0, {x.size}) (K from the logits file)")
    s = s.astype(np.int64)
    return s, [("T1.law.offline", 1, lambda fn, ctx: sc.categorical_law(fn, x, s.size, ctx, check="T1.law.offline",
                                                                        label="offline sample"))]


# ------------------------------------------------------------------ built-ins -------------

def _softmax_np(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.max(x))
        return e / e.sum()


def numpy_choice(logits: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``numpy.random.default_rng(seed).choice(K, size=n, p=softmax(logits))``."""
    x = np.asarray(logits)
    return np.random.default_rng(seed).choice(x.shape[-1], size=n, p=_softmax_np(x))


def torch_multinomial(logits: np.ndarray, n: int, seed: int):
    """``torch.multinomial(softmax(logits), n, replacement=True)`` (float64 probabilities)."""
    with seeded_torch(seed) as torch:
        x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
        return torch.multinomial(torch.softmax(x, dim=-1), n, replacement=True)


def torch_categorical(logits: np.ndarray, n: int, seed: int):
    """``torch.distributions.Categorical(logits=logits).sample((n,))`` (float64)."""
    with seeded_torch(seed) as torch:
        x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
        return torch.distributions.Categorical(logits=x).sample((n,))



BUILTINS = (
    BuiltinTarget("reference-categorical", "categorical",
                  "reference.numpy_sampler.sample (float64 exponential race)",
                  lambda: load_callable("harness.checks.samplers:reference_categorical")),
    BuiltinTarget("torch-categorical", "categorical", "torch.distributions.Categorical(logits).sample (float64)",
                  lambda: torch_categorical),
    BuiltinTarget("torch-multinomial", "categorical",
                  "torch.multinomial(softmax(logits), n, replacement=True) (float64)", lambda: torch_multinomial),
    BuiltinTarget("numpy-choice", "categorical", "numpy.random.Generator.choice(K, n, p=softmax(logits))",
                  lambda: numpy_choice),
)

KIND = register(Kind(
    name="categorical", signature=SIGNATURE, plan=plan, trial=trial, bad_inputs=bad_inputs,
    adversarial=adversarial, reach=ReachStrategy(select=select, tail="T1.tail at the thorough budget"), contract=contract, power=power,
    builtins=BUILTINS, external=ExternalProtocol(request=request, offline=offline, integer_output=True),
    description="argmax / categorical samplers: n indices per call", short="cat", param_hints=("logits", "n", "seed", "num_samples")))
