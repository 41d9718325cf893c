"""The process-wide state a sampler must leave alone (NumPy's and Python's global RNGs, NumPy's
error settings, torch's default dtype / grad mode / RNG, non-daemon threads): snapshot, compare,
restore; and what the protocol trial call changed (:func:`trial_notes`)."""
from __future__ import annotations

import random
import sys
import threading
from typing import Any

import numpy as np

from harness.kinds.base import get_kind

__all__ = ["GlobalState", "trial_notes"]


class GlobalState:
    """Snapshot / compare / restore of the process-wide state a sampler must leave alone."""

    def __init__(self, kind: Any = None, options: Any = None):
        """``kind``: the :class:`~harness.kinds.Kind` (or its name) whose run this watches: its
        ``preload`` modules are imported first (importing jax draws from NumPy's global RNG: not
        the target's doing), and torch's RNG is not watched when the kind's protocol, under the
        run's ``options``, makes the harness seed it (``Kind.seeds_torch_for``). ``None``: the
        harness seeds torch itself (built-ins' extra checks)."""
        import importlib

        k = get_kind(kind) if kind is not None else None
        self.watch_torch_rng = k is not None and not k.seeds_torch_for(options)
        for mod in (k.preload if k is not None else ()):
            if mod != "torch":
                importlib.import_module(mod)

    def capture(self) -> dict[str, Any]:
        snap: dict[str, Any] = {
            "numpy.random global state": np.random.get_state(),
            "python random state": random.getstate(),
            "numpy floating-point error settings": np.geterr(),
            "non-daemon threads": {t.ident for t in threading.enumerate() if not t.daemon},
        }
        torch = sys.modules.get("torch")
        if torch is not None:
            snap["torch default dtype"] = torch.get_default_dtype()
            snap["torch grad mode"] = torch.is_grad_enabled()
            if self.watch_torch_rng:
                snap["torch global RNG state"] = torch.get_rng_state()
        return snap

    def changes(self, before: dict[str, Any]) -> list[tuple[str, str]]:
        """``(probe, key, detail)`` for every item that differs from ``before``; then restores it."""
        after = self.capture()
        out = []
        for key, old in before.items():
            new = after.get(key)
            if key == "non-daemon threads":
                left = [t for t in threading.enumerate() if not t.daemon and t.ident not in old]
                if left:
                    out.append(("contract.threads", key, f"the target left {len(left)} non-daemon thread(s) "
                                f"running ({', '.join(t.name for t in left[:3])}): they would keep the "
                                "caller's process alive at exit"))
                continue
            if not _equal_state(old, new):
                out.append(("contract.global_state", key, f"{key} changed{_show(old, new)}; restored"))
                self._restore(key, old)
        torch = sys.modules.get("torch")
        if torch is not None and "torch default dtype" not in before:  # imported during the step
            for key, old, new, undo in (
                    ("torch default dtype", torch.float32, torch.get_default_dtype(), torch.set_default_dtype),
                    ("torch grad mode", True, torch.is_grad_enabled(), torch.set_grad_enabled)):
                if new != old:
                    out.append(("contract.global_state", key, f"{key} changed ({old} -> {new}); restored"))
                    undo(old)
        return out

    @staticmethod
    def _restore(key: str, old: Any) -> None:
        torch = sys.modules.get("torch")
        if key == "numpy.random global state":
            np.random.set_state(old)
        elif key == "python random state":
            random.setstate(old)
        elif key == "numpy floating-point error settings":
            np.seterr(**old)
        elif key == "torch default dtype":
            torch.set_default_dtype(old)
        elif key == "torch grad mode":
            torch.set_grad_enabled(old)
        elif key == "torch global RNG state":
            torch.set_rng_state(old)


def _equal_state(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_equal_state(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    return a == b


def _show(old: Any, new: Any) -> str:
    if isinstance(old, (tuple, np.ndarray)) or type(old).__name__ == "Tensor":
        return ""  # an RNG state: nothing readable to show
    return f" ({old} -> {new})"


def trial_notes(state: GlobalState, before: dict[str, Any], watched: Any) -> list[tuple[str, str, str]]:
    """The protocol trial call audited like every step: ``(probe, key, detail)`` for what it
    changed (restored), the non-daemon threads it left and the inputs it changed in place. A
    change made only on the first call (a thread started lazily, a global seeded once) is seen
    here: the steps that follow start from the trial's state."""
    notes = state.changes(before)
    muts = list(getattr(watched, "mutations", []))
    if muts:
        notes.append(("contract.input_mutation", "input", f"{muts[0]} ({len(muts)} call(s) in the trial)"))
    return notes
