r"""Bad-input probe (bugs.md C) and adversarial-stream probe: what a target does with inputs
outside the comfortable middle, recorded as :class:`Finding`\ s (not Holm-family verdicts).

Each probe case feeds the target one input and classifies what came back:

=====================  =====================================================================
outcome                meaning
=====================  =====================================================================
clear error            it raised an exception with a message
NaN output             it returned NaN/inf values
out-of-range index     an index outside ``[0, K)`` (tensorflow#2774, tfp#1571, jax#5061)
silent wrong answer    a valid-looking answer that is wrong: an index or a simplex point for
                       NaN or all ``-inf`` logits (MLX#4177), a zero-probability category
                       sampled (A.4), frequencies that contradict the law (p < 1e-6)
invalid output         wrong shape/dtype, rows off the simplex
hang                   no return within the per-call timeout
ok/documented          the correct or documented answer (``-inf`` never sampled, the
                       one-hot at ``T = 0``, the uniform at ``T = inf``...)
not probed             the adversarial streams did not reach the target
=====================  =====================================================================

Severity (what makes the target FAIL), decided per input *domain*:

* **valid inputs** (finite logits of any magnitude, some ``-inf``, ``T > 0`` finite including
  1e-8 and 1e8, half precision, K = 1, K = 152k, empty batch, non-contiguous views, ties):
  NaN output, an out-of-range index, a zero-probability category, an invalid output, a hang,
  or frequencies off the law (p < 1e-6, a fixed threshold outside the Holm family: false-alarm
  probability about 1e-6 per case) are **fail**; refusing the input with an error is a
  **warn** (a limitation, not a wrong answer). Exception: when the logits are so large
  (``1e30``) that float64 cannot add the noise (``1e30 + g == 1e30``), a law deviation is a
  **warn** (a documented precision limit of adding noise to logits; the reference avoids it by
  normalising first).
* **invalid inputs** (NaN logits, all ``-inf``, ``+inf``, ``T`` = 0, negative, NaN, inf): a clear
  error is **ok**; NaN output is a **warn** (loud, but not an error: pytorch#184031 gives NaN
  at ``tau = 0``); an out-of-range index, or a valid-looking answer for NaN / all ``-inf``
  logits or a NaN temperature, is **fail** (the spec: "never an index K or a random index");
  a valid-looking answer for a negative temperature is a **warn** (accepted silently: it
  samples the reversed order); the one-hot at ``T = 0``, the uniform at ``T = inf`` and the
  ``+inf`` category at ``+inf`` logits are the limits (**ok/documented**).
* **extensions** (a batched temperature of shape ``[n, 1]`` for torch targets, beyond the
  scalar-``tau`` contract): an error is **info**, NaN a **warn**, a silently wrong row-wise law
  a **fail** (pytorch#37162 class).
* **adversarial streams** (:mod:`harness.probes.adversarial`): under ``u = 0`` and
  ``u = nextafter(1, 0)`` any NaN, out-of-range index or zero-probability category is
  **fail**; under ``exponential_() = 0 / -0.0`` it is a **warn**; an error is a **warn**.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from harness.kinds.jax import as_protocol
from harness.probes.reach import reach_findings
from harness.checks.samplers import TargetError, to_numpy
from harness.stats.discrete import chisquare_gof
from reference.softmax import softmax

__all__ = ["Finding", "probe_target", "SEVERITIES", "LAW_THRESHOLD"]

SEVERITIES = ("fail", "warn", "ok", "info")
LAW_THRESHOLD = 1e-6  # p-value below which a probe's mini goodness-of-fit flags a wrong law
NEG, POS, NAN = -math.inf, math.inf, math.nan


@dataclass(frozen=True)
class Finding:
    """What the target did with one probe input."""

    probe: str
    input: str
    domain: str  # "valid", "invalid", "adversarial"
    outcome: str
    severity: str  # "fail", "warn", "ok", "info"
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"[{self.severity.upper()}] {self.probe}: {self.input} -> {self.outcome}" + (
            f" ({self.detail})" if self.detail else "")


class _Outcome(Exception):
    def __init__(self, outcome: str, detail: str = ""):
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


def _np(out: Any) -> np.ndarray:
    try:  # None, a coroutine, a dict...: named as such, not "shape ()"
        return to_numpy(out, "it", widen_half=True)
    except TargetError as exc:
        raise _Outcome("invalid output", str(exc).removeprefix("it: ").removeprefix("it ")) from None


def _call(fn: Callable, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except TargetError as exc:
        msg = str(exc)
        if "did not return" in msg or "earlier call" in msg:
            raise _Outcome("hang", msg) from None
        raise _Outcome("clear error", _short(msg)) from None
    except Exception as exc:  # noqa: BLE001 - unguarded targets
        raise _Outcome("clear error", _short(f"{type(exc).__name__}: {exc}")) from None


def _short(msg: str, limit: int = 160) -> str:
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def _mini_law(counts: np.ndarray, p: np.ndarray) -> float:
    return float(chisquare_gof(counts, p).pvalue)


# ---------------------------------------------------------------- classification helpers ----

def _indices(out: Any, n: int, k: int) -> np.ndarray:
    a = _np(out)
    if a.shape != (n,):
        raise _Outcome("invalid output", f"shape {a.shape}, expected ({n},)")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise _Outcome("NaN output", f"{int(np.sum(~np.isfinite(a)))} of {n} values are NaN/inf")
        if np.any(a != np.round(a)):
            raise _Outcome("invalid output", "non-integer values")
    elif a.dtype.kind not in "iub":
        raise _Outcome("invalid output", f"dtype {a.dtype}")
    a = a.astype(np.int64)
    bad = (a < 0) | (a >= k)
    if bad.any():
        raise _Outcome("out-of-range index", f"{int(bad.sum())} of {n} indices outside [0, {k}): "
                       f"{np.unique(a[bad])[:4].tolist()}")
    return a


def _itemsize(out: Any) -> int:
    dt = getattr(out, "dtype", None)
    if dt is not None and str(dt).startswith("torch."):
        return {"torch.float16": 2, "torch.bfloat16": 2, "torch.float32": 4}.get(str(dt), 8)
    return np.asarray(out).dtype.itemsize


def _simplex(out: Any, shape: tuple, dim: int = -1) -> np.ndarray:
    size = _itemsize(out)
    a = _np(out)
    if tuple(a.shape) != tuple(shape):
        raise _Outcome("invalid output", f"shape {tuple(a.shape)}, expected {tuple(shape)}")
    if a.dtype.kind != "f":
        raise _Outcome("invalid output", f"dtype {a.dtype}")
    y = a.astype(np.float64)
    if y.size and not np.all(np.isfinite(y)):
        rows = int(np.sum(~np.all(np.isfinite(y), axis=dim)))
        raise _Outcome("NaN output", f"NaN/inf in {rows} of {y.size // max(1, shape[dim])} rows")
    # float64 output is held to float32 precision here, as in harness.checks.samplers.draw_relaxed: a
    # float64 output carrying float32 precision is ONE finding (contract.precision), not one per probe
    tol = {2: 1e-2}.get(size, 1e-4)
    if y.size:
        dev = float(np.max(np.abs(y.sum(axis=dim) - 1)))
        if y.min() < -tol:
            raise _Outcome("invalid output", f"negative values (min {y.min():.3g})")
        if dev > tol:
            raise _Outcome("invalid output", f"rows do not sum to 1 (max |sum-1| = {dev:.3g})")
        if y.max() > 1 + tol:
            raise _Outcome("invalid output", f"values above 1 (max {y.max():.9g})")
    return y


class _Recorder:
    def __init__(self, probe_prefix: str, hook: Any = None):
        self.findings: list[Finding] = []
        self.prefix = probe_prefix
        self.hook = hook

    def run(self, probe: str, desc: str, domain: str, body: Callable[[], tuple[str, str]],
            on_error: str | None = None, on_nan: str | None = None) -> None:
        """``body`` returns (outcome, detail) for a valid-looking answer, or raises _Outcome.
        ``hook.start(probe_id, desc, domain)`` (the supervised worker's) is told before each
        case; when it returns a :class:`Finding` (the case was killed in an earlier worker),
        that finding is recorded and the case is not run again."""
        if self.hook is not None:
            known = self.hook.start(f"{self.prefix}.{probe}", desc, domain)
            if known is not None:
                self.findings.append(known)
                return
        try:
            outcome, detail = body()
        except _Outcome as o:
            outcome, detail = o.outcome, o.detail
        except Exception as exc:  # noqa: BLE001 - harness-side failure while classifying
            outcome, detail = "invalid output", _short(f"{type(exc).__name__}: {exc}")
        sev = self._severity(domain, outcome, on_error, on_nan)
        self.findings.append(Finding(f"{self.prefix}.{probe}", desc, domain, outcome, sev, detail))

    @staticmethod
    def _severity(domain: str, outcome: str, on_error: str | None, on_nan: str | None) -> str:
        if outcome == "ok/documented":
            return "ok"
        if outcome == "not probed":
            return "info"
        if outcome in ("hang", "out-of-range index"):
            return "fail"
        if outcome == "clear error":
            return on_error or {"valid": "warn", "invalid": "ok", "extension": "info"}.get(domain, "warn")
        if outcome == "NaN output":
            return on_nan or ("warn" if domain in ("invalid", "extension") else "fail")
        return "fail" if domain != "invalid" or outcome != "invalid output" else "warn"


# ---------------------------------------------------------------- categorical -------------

def _cat_cases():
    """(probe, description, domain, logits, n, check) with check(idx, x) -> (outcome, detail)."""
    def never(forbidden):
        def chk(idx, x):
            hit = np.isin(idx, forbidden)
            if hit.any():
                raise _Outcome("silent wrong answer", f"zero-probability category {np.unique(idx[hit]).tolist()} "
                               f"sampled {int(hit.sum())} times")
            return "ok/documented", "zero-probability categories never sampled"
        return chk

    def law(sev_note=""):
        def chk(idx, x):
            p = softmax(np.asarray(x, dtype=np.float64))
            pv = _mini_law(np.bincount(idx, minlength=p.size), p)
            if pv < LAW_THRESHOLD:
                freq = np.bincount(idx, minlength=p.size) / idx.size
                raise _Outcome("silent wrong answer", f"frequencies {np.round(freq, 3).tolist()} vs "
                               f"p = {np.round(p, 3).tolist()} (chi-square p = {pv:.2g}){sev_note}")
            return "ok/documented", f"valid indices, frequencies fit p (chi-square p = {pv:.2g})"
        return chk

    def const(i):
        def chk(idx, x):
            if np.all(idx == i):
                return "ok/documented", f"always {i}"
            raise _Outcome("silent wrong answer", f"returned {np.unique(idx)[:5].tolist()}, expected only {i}")
        return chk

    def silent(idx, x):
        raise _Outcome("silent wrong answer", f"returned valid-looking indices {np.unique(idx)[:5].tolist()} "
                       "for logits that define no distribution")

    def posinf(idx, x):
        if np.all(np.isposinf(np.asarray(x)[idx])):
            return "ok/documented", "always the +inf category (point-mass limit)"
        raise _Outcome("silent wrong answer", f"returned {np.unique(idx)[:5].tolist()}, not the +inf category")

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


def _probe_categorical(fn: Callable, rec: _Recorder, seed: int) -> None:
    for i, (probe, desc, domain, x, n, chk) in enumerate(_cat_cases()):
        def body(x=x, n=n, chk=chk, s=seed + i):
            idx = _indices(_call(fn, x, n, s), n, x.shape[-1])
            return chk(idx, x)
        sev_law = "warn" if probe == "huge_1e30_tie" else None
        rec.run(probe, desc, domain, body, on_nan=None)
        if sev_law and rec.findings[-1].outcome == "silent wrong answer":
            f = rec.findings[-1]
            rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn", f.detail)


# ---------------------------------------------------------------- relaxed / torch ---------

def _relaxed_cases():
    """(probe, desc, domain, logits, T, n, check(y, x, T) -> (outcome, detail))."""
    def zero_at(forbidden):
        def chk(y, x, t):
            if np.any(y[:, forbidden] != 0):
                raise _Outcome("silent wrong answer", f"positive mass {y[:, forbidden].max():.3g} on a "
                               "zero-probability (-inf) category")
            return "ok/documented", "-inf categories get exactly 0"
        return chk

    def rounding(extra=""):
        def chk(y, x, t):
            p = softmax(np.asarray(x, dtype=np.float64))
            idx = np.argmax(y, axis=1)
            pv = _mini_law(np.bincount(idx, minlength=p.size), p)
            if pv < LAW_THRESHOLD:
                raise _Outcome("silent wrong answer", f"argmax frequencies contradict softmax(x) (chi-square p = "
                               f"{pv:.2g}){extra}")
            return "ok/documented", f"on the simplex; argmax frequencies fit (p = {pv:.2g})"
        return chk

    def fine(msg):
        return lambda y, x, t: ("ok/documented", msg)

    def silent(y, x, t):
        raise _Outcome("silent wrong answer", "returned valid-looking simplex points for an input that defines "
                       "no distribution")

    def onehot_limit(y, x, t):
        if np.all(np.sum(y == 1, axis=1) == 1):
            return "ok/documented", "one-hot (the T -> 0 limit)"
        raise _Outcome("silent wrong answer", "valid-looking non-one-hot output at T = 0")

    def uniform_limit(y, x, t):
        fin = np.isfinite(np.asarray(x, dtype=np.float64))
        if np.allclose(y[:, fin], 1.0 / fin.sum(), atol=1e-6):
            return "ok/documented", "uniform (the T -> inf limit)"
        raise _Outcome("silent wrong answer", "valid-looking non-uniform output at T = inf")

    def negative(y, x, t):
        raise _Outcome("silent wrong answer", "accepted a negative temperature silently (samples the reversed "
                       "order)")

    def posinf(y, x, t):
        j = np.isposinf(np.asarray(x))
        if np.allclose(y[:, j].sum(axis=1), 1.0):
            return "ok/documented", "all mass on the +inf category (limit)"
        raise _Outcome("silent wrong answer", "valid-looking output not concentrated on the +inf category")

    big = np.zeros(152_064)
    big[::97] = 1.0
    return [
        ("neginf_one", "one -inf logit, T = 1", "valid", np.array([0.5, NEG, 0.0, 1.0]), 1.0, 500, zero_at([1])),
        ("neginf_all_but_one", "all but one -inf, T = 1", "valid", np.array([NEG, 0.3, NEG]), 1.0, 100,
         lambda y, x, t: ("ok/documented", "exact one-hot") if np.all(y[:, 1] == 1) else
         (_ for _ in ()).throw(_Outcome("silent wrong answer", "mass off the only finite category"))),
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
         (_ for _ in ()).throw(_Outcome("silent wrong answer", "K = 1 output is not exactly 1"))),
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


def _probe_relaxed(fn: Callable, rec: _Recorder, seed: int) -> None:
    for i, (probe, desc, domain, x, t, n, chk) in enumerate(_relaxed_cases()):
        def body(x=x, t=t, n=n, chk=chk, s=seed + i):
            y = _simplex(_call(fn, x, t, n, s), (n, x.shape[-1]))
            return chk(y, x, t)
        rec.run(probe, desc, domain, body)
        _soften(rec, probe)


def _soften(rec: _Recorder, probe: str) -> None:
    f = rec.findings[-1]
    if probe in _WARN_SILENT and f.outcome == "silent wrong answer":
        rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn", f.detail)


def _probe_torch(fn: Callable, rec: _Recorder, seed: int) -> None:
    import torch

    def tensor(x, dtype=torch.float64, n=1):
        return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64).expand(n, -1).to(dtype).contiguous()

    for i, (probe, desc, domain, x, t, n, chk) in enumerate(_relaxed_cases()):
        if probe in ("float16", "empty"):
            continue

        def body(x=x, t=t, n=n, chk=chk, s=seed + i):
            torch.manual_seed(s)
            with torch.no_grad():
                out = _call(fn, tensor(x, n=n), tau=t, hard=False, dim=-1)
            return chk(_simplex(out, (n, x.shape[-1])), x, t)
        rec.run(probe, desc, domain, body)
        _soften(rec, probe)

    def hard_body(x, n, expect_never=(), law=False):
        def body():
            torch.manual_seed(seed)
            with torch.no_grad():
                out = _call(fn, tensor(x, n=n), tau=1.0, hard=True, dim=-1)
            y = _simplex(out, (n, len(x)))
            if not np.all(np.sum(y == 1, axis=1) == 1):
                raise _Outcome("invalid output", "hard=True rows are not exactly one-hot")
            idx = np.argmax(y, axis=1)
            if np.isin(idx, list(expect_never)).any():
                raise _Outcome("silent wrong answer", "a zero-probability category was selected")
            if law:
                p = softmax(np.asarray(x, dtype=np.float64))
                pv = _mini_law(np.bincount(idx, minlength=p.size), p)
                if pv < LAW_THRESHOLD:
                    raise _Outcome("silent wrong answer", f"hard=True frequencies contradict softmax(x) "
                                   f"(chi-square p = {pv:.2g})")
            return "ok/documented", "exactly one-hot"
        return body

    rec.run("hard_neginf", "hard=True with a -inf logit", "valid", hard_body([0.5, NEG, 0.0, 1.0], 2000, [1]))
    rec.run("hard_1e30_tie", "hard=True with a tie at 1e30 [1e30, -1e30, 0, 1e30]", "valid",
            hard_body([1e30, -1e30, 0.0, 1e30], 20000, [1, 2], law=True))
    f = rec.findings[-1]
    if f.outcome == "silent wrong answer":  # precision limit, module doc
        rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn",
                                   f.detail + " (noise absorbed by 1e30: 1e30 + g == 1e30 in float64)")
    rec.run("hard_nan", "hard=True with a NaN logit", "invalid", _hard_invalid(fn, [0.0, NAN, 1.0], seed))
    rec.run("hard_all_neginf", "hard=True with all -inf logits", "invalid", _hard_invalid(fn, [NEG, NEG], seed))

    for dname in ("float16", "bfloat16"):
        def body(dname=dname):
            dt = getattr(torch, dname)
            torch.manual_seed(seed)
            with torch.no_grad():
                out = _call(fn, tensor(LOG4, dt, 20000), tau=1.0, hard=False, dim=-1)
            if getattr(out, "dtype", None) != dt:
                raise _Outcome("invalid output", f"output dtype {getattr(out, 'dtype', type(out))}, expected {dt}")
            return _rounding_ok(_simplex(out, (20000, 4)), LOG4)
        rec.run(dname, f"{dname} logits", "valid", body)

    def empty():
        with torch.no_grad():
            out = _call(fn, torch.zeros((0, 4), dtype=torch.float64), tau=1.0, hard=False, dim=-1)
        if tuple(getattr(out, "shape", ())) != (0, 4):
            raise _Outcome("invalid output", f"shape {tuple(getattr(out, 'shape', ()))}, expected (0, 4)")
        return "ok/documented", "empty (0, 4) result"
    rec.run("empty", "empty batch, shape (0, 4)", "valid", empty)

    def noncontig():
        base = torch.zeros((20000, 8), dtype=torch.float64)
        base[:, 1::2] = torch.as_tensor(LOG4)
        x = base[:, 1::2]
        torch.manual_seed(seed)
        with torch.no_grad():
            out = _call(fn, x, tau=1.0, hard=True, dim=-1)
        y = _simplex(out, (20000, 4))
        pv = _mini_law(np.bincount(np.argmax(y, axis=1), minlength=4), softmax(LOG4))
        if pv < LAW_THRESHOLD:
            raise _Outcome("silent wrong answer", f"frequencies on a strided view contradict softmax(x) "
                           f"(p = {pv:.2g}; strides ignored?)")
        return "ok/documented", f"law holds on a strided view (p = {pv:.2g})"
    rec.run("noncontiguous", "non-contiguous view x[:, 1::2], hard=True", "valid", noncontig)

    def batched_tau():
        n = 20000
        tau = torch.full((n, 1), 0.5, dtype=torch.float64)
        tau[1::2] = 2.0
        torch.manual_seed(seed)
        with torch.no_grad():
            out = _call(fn, tensor(LOG4, n=n), tau=tau, hard=False, dim=-1)
        y = _simplex(out, (n, 4))
        # C2: T_row * log(y_1/y_4) - (x_1 - x_4) ~ Logistic for each row's own temperature
        with np.errstate(divide="ignore"):
            d = tau.numpy()[:, 0] * (np.log(y[:, 0]) - np.log(y[:, 3])) - (LOG4[0] - LOG4[3])
        d = d[np.isfinite(d)]
        from scipy import stats as sps
        pv = float(sps.kstest(d, sps.logistic.cdf).pvalue)
        if pv < LAW_THRESHOLD:
            raise _Outcome("silent wrong answer", f"per-row temperatures not applied row-wise (KS p = {pv:.2g})")
        return "ok/documented", f"per-row temperatures applied (KS p = {pv:.2g})"
    # beyond F.gumbel_softmax's scalar-tau contract: an error is fine (info), NaN a warning, a
    # silently wrong row-wise law a failure (pytorch#37162 class)
    rec.run("batched_tau", "batched temperature tau of shape [n, 1] (0.5 / 2 alternating)", "extension",
            batched_tau)


def _rounding_ok(y: np.ndarray, x: np.ndarray) -> tuple[str, str]:
    p = softmax(np.asarray(x, dtype=np.float64))
    pv = _mini_law(np.bincount(np.argmax(y, axis=1), minlength=p.size), p)
    if pv < LAW_THRESHOLD:
        raise _Outcome("silent wrong answer", f"argmax frequencies contradict softmax(x) (chi-square p = {pv:.2g})")
    return "ok/documented", f"on the simplex; argmax frequencies fit (p = {pv:.2g})"


def _hard_invalid(fn, x, seed):
    import torch

    def body():
        torch.manual_seed(seed)
        with torch.no_grad():
            out = _call(fn, torch.as_tensor(np.asarray(x, dtype=np.float64)).expand(50, -1).contiguous(),
                        tau=1.0, hard=True, dim=-1)
        _simplex(out, (50, len(x)))
        raise _Outcome("silent wrong answer", "returned valid one-hot rows for logits that define no distribution")
    return body


# ---------------------------------------------------------------- noise -------------------

def _probe_noise(fn: Callable, rec: _Recorder, seed: int) -> None:
    def shaped(shape):
        def body():
            a = _np(_call(fn, shape, seed))
            if tuple(a.shape) != tuple(shape):
                raise _Outcome("invalid output", f"shape {tuple(a.shape)}, expected {tuple(shape)}")
            if a.dtype.kind != "f":
                raise _Outcome("invalid output", f"dtype {a.dtype}")
            if a.size and not np.all(np.isfinite(a.astype(np.float64))):
                raise _Outcome("NaN output", "non-finite noise")
            return "ok/documented", f"shape {tuple(shape)}, finite"
        return body

    rec.run("empty", "shape (0,)", "valid", shaped((0,)))
    rec.run("one", "shape (1,)", "valid", shaped((1,)))
    rec.run("2d", "shape (3, 5)", "valid", shaped((3, 5)))


# ---------------------------------------------------------------- adversarial -------------

def _probe_adversarial(fn: Callable, kind: str, rec: _Recorder, seed: int) -> None:
    from harness.probes.adversarial import MODES, adversarial_streams

    x = np.array([NEG, 0.5, 0.0, 1.0])
    x2 = np.array([0.2, 1.0, NEG])
    for mode, (what, sev) in MODES.items():
        delivered = [0]

        def body(mode=mode):
            with adversarial_streams(mode) as st:
                try:
                    for xx in (x, x2):
                        _adv_call(fn, kind, xx, seed)
                finally:
                    delivered[0] = st.delivered
            return "ok/documented", ("finite noise" if kind == "noise" else
                                     "valid output, zero-probability categories never selected")

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


def _adv_call(fn: Callable, kind: str, x: np.ndarray, seed: int) -> None:
    forbidden = np.flatnonzero(np.isneginf(x))
    k = x.size
    if kind == "categorical":
        idx = _indices(_call(fn, x, 2048, seed), 2048, k)
        if np.isin(idx, forbidden).any():
            raise _Outcome("silent wrong answer", f"zero-probability category {forbidden.tolist()} selected "
                           f"{int(np.isin(idx, forbidden).sum())} times")
    elif kind == "relaxed":
        y = _simplex(_call(fn, x, 0.5, 1024, seed), (1024, k))
        if np.any(y[:, forbidden] != 0):
            raise _Outcome("silent wrong answer", "positive mass on a -inf category")
    elif kind == "noise":
        a = _np(_call(fn, (4096,), seed)).astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise _Outcome("NaN output", f"{int(np.sum(~np.isfinite(a)))} of 4096 noise values are "
                           f"non-finite, e.g. {a[~np.isfinite(a)][:3].tolist()}")
    elif kind == "torch":
        import torch

        for hard in (False, True):
            torch.manual_seed(seed)
            xt = torch.as_tensor(x).expand(1024, -1).contiguous()
            with torch.no_grad():
                y = _simplex(_call(fn, xt, tau=0.5, hard=hard, dim=-1), (1024, k))
            if np.any(y[:, forbidden] != 0):
                raise _Outcome("silent wrong answer", f"hard={hard}: mass on a -inf category")


def probe_target(fn: Callable, kind: str, *, seed: int = 0, adversarial: bool = True,
                 bad_inputs: bool = True, hook: Any = None) -> list[Finding]:
    """Run the bad-input probe (and the adversarial-stream probe) on a (guarded) target of
    ``kind`` and return the findings. Never raises for the target's misbehaviour. ``hook``: see
    ``_Recorder.run`` (used by :mod:`harness.run.worker`)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow/NaN warnings are what we probe
        return _probe_all(fn, kind, seed, adversarial, bad_inputs, hook)


def _probe_all(fn: Callable, kind: str, seed: int, adversarial: bool, bad_inputs: bool,
               hook: Any = None) -> list[Finding]:
    rec = _Recorder("probe", hook)
    s = int(seed) % (2**31)
    if kind == "token":  # batched LLM token samplers: their own cases (harness.kinds.token_probes)
        found = __import__("harness.kinds.token_probes", fromlist=["probe_token"]).probe_token(
            fn, s, adversarial, bad_inputs)
        return found + (reach_findings(fn, kind, s) if adversarial else [])
    fn, kind = as_protocol(fn, kind)  # jax kinds: probed through their NumPy-protocol adapters
    if bad_inputs:
        {"categorical": _probe_categorical, "relaxed": _probe_relaxed, "noise": _probe_noise,
         "torch": _probe_torch}[kind](fn, rec, s)
    if adversarial:
        adv = _Recorder("adversarial", hook)
        _probe_adversarial(fn, kind, adv, s)
        rec.findings.extend(adv.findings)
        rec.findings.extend(reach_findings(fn, kind, s))  # precision reach (harness.probes.reach)
    if bad_inputs:  # reproducibility, precision, input mutation (harness.probes.contract)
        from harness.probes.contract import contract_findings

        rec.findings.extend(contract_findings(fn, kind, s))
    return rec.findings
