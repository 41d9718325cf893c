"""Tests of ``harness.core.parallel``: seeds, identical results whatever the worker count or backend,
error propagation, no Dask import by default, the Dask LocalCluster backend (marker ``dask``)."""
from __future__ import annotations

import operator
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from harness.core import parallel
from harness.core.parallel import child_seed, resolve_workers, root_seed, run_chunks
from harness.core.streaming import counts

X = np.array([0.3, -1.0, 2.0, -np.inf, 0.0, 1.1, -0.4])


# Chunk tasks (module level: picklable by reference; the local pool forks on Linux).
def normal_sum(index, seed, size):
    return float(np.random.default_rng(seed).standard_normal(size).sum())


def first_draw(index, seed):
    return index, int(np.random.default_rng(seed).integers(2**62))


def boom(index, seed):
    if index == 3:
        raise ArithmeticError(f"chunk {index} failed")
    return index


def nested_workers(index, seed):
    return resolve_workers(None)


# ---------------------------------------------------------------------------------- seeds
def test_child_seed_matches_spawn():
    root = np.random.SeedSequence(2024)
    kids = np.random.SeedSequence(2024).spawn(5)
    for i in range(5):
        assert np.array_equal(child_seed(root, i).generate_state(4), kids[i].generate_state(4))
    used = np.random.SeedSequence(7)
    used.spawn(3)  # children (0,), (1,), (2,) belong to someone else: ours start at (3,)
    assert child_seed(used, 0).spawn_key == (3,)


def test_root_seed_semantics():
    assert root_seed(5).entropy == 5
    ss = np.random.SeedSequence(11)
    assert root_seed(ss) is ss
    g = np.random.default_rng(3)
    a, b = root_seed(g), root_seed(g)
    assert a.spawn_key != b.spawn_key  # a Generator is a stateful source
    for bad in (1.5, "x", -1, True):
        with pytest.raises(ValueError):
            root_seed(bad)


def test_independent_chunk_streams():
    draws = run_chunks(first_draw, 64, 0, workers=1)
    assert [i for i, _ in draws] == list(range(64))
    assert len({d for _, d in draws}) == 64


# --------------------------------------------------------------- identical on any backend
def test_list_results_in_order_any_workers():
    one = run_chunks(first_draw, 40, 9, workers=1)
    two = run_chunks(first_draw, 40, 9, workers=2, window=3)
    assert one == two


@pytest.mark.parametrize("batch", [None, 1, 4, 7])
def test_float_fold_bitwise_identical_any_workers(batch):
    """The reduction tree depends on n_chunks and batch only, so float sums are bit-equal."""
    kw = dict(args=(1000,), combine=operator.add, batch=batch)
    ref = run_chunks(normal_sum, 50, 123, workers=1, **kw)
    assert run_chunks(normal_sum, 50, 123, workers=2, **kw) == ref
    assert run_chunks(normal_sum, 50, 123, workers=2, window=1, **kw) == ref


@pytest.mark.parametrize("dtype,method", [("float64", "race"), ("float32", "race"),
                                          ("float64", "gumbel")])
def test_counts_identical_workers_1_and_2(dtype, method):
    kw = dict(dtype=dtype, method=method, chunk_elements=1 << 14)
    one = counts(X, 400_000, 77, workers=1, **kw)
    two = counts(X, 400_000, 77, workers=2, **kw)
    assert np.array_equal(one, two) and one.sum() == 400_000 and one[3] == 0
    big = np.linspace(-1, 1, 300)  # the sample-major kernel, batched logits
    b1 = counts(np.stack([big, -big]), 20_000, 5, workers=1, **kw)
    b2 = counts(np.stack([big, -big]), 20_000, 5, workers=2, **kw)
    assert np.array_equal(b1, b2)


def test_default_workers_is_all_cores_and_matches():
    assert resolve_workers(None) >= 1
    assert np.array_equal(counts(X, 100_000, 1, chunk_elements=1 << 12),
                          counts(X, 100_000, 1, chunk_elements=1 << 12, workers=1))


# ---------------------------------------------------------------------------- behaviour
def test_errors_propagate_and_pool_survives():
    for workers in (1, 2):
        with pytest.raises(ArithmeticError, match="chunk 3"):
            run_chunks(boom, 10, 0, workers=workers)
    assert run_chunks(boom, 3, 0, workers=2) == [0, 1, 2]


def test_nested_runs_default_to_one_worker():
    assert set(run_chunks(nested_workers, 6, 0, workers=2)) == {1}


def test_env_sets_default_workers(monkeypatch):
    monkeypatch.setenv("GUMBEL_HARNESS_WORKERS", "1")
    assert resolve_workers(None) == 1
    monkeypatch.setenv("GUMBEL_HARNESS_WORKERS", "3")
    assert resolve_workers(None) == 3


def test_empty_and_bad_arguments():
    assert run_chunks(first_draw, 0, 0) == []
    assert run_chunks(first_draw, 0, 0, combine=operator.add) is None
    for kw in ({"workers": 0}, {"workers": 1.5}, {"batch": 0}, {"scheduler": 42}):
        with pytest.raises(ValueError):
            run_chunks(first_draw, 4, 0, **kw)
    with pytest.raises(ValueError):
        run_chunks(first_draw, -1, 0)
    with pytest.raises(ValueError):
        counts(X, 10, 0, workers=0)


def test_progress_bar_runs(capsys):
    out = run_chunks(first_draw, 5, 0, workers=1, progress=True, desc="test")
    assert len(out) == 5


def test_default_backend_never_imports_dask():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from harness.core.streaming import counts
        c = counts(np.zeros(4), 200_000, 0, workers=2, chunk_elements=1 << 14)
        assert c.sum() == 200_000
        bad = [m for m in ("dask", "distributed") if m in sys.modules]
        assert not bad, bad
        print("ok")
    """)
    env = dict(os.environ, GUMBEL_HARNESS_PROGRESS="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


# ---------------------------------------------------------------------------------- Dask
@pytest.mark.dask
def test_dask_local_cluster_matches_local_processes():
    pytest.importorskip("distributed")
    kw = dict(chunk_elements=1 << 16)
    one = counts(X, 300_000, 42, workers=1, **kw)
    dask = counts(X, 300_000, 42, workers=2, scheduler="local", **kw)
    assert np.array_equal(one, dask)


@pytest.mark.dask
@pytest.mark.slow
def test_dask_client_and_address():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            kw = dict(chunk_elements=1 << 16, dtype="float32")
            ref = counts(X, 200_000, 8, workers=1, **kw)
            assert np.array_equal(counts(X, 200_000, 8, scheduler=client, **kw), ref)
            assert np.array_equal(counts(X, 200_000, 8, scheduler=cluster.scheduler_address,
                                         **kw), ref)


def test_shutdown_pools_then_reuse():
    run_chunks(first_draw, 4, 0, workers=2)
    parallel.shutdown_pools()
    assert run_chunks(first_draw, 4, 0, workers=2) == run_chunks(first_draw, 4, 0, workers=1)


def test_no_fork_once_jax_is_imported():
    """JAX runs threads from import on: the pool then forks from a fresh server (forkserver),
    never from this process, and the results are those of the serial run."""
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("error", RuntimeWarning)  # JAX's "os.fork() was called" warning
        import jax  # noqa: F401
        from harness.core import parallel
        from harness.core.parallel import run_chunks
        from tests.test_parallel import first_draw
        assert parallel._start_method() == "forkserver", parallel._start_method()
        assert run_chunks(first_draw, 12, 9, workers=2) == run_chunks(first_draw, 12, 9, workers=1)
        print("ok")
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=root,
                       env={**os.environ, "PYTHONPATH": root, "GUMBEL_HARNESS_MP_START": ""})
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stderr[-3000:]
