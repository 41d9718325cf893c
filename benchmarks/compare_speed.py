#!/usr/bin/env python
"""Speed of ``check`` and ``compare`` (issue 20, item 5), as ratios measured in one run:

* ``check`` wall time / time inside the target's calls, per built-in (``numpy-choice``, ...): the
  time inside the calls is measured by the supervisor from the worker's call reports
  (``CheckResult.info["isolation"]["target_seconds"]``); the target is 1.25 (issue 20);
* ``compare`` of two standard token targets (``reference-token`` vs ``torch-multinomial-token``)
  wall time / the wall time of one ``check`` of ``reference-token``; the target is 2.2.

    python benchmarks/compare_speed.py                       # numpy-choice at standard, token at quick
    python benchmarks/compare_speed.py --token-budget standard
    python benchmarks/compare_speed.py --profile numpy-choice   # cProfile of the harness side (in-process)

The machine is shared: the load average before and after is printed; numbers are reported, never
asserted. Writes ``benchmarks/results/compare_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def check_ratio(name: str, budget: str, only=None) -> dict:
    from harness.checker import check_sampler

    t0 = time.perf_counter()
    res = check_sampler(name, budget=budget, only=only)
    wall = time.perf_counter() - t0
    inside = float(res.info.get("isolation", {}).get("target_seconds") or 0.0)
    return {"target": name, "budget": budget, "wall_s": round(wall, 2), "target_s": round(inside, 2),
            "ratio": round(wall / inside, 3) if inside else None, "passed": res.passed,
            "plan_s": round(sum(v for k, v in res.timings.items() if k != "probes"), 2),
            "probes_s": res.timings.get("probes")}


def compare_ratio(a: str, b: str, budget: str, check_wall: float) -> dict:
    from harness.checker import compare_samplers

    t0 = time.perf_counter()
    res = compare_samplers(a, b, budget=budget)
    wall = time.perf_counter() - t0
    return {"a": a, "b": b, "budget": budget, "wall_s": round(wall, 2), "target_s": res.info["target_seconds"],
            "check_wall_s": round(check_wall, 2), "ratio_to_check": round(wall / check_wall, 3),
            "passed": res.passed}


def profile(name: str, budget: str) -> None:
    import cProfile
    import pstats

    from harness.checker import check_sampler

    pr = cProfile.Profile()
    pr.enable()
    check_sampler(name, budget=budget, isolation="none")
    pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(40)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", default="standard", help="budget of the categorical checks")
    ap.add_argument("--token-budget", default="quick", help="budget of the token check and compare")
    ap.add_argument("--categorical", default="numpy-choice", help="comma-separated built-ins for wall / target")
    ap.add_argument("--profile", metavar="BUILTIN", help="print a cProfile of one in-process check and stop")
    args = ap.parse_args(argv)
    if args.profile:
        profile(args.profile, args.budget)
        return 0
    load0 = os.getloadavg()
    rows = [check_ratio(n, args.budget) for n in args.categorical.split(",")]
    tok = check_ratio("reference-token", args.token_budget)
    cmp_ = compare_ratio("reference-token", "torch-multinomial-token", args.token_budget, tok["wall_s"])
    load1 = os.getloadavg()
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} ({os.cpu_count()} cores)")
    print(f"{'what':46s} {'budget':9s} {'wall s':>8s} {'in target s':>12s} {'ratio':>7s}")
    for r in rows + [tok]:
        print(f"{'check ' + r['target'] + ' (wall / in target)':46s} {r['budget']:9s} {r['wall_s']:8.2f} "
              f"{r['target_s']:12.2f} {r['ratio'] or float('nan'):7.3f}")
    print(f"{'compare reference-token vs torch-multinomial':46s} {cmp_['budget']:9s} {cmp_['wall_s']:8.2f} "
          f"{'A %.1f B %.1f' % (cmp_['target_s']['A'], cmp_['target_s']['B']):>12s} "
          f"{cmp_['ratio_to_check']:7.3f}  (compare wall / check wall; target <= 2.2)")
    out = ROOT / "benchmarks" / "results" / "compare_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"load": [load0, load1], "checks": rows + [tok], "compare": cmp_}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
