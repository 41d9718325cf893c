"""The ``relaxed`` kind: ``fn(logits: ndarray (K,), temperature: float, n: int, seed: int) -> (n, K)
points on the simplex`` (a Gumbel-softmax / Concrete sampler).

Its checks (C3: the argmax of y; C2: the log-ratio scale, marginals and joint law; C4: the
binary Concrete CDF), bad-input cases (shared with the ``torch`` kind: :func:`cases`),
adversarial calls, precision reach, contract probes (with the simplex precision), built-ins
and power statement (a 2% temperature error on ``C2.scale.T1``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from harness.checks import claims as sc
from harness.checks.samplers import to_numpy
from harness.core.budgets import Budget
from harness.kinds.base import (COUNTS, SAMPLES, BuiltinTarget, Compared, ExternalProtocol, Kind, Observable,
                                PlannedCheck, load_callable, mk, register)
from harness.kinds.common import LOGITS, seeded_torch, temperature_power
from harness.probes.adversarial import adversarial_probe
from harness.probes.contract import contract_findings
from harness.probes.findings import LAW_THRESHOLD, NAN, NEG, POS, Finding, Outcome, Recorder, call, mini_law, simplex
from harness.probes.reach import ReachStrategy
from reference.softmax import softmax

__all__ = ["KIND", "plan", "entries", "cases", "soften", "torch_relaxed_onehot"]

SIGNATURE = "fn(logits: ndarray (K,), temperature: float, n: int, seed: int) -> (n, K) points on the simplex"
LOG4 = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


# ------------------------------------------------------------------ plan ------------------

def entries(b: Budget, prefix: str = "") -> list[tuple]:
    L = LOGITS
    nr = b.n_relaxed

    def rnd(regime, t):
        return Compared(lambda fn, ctx, _id: sc.rounding_law(fn, L[regime], t, nr, ctx, check=_id),
                        lambda fn, ctx, _id: {"": sc.rounding_counts(fn, L[regime], t, nr, ctx.seed_for(_id))},
                        (Observable("", COUNTS, f"argmax counts, {regime} logits, T = {t:g}"),))

    def scale(regime, t):
        return Compared(lambda fn, ctx, _id: sc.logratio_scale(fn, L[regime], t, nr, ctx, check=_id),
                        lambda fn, ctx, _id: {"": sc.log_ratio_samples(fn, L[regime], t, nr, ctx.seed_for(_id))[:, 0]},
                        (Observable("", SAMPLES, f"log-ratio d_1, {regime} logits, T = {t:g}"),))

    def marginal(regime, t):
        k = L[regime].size
        return Compared(lambda fn, ctx, _id: sc.logratio_marginal(fn, L[regime], t, nr, ctx, check=_id),
                        lambda fn, ctx, _id: dict(zip([f".pair{i}-{k - 1}" for i in range(k - 1)],
                                                      sc.log_ratio_samples(fn, L[regime], t, nr, ctx.seed_for(_id)).T)),
                        tuple(Observable(f".pair{i}-{k - 1}", SAMPLES, f"log-ratio d_{i}, T = {t:g}")
                              for i in range(k - 1)))

    def binary(regime, t):
        return Compared(lambda fn, ctx, _id: sc.binary_concrete(fn, L[regime], t, nr, ctx, check=_id),
                        lambda fn, ctx, _id: {"": sc.binary_logit_samples(fn, L[regime], t, nr, ctx.seed_for(_id))},
                        (Observable("", SAMPLES, f"logit(y_1), K = 2, T = {t:g}"),))

    return [
        (f"{prefix}C3.round.T1", "C3", f"argmax of y ~ softmax(x), T = 1, N = {nr:,}", 1, rnd("power", 1.0)),
        (f"{prefix}C3.round.T0.1", "C3", f"argmax of y ~ softmax(x), K = 5, T = 0.1, N = {nr:,}", 1,
         rnd("k5", 0.1)),
        (f"{prefix}C3.round.neginf", "C3", f"argmax of y with -inf logits, T = 0.5, N = {nr:,}", 1,
         rnd("neginf4", 0.5)),
        (f"{prefix}C3.round.shift", "C3", f"argmax of y, logits ~ 1000, T = 0.5, N = {nr:,}", 1,
         rnd("shift", 0.5)),
        (f"{prefix}C2.scale.T1", "C2", f"E[d^2] = pi^2/3, T = 1, N = {nr:,} (2%-temperature power regime)", 1,
         scale("power", 1.0)),
        (f"{prefix}C2.scale.T0.5", "C2", f"E[d^2] = pi^2/3, K = 3, T = 0.5, N = {nr:,}", 1, scale("k3b", 0.5)),
        (f"{prefix}C2.scale.T2", "C2", f"E[d^2] = pi^2/3, K = 3, T = 2, N = {nr:,}", 1, scale("k3b", 2.0)),
        (f"{prefix}C2.marginal.T0.5", "C2", f"log-ratios ~ Logistic (KS per pair), K = 4, T = 0.5, N = {nr:,}", 3,
         marginal("power", 0.5)),
        (f"{prefix}C2.joint", "C2", f"joint law of the log-ratios (K = 3, 64 boxes), T = 0.7, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.logratio_joint(fn, L["k3"], 0.7, nr, ctx, check=_id)),
        (f"{prefix}C4.binary", "C4", f"binary Concrete CDF (K = 2), T = 0.5, N = {nr:,}", 1,
         binary("k2", 0.5)),
    ]


def plan(b: Budget) -> list[PlannedCheck]:
    return [mk(*e) for e in entries(b)]



def power(b: Budget, family_size: int, device: str, stage: float) -> dict[str, Any]:
    return {"temperature_2pct": temperature_power(b, stage)}


# ------------------------------------------------------------------ protocol --------------

_X = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


def trial() -> tuple[tuple, dict, tuple]:
    return (_X.copy(), 1.0, 3, 12345), {}, (3, 4)


def small_call(fn: Callable, x, n: int, seed: int) -> np.ndarray:
    """One small call at T = 1 (contract probes)."""
    return to_numpy(fn(x, 1.0, n, seed), "relaxed sampler")


# ------------------------------------------------------------------ bad inputs ------------

def cases():
    """(probe, desc, domain, logits, T, n, check(y, x, T) -> (outcome, detail))."""
    def zero_at(forbidden):
        def chk(y, x, t):
            if np.any(y[:, forbidden] != 0):
                raise Outcome("silent wrong answer", f"positive mass {y[:, forbidden].max():.3g} on a "
                               "zero-probability (-inf) category")
            return "ok/documented", "-inf categories get exactly 0"
        return chk

    def rounding(extra=""):
        def chk(y, x, t):
            p = softmax(np.asarray(x, dtype=np.float64))
            idx = np.argmax(y, axis=1)
            pv = mini_law(np.bincount(idx, minlength=p.size), p)
            if pv < LAW_THRESHOLD:
                raise Outcome("silent wrong answer", f"argmax frequencies contradict softmax(x) (chi-square p = "
                               f"{pv:.2g}){extra}")
            return "ok/documented", f"on the simplex; argmax frequencies fit (p = {pv:.2g})"
        return chk

    def fine(msg):
        return lambda y, x, t: ("ok/documented", msg)

    def silent(y, x, t):
        raise Outcome("silent wrong answer", "returned valid-looking simplex points for an input that defines "
                       "no distribution")

    def onehot_limit(y, x, t):
        if np.all(np.sum(y == 1, axis=1) == 1):
            return "ok/documented", "one-hot (the T -> 0 limit)"
        raise Outcome("silent wrong answer", "valid-looking non-one-hot output at T = 0")

    def uniform_limit(y, x, t):
        fin = np.isfinite(np.asarray(x, dtype=np.float64))
        if np.allclose(y[:, fin], 1.0 / fin.sum(), atol=1e-6):
            return "ok/documented", "uniform (the T -> inf limit)"
        raise Outcome("silent wrong answer", "valid-looking non-uniform output at T = inf")

    def negative(y, x, t):
        raise Outcome("silent wrong answer", "accepted a negative temperature silently (samples the reversed "
                       "order)")

    def posinf(y, x, t):
        j = np.isposinf(np.asarray(x))
        if np.allclose(y[:, j].sum(axis=1), 1.0):
            return "ok/documented", "all mass on the +inf category (limit)"
        raise Outcome("silent wrong answer", "valid-looking output not concentrated on the +inf category")

    big = np.zeros(152_064)
    big[::97] = 1.0
    return [
        ("neginf_one", "one -inf logit, T = 1", "valid", np.array([0.5, NEG, 0.0, 1.0]), 1.0, 500, zero_at([1])),
        ("neginf_all_but_one", "all but one -inf, T = 1", "valid", np.array([NEG, 0.3, NEG]), 1.0, 100,
         lambda y, x, t: ("ok/documented", "exact one-hot") if np.all(y[:, 1] == 1) else
         (_ for _ in ()).throw(Outcome("silent wrong answer", "mass off the only finite category"))),
        ("huge_1e30", "magnitudes +-1e30 [1e30, -1e30, 0], T = 1", "valid", np.array([1e30, -1e30, 0.0]), 1.0, 100,
         fine("finite, on the simplex")),
        ("pm1000", "magnitudes +-1000, T = 0.5", "valid", np.array([1000.0, 999.0, -1000.0, 1000.5]), 0.5, 20000,
         rounding()),
        ("minus1e5", "a logit of -1e5 [0, -1e5, 1], T = 1", "valid", np.array([0.0, -1e5, 1.0]), 1.0, 500,
         fine("finite, on the simplex")),
        ("tiny_T", "T = 1e-8", "valid", LOG4, 1e-8, 20000, rounding()),
        ("huge_T", "T = 1e8", "valid", LOG4, 1e8, 200, fine("finite, on the simplex (near uniform)")),
        ("k1", "K = 1", "valid", np.array([0.7]), 1.0, 50,
         lambda y, x, t: ("ok/documented", "exactly 1") if np.all(y == 1) else
         (_ for _ in ()).throw(Outcome("silent wrong answer", "K = 1 output is not exactly 1"))),
        ("k152k", "K = 152 064, n = 2", "valid", big, 1.0, 2, fine("finite, on the simplex")),
        ("float16", "float16 logits, T = 1", "valid", LOG4.astype(np.float16), 1.0, 20000, rounding()),
        ("ties", "exact ties: 8 equal logits, T = 1", "valid", np.zeros(8), 1.0, 40000, rounding()),
        ("empty", "n = 0 (empty batch)", "valid", LOG4, 1.0, 0, fine("empty result")),
        ("nan", "NaN logit", "invalid", np.array([0.0, NAN, 1.0]), 1.0, 50, silent),
        ("all_neginf", "all -inf logits", "invalid", np.array([NEG, NEG, NEG]), 1.0, 50, silent),
        ("posinf", "+inf logit", "invalid", np.array([0.0, POS, 1.0]), 1.0, 50, posinf),
        ("T0", "T = 0", "invalid", LOG4, 0.0, 50, onehot_limit),
        ("T_negative", "T = -1", "invalid", LOG4, -1.0, 50, negative),
        ("T_nan", "T = NaN", "invalid", LOG4, NAN, 50, silent),
        ("T_inf", "T = inf", "invalid", LOG4, POS, 50, uniform_limit),
    ]


_WARN_SILENT = {"T_negative"}  # a silent answer here is a warning (module doc)


def bad_inputs(fn: Callable, rec: Recorder, seed: int) -> None:
    for i, (probe, desc, domain, x, t, n, chk) in enumerate(cases()):
        def body(x=x, t=t, n=n, chk=chk, s=seed + i):
            y = simplex(call(fn, x, t, n, s), (n, x.shape[-1]))
            return chk(y, x, t)
        rec.run(probe, desc, domain, body)
        soften(rec, probe)


def soften(rec: Recorder, probe: str) -> None:
    f = rec.findings[-1]
    if probe in _WARN_SILENT and f.outcome == "silent wrong answer":
        rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn", f.detail)



def _adversarial_call(fn: Callable, x: np.ndarray, seed: int, n: int = 1024) -> None:
    forbidden = np.flatnonzero(np.isneginf(x))
    y = simplex(call(fn, x, 0.5, n, seed), (n, x.size))
    if np.any(y[:, forbidden] != 0):
        raise Outcome("silent wrong answer", "positive mass on a -inf category")


def adversarial(fn: Callable, rec: Recorder, seed: int) -> None:
    adversarial_probe(fn, rec, seed, _adversarial_call, "valid output, zero-probability categories never selected")


def select(fn, x, n, seed):
    """Reach probe: the argmax of the points drawn for the K = 2 logits ``x`` at T = 1."""
    y = np.asarray(fn(x, 1.0, n, seed), dtype=np.float64)
    return np.argmax(y, axis=1)


def contract(fn: Callable, seed: int) -> list:
    return contract_findings(fn, seed, small_call, precision=True)


# ------------------------------------------------------------------ command / samples -----

def request(args: tuple) -> tuple:
    logits, t, n, seed = args
    x = np.asarray(logits, dtype=np.float64)
    return x, int(n), int(seed), float(t), (int(n), x.shape[-1])


def offline(s: np.ndarray, x: np.ndarray, temperature: float | None) -> tuple[np.ndarray, list]:
    if temperature is None or not temperature > 0:
        raise ValueError("--samples with --kind relaxed needs --temperature T > 0 (the sample's temperature)")
    s = s.astype(np.float64)
    if s.ndim == 1:
        if s.size % x.size:
            raise ValueError(f"{s.size} values are not rows of K = {x.size}")
        s = s.reshape(-1, x.size)
    if s.shape[1] != x.size:
        raise ValueError(f"the samples have {s.shape[1]} columns, the logits K = {x.size}")
    n = s.shape[0]
    return s, [("C3.round.offline", 1, lambda fn, ctx: sc.rounding_law(fn, x, temperature, n, ctx,
                                                                       check="C3.round.offline")),
               ("C2.scale.offline", 1, lambda fn, ctx: sc.logratio_scale(fn, x, temperature, n, ctx,
                                                                         check="C2.scale.offline")),
               ("C2.marginal.offline", x.size - 1, lambda fn, ctx: sc.logratio_marginal(
                   fn, x, temperature, n, ctx, check="C2.marginal.offline"))]


# ------------------------------------------------------------------ built-ins -------------

def torch_relaxed_onehot(logits: np.ndarray, temperature: float, n: int, seed: int):
    """``torch.distributions.RelaxedOneHotCategorical(T, logits=logits).rsample((n,))`` (float64)."""
    with seeded_torch(seed) as torch:
        x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
        t = torch.tensor(float(temperature), dtype=torch.float64)
        return torch.distributions.RelaxedOneHotCategorical(t, logits=x).rsample((n,))


def _relaxed_onehot_logprob(ctx) -> tuple[list, list, dict]:
    from harness.kinds.relaxed_extras import relaxed_onehot_logprob_check

    return relaxed_onehot_logprob_check(ctx)



BUILTINS = (
    BuiltinTarget("reference-relaxed", "relaxed", "NumPy Concrete sampler softmax((x + g)/T), float64",
                  lambda: load_callable("harness.checks.samplers:reference_relaxed")),
    BuiltinTarget("torch-relaxed-onehot", "relaxed",
                  "torch.distributions.RelaxedOneHotCategorical(T, logits).rsample (float64); "
                  "its log_prob is compared with the C1 density",
                  lambda: torch_relaxed_onehot, extra=_relaxed_onehot_logprob),
)

KIND = register(Kind(
    name="relaxed", signature=SIGNATURE, plan=plan, trial=trial, bad_inputs=bad_inputs, adversarial=adversarial,
    reach=ReachStrategy(select=select, sample=lambda fn: fn(np.zeros(2), 1.0, 2, 0),
                        tail="T1.tail at the thorough budget, on its argmax run as a categorical target"), contract=contract,
    power=power, builtins=BUILTINS, external=ExternalProtocol(request=request, offline=offline),
    description="Gumbel-softmax / Concrete samplers: (n, K) simplex points per call", short="relax", param_hints=("logits", "temperature", "n", "seed")))
