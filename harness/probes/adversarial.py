r"""Adversarial random streams: make the rare boundary draws of real RNGs happen on demand.

A sampler that takes ``log`` of a uniform without a guard breaks only when the uniform is
exactly 0 (probability :math:`2^{-53}` in float64, :math:`2^{-24}` in float32: pytorch#16706)
or exactly 1 / ``nextafter(1, 0)`` (bugs.md A.1, A.2): no Monte Carlo budget sees it. The
adversarial probe therefore *forces* those values while the target runs:

* **NumPy** targets that build their generator with ``numpy.random.default_rng(seed)`` (the
  usual way to honour the ``seed`` argument of the protocols): during the probe
  ``numpy.random.default_rng`` returns a :class:`numpy.random.Generator` over an
  :class:`AdversarialBitGenerator`, a bit generator whose raw 64-bit words come from PCG64
  except for bursts of constant words. All-zero words make ``random()`` return exactly
  ``0.0`` and the ziggurat ``standard_exponential()`` return exactly ``0.0`` (both real,
  documented outputs of NumPy); all-one words make ``random()`` return
  ``nextafter(1, 0) = 1 - 2^-53`` (float32: ``1 - 2^-24``). Bursts (32 words of every 128)
  cover whole rows of small-K draws, so "all K noises are -inf" happens too. NumPy's own
  rejection loops (``Generator.gumbel`` redraws ``U = 1``) terminate because the bursts end.
  The bit generator is a ``ctypes`` implementation of NumPy's ``bitgen_t`` interface, so the
  C samplers of ``Generator`` call back into it (about 2 us per word: the probe draws a few
  thousand values).
* **PyTorch** targets (torch already imported when the probe starts, as it is once a target
  using torch has been called): ``torch.rand``, ``torch.rand_like`` and ``Tensor.uniform_`` return their
  lower bound (0) or ``nextafter(upper, lower)`` on the burst positions, and
  ``Tensor.exponential_`` returns ``0.0`` or ``-0.0`` there (``F.gumbel_softmax`` draws
  ``-log(exponential_())``). ``torch.multinomial`` and other C++ samplers cannot be reached.

Targets that draw from neither (jax, C++ kernels, a Generator built some other way) are
reported as "not probed"; the probe counts the adversarial values actually delivered.

One mechanism patches the streams: :func:`forced_streams` (a bit-generator factory for NumPy, fill
functions for torch's uniforms and exponentials). :func:`adversarial_streams` is it with the burst
patterns of :data:`MODES`; the precision-reach probe (:mod:`harness.probes.reach`) uses it with
per-position patterns of extreme words.

Severity: ``u = 0`` and ``u = nextafter(1, 0)`` are values real generators return (NumPy's
``random()`` and ziggurat exponential can return exactly 0; ``torch.rand`` returns 0 with
probability :math:`2^{-24}` in float32), so a target that then returns NaN, an out-of-range
index or a zero-probability category FAILs. An exponential of exactly ``0``/``-0.0`` from
``Tensor.exponential_`` depends on the backend (pytorch#22442, #48841, #101620 returned 0;
MPS returned -0.0: pytorch#192577); a target that breaks on it gets a warning.
"""
from __future__ import annotations

import contextlib
import ctypes
import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

__all__ = ["MODES", "AdversarialBitGenerator", "adversarial_streams", "forced_streams", "StreamStats",
           "adversarial_probe"]

#: mode -> (what it forces, severity of a misbehaviour under it)
MODES: dict[str, tuple[str, str]] = {
    "u=0": ("uniforms exactly 0 (NumPy random() = 0.0 and standard_exponential() = 0.0; "
            "torch.rand/uniform_ = lower bound)", "fail"),
    "u=1-ulp": ("uniforms exactly nextafter(1, 0) (NumPy 1 - 2^-53, float32 1 - 2^-24; "
                "torch.rand/uniform_ = nextafter(upper, lower))", "fail"),
    "E=0": ("torch Tensor.exponential_ returns exactly 0.0 (pytorch#22442, #48841, #101620)", "warn"),
    "E=-0": ("torch Tensor.exponential_ returns -0.0 (MPS, pytorch#192577)", "warn"),
}

BURST = 32
_PCG64 = np.random.PCG64  # bound at import: forced_streams patches np.random.PCG64
PERIOD = 128

_U64 = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)
_U32 = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p)
_F64 = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_void_p)


class _BitgenT(ctypes.Structure):
    _fields_ = [("state", ctypes.c_void_p), ("next_uint64", _U64), ("next_uint32", _U32),
                ("next_double", _F64), ("next_raw", _U64)]


_PyCapsule_New = ctypes.pythonapi.PyCapsule_New
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class AdversarialBitGenerator:
    """A NumPy bit generator (``bitgen_t`` through ``ctypes``): PCG64 words, except that in each
    period of ``period`` words the first ``burst`` are the constant ``word`` (0 or 2^64 - 1).

    ``pattern`` (optional) replaces the bursts: ``pattern(i)`` is the ``i``-th word (``None``:
    a PCG64 word), e.g. the word layouts of the precision-reach probe
    (:mod:`harness.probes.reach`).

    ``numpy.random.Generator(AdversarialBitGenerator(seed, word=0))`` is a full Generator.
    ``forced`` counts the constant words delivered.
    """

    def __init__(self, seed=None, *, word: int = 0, burst: int = BURST, period: int = PERIOD, pattern=None):
        self._pcg = _PCG64(seed)
        self._word = int(word) & 0xFFFFFFFFFFFFFFFF
        self._burst, self._period = int(burst), int(period)
        self._pattern = pattern
        self.drawn = 0
        self.forced = 0
        self.forced_known = 0  # forced words consumed inside a known floating-point sampler
        self.known_depth = 0   # > 0 while a TracingGenerator's known sampler runs
        self.raw = False       # bit_generator.random_raw() was called
        self.int_bits = None   # k while Generator.integers draws over a span 2^k (generators.py)

        def next64(_):
            i = self.drawn
            self.drawn += 1
            if self._pattern is not None:
                w = self._pattern(i)
                if w is not None:
                    self.forced += 1
                    self.forced_known += self.known_depth > 0
                    w = int(w) & 0xFFFFFFFFFFFFFFFF
                    k = self.int_bits
                    if k is not None and w and (w >> (64 - k)) == 0:  # value = top k bits (32- or 64-bit draw)
                        return 1 << (64 - k)  # the smallest non-zero k-bit value
                    return w
                return int(self._pcg.random_raw())
            if i % self._period < self._burst:
                self.forced += 1
                self.forced_known += self.known_depth > 0
                return self._word
            return int(self._pcg.random_raw())

        def next32(_):
            return next64(None) >> 32

        def nextd(_):
            return (next64(None) >> 11) * (1.0 / 9007199254740992.0)

        self._fns = (_U64(next64), _U32(next32), _F64(nextd), _U64(next64))
        self._struct = _BitgenT(None, *self._fns)
        self.capsule = _PyCapsule_New(ctypes.addressof(self._struct), b"BitGenerator", None)
        self.lock = threading.Lock()

    def random_raw(self, size=None, output=True):
        """Raw 64-bit words (``bit_generator.random_raw``): the target converts them itself."""
        self.raw = True
        n = 1 if size is None else int(np.prod(size))
        out = np.array([self._fns[0](None) for _ in range(n)], dtype=np.uint64)
        if not output:
            return None
        return int(out[0]) if size is None else out.reshape(size)

    @property
    def seed_seq(self):
        return self._pcg.seed_seq

    @property
    def unknown(self) -> int:
        """Forced words the target consumed outside NumPy's known floating-point samplers."""
        return self.forced - self.forced_known


@dataclass
class StreamStats:
    """How many adversarial values the probe delivered (0: the target was not reached)."""

    torch_values: int = 0
    generators: list = field(default_factory=list)
    torch_unknown: int = 0  # torch values forced through a kernel of unknown grid (generators.torch_grid)

    @property
    def delivered(self) -> int:
        return self.torch_values + sum(g.forced for g in self.generators)

    @property
    def unknown(self) -> int:
        """Forced values whose conversion the harness does not know (raw NumPy bits the target
        converts itself, a torch kernel of unmeasured grid): a short reach through them is no
        evidence (:mod:`harness.probes.generators`)."""
        return self.torch_unknown + sum(g.unknown + (g.forced if g.raw else 0) for g in self.generators)


def _burst_mask(numel: int):
    import torch

    return (torch.arange(numel) % PERIOD) < BURST


def _torch_uniform_extreme(mode: str):
    """``fill(flat, lo, hi)`` for torch's uniforms under ``mode``: the burst positions get ``lo``
    (``u=0``) or ``nextafter(hi, lo)`` (``u=1-ulp``). torch is imported only when ``fill`` runs:
    :func:`forced_streams` patches torch only when the target has imported it."""

    def fill(flat, lo, hi):
        import torch

        m = _burst_mask(flat.numel()).to(flat.device)
        if mode == "u=0":
            v = torch.tensor(lo, dtype=flat.dtype, device=flat.device)
        else:
            v = torch.nextafter(torch.tensor(hi, dtype=flat.dtype, device=flat.device),
                                torch.tensor(lo, dtype=flat.dtype, device=flat.device))
        flat[m] = v
        return int(m.sum())

    return fill


def _torch_exponential_const(val: float):
    def fill(flat):
        import torch

        m = _burst_mask(flat.numel()).to(flat.device)
        flat[m] = torch.tensor(val, dtype=flat.dtype, device=flat.device)
        return int(m.sum())

    return fill


@contextlib.contextmanager
def adversarial_streams(mode: str) -> Iterator[StreamStats]:
    """Patch ``numpy.random.default_rng`` and torch's uniform/exponential primitives so that
    the burst positions get the boundary values of ``mode`` (one of :data:`MODES`). Restores
    everything on exit. Yields a :class:`StreamStats`."""
    if mode not in MODES:
        raise ValueError(f"unknown adversarial mode {mode!r}; choose one of {sorted(MODES)}")
    if mode in ("u=0", "u=1-ulp"):
        word = 0 if mode == "u=0" else 0xFFFFFFFFFFFFFFFF
        with forced_streams(numpy_generator=lambda seed: AdversarialBitGenerator(seed, word=word),
                            torch_uniform=_torch_uniform_extreme(mode)) as st:
            yield st
    else:
        with forced_streams(torch_exponential=_torch_exponential_const(0.0 if mode == "E=0" else -0.0)) as st:
            yield st


@contextlib.contextmanager
def forced_streams(numpy_generator=None, torch_uniform=None, torch_exponential=None) -> Iterator[StreamStats]:
    """The one patching mechanism behind the adversarial and the precision-reach probes.

    * ``numpy_generator(seed) -> AdversarialBitGenerator``: ``numpy.random.default_rng(seed)``
      returns a :class:`~harness.probes.generators.TracingGenerator` over it while the block
      runs, and so do ``numpy.random.Generator(PCG64(seed))`` (the bit-generator classes
      ``PCG64``, ``PCG64DXSM``, ``MT19937``, ``Philox``, ``SFC64`` are patched too) and the same
      names imported into other modules (``from numpy.random import default_rng``);
    * ``torch_uniform(flat, lo, hi) -> count``: overwrites values of the (flattened) output of
      ``torch.rand`` / ``rand_like`` / ``Tensor.uniform_(lo, hi)`` in place, returns how many
      (or ``(count, unknown)``: how many of them through a kernel of unknown grid);
    * ``torch_exponential(flat) -> count``: the same for ``Tensor.exponential_``. A
      ``torch.Generator`` passed as ``generator=`` goes through the same patched primitives.

    Restores everything on exit. Yields a :class:`StreamStats` (values delivered)."""
    stats = StreamStats()
    patches: list[tuple[object, str, object]] = []

    def patch(obj, name, new):
        own = isinstance(obj, type) and name not in vars(obj)  # inherited: delete on restore
        patches.append((obj, name, None if own else getattr(obj, name)))
        setattr(obj, name, new)

    orig_rng = np.random.default_rng
    if numpy_generator is not None:
        from harness.probes.generators import BIT_GENERATORS, TracingGenerator, numpy_bindings

        orig_gen = np.random.Generator
        bindings = numpy_bindings()  # before the patches below (it looks for the original objects)

        def make(seed):
            if isinstance(seed, (np.random.SeedSequence, int, np.integer)) or seed is None or \
                    isinstance(seed, (list, tuple, np.ndarray)):
                bg = numpy_generator(seed)
            else:  # an object we cannot seed from: PCG64 seeded by its hash
                bg = numpy_generator(abs(hash(seed)) % (2**63))
            stats.generators.append(bg)
            return bg

        def default_rng(seed=None):
            if isinstance(seed, orig_gen):
                return seed
            if isinstance(seed, np.random.BitGenerator):
                seed = seed.seed_seq
            if isinstance(seed, AdversarialBitGenerator):
                return TracingGenerator(seed)
            return TracingGenerator(make(seed))

        def bit_generator(name):
            def construct(seed=None, *a, **k):  # Generator(PCG64(seed)): the forced words instead
                return make(seed)

            construct.__name__ = name
            return construct

        repl = {id(orig_rng): default_rng, id(orig_gen): TracingGenerator,
                **{id(c): bit_generator(n) for n, c in BIT_GENERATORS.items()}}
        patch(np.random, "default_rng", default_rng)
        patch(np.random, "Generator", TracingGenerator)
        for n in BIT_GENERATORS:
            patch(np.random, n, repl[id(BIT_GENERATORS[n])])
        for mod, name, val in bindings:  # from numpy.random import default_rng, PCG64, ...
            if getattr(mod, "__dict__", {}).get(name) is val:
                patch(mod, name, repl[id(val)])

    import sys

    torch = sys.modules.get("torch")  # a target that uses torch has imported it by now

    if torch is not None:
        def inject(t, fill, *args):
            with torch.no_grad():
                flat = t.view(-1) if t.is_contiguous() else None
                if flat is None or flat.numel() == 0:
                    return t
                got = fill(flat, *args)
                count, unknown = got if isinstance(got, tuple) else (got, 0)
                stats.torch_values += int(count)
                stats.torch_unknown += int(unknown)
            return t

        if torch_uniform is not None:
            o_rand, o_rand_like, o_uniform = torch.rand, torch.rand_like, torch.Tensor.uniform_

            def rand(*a, **k):
                out = o_rand(*a, **k)
                return inject(out, torch_uniform, 0.0, 1.0) if out.is_floating_point() else out

            def rand_like(*a, **k):
                out = o_rand_like(*a, **k)
                return inject(out, torch_uniform, 0.0, 1.0) if out.is_floating_point() else out

            def uniform_(self, a=0.0, b=1.0, *args, **k):
                o_uniform(self, a, b, *args, **k)
                return inject(self, torch_uniform, float(a), float(b))

            patch(torch, "rand", rand)
            patch(torch, "rand_like", rand_like)
            patch(torch.Tensor, "uniform_", uniform_)
        if torch_exponential is not None:
            o_exp = torch.Tensor.exponential_

            def exponential_(self, *a, **k):
                o_exp(self, *a, **k)
                return inject(self, torch_exponential)

            patch(torch.Tensor, "exponential_", exponential_)
    try:
        yield stats
    finally:
        for obj, name, old in reversed(patches):
            if old is None:
                delattr(obj, name)
            else:
                setattr(obj, name, old)
        assert np.random.default_rng is orig_rng


# ---------------------------------------------------------------- the probe ---------------

def adversarial_probe(fn: Callable, rec, seed: int, call: Callable, ok_text: str, masked: bool | str = True) -> None:
    """One finding per mode of :data:`MODES` on ``rec`` (a :class:`~harness.probes.findings.Recorder`):
    ``call(fn, x, seed)`` makes the kind's calls for the logits ``[-inf, 0.5, 0, 1]`` and
    ``[0.2, 1, -inf]``, then (``masked``) ``call(fn, x, seed, n=256)`` for the rows (``masked =
    "batch"``: ``call(fn, X, seed)`` with the ``[1024, K]`` :func:`~harness.probes.findings.masked_batch`
    of each K, for kinds that take a batch of rows)
    (:func:`~harness.probes.findings.masked_rows`: the masked category at every position, K = 3, 4, 8), under the forced stream, and raises an
    :class:`~harness.probes.findings.Outcome` when a masked category comes back. A mode that
    delivered no forced draw is "not probed" (or dropped, for the exponential modes)."""
    from harness.probes.findings import Finding, masked_batch, masked_rows

    x = np.array([-math.inf, 0.5, 0.0, 1.0])
    x2 = np.array([0.2, 1.0, -math.inf])
    extra = [(r, 256) for r in masked_rows()] if masked is True else []
    extra += [(masked_batch(k), None) for k in (3, 4, 8)] if masked == "batch" else []
    for mode, (what, sev) in MODES.items():
        delivered = [0]

        def body(mode=mode):
            with adversarial_streams(mode) as st:
                try:
                    for xx in (x, x2):
                        call(fn, xx, seed)
                    for xx, n in extra:
                        call(fn, xx, seed) if n is None else call(fn, xx, seed, n=n)
                finally:
                    delivered[0] = st.delivered
            return "ok/documented", ok_text

        rec.run(f"{mode}", f"adversarial stream: {what}", "adversarial", body,
                on_error="warn", on_nan=sev)
        f = rec.findings[-1]
        if delivered[0] == 0:
            if mode.startswith("E") and f.outcome == "ok/documented":
                rec.findings.pop()  # torch exponential_ not used: nothing to say
                continue
            if f.outcome == "ok/documented":
                rec.findings[-1] = Finding(f.probe, f.input, f.domain, "not probed", "info",
                                           "the target does not draw from numpy.random.default_rng / torch's "
                                           "uniform and exponential primitives")
                continue
        if f.severity == "fail" and sev == "warn":
            rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn", f.detail)
        elif f.outcome in ("invalid output", "silent wrong answer") and sev == "fail":
            rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "fail", f.detail)

