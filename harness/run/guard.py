"""Calling a target in the caller's process (``isolation="none"``): per-call timeout, exceptions
turned into :class:`TargetError`. The default, ``isolation="process"``, runs the target in a
supervised worker instead (:mod:`harness.run.supervisor`), which can kill a hung call.

Approach: every call of the target runs in a fresh **daemon worker thread**; the caller waits
at most ``timeout`` seconds (``Thread.join(timeout)``). A call that does not return in time
raises :class:`~harness.checks.samplers.TargetError` naming the timeout, so the check becomes a FAIL
and the run moves on.

A Python thread cannot be killed: the hung call keeps running in the background until it
returns by itself (or the process exits: the thread is a daemon, so it never blocks the exit).
To avoid piling up stuck threads, the :class:`GuardedTarget` remembers that it hung and every
later call fails at once with "skipped: an earlier call hung". Nothing here survives a crash,
an ``os._exit``, a GIL-holding hang or a memory blow-up of the target: that is what the worker
process of ``isolation="process"`` is for (README, Robustness).

torch's grad mode is thread-local: the worker inherits the caller's ``torch.is_grad_enabled()``.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable

from harness.checks.samplers import TargetError

__all__ = ["GuardedTarget", "FreshGuard", "DEFAULT_TIMEOUT"]

#: Default per-call timeout in seconds (one call draws at most ~4M values).
DEFAULT_TIMEOUT = 120.0


def _grad_state() -> bool | None:
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    return bool(torch.is_grad_enabled())


class GuardedTarget:
    """Wrap ``fn`` so that each call runs with a timeout and any exception becomes a
    :class:`TargetError` (``str`` names the exception type and message).

    ``hung`` is set after the first timeout; later calls raise immediately.
    """

    calls_elsewhere = True  # the call runs in a worker thread (jax's gradient checks unwrap it)

    def __init__(self, fn: Callable, timeout: float | None = DEFAULT_TIMEOUT, name: str = "target"):
        self.fn = fn
        self.timeout = None if timeout is None or timeout <= 0 else float(timeout)
        self.name = name
        self.hung: str | None = None
        self.calls = 0
        # expose attributes of the wrapped callable (e.g. gumbel_harness_kind)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __getattr__(self, item: str) -> Any:  # only called for missing attributes
        if item == "fn":
            raise AttributeError(item)
        return getattr(self.fn, item)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.hung:
            raise TargetError(f"skipped: an earlier call of {self.name} hung ({self.hung}); "
                              "the harness does not call a hung target again")
        self.calls += 1
        if self.timeout is None:
            return self._direct(args, kwargs)
        box: dict[str, Any] = {}
        grad = _grad_state()

        def work() -> None:
            try:
                if grad is not None:
                    import torch

                    with torch.set_grad_enabled(grad):
                        box["out"] = self.fn(*args, **kwargs)
                else:
                    box["out"] = self.fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported to the caller
                box["exc"] = exc

        t = threading.Thread(target=work, name=f"gumbel-harness-call-{self.calls}", daemon=True)
        t.start()
        t.join(self.timeout)
        if t.is_alive():
            self.hung = f"no return within the per-call timeout of {self.timeout:g} s"
            raise TargetError(f"{self.name} did not return within the per-call timeout of "
                              f"{self.timeout:g} s (hung?); the call was abandoned (a thread "
                              "cannot be killed: it keeps running in the background) and the run "
                              "moved on")
        if "exc" in box:
            exc = box["exc"]
            if isinstance(exc, TargetError):
                raise exc
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise TargetError(f"{self.name} raised {type(exc).__name__}") from exc
            raise TargetError(f"{self.name} raised {type(exc).__name__}: {exc}") from exc
        return box.get("out")

    def _direct(self, args: tuple, kwargs: dict) -> Any:
        try:
            return self.fn(*args, **kwargs)
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise TargetError(f"{self.name} raised {type(exc).__name__}: {exc}") from exc


class FreshGuard:
    """A guard that is replaced by a new one after a hang (each probe case gets a chance)."""

    def __init__(self, fn: Callable, timeout: float | None, name: str):
        self.fn, self.timeout, self.name = fn, timeout, name
        self.guard = GuardedTarget(fn, timeout, name)

    def __call__(self, *a, **k):
        if self.guard.hung:
            self.guard = GuardedTarget(self.fn, self.timeout, self.name)
        return self.guard(*a, **k)
