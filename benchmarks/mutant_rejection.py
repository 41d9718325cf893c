#!/usr/bin/env python
"""Rejection rate of every mutant (known bug class, :mod:`harness.mutants.catalogue`) over independent run
seeds: the harness's power against each bug, measured rather than claimed.

    python benchmarks/mutant_rejection.py                       # standard mutants, seeds 0..19
    python benchmarks/mutant_rejection.py --seeds 5 --mutants cat_temp_twice,noise_float16  # smoke

Each mutant is checked at its own budget (``Mutant.budget``; the thorough ones only with
``--thorough``: hours on 2 cores) with the checks its catalogue entry names
(:func:`harness.checker.mutants.rejection_rate`), once per seed; the table gives rejected / runs, the rate
and its two-sided 95 % Clopper-Pearson interval. Mutants run in ``--jobs`` processes (spawned).
Results: ``benchmarks/results/mutant_rejection.{json,md}``. Nothing is asserted here
(``tests/test_mutants.py::test_mutant_rejection_rate_20_seeds``, marked slow, asserts).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _one(name: str, seeds: list[int]) -> dict:
    sys.path.insert(0, str(ROOT))
    from harness.checker.mutants import rejection_rate

    t0 = time.perf_counter()
    r = rejection_rate(name, seeds)
    r["seconds"] = round(time.perf_counter() - t0, 1)
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    ap.add_argument("--mutants", default="", help="comma-separated names (default: every standard mutant)")
    ap.add_argument("--thorough", action="store_true", help="include the thorough-budget mutants")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--render", action="store_true", help="only rewrite the .md from the existing .json")
    args = ap.parse_args(argv)
    if args.render:
        return render(Path(args.out))
    sys.path.insert(0, str(ROOT))
    from harness.mutants.catalogue import MUTANTS

    names = [n for n in args.mutants.split(",") if n] or [
        m.name for m in MUTANTS.values() if args.thorough or m.budget != "thorough"]
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        ap.error(f"unknown mutant(s) {unknown}")
    seeds = list(range(args.seeds))
    rows, t0 = {}, time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_one, n, seeds): n for n in names}
        for i, fut in enumerate(as_completed(futs), 1):
            r = fut.result()
            rows[r["mutant"]] = r
            print(f"[{i}/{len(names)}] {r['mutant']}: {r['rejected']}/{r['runs']} ({r['seconds']} s)", file=sys.stderr)
    ordered = [rows[n] for n in names]
    meta = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "cpus": os.cpu_count(), "seeds": seeds,
            "seconds": round(time.perf_counter() - t0, 1)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mutant_rejection.json").write_text(json.dumps({"meta": meta, "rows": ordered}, indent=2))
    return render(out)


def render(out: Path) -> int:
    """``mutant_rejection.md`` from ``mutant_rejection.json`` in ``out`` (``--render``)."""
    sys.path.insert(0, str(ROOT))
    from harness.mutants.catalogue import MUTANTS

    data = json.loads((out / "mutant_rejection.json").read_text())
    meta, rows = data["meta"], data["rows"]
    total = sum(r["rejected"] for r in rows), sum(r["runs"] for r in rows)
    seeds = meta["seeds"]
    lines = [f"# Mutant rejection rates ({meta['date']}, {meta['cpus']} CPUs, {meta['seconds']:.0f} s)", "",
             f"Each mutant at its own budget, run seeds {seeds[0]}..{seeds[-1]}, with the plan checks its "
             "catalogue entry names (and the probes when a probe is expected to catch it: `caught by`); "
             f"95 % Clopper-Pearson interval. {total[0]} of {total[1]} runs rejected.", "",
             "| mutant | kind | bug | caught by | budget | rejected | rate (95 % CI) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        m = MUTANTS.get(r["mutant"])
        lo, hi = r["ci"]
        caught = ", ".join(m.caught_by) if m is not None else "?"
        kind, bug = (m.kind, m.bug) if m is not None else ("?", "?")
        lines.append(f"| {r['mutant']} | {kind} | B{bug} | {caught} | {r['budget']} | "
                     f"{r['rejected']}/{r['runs']} | {r['rate']:.2f} ({lo:.2f}-{hi:.2f}) |")
    (out / "mutant_rejection.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
