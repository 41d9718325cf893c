"""Worker processes that never outlive the tool, and a prompt stop on Ctrl-C.

:func:`bind_to_parent` runs in a pool worker's initializer: the worker ignores SIGINT (the
parent alone handles Ctrl-C, so a terminal's interrupt gives one message, not one traceback per
worker), asks Linux to SIGKILL it when the parent dies (``prctl(PR_SET_PDEATHSIG)``, via ctypes),
and starts a daemon watchdog thread that exits the worker when its parent process id changes
(the fallback where prctl is unavailable, and a guard against the parent dying before the prctl
call). :func:`kill_executor` stops a :class:`concurrent.futures.ProcessPoolExecutor` at once
(running tasks included), which a ``shutdown(wait=True)`` would wait for.

PR_SET_PDEATHSIG fires when the *thread* that created the worker exits, so it is requested only
when the pool is created from the main thread (``pdeathsig=True``); the watchdog covers the rest.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

__all__ = ["bind_to_parent", "kill_executor", "WATCHDOG_INTERVAL"]

#: Seconds between two checks of the parent pid by the watchdog thread.
WATCHDOG_INTERVAL = 0.5
_PR_SET_PDEATHSIG = 1


def _pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(ppid: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != ppid:
            os._exit(1)


def bind_to_parent(parent_pid: int | None = None, pdeathsig: bool = True,
                   interval: float = WATCHDOG_INTERVAL) -> None:
    """Make this (worker) process ignore SIGINT and die with its parent (``parent_pid``: the
    pid the pool was created in, to catch a parent that died before this call)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread of the worker
        pass
    if pdeathsig:
        _pdeathsig()
    ppid = os.getppid()
    if parent_pid is not None and ppid != parent_pid:  # the parent is already gone
        os._exit(1)
    threading.Thread(target=_watch, args=(ppid, interval), name="gumbel-harness-lifeline", daemon=True).start()


def kill_executor(pool) -> None:
    """Stop ``pool`` now: cancel pending work and SIGKILL its worker processes."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        try:
            p.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
    try:
        pool.shutdown(wait=False, cancel_futures=True)
    except Exception:  # noqa: BLE001
        pass
    for p in procs:
        try:
            p.join(timeout=1.0)
        except Exception:  # noqa: BLE001
            pass
