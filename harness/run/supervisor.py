"""The supervisor of ``isolation="process"``: one worker process per run, watched from here.

The harness process only plans, judges and reports; every step of a run (plan checks, extra,
probes) runs in a worker (:mod:`harness.run.worker`), a fresh process in its own session,
stdout/stderr redirected to a file: forked from the pristine, pre-imported interpreter of
:mod:`harness.run.forkserver` on Linux, a new interpreter started with ``subprocess`` elsewhere.
:class:`Session` sends it the target (a built-in name, a ``"module:callable"`` string imported
only there, or the callable pickled with ``cloudpickle``: by reference when importable, by value
otherwise) and the steps one at a time, and enforces while waiting (polling every 50 ms):

* **silence limit**: the worker reports when each target call starts and returns and when each
  step ends; ``timeout`` seconds without a report (``min(timeout, 60)`` in the probes; 60 s, or
  ``timeout`` if larger, while starting and loading the target) -> killed. This bounds every
  target call *and* the harness-side work between calls, which runs target code too
  (``__array__``, a backward pass, a thread spinning).
* **death**: any exit status (0 included) or signal -> "exited with status 0", "killed by SIGSEGV";
* **memory**: private resident memory of the worker above ``memory_limit`` -> killed;
* **output**: more than :data:`OUTPUT_LIMIT` bytes on stdout/stderr -> killed.

A kill (of the whole process group) makes the step that was running FAIL with the cause
("exited with status 0 during T1.law.power"); a probe case killed gets a failing finding and
the probes resume in a fresh worker without it. The remaining steps run in a fresh worker,
except: **a target killed twice with no call of it returning in between, or killed**
:data:`MAX_KILLS` **(3) times in one run** (or killed while its module is imported) **is not
called again**: every remaining step is reported as a FAIL "not run" naming the kills. Each
step is run at most once (a killed one is never retried).

Bound: with ``C`` target calls and ``S`` steps (plus ``P`` probe cases), the worker reports at
least every ``timeout`` seconds and sends at most ``2 C + S + P`` reports, so a run takes at most
``(2 C + S + P) * timeout`` plus 60 s (or ``timeout``) per worker started; with at most 3 kills
that is at most 4 workers, and at most ``3 * timeout`` lost to hangs.
"""
from __future__ import annotations

import atexit
import os
import pickle
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from typing import Any, Callable

from harness.run.forkserver import TOKEN_PLACEHOLDER, TOKEN_VAR, ForkServer, ForkServerLost, private_memory
from harness.run.forkserver import available as forkserver_available

__all__ = ["Session", "WorkerLost", "DEFAULT_MEMORY_LIMIT", "OUTPUT_LIMIT", "parse_memory", "format_bytes",
           "pickle_target", "prestart"]

GiB = 1 << 30
OUTPUT_LIMIT = 64 << 20
POLL_S = 0.05
LOAD_LIMIT_S = 60.0
#: a target killed this many times in one run (in a row or not) is not called again
MAX_KILLS = 3
PROBE_LIMIT_S = 60.0
OUTPUT_SHOWN = 8000  # characters of target output kept in CheckResult.info["target_output"]


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


#: default memory limit of a worker: 8 GiB, or half the physical memory when that is less
DEFAULT_MEMORY_LIMIT = min(8 * GiB, (_physical_memory() or 16 * GiB) // 2)


def format_bytes(n: float) -> str:
    for unit, size in (("GiB", GiB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def parse_memory(text: str | int | float | None) -> int | None:
    """``"8G"``, ``"8GiB"``, ``"512M"``, ``"1.5g"``, a number of bytes; ``0`` / ``"none"``: no limit."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return None if text <= 0 else int(text)
    t = str(text).strip().lower().replace(" ", "")
    if t in ("0", "none", "off"):
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": GiB, "t": 1 << 40}
    num, mult = t, 1
    for suffix in ("ib", "b"):
        if num.endswith(suffix) and len(num) > len(suffix) and num[-len(suffix) - 1] in units:
            num = num[: -len(suffix)]
    if num and num[-1] in units:
        num, mult = num[:-1], units[num[-1]]
    try:
        value = float(num) * mult
    except ValueError:
        raise ValueError(f"cannot read the memory limit {text!r}: use e.g. 8G, 512M or 0 (no limit)") from None
    if value < 0:
        raise ValueError(f"the memory limit must be >= 0, got {text!r}")
    return None if value == 0 else int(value)


def pickle_target(fn: Callable) -> tuple[bytes | None, str]:
    """``(payload, "")`` or ``(None, why)``: the callable pickled with cloudpickle (by reference
    when importable by name, by value for lambdas, closures and ``__main__`` objects)."""
    try:
        import cloudpickle

        data = cloudpickle.dumps(fn)
        pickle.loads(data)  # cheap self-check: loadable at all
        return data, ""
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"


class WorkerLost(Exception):
    """The worker died or was killed; ``cause`` says how ("exited with status 0")."""

    def __init__(self, cause: str, hang: bool = False, last: str = ""):
        super().__init__(cause)
        self.cause, self.hang, self.last = cause, hang, last


def _env_key() -> dict[str, str]:
    """The environment a spare worker must have been started with (pytest's per-test
    ``PYTEST_CURRENT_TEST`` aside)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}





def kill_marked(token: str, killed: set[int] | None = None, passes: int = 5) -> set[int]:
    """SIGKILL every process (other than this one) whose environment holds ``TOKEN_VAR=token``
    and is not in ``killed`` (added to it); the set. Repeated until a pass finds none (a process
    forking while it is scanned). Linux (``/proc``); nothing elsewhere. Processes that cleared
    their environment are not found."""
    killed = set() if killed is None else killed
    if not os.path.isdir("/proc"):
        return killed
    needle, me = f"{TOKEN_VAR}={token}".encode(), os.getpid()
    for _ in range(passes):
        new = 0
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me or int(d) in killed:
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if needle not in f.read().split(b"\0"):
                        continue
                os.kill(int(d), signal.SIGKILL)
                killed.add(int(d))
                new += 1
            except (OSError, ValueError):  # gone, a zombie, not ours
                continue
        if not new:
            break
    return killed


def _kind_module(kind: str | None) -> str | None:
    """The module that registered ``kind``, for the worker to import first (a kind registered by
    the user's own module; the built-in kinds come with ``harness.kinds``)."""
    if kind is None:
        return None
    from harness.kinds.base import get_kind

    mod = get_kind(kind).module
    return None if not mod or mod.startswith("harness.") else mod


def _harness_root() -> str:
    """The directory that holds the ``harness`` package (harness/run/supervisor.py: three up)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Worker:
    """One worker process (not yet loaded with a target)."""

    def __init__(self, preload: tuple[str, ...] = (), server: "ForkServer | None" = None) -> None:
        """Forked from ``server`` (:mod:`harness.run.forkserver`) when given, else spawned."""
        self.out = tempfile.TemporaryFile()
        mine, theirs = socket.socketpair()
        self.token = secrets.token_hex(8)
        self.escaped: set[int] = set()  # processes of the target found outside the process group
        self.env = _env_key()
        self.forked = server is not None
        try:
            if server is not None:
                self.proc = server.fork(self.token, theirs.fileno(), self.out.fileno(), preload)
            else:
                env = dict(os.environ)
                root = _harness_root()
                env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                              if p])
                env[TOKEN_VAR] = self.token
                self.proc = subprocess.Popen(
                    [sys.executable, "-u", "-m", "harness.run.worker", str(theirs.fileno()), str(os.getpid()),
                     ",".join(preload)],
                    stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),),
                    start_new_session=True, env=env)
        except BaseException:
            mine.close()
            theirs.close()
            self.out.close()
            raise
        theirs.close()
        self.conn = Connection(mine.detach())
        self.in_call = False
        self.call_started = 0.0
        self.call_seconds = 0.0  # time inside the target's calls, from the worker's reports
        self.on_return: Callable[[], None] | None = None  # told when a target call returned

    def usable(self) -> bool:
        return self.proc.poll() is None and self.env == _env_key()

    def send(self, msg: Any) -> None:
        try:
            self.conn.send(msg)
        except OSError:
            raise self._lost_by_death() from None

    def _pid(self) -> int | None:
        """The worker's pid without waiting (None while the fork server has not answered)."""
        return getattr(self.proc, "known_pid", self.proc.pid)

    def rss(self) -> int:
        """The worker's own resident memory: its private pages (a forked worker shares the fork
        server's imports until it writes them); the resident set size where that is unknown."""
        pid = self._pid()
        if pid is None:
            return 0
        own = private_memory(pid)
        if own:
            return own
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def wait(self, limit: float | None, memory_limit: int | None,
             on_case: Callable[[tuple], None] | None = None) -> tuple:
        """The next reply (not a call or case report), with the limits of the module doc."""
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            now = time.monotonic()
            wait = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - now))
            try:
                ready = self.conn.poll(wait)
            except OSError:
                ready = True
            if ready:
                try:
                    msg = self.conn.recv()
                except (EOFError, OSError):
                    raise self._lost_by_death() from None
                except Exception as exc:  # noqa: BLE001 - garbage written to the channel
                    self.kill()
                    raise WorkerLost(f"sent an unreadable message ({type(exc).__name__}): killed") from None
                if not isinstance(msg, tuple) or not msg:
                    self.kill()
                    raise WorkerLost("sent an unreadable message: killed")
                if deadline is not None:
                    deadline = time.monotonic() + limit
                if msg[0] == "c":
                    self.in_call = bool(msg[1])
                    if msg[1]:
                        self.call_started = time.monotonic()
                    else:
                        self.call_seconds += time.monotonic() - self.call_started
                    if not msg[1] and self.on_return:
                        self.on_return()
                    continue
                if msg[0] == "case":
                    if on_case:
                        on_case(msg[1:])
                    continue
                return msg
            if self.proc.poll() is not None:
                raise self._lost_by_death()
            if memory_limit is not None:
                rss = self.rss()
                if rss > memory_limit:
                    self.kill()
                    raise WorkerLost(f"exceeded the memory limit of {format_bytes(memory_limit)} (private resident "
                                     f"{format_bytes(rss)}): killed")
            size = os.fstat(self.out.fileno()).st_size
            if size > OUTPUT_LIMIT:
                self.kill()
                raise WorkerLost(f"wrote more than {format_bytes(OUTPUT_LIMIT)} to stdout/stderr: killed")
            if deadline is not None and time.monotonic() >= deadline:
                where = ("in a call of the target" if self.in_call else
                         "outside the target's calls: converting, checking or differentiating its output")
                self.kill()
                raise WorkerLost(f"no answer within the timeout of {limit:g} s ({where}): killed", hang=True)

    def _lost_by_death(self) -> WorkerLost:
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return WorkerLost("closed its channel and did not exit: killed")
        self.kill()
        if rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            cause = f"killed by {name}"
        else:
            cause = f"exited with status {rc}"
        words = self.last_words()
        return WorkerLost(cause, last=words)

    def kill(self) -> None:
        """SIGKILL the process group, then the target's processes that left it (:func:`kill_marked`)."""
        pid = self.proc.pid  # a forked worker: waits for the fork server's answer (None: it died)
        try:
            if pid is not None:
                os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
            pass
        kill_marked(self.token, self.escaped)
        try:
            self.conn.close()
        except OSError:
            pass

    def last_words(self) -> str:
        """Where a dying worker was, from its captured output: the innermost frame of the
        ``faulthandler`` dump (segfault, abort) or the last line printed; empty if none."""
        try:
            size = os.fstat(self.out.fileno()).st_size
            self.out.seek(max(0, size - 16384))
            tail = self.out.read().decode("utf-8", "replace").splitlines()
            self.out.seek(0, os.SEEK_END)
        except (OSError, ValueError):
            return ""
        for i, line in enumerate(tail):
            if line.startswith("Fatal Python error"):
                frames = [t.strip() for t in tail[i:] if t.strip().startswith("File ")]
                return "; ".join([line.strip()] + frames[:2])  # innermost frames first
        lines = [t.strip() for t in tail if t.strip()]
        return lines[-1][:200] if lines else ""

    def output(self) -> tuple[str, int]:
        """The captured output (its first and last characters when long) and its size; closes it."""
        try:
            size = os.fstat(self.out.fileno()).st_size
            self.out.seek(0)
            if size <= OUTPUT_SHOWN:
                return self.out.read().decode("utf-8", "replace"), size
            head = self.out.read(OUTPUT_SHOWN // 4).decode("utf-8", "replace")
            self.out.seek(size - 3 * OUTPUT_SHOWN // 4)
            tail = self.out.read().decode("utf-8", "replace")
            return f"{head}\n[... {size - OUTPUT_SHOWN} bytes omitted ...]\n{tail}", size
        except (OSError, ValueError):
            return "", 0
        finally:
            self.out.close()


class _Pool:
    """Where workers come from. Where :func:`forkserver.available` (Linux): forked from a
    :class:`~harness.run.forkserver.ForkServer` started once per process (at the first run or
    by :func:`prestart`) and again only when the environment changed; every worker is a fork of
    the same pristine, pre-imported interpreter. Elsewhere (or when the server cannot fork):
    spawned, with at most one spare started in the background when a worker is killed, when a
    process takes its second (third...) worker, and by ``gumbel-harness check`` before its own
    imports, so that the next run or the fresh worker after a kill does not wait for the
    imports. A spare or a server has run no target code; it is discarded when the environment
    changed since it started, and killed at exit (or with this process: ``PR_SET_PDEATHSIG``)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.RLock()  # compare drives two sessions from two threads
        self.spare: Worker | None = None
        self.server: ForkServer | None = None
        self.retired: list[ForkServer] = []  # servers of an older environment, still serving live workers
        self.taken = 0
        self.preload: tuple[str, ...] = ()  # modules the last run needed (torch): the spare imports them

    def take(self) -> Worker:
        with self.lock:
            return self._take()

    def _fork_server(self) -> ForkServer | None:
        if not forkserver_available():
            return None
        env = _env_key()
        if self.server is not None and (not self.server.alive() or self.server.key != env):
            self.retired.append(self.server)
            self.server = None
        for old in [r for r in self.retired if not r.busy()]:
            old.close()
            self.retired.remove(old)
        if self.server is None:
            self.server = ForkServer(_server_env(), _harness_root(), key=env)
        return self.server

    def _take(self) -> Worker:
        self.taken += 1
        server = self._fork_server()
        if server is not None:
            try:
                return Worker(self.preload, server=server)
            except ForkServerLost:
                self.retired.append(server)
                self.server = None
        w, self.spare = self.spare, None
        if w is None or not w.usable():
            if w is not None:
                w.kill()
                w.output()
            w = Worker()
        return w

    def prestart(self) -> None:
        """Make the next worker ready now: start the fork server (or a spare) if there is none."""
        with self.lock:
            self._prestart()

    def _prestart(self) -> None:
        if self._fork_server() is not None:
            return
        if self.spare is None or not self.spare.usable():
            if self.spare is not None:
                self.spare.kill()
                self.spare.output()
            self.spare = Worker(self.preload)

    def helpers(self) -> set[int]:
        """Process ids of the idle helpers (fork servers, the spare): not the target's."""
        with self.lock:
            out = {s.proc.pid for s in [self.server, *self.retired] if s is not None}
            if self.spare is not None:
                out.add(self.spare.proc.pid)
            return out

    def close(self) -> None:
        if self.spare is not None:
            self.spare.kill()
            self.spare.output()
            self.spare = None
        for server in [self.server, *self.retired]:
            if server is not None:
                server.close()
        self.server, self.retired = None, []


def _server_env() -> dict[str, str]:
    """The fork server's environment: this process's, with a placeholder worker token of the
    tokens' length that each forked worker overwrites in place (so that ``/proc/PID/environ`` of
    the worker and of every process it forks carries its own token: :func:`kill_marked`)."""
    env = dict(os.environ)
    env[TOKEN_VAR] = TOKEN_PLACEHOLDER
    return env


_POOL = _Pool()
atexit.register(_POOL.close)


def prestart() -> None:
    """Start the fork server (or a spare worker) now, e.g. while the command line imports the
    rest of the harness."""
    _POOL.prestart()


class Session:
    """One supervised run. ``target`` is ``("builtin", name)``, ``("import", "module:callable")``
    or ``("object", cloudpickle bytes)``."""

    def __init__(self, target: tuple, kind: str | None, name: str, *, timeout: float | None,
                 memory_limit: int | None):
        self.payload = {"target": target, "kind": kind, "name": name, "sys_path": list(sys.path),
                        "cwd": os.getcwd(), "kind_module": _kind_module(kind)}
        self.timeout = None if timeout is None or timeout <= 0 else float(timeout)
        self.memory_limit = memory_limit
        self.worker: Worker | None = None
        self.workers = 0
        self.forked = 0  # of them forked from the fork server (the others spawned)
        self.kills: list[dict[str, str]] = []
        self.in_a_row = 0
        self.escaped = 0
        self.stopped: str | None = None
        self.trial_notes: list = []  # what the protocol trial call changed (api: reported as contract findings)
        self.setup_args: tuple | None = None
        self._output: list[tuple[str, int]] = []
        self.call_seconds = 0.0  # inside the target's calls, over every worker of the session

    # ---- limits --------------------------------------------------------------------------
    @property
    def load_limit(self) -> float | None:
        return None if self.timeout is None else max(LOAD_LIMIT_S, self.timeout)

    def step_limit(self, step: str) -> float | None:
        from harness.run.steps import PROBES

        if self.timeout is None:
            return None
        return min(self.timeout, PROBE_LIMIT_S) if step == PROBES else self.timeout

    # ---- lifecycle -----------------------------------------------------------------------
    def _start(self) -> tuple:
        self._send_load()
        return self.worker.wait(self.load_limit, self.memory_limit)

    def _send_load(self) -> None:
        if self.payload["kind"] is not None:
            from harness.kinds.base import get_kind

            _POOL.preload = get_kind(self.payload["kind"]).preload or _POOL.preload
        self.worker = _POOL.take()
        self.worker.on_return = self._returned
        self.workers += 1
        self.forked += int(self.worker.forked)
        if _POOL.taken > 1:  # a process that runs several checks: the next spare boots during this run
            _POOL.prestart()
        self.worker.send(("load", self.payload))

    def begin(self) -> None:
        """Take a worker and send it the target; :meth:`load` waits for the answer (the caller
        plans meanwhile: its imports overlap with the worker's)."""
        try:
            self._send_load()
        except WorkerLost:
            pass  # reported by load()

    def load(self) -> tuple:
        """Load the target in the first worker (:meth:`begin` if not done): ``("loaded", kind,
        builtin)``, ``("load_error", type, message)``, ``("unpicklable", message)`` or ``("lost",
        cause)``."""
        try:
            if self.worker is None:
                self._send_load()
            reply = self.worker.wait(self.load_limit, self.memory_limit)
        except WorkerLost as lost:
            self._drop()
            if lost.hang:
                return ("lost", f"loading the target (at import time) took more than the load limit of "
                                f"{self.load_limit:g} s (max(60 s, --timeout): imports such as torch can take tens of "
                                "seconds): killed")
            return ("lost", f"the worker {lost.cause} while the target was loaded (at import time)"
                            + (f" (last output: {lost.last})" if lost.last else ""))
        if reply[0] == "load_hostile":
            self._drop()
            return ("lost", reply[1])
        if reply[0] == "error":
            self._drop()
            return ("lost", f"harness error in the worker: {reply[1].strip().splitlines()[-1]}")
        if reply[0] != "loaded":
            self._drop()
        else:
            self.payload["kind"] = reply[1]
        return reply

    def protocol(self, options: Any = None) -> tuple:
        """The protocol trial call in the loaded worker (once per run, not on re-loads), bounded by
        the per-call timeout: ``("protocol_ok",)``, ``("load_error", "ProtocolMismatch", message)``
        or ``("lost", cause)``. A lost trial drops the worker and counts as no kill: the first step
        meets the same behaviour in a fresh worker and reports it with its own check id."""
        try:
            self.worker.send(("protocol", options))
            reply = self.worker.wait(self.timeout, self.memory_limit)
        except WorkerLost as lost:
            self._drop()
            return ("lost", lost.cause)
        if reply[0] not in ("protocol_ok", "load_error"):
            self._drop()
            return ("lost", str(reply[-1]))
        return reply

    def setup(self, ctx: Any, only: Any, probes: bool, adversarial: bool, mode: str = "check") -> list[str] | str:
        """Send the run's plan parameters; the worker's step ids (or the cause of a loss). ``mode``
        ``"observe"``: the steps draw the compare plan's observables (:mod:`harness.run.steps`)."""
        self.setup_args = (ctx, only, probes, adversarial, mode)
        try:
            return self._fresh() if self.worker is None else self._setup()
        except WorkerLost as lost:
            self._drop()
            self.stopped = f"the worker {lost.cause} while the plan was set up"
            return self.stopped

    def _setup(self) -> list[str]:
        self.worker.send(("setup", *self.setup_args))
        reply = self.worker.wait(self.load_limit, self.memory_limit)
        if reply[0] != "ready":
            raise WorkerLost(f"could not set up the plan: {str(reply[-1]).strip().splitlines()[-1]}")
        return reply[1]

    def _fresh(self) -> list[str]:
        reply = self._start()
        if reply[0] != "loaded":
            raise WorkerLost(f"could not load the target again: {reply[-1]}")
        return self._setup()

    def _returned(self) -> None:
        self.in_a_row = 0

    def _drop(self) -> None:
        if self.worker is not None:
            self.call_seconds += self.worker.call_seconds
            self.worker.kill()
            self.escaped += len(self.worker.escaped)
            self._output.append(self.worker.output())
            self.worker = None

    def close(self) -> dict[str, Any]:
        """Kill the worker (and whatever it left running); the isolation info and the output."""
        self._drop()
        text = "".join(t for t, _ in self._output)
        if len(text) > 2 * OUTPUT_SHOWN:  # several workers printed a lot: keep the first and the last
            text = f"{text[:OUTPUT_SHOWN // 4]}\n[... output of {len(self._output)} workers omitted ...]\n" \
                   f"{text[-3 * OUTPUT_SHOWN // 4:]}"
        return {"workers_started": self.workers, "workers_forked": self.forked, "killed": self.kills, "not_called_again": self.stopped,
                "target_seconds": round(self.call_seconds, 3),
                "escaped_processes": self.escaped, "output": text,
                "output_bytes": sum(n for _, n in self._output)}

    # ---- steps ---------------------------------------------------------------------------
    def run(self, step: str, fail: Callable[..., Any]) -> Any:
        """Run one step; ``fail(step, cause, outcome=...)`` builds the result of a lost step."""
        from harness.probes.findings import Finding
        from harness.run.steps import PROBES

        if self.stopped:
            return fail(step, f"not run: {self.stopped}", outcome="not probed")
        known: dict[str, Any] = {}
        current: list = [None]
        while True:
            try:
                if self.worker is None:
                    current[0] = None
                    self._fresh()
                self.worker.send(("step", step, known))
                reply = self.worker.wait(self.step_limit(step), self.memory_limit,
                                         on_case=lambda c: current.__setitem__(0, c))
                if reply[0] == "done":
                    return reply[1]
                return fail(step, f"harness error in the worker: {str(reply[-1]).strip().splitlines()[-1]}")
            except WorkerLost as lost:
                self._drop()
                _POOL.prestart()  # the next step's fresh worker starts now
                case = current[0]
                where = case[0] if (step == PROBES and case) else step
                cause = f"{lost.cause} during {where}" + (f" (last output: {lost.last})" if lost.last else "")
                self.kills.append({"step": where, "cause": cause})
                self.in_a_row += 1
                if self.in_a_row >= 2:
                    self.stopped = ("the target was killed twice with no call of it returning in between ("
                                    + "; ".join(k["cause"] for k in self.kills[-2:])
                                    + "): it is not called again")
                elif len(self.kills) >= MAX_KILLS:
                    self.stopped = (f"the target was killed {len(self.kills)} times in this run ("
                                    + "; ".join(k["cause"] for k in self.kills)
                                    + "): it is not called again")
                if step != PROBES or not case:
                    return fail(step, cause, outcome="hang" if lost.hang else "crash")
                known[case[0]] = Finding(case[0], case[1], case[2], "hang" if lost.hang else "crash", "fail", cause)
                if self.stopped:
                    res = fail(step, f"probes not completed: {self.stopped}", outcome="not probed")
                    res.findings = list(known.values()) + [
                        Finding("probe", "the remaining probe cases", "valid", "not probed", "info",
                                f"not run: {self.stopped}")]
                    return res
