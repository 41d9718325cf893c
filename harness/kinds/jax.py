r"""JAX as a first-class target: key-based kinds, their adapters, plans and gradient checks.

JAX samplers are functions of a PRNG key. Three kinds take them as they are:

==================  =========================================================  ========================
kind                call                                                       returns
==================  =========================================================  ========================
``jax-categorical``  ``fn(key, logits, n)``                                     ``n`` ints in ``[0, K)``
``jax-relaxed``      ``fn(key, logits, temperature, n)`` (optionally ``hard=``)  ``(n, K)`` on the simplex
``jax-noise``        ``fn(key, shape)``                                         standard Gumbel draws
==================  =========================================================  ========================

``logits`` is a ``jax.Array`` (float32, or float64 under ``jax_enable_x64``); ``fn`` may be
jit-compiled or not (``n`` / ``shape`` are Python ints: ``jax.jit(fn, static_argnums=2)`` works).
The harness derives the key of every call from the protocol seed it would give a NumPy
target: :func:`jax_key` = ``jax.random.fold_in(jax.random.key(seed mod 2^32), seed >> 32)``
(the chunks of large requests already get their own seeds from ``SeedSequence.spawn``), and
splits it (``jax.random.split``) for the per-sample keys of the gradient checks.

Each kind is the matching NumPy protocol behind a top-level, picklable adapter
(:class:`JaxCategorical`, :class:`JaxRelaxed`, :class:`JaxNoise`), so the existing plans, probes
and precision-reach probe run unchanged. ``jax-relaxed`` adds two gradient checks with
``jax.jacrev`` on single-sample calls ``fn(k, x, T, 1)[0]`` for 16 split keys:

* ``G1.jacobian.jax``: the Jacobian of ``y`` w.r.t. the logits equals
  :math:`(\operatorname{diag} y - y y^\top)/T` of the output itself (tolerance ``1e-4/T`` in
  float32, ``1e-9/T`` in float64);
* ``G4.st.jax`` (when ``fn`` accepts ``hard=``): ``hard=True`` is exactly the one-hot of the
  argmax of the ``hard=False`` output for the same key, and its Jacobian is the soft one
  (straight-through ``y_hard + y_soft - stop_gradient(y_soft)``). A ``fn`` without ``hard``
  gets an info verdict that says so.

The adapters state the precision they feed: float32 logits (x64 disabled, JAX's default) set
``gumbel_harness_precision = "float32"``, which the precision-reach probe compares with.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import replace
from typing import Callable

import numpy as np

from harness.checks.builders import deterministic_verdict, error_verdict
from harness.checks.samplers import onehot_rows
from harness.core.budgets import Budget
from harness.core.context import RunContext
from harness.core.verdict import Verdict
from harness.kinds.base import BuiltinTarget, Kind, PlannedCheck, get_kind, load_callable, register
from harness.kinds.common import LOGITS

__all__ = ["jax_key", "JaxCategorical", "JaxRelaxed", "JaxNoise", "KINDS", "relaxed_plan", "gumbel_softmax",
           "random_categorical", "random_gumbel", "numpyro_categorical", "numpyro_gumbel", "JAX_MUTANTS"]


def jax_key(seed: int):
    """The key of one call: ``fold_in(key(seed mod 2^32), seed >> 32)``."""
    import jax

    s = int(seed) % (2**64)
    return jax.random.fold_in(jax.random.key(s & 0xFFFFFFFF), (s >> 32) & 0xFFFFFFFF)


def _float_dtype():
    import jax

    return np.float64 if jax.config.jax_enable_x64 else np.float32


class _Adapter:
    """Base of the adapters: holds the key-based ``fn``; picklable when ``fn`` is."""

    def __init__(self, fn: Callable):
        self.fn = fn

    @property
    def gumbel_harness_precision(self) -> str:
        return "float64" if _float_dtype() == np.float64 else "float32"

    def _logits(self, logits):
        import jax.numpy as jnp

        return jnp.asarray(np.asarray(logits, dtype=np.float64).astype(_float_dtype()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.fn, '__name__', self.fn)!r})"


class JaxCategorical(_Adapter):
    """``jax-categorical`` seen as ``categorical``: ``fn(jax_key(seed), logits, n)``."""

    def __call__(self, logits, n, seed):
        return np.asarray(self.fn(jax_key(seed), self._logits(logits), int(n)))


class JaxRelaxed(_Adapter):
    """``jax-relaxed`` seen as ``relaxed``: ``fn(jax_key(seed), logits, temperature, n)``."""

    def __call__(self, logits, temperature, n, seed):
        return np.asarray(self.fn(jax_key(seed), self._logits(logits), float(temperature), int(n)))


class JaxNoise(_Adapter):
    """``jax-noise`` seen as ``noise``: ``fn(jax_key(seed), shape)``."""

    def __call__(self, shape, seed):
        return np.asarray(self.fn(jax_key(seed), tuple(int(s) for s in shape)))


# ---------------------------------------------------------------- plans -------------------

def _adapted_plan(base: str, cls: type) -> Callable:
    def plan(b: Budget) -> list:
        return [replace(pc, run=lambda fn, ctx, _r=pc.run, _c=cls: _r(_c(fn), ctx), observe=pc.observe and (lambda fn, ctx, _o=pc.observe, _c=cls: _o(_c(fn), ctx))) for pc in get_kind(base).plan(b)]  # noqa: E501
    return plan


def relaxed_plan(b: Budget) -> list:
    return _adapted_plan("relaxed", JaxRelaxed)(b) + [
        PlannedCheck("G1.jacobian.jax", "G1", "jax.jacrev Jacobian = (diag y - y y^T)/T on own output, K = 5, "
                     "T = 0.5", 0, lambda fn, ctx: jacobian_check(fn, LOGITS["k5"], 0.5, ctx, check="G1.jacobian.jax")),
        PlannedCheck("G4.st.jax", "G4", "straight-through: hard=True one-hot of the soft argmax, soft Jacobian, "
                     "T = 1", 0, lambda fn, ctx: straight_through_check(fn, LOGITS["power"], 1.0, ctx,
                                                                        check="G4.st.jax")),
    ]


def _single(fn, x, t, hard=None):
    def y_of(key, xx):
        out = fn(key, xx, t, 1) if hard is None else fn(key, xx, t, 1, hard=hard)
        return out[0]
    return y_of


def _compiled(jax, f):
    """``(y(key, x), jacrev_x y(key, x))`` jit-compiled once for all keys; falls back to the plain
    functions for a target that cannot be traced by ``jax.jit``."""
    jf = jax.jacrev(f, argnums=1)
    jy, jj = jax.jit(f), jax.jit(jf)

    def run(k, x):
        try:
            return jy(k, x), jj(k, x)
        except Exception:  # noqa: BLE001 - not jittable: eager transformations
            return f(k, x), jf(k, x)
    return run


def _unguarded(fn: Callable) -> Callable:
    """The target itself: jax transformations trace in the calling thread, so the gradient checks
    cannot go through the guard's worker thread (their sampling calls never do: single draws).
    Wrappers that call the target elsewhere mark their class ``calls_elsewhere = True``."""
    while type(fn).__dict__.get("calls_elsewhere", False):
        fn = fn.fn
    return fn


def _grad_setup(fn, logits, ctx, check):
    import jax
    import jax.numpy as jnp

    seed = ctx.seed_for(check)
    keys = jax.random.split(jax_key(seed), 16)
    x = jnp.asarray(np.asarray(logits, dtype=np.float64).astype(_float_dtype()))
    tol = (1e-9 if _float_dtype() == np.float64 else 1e-4)
    return jax, jnp, seed, keys, x, tol


def jacobian_check(fn: Callable, logits, temperature: float, ctx: RunContext, *, check: str,
                   claim: str = "G1") -> list[Verdict]:
    """G1 with ``jax.jacrev`` (module doc)."""
    t = float(temperature)
    fn = _unguarded(fn)
    text = f"jax.jacrev dy/dx = (diag(y) - y y^T)/T on the sampler's own output, T = {t:g}"
    jax, jnp, seed, keys, x, tol = _grad_setup(fn, logits, ctx, check)
    try:
        worst = 0.0
        run = _compiled(jax, _single(fn, x, t))
        for k in keys:
            y, jac = run(k, x)
            y, jac = np.asarray(y, dtype=np.float64), np.asarray(jac, dtype=np.float64)
            if jac.shape != (x.size, x.size):
                raise ValueError(f"Jacobian of shape {jac.shape}, expected {(x.size, x.size)}")
            worst = max(worst, float(np.max(np.abs(jac - (np.diag(y) - np.outer(y, y)) / t))))
    except Exception as exc:  # noqa: BLE001 - the target's failure
        return [error_verdict(claim, check, text, f"target error: {type(exc).__name__}: {exc}", seed=seed,
                              alpha=ctx.alpha, test="jax.jacrev Jacobian")]
    v = deterministic_verdict(claim, check, text, worst, tol / t, test="jax.jacrev Jacobian vs closed form",
                              details={"temperature": t, "keys": 16}, reproduce=ctx.repro(check, seed))
    return [replace(v, seed=seed)]


def straight_through_check(fn: Callable, logits, temperature: float, ctx: RunContext, *, check: str,
                           claim: str = "G4") -> list[Verdict]:
    """G4 with ``jax.jacrev``: hard forward = one-hot of the soft argmax for the same key, hard
    Jacobian = soft Jacobian (module doc)."""
    t = float(temperature)
    text = ("hard=True: forward exactly the one-hot of argmax(y_soft) for the same key; jax.jacrev of the hard "
            f"output = (diag(y_soft) - y_soft y_soft^T)/T, T = {t:g}")
    fn = _unguarded(fn)
    jax, jnp, seed, keys, x, tol = _grad_setup(fn, logits, ctx, check)
    try:
        params = inspect.signature(fn).parameters
        has_hard = "hard" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    except (TypeError, ValueError):
        has_hard = True
    if not has_hard:
        v = deterministic_verdict(claim, check, text, 0.0, 0.0, test="straight-through",
                                  reason="not applicable: fn has no hard= argument (no straight-through estimator)")
        return [replace(v, details={"applicable": False})]
    try:
        worst, problems = 0.0, []
        soft = jax.jit(_single(fn, x, t, False))
        run = _compiled(jax, _single(fn, x, t, True))
        for i, k in enumerate(keys):
            try:
                ys = np.asarray(soft(k, x), dtype=np.float64)
            except Exception:  # noqa: BLE001 - not jittable
                ys = np.asarray(_single(fn, x, t, False)(k, x), dtype=np.float64)
            yh, jac = run(k, x)
            yh, jac = np.asarray(yh, dtype=np.float64), np.asarray(jac, dtype=np.float64)
            if not onehot_rows(yh[None, :])[0] or int(np.argmax(yh)) != int(np.argmax(ys)):
                problems.append(f"key {i}: hard output {yh.tolist()} is not exactly the one-hot of "
                                f"argmax(y_soft) = {int(np.argmax(ys))}")
                continue
            if not np.any(jac):
                problems.append(f"key {i}: zero gradient (straight-through without the soft term?)")
                continue
            worst = max(worst, float(np.max(np.abs(jac - (np.diag(ys) - np.outer(ys, ys)) / t))))
    except Exception as exc:  # noqa: BLE001
        return [error_verdict(claim, check, text, f"target error: {type(exc).__name__}: {exc}", seed=seed,
                              alpha=ctx.alpha, test="straight-through")]
    if problems:
        return [error_verdict(claim, check, text, "; ".join(problems[:3]), seed=seed, alpha=ctx.alpha,
                              reproduce=ctx.repro(check, seed), test="straight-through")]
    v = deterministic_verdict(claim, check, text, worst, tol / t, test="straight-through Jacobian (jax.jacrev)",
                              details={"temperature": t, "keys": 16}, reproduce=ctx.repro(check, seed))
    return [replace(v, seed=seed)]


# ---------------------------------------------------------------- built-ins ---------------

@functools.lru_cache(maxsize=None)
def _jitted(name: str) -> Callable:
    """The built-ins jit-compiled once per process (``n`` / ``shape`` / ``hard`` static)."""
    import jax

    impl, static = {"categorical": (_categorical_impl, (2,)), "gumbel": (_gumbel_impl, (1,)),
                    "gumbel_softmax": (_gumbel_softmax_impl, (3, 4))}[name]
    return jax.jit(impl, static_argnums=static)


def _categorical_impl(key, logits, n):
    import jax

    return jax.random.categorical(key, logits, shape=(n,))


def _gumbel_impl(key, shape):
    import jax

    return jax.random.gumbel(key, shape)


def _gumbel_softmax_impl(key, logits, temperature, n, hard):
    import jax
    import jax.numpy as jnp

    g = jax.random.gumbel(key, (n, logits.shape[-1]), dtype=logits.dtype)
    s = logits + g
    s = s - jax.lax.stop_gradient(jnp.max(jnp.where(jnp.isfinite(s), s, -jnp.inf), axis=-1, keepdims=True))
    y = jax.nn.softmax(s / temperature, axis=-1)
    if not hard:
        return y
    y_hard = jax.nn.one_hot(jnp.argmax(y, axis=-1), y.shape[-1], dtype=y.dtype)
    return y_hard + (y - jax.lax.stop_gradient(y))


def random_categorical(key, logits, n):
    """``jax.random.categorical(key, logits, shape=(n,))`` (jit-compiled)."""
    return _jitted("categorical")(key, logits, int(n))


def random_gumbel(key, shape):
    """``jax.random.gumbel(key, shape)`` (float32, default mode 'low': jax#5348; jit-compiled)."""
    return _jitted("gumbel")(key, tuple(shape))


def gumbel_softmax(key, logits, temperature, n, hard=False):
    """Reference JAX Gumbel-softmax: ``softmax((x + g)/T)`` with ``g = jax.random.gumbel(key, (n, K))``
    and the max of the scores subtracted (stop_gradient) before dividing by T; ``hard=True``
    returns ``y_hard + (y_soft - stop_gradient(y_soft))`` (the bracket is exactly 0 forward, so
    the forward value is exactly one-hot). jit-compiled (``n``, ``hard`` static)."""
    return _jitted("gumbel_softmax")(key, logits, temperature, int(n), bool(hard))


def numpyro_categorical(key, logits, n):
    """``numpyro.distributions.Categorical(logits=logits).sample(key, (n,))``."""
    import numpyro.distributions as dist

    return dist.Categorical(logits=logits).sample(key, (n,))


def numpyro_gumbel(key, shape):
    """``numpyro.distributions.Gumbel(0, 1).sample(key, shape)``."""
    import numpyro.distributions as dist

    return dist.Gumbel(0.0, 1.0).sample(key, shape)


# ---------------------------------------------------------------- planted mutants ---------

def mutant_probs_as_logits(key, logits, n):
    """B3 in JAX: ``argmax(softmax(x) + g)`` (probabilities where logits are needed)."""
    import jax

    return jax.random.categorical(key, jax.nn.softmax(logits), shape=(n,))


def mutant_temp_twice(key, logits, temperature, n, hard=False):
    """B18 in JAX: the temperature applied twice."""
    return gumbel_softmax(key, logits, temperature * temperature, n, hard=hard)


def mutant_st_no_stop_gradient(key, logits, temperature, n, hard=False):
    """B23 in JAX: ``y_hard - y_soft + y_soft`` (no stop_gradient): the gradient cancels to zero."""
    import jax
    import jax.numpy as jnp

    y = gumbel_softmax(key, logits, temperature, n)
    if not hard:
        return y
    y_hard = jax.nn.one_hot(jnp.argmax(y, axis=-1), y.shape[-1], dtype=y.dtype)
    return y_hard - y + y


def mutant_exp_noise(key, shape):
    """B1 in JAX: ``-log(u)`` (Exp(1)) instead of Gumbel noise."""
    import jax
    import jax.numpy as jnp

    return -jnp.log(jax.random.uniform(key, shape, minval=jnp.finfo(jnp.float32).tiny))


#: name -> (kind, fn, the checks expected to reject it)
JAX_MUTANTS: dict[str, tuple[str, Callable, tuple[str, ...]]] = {
    "jax_probs_as_logits": ("jax-categorical", mutant_probs_as_logits, ("T1.law.power",)),
    "jax_temp_twice": ("jax-relaxed", mutant_temp_twice, ("C2.scale.T0.5",)),
    "jax_st_no_stop_gradient": ("jax-relaxed", mutant_st_no_stop_gradient, ("G4.st.jax",)),
    "jax_exp_noise": ("jax-noise", mutant_exp_noise, ("N.law",)),
}


# ---------------------------------------------------------------- the kinds ---------------

def _adapted_kind(name: str, base: str, cls: type, signature: str, plan: Callable | None,
                  builtins: tuple) -> Kind:
    """A JAX kind: the ``base`` NumPy protocol behind the adapter ``cls`` (plans, probes, reach,
    contract and power of the base kind, through the adapter)."""
    return register(Kind(name=name, signature=signature, plan=plan or _adapted_plan(base, cls), adapt=cls,
                         base=base, builtins=builtins, preload=("jax",),
                         description=f"JAX {base} samplers: functions of a PRNG key"))


def _builtin(name, kind, description, path, requires=("jax",), **kw) -> BuiltinTarget:
    return BuiltinTarget(name, kind, description, lambda: load_callable(path), requires=requires, **kw)


KINDS = (
    _adapted_kind("jax-categorical", "categorical", JaxCategorical, "fn(key, logits: jax.Array (K,), n: int) -> n "
                  "integers in [0, K)", None, (
                      _builtin("jax-categorical", "jax-categorical", "jax.random.categorical(key, logits, shape=(n,)) "
                               "(float32 logits); NaN logits and all -inf logits return a valid-looking index "
                               "(tfp#1571 / MLX#4177 class)", "harness.kinds.jax:random_categorical",
                               expect_pass=False, expect_law=True, expect_contract=False,
                               notes="argmax(logits + gumbel) without validation; its noise is jax.random.gumbel "
                                     "mode 'low' (gap reach 20.4 nats: float32-grade, what its float32 logits "
                                     "promise)"),
                      _builtin("numpyro-categorical", "jax-categorical", "numpyro.distributions.Categorical(logits)"
                               ".sample(key, (n,)) (jax.random.categorical underneath: the same findings)",
                               "harness.kinds.jax:numpyro_categorical", requires=("jax", "numpyro"),
                               expect_pass=False, expect_law=False))),
    _adapted_kind("jax-relaxed", "relaxed", JaxRelaxed, "fn(key, logits: jax.Array (K,), temperature: float, n: int"
                  "[, hard=bool]) -> (n, K) points on the simplex", relaxed_plan, (
                      _builtin("jax-gumbel-softmax", "jax-relaxed", "reference JAX Gumbel-softmax softmax((x + g)/T) "
                               "on jax.random.gumbel, straight-through hard=True (float32); G1/G4 with jax.jacrev",
                               "harness.kinds.jax:gumbel_softmax"),)),
    _adapted_kind("jax-noise", "noise", JaxNoise, "fn(key, shape: tuple[int, ...]) -> standard Gumbel draws of that "
                  "shape", None, (
                      _builtin("jax-gumbel", "jax-noise", "jax.random.gumbel(key, shape) (float32, default mode "
                               "'low': g in [-4.47, 15.94], jax#5348): reach.noise fails at every budget (23.0 bits "
                               "< the float32 24); N.tail confirms at thorough", "harness.kinds.jax:random_gumbel",
                               expect_pass=False, expect_law=False, expect_contract=False, expect_budget="thorough",
                               notes="mode='low' draws u on a 2^-23 grid in [tiny, 1): g <= -log(2^-23) = 15.94"),
                      _builtin("numpyro-gumbel", "jax-noise", "numpyro.distributions.Gumbel(0, 1).sample(key, shape) "
                               "(float32; jax.random.gumbel underneath: the jax#5348 cap)",
                               "harness.kinds.jax:numpyro_gumbel", requires=("jax", "numpyro"), expect_pass=False,
                               expect_law=False, expect_contract=False, expect_budget="thorough"))),
)
