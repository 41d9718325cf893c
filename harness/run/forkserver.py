"""The fork server of ``isolation="process"``: workers forked from one pre-imported, pristine
interpreter instead of each paying an interpreter start and the imports of NumPy, SciPy and
torch (1.4 to 3 CPU-seconds per worker, measured; most of the test suite's CPU time).

The server is started like a worker was (``subprocess``, its own session, stdin closed, output to
a file, dying with its parent through ``PR_SET_PDEATHSIG``) as
``python -u -m harness.run.forkserver FD PARENT_PID``. It imports the harness and the modules
the built-in kinds preload (and, when idle, torch and jax when installed: importing either
initialises no device and starts no thread), and then **runs no target code and no computation**
(no thread pool started, CUDA and jax's backends never initialised):
every worker is a fork of the same clean process, so nothing of one run reaches the next.

On ``("fork", token)`` with two file descriptors (the worker's end of its channel and the file
its output goes to, passed with ``SCM_RIGHTS``) it forks a child that becomes the worker
(:func:`_become_worker`): a new session (process group), stdin ``/dev/null``, stdout and stderr
(file descriptors 1 and 2) on the output file, ``TOKEN_VAR`` set to ``token`` in its environment
(inherited by every process the target starts), dying with the server, then
:func:`harness.run.worker.serve_connection`. The server answers ``("forked", pid)``, reaps its
children and reports ``("exit", pid, returncode)`` (``-signal`` when killed by a signal), which
:class:`ForkedProcess` turns into the ``Popen``-like ``poll`` / ``wait`` the supervisor uses.

Memory: a forked worker shares the server's pages until it writes them, so the supervisor's
memory limit applies to the worker's *private* resident memory (``/proc/PID/smaps_rollup``),
not to pages it shares with the server. Linux only (``socket.send_fds``, ``fork``,
``/proc``); elsewhere, or with ``GUMBEL_HARNESS_FORKSERVER=0``, workers are spawned as before.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

__all__ = ["ForkServer", "ForkedProcess", "ForkServerLost", "available", "private_memory", "DISABLE_VAR", "TOKEN_VAR",
           "TOKEN_PLACEHOLDER"]

#: environment variable carrying a worker's random token: every process the target starts
#: inherits it, so those that leave the worker's process group (``setsid()``, a daemon) are found
TOKEN_VAR = "GUMBEL_HARNESS_WORKER_TOKEN"
#: the fork server's value of ``TOKEN_VAR``: as long as a token (``secrets.token_hex(8)``)
TOKEN_PLACEHOLDER = "0" * 16
#: set to ``0`` to spawn every worker (no fork server)
DISABLE_VAR = "GUMBEL_HARNESS_FORKSERVER"
#: seconds the server may take to import and answer a fork request before it is given up
START_LIMIT_S = 60.0
_MSG = 1 << 16


class ForkServerLost(Exception):
    """The fork server died or did not answer: the caller spawns the worker instead."""


def available() -> bool:
    """Whether workers can be forked from a server here (Linux, not disabled)."""
    return (os.environ.get(DISABLE_VAR, "1") != "0" and sys.platform.startswith("linux")
            and hasattr(socket, "send_fds") and hasattr(os, "fork"))


# ---------------------------------------------------------------------------------------- client
class ForkServer:
    """The supervisor's handle on one server process (started at construction, in the
    background: the first :meth:`fork` waits for its imports)."""

    def __init__(self, env: dict[str, str], root: str, key: Any = None) -> None:
        self.key = key  # what the caller started it for (harness.run.supervisor: its environment)
        self.out = tempfile.TemporaryFile()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(env)
        env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "harness.run.forkserver", str(theirs.fileno()), str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),),
            start_new_session=True, env=env)
        theirs.close()
        self.sock = mine
        self.lock = threading.Lock()
        self.exits: dict[int, int] = {}
        self.live: set[int] = set()  # forked workers that have not exited
        self.pending: list[ForkedProcess] = []  # fork requests not answered yet, in order
        self.dead = False

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def busy(self) -> bool:
        """Whether any of its workers may still be running (or is being forked)."""
        with self.lock:
            self._drain()
            return bool(self.live or self.pending)

    def fork(self, token: str, channel_fd: int, output_fd: int, preload: tuple[str, ...] = ()) -> "ForkedProcess":
        """Ask for a new worker, with the modules of ``preload`` imported (by the server, once:
        later workers have them too); returns at once (the server may still be importing: the
        caller plans meanwhile). :class:`ForkServerLost` if the request cannot be sent."""
        with self.lock:
            try:
                socket.send_fds(self.sock, [pickle.dumps(("fork", token, tuple(preload)))], [channel_fd, output_fd])
            except OSError as exc:
                raise ForkServerLost(f"the fork server is gone ({exc})") from None
            proc = ForkedProcess(self)
            self.pending.append(proc)
            return proc

    def _drain(self, timeout: float = 0.0) -> None:
        """Read the server's messages (lock held): pids of forked workers, in request order, and
        exit statuses. Waits up to ``timeout`` for the first one."""
        while True:
            try:
                ready, _, _ = select.select([self.sock], [], [], timeout)
                if not ready:
                    return
                data = self.sock.recv(_MSG)
            except OSError:
                data = b""
            if not data:  # the server died: its workers died with it (PR_SET_PDEATHSIG)
                self.dead = True
                for proc in self.pending:
                    proc.lost = True
                self.pending.clear()
                return
            msg = pickle.loads(data)
            if msg[0] == "forked":
                proc = self.pending.pop(0)
                proc.known_pid = msg[1]
                self.live.add(msg[1])
            elif msg[0] == "exit":
                self.exits[msg[1]] = msg[2]
                self.live.discard(msg[1])
            timeout = 0.0

    def resolve(self, proc: "ForkedProcess", wait: bool) -> None:
        """Learn ``proc``'s pid, waiting (up to :data:`START_LIMIT_S`) if ``wait``."""
        end = time.monotonic() + (START_LIMIT_S if wait else 0.0)
        with self.lock:
            self._drain()
            while wait and proc.known_pid is None and not proc.lost and time.monotonic() < end:
                self._drain(min(0.1, max(0.0, end - time.monotonic())))

    def returncode(self, proc: "ForkedProcess") -> int | None:
        """The exit status of ``proc`` if it has exited; ``-SIGKILL`` when the server died first
        (the server's death kills its workers), also before it forked ``proc``."""
        with self.lock:
            self._drain()
            if proc.lost:
                return -signal.SIGKILL
            if proc.known_pid is None:
                return None
            if proc.known_pid in self.exits:
                return self.exits[proc.known_pid]
        if self.dead and not os.path.exists(f"/proc/{proc.known_pid}"):
            return -signal.SIGKILL
        return None

    def close(self) -> None:
        """Kill the server (its workers die with it)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
            pass
        self.sock.close()
        self.out.close()


class ForkedProcess:
    """The ``subprocess.Popen`` subset the supervisor uses (``pid``, ``poll``, ``wait``) for a
    worker forked by a :class:`ForkServer`. ``known_pid`` is None until the server answered;
    ``pid`` waits for the answer (None if the server died first)."""

    def __init__(self, server: ForkServer) -> None:
        self.server = server
        self.known_pid: int | None = None
        self.lost = False
        self.returncode: int | None = None

    @property
    def pid(self) -> int | None:
        if self.known_pid is None and not self.lost:
            self.server.resolve(self, wait=True)
        return self.known_pid

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.returncode(self)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() >= end:
                raise subprocess.TimeoutExpired("forked worker", timeout)
            time.sleep(0.005)
        return self.returncode  # type: ignore[return-value]


def private_memory(pid: int) -> int:
    """Private resident bytes of ``pid`` (``Private_Clean + Private_Dirty`` of
    ``/proc/PID/smaps_rollup``): what the process owns, not what it shares with its parent."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            total = 0
            for line in f:
                if line.startswith(b"Private_"):
                    total += int(line.split()[1]) * 1024
            return total
    except (OSError, ValueError, IndexError):
        return 0


# ---------------------------------------------------------------------------------------- server
def _prctl(option: int, arg: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, arg)
    except Exception:  # noqa: BLE001 - not Linux
        pass


def _preload() -> None:
    """What every worker needs, imported before the first fork: no computation, no threads
    (beyond OpenBLAS's idle pools), no CUDA."""
    import importlib.util

    import numpy  # noqa: F401
    import scipy.stats  # noqa: F401

    import harness.kinds

    harness.kinds.kind_names()
    import harness.probes.findings  # noqa: F401
    import harness.run.steps  # noqa: F401
    import harness.run.worker  # noqa: F401
    import harness.targets.loading  # noqa: F401

    if importlib.util.find_spec("cloudpickle") is not None:
        import cloudpickle  # noqa: F401


#: heavy modules the server imports when idle once it has forked :data:`LATER_AFTER` workers
#: (a process running several checks; a one-shot ``gumbel-harness check`` would only lose CPU
#: to them): a worker forked before one of them is imported imports it itself if its target
#: needs it, and a request names the modules its kind preloads (imported before that fork).
#: Importing either starts no thread and initialises no device (torch's CUDA and jax's backends
#: are initialised lazily, at first use, in the worker).
LATER = ("torch", "jax")
LATER_AFTER = 2


def _import(name: str) -> None:
    """Import ``name`` if installed; a broken install is left for the worker to meet."""
    import importlib
    import importlib.util

    if name in sys.modules:
        return
    try:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001
        pass


def _become_worker(ctl: socket.socket, fds: list[int], token: str, server: int) -> None:
    """In the forked child: detach, rewire stdio, become the worker. Never returns."""
    try:
        ctl.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        channel, output = fds
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        for fd in (null, output):
            if fd > 2:
                os.close(fd)
        _mark(token)
        from harness.run.worker import serve_connection

        serve_connection(channel, server)
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        os._exit(1)


def _mark(token: str) -> None:
    """Set ``TOKEN_VAR`` to ``token`` *in place*, in the environment block the process started
    with, where ``/proc/PID/environ`` reads it (``putenv`` would write a new string that only
    processes exec'd later see): the worker and every process it forks without exec'ing are
    then found by :func:`harness.run.supervisor.kill_marked`, as for a spawned worker. Falls
    back to ``os.environ`` (exec'd processes only) if the block does not hold the placeholder."""
    import ctypes

    key = f"{TOKEN_VAR}=".encode()
    value = token.encode()
    try:
        libc = ctypes.CDLL(None)
        env = ctypes.POINTER(ctypes.c_void_p).in_dll(libc, "environ")
        i = 0
        while env[i]:
            entry = ctypes.string_at(env[i])
            if entry.startswith(key) and len(entry) == len(key) + len(value):
                ctypes.memmove(env[i] + len(key), value, len(value))
                break
            i += 1
        with open("/proc/self/environ", "rb") as f:
            done = key + value in f.read().split(b"\0")
    except Exception:  # noqa: BLE001
        done = False
    if done:  # the C block holds it; os.environ is a copy taken at start: update the copy only
        os.environ._data[os.environ.encodekey(TOKEN_VAR)] = os.environ.encodevalue(token)  # type: ignore[attr-defined]
    else:
        os.environ[TOKEN_VAR] = token


def _reap(ctl: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ctl.send(pickle.dumps(("exit", pid, os.waitstatus_to_exitcode(status))))


def serve(fd: int, parent: int) -> None:
    _prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG: die with the harness process
    if os.getppid() != parent:
        os._exit(1)
    ctl = socket.socket(fileno=fd)
    import warnings

    # the only threads here are OpenBLAS's idle pools (numpy's, scipy's), which re-initialise in a
    # forked child (pthread_atfork): Python >= 3.12 would warn at every fork
    warnings.filterwarnings("ignore", message=".*multi-threaded.*fork", category=DeprecationWarning)
    _preload()
    me = os.getpid()
    later = list(LATER)
    forked = 0
    while True:
        ready, _, _ = select.select([ctl], [], [], 0.02)
        if not ready and later and forked >= LATER_AFTER:
            _import(later.pop(0))
            continue
        if ready:
            try:
                data, fds, _flags, _addr = socket.recv_fds(ctl, _MSG, 4)
            except OSError:
                os._exit(0)
            if not data:
                os._exit(0)  # the supervisor is gone
            op, token, preload = pickle.loads(data)
            if op == "fork" and len(fds) == 2:
                for name in preload:
                    _import(name)
                forked += 1
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:  # the worker: dies with the server (serve_connection's first step)
                    _become_worker(ctl, fds, token, me)
                for f in fds:
                    os.close(f)
                ctl.send(pickle.dumps(("forked", pid)))
            else:
                for f in fds:
                    os.close(f)
        _reap(ctl)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
