"""Loading targets (``"module:callable"``) and the built-in targets, runnable by name.

Each built-in target is a small adapter that puts a library sampler behind one of the
protocols of :mod:`harness.checks.samplers`. Adapters convert logits to what the library wants
(probabilities for ``Generator.choice`` / ``torch.multinomial``: a max-subtracted softmax,
NaN stays NaN so the library's own validation answers the bad-input probe) and seed the
library's generator from the protocol's ``seed`` (``numpy.random.default_rng(seed)``,
``torch.manual_seed(seed)``, ``jax.random.key(seed)``).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["BuiltinTarget", "BUILTINS", "load_target", "resolve", "describe", "load", "TargetSpec",
           "TargetLoadError", "builtin_names"]


class TargetLoadError(Exception):
    """The target spec cannot be imported or resolved (CLI exit status 2)."""


_BUDGET_RANK = {"quick": 0, "standard": 1, "thorough": 2}


@dataclass(frozen=True)
class BuiltinTarget:
    """A named target: ``factory()`` returns the protocol callable; ``requires`` lists modules
    that must be importable (else the target is skipped cleanly).

    Expected verdicts (the conformance matrix compares them with the outcome): ``expect_law`` and
    ``expect_contract`` (True: holds, False: fails, None: not stated, then ``expect_pass``
    decides the overall verdict), and ``expect_budget``, the smallest budget at which an
    expected law failure is certain to show (below it the law may go either way; contract
    findings are deterministic and expected at every budget).
    ``expect_pass`` is True when both are expected to hold."""

    name: str
    kind: str
    description: str
    factory: Callable[[], Callable]
    requires: tuple[str, ...] = ()
    expect_pass: bool = True
    extra: Callable[..., Any] | None = None  # extra checks: extra(ctx) -> (verdicts, findings, info)
    notes: str = ""
    expect_law: bool | None = None
    expect_contract: bool | None = None
    expect_budget: str = "quick"

    def expected(self, budget: str) -> dict[str, bool | None]:
        """``{"law", "contract", "pass"}`` expected at ``budget``: True holds, False fails, None
        either (an expected failure that this budget may not have the power to show)."""
        law = self.expect_law if self.expect_law is not None else (True if self.expect_pass else None)
        con = self.expect_contract if self.expect_contract is not None else (True if self.expect_pass else None)
        overall: bool | None = self.expect_pass
        if _BUDGET_RANK.get(budget, 1) < _BUDGET_RANK.get(self.expect_budget, 0):
            # the budget bounds the power of the statistical law checks; contract findings are
            # deterministic probes and show at every budget
            law = None if law is False else law
            overall = None if overall is False and con is not False else overall
        return {"law": law, "contract": con, "pass": overall}

    def matches(self, result: Any) -> bool:
        """Whether ``result`` (a CheckResult at its budget) shows the expected verdicts. A side that
        did not run (no law check selected; no probe and no contract check) is not compared."""
        e = self.expected(result.budget)
        if not result.law_verdicts:
            e["law"] = e["pass"] = None
        if not (result.contract_verdicts or result.findings):
            e["contract"] = e["pass"] = None
        got = {"law": result.law_passed, "contract": result.contract_passed, "pass": result.passed}
        return all(e[k] is None or e[k] == got[k] for k in e)

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


@contextlib.contextmanager
def _seeded_torch(seed: int):
    """``torch.manual_seed(seed)`` inside ``torch.random.fork_rng``: the adapters honour the
    protocol's ``seed`` without changing the caller's global torch RNG state (a change the
    checker reports as a contract finding, ``contract.global_state``)."""
    torch = _torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed) % (2**63))
        yield torch


def torch_multinomial(logits: np.ndarray, n: int, seed: int):
    """``torch.multinomial(softmax(logits), n, replacement=True)`` (float64 probabilities)."""
    with _seeded_torch(seed) as torch:
        x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
        return torch.multinomial(torch.softmax(x, dim=-1), n, replacement=True)


def torch_categorical(logits: np.ndarray, n: int, seed: int):
    """``torch.distributions.Categorical(logits=logits).sample((n,))`` (float64)."""
    with _seeded_torch(seed) as torch:
        x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
        return torch.distributions.Categorical(logits=x).sample((n,))


def torch_relaxed_onehot(logits: np.ndarray, temperature: float, n: int, seed: int):
    """``torch.distributions.RelaxedOneHotCategorical(T, logits=logits).rsample((n,))`` (float64)."""
    with _seeded_torch(seed) as torch:
        x = torch.as_tensor(np.asarray(logits, dtype=np.float64))
        t = torch.tensor(float(temperature), dtype=torch.float64)
        return torch.distributions.RelaxedOneHotCategorical(t, logits=x).rsample((n,))


def _torch_gumbel(dtype_name: str) -> Callable:
    def torch_gumbel_noise(shape: tuple, seed: int):
        with _seeded_torch(seed) as torch:
            dt = getattr(torch, dtype_name)
            d = torch.distributions.Gumbel(torch.tensor(0.0, dtype=dt), torch.tensor(1.0, dtype=dt))
            return d.rsample(tuple(shape))

    torch_gumbel_noise.__doc__ = f"``torch.distributions.Gumbel(0, 1)`` with {dtype_name} parameters, rsample(shape)."
    return torch_gumbel_noise


def _f(path: str) -> Callable[[], Callable]:
    return lambda: load_target(path)[0]


def _torch_fgs():
    import torch.nn.functional as F

    return F.gumbel_softmax


def _relaxed_onehot_logprob(ctx) -> tuple[list, list, dict]:
    from harness.kinds.relaxed_extras import relaxed_onehot_logprob_check

    return relaxed_onehot_logprob_check(ctx)


BUILTINS: dict[str, BuiltinTarget] = {t.name: t for t in [
    BuiltinTarget("reference-categorical", "categorical",
                  "reference.numpy_sampler.sample (float64 exponential race)",
                  _f("harness.checks.samplers:reference_categorical")),
    BuiltinTarget("reference-relaxed", "relaxed", "NumPy Concrete sampler softmax((x + g)/T), float64",
                  _f("harness.checks.samplers:reference_relaxed")),
    BuiltinTarget("reference-noise", "noise", "reference.numpy_sampler.gumbel_noise (float64)",
                  _f("harness.checks.samplers:reference_noise")),
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
                  expect_pass=False, expect_law=False, expect_contract=False, expect_budget="thorough",
                  notes="low + rand * (high - low) rounds 1 - j 2^-24 to 1 - (j + 2) 2^-24: the top two grid "
                        "points never occur, g <= -log(3 2^-24) = 15.54"),
    BuiltinTarget("jax-categorical", "jax-categorical", "jax.random.categorical(key, logits, shape=(n,)) (float32 "
                  "logits); NaN logits and all -inf logits return a valid-looking index (tfp#1571 / MLX#4177 class)",
                  _f("harness.kinds.jax:random_categorical"), requires=("jax",), expect_pass=False,
                  expect_law=True, expect_contract=False,
                  notes="argmax(logits + gumbel) without validation; its noise is jax.random.gumbel mode 'low' "
                        "(gap reach 20.4 nats: float32-grade, what its float32 logits promise)"),
    BuiltinTarget("jax-gumbel", "jax-noise", "jax.random.gumbel(key, shape) (float32, default mode 'low': "
                  "g in [-4.47, 15.94], jax#5348): reach.noise fails at every budget (23.0 bits < the float32 "
                  "24); N.tail confirms at thorough", _f("harness.kinds.jax:random_gumbel"),
                  requires=("jax",), expect_pass=False,
                  expect_law=False, expect_contract=False, expect_budget="thorough",
                  notes="mode='low' draws u on a 2^-23 grid in [tiny, 1): g <= -log(2^-23) = 15.94"),
    BuiltinTarget("jax-gumbel-softmax", "jax-relaxed", "reference JAX Gumbel-softmax softmax((x + g)/T) on "
                  "jax.random.gumbel, straight-through hard=True (float32); G1/G4 with jax.jacrev",
                  _f("harness.kinds.jax:gumbel_softmax"), requires=("jax",)),
    BuiltinTarget("numpyro-categorical", "jax-categorical", "numpyro.distributions.Categorical(logits).sample(key, "
                  "(n,)) (jax.random.categorical underneath: the same findings)",
                  _f("harness.kinds.jax:numpyro_categorical"), requires=("jax", "numpyro"),
                  expect_pass=False, expect_law=False),
    BuiltinTarget("numpyro-gumbel", "jax-noise", "numpyro.distributions.Gumbel(0, 1).sample(key, shape) (float32; "
                  "jax.random.gumbel underneath: the jax#5348 cap)", _f("harness.kinds.jax:numpyro_gumbel"),
                  requires=("jax", "numpyro"), expect_pass=False,
                  expect_law=False, expect_contract=False, expect_budget="thorough"),
    # ---- token kind (LLM engines' batched token samplers: harness.kinds.token_targets)
    BuiltinTarget("reference-token", "token",
                  "reference.torch_token_sampler.sample_tokens: float64 exponential race argmax(w / E) with "
                  "temperature, top-k (ties kept), top-p (crossing token kept), min-p per row",
                  _f("reference.torch_token_sampler:sample_tokens")),
    BuiltinTarget("torch-multinomial-token", "token",
                  "the documented filters (float64), then torch.multinomial(softmax, 1)",
                  _f("harness.kinds.token_targets:torch_multinomial_token")),
    BuiltinTarget("hf-logits-processors", "token",
                  "HuggingFace transformers TemperatureLogitsWarper, TopK, TopP, MinP (generate's order) on "
                  "float32 logits, then torch.multinomial", _f("harness.kinds.token_targets:hf_logits_processors"),
                  requires=("transformers",),
                  notes="transformers 5.24: conforms at quick and standard (27/27 verdicts, no failing finding; "
                        "380 s at standard on 2 loaded cores, 243 s of it in TK.tail). Its kept sets equal "
                        "reference.token_laws on random rows (tests/test_token_laws.py). The thorough tail "
                        "(float32 probabilities into torch.multinomial) was not run."),
]}


def builtin_names() -> list[str]:
    return list(BUILTINS)


def _cwd_on_path() -> None:
    """Put the current directory first on ``sys.path`` (if it is not there), as ``python -m``
    and pytest do, so ``MODULE:CALLABLE`` resolves from the directory the user runs in. Every
    import of a target (CLI, API, a worker process started in the same directory) goes through
    :func:`load_target`, so they all resolve the same module."""
    import os
    import sys

    cwd = os.getcwd()
    if not any(p in ("", ".") or os.path.abspath(p) == cwd for p in sys.path):
        sys.path.insert(0, cwd)


def load_target(spec: str) -> tuple[Callable, str | None]:
    """Import ``"module:callable"`` (``callable`` may be dotted: ``"pkg.mod:Class.method"``),
    resolving ``module`` from the current directory first (as ``python -m`` does).
    Returns ``(fn, kind)`` where ``kind`` comes from a ``gumbel_harness_kind`` attribute of the
    callable, if any. Raises :class:`TargetLoadError` naming the problem."""
    if not isinstance(spec, str) or ":" not in spec:
        raise TargetLoadError(f"target {spec!r} must look like MODULE:CALLABLE (e.g. "
                              "torch.nn.functional:gumbel_softmax) or be a built-in name "
                              f"(--builtin; one of {', '.join(BUILTINS)})")
    mod_name, _, attr = spec.partition(":")
    _cwd_on_path()
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


@dataclass(frozen=True)
class TargetSpec:
    """What a target is, found without running any of its code: ``source`` is ``"builtin"``
    (``ref`` = the built-in name), ``"import"`` (``ref`` = ``"module:callable"``, not imported
    yet) or ``"object"`` (``ref`` = the callable). ``kind`` is None when it can only be read from
    the callable's ``gumbel_harness_kind`` after importing it."""

    source: str
    ref: Any
    kind: str | None
    name: str
    builtin: BuiltinTarget | None = None


def _check_kind(kind: str | None, name: str) -> None:
    from harness.kinds.plans import KINDS

    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")


def describe(target: Any, kind: str | None) -> TargetSpec:
    """The :class:`TargetSpec` of a callable, a ``"module:callable"`` string or a built-in name,
    **without importing** a target module (so a hostile module cannot touch this process).
    Raises :class:`TargetLoadError` (malformed / unavailable) or ``ValueError`` (unknown kind)."""
    if isinstance(target, str) and target in BUILTINS:
        builtin = BUILTINS[target]
        ok, why = builtin.available()
        if not ok:
            raise TargetLoadError(f"built-in target {target!r} is unavailable: {why}")
        spec = TargetSpec("builtin", target, kind or builtin.kind, target, builtin)
    elif isinstance(target, str):
        if ":" not in target:
            load_target(target)  # raises the MODULE:CALLABLE error
        spec = TargetSpec("import", target, kind, target)
    elif callable(target):
        kind = kind or getattr(target, "gumbel_harness_kind", None)
        name = getattr(target, "gumbel_harness_name", None) or \
            f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
        spec = TargetSpec("object", target, kind, name)
    else:
        raise TargetLoadError(f"target must be a callable, 'module:callable' or a built-in name, got {target!r}")
    _check_kind(spec.kind, spec.name)
    return spec


def load(spec: TargetSpec) -> tuple[Callable, str]:
    """Import / build the callable of ``spec``; returns ``(fn, kind)``. Raises
    :class:`TargetLoadError` or ``ValueError`` (no kind)."""
    from harness.kinds.plans import KINDS

    kind = spec.kind
    if spec.source == "builtin":
        fn = spec.builtin.factory()
    elif spec.source == "import":
        fn, k = load_target(spec.ref)
        kind = kind or k
    else:
        fn = spec.ref
    if kind is None:
        raise ValueError(f"the kind of {spec.name} is unknown: pass --kind / kind= (one of {', '.join(KINDS)})")
    _check_kind(kind, spec.name)
    return fn, kind


def resolve(target: Any, kind: str | None) -> tuple[Callable, str, str, BuiltinTarget | None]:
    """``(fn, kind, name, builtin)`` for a callable, a ``"module:callable"`` string or a built-in
    name (:func:`describe` then :func:`load`, in this process). Raises :class:`TargetLoadError`
    (cannot load) or ``ValueError`` (no/unknown kind)."""
    spec = describe(target, kind)
    fn, kind = load(spec)
    return fn, kind, spec.name, spec.builtin
