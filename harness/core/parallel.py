r"""Parallel Monte Carlo: run seeded chunk tasks on local processes or a Dask cluster, combine.

One mechanism serves every chunked Monte Carlo loop of the harness (``reference.numpy_sampler.
counts`` uses it; experiments can too)::

    total = run_chunks(task, n_chunks, seed, args=(...), combine=operator.add)

calls ``task(i, seed_i, *args)`` for ``i = 0 .. n_chunks - 1`` and folds the results in index
order. ``seed_i`` is the ``i``-th child of a root :class:`numpy.random.SeedSequence` (the same
keys ``SeedSequence.spawn`` gives), built lazily from ``(root, i)`` so a billion chunks cost no
memory; a task turns it into a stream with ``numpy.random.default_rng(seed_i)``.

Reproducibility whatever the number of workers
-----------------------------------------------
The chunk decomposition (``n_chunks``, what chunk ``i`` computes, its seed) is fixed by the
caller and never depends on ``workers`` or ``scheduler``. Chunks are grouped into jobs of
``batch`` consecutive chunks, where ``batch`` depends on ``n_chunks`` only; a job folds its
chunks left to right, and the caller folds the job results left to right. The reduction tree is
therefore the same on 1 process, 16 processes or a Dask cluster, so even floating-point sums are
bit-identical, and integer counts are identical by construction.

Backends
--------
* ``workers=1``: everything runs in this process (no pool, no pickling).
* default (``scheduler=None``): a pool of ``workers`` local processes (all cores by default,
  ``GUMBEL_HARNESS_WORKERS=N`` changes the default) from :mod:`concurrent.futures`, kept for reuse until exit
  (:func:`shutdown_pools`). Dask is never imported. Start method: ``fork`` on Linux (no
  re-import of the caller's script, so a script without an ``if __name__ == "__main__":`` guard
  works, and workers start in milliseconds; the workers only run NumPy chunk tasks), except
  ``forkserver`` once JAX is imported (its threads make fork unsafe), ``spawn``
  elsewhere (there the calling script needs the usual ``__main__`` guard);
  ``GUMBEL_HARNESS_MP_START=forkserver|spawn|fork`` overrides.
* ``scheduler="local"``: a temporary ``distributed.LocalCluster`` with ``workers`` single-threaded
  worker processes; ``scheduler="tcp://host:8786"``: connect to a running Dask scheduler;
  ``scheduler=<distributed.Client>``: use that client. The same jobs are submitted as Dask
  futures. Task functions must be importable on the Dask workers (install this package there).

At most ``window`` jobs are in flight (default 4 per worker): memory stays O(window) whatever
the number of chunks. Code running inside a worker process (this module's, any
``multiprocessing`` pool's such as the report runner's, or a Dask worker) gets ``workers=1`` by
default: no nested pools, no oversubscription.
"""
from __future__ import annotations

import atexit
import functools
import math
import os
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence, TypeVar, Union

import numpy as np

__all__ = [
    "SeedLike",
    "root_seed",
    "child_seed",
    "resolve_workers",
    "default_batch",
    "run_chunks",
    "shutdown_pools",
    "kill_pools",
]

R = TypeVar("R")
SeedLike = Union[int, Sequence[int], np.random.SeedSequence, np.random.Generator, None]

#: Upper bound on the number of jobs a run is split into (the batch size follows from it).
MAX_JOBS = 1024
_IN_WORKER = False  # set in worker processes: nested run_chunks default to workers=1
_POOLS: dict[tuple[int, str], ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


# ----------------------------------------------------------------------------------- seeds
def root_seed(seed: SeedLike) -> np.random.SeedSequence:
    """The root :class:`~numpy.random.SeedSequence` of a run.

    * ``int`` / sequence of ints / ``None``: ``SeedSequence(seed)`` (a value: the same int gives
      the same result on every call; ``None`` draws fresh OS entropy).
    * ``SeedSequence``: used as the root as is (like ``numpy.random.default_rng(ss)``), so the
      same object gives the same result. Do not also ``spawn`` children of it for other work:
      the chunk seeds are its children ``(0,), (1,), ...``, offset by ``n_children_spawned``.
    * ``Generator``: a stateful source: one child of its ``SeedSequence`` is spawned per call,
      so successive calls are independent and the sequence of calls is reproducible.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        ss = getattr(seed.bit_generator, "seed_seq", None)
        if isinstance(ss, np.random.SeedSequence):
            return ss.spawn(1)[0]
        # A generator without a SeedSequence (built from a raw state): draw entropy from it.
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    if isinstance(seed, (bool, np.bool_)) or isinstance(seed, float):
        raise ValueError(f"seed must be an int, a SeedSequence or a Generator, got {seed!r}")
    try:
        return np.random.SeedSequence(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad seed {seed!r}: {exc}") from None


def _root_spec(root: np.random.SeedSequence) -> tuple[Any, tuple[int, ...], int, int]:
    return (root.entropy, tuple(root.spawn_key), int(root.pool_size), int(root.n_children_spawned))


def child_seed(root: np.random.SeedSequence | tuple, index: int) -> np.random.SeedSequence:
    """Child ``index`` of ``root``: identical to ``root.spawn(index + 1)[index]`` on a fresh
    ``root``, without materialising the others (``root`` may also be its :func:`_root_spec`)."""
    entropy, key, pool_size, offset = root if isinstance(root, tuple) else _root_spec(root)
    return np.random.SeedSequence(entropy, spawn_key=key + (offset + int(index),),
                                  pool_size=pool_size)


# ---------------------------------------------------------------------------------- workers
def resolve_workers(workers: int | None) -> int:
    """``None`` -> 1 inside a worker process (of this module's pool, of any
    ``multiprocessing`` pool such as the report runner's, or of Dask), so that nested parallel
    loops never oversubscribe the machine; else ``GUMBEL_HARNESS_WORKERS`` if set; else all
    usable cores. An explicit ``workers`` always wins."""
    if workers is None:
        import multiprocessing as mp

        env = os.environ.get("GUMBEL_HARNESS_WORKERS")
        if _IN_WORKER or mp.parent_process() is not None or _inside_dask_worker():
            return 1
        if env:
            try:
                workers = int(env)
            except ValueError:
                raise ValueError(f"GUMBEL_HARNESS_WORKERS={env!r} is not an integer") from None
        else:
            try:
                workers = len(os.sched_getaffinity(0))
            except AttributeError:  # pragma: no cover - not Linux
                workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    return int(workers)


def default_batch(n_chunks: int) -> int:
    """Chunks per job: a function of ``n_chunks`` only (never of the worker count), so that the
    reduction tree, hence the result, is the same on any backend."""
    return max(1, math.ceil(n_chunks / MAX_JOBS))


def _start_method() -> str:
    import multiprocessing as mp

    method = os.environ.get("GUMBEL_HARNESS_MP_START")
    if method:
        if method not in mp.get_all_start_methods():
            raise ValueError(f"GUMBEL_HARNESS_MP_START={method!r} is not one of "
                             f"{mp.get_all_start_methods()}")
        return method
    import sys

    if not sys.platform.startswith("linux"):
        return "spawn"
    # JAX runs threads of its own from import on (it warns that fork "will likely lead to a
    # deadlock"): fork the workers from a fresh single-threaded server instead
    return "forkserver" if "jax" in sys.modules else "fork"


def _mark_worker(parent_pid: int | None = None, pdeathsig: bool = False) -> None:
    """Pool worker initializer: nested loops run serially; the worker ignores SIGINT and dies
    with its parent (:func:`harness.core.lifeline.bind_to_parent`)."""
    global _IN_WORKER
    _IN_WORKER = True
    from harness.core.lifeline import bind_to_parent

    bind_to_parent(parent_pid, pdeathsig=pdeathsig)


def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing as mp

    method = _start_method()
    key = (workers, method)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            ctx = mp.get_context(method)
            if method == "forkserver":
                try:  # the server imports these once; workers fork from it warm
                    ctx.set_forkserver_preload(["numpy", "harness.core.parallel"])
                except Exception:  # pragma: no cover
                    pass
            main = threading.current_thread() is threading.main_thread()
            # a forkserver's workers are children of the server (which exits with this process):
            # they bind to it, not to this pid
            parent = None if method == "forkserver" else os.getpid()
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_mark_worker,
                                       initargs=(parent, main))
            _POOLS[key] = pool
        return pool


def _drop_pool(pool: ProcessPoolExecutor) -> None:
    with _POOLS_LOCK:
        for key, value in list(_POOLS.items()):
            if value is pool:
                del _POOLS[key]
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pools() -> None:
    """Stop the cached local worker pools (they are restarted on demand)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def kill_pools() -> None:
    """Stop the cached local worker pools now, running jobs included (on Ctrl-C)."""
    from harness.core.lifeline import kill_executor

    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        kill_executor(pool)


atexit.register(shutdown_pools)


def _forget_pools_after_fork() -> None:
    """A forked child must not use its parent's executors (their threads did not survive)."""
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


# ------------------------------------------------------------------------------------- jobs
def _run_job(task: Callable[..., R], start: int, stop: int, root: tuple, args: tuple,
             kwargs: dict, combine: Callable[[Any, R], Any] | None) -> Any:
    """Run chunks ``start .. stop-1``; fold them with ``combine`` (or return their list)."""
    global _IN_WORKER
    previous = _IN_WORKER
    _IN_WORKER = _IN_WORKER or _inside_dask_worker()  # nested calls default to 1 worker
    try:
        if combine is None:
            return [task(i, child_seed(root, i), *args, **kwargs) for i in range(start, stop)]
        acc = task(start, child_seed(root, start), *args, **kwargs)
        for i in range(start + 1, stop):
            acc = combine(acc, task(i, child_seed(root, i), *args, **kwargs))
        return acc
    finally:
        _IN_WORKER = previous


def _inside_dask_worker() -> bool:
    import sys

    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_worker

        get_worker()
        return True
    except (ImportError, ValueError):
        return False


def _jobs(n_chunks: int, batch: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n_chunks, batch):
        yield start, min(n_chunks, start + batch)


def _fold(acc: Any, value: Any, combine: Callable | None, folded: bool, first: bool) -> Any:
    """Fold one job's value into ``acc``: ``value`` is the job's folded result when ``folded``,
    else the list of its chunk results."""
    if combine is None:
        acc.extend(value)
        return acc
    if folded:
        return value if first else combine(acc, value)
    for i, v in enumerate(value):
        acc = v if (first and i == 0) else combine(acc, v)
    return acc


def _progress_bar(total: int, desc: str | None, progress: bool | None):
    from harness.core.progress import progress as _progress

    return _progress(range(total), total=total, desc=desc or "chunks", enabled=progress)


def run_chunks(
    task: Callable[..., R],
    n_chunks: int,
    seed: SeedLike = None,
    *,
    args: tuple = (),
    kwargs: dict | None = None,
    combine: Callable[[Any, R], Any] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    batch: int | None = None,
    window: int | None = None,
    progress: bool | None = None,
    desc: str | None = None,
) -> Any:
    r"""Run ``task(i, seed_i, *args, **kwargs)`` for ``i < n_chunks``; fold the results in order.

    Parameters
    ----------
    task
        A picklable (module-level) function. ``seed_i`` is :func:`child_seed` ``(root, i)`` with
        ``root = root_seed(seed)``; build the chunk's stream with ``np.random.default_rng(seed_i)``.
    combine
        Associative binary function ``acc, result -> acc`` (e.g. :func:`operator.add` for counts
        or sums); ``None`` returns the list of all results in chunk order. It runs in the
        workers too (folding a job's chunks) when ``batch > 1``, so it must then be picklable.
    workers
        Processes (local pool) or, with ``scheduler="local"``, LocalCluster workers. ``None``:
        all cores (see :func:`resolve_workers`). ``1``: run in this process.
    scheduler
        ``None`` (local processes, no Dask), ``"local"`` (a temporary Dask LocalCluster), a Dask
        scheduler address, or a ``distributed.Client``.
    batch
        Chunks per job (default :func:`default_batch`, a function of ``n_chunks`` only). The
        result is identical for any ``workers``/``scheduler`` at a fixed ``batch``.
    window
        Jobs in flight at once (default ``4 * workers``); bounds memory.
    progress
        tqdm bar over jobs (``None``: on a terminal only, see :mod:`harness.core.progress`).

    Returns the folded result (``combine``) or the list of chunk results (``combine=None``);
    ``n_chunks == 0`` returns ``[]`` for a list and ``None`` for a fold.
    """
    if isinstance(n_chunks, bool) or not isinstance(n_chunks, (int, np.integer)) or n_chunks < 0:
        raise ValueError(f"n_chunks must be a non-negative integer, got {n_chunks!r}")
    n_chunks = int(n_chunks)
    root = _root_spec(root_seed(seed))
    kwargs = dict(kwargs or {})
    batch = default_batch(n_chunks) if batch is None else int(batch)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    n_jobs = math.ceil(n_chunks / batch) if n_chunks else 0
    if n_jobs == 0:
        return [] if combine is None else None
    jobs = _jobs(n_chunks, batch)
    acc: Any = [] if combine is None else None
    # one-chunk jobs are folded here, so `combine` need not be picklable for them
    job_combine = combine if batch > 1 else None

    if scheduler is None:
        n_workers = resolve_workers(workers)
        if n_workers == 1 or n_jobs == 1:
            for j, (start, stop) in zip(_progress_bar(n_jobs, desc, progress), jobs):
                acc = _fold(acc, _run_job(task, start, stop, root, args, kwargs, job_combine),
                            combine, job_combine is not None, j == 0)
            return acc
        pool = _pool(n_workers)
        submit = functools.partial(pool.submit, _run_job)
        try:
            return _drive(submit, jobs, n_jobs, task, root, args, kwargs, combine, job_combine,
                          window or 4 * n_workers, desc, progress, cancel=lambda f: f.cancel())
        except BrokenProcessPool:
            _drop_pool(pool)  # a worker died (killed, out of memory): the next call rebuilds
            raise

    client, close = _dask_client(scheduler, workers)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)

        def submit(*a):
            return client.submit(_run_job, *a, pure=False)

        return _drive(submit, jobs, n_jobs, task, root, args, kwargs, combine, job_combine,
                      window or 4 * n_workers, desc, progress, cancel=lambda f: f.cancel())
    finally:
        close()


def _drive(submit, jobs, n_jobs, task, root, args, kwargs, combine, job_combine, window, desc,
           progress, cancel) -> Any:
    """Keep ``window`` jobs in flight; fold results strictly in job order."""
    inflight: deque = deque()
    acc: Any = [] if combine is None else None
    try:
        for _ in range(window):
            job = next(jobs, None)
            if job is None:
                break
            inflight.append(submit(task, job[0], job[1], root, args, kwargs, job_combine))
        for j in _progress_bar(n_jobs, desc, progress):
            future = inflight.popleft()
            value = future.result()
            job = next(jobs, None)
            if job is not None:
                inflight.append(submit(task, job[0], job[1], root, args, kwargs, job_combine))
            acc = _fold(acc, value, combine, job_combine is not None, j == 0)
        return acc
    finally:
        for future in inflight:
            cancel(future)


def _dask_client(scheduler: Any, workers: int | None):
    """``(client, close)`` for ``"local"``, an address, or a ``distributed.Client``."""
    if not (isinstance(scheduler, str) or hasattr(scheduler, "submit")):
        raise ValueError(f"scheduler must be None, 'local', an address or a distributed.Client, "
                         f"got {scheduler!r}")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError("the Dask backend needs `pip install gumbel-harness[dask]` "
                          "(dask and distributed)") from exc
    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if scheduler == "local":
        n = resolve_workers(workers)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    if isinstance(scheduler, str):
        client = Client(scheduler)
        return client, client.close
    raise ValueError(f"scheduler must be None, 'local', an address or a distributed.Client, "
                     f"got {scheduler!r}")
