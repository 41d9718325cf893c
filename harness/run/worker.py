"""The supervised worker process (``isolation="process"``):
``python -u -m harness.run.worker FD PARENT_PID [PRELOAD,MODULES]``.

Started by :mod:`harness.run.supervisor` in its own session (process group) with stdin
closed and stdout/stderr (file descriptors 1 and 2, so C-level output too) redirected to a file
the supervisor reads. ``FD`` is its end of a socket pair carrying pickled messages:

========================================  ===================================================
supervisor -> worker                      worker -> supervisor
========================================  ===================================================
``("load", payload)``                     ``("loaded", kind, builtin_name, attrs)``, ``("load_error",
                                          type, message)``, ``("unpicklable", message)`` or
                                          ``("load_hostile", cause)``
``("protocol", options)``                 ``("protocol_ok", notes)`` or ``("load_error", ...)``
``("setup", ctx, only, probes, adv,``    ``("ready", step ids)``
``mode)`` (``"check"`` / ``"observe"``)
``("step", step, known_findings)``        ``("c", True/False)`` around every target call,
                                          ``("case", probe, input, domain)`` before every
                                          probe case, then ``("done", StepResult)``
========================================  ===================================================

Any message the worker cannot handle is answered ``("error", traceback)``. The worker runs the
steps with :class:`harness.run.steps.StepRunner` (the same code as ``isolation="none"``),
converting *every* BaseException of the target (``SystemExit``, ``KeyboardInterrupt``...) into a
FAIL; ``os._exit``, signals, hangs and memory growth are the supervisor's business. It dies with
its parent (``PR_SET_PDEATHSIG`` on Linux) and is killed with its process group at the end of a
run, so threads and children the target left behind never outlive the run.
"""
from __future__ import annotations

import importlib
import os
import pickle
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the supervisor's kill still applies
        pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


class _CaseHook:
    """Tells the supervisor which probe case starts; returns the finding of a case that was
    killed in an earlier worker so that it is not run again."""

    def __init__(self, conn: Connection, known: dict):
        self.conn, self.known = conn, known

    def start(self, probe: str, desc: str, domain: str) -> Any:
        self.conn.send(("case", probe, desc, domain))
        return self.known.get(probe)


class _Worker:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.fn = self.kind = self.builtin = self.runner = None
        self.name = "target"

    def notify(self, started: bool) -> None:
        self.conn.send(("c", started))

    def load(self, p: dict) -> tuple:
        from harness.targets.loading import TargetLoadError, TargetSpec, describe, load

        sys.path[:] = p["sys_path"]
        os.chdir(p["cwd"])
        src, ref = p["target"]
        self.name = p["name"]
        if p.get("kind_module"):  # a kind registered by the user's module: register it here too
            try:
                importlib.import_module(p["kind_module"])
            except Exception as exc:  # noqa: BLE001
                return ("load_error", "TargetLoadError", f"cannot import the module {p['kind_module']!r} that "
                                                         f"registers kind {p['kind']!r}: {type(exc).__name__}: {exc}")
        if src == "object":
            try:
                spec = TargetSpec("object", pickle.loads(ref), p["kind"], p["name"])
            except BaseException as exc:  # noqa: BLE001 - cannot be rebuilt here
                return ("unpicklable", f"{type(exc).__name__}: {exc}")
        elif src == "builtin":
            spec = describe(ref, p["kind"])
        else:
            spec = TargetSpec("import", ref, p["kind"], ref)
        try:
            self.fn, self.kind = load(spec)
        except (TargetLoadError, ValueError) as exc:
            return ("load_error", type(exc).__name__, str(exc))
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import time...
            code = f"({exc.code!r})" if isinstance(exc, SystemExit) else f": {exc}"
            return ("load_hostile", f"the target raised {type(exc).__name__}{code} while it was loaded "
                                    "(at import time)")
        self.builtin = spec.builtin
        from harness.kinds.base import get_kind

        from harness.core.options import target_attributes

        k = get_kind(self.kind)
        for mod in k.preload:  # the plan needs it; meanwhile the supervisor plans too
            importlib.import_module(mod)
        attrs = {n: v for n, v in target_attributes(self.fn, k.options).items()
                 if isinstance(v, (str, int, float, bool, tuple, list))}
        return ("loaded", self.kind, spec.builtin.name if spec.builtin else None, attrs)

    def protocol(self, options: Any = None) -> tuple:
        """One trial call (:mod:`harness.targets.protocol`), reported around the call like every
        target call, so the supervisor bounds it by the per-call timeout."""
        from harness.targets.protocol import ProtocolMismatch, check_protocol
        from harness.run.steps import GlobalState, Watched, trial_notes

        state = GlobalState(self.kind, options)
        before = state.capture()
        watched = Watched(self.fn, self.name, self.notify)
        notes: list = []
        try:
            check_protocol(self.fn, self.kind, self.name, call=watched, options=options)
        except ProtocolMismatch as exc:
            return ("load_error", "ProtocolMismatch", str(exc))
        except BaseException as exc:  # noqa: BLE001 - e.g. SystemExit raised outside the call
            return ("protocol_hostile", f"the target raised {type(exc).__name__} in its trial call")
        finally:
            notes = trial_notes(state, before, watched)
        return ("protocol_ok", notes)

    def setup(self, ctx: Any, only: Any, probes: bool, adversarial: bool, mode: str = "check") -> tuple:
        from harness.kinds.base import get_kind, runnable, select
        from harness.run.steps import OBSERVE, StepRunner, Watched

        kind = get_kind(self.kind)
        if mode == OBSERVE:
            plan = select(kind.compare_plan(ctx.budget, ctx.options), only)
        else:
            plan = runnable(select(kind.make_plan(ctx.budget, ctx.options), only))
        fn = Watched(self.fn, self.name, self.notify, catch=(BaseException,))
        self.runner = StepRunner(self.kind, ctx, plan, plan_fn=fn, probe_fn=fn, builtin=self.builtin,
                                 probes=probes, adversarial=adversarial, catch=(BaseException,), mode=mode)
        return ("ready", [c.id for c in plan])

    def step(self, step: str, known: dict) -> tuple:
        from harness.run.steps import PROBES

        res = self.runner.run(step, _CaseHook(self.conn, known) if step == PROBES else None)
        sys.stdout.flush()
        sys.stderr.flush()
        return ("done", res)

    def serve(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the supervisor is gone
            try:
                op, args = msg[0], msg[1:]
                reply = {"load": self.load, "protocol": self.protocol, "setup": self.setup,
                         "step": self.step}[op](*args)
            except BaseException:  # noqa: BLE001 - a harness-side failure, reported
                reply = ("error", traceback.format_exc(limit=20))
            try:
                self.conn.send(reply)
            except BaseException:  # noqa: BLE001 - e.g. an unpicklable verdict detail
                self.conn.send(("error", traceback.format_exc(limit=20)))


def serve_connection(fd: int, parent: int) -> None:
    """Serve the supervisor on the channel ``fd`` until it closes; dies with ``parent``. The
    entry point of a worker forked by :mod:`harness.run.forkserver` (its imports are done)."""
    _die_with_parent(parent)
    import faulthandler

    faulthandler.enable()  # a segfault / abort of the target leaves its stack in the captured output
    _Worker(Connection(fd)).serve()


def main(argv: list[str] | None = None) -> None:
    """A spawned worker: ``python -u -m harness.run.worker FD PARENT_PID [PRELOAD]``."""
    argv = sys.argv if argv is None else argv
    _die_with_parent(int(argv[2]))
    # warm imports: a spare worker waits with these loaded (no target code has run yet)
    import numpy  # noqa: F401

    import harness.kinds

    harness.kinds.kind_names()  # the built-in kinds' modules
    import harness.probes.findings  # noqa: F401
    import harness.run.steps  # noqa: F401
    import harness.targets.loading  # noqa: F401

    for mod in filter(None, (argv[3] if len(argv) > 3 else "").split(",")):
        __import__(mod)  # e.g. torch, when the previous run of the supervisor's process needed it
    serve_connection(int(argv[1]), int(argv[2]))


if __name__ == "__main__":
    main()
