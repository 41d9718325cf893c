#!/usr/bin/env python
"""Overhead of the supervised worker (issue 11): a standard check with ``isolation="process"``
against ``isolation="none"``, side by side, as ratios.

    python benchmarks/isolation.py                 # standard budget, the three targets below
    python benchmarks/isolation.py --budget quick --repeats 1 --targets numpy-gumbel   # smoke

Each measurement runs in a fresh Python process (``python -c``) that imports the harness, then
times two consecutive ``check_sampler(target, budget=...)`` calls in the same mode:

* **cold**: the first call of the process (``process`` pays for starting the worker and its
  imports: NumPy, SciPy, the harness, torch for torch targets);
* **warm**: the second call (``process`` takes the spare worker the supervisor keeps started
  once a process has used one: what ``--builtin all``, ``--mutant all`` and test suites see).

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["numpy-gumbel", "reference-categorical", "torch-gumbel-softmax"]
TARGET_RATIO = 1.3

CHILD = """
import json, sys, time
from harness.checker import check_sampler
target, budget, mode = sys.argv[1:4]
out = []
for _ in range(2):
    t0 = time.perf_counter()
    res = check_sampler(target, budget=budget, isolation=mode)
    out.append(time.perf_counter() - t0)
    assert res.passed, res.report()
print(json.dumps({"cold": out[0], "warm": out[1], "steps": sum(res.timings.values())}))
"""


def measure(target: str, budget: str, mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", CHILD, target, budget, mode], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"{target} {mode}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", default="standard")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    rows = []
    for target in [t for t in args.targets.split(",") if t]:
        runs: dict[str, list[dict]] = {"none": [], "process": []}
        for _ in range(args.repeats):
            for mode in ("none", "process"):
                runs[mode].append(measure(target, args.budget, mode))
                print(f"{target} {mode}: {runs[mode][-1]}", file=sys.stderr)
        med = {m: {k: statistics.median(r[k] for r in runs[m]) for k in ("cold", "warm")} for m in runs}
        rows.append({"target": target, "budget": args.budget, "repeats": args.repeats, "runs": runs,
                     "none_cold_s": med["none"]["cold"], "process_cold_s": med["process"]["cold"],
                     "none_warm_s": med["none"]["warm"], "process_warm_s": med["process"]["warm"],
                     "ratio_cold": med["process"]["cold"] / med["none"]["cold"],
                     "ratio_warm": med["process"]["warm"] / med["none"]["warm"]})
    meta = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "target_ratio": TARGET_RATIO}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "isolation.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [f"# Isolation overhead ({meta['date']}, {meta['cpus']} CPUs, Python {meta['python']})", "",
             f"Budget {args.budget}, median of {args.repeats} fresh processes per mode; target ratio <= "
             f"{TARGET_RATIO}.", "",
             "| target | none cold (s) | process cold (s) | ratio cold | none warm (s) | process warm (s) | "
             "ratio warm |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['target']} | {r['none_cold_s']:.2f} | {r['process_cold_s']:.2f} | "
                     f"{r['ratio_cold']:.2f} | {r['none_warm_s']:.2f} | {r['process_warm_s']:.2f} | "
                     f"{r['ratio_warm']:.2f} |")
    (out / "isolation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
