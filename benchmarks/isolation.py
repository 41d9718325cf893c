#!/usr/bin/env python
"""Overhead of the supervised worker (issue 11): a standard check with ``isolation="process"``
against ``isolation="none"``, side by side, as ratios.

    python benchmarks/isolation.py                 # standard budget, the three targets below
    python benchmarks/isolation.py --budget quick --repeats 1 --targets numpy-gumbel   # smoke

Each measurement runs in a fresh Python process (``python -c``) that imports the harness, then
times three consecutive ``check_sampler(target, budget=...)`` calls in the same mode (``none``,
``process``, and with ``--baseline-root DIR`` the harness of another checkout, e.g. the commit
before the worker existed, called without ``isolation=``: "today"):

* **cold**: the first call of the process (``process`` pays for starting the worker and its
  imports: NumPy, SciPy, the harness, torch for torch targets);
* **warm**: the third call, the steady state of a process that runs several checks
  (``process`` takes the spare worker that booted during the previous run: what ``--builtin
  all``, ``--mutant all`` and test suites see).

* **shared** (with ``--baseline-root``, when the two harnesses plan different checks for the
  target): the warm call restricted to the checks both plan, probes on (``only=[ids both
  have], probes=True``), so that process / baseline compares the same work: a check added
  since the baseline (e.g. the torch kind's ``C3.tail``) is not counted as isolation overhead.

Modes alternate (none, process, none, process...) so that a change of machine load hits both;
the table gives the medians over ``--repeats`` and the ratios process / none. Results go to
``benchmarks/results/isolation.{json,md}``. Nothing is asserted: the numbers are reported.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["numpy-gumbel", "reference-categorical", "torch-gumbel-softmax"]
TARGET_RATIO = 1.3

CHILD = """
import json, os, sys, time
from harness.checker import check_sampler
target, budget, mode, shared = sys.argv[1:5]
shared = json.loads(shared)
kw = {} if mode == "baseline" else {"isolation": mode}
runs = [{}] * 3 + ([{"only": shared, "probes": True, "adversarial": True}] if shared else [])
out, cpu = [], []
for extra in runs:
    t0, c0 = time.perf_counter(), os.times()
    res = check_sampler(target, budget=budget, **kw, **extra)
    out.append(time.perf_counter() - t0)
    c1 = os.times()
    cpu.append(sum(c1[:4]) - sum(c0[:4]))  # user + sys of this process and of reaped workers
    assert res.passed, res.report()
r = {"cold": out[0], "warm": out[2], "cpu_cold": cpu[0], "cpu_warm": cpu[2]}
if shared:
    r.update(shared=out[3], cpu_shared=cpu[3])
print(json.dumps(r))
"""

PLAN = """
import json, sys
from harness.core.budgets import get_budget
from harness.kinds import plan_for
from harness.targets.loading import BUILTINS  # a built-in's kind (both harnesses have BUILTINS)
print(json.dumps([c.id for c in plan_for(BUILTINS[sys.argv[1]].kind, get_budget(sys.argv[2]))]))
"""


def plan_ids(target: str, budget: str, root: str) -> list[str]:
    """The check ids the harness at ``root`` plans for ``target``."""
    p = subprocess.run([sys.executable, "-c", PLAN, target, budget], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": root}, cwd=root, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"plan of {target} at {root}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def shared_plan(target: str, budget: str, baseline_root: str | None) -> list[str]:
    """The checks both harnesses plan, when the plans differ (else [])."""
    if not baseline_root:
        return []
    mine, theirs = plan_ids(target, budget, str(ROOT)), plan_ids(target, budget, baseline_root)
    return [] if mine == theirs else [c for c in mine if c in set(theirs)]


def measure(target: str, budget: str, mode: str, baseline_root: str | None = None,
            shared: list[str] | None = None) -> dict:
    root = baseline_root if mode == "baseline" else str(ROOT)
    env = {**os.environ, "PYTHONPATH": root}
    p = subprocess.run([sys.executable, "-c", CHILD, target, budget, mode, json.dumps(shared or [])],
                       capture_output=True, text=True,
                       env=env, cwd=root, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"{target} {mode}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def measure_cli(target: str, budget: str, mode: str, baseline_root: str | None = None) -> dict:
    """Wall and CPU seconds of ``python -m harness check --builtin TARGET`` (the whole command:
    imports, the check, the report), children's CPU included."""
    import resource

    root = baseline_root if mode == "baseline" else str(ROOT)
    cmd = [sys.executable, "-m", "harness", "check", "--builtin", target, "--budget", budget]
    if mode != "baseline":
        cmd += ["--isolation", mode]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": root}, cwd=root,
                       timeout=3600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stdout[-1500:]} {p.stderr[-1500:]}")
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", default="standard")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--baseline-root", default=None,
                    help="a checkout whose harness is timed too, as 'baseline' (e.g. a worktree of the commit "
                         "before the worker process existed)")
    args = ap.parse_args(argv)
    modes = ["none", "process"] + (["baseline"] if args.baseline_root else [])
    rows = []
    for target in [t for t in args.targets.split(",") if t]:
        shared = shared_plan(target, args.budget, args.baseline_root)
        calls = ("cold", "warm") + (("shared",) if shared else ())
        keys = calls + tuple(f"cpu_{c}" for c in calls)
        runs: dict[str, list[dict]] = {m: [] for m in modes}
        cli: dict[str, list[dict]] = {m: [] for m in modes}
        for _ in range(args.repeats):
            for mode in modes:
                runs[mode].append(measure(target, args.budget, mode, args.baseline_root, shared))
                print(f"{target} {mode}: {runs[mode][-1]}", file=sys.stderr)
                cli[mode].append(measure_cli(target, args.budget, mode, args.baseline_root))
                print(f"{target} {mode} CLI: {cli[mode][-1]}", file=sys.stderr)
        med = {m: {k: statistics.median(r[k] for r in runs[m]) for k in keys} for m in runs}
        row = {"target": target, "budget": args.budget, "repeats": args.repeats, "runs": runs, "cli_runs": cli,
               "calls": ["cli", *calls], "shared_plan": shared}
        for m in modes:
            row[f"{m}_cli_s"] = statistics.median(r["wall"] for r in cli[m])
            row[f"{m}_cpu_cli_s"] = statistics.median(r["cpu"] for r in cli[m])
        for m in modes:
            for k in keys:
                row[f"{m}_{k}_s"] = med[m][k]
        for ref in modes:
            if ref != "process":
                for k in keys:
                    row[f"ratio_{k}_vs_{ref}"] = med["process"][k] / med[ref][k]
                for k in ("cli", "cpu_cli"):
                    row[f"ratio_{k}_vs_{ref}"] = row[f"process_{k}_s"] / row[f"{ref}_{k}_s"]
        rows.append(row)
    meta = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "target_ratio": TARGET_RATIO, "load_average": os.getloadavg()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "isolation.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    refs = [m for m in modes if m != "process"]
    head = ["target", "call"] + [f"{m} (s)" for m in modes] + [f"process / {m}" for m in refs]
    lines = [f"# Isolation overhead ({meta['date']}, {meta['cpus']} CPUs, Python {meta['python']})", "",
             f"Budget {args.budget}, median of {args.repeats} fresh processes per mode, modes interleaved; "
             f"target ratio <= {TARGET_RATIO}. cli: the whole `python -m harness check --builtin T` command; "
             "cold: first check_sampler call of a process; warm: the third (spare "
             "worker ready); shared: the warm call on the checks both harnesses plan (only when the plans "
             "differ), probes on. baseline: the harness at --baseline-root, without isolation. Wall seconds; "
             "in brackets CPU seconds (harness process + reaped workers), less sensitive to the machine's "
             f"load (load average at the end: {', '.join(f'{x:.1f}' for x in meta['load_average'])}).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        for k in r["calls"]:
            cells = [r["target"], k] + [f"{r[f'{m}_{k}_s']:.2f} [{r[f'{m}_cpu_{k}_s']:.2f}]" for m in modes] + \
                [f"{r[f'ratio_{k}_vs_{m}']:.2f} [{r[f'ratio_cpu_{k}_vs_{m}']:.2f}]" for m in refs]
            lines.append("| " + " | ".join(cells) + " |")
    (out / "isolation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
