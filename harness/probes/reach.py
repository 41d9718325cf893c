r"""Precision-reach probe: how far the target's noise reaches, measured deterministically.

A sampler whose noise tail is cut (24-bit / float32 uniforms, an epsilon floor on the
exponential, a 2^-31 floor: bugs.md A.3, B10-B12; vllm#43150, #47524, #51367, jax#5348) differs
from a correct one with probability about 1e-7 per draw: a black-box test needs ~1e9 draws
(the ``thorough`` budget, hours). But the harness controls the random streams the target
draws from (:func:`harness.probes.adversarial.forced_streams`), so it can hand the target the
*extreme representable draws* and look at what comes out:

* **noise** targets: every draw is one extreme at a time (the table below); the largest and
  smallest finite noise seen are the *reach* ``[g_lo, g_hi]``.
* **categorical / relaxed / torch / token** targets (any kind whose :class:`ReachStrategy` has a ``select``):
  K = 2 logits ``[0, -d]``; the streams give the low category (1) an extreme that makes its
  noise large and its rival (0) one that makes its noise small, in each natural draw layout
  (``row``: row-major ``[n, K]``, one draw per category and row, as in ``argmax(x + g)``;
  ``col``: category-major ``[K, n]``, as the reference race). The reach is the largest gap
  ``d`` (nats, bisection to 0.01) at which category 1 is still selected in some row (a stream
  that selects it at any gap: infinite noise from an exact-zero draw, left out), the smallest
  over the call sizes :data:`SIZES_GAP`; "not measured" when no stream reaches the target (C++
  samplers, ``np.random.RandomState``...) or the selection is not reproducible.

A short reach is a failure only with evidence (:mod:`harness.probes.generators`): every forced
value went through a conversion the harness knows (NumPy's floating-point samplers, power-of-two
``integers``, torch primitives of measured grid). Through raw bits the target converts itself
the reach is only a lower bound: "not measured", with a blind-spot line naming the kind's tail
check (:attr:`ReachStrategy.tail`).

Extreme draws (one 64-bit word each for NumPy's ``Generator``; for torch ``rand`` /
``uniform_`` and ``exponential_`` and for jax's ``random_bits`` the class of the draw):

==============  ===================================================  ================================
draw            NumPy ``Generator`` (word)                           torch / jax (class)
==============  ===================================================  ================================
``zero``        ``random() = 0``, ``standard_exponential() = 0``     u = 0 (E = 2^-p); jax bits 0
``tiny64``      ``random() = 2^-53``, smallest ziggurat E 7.1e-18    u = 2^-p, E = 2^-p; bits 1 ulp
``tiny32``      ``random(float32) = 2^-24`` (``random() = 2^-24``)   as ``tiny64``
``tiny32e``     smallest float32 ziggurat E (7.6e-9)                 as ``tiny64``
``low1``        the word 1: ``random() = 0``, its low 53 bits 2^-53   as ``tiny64``
``tiny53x2``    words (0, 64 << 32): ``genrand_res53`` = 2^-53       as ``tiny64``
``tail64``      ziggurat tail E = 44.4, ``random() = 1 - 2^-53``     u = 1 - 2^-p, E = p ln 2; all ones
``tail32``      float32 ziggurat tail E = 23.6                       as ``tail64``
``ones``        all-one word: ``random() = 1 - 2^-53``, integers max  as ``tail64``
==============  ===================================================  ================================

(``p`` = 53 float64, 24 float32, 11 float16, 8 bfloat16: the grid of a uniform in that dtype, as
:func:`~harness.probes.generators.torch_grid` measures it on the device: torch's CPU float32
``exponential_`` is a double cast, p = 53.)

Precision grade. A reach is expressed in **bits**: the tail mass the target cannot produce is
about ``2^-bits``. Noise: :math:`P(g > g_{hi}) \approx e^{-g_{hi}}` and
:math:`P(g < g_{lo}) = \exp(-e^{-g_{lo}})`, so ``bits = min(g_hi / ln 2, e^{-g_lo} / ln 2)``.
Gap: category 1 at gap ``d`` is selected with probability :math:`P(L > d) = 1/(1 + e^d)`
(``L = g_1 - g_0`` is standard logistic), so ``bits = d / ln 2``.

==============  ==========  =========================================================================
grade           bits        typical reach
==============  ==========  =========================================================================
float64         >= 50       uniforms on the 2^-53 grid: g in [-3.60, 36.74] (53 bits); gap 40.3
                            (Gumbel-max), 36.7 (inverse CDF), 43.3 (float64 ziggurat race)
31-bit          30 - 50     a 2^-31 floor (Triton ``tl.rand``, vllm#47524): g <= 21.49; gap 24.6
float32         23.5 - 30  uniforms on the 2^-24 grid: g in [-2.81, 16.64] (24 bits); gap 19.4
sub-float32     14 - 23.5   a 2^-23 grid (jax ``gumbel`` mode 'low': g <= 15.94), an E >= 1e-7 floor
                            (g <= 16.12), torch ``Uniform(tiny, 1 - eps)`` float32 (g <= 15.54)
half            < 14        float16 noise: g <= 7.6 (11 bits)
==============  ==========  =========================================================================

What the output promises: float64 output (and every categorical target: the harness passes
float64 logits) promises the float64 grade (>= 50 bits); float32 output the float32 grade
(>= 23.5 bits: a float32 uniform grid reaches 24), and so does half-precision output (float16
and bfloat16 represent g = 16.6; noise computed in half precision reaches only 7.6). A target may state a
lower claim with an attribute ``gumbel_harness_precision = "float32"``. A reach below the
promise (with evidence) is a **contract** Finding of severity ``fail`` (probe ``reach.noise`` /
``reach.gap``) naming the tail mass that cannot be produced; a reach that keeps the promise is
``ok``; "not measured" is ``info``. The probe is deterministic, takes well under a second for NumPy/torch
targets (a few seconds for jax, which recompiles per stream), and runs at every budget; the
statistical tail checks (``N.tail``, ``T1.tail`` at ``thorough``) stay as the black-box
confirmation.
"""
from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from harness.probes.adversarial import AdversarialBitGenerator, forced_streams

__all__ = ["DRAWS", "GRADES", "LAYOUTS", "Reach", "ReachStrategy", "measure_noise", "measure_gap",
           "reach_findings", "grade_of", "promised_bits"]

LN2 = math.log(2.0)
GAP_MAX = 64.0  # search range of the gap (a float64 race reaches 43.3)
GAP_TOL = 0.01
N_ROWS = 16      # rows per call of a categorical-like target
N_NOISE = 256    # draws per call of a noise target


@dataclass(frozen=True)
class Draw:
    """An extreme draw: ``word`` for NumPy bit generators (``word2``: the second word of a draw
    that takes two, in the ``row2`` layout; default ``word``), ``cls`` (zero / low / high) for
    torch and jax primitives (module table)."""

    name: str
    word: int
    cls: str
    word2: int | None = None


DRAWS: tuple[Draw, ...] = (
    Draw("zero", 0, "zero"),
    Draw("tiny64", 0x808, "low"),
    Draw("tiny32", 1 << 40, "low"),
    Draw("tiny32e", 0x0000020200000000, "low"),
    Draw("low1", 1, "low"),                      # the low 53 bits of the word: u = 2^-53
    Draw("tiny53x2", 0, "low", 64 << 32),        # genrand_res53 of two 32-bit draws (0, 64): u = 2^-53
    Draw("tail64", 0xFFFFFFFFFFFFF807, "high"),
    Draw("tail32", 0xFFFFFE01FFFFF807, "high"),
    Draw("ones", 0xFFFFFFFFFFFFFFFF, "high"),
)

#: the call sizes (rows of a categorical-like call, draws of a noise call) at which the reach
#: is measured: the search at the first, a check (and a search where it falls short) at the
#: others, so a floor applied only to large calls is seen
SIZES_GAP = (16, 256, 8192)
SIZES_NOISE = (256, 8192)
FORCED_ROWS = 8  # rows whose NumPy draws are forced in a call (4 words per draw of headroom; the rest: PCG64)

#: (name, lowest bits of the grade), best first.
GRADES: tuple[tuple[str, float], ...] = (("float64", 50.0), ("31-bit", 30.0), ("float32", 23.5),
                                         ("sub-float32", 14.0), ("half", 0.0))


def grade_of(bits: float) -> str:
    for name, lo in GRADES:
        if bits >= lo:
            return name
    return GRADES[-1][0]


def promised_bits(itemsize: int) -> tuple[str, float]:
    """(grade, bits) that an output of this floating itemsize promises (module doc): float64
    for 8 bytes, else float32 (float16 and bfloat16 represent g up to 16.6 too)."""
    name = "float64" if itemsize >= 8 else "float32"
    return name, dict(GRADES)[name]


# ---------------------------------------------------------------- forcing the streams -------

_TORCH_P = {"torch.float64": 53, "torch.float32": 24, "torch.float16": 11, "torch.bfloat16": 8}
_JAX_NMANT = {64: 52, 32: 23, 16: 10, 8: 3}


def _cats(numel: int, lay: str) -> np.ndarray:
    """Category (0 / 1) of each element of a flattened torch / jax draw of K = 2 per row."""
    i = np.arange(numel)
    return (i >= numel // 2).astype(np.int64) if lay == "col" else LAYOUTS[lay](i, numel) % 2


def _torch_fill(prim: str, clss: tuple[str, str], lay: str):
    """The torch fill of :func:`~harness.probes.adversarial.forced_streams` for ``prim``
    ("uniform" or "exponential"): category c of :func:`_cats` gets the class ``clss[c]``, on the
    grid :func:`~harness.probes.generators.torch_grid` measured (unknown: the dtype's nominal
    grid, and the values count as unknown)."""

    def fill(flat, lo=0.0, hi=1.0):
        import torch

        from harness.probes.generators import torch_grid

        p = torch_grid(prim, flat.dtype, flat.device)
        known = p is not None
        p = p if known else _TORCH_P.get(str(flat.dtype), 24)
        if prim == "uniform":
            vals = {"zero": 0.0, "low": 2.0 ** -p, "high": 1.0 - 2.0 ** -p}
        else:
            vals = {"zero": 2.0 ** -p, "low": 2.0 ** -p, "high": p * LN2}
        out = []
        for c in clss:
            v = lo + vals[c] * (hi - lo) if prim == "uniform" else vals[c]
            t = torch.tensor(v, dtype=flat.dtype)
            if prim == "uniform" and c == "high" and float(t) >= hi:
                t = torch.nextafter(torch.tensor(hi, dtype=flat.dtype), torch.tensor(lo, dtype=flat.dtype))
            if prim == "exponential" and float(t) == 0.0:  # below the dtype's subnormals
                t = torch.nextafter(torch.tensor(0.0, dtype=flat.dtype), torch.tensor(1.0, dtype=flat.dtype))
            out.append(t)
        m = torch.as_tensor(_cats(flat.numel(), lay) == 1)
        flat.copy_(torch.where(m, out[1], out[0]).to(flat.device))
        n = flat.numel()
        return n, (0 if known else n)

    return fill


class _JaxBits:
    """Replaces ``jax._src.random.core._random_bits`` while active by a ``jax.pure_callback``
    that returns the current pattern's bits at run time, so jit-compiled targets see every
    pattern without retracing. The jit caches are cleared before the first patch (so traces
    include the callback) and by :meth:`close` (after which jax behaves normally again)."""

    def __init__(self):
        self.hits = 0
        self.cls_at: Callable[[int, int], str | None] | None = None
        self.used = False

    def _bits(self, bit_width: int, shape: tuple) -> np.ndarray:
        n = int(np.prod(shape)) if len(shape) else 1
        self.hits += n
        udt = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[bit_width]
        low = 1 << (bit_width - _JAX_NMANT.get(bit_width, bit_width - 1))
        vals = {"zero": 0, "low": low, "high": (1 << bit_width) - 1}
        cls_at = self.cls_at or (lambda total: np.array(["low"] * total))
        return np.array([vals[c] for c in cls_at(n)], dtype=udt).reshape(shape)

    @contextlib.contextmanager
    def patch(self, cls_at: Callable[[int, int], str | None]) -> Iterator[None]:
        if "jax" not in sys.modules:
            yield
            return
        import jax
        from jax._src.random import core as jcore

        orig = jcore._random_bits

        def fake(rng_key, bit_width, shape):
            udt = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[bit_width]
            shape = tuple(int(d) for d in shape)
            return jax.pure_callback(lambda: self._bits(bit_width, shape), jax.ShapeDtypeStruct(shape, udt))

        if not self.used:
            jax.clear_caches()
            self.used = True
        self.cls_at = cls_at
        jcore._random_bits = fake
        try:
            yield
        finally:
            jcore._random_bits = orig
            self.cls_at = None

    def close(self) -> None:
        if self.used and "jax" in sys.modules:
            import jax

            jax.clear_caches()
        self.used = False


@contextlib.contextmanager
def _forced(word_at: Callable[[int], int | None], clss: tuple[str, str], lay: str, jax_bits: _JaxBits,
            limit: int | None = None) -> Iterator[Any]:
    """The streams of one measurement: NumPy words ``word_at(i)`` (``None``: PCG64), torch / jax
    values of class ``clss[category]`` in the layout ``lay``."""
    def cls_at(total):
        return np.array(clss, dtype=object)[_cats(total, lay)]

    with forced_streams(numpy_generator=lambda seed: AdversarialBitGenerator(seed, pattern=word_at),
                        torch_uniform=_torch_fill("uniform", clss, lay),
                        torch_exponential=_torch_fill("exponential", clss, lay)) as st:
        with jax_bits.patch(cls_at):
            yield st


#: layout -> category of the i-th NumPy word of a call of ``n`` rows (K = 2)
LAYOUTS: dict[str, Callable[[Any, int], Any]] = {
    "row": lambda i, n: i % 2,                      # [n, K] row-major, one word per draw
    "row2": lambda i, n: (i // 2) % 2,              # row-major, two words per draw (NumPy ziggurat
                                                    # tail / slow path; genrand_res53 from two 32-bit draws)
    "col": lambda i, n: (i >= n) * 1,               # [K, n] category-major
}


def _pattern(lay: str, words: dict, n: int) -> tuple[Callable[[int], int | None], int]:
    """(word_at, limit): the forced words of category c = ``words[c]`` (a :class:`Draw`) in the
    first :data:`FORCED_ROWS` rows of a call of ``n`` rows (4 words per draw of headroom for
    rejection loops), PCG64 after."""
    rows = min(n, FORCED_ROWS)
    cat = LAYOUTS[lay]
    if lay == "col":
        span = 4 * rows

        def word_at(i):
            if i < n:
                return words[0].word if i < span else None
            return words[1].word if i < n + span else None

        return word_at, n + span
    limit = 4 * rows * 2

    def word_at_row(i):
        if i >= limit:
            return None
        d = words[cat(i, n)]
        return d.word if lay != "row2" or i % 2 == 0 or d.word2 is None else d.word2

    return word_at_row, limit


# ---------------------------------------------------------------- measurements ------------

@dataclass(frozen=True)
class Reach:
    """A measured reach: ``what`` ("noise" or "gap"), ``lo``/``hi`` (noise range) or ``gap``
    (nats), ``bits``, ``grade``, ``stream`` (which draws / layout / call size achieved it),
    ``seconds``; ``measurable`` False when the streams did not reach the target (``why``).
    ``evidence`` False when some forced value went through a conversion the harness does not
    know (raw bits the target converts itself, a torch kernel of unmeasured grid): the reach is
    then a lower bound only, and a short one is no failure (:mod:`harness.probes.generators`)."""

    what: str
    measurable: bool
    bits: float = float("nan")
    grade: str = ""
    lo: float = float("nan")
    hi: float = float("nan")
    gap: float = float("nan")
    stream: str = ""
    seconds: float = 0.0
    why: str = ""
    evidence: bool = True
    unknown: str = ""

    @property
    def missing_mass(self) -> float:
        """The probability mass beyond the reach (module doc)."""
        if self.what == "noise":
            return float(-math.expm1(-math.exp(-self.hi)) + math.exp(-math.exp(-self.lo)))
        return float(1.0 / (1.0 + math.exp(self.gap)))

    def describe(self) -> str:
        if not self.measurable:
            return f"not measured ({self.why})"
        if self.what == "noise":
            return (f"noise reach [{self.lo:.2f}, {self.hi:.2f}] = {self.bits:.1f} bits ({self.grade}-grade; "
                    f"via {self.stream})")
        return f"gap reach {self.gap:.2f} nats = {self.bits:.1f} bits ({self.grade}-grade; via {self.stream})"


UNREACHED = ("the target does not draw from a NumPy Generator (default_rng, Generator(PCG64(...)) or another "
             "bit generator, however imported), torch's rand / uniform_ / exponential_ or jax.random")


def _unknown_text(st) -> str:
    parts = []
    if any(g.raw or g.unknown for g in st.generators):
        parts.append("raw NumPy bits the target converts itself (Generator.integers / bytes / random_raw)")
    if st.torch_unknown:
        parts.append("a torch kernel whose grid the harness did not recognise")
    return " and ".join(parts)


def _noise_bits(lo: float, hi: float) -> float:
    b_hi = hi / LN2
    b_lo = math.exp(-lo) / LN2 if lo > -700 else float("inf")
    return min(b_hi, b_lo)


def measure_noise(fn: Callable, seed: int = 0) -> Reach:
    """Largest / smallest finite noise of ``fn(shape, seed)`` when every draw is one extreme,
    at every call size of :data:`SIZES_NOISE`."""
    jb = _JaxBits()
    try:
        return _measure_noise(fn, seed, jb)
    finally:
        jb.close()


def _noise_call(fn, d: Draw, size: int, seed: int, jb: _JaxBits, seen: dict) -> np.ndarray:
    limit = 16 * N_NOISE

    def word_at(i):
        return None if i >= limit else d.word if i % 2 == 0 or d.word2 is None else d.word2

    with _forced(word_at, (d.cls, d.cls), "row", jb, limit=limit) as st:
        try:
            g = np.asarray(_np(fn((size,), seed)), dtype=np.float64).reshape(-1)
        except Exception as exc:  # noqa: BLE001 - the other probes report errors
            seen["errors"].append(f"{d.name}: {type(exc).__name__}")
            g = np.zeros(0)
        seen["delivered"] += st.delivered
        if st.unknown:
            seen["unknown"] = _unknown_text(st)
    return g[np.isfinite(g)]


def _measure_noise(fn: Callable, seed: int, jb: _JaxBits) -> Reach:
    t0 = time.perf_counter()
    lo, hi = math.inf, -math.inf
    at_lo = at_hi = None
    seen: dict[str, Any] = {"delivered": 0, "unknown": "", "errors": []}
    with contextlib.suppress(Exception):
        fn((4,), seed)  # warm-up outside the forced streams: the target imports what it needs
    for size in SIZES_NOISE:
        for d in DRAWS:
            g = _noise_call(fn, d, size, seed, jb, seen)
            if g.size:
                if g.min() < lo:
                    lo, at_lo = float(g.min()), (d, size)
                if g.max() > hi:
                    hi, at_hi = float(g.max()), (d, size)
    delivered = seen["delivered"] + jb.hits
    dt = time.perf_counter() - t0
    if delivered == 0 or not math.isfinite(lo):
        why = UNREACHED
        if seen["errors"]:
            why = "the target raised under every stream: " + ", ".join(seen["errors"][:3])
        return Reach("noise", False, seconds=dt, why=why)
    g_lo = _noise_call(fn, at_lo[0], at_lo[1], seed + 1, jb, seen)
    g_hi = _noise_call(fn, at_hi[0], at_hi[1], seed + 1, jb, seen)
    if not (g_lo.size and g_hi.size and g_lo.min() == lo and g_hi.max() == hi):
        return Reach("noise", False, seconds=time.perf_counter() - t0,
                     why="the extremes under forced streams depend on the seed (the draws are not all controlled)")
    bits = _noise_bits(lo, hi)
    return Reach("noise", True, bits=bits, grade=grade_of(bits), lo=lo, hi=hi,
                 stream=f"max at '{at_hi[0].name}' (n = {at_hi[1]}), min at '{at_lo[0].name}' (n = {at_lo[1]}) draws",
                 seconds=time.perf_counter() - t0, evidence=not seen["unknown"], unknown=seen["unknown"])


def _np(out: Any) -> np.ndarray:
    from harness.checks.samplers import to_numpy

    return to_numpy(out, "the noise target", widen_half=True)


def _candidates(numpy_words: bool) -> list[tuple[str, Draw, Draw]]:
    """(layout, draw of the low category, draw of its rival): the rival's draw of another class
    (an all-zero rival that gives infinite noise is left out by the search: no finite reach;
    one that a clamp makes finite, as jax's ``uniform(minval=tiny)``, counts). Without NumPy
    draws only the class of a draw matters (torch / jax): one representative per class."""
    draws = DRAWS if numpy_words else tuple({d.cls: d for d in reversed(DRAWS)}.values())
    lays = LAYOUTS if numpy_words else [k for k in LAYOUTS if k != "row2"]
    his = [d for d in draws if d.cls != "zero"]
    return [(lay, hi, lo) for lay in lays for hi in his for lo in draws if lo.cls != hi.cls]


def measure_gap(fn: Callable, select: Callable, seed: int = 0) -> Reach:
    """Largest gap ``d`` at which category 1 of ``[0, -d]`` is still selected (module doc), the
    smallest over the call sizes :data:`SIZES_GAP`."""
    jb = _JaxBits()
    try:
        return _measure_gap(fn, select, seed, jb)
    finally:
        jb.close()


def _measure_gap(fn: Callable, select: Callable, seed: int, jb: _JaxBits) -> Reach:
    t0 = time.perf_counter()
    seen: dict[str, Any] = {"delivered": 0, "numpy": 0, "unknown": "", "infinite": 0}

    def selects(cand, gap, s=seed, n=SIZES_GAP[0]) -> bool:
        lay, hi, lo = cand
        word_at, limit = _pattern(lay, {0: lo, 1: hi}, n)
        with _forced(word_at, (lo.cls, hi.cls), lay, jb, limit=limit) as st:
            try:
                idx = select(fn, np.array([0.0, -float(gap)]), n, s)
                ok = bool(np.any(np.asarray(idx) == 1))
            except Exception:  # noqa: BLE001 - the other probes report errors
                ok = False
            seen["delivered"] += st.delivered
            seen["numpy"] += sum(g.forced for g in st.generators)
            if st.unknown:
                seen["unknown"] = _unknown_text(st)
        return ok

    def search(cands, n) -> tuple[float, Any]:
        best, best_cand = 0.0, None
        for cand in cands:
            start = max(best, 1.0) + GAP_TOL
            if not selects(cand, start, n=n):
                continue
            if selects(cand, GAP_MAX, n=n):  # infinite noise (an exact 0 / 1 draw): no finite reach
                seen["infinite"] += 1
                continue
            a, b = start, GAP_MAX
            while b - a > GAP_TOL:
                m = 0.5 * (a + b)
                a, b = (m, b) if selects(cand, m, n=n) else (a, m)
            best, best_cand = a, cand
        return best, best_cand

    with contextlib.suppress(Exception):
        select(fn, np.array([0.0, -1.0]), SIZES_GAP[0], seed)  # warm-up (imports) outside the forced streams
    selects(("row", DRAWS[-1], DRAWS[1]), 1.0)  # which streams reach the target?
    cands = _candidates(seen["numpy"] > 0)
    best, best_cand = search(cands, SIZES_GAP[0])
    size = SIZES_GAP[0]
    for n in SIZES_GAP[1:]:  # a floor applied only to large calls: the reach there is lower
        if best_cand is None or selects(best_cand, best, n=n):
            continue
        got, cand = search(cands, n)
        best, best_cand, size = got, cand, n
    delivered = seen["delivered"] + jb.hits
    if delivered == 0 or best_cand is None:
        why = (UNREACHED if delivered == 0 else
               "every stream that selects the low category does so at any gap (infinite noise from an exact "
               "0 / 1 draw): no finite reach" if seen["infinite"] else
               "no stream layout (row-major [n, K], category-major [K, n]) selects the low category")
        return Reach("gap", False, seconds=time.perf_counter() - t0, why=why)
    # reproducible? the same stream with another seed must give the same answer at the reach
    if not (selects(best_cand, best, seed + 1, size) and not selects(best_cand, best + 4 * GAP_TOL, seed + 1, size)):
        return Reach("gap", False, seconds=time.perf_counter() - t0,
                     why="the selection under forced streams depends on the seed (the draws are not all controlled)")
    lay, hi, lo = best_cand
    bits = best / LN2
    return Reach("gap", True, bits=bits, grade=grade_of(bits), gap=best,
                 stream=f"{lay} layout, low category '{hi.name}', rival '{lo.name}', n = {size} rows",
                 seconds=time.perf_counter() - t0, evidence=not seen["unknown"], unknown=seen["unknown"])


# ---------------------------------------------------------------- findings ----------------

def _claim(fn: Callable) -> str | None:
    """A ``gumbel_harness_precision`` attribute of the target, looked up through the wrappers
    (guards and adapters keep the target as ``.fn``)."""
    for _ in range(4):
        if fn is None:
            return None
        claim = getattr(fn, "gumbel_harness_precision", None)
        if claim:
            return str(claim)
        fn = vars(fn).get("fn") if hasattr(fn, "__dict__") else None
    return None


@dataclass(frozen=True)
class ReachStrategy:
    """How the reach of a kind's target is measured (its :class:`~harness.kinds.Kind` holds one):

    * ``noise=True``: the target returns noise; :func:`measure_noise` reads its range;
    * otherwise ``select(fn, logits (K = 2), n, seed) -> n selected indices`` and
      :func:`measure_gap` finds the largest gap still crossed.

    ``sample(fn)`` makes one tiny call whose floating output dtype is the precision the target
    promises ("its output dtype"); ``None``: the promise is the float64 logits the harness feeds.
    ``tail`` names the statistical check (and budget) that sees what the probe cannot: the
    blind-spot line of a reach that is not measured says so."""

    select: Callable | None = None
    noise: bool = False
    sample: Callable | None = None
    tail: str = ""  # the statistical check that sees a cut tail the probe cannot ("T1.tail at thorough")


def _output_itemsize(fn: Callable, strategy: ReachStrategy) -> int:
    """Itemsize of the floating output (8 when the promise is the float64 logits)."""
    claim = _claim(fn)
    if claim:
        return {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "half": 2}.get(str(claim), 8)
    if strategy.sample is None:
        return 8
    try:
        out = strategy.sample(fn)
    except Exception:  # noqa: BLE001
        return 8
    dt = getattr(out, "dtype", None)
    if dt is not None and str(dt).startswith("torch."):
        return {"torch.float16": 2, "torch.bfloat16": 2, "torch.float32": 4}.get(str(dt), 8)
    return np.asarray(out).dtype.itemsize


def reach_findings(fn: Callable, strategy: ReachStrategy | None, seed: int = 0) -> list:
    """The ``reach.*`` contract finding for a target measured by ``strategy`` (none without one)."""
    from harness.probes.findings import Finding

    if strategy is None:
        return []
    if strategy.noise:
        r = measure_noise(fn, seed)
        probe, what = "reach.noise", "noise under forced extreme uniforms / exponentials"
    else:
        r = measure_gap(fn, strategy.select, seed)
        probe, what = "reach.gap", "K = 2 logits [0, -d], low category given the extreme noise, rival the opposite"
    blind = (f"blind spot: a cut noise tail of this target is seen only by {strategy.tail}" if strategy.tail else
             "blind spot: no statistical check of this kind sees a cut noise tail")
    if not r.measurable:
        return [Finding(probe, what, "contract", "not measured", "info",
                        f"{r.why}; {blind}; measured in {r.seconds:.2f} s")]
    pname, pbits = promised_bits(_output_itemsize(fn, strategy))
    source = "the float64 logits" if strategy.sample is None else "its output dtype"
    if _claim(fn):
        source = "its gumbel_harness_precision claim"
    tail = ("P(g > g_hi) + P(g < g_lo)" if r.what == "noise" else f"P(L > {r.gap:.2f}) = 1/(1 + e^d)")
    detail = (f"{r.describe()}; {source} promise {pname}-grade (>= {pbits:g} bits); tail mass beyond the "
              f"reach: {tail} = {r.missing_mass:.3g} per draw; measured in {r.seconds:.2f} s")
    if r.bits + 1e-9 >= pbits:
        return [Finding(probe, what, "contract", f"{r.grade}-grade reach", "ok", detail)]
    if not r.evidence:  # a lower bound only: the forced words need not be the target's extremes
        return [Finding(probe, what, "contract", "not measured", "info",
                        f"{r.describe()} through {r.unknown}: the forced words need not be the extremes of "
                        f"the target's own conversion, so this is no evidence of a cut tail ({source} promise "
                        f"{pname}-grade, >= {pbits:g} bits); {blind}; measured in {r.seconds:.2f} s")]
    lost = ("noise beyond the reach is never produced" if r.what == "noise" else
            f"a category {r.gap:.1f}+ nats below its rival is never selected")
    fix = ("What to do: draw the noise from float64 uniforms / exponentials (a float32 uniform caps the "
           "Gumbel tail at 16.6, an epsilon floor E >= eps at -log(eps)); or, if the lower precision is the "
           "design, declare it on the target: gumbel_harness_precision = \"float32\" (or \"float16\" / "
           "\"bfloat16\"; the probe then holds it to that grade)")
    return [Finding(probe, what, "contract", f"{r.grade}-grade reach below the {pname} promise", "fail",
                    f"{lost}: {detail}. {fix}")]
