r"""Findings and the helpers that record them: what a target did with one probe input.

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

The per-kind cases live in the kinds (:mod:`harness.kinds`); this module holds what they
share: :class:`Finding`, :class:`Recorder` (runs one case and classifies it), :class:`Outcome`
(raised by a case body), :func:`call` (one call of the target, errors classified),
:func:`indices` / :func:`simplex` / :func:`as_array` (output validation) and :func:`mini_law`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from harness.checks.samplers import TargetError, to_numpy
from harness.stats.discrete import chisquare_gof

__all__ = ["Finding", "Recorder", "Outcome", "call", "indices", "simplex", "as_array", "itemsize", "mini_law", "masked_rows", "masked_batch",
           "short", "SEVERITIES", "LAW_THRESHOLD", "NEG", "POS", "NAN"]

NEG, POS, NAN = -math.inf, math.inf, math.nan

SEVERITIES = ("fail", "warn", "ok", "info")


LAW_THRESHOLD = 1e-6  # p-value below which a probe's mini goodness-of-fit flags a wrong law


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


class Outcome(Exception):
    def __init__(self, outcome: str, detail: str = ""):
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


def as_array(out: Any) -> np.ndarray:
    try:  # None, a coroutine, a dict...: named as such, not "shape ()"
        return to_numpy(out, "it", widen_half=True)
    except TargetError as exc:
        raise Outcome("invalid output", str(exc).removeprefix("it: ").removeprefix("it ")) from None


def call(fn: Callable, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except TargetError as exc:
        msg = str(exc)
        if "did not return" in msg or "earlier call" in msg:
            raise Outcome("hang", msg) from None
        raise Outcome("clear error", short(msg)) from None
    except Exception as exc:  # noqa: BLE001 - unguarded targets
        raise Outcome("clear error", short(f"{type(exc).__name__}: {exc}")) from None


def short(msg: str, limit: int = 160) -> str:
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def mini_law(counts: np.ndarray, p: np.ndarray) -> float:
    return float(chisquare_gof(counts, p).pvalue)


def indices(out: Any, n: int, k: int) -> np.ndarray:
    a = as_array(out)
    if a.shape != (n,):
        raise Outcome("invalid output", f"shape {a.shape}, expected ({n},)")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise Outcome("NaN output", f"{int(np.sum(~np.isfinite(a)))} of {n} values are NaN/inf")
        if np.any(a != np.round(a)):
            raise Outcome("invalid output", "non-integer values")
    elif a.dtype.kind not in "iub":
        raise Outcome("invalid output", f"dtype {a.dtype}")
    a = a.astype(np.int64)
    bad = (a < 0) | (a >= k)
    if bad.any():
        raise Outcome("out-of-range index", f"{int(bad.sum())} of {n} indices outside [0, {k}): "
                       f"{np.unique(a[bad])[:4].tolist()}")
    return a


def itemsize(out: Any) -> int:
    dt = getattr(out, "dtype", None)
    if dt is not None and str(dt).startswith("torch."):
        return {"torch.float16": 2, "torch.bfloat16": 2, "torch.float32": 4}.get(str(dt), 8)
    return np.asarray(out).dtype.itemsize


def simplex(out: Any, shape: tuple, dim: int = -1) -> np.ndarray:
    size = itemsize(out)
    a = as_array(out)
    if tuple(a.shape) != tuple(shape):
        raise Outcome("invalid output", f"shape {tuple(a.shape)}, expected {tuple(shape)}")
    if a.dtype.kind != "f":
        raise Outcome("invalid output", f"dtype {a.dtype}")
    y = a.astype(np.float64)
    if y.size and not np.all(np.isfinite(y)):
        rows = int(np.sum(~np.all(np.isfinite(y), axis=dim)))
        raise Outcome("NaN output", f"NaN/inf in {rows} of {y.size // max(1, shape[dim])} rows")
    # float64 output is held to float32 precision here, as in harness.checks.samplers.draw_relaxed: a
    # float64 output carrying float32 precision is ONE finding (contract.precision), not one per probe
    tol = {2: 1e-2}.get(size, 1e-4)
    if y.size:
        dev = float(np.max(np.abs(y.sum(axis=dim) - 1)))
        if y.min() < -tol:
            raise Outcome("invalid output", f"negative values (min {y.min():.3g})")
        if dev > tol:
            raise Outcome("invalid output", f"rows do not sum to 1 (max |sum-1| = {dev:.3g})")
        if y.max() > 1 + tol:
            raise Outcome("invalid output", f"values above 1 (max {y.max():.9g})")
    return y


class Recorder:
    def __init__(self, probe_prefix: str, hook: Any = None):
        self.findings: list[Finding] = []
        self.prefix = probe_prefix
        self.hook = hook

    def run(self, probe: str, desc: str, domain: str, body: Callable[[], tuple[str, str]],
            on_error: str | None = None, on_nan: str | None = None) -> None:
        """``body`` returns (outcome, detail) for a valid-looking answer, or raises Outcome.
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
        except Outcome as o:
            outcome, detail = o.outcome, o.detail
        except Exception as exc:  # noqa: BLE001 - harness-side failure while classifying
            outcome, detail = "invalid output", short(f"{type(exc).__name__}: {exc}")
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


def masked_rows(sizes: tuple[int, ...] = (3, 4, 8)) -> list[np.ndarray]:
    """Logits with the masked (``-inf``) category at every position, for each K of ``sizes``: a
    sampler whose fallback for a row it cannot score (all NaN under an exact-zero exponential)
    lands on a fixed index is caught wherever that index is (``torch.topk`` on an all-NaN row of
    K = 4 returns 2)."""
    rows = []
    for k in sizes:
        base = np.linspace(1.0, -0.5, k)
        for j in range(k):
            x = base.copy()
            x[j] = -math.inf
            rows.append(x)
    return rows


def masked_batch(k: int, b: int = 1024) -> np.ndarray:
    """``[b, k]`` logits whose row r has the masked (``-inf``) category at (r k / 128) mod k: the
    burst rows of every period of 128 forced draws (:mod:`harness.probes.adversarial`) see each
    position in turn, so one batched call covers every position (:func:`masked_rows` per row)."""
    pos = (np.arange(b) * k // 128) % k
    rows = np.tile(np.linspace(1.0, -0.5, k), (b, 1))
    rows[np.arange(b), pos] = -math.inf
    return rows
