#!/usr/bin/env python
"""Benchmarks of the streaming Gumbel-max reference (issue 6), side by side in one run.

    python benchmarks/run.py            # default sizes (a few minutes), N = 1e8 for memory
    python benchmarks/run.py --full     # adds the N = 1e9 memory run
    python benchmarks/run.py --smoke --no-commands   # seconds: a check that it works

Measures and writes ``benchmarks/results/bench.json`` and ``bench.md``:

1. **Throughput** (samples/s) of ``harness.core.streaming.counts`` against
   ``numpy.random.Generator.choice`` and against the floor of merely drawing the ``N x K``
   Exp(1) values (``standard_exponential(out=...)`` into a reused buffer), for K = 10 and 1000,
   float32 and float64, on 1 core and on all cores (the floor and ``choice`` get the same
   chunked process pool as ``counts``, via :func:`harness.core.parallel.run_chunks`). The three are
   run interleaved, ``--repeats`` times, each for about ``--seconds``; the table gives the
   medians and the ratios ``counts / floor`` (target >= 0.5 per core) and ``counts / choice``.
2. **Peak memory** of ``counts`` for ``N x K = 1e8 x 10`` (``--full``: also ``1e9 x 10``) in a
   fresh subprocess, on 1 process and on all cores: peak RSS (``VmHWM``, the Linux
   ``ru_maxrss`` of the process image: interpreter, NumPy and SciPy included), the baseline
   RSS after imports and a warm-up, the ``tracemalloc`` peak (the sampler's own buffers), and
   the peak RSS of each pool worker. Target < 300 MB per process.
3. **Wall time** of ``gumbel-harness report --budget standard``, of
   ``gumbel-harness check torch.nn.functional:gumbel_softmax --kind torch --budget standard``
   and of the test suite with ``pytest -n auto`` (subprocesses; a failing or missing command is
   recorded as ``"unavailable"`` with its error, never a crash).

No assertion is made on any time: the numbers are reported, never tested.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from harness.core.parallel import resolve_workers, run_chunks  # noqa: E402
from harness.core.streaming import counts  # noqa: E402

SCHEMA = 1
RATIO_TARGET = 0.5
MEMORY_TARGET_MB = 300.0
BLOCK = 1 << 16


# ------------------------------------------------------------------------ chunk kernels
def floor_chunk(index: int, seed, chunk_rows: int, n: int, k: int, dtype: str) -> int:
    """Draw the chunk's ``rows x k`` Exp(1) values into a reused buffer (the floor)."""
    rows = min(chunk_rows, n - index * chunk_rows)
    rng = np.random.Generator(np.random.PCG64(seed))
    dt = np.dtype(dtype)
    br = max(1, BLOCK // k)
    buf = np.empty((br, k), dt)
    done = 0
    while done < rows:
        r = min(br, rows - done)
        if r != br:
            buf = np.empty((r, k), dt)
        rng.standard_exponential(dtype=dt, out=buf)
        done += r
    return rows


def choice_chunk(index: int, seed, chunk_rows: int, n: int, p: np.ndarray) -> np.ndarray:
    """``Generator.choice(K, size=rows, p=p)`` for the chunk's rows; returns the counts."""
    rows = min(chunk_rows, n - index * chunk_rows)
    rng = np.random.Generator(np.random.PCG64(seed))
    k = p.shape[0]
    acc = np.zeros(k, np.int64)
    done = 0
    step = 1 << 20
    while done < rows:
        r = min(step, rows - done)
        acc += np.bincount(rng.choice(k, size=r, p=p), minlength=k)
        done += r
    return acc


def _chunked(task, n: int, k: int, workers: int, args: tuple, chunk_elements: int) -> None:
    """``chunk_elements // k`` rows per chunk (the decomposition of ``counts``), on the same
    process pool."""
    rows = max(1, chunk_elements // k)
    run_chunks(task, -(-n // rows), 12345, args=(rows, n) + args, combine=None,
               workers=workers, progress=False)


def run_floor(n: int, k: int, dtype: str, workers: int, chunk_elements: int) -> None:
    if workers == 1:
        floor_chunk(0, np.random.SeedSequence(1), n, n, k, dtype)
    else:
        _chunked(floor_chunk, n, k, workers, (k, dtype), chunk_elements)


def run_choice(n: int, k: int, p: np.ndarray, workers: int, chunk_elements: int) -> None:
    if workers == 1:
        choice_chunk(0, np.random.SeedSequence(1), n, n, p)
    else:
        # choice costs O(1) per sample whatever K: give it chunks of chunk_elements samples
        _chunked(choice_chunk, n, 1, workers, (p,), chunk_elements)


def run_counts(n: int, x: np.ndarray, dtype: str, workers: int, chunk_elements: int) -> None:
    counts(x, n, 7, dtype=dtype, workers=workers, chunk_elements=chunk_elements, progress=False)


# ------------------------------------------------------------------------------ helpers
def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cores": resolve_workers(None),
        "cpu_count": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    try:  # no `import torch` here: it would add ~200 MB to this process for nothing
        from importlib.metadata import version

        info["torch"] = version("torch")
    except Exception:  # pragma: no cover
        info["torch"] = None
    return info


def _timed(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn(*args)``; CPU is this process's only (1-core runs)."""
    t, c = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - t, time.process_time() - c


def throughput_cell(k: int, dtype: str, workers: int, seconds: float, repeats: int,
                    chunk_elements: int, min_n: int) -> dict[str, Any]:
    """Interleaved floor / counts / choice runs; each sized to take about ``seconds``."""
    x = np.random.default_rng(k).normal(0.0, 1.0, k)
    p = np.exp(x - x.max())
    p /= p.sum()
    runners = {
        "exp_floor": lambda n: run_floor(n, k, dtype, workers, chunk_elements),
        "counts": lambda n: run_counts(n, x, dtype, workers, chunk_elements),
        "choice": lambda n: run_choice(n, k, p, workers, chunk_elements),
    }
    sizes: dict[str, int] = {}
    for name, fn in runners.items():  # pilot: warm the pool, estimate the rate
        n0 = max(min_n, int(2e6 // k))
        wall, _ = _timed(fn, n0)
        sizes[name] = max(min_n, int(n0 / max(wall, 1e-6) * seconds))
    walls: dict[str, list[float]] = {name: [] for name in runners}
    cpus: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, fn in runners.items():
            n = sizes[name]
            wall, cpu = _timed(fn, n)
            walls[name].append(n / wall)
            cpus[name].append(n / max(cpu, 1e-9))
    med_wall = {name: statistics.median(v) for name, v in walls.items()}
    med_cpu = {name: statistics.median(v) for name, v in cpus.items()}
    # Per core (workers = 1) the headline is per CPU-second of this process, which a busy
    # machine disturbs less than the wall clock; on all cores it is per wall-second.
    med = med_cpu if workers == 1 else med_wall
    return {
        "K": k,
        "dtype": dtype,
        "workers": workers,
        "clock": "cpu" if workers == 1 else "wall",
        "samples_per_s": med,
        "samples_per_wall_s": med_wall,
        "exp_per_s_floor": med["exp_floor"] * k,
        "ratio_vs_floor": med["counts"] / med["exp_floor"],
        "ratio_vs_choice": med["counts"] / med["choice"],
        "ratio_vs_floor_wall": med_wall["counts"] / med_wall["exp_floor"],
        "n": sizes,
        "runs_wall": walls,
        "runs_cpu": cpus if workers == 1 else None,
    }


MEMORY_SCRIPT = r"""
import json, os, resource, sys, time, tracemalloc
import numpy as np
import harness.core.parallel as hp
from harness.core.streaming import counts


def status_kb(field):
    # VmHWM / VmRSS of this process image (ru_maxrss would also count the parent's pages that
    # the fork before exec shared); falls back to ru_maxrss off Linux.
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker_memory(index, seed):
    time.sleep(0.05)
    return [(os.getpid(), status_kb("VmHWM"))]


n, k, dtype, workers = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
x = np.linspace(0.0, 1.0, k)
counts(x, 2 * ((1 << 22) // k), 0, dtype=dtype, workers=workers, progress=False)  # warm-up
base = status_kb("VmHWM")
tracemalloc.start()
t = time.perf_counter()
c = counts(x, n, 1, dtype=dtype, workers=workers, progress=False)
wall = time.perf_counter() - t
_, traced = tracemalloc.get_traced_memory()
tracemalloc.stop()
assert int(c.sum()) == n
peak = status_kb("VmHWM")
child = {}
if workers > 1:
    for pid, kb in hp.run_chunks(worker_memory, 8 * workers, 0, combine=lambda a, b: a + b,
                                 workers=workers, batch=1):
        child[pid] = max(kb, child.get(pid, 0))
print(json.dumps({"baseline_rss_kb": base, "peak_rss_kb": peak,
                  "child_peak_rss_kb": max(child.values()) if child else 0,
                  "n_children_seen": len(child),
                  "tracemalloc_peak_bytes": traced, "wall_s": wall}))
"""


def memory_run(n: int, k: int, dtype: str, workers: int, timeout: float) -> dict[str, Any]:
    """``counts`` in a fresh interpreter; peak RSS of the parent and of the largest worker."""
    argv = [sys.executable, "-c", MEMORY_SCRIPT, str(n), str(k), dtype, str(workers)]
    res: dict[str, Any] = {"n": n, "K": k, "dtype": dtype, "workers": workers,
                           "target_mb": MEMORY_TARGET_MB}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env=_env())
    except subprocess.TimeoutExpired:
        res.update(status="unavailable", error=f"timed out after {timeout:.0f} s")
        return res
    if proc.returncode != 0:
        res.update(status="unavailable", error=_tail(proc.stdout + proc.stderr))
        return res
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_mb = data["peak_rss_kb"] / 1024
    child_mb = data["child_peak_rss_kb"] / 1024
    # peak RSS of this process; with a pool, add workers x the largest worker peak (a loose
    # bound: forked workers share the parent's pages copy-on-write, which RSS counts in both).
    # The target is per process: the parent and each worker stream in O(K + block) memory.
    total_mb = peak_mb + (workers * child_mb if workers > 1 else 0.0)
    res.update(
        status="ok",
        peak_rss_mb=round(peak_mb, 1),
        baseline_rss_mb=round(data["baseline_rss_kb"] / 1024, 1),
        worker_peak_rss_mb=round(child_mb, 1) if workers > 1 else None,
        total_peak_rss_mb=round(total_mb, 1),
        tracemalloc_peak_mb=round(data["tracemalloc_peak_bytes"] / 2**20, 2),
        wall_s=round(data["wall_s"], 2),
        ok=max(peak_mb, child_mb) < MEMORY_TARGET_MB,
    )
    return res


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                                       env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("GUMBEL_HARNESS_PROGRESS", "0")
    return env


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_command(name: str, argv: list[str], timeout: float, cwd: Path | str | None = None
                ) -> dict[str, Any]:
    """Run ``argv``; return its wall time, or ``status: "unavailable"`` with the error."""
    res: dict[str, Any] = {"name": name, "argv": argv}
    t = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              cwd=cwd or ROOT, env=_env())
    except subprocess.TimeoutExpired:
        res.update(status="unavailable", error=f"timed out after {timeout:.0f} s",
                   wall_s=round(time.perf_counter() - t, 2))
        return res
    except OSError as exc:
        res.update(status="unavailable", error=f"{type(exc).__name__}: {exc}")
        return res
    res["wall_s"] = round(time.perf_counter() - t, 2)
    res["returncode"] = proc.returncode
    if proc.returncode != 0:
        res.update(status="unavailable", error=_tail(proc.stdout + "\n" + proc.stderr))
    else:
        res.update(status="ok", summary=_tail(proc.stdout, 3))
    return res


def commands(scratch: Path) -> list[tuple[str, list[str], Path | None]]:
    """(name, argv, cwd): the report and the check run in ``scratch`` so that whatever they
    write lands there, not in the checkout; the test suite runs in the checkout."""
    py = sys.executable
    return [
        ("report --budget standard",
         [py, "-m", "harness", "report", "--budget", "standard", "--no-progress",
          "--out", str(scratch / "report")], scratch),
        ("check torch.nn.functional:gumbel_softmax --kind torch --budget standard",
         [py, "-m", "harness", "check", "torch.nn.functional:gumbel_softmax", "--kind", "torch",
          "--budget", "standard"], scratch),
        ("pytest -n auto", [py, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider"],
         ROOT),
    ]


# ------------------------------------------------------------------------------ output
def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    out = [
        "# Benchmarks: streaming Gumbel-max reference",
        "",
        f"Machine: {m.get('cpu', '?')}, {m['cores']} cores, {m.get('memory_gib', '?')} GiB; "
        f"Python {m['python']}, NumPy {m['numpy']}. Run {result['created']}"
        f"{' (smoke sizes)' if result['settings']['smoke'] else ''}.",
        "",
        "## Throughput (samples/s, medians) and ratios",
        "",
        f"`counts / floor`: the reference sampler against merely drawing the N x K Exp(1) values "
        f"(target >= {RATIO_TARGET}); `counts / choice`: against `Generator.choice`. "
        f"1 core: samples per CPU-second of the process; all cores: per wall-second "
        f"(the same chunked process pool for all three).",
        "",
        "| K | dtype | cores | counts | Generator.choice | Exp(1) floor | floor Exp/s "
        "| counts / floor | counts / choice |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in result["throughput"]:
        s = c["samples_per_s"]
        out.append(
            f"| {c['K']} | {c['dtype']} | {c['workers']} | {fmt_rate(s['counts'])} | "
            f"{fmt_rate(s['choice'])} | {fmt_rate(s['exp_floor'])} | "
            f"{fmt_rate(c['exp_per_s_floor'])} | {c['ratio_vs_floor']:.2f} | "
            f"{c['ratio_vs_choice']:.2f} |")
    out += ["", f"## Peak memory of `counts` (target < {MEMORY_TARGET_MB:.0f} MB)", "",
            "| N | K | dtype | workers | peak RSS (MB) | baseline RSS (MB) | per-worker RSS (MB) "
            "| sum bound (MB) | tracemalloc peak (MB) | wall (s) | < target per process |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["memory"]:
        if r.get("status") != "ok":
            out.append(f"| {r['n']:.0e} | {r['K']} | {r['dtype']} | {r['workers']} | "
                       f"unavailable: {r.get('error', '')[:80]} | | | | | | |")
            continue
        out.append(
            f"| {r['n']:.0e} | {r['K']} | {r['dtype']} | {r['workers']} | {r['peak_rss_mb']} | "
            f"{r['baseline_rss_mb']} | {r['worker_peak_rss_mb'] or '-'} | "
            f"{r['total_peak_rss_mb']} | {r['tracemalloc_peak_mb']} | {r['wall_s']} | "
            f"{'yes' if r['ok'] else 'NO'} |")
    out += ["", "## Wall times", "", "| command | status | wall (s) |", "|---|---|---:|"]
    for c in result["commands"]:
        wall = f"{c['wall_s']:.1f}" if c.get("wall_s") is not None else "-"
        status = c["status"]
        if status == "unavailable":
            err = (c.get("error") or "").strip().splitlines()
            status += f": {err[-1][:100] if err else ''}"
        out.append(f"| `{c['name']}` | {status} | {wall} |")
    out.append("")
    return "\n".join(out)


# -------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                    help="output folder for bench.json and bench.md")
    ap.add_argument("--seconds", type=float, default=1.5,
                    help="target duration of each timed run (default 1.5)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    ap.add_argument("--ks", type=int, nargs="+", default=[10, 1000])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    ap.add_argument("--workers", type=int, default=None,
                    help="the 'all cores' worker count (default: all usable cores)")
    ap.add_argument("--memory-n", type=float, nargs="+", default=None,
                    help="N values for the memory runs (default 1e8; --full adds 1e9)")
    ap.add_argument("--full", action="store_true", help="also measure memory at N = 1e9")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes (seconds): checks that the script works")
    ap.add_argument("--no-commands", action="store_true",
                    help="skip the wall-time commands (report, check, test suite)")
    ap.add_argument("--command-timeout", type=float, default=3600.0)
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    args = parse_args(argv)
    all_cores = resolve_workers(args.workers)
    if args.smoke:
        args.seconds, args.repeats = min(args.seconds, 0.02), 1
        memory_n = [int(x) for x in (args.memory_n or [2e5])]
        min_n, chunk_elements = 200, 1 << 16
    else:
        memory_n = [int(x) for x in (args.memory_n or ([1e8, 1e9] if args.full else [1e8]))]
        min_n, chunk_elements = 1000, 1 << 22
    core_counts = sorted({1, all_cores})
    cells = [(k, dt, w) for dt in args.dtypes for k in args.ks for w in core_counts]
    mem_cells = [(n, 10, "float64", w) for n in memory_n for w in core_counts]
    scratch = tempfile.TemporaryDirectory(prefix="gumbel-bench-")
    cmds = [] if args.no_commands else commands(Path(scratch.name))
    steps = len(cells) + len(mem_cells) + len(cmds)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": {"seconds": args.seconds, "repeats": args.repeats, "smoke": args.smoke,
                     "full": args.full, "all_cores": all_cores, "memory_n": memory_n,
                     "chunk_elements": chunk_elements},
        "targets": {"ratio_vs_floor_min": RATIO_TARGET, "memory_mb": MEMORY_TARGET_MB},
        "throughput": [],
        "memory": [],
        "commands": [],
    }
    bar = tqdm(total=steps, desc="benchmarks", file=sys.stderr, disable=args.quiet,
               dynamic_ncols=True)
    try:
        for k, dt, w in cells:
            bar.set_postfix_str(f"throughput K={k} {dt} cores={w}")
            result["throughput"].append(
                throughput_cell(k, dt, w, args.seconds, args.repeats, chunk_elements, min_n))
            bar.update()
        for n, k, dt, w in mem_cells:
            bar.set_postfix_str(f"memory N={n:.0e} workers={w}")
            result["memory"].append(memory_run(n, k, dt, w, timeout=args.command_timeout))
            bar.update()
        for name, argv_, cwd in cmds:
            bar.set_postfix_str(name[:40])
            result["commands"].append(run_command(name, argv_, args.command_timeout, cwd))
            bar.update()
    finally:
        bar.close()
        scratch.cleanup()
    if args.no_commands:
        result["commands"] = [{"name": n, "status": "skipped", "wall_s": None}
                              for n in ("report --budget standard",
                                        "check torch.nn.functional:gumbel_softmax --kind torch "
                                        "--budget standard", "pytest -n auto")]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (args.out / "bench.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'bench.json'} and {args.out / 'bench.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
