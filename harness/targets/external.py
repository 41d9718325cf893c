r"""Samplers in any language: a ``command`` target (an executable run per call) and offline
``--samples`` files.

Command targets
---------------
:class:`CommandTarget` wraps a command template and follows the NumPy protocol of its kind
(``categorical``, ``relaxed`` or ``noise``), so every plan and probe runs unchanged::

    gumbel-harness check --command "./my_sampler --n {n} --seed {seed} --logits {logits}" --kind categorical

Each call substitutes the placeholders (after ``shlex`` splitting, so paths with spaces are
safe) and runs the command without a shell:

=================  ==========================================================================
placeholder        value
=================  ==========================================================================
``{n}``            number of samples (``noise``: number of draws, the product of the shape)
``{seed}``         the call's seed, a decimal integer in ``[0, 2^63)``
``{k}``            number of categories K
``{temperature}``  the temperature (``relaxed``), ``repr`` of a float
``{logits}``       path of a text file: the K logits on one line, whitespace-separated, with
                   ``-inf`` / ``inf`` / ``nan`` spelled so (C ``strtod`` reads them)
``{logits_npy}``   path of the same logits as a float64 ``.npy`` file
``{out}``          path of a file the command writes its samples to (``.npy`` or text);
                   without ``{out}`` the samples are read from standard output
=================  ==========================================================================

Standard input always carries the logits line too (then EOF), so a sampler may read them there.
Samples: whitespace-separated text (or ``.npy`` in ``{out}``): ``categorical`` ``n`` integers,
``relaxed`` ``n`` rows of ``K`` numbers, ``noise`` ``n`` numbers.

Per call: a timeout (``timeout``, default 120 s; the command runs in its own process group,
killed with SIGKILL on expiry), and every failure is a :class:`~harness.checks.samplers.TargetError`
naming it: a nonzero exit status (with the tail of stderr), death by a signal (its name), an
executable that cannot be started, output that does not parse. The adversarial streams and the
precision-reach probe cannot reach another process's random generator: their findings read "not
probed" / "not measurable".

Offline samples
---------------
:func:`check_samples` checks one fixed sample (``--samples FILE --logits FILE``). A fixed sample
supports only the laws at the logits it was drawn for: ``categorical``: the argmax law (Pearson
chi-square with pooling, or the exact multinomial test for small N: T1); ``relaxed`` (needs
``--temperature``): the rounding law C3, the log-ratio scale and marginals C2; ``noise``: the
Gumbel law (KS, Anderson-Darling), the upper tail, the resolution. It **cannot** check
reproducibility (no seeds), other logits regimes, independence between calls, bad inputs,
adversarial streams or the precision reach (no probes), and its power is that of its own N.
"""
from __future__ import annotations

import math
import os
import shlex
import signal
import subprocess
import tempfile
from typing import Any

import numpy as np

from harness.checks.samplers import TargetError
from harness.kinds.base import all_kinds, get_kind

__all__ = ["CommandTarget", "FixedSample", "read_array", "command_kinds", "load_array", "OFFLINE_STATEMENT"]


def command_kinds() -> list[str]:
    """The kinds a command template or a fixed sample can reach (their ``external`` protocol)."""
    return [k.name for k in all_kinds() if k.external is not None]


def _external(kind: str, what: str):
    k = get_kind(kind)
    if k.external is None:
        raise ValueError(f"{what} has kind {' / '.join(command_kinds())}, not {kind!r}")
    return k.external
_PLACEHOLDERS = ("n", "seed", "k", "temperature", "logits", "logits_npy", "out")


def _fmt(v: float) -> str:
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(float(v))


def read_array(data: bytes, what: str) -> np.ndarray:
    """Parse ``.npy`` bytes or whitespace-separated text into a float64 array (flat for text)."""
    if data[:6] == b"\x93NUMPY":
        import io

        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise TargetError(f"{what}: unreadable .npy data: {exc}") from exc
    tokens = data.split()
    try:  # integers first (categorical output: ~1.5x faster), then floats; ~0.5-1 s per million values
        return np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError as exc:
        bad = next((t for t in tokens if not _is_number(t)), b"?").decode("utf-8", errors="replace")
        raise TargetError(f"{what}: output is not whitespace-separated numbers (e.g. {bad[:40]!r})") from exc


def _is_number(t: bytes) -> bool:
    try:
        float(t)
        return True
    except ValueError:
        return False


class CommandTarget:
    """A protocol callable that runs ``template`` per call (module doc). Picklable."""

    def __init__(self, template: str, kind: str, *, timeout: float | None = 120.0, cwd: str | None = None):
        self.protocol = _external(kind, "a command target")
        try:
            self.argv = shlex.split(template)
        except ValueError as exc:
            raise ValueError(f"cannot parse the command {template!r}: {exc}") from None
        if not self.argv:
            raise ValueError("the command is empty")
        for tok in self.argv:
            try:
                tok.format(**{p: "" for p in _PLACEHOLDERS})
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"unknown or malformed placeholder in {tok!r} ({exc}); use "
                                 f"{', '.join('{' + p + '}' for p in _PLACEHOLDERS)} ({{{{ }}}} for braces)") from None
        self.template, self.kind = template, kind
        self.timeout = None if timeout is None or timeout <= 0 else float(timeout)
        self.cwd = cwd
        self.gumbel_harness_kind = kind
        self.gumbel_harness_name = f"command:{template}"

    def __repr__(self) -> str:
        return f"CommandTarget({self.template!r}, kind={self.kind!r})"

    # the protocols ------------------------------------------------------------------
    def __call__(self, *args: Any) -> np.ndarray:
        x, n, seed, t, shape = self.protocol.request(args)
        return self._run(np.zeros(0) if x is None else x, n, seed, t, shape)

    def _run(self, x: np.ndarray, n: int, seed: int, t: float | None, shape: tuple) -> np.ndarray:
        line = " ".join(_fmt(v) for v in x.ravel()) + "\n"
        with tempfile.TemporaryDirectory(prefix="gumbel-harness-cmd-") as d:
            paths = {"logits": os.path.join(d, "logits.txt"), "logits_npy": os.path.join(d, "logits.npy"),
                     "out": os.path.join(d, "out")}
            with open(paths["logits"], "w") as fh:
                fh.write(line)
            np.save(paths["logits_npy"], x)
            values = {"n": str(n), "seed": str(seed), "k": str(x.size), "logits": paths["logits"],
                      "logits_npy": paths["logits_npy"], "out": paths["out"],
                      "temperature": "" if t is None else repr(t)}
            argv = [tok.format(**values) for tok in self.argv]
            uses_out = any("{out}" in tok for tok in self.argv)
            what = f"command {shlex.join(argv[:1])} (n={n}, seed={seed})"
            stdout = self._exec(argv, line.encode(), what)
            if uses_out:
                if not os.path.exists(paths["out"]):
                    raise TargetError(f"{what} exited 0 but wrote no {{out}} file")
                with open(paths["out"], "rb") as fh:
                    stdout = fh.read()
        arr = read_array(stdout, what)
        if arr.size != int(np.prod(shape)):
            raise TargetError(f"{what} returned {arr.size} values, expected {int(np.prod(shape))} "
                              f"(shape {shape})")
        arr = arr.reshape(shape)
        if self.protocol.integer_output and arr.dtype.kind == "f" and np.all(np.isfinite(arr)) \
                and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif not self.protocol.integer_output and arr.dtype.kind in "iu":
            arr = arr.astype(np.float64)
        return arr

    def _exec(self, argv: list[str], stdin: bytes, what: str) -> bytes:
        try:
            p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 cwd=self.cwd, start_new_session=True)
        except OSError as exc:
            raise TargetError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
        try:
            out, err = p.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(p)
            raise TargetError(f"{what} did not return within the per-call timeout of {self.timeout:g} s "
                              "(its process group was killed)") from None
        except BaseException:
            _kill_group(p)
            raise
        if p.returncode < 0:
            try:
                name = signal.Signals(-p.returncode).name
            except ValueError:
                name = f"signal {-p.returncode}"
            raise TargetError(f"{what} was killed by {name}{_tail(err)}")
        if p.returncode != 0:
            raise TargetError(f"{what} exited with status {p.returncode}{_tail(err)}")
        return out


def _tail(err: bytes, limit: int = 300) -> str:
    text = " ".join(err.decode("utf-8", errors="replace").split())
    return f": {text[-limit:]}" if text else ""


def _kill_group(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.communicate(timeout=5)
    except Exception:  # noqa: BLE001
        pass


# ---------------------------------------------------------------- offline samples ---------

OFFLINE_STATEMENT = (
    "offline sample: only the laws at the logits it was drawn for are checked, with the power of its own N. "
    "Not checked (a fixed sample cannot support them): reproducibility (no seeds), other logits regimes, "
    "independence between calls, bad inputs, adversarial streams, precision reach (no probes).")


class FixedSample:
    """The fixed sample as a protocol callable: serves consecutive slices of it (the harness asks
    for all N draws, in chunks for large N) for its own logits and temperature; any other request
    is a TargetError (it cannot be redrawn). Picklable."""

    def __init__(self, samples: np.ndarray, logits: np.ndarray | None, kind: str, temperature: float | None = None):
        self.samples, self.logits, self.kind, self.temperature = samples, logits, kind, temperature
        self.offset = 0

    def _next(self, n: int) -> np.ndarray:
        total = len(self.samples)
        if self.offset + n > total:
            raise TargetError(f"the fixed sample holds {total} draws; {self.offset + n} were requested")
        out = self.samples[self.offset:self.offset + n]
        self.offset = (self.offset + n) % total
        return out

    def __call__(self, *args):
        logits, n, _seed, t, shape = get_kind(self.kind).external.request(args)
        if logits is None:
            return self._next(n).reshape(shape)
        if t is not None and (self.temperature is None or not math.isclose(t, self.temperature)):
            raise TargetError(f"the fixed sample was drawn at T = {self.temperature}, not {t}")
        if not np.array_equal(logits, self.logits):
            raise TargetError("a fixed sample cannot be redrawn for other logits")
        return self._next(n)


def load_array(path: str, what: str) -> np.ndarray:
    """The numbers of a samples / logits file (text or ``.npy``); ``ValueError`` when unusable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ValueError(f"cannot read {what} file {path!r}: {exc.strerror or exc}") from None
    try:
        return read_array(data, f"{what} file {path}")
    except TargetError as exc:
        raise ValueError(str(exc)) from None
