"""The ``noise`` kind: ``fn(shape: tuple[int, ...], seed: int) -> standard Gumbel draws of that shape``.

Its checks (N: the standard Gumbel law, its upper tail and resolution; T2: max-stability; T3:
the max independent of the argmax), bad-input cases (shapes), adversarial calls (finite noise
under forced extreme draws), precision reach (the noise range), contract probes and built-ins.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from harness.checks import claims as sc
from harness.checks.builders import error_verdict
from harness.checks.independence import max_argmax_independence
from harness.checks.samplers import TargetError, draw_noise, to_numpy
from harness.core.budgets import Budget
from harness.kinds.base import (COUNTS, SAMPLES, BuiltinTarget, Compared, ExternalProtocol, Kind, Observable,
                                PlannedCheck, load_callable, mk, register)
from harness.kinds.common import LOGITS, noise_bits_for, seeded_torch
from harness.probes.adversarial import adversarial_probe
from harness.probes.contract import contract_findings
from harness.probes.findings import Outcome, Recorder, as_array, call
from harness.probes.reach import ReachStrategy

__all__ = ["KIND", "plan", "numpy_gumbel"]

SIGNATURE = "fn(shape: tuple[int, ...], seed: int) -> standard Gumbel draws of that shape"


# ------------------------------------------------------------------ plan ------------------

def _noise_dtype(fn: Callable) -> np.dtype:
    out = fn((16,), 12345)
    if hasattr(out, "detach"):
        out = out.detach().cpu()
        s = str(out.dtype)
        return np.dtype({"torch.bfloat16": "float16", "torch.float16": "float16",
                         "torch.float32": "float32"}.get(s, "float64"))
    return np.asarray(out).dtype


def plan(b: Budget) -> list[PlannedCheck]:
    nc = b.n_continuous

    def resolution(fn, ctx, _id):
        try:
            dt = _noise_dtype(fn)
        except TargetError as exc:
            return [error_verdict("N", _id, "noise resolution", f"target error: {exc}", alpha=ctx.alpha)]
        if dt.kind != "f":
            return [error_verdict("N", _id, "noise resolution", f"the noise has dtype {dt}, expected floating "
                                  "point", alpha=ctx.alpha)]
        vs = sc.noise_resolution(fn, 5 * nc, ctx, check=_id, bits=noise_bits_for(dt))
        return [replace(v, details={**v.details, "output_dtype": str(dt)}) for v in vs]

    plan = [
        ("N.law", "N", f"standard Gumbel law: KS and Anderson-Darling, N = {nc:,}", 2,
         Compared(lambda fn, ctx, _id: sc.noise_law(fn, nc, ctx, check=_id),
                  lambda fn, ctx, _id: {"": draw_noise(fn, nc, ctx.seed_for(_id))},
                  (Observable("", SAMPLES, "the noise values"),))),
        ("N.tail", "N", f"upper tail: P(g > t) with 50 expected hits in N = {b.n_tail:,}", 1,
         Compared(lambda fn, ctx, _id: sc.noise_tail(fn, b.n_tail, ctx, check=_id),
                  lambda fn, ctx, _id: {"": sc.noise_tail_counts(fn, b.n_tail, ctx.seed_for(_id),
                                                                 sc.noise_tail_threshold(b.n_tail))[0]},
                  (Observable("", COUNTS, "draws below / above the tail threshold (50 expected above)"),))),
        ("N.resolution", "N", f"no repeated values (52 bits float64, 22 float32), N = {5 * nc:,}", 1, resolution),
        ("T2.max", "T2", f"max_i(x_i + g_i) ~ Gumbel(lse x), K = 5, N = {nc:,}", 1,
         Compared(lambda fn, ctx, _id: sc.max_stability(fn, LOGITS["k5"], nc, ctx, check=_id),
                  lambda fn, ctx, _id: {"": sc.max_samples(fn, LOGITS["k5"], nc, ctx.seed_for(_id))},
                  (Observable("", SAMPLES, "max_i(x_i + g_i), K = 5"),))),
        ("T3.max_argmax", "T3", f"max independent of argmax: per-class Anderson-Darling, K = 5, N = {nc:,}", 1,
         lambda fn, ctx, _id: max_argmax_independence(fn, LOGITS["k5"], nc, ctx, check=_id)),
    ]
    return [mk(*p) for p in plan]



# ------------------------------------------------------------------ protocol --------------

def trial() -> tuple[tuple, dict, tuple]:
    return ((3,), 12345), {}, (3,)


def small_call(fn: Callable, x, n: int, seed: int) -> np.ndarray:
    """One small call of ``n`` draws (contract probes; the logits ``x`` are not used)."""
    return to_numpy(fn((n,), seed), "noise sampler")


# ------------------------------------------------------------------ bad inputs ------------

def bad_inputs(fn: Callable, rec: Recorder, seed: int) -> None:
    def shaped(shape):
        def body():
            a = as_array(call(fn, shape, seed))
            if tuple(a.shape) != tuple(shape):
                raise Outcome("invalid output", f"shape {tuple(a.shape)}, expected {tuple(shape)}")
            if a.dtype.kind != "f":
                raise Outcome("invalid output", f"dtype {a.dtype}")
            if a.size and not np.all(np.isfinite(a.astype(np.float64))):
                raise Outcome("NaN output", "non-finite noise")
            return "ok/documented", f"shape {tuple(shape)}, finite"
        return body

    rec.run("empty", "shape (0,)", "valid", shaped((0,)))
    rec.run("one", "shape (1,)", "valid", shaped((1,)))
    rec.run("2d", "shape (3, 5)", "valid", shaped((3, 5)))



def _adversarial_call(fn: Callable, x: np.ndarray, seed: int) -> None:
    a = as_array(call(fn, (4096,), seed)).astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise Outcome("NaN output", f"{int(np.sum(~np.isfinite(a)))} of 4096 noise values are "
                      f"non-finite, e.g. {a[~np.isfinite(a)][:3].tolist()}")


def adversarial(fn: Callable, rec: Recorder, seed: int) -> None:
    adversarial_probe(fn, rec, seed, _adversarial_call, "finite noise", masked=False)  # no logits


def contract(fn: Callable, seed: int) -> list:
    return contract_findings(fn, seed, small_call, make_input=None)


# ------------------------------------------------------------------ command / samples -----

def request(args: tuple) -> tuple:
    shape, seed = args
    shape = tuple(int(s) for s in shape)
    return None, int(np.prod(shape)) if shape else 1, int(seed), None, shape


def offline(s: np.ndarray, x, temperature: float | None) -> tuple[np.ndarray, list]:
    s = s.astype(np.float64).ravel()
    n = s.size
    return s, [("N.law.offline", 2, lambda fn, ctx: sc.noise_law(fn, n, ctx, check="N.law.offline")),
               ("N.tail.offline", 1, lambda fn, ctx: sc.noise_tail(fn, n, ctx, check="N.tail.offline"))]


# ------------------------------------------------------------------ built-ins -------------

def numpy_gumbel(shape: tuple, seed: int) -> np.ndarray:
    """``numpy.random.default_rng(seed).gumbel(size=shape)`` (float64)."""
    return np.random.default_rng(seed).gumbel(size=shape)


def _torch_gumbel(dtype_name: str) -> Callable:
    def torch_gumbel_noise(shape: tuple, seed: int):
        with seeded_torch(seed) as torch:
            dt = getattr(torch, dtype_name)
            d = torch.distributions.Gumbel(torch.tensor(0.0, dtype=dt), torch.tensor(1.0, dtype=dt))
            return d.rsample(tuple(shape))

    torch_gumbel_noise.__doc__ = f"``torch.distributions.Gumbel(0, 1)`` with {dtype_name} parameters, rsample(shape)."
    return torch_gumbel_noise



BUILTINS = (
    BuiltinTarget("reference-noise", "noise", "reference.numpy_sampler.gumbel_noise (float64)",
                  lambda: load_callable("harness.checks.samplers:reference_noise")),
    BuiltinTarget("numpy-gumbel", "noise", "numpy.random.Generator.gumbel (float64)", lambda: numpy_gumbel),
    BuiltinTarget("torch-gumbel-noise", "noise", "torch.distributions.Gumbel(0, 1).rsample, float64 parameters",
                  lambda: _torch_gumbel("float64")),
    BuiltinTarget("torch-gumbel-noise-f32", "noise",
                  "torch.distributions.Gumbel(0, 1).rsample, float32 parameters: Uniform(tiny, 1 - eps) in "
                  "float32 gives u <= 1 - 3 2^-24, so g <= 15.54 (rejected by N.tail at the thorough budget; "
                  "a 17% deficit of P(g > 13.8) at standard)", lambda: _torch_gumbel("float32"),
                  expect_pass=False, expect_law=False, expect_contract=False, expect_budget="thorough",
                  notes="low + rand * (high - low) rounds 1 - j 2^-24 to 1 - (j + 2) 2^-24: the top two grid "
                        "points never occur, g <= -log(3 2^-24) = 15.54"),
)

KIND = register(Kind(
    name="noise", signature=SIGNATURE, plan=plan, trial=trial, bad_inputs=bad_inputs, adversarial=adversarial,
    reach=ReachStrategy(noise=True, sample=lambda fn: fn((4,), 0), tail="N.tail at the thorough budget"), contract=contract, builtins=BUILTINS,
    external=ExternalProtocol(request=request, offline=offline, needs_logits=False),
    description="Gumbel noise generators: standard Gumbel draws of a shape",
    param_hints=("shape", "size", "seed")))
