"""Loading targets (``"module:callable"``) and the built-in targets, runnable by name.

Each built-in target is a small adapter that puts a library sampler behind one of the
protocols of :mod:`harness.samplers`. Adapters convert logits to what the library wants
(probabilities for ``Generator.choice`` / ``torch.multinomial``: a max-subtracted softmax,
NaN stays NaN so the library's own validation answers the bad-input probe) and seed the
library's generator from the protocol's ``seed`` (``numpy.random.default_rng(seed)``,
``torch.manual_seed(seed)``, ``jax.random.key(seed)``).
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["BuiltinTarget", "BUILTINS", "load_target", "resolve", "TargetLoadError", "builtin_names"]


class TargetLoadError(Exception):
    """The target spec cannot be imported or resolved (CLI exit status 2)."""


@dataclass(frozen=True)
class BuiltinTarget:
    """A named target: ``factory()`` returns the protocol callable; ``requires`` lists modules
    that must be importable (else the target is skipped cleanly); ``expect_pass`` records
    whether it is expected to conform (tests assert it)."""

    name: str
    kind: str
    description: str
    factory: Callable[[], Callable]
    requires: tuple[str, ...] = ()
    expect_pass: bool = True
    extra: Callable[..., Any] | None = None  # extra checks: extra(ctx) -> (verdicts, findings, info)
    notes: str = ""

    def available(self) -> tuple[bool, str]:
        for mod in self.requires:
            if importlib.util.find_spec(mod) is None:
                return False, f"{mod} is not installed (optional extra: pip install gumbel-harness[{mod}])"
        return True, ""


# ---------------------------------------------------------------- adapters -----------------

def _softmax_np(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.max(x))
        return e / e.sum()


def numpy_choice(logits: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``numpy.random.default_rng(seed).choice(K, size=n, p=softmax(logits))``."""
    x = np.asarray(logits)
    return np.random.default_rng(seed).choice(x.shape[-1], size=n, p=_softmax_np(x))


def numpy_gumbel(shape: tuple, seed: int) -> np.ndarray:
    """``numpy.random.default_rng(seed).gumbel(size=shape)`` (float64)."""
    return np.random.default_rng(seed).gumbel(size=shape)


def _torch():
    import torch

    return torch


def torch_multinomial(logits: np.ndarray, n: int, seed: int):
    """``torch.multinomial(softmax(logits), n, replacement=True)`` (float64 probabilities)."""
    torch = _torch()
    torch.manual_seed(int(seed) % (2**63))
    x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    return torch.multinomial(torch.softmax(x, dim=-1), n, replacement=True)


def torch_categorical(logits: np.ndarray, n: int, seed: int):
    """``torch.distributions.Categorical(logits=logits).sample((n,))`` (float64)."""
    torch = _torch()
    torch.manual_seed(int(seed) % (2**63))
    x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    return torch.distributions.Categorical(logits=x).sample((n,))


def torch_relaxed_onehot(logits: np.ndarray, temperature: float, n: int, seed: int):
    """``torch.distributions.RelaxedOneHotCategorical(T, logits=logits).rsample((n,))`` (float64)."""
    torch = _torch()
    torch.manual_seed(int(seed) % (2**63))
    x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
    t = torch.tensor(float(temperature), dtype=torch.float64)
    return torch.distributions.RelaxedOneHotCategorical(t, logits=x).rsample((n,))


def _torch_gumbel(dtype_name: str) -> Callable:
    def torch_gumbel_noise(shape: tuple, seed: int):
        torch = _torch()
        torch.manual_seed(int(seed) % (2**63))
        dt = getattr(torch, dtype_name)
        d = torch.distributions.Gumbel(torch.tensor(0.0, dtype=dt), torch.tensor(1.0, dtype=dt))
        return d.rsample(tuple(shape))

    torch_gumbel_noise.__doc__ = f"``torch.distributions.Gumbel(0, 1)`` with {dtype_name} parameters, rsample(shape)."
    return torch_gumbel_noise


def jax_categorical(logits: np.ndarray, n: int, seed: int):
    """``jax.random.categorical(jax.random.key(seed), logits, shape=(n,))`` (float32 logits)."""
    import jax

    x = np.asarray(logits, dtype=np.float32)
    return np.asarray(jax.random.categorical(jax.random.key(int(seed) % (2**32)), x, shape=(n,)))


def jax_gumbel(shape: tuple, seed: int):
    """``jax.random.gumbel(jax.random.key(seed), shape)`` (float32, jax's default)."""
    import jax

    return np.asarray(jax.random.gumbel(jax.random.key(int(seed) % (2**32)), tuple(shape)))


def _f(path: str) -> Callable[[], Callable]:
    return lambda: load_target(path)[0]


def _torch_fgs():
    import torch.nn.functional as F

    return F.gumbel_softmax


def _relaxed_onehot_logprob(ctx) -> tuple[list, list, dict]:
    from harness.checker.extras import relaxed_onehot_logprob_check

    return relaxed_onehot_logprob_check(ctx)


BUILTINS: dict[str, BuiltinTarget] = {t.name: t for t in [
    BuiltinTarget("reference-categorical", "categorical",
                  "reference.numpy_sampler.sample (float64 exponential race)",
                  _f("harness.samplers:reference_categorical")),
    BuiltinTarget("reference-relaxed", "relaxed", "NumPy Concrete sampler softmax((x + g)/T), float64",
                  _f("harness.samplers:reference_relaxed")),
    BuiltinTarget("reference-noise", "noise", "reference.numpy_sampler.gumbel_noise (float64)",
                  _f("harness.samplers:reference_noise")),
    BuiltinTarget("reference-torch", "torch", "reference.torch_gumbel_softmax.gumbel_softmax",
                  _f("reference.torch_gumbel_softmax:gumbel_softmax")),
    BuiltinTarget("torch-gumbel-softmax", "torch", "torch.nn.functional.gumbel_softmax", _torch_fgs),
    BuiltinTarget("torch-relaxed-onehot", "relaxed",
                  "torch.distributions.RelaxedOneHotCategorical(T, logits).rsample (float64); "
                  "its log_prob is compared with the C1 density",
                  lambda: torch_relaxed_onehot, extra=_relaxed_onehot_logprob),
    BuiltinTarget("torch-categorical", "categorical", "torch.distributions.Categorical(logits).sample (float64)",
                  lambda: torch_categorical),
    BuiltinTarget("torch-multinomial", "categorical",
                  "torch.multinomial(softmax(logits), n, replacement=True) (float64)", lambda: torch_multinomial),
    BuiltinTarget("numpy-choice", "categorical", "numpy.random.Generator.choice(K, n, p=softmax(logits))",
                  lambda: numpy_choice),
    BuiltinTarget("numpy-gumbel", "noise", "numpy.random.Generator.gumbel (float64)", lambda: numpy_gumbel),
    BuiltinTarget("torch-gumbel-noise", "noise", "torch.distributions.Gumbel(0, 1).rsample, float64 parameters",
                  lambda: _torch_gumbel("float64")),
    BuiltinTarget("torch-gumbel-noise-f32", "noise",
                  "torch.distributions.Gumbel(0, 1).rsample, float32 parameters: Uniform(tiny, 1 - eps) in "
                  "float32 gives u <= 1 - 3 2^-24, so g <= 15.54 (rejected by N.tail at the thorough budget; "
                  "a 17% deficit of P(g > 13.8) at standard)", lambda: _torch_gumbel("float32"),
                  expect_pass=False,
                  notes="low + rand * (high - low) rounds 1 - j 2^-24 to 1 - (j + 2) 2^-24: the top two grid "
                        "points never occur, g <= -log(3 2^-24) = 15.54"),
    BuiltinTarget("jax-categorical", "categorical", "jax.random.categorical (float32 logits); NaN logits and "
                  "all -inf logits return a valid-looking index (tfp#1571 / MLX#4177 class)",
                  lambda: jax_categorical, requires=("jax",), expect_pass=False,
                  notes="argmax(logits + gumbel) without validation; its noise is jax.random.gumbel mode 'low'"),
    BuiltinTarget("jax-gumbel", "noise", "jax.random.gumbel (float32, default mode 'low': g <= ~16.6, jax#5348; "
                  "rejected by N.tail at the thorough budget)", lambda: jax_gumbel, requires=("jax",),
                  expect_pass=False, notes="mode='low' (default) caps the noise near 16.6; mode='high' near 32"),
    # ---- token kind (LLM engines' batched token samplers: harness.checker.token_targets)
    BuiltinTarget("reference-token", "token",
                  "reference.torch_token_sampler.sample_tokens: float64 exponential race argmax(w / E) with "
                  "temperature, top-k (ties kept), top-p (crossing token kept), min-p per row",
                  _f("reference.torch_token_sampler:sample_tokens")),
    BuiltinTarget("torch-multinomial-token", "token",
                  "the documented filters (float64), then torch.multinomial(softmax, 1)",
                  _f("harness.checker.token_targets:torch_multinomial_token")),
    BuiltinTarget("hf-logits-processors", "token",
                  "HuggingFace transformers TemperatureLogitsWarper, TopK, TopP, MinP (generate's order) on "
                  "float32 logits, then torch.multinomial", _f("harness.checker.token_targets:hf_logits_processors"),
                  requires=("transformers",),
                  notes="transformers 5.24: conforms at quick and standard (27/27 verdicts, no failing finding; "
                        "380 s at standard on 2 loaded cores, 243 s of it in TK.tail). Its kept sets equal "
                        "reference.token_laws on random rows (tests/test_token_laws.py). The thorough tail "
                        "(float32 probabilities into torch.multinomial) was not run."),
]}


def builtin_names() -> list[str]:
    return list(BUILTINS)


def load_target(spec: str) -> tuple[Callable, str | None]:
    """Import ``"module:callable"`` (``callable`` may be dotted: ``"pkg.mod:Class.method"``).
    Returns ``(fn, kind)`` where ``kind`` comes from a ``gumbel_harness_kind`` attribute of the
    callable, if any. Raises :class:`TargetLoadError` naming the problem."""
    if not isinstance(spec, str) or ":" not in spec:
        raise TargetLoadError(f"target {spec!r} must look like MODULE:CALLABLE (e.g. "
                              "torch.nn.functional:gumbel_softmax) or be a built-in name "
                              f"(--builtin; one of {', '.join(BUILTINS)})")
    mod_name, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as exc:  # noqa: BLE001 - any import failure
        raise TargetLoadError(f"cannot import module {mod_name!r}: {type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetLoadError(f"module {mod_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise TargetLoadError(f"{spec} is a {type(obj).__name__}, not a callable")
    return obj, getattr(obj, "gumbel_harness_kind", None)


def resolve(target: Any, kind: str | None) -> tuple[Callable, str, str, BuiltinTarget | None]:
    """``(fn, kind, name, builtin)`` for a callable, a ``"module:callable"`` string or a built-in
    name. Raises :class:`TargetLoadError` (cannot load) or ``ValueError`` (no/unknown kind)."""
    from harness.checker.plans import KINDS

    builtin = None
    if isinstance(target, str) and target in BUILTINS:
        builtin = BUILTINS[target]
        ok, why = builtin.available()
        if not ok:
            raise TargetLoadError(f"built-in target {target!r} is unavailable: {why}")
        fn, name = builtin.factory(), target
        kind = kind or builtin.kind
    elif isinstance(target, str):
        fn, k = load_target(target)
        kind, name = kind or k, target
    elif callable(target):
        fn = target
        kind = kind or getattr(target, "gumbel_harness_kind", None)
        name = getattr(target, "gumbel_harness_name", None) or \
            f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    else:
        raise TargetLoadError(f"target must be a callable, 'module:callable' or a built-in name, got {target!r}")
    if kind is None:
        raise ValueError(f"the kind of {name} is unknown: pass --kind / kind= (one of {', '.join(KINDS)})")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return fn, kind, name, builtin
