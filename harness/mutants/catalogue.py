r"""Mutant catalogue: small broken samplers, one per real bug of bugs.md B, that the checker
must reject. They prove the harness's power: ``tests/test_mutants.py`` asserts that every
mutant is rejected at the budget it is registered with, and by the checks it names.

Mechanism (no copy-paste): five parametrised builders produce every mutant as the *correct*
sampler (input validation included: NaN / +inf / all -inf logits and T <= 0 raise) with one
stage replaced:

* :func:`gumbel_max` (categorical): ``argmax(score(x) + noise)``; stages ``noise`` (how g is
  made from the RNG), ``score`` (logits / probabilities / bf16-rounded / naive softmax) and
  ``pick`` (argmax, reused noise, bf16 ties, race fast paths);
* :func:`inverse_cdf` (categorical): ``searchsorted(cumsum(p), u)`` with the cumsum precision
  and the side of the comparison as parameters;
* :func:`concrete` (relaxed): ``softmax((score(x) + g)/T)`` with the noise, the temperature
  handling and the softmax (max-subtracted / naive) as parameters;
* :func:`noise_sampler` (noise): the ``noise`` stage alone;
* :func:`torch_gumbel_softmax` (torch): the ``F.gumbel_softmax`` contract with a ``variant``.

The ``noise`` stage variants (``NOISE``) are shared by all builders, so "-log(u)
instead of -log(-log(u))" is one line used by the categorical, relaxed and noise mutants.

Rare misbehaviour is made observable, not waited for: the mutants draw from
``numpy.random.default_rng(seed)`` like any honest NumPy sampler, and the adversarial probe of
the checker (:mod:`harness.probes.adversarial`) replaces that generator by one whose bit
stream contains bursts of all-zero / all-one words, so ``random()`` returns exactly ``0.0`` or
``1 - 2^-53`` and ``standard_exponential()`` exactly ``0.0``: the events of probability
:math:`2^{-53}` (float64) that break B7, B8, B9, B13, B14 and B17 happen in every probe.

Catalogue (``caught_by``: the check ids / probe ids expected to reject it; ``budget``: the
smallest budget that does):

=====  ==========================  ===========  ==========================================  =========
B      mutant                      kind         caught by                                   budget
=====  ==========================  ===========  ==========================================  =========
1      cat_exp_noise               categorical  T1.law.power                                standard
1      relaxed_exp_noise           relaxed      C2.scale.T1                                 standard
1      noise_exp                   noise        N.law                                       standard
2      cat_gumbel_min              categorical  T1.law.power                                standard
2      noise_gumbel_min            noise        N.law                                       standard
3      cat_probs_as_logits         categorical  T1.law.power                                standard
3      relaxed_probs_as_logits     relaxed      C3.round.T1, C2.scale.T1                    standard
4      relaxed_softmax_twice       relaxed      C2.scale.T1                                 standard
4      torch_softmax_twice         torch        C2.scale.T1                                 standard
5      cat_softmax_minus_uniform   categorical  T1.law.power                                standard
6      cat_race_multiply           categorical  T1.law.power                                standard
7      cat_u0_unguarded            categorical  adversarial.u=0                             standard
7      relaxed_u0_unguarded        relaxed      adversarial.u=0                             standard
7      noise_u0_unguarded          noise        adversarial.u=0                             standard
8      cat_log1m_uniform           categorical  adversarial.u=0                             standard
8      noise_log1m_uniform         noise        adversarial.u=0                             standard
9      noise_clamp_low_only        noise        adversarial.u=0                             standard
10     noise_floor_1e7             noise        N.tail                                      thorough
10     cat_floor_1e7               categorical  T1.tail                                     thorough
11     noise_bits24                noise        N.resolution                                standard
11     cat_bits24                  categorical  T1.tail                                     thorough
11     noise_float16               noise        N.tail, N.resolution                        standard
11     cat_float16_noise           categorical  T1.law.gap8                                 standard
12     noise_bits31                noise        N.resolution                                standard
12     cat_bits31                  categorical  reach.gap                                   standard
11     relaxed_bits24              relaxed      reach.gap                                   standard
11     torch_noise_float32         torch        reach.gap                                   standard
13     cat_neginf_plus_inf         categorical  adversarial.u=0                             standard
14     cat_race_negzero            categorical  adversarial.u=0                             standard
15     cat_bf16_logits             categorical  T1.law.shift                                standard
15     torch_bf16_logits           torch        C3.hard.shift, C3.round.shift               standard
16     cat_bf16_cumsum             categorical  T1.law.wide                                 standard
17     cat_icdf_le                 categorical  adversarial.u=0                             standard
18     relaxed_temp_twice          relaxed      C2.scale                                    standard
18     relaxed_temp_multiply       relaxed      C2.scale                                    standard
18     torch_temp_twice            torch        C2.scale                                    standard
19     relaxed_naive_small_T       relaxed      probe.tiny_T                                standard
20     torch_dim_ignored           torch        dim.law, dim.axis1                          standard
21     torch_strides_ignored       torch        dim.law                                     standard
22     cat_noise_reused            categorical  T1.law.power, T1.pairs                      standard
22     torch_noise_batch_reused    torch        C3.round.T1, batch.mixed                    standard
22     cat_seed_high_bits          categorical  T1.seeds                                    standard
22     cat_seed_shifted            categorical  T1.seeds                                    standard
23     torch_st_no_detach          torch        G4                                          standard
23     torch_st_hard_only          torch        G4                                          standard
24     torch_st_argmax_logits      torch        C3.hard.f32, G4                             standard
25     cat_ties_lowest_index       categorical  T1.law.ties                                 standard
27     cat_no_max_subtraction      categorical  T1.law.shift                                standard
27     relaxed_no_max_subtraction  relaxed      C3.round.shift                              standard
=====  ==========================  ===========  ==========================================  =========

Not in the catalogue (no protocol applies, or no check can observe it):

=====  =========================================================================================
B      why
=====  =========================================================================================
26     Gumbel-top-k without replacement is not one of the protocols (each call returns single
       draws); ``reference.numpy_sampler.top_k`` is validated by the report's T5 experiment.
28     ``log_prob`` is not part of any protocol. The built-in ``torch-relaxed-onehot`` target
       compares torch's ``RelaxedOneHotCategorical.log_prob`` with C1 and records its NaN on
       boundary samples as a finding (pytorch#18254).
19     In its literal form (correct for every T > 0, NaN only at T = 0) B19 *is*
       ``torch.nn.functional.gumbel_softmax`` (pytorch#184031); T = 0 is outside the domain, so
       NaN there is a warning, not a failure. ``relaxed_naive_small_T`` is the mechanism behind
       such bugs (exp of (x + g)/T without subtracting the max), caught at T = 1e-8.
9      For categorical samplers the missing upper clamp only matters with u = 1, which NumPy's
       ``random()`` never returns; the float32-cast variant (u rounds up to 1.0) also loses
       resolution, which N.resolution already catches. Registered for the noise kind only.
12     For categorical samplers a 2^-31 floor caps g at 21.5: P(g > 21.5) = 4.6e-10 changes a
       tail count of a 1.5e-8 category by ~3%, below any statistical budget; ``cat_bits31`` is
       caught by the precision-reach probe (``reach.gap``, :mod:`harness.probes.reach`), which
       measures the cap deterministically at every budget, like the other tail mutants
       (``relaxed_bits24``, ``torch_noise_float32``: float32 noise in a float64 computation).
4      For categorical samplers "log_softmax of probabilities" has exactly the law of B3
       (argmax is shift-invariant); registered for the relaxed/torch kinds, where a second
       softmax of the output changes the log-ratios (C2).
=====  =========================================================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from harness.mutants.token import token_catalogue
from reference.softmax import validate_logits

__all__ = [
    "Mutant", "MUTANTS", "NOISE", "gumbel_max", "inverse_cdf", "concrete", "noise_sampler",
    "torch_gumbel_softmax", "mutant_names", "standard_mutants", "thorough_mutants",
]


# ---------------------------------------------------------------- shared stages -------------

def _open_u(rng: np.random.Generator, shape) -> np.ndarray:
    """Uniforms strictly inside (0, 1): (k + 1/2) 2^-52, k < 2^52 (exactly representable, so
    never rounded to 0 or 1 even for the adversarial extremes k = 0 and k = 2^52 - 1)."""
    return (rng.integers(0, 2**52, size=shape, dtype=np.int64) + 0.5) * 2.0 ** -52


def _grid_u(rng: np.random.Generator, shape, bits: int) -> np.ndarray:
    """Uniforms on the grid k 2^-bits, clamped into [2^-bits, 1 - 2^-bits] (torch-style)."""
    e = 2.0 ** -bits
    return np.clip(rng.integers(0, 2**bits, size=shape, dtype=np.int64) * e, e, 1 - e)


def _gumbel_ok(rng, shape):
    from reference.numpy_sampler import gumbel_noise

    return gumbel_noise(rng, shape)


def _f16(rng, shape):
    """Half-precision noise: float16 uniforms (grid 2^-11 near 1), the transform rounded to
    float16 (computed in float32 for speed, as half-precision kernels do)."""
    u = rng.random(shape, dtype=np.float32).astype(np.float16).astype(np.float32)
    np.clip(u, 2.0 ** -14, 1 - 2.0 ** -11, out=u)  # the float16 range of (0, 1)
    return (-np.log(-np.log(u))).astype(np.float16)


#: The noise stage: name -> (rng, shape) -> g. "gumbel" is correct; every other entry is a bug.
NOISE: dict[str, Callable[[np.random.Generator, tuple], np.ndarray]] = {
    "gumbel": _gumbel_ok,
    "exp": lambda rng, s: -np.log(_open_u(rng, s)),                        # B1: Exp(1), not Gumbel
    "gumbel_min": lambda rng, s: np.log(-np.log(_open_u(rng, s))),         # B2: sign flip
    "u0_unguarded": lambda rng, s: -np.log(-np.log(rng.random(s))),        # B7: u = 0 -> g = -inf
    "log1m": lambda rng, s: -np.log(-np.log1p(-(1.0 - rng.random(s)))),    # B8: u in (0,1], u = 1 -> -inf
    "clamp_low_only": lambda rng, s: -np.log(-np.log(np.maximum(1.0 - rng.random(s), 2.2e-308))),  # B9
    "exp_unguarded": lambda rng, s: -np.log(rng.standard_exponential(s)),  # B13: E = 0 -> g = +inf
    "floor_1e7": lambda rng, s: -np.log(np.maximum(rng.standard_exponential(s), 1e-7)),  # B10: g <= 16.1
    "bits24": lambda rng, s: -np.log(-np.log(_grid_u(rng, s, 24))),        # B11: 24-bit uniforms, g <= 16.6
    "bits31": lambda rng, s: -np.log(-np.log(_grid_u(rng, s, 31))),        # B12: 2^-31 floor, g <= 21.5
    "float16": _f16,                                                       # B11: half-precision noise
}


def _bf16(x: np.ndarray) -> np.ndarray:
    """Round float64 -> bfloat16 (round to nearest even on the float32 bits) -> float64."""
    x = np.asarray(x, dtype=np.float64)
    b = x.astype(np.float32).view(np.uint32)
    with np.errstate(over="ignore"):
        b = (b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    out = b.view(np.float32).astype(np.float64)
    return np.where(np.isfinite(x), out, x)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=axis, keepdims=True)


def _kind(kind: str, name: str):
    def deco(fn):
        fn.gumbel_harness_kind = kind
        fn.gumbel_harness_name = f"mutant:{name}"
        return fn
    return deco


# ---------------------------------------------------------------- builders -----------------

def gumbel_max(noise: str = "gumbel", score: str = "logits", pick: str = "argmax") -> Callable:
    """Categorical sampler ``argmax(score(x) + g)``.

    score: ``logits`` (correct), ``probs`` (B3: softmax(x) used as logits), ``bf16`` (B15:
    logits rounded to bfloat16), ``naive`` (B27: p = exp(x)/sum exp(x) without max-subtraction,
    then log p). pick: ``argmax`` (correct), ``reused`` (B22: one noise row for all samples),
    ``bf16_ties`` (B25: scores rounded to bfloat16, ties to the lowest index),
    ``softmax_minus_u`` (B5: argmax(softmax(x) - U)), ``race_multiply`` (B6: argmax(p E)),
    ``race_negzero`` (B14: argmax(p / E) fast path with an exponential that can be -0.0).
    """
    def sampler(logits, n, seed):
        x = validate_logits(np.asarray(logits, dtype=np.float64))
        k = x.shape[-1]
        rng = np.random.default_rng(seed)
        with np.errstate(all="ignore"):
            if score == "logits":
                s = x
            elif score == "probs":
                s = _softmax(x)
            elif score == "bf16":
                s = _bf16(x)
            elif score == "naive":
                e = np.exp(x)
                s = np.log(e / e.sum())
            else:
                raise ValueError(score)
            if pick == "softmax_minus_u":
                return np.argmax(_softmax(x) - rng.random((n, k)), axis=1)
            if pick in ("race_multiply", "race_negzero"):
                e = rng.standard_exponential((n, k))
                p = _softmax(x)
                if pick == "race_multiply":
                    return np.argmax(p * e, axis=1)
                e = np.where(e == 0, -0.0, e)  # MPS exponential emitted -0.0 (pytorch#192577)
                return np.argmax(p / e, axis=1)
            shape = (1, k) if pick == "reused" else (n, k)
            z = s + NOISE[noise](rng, shape).astype(np.float64)
            if pick == "reused":
                z = np.broadcast_to(z, (n, k))
            if pick == "bf16_ties":
                z = _bf16(z)
            return np.argmax(z, axis=1)

    return sampler


def seed_stream(mode: str) -> Callable:
    """Correct-law categorical samplers (``Generator.choice``) whose streams for neighbouring seeds
    are dependent: ``high_bits`` keeps only ``seed >> 8`` (seeds s and s + 1 share one stream);
    ``shifted`` draws ``n + (seed & 255)`` values from the stream of ``seed >> 8`` and returns the
    last ``n`` (the stream of s + 1 is that of s shifted by one draw)."""
    def sampler(logits, n, seed):
        x = validate_logits(np.asarray(logits, dtype=np.float64))
        p = _softmax(x)
        rng = np.random.default_rng(int(seed) >> 8)
        if mode == "high_bits":
            return rng.choice(x.shape[-1], size=n, p=p)
        off = int(seed) & 255
        return rng.choice(x.shape[-1], size=n + off, p=p)[off:]

    return sampler


def inverse_cdf(cumsum: str = "float64", side: str = "right") -> Callable:
    """Categorical sampler by inverse CDF: ``searchsorted(cumsum(p), u cdf[-1], side)``.

    cumsum: ``float64`` (correct) or ``bfloat16`` (B16: every partial sum rounded to bf16,
    Megatron-LM#7182). side: ``right`` (correct: ``cdf[i-1] <= u < cdf[i]``) or ``left`` (B17:
    ``<=``, so u equal to a cdf value selects a zero-width bin, e.g. u = 0 selects category 0
    whatever its probability).
    """
    def sampler(logits, n, seed):
        x = validate_logits(np.asarray(logits, dtype=np.float64))
        p = _softmax(x)
        if cumsum == "float64":
            cdf = np.cumsum(p)
        else:
            cdf = np.empty_like(p)
            c = 0.0
            pb = _bf16(p)
            for i, v in enumerate(pb):
                c = float(_bf16(np.array([c + v]))[0])
                cdf[i] = c
        u = np.random.default_rng(seed).random(n) * cdf[-1]
        return np.minimum(np.searchsorted(cdf, u, side=side), x.size - 1)

    return sampler


def concrete(noise: str = "gumbel", score: str = "logits", temp: str = "div", softmax: str = "stable",
             post: str = "") -> Callable:
    """Relaxed sampler ``softmax((score(x) + g)/T)``.

    temp: ``div`` (correct), ``twice`` (B18: divided by T twice), ``multiply`` (B18: times T).
    softmax: ``stable`` (max of the scores subtracted first), ``naive`` (B27: exp without any
    max-subtraction: overflows at |x| ~ 1000), ``logits_only`` (B19: x max-subtracted but not
    (x + g)/T: overflows for small T, NaN at T = 0). post: ``softmax_twice`` (B4: a second
    softmax applied to the sample).
    """
    def sampler(logits, temperature, n, seed):
        x = validate_logits(np.asarray(logits, dtype=np.float64))
        t = float(temperature)
        if not (t > 0 and math.isfinite(t)):
            raise ValueError(f"temperature must be finite and > 0, got {t}")
        rng = np.random.default_rng(seed)
        with np.errstate(all="ignore"):
            s = _softmax(x) if score == "probs" else x
            g = NOISE[noise](rng, (n, x.shape[-1])).astype(np.float64)
            div = {"div": t, "twice": t * t, "multiply": 1.0 / t}[temp]
            if softmax == "stable":
                z = s + g
                e = np.exp((z - z.max(axis=1, keepdims=True)) / div)
            elif softmax == "naive":
                e = np.exp((s + g) / div)
            else:
                e = np.exp((s - np.max(s) + g) / div)
            y = e / e.sum(axis=1, keepdims=True)
            if post == "softmax_twice":
                y = _softmax(y, axis=1)
        return y

    return sampler


def noise_sampler(noise: str) -> Callable:
    """Noise sampler: ``NOISE[noise](default_rng(seed), shape)``."""
    def sampler(shape, seed):
        with np.errstate(all="ignore"):
            return NOISE[noise](np.random.default_rng(seed), tuple(shape))

    return sampler


def torch_gumbel_softmax(variant: str = "") -> Callable:
    """The ``F.gumbel_softmax`` contract, correct unless ``variant`` is one of:
    ``dim_ignored`` (B20), ``strides_ignored`` (B21: the storage read as if contiguous),
    ``noise_batch_reused`` (B22: one noise vector for the whole batch), ``st_no_detach`` (B23:
    ``y_hard - y_soft + y_soft``, zero gradient), ``st_hard_only`` (B23: ``y_hard``, no
    gradient), ``st_argmax_logits`` (B24: index from ``argmax(logits)``), ``temp_twice``
    (B18), ``softmax_twice`` (B4), ``bf16_logits`` (B15), ``noise_float32`` (B11: the noise drawn
    in float32 whatever the logits' dtype)."""
    def gumbel_softmax(logits, tau=1.0, hard=False, dim=-1):
        import torch

        from reference.torch_gumbel_softmax import gumbel_noise

        x = logits
        if variant == "dim_ignored":
            dim = -1
        if variant == "strides_ignored" and not x.is_contiguous():
            strides, acc = [], 1
            for size in reversed(x.shape):
                strides.insert(0, acc)
                acc *= size
            x = torch.as_strided(x, x.shape, strides)
        if variant == "bf16_logits":
            x = x.to(torch.bfloat16)
        cdt = torch.float64 if logits.dtype == torch.float64 else torch.float32
        d = dim % x.dim()
        nshape = list(x.shape)
        if variant == "noise_batch_reused":
            nshape = [1] * x.dim()
            nshape[d] = x.shape[d]
        g = gumbel_noise(tuple(nshape), dtype=torch.float32 if variant == "noise_float32" else cdt,
                         device=x.device).to(cdt)
        s = x.to(cdt) + g
        t = tau * tau if variant == "temp_twice" else tau
        y_soft = torch.softmax(s / t, dim=d)
        if variant == "softmax_twice":
            y_soft = torch.softmax(y_soft, dim=d)
        if hard:
            src = x.to(cdt) if variant == "st_argmax_logits" else s
            index = src.detach().argmax(dim=d, keepdim=True)
            y_hard = torch.zeros_like(y_soft).scatter_(d, index, 1.0)
            if variant == "st_no_detach":
                y = y_hard - y_soft + y_soft
            elif variant == "st_hard_only":
                y = y_hard
            else:
                y = y_hard + (y_soft - y_soft.detach())
        else:
            y = y_soft
        return y.to(logits.dtype)

    return gumbel_softmax


# ---------------------------------------------------------------- the catalogue ------------

@dataclass(frozen=True)
class Mutant:
    """A registered mutant: ``fn`` follows the protocol ``kind``; ``bug`` is its bugs.md B
    number, ``mirrors`` the real issues it reproduces, ``caught_by`` the check ids / prefixes
    (plan checks, ``probe.*``, ``adversarial.*``) expected to reject it at ``budget``."""

    name: str
    kind: str
    bug: int
    mirrors: str
    doc: str
    caught_by: tuple[str, ...]
    budget: str
    fn: Callable = field(repr=False, compare=False)

    @property
    def plan_checks(self) -> tuple[str, ...]:
        return tuple(c for c in self.caught_by if not c.startswith(("probe.", "adversarial.", "reach.")))

    @property
    def needs_probes(self) -> bool:
        return any(c.startswith("probe.") for c in self.caught_by)

    @property
    def needs_adversarial(self) -> bool:
        """The adversarial streams (and the precision-reach probe that runs with them)."""
        return any(c.startswith(("adversarial.", "reach.")) for c in self.caught_by)

    def caught(self, result) -> list[str]:
        """The entries of ``caught_by`` that ``result`` confirms (a failing check/probe id
        starting with the entry)."""
        ids = [c["check"] for c in result.caught_by()]
        return [e for e in self.caught_by if any(i == e or i.startswith(e) for i in ids)]


MUTANTS: dict[str, Mutant] = {}


def _register(name: str, kind: str, bug: int, mirrors: str, doc: str, caught_by: tuple[str, ...],
              budget: str, fn: Callable) -> None:
    fn = _kind(kind, name)(fn)
    fn.__doc__ = f"Mutant B{bug} ({mirrors}): {doc}"
    fn.__name__ = fn.__qualname__ = name
    MUTANTS[name] = Mutant(name, kind, bug, mirrors, doc, tuple(caught_by), budget, fn)


_C, _R, _N, _T = "categorical", "relaxed", "noise", "torch"
_CATALOGUE: list[tuple[str, str, int, str, str, tuple[str, ...], str, Callable]] = [
    # B1 / B2: wrong noise law
    ("cat_exp_noise", _C, 1, "chainerrl#104-style wrong transform", "noise -log(u) (Exp(1)) instead of "
     "-log(-log(u))", ("T1.law.power",), "standard", gumbel_max(noise="exp")),
    ("relaxed_exp_noise", _R, 1, "chainerrl#104-style wrong transform", "Concrete sample with Exp(1) noise",
     ("C2.scale.T1",), "standard", concrete(noise="exp")),
    ("noise_exp", _N, 1, "chainerrl#104-style wrong transform", "-log(u): exponential, not Gumbel, noise",
     ("N.law",), "standard", noise_sampler("exp")),
    ("cat_gumbel_min", _C, 2, "chainerrl#104, dpnp#249", "sign flip +log(-log(u)) (Gumbel-min noise)",
     ("T1.law.power",), "standard", gumbel_max(noise="gumbel_min")),
    ("noise_gumbel_min", _N, 2, "dpnp#249", "Gumbel-min noise +log(-log(u))", ("N.law",), "standard",
     noise_sampler("gumbel_min")),
    # B3 / B4 / B5 / B6: wrong math
    ("cat_probs_as_logits", _C, 3, "cupy#84, gluon-nlp#1324, tfp#585", "argmax(p + g): probabilities used "
     "where logits are needed", ("T1.law.power",), "standard", gumbel_max(score="probs")),
    ("relaxed_probs_as_logits", _R, 3, "cupy#84, tfp#585", "softmax((p + g)/T) with probabilities as logits",
     ("C3.round.T1", "C2.scale.T1"), "standard", concrete(score="probs")),
    ("relaxed_softmax_twice", _R, 4, "keras-core#389-style double normalisation", "a second softmax applied "
     "to the relaxed sample", ("C2.scale.T1",), "standard", concrete(post="softmax_twice")),
    ("torch_softmax_twice", _T, 4, "keras-core#389-style double normalisation", "softmax applied twice in "
     "gumbel_softmax", ("C2.scale.T1",), "standard", torch_gumbel_softmax("softmax_twice")),
    ("cat_softmax_minus_uniform", _C, 5, "tensorflow#456", "argmax(softmax(x) - U)", ("T1.law.power",), "standard",
     gumbel_max(pick="softmax_minus_u")),
    ("cat_race_multiply", _C, 6, "exponential race done wrong", "argmax(p * E) instead of argmin(E / p)",
     ("T1.law.power",), "standard", gumbel_max(pick="race_multiply")),
    # B7 / B8 / B9: uniform boundaries (adversarial stream)
    ("cat_u0_unguarded", _C, 7, "pytorch#16706, #20179, #22442", "uniform on [0, 1) without a guard: u = 0 "
     "gives g = -inf; a row of zeros returns index 0 even when its logit is -inf", ("adversarial.u=0",),
     "standard", gumbel_max(noise="u0_unguarded")),
    ("relaxed_u0_unguarded", _R, 7, "pytorch#16706, #22586", "u = 0 gives g = -inf; a row of zeros gives "
     "-inf - (-inf) = NaN", ("adversarial.u=0",), "standard", concrete(noise="u0_unguarded")),
    ("noise_u0_unguarded", _N, 7, "pytorch#16706, #20179", "u = 0 gives g = -inf", ("adversarial.u=0",),
     "standard", noise_sampler("u0_unguarded")),
    ("cat_log1m_uniform", _C, 8, "pytorch#2561, #22557", "u on (0, 1] with log(1 - u): u = 1 gives "
     "E = inf, g = -inf", ("adversarial.u=0",), "standard", gumbel_max(noise="log1m")),
    ("noise_log1m_uniform", _N, 8, "pytorch#2561, #22557", "u on (0, 1] with log(1 - u): u = 1 gives "
     "g = -inf", ("adversarial.u=0",), "standard", noise_sampler("log1m")),
    ("noise_clamp_low_only", _N, 9, "pytorch#2561, vllm#43249", "u on (0, 1] clamped away from 0 only: u = 1 "
     "gives g = +inf", ("adversarial.u=0",), "standard", noise_sampler("clamp_low_only")),
    # B10 / B11 / B12: truncated or coarse noise
    ("noise_floor_1e7", _N, 10, "vllm#43150", "E = max(E, 1e-7) (an epsilon guard): g <= 16.12, "
     "P(g > 16.12) = 1e-7 lost", ("N.tail",), "thorough", noise_sampler("floor_1e7")),
    ("cat_floor_1e7", _C, 10, "vllm#43150, vllm#51367", "Gumbel-max with E floored at 1e-7: the rare "
     "category at a gap of 18 nats is under-sampled", ("T1.tail",), "thorough", gumbel_max(noise="floor_1e7")),
    ("noise_bits24", _N, 11, "jax#5348, vllm#51367, pytorch#16706", "24-bit uniforms (float32 grid) in "
     "float64 noise: g <= 16.64 and only 2^24 distinct values", ("N.resolution",), "standard",
     noise_sampler("bits24")),
    ("cat_bits24", _C, 11, "jax#5348, vllm#51367", "Gumbel-max with 24-bit uniforms: the rare category at a "
     "gap of 18 nats is under-sampled (z = -5.89 in vllm#51367)", ("T1.tail",), "thorough",
     gumbel_max(noise="bits24")),
    ("noise_float16", _N, 11, "pytorch#53480", "noise computed in float16: g <= 7.6 and 2^11 values",
     ("N.tail", "N.resolution"), "standard", noise_sampler("float16")),
    ("cat_float16_noise", _C, 11, "pytorch#53480, Megatron-LM#7182", "Gumbel-max with float16 noise (g <= 7.6)",
     ("T1.law.gap8",), "standard", gumbel_max(noise="float16")),
    ("noise_bits31", _N, 12, "vllm#47524", "uniforms with a 2^-31 floor (Triton tl.rand): g <= 21.5 and "
     "2^31 values", ("N.resolution",), "standard", noise_sampler("bits31")),
    ("cat_bits31", _C, 12, "vllm#47524", "Gumbel-max with a 2^-31 uniform floor (Triton tl.rand): g <= 21.5, "
     "a category 24.6+ nats below its rival is never selected", ("reach.gap",), "standard",
     gumbel_max(noise="bits31")),
    ("relaxed_bits24", _R, 11, "jax#5348, vllm#51367", "Concrete sample with 24-bit uniforms in float64: "
     "g <= 16.64", ("reach.gap",), "standard", concrete(noise="bits24")),
    ("torch_noise_float32", _T, 11, "jax#5348, pytorch#16706", "gumbel_softmax drawing its noise in float32 "
     "for float64 logits: g <= 16.64", ("reach.gap",), "standard", torch_gumbel_softmax("noise_float32")),
    # B13 / B14: -inf logits and +-inf / -0.0 noise
    ("cat_neginf_plus_inf", _C, 13, "vllm#43249, pytorch#40553", "g = -log(E) without a guard: E = 0 gives "
     "+inf noise, -inf + inf = NaN, argmax picks the zero-probability category", ("adversarial.u=0",),
     "standard", gumbel_max(noise="exp_unguarded")),
    ("cat_race_negzero", _C, 14, "pytorch#192577, #101620", "argmax(p / E) fast path; an exponential of "
     "-0.0 (MPS) gives 0/-0 = NaN for zero-probability categories, picked by argmax",
     ("adversarial.u=0",), "standard", gumbel_max(pick="race_negzero")),
    # B15 / B16 / B17: precision of logits and of the inverse CDF
    ("cat_bf16_logits", _C, 15, "vllm#54843, Megatron-LM#7182", "logits cast to bfloat16 before sampling "
     "(spacing 4 at |x| ~ 1000)", ("T1.law.shift",), "standard", gumbel_max(score="bf16")),
    ("torch_bf16_logits", _T, 15, "vllm#54843", "logits cast to bfloat16 inside gumbel_softmax",
     ("C3.hard.shift", "C3.round.shift"), "standard", torch_gumbel_softmax("bf16_logits")),
    ("cat_bf16_cumsum", _C, 16, "Megatron-LM#7182", "inverse CDF with a bfloat16 cumsum: small categories "
     "late in the sum are rounded away", ("T1.law.wide",), "standard", inverse_cdf(cumsum="bfloat16")),
    ("cat_icdf_le", _C, 17, "pytorch#4858, #9960, #50034", "inverse CDF with <= instead of <: u = 0 selects "
     "the zero-width bin 0", ("adversarial.u=0",), "standard", inverse_cdf(side="left")),
    # B18 / B19: temperature
    ("relaxed_temp_twice", _R, 18, "CodonTransformer#20", "temperature applied twice: (x + g)/T^2",
     ("C2.scale",), "standard", concrete(temp="twice")),
    ("relaxed_temp_multiply", _R, 18, "CodonTransformer#20-style", "(x + g) * T instead of (x + g) / T",
     ("C2.scale",), "standard", concrete(temp="multiply")),
    ("torch_temp_twice", _T, 18, "CodonTransformer#20", "gumbel_softmax dividing by tau twice",
     ("C2.scale",), "standard", torch_gumbel_softmax("temp_twice")),
    ("relaxed_naive_small_T", _R, 19, "pytorch#184031", "exp((x - max x + g)/T) without subtracting the max "
     "of the scaled scores: overflow and NaN for small T (and T = 0)", ("probe.tiny_T",), "standard",
     concrete(softmax="logits_only")),
    # seeds: neighbouring seeds must give independent streams (issue 9)
    ("cat_seed_high_bits", _C, 22, "seed truncated (e.g. seed >> 8 or a 32-bit cast)",
     "seeds s and s + 1 share one stream (law of each call correct)", ("T1.seeds",), "standard",
     seed_stream("high_bits")),
    ("cat_seed_shifted", _C, 22, "stream offset by the seed", "the stream of seed s + 1 is that of s shifted "
     "by one draw (law of each call correct)", ("T1.seeds",), "standard", seed_stream("shifted")),
    # B20 / B21 / B22: shapes, axes, batches
    ("torch_dim_ignored", _T, 20, "DALLE-pytorch#12, jax#13124", "dim ignored: always the last axis",
     ("dim.law", "dim.axis1"), "standard", torch_gumbel_softmax("dim_ignored")),
    ("torch_strides_ignored", _T, 21, "pytorch#5062", "strides ignored: a non-contiguous view read as if "
     "contiguous", ("dim.law",), "standard", torch_gumbel_softmax("strides_ignored")),
    ("cat_noise_reused", _C, 22, "jax#13124-style broadcast", "one noise draw reused for every sample",
     ("T1.law.power", "T1.pairs"), "standard", gumbel_max(pick="reused")),
    ("torch_noise_batch_reused", _T, 22, "jax#13124-style broadcast", "one noise vector for the whole batch",
     ("C3.round.T1", "batch.mixed"), "standard", torch_gumbel_softmax("noise_batch_reused")),
    # B23 / B24: straight-through
    ("torch_st_no_detach", _T, 23, "pytorch#48574 (discussion)", "y_hard - y_soft + y_soft: the gradient "
     "cancels to zero", ("G4",), "standard", torch_gumbel_softmax("st_no_detach")),
    ("torch_st_hard_only", _T, 23, "pytorch#48574 (discussion)", "returns y_hard alone: no gradient",
     ("G4",), "standard", torch_gumbel_softmax("st_hard_only")),
    ("torch_st_argmax_logits", _T, 24, "straight-through implementations using argmax(logits)",
     "y_hard = onehot(argmax(logits)) instead of argmax(logits + g)", ("C3.hard.f32", "G4"), "standard",
     torch_gumbel_softmax("st_argmax_logits")),
    # B25 / B27
    ("cat_ties_lowest_index", _C, 25, "tokenspeed#280", "scores rounded to bfloat16, ties resolved to the "
     "lowest index", ("T1.law.ties",), "standard", gumbel_max(pick="bf16_ties")),
    ("cat_no_max_subtraction", _C, 27, "tensorflow#2774", "p = exp(x)/sum(exp(x)) without max-subtraction: "
     "logits ~ 1000 overflow to NaN", ("T1.law.shift",), "standard", gumbel_max(score="naive")),
    ("relaxed_no_max_subtraction", _R, 27, "tensorflow#2774", "softmax((x + g)/T) without max-subtraction: "
     "logits ~ 1000 overflow to NaN", ("C3.round.shift",), "standard", concrete(softmax="naive")),
]

for _entry in _CATALOGUE + token_catalogue():
    _register(*_entry)
del _entry


def mutant_names(kind: str | None = None) -> list[str]:
    return [m.name for m in MUTANTS.values() if kind is None or m.kind == kind]


def standard_mutants() -> list[Mutant]:
    return [m for m in MUTANTS.values() if m.budget == "standard"]


def thorough_mutants() -> list[Mutant]:
    return [m for m in MUTANTS.values() if m.budget == "thorough"]
