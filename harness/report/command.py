"""``gumbel-harness report``: run the experiments of every claim and write the validation report.

::

    gumbel-harness report [--budget quick|standard|thorough] [--seed S] [--out DIR]
                          [--only IDS] [--workers N] [--scheduler ADDRESS]

writes ``index.html`` (self-contained), ``report.md``, ``results.json`` and ``figures/*.png``
into ``DIR`` (default ``reports/<UTC timestamp>/``), atomically, with the marker file of
:mod:`harness.output.outdir`; ``DIR`` is validated before the run (a file, a foreign non-empty directory
or an unwritable place is refused with exit status 2). Exit status 0 when every claim
holds, 1 when one fails, 2 for usage errors (unknown claim id, an ``--only`` check id that matches
no check).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from harness.core.budgets import BUDGETS, get_budget
from harness.core.seeds import seed_argument

__all__ = ["add_arguments", "run", "build_files"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="standard",
                        help="sample sizes (and hence power) of the run; default standard (a few minutes)")
    parser.add_argument("--seed", type=seed_argument, default=0,
                        help="run seed, an integer in [0, 2**64); every check derives its own (default 0)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="report directory (default reports/<UTC timestamp>/): a new path, an empty directory or an "
                             "earlier report of this tool (replaced atomically); anything else is refused")
    parser.add_argument("--only", action="append", default=None, metavar="IDS",
                        help="claim ids (T1, C5, ...) or check ids (T1.mc.peaked), comma-separated, repeatable")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes running experiments in parallel (default: number of CPUs)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the large Monte Carlo loops on a Dask cluster at ADDRESS, or 'local' for a "
                             "LocalCluster (needs the [dask] extra); same numbers as without")
    parser.add_argument("--no-mutants", action="store_true",
                        help="skip the mutant table (a full run otherwise checks that every mutant of "
                             "harness.mutants.catalogue is rejected; about 30 s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_files(payload: dict[str, Any], pngs: dict[str, bytes]) -> dict[str, bytes | str]:
    """All files of a report directory (relative path -> content)."""
    from harness.report.figures import summary_png
    from harness.report.render import SUMMARY_FIGURE, figure_path, to_html, to_markdown
    from harness.report.runner import claim_rows

    pngs = dict(pngs)
    pngs[SUMMARY_FIGURE] = summary_png(claim_rows(payload))
    files: dict[str, bytes | str] = {
        "results.json": json.dumps(payload, indent=1, sort_keys=False, allow_nan=False) + "\n",
        "index.html": to_html(payload, pngs),
        "report.md": to_markdown(payload, pngs),
    }
    for fid, png in pngs.items():
        files[figure_path(fid)] = png
    return files


def run(args: argparse.Namespace) -> int:
    from harness.experiments import parse_only
    from harness.report.render import console_table
    from harness.report.runner import run_report
    from harness.report.writer import OutDirError, check_out, default_out_dir, write_atomic

    only = parse_only(args.only)
    try:  # usage errors first: a refused run creates nothing (not even reports/)
        budget = get_budget(args.budget)
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        from harness.experiments import select

        select(only)
    except ValueError as exc:
        print(f"gumbel-harness report: error: {exc}", file=sys.stderr)
        return 2
    reports = Path(os.getcwd()) / "reports"
    made_reports = not args.out and not reports.exists()
    try:
        out = check_out(args.out if args.out else default_out_dir(reports))
    except OutDirError as exc:
        print(f"gumbel-harness report: error: {exc}", file=sys.stderr)
        return 2
    show = False if args.no_progress else None
    rep = run_report(budget, seed=args.seed, only=only, workers=args.workers, show_progress=show,
                     scheduler=args.scheduler, mutants=not args.no_mutants)
    if rep.unmatched:
        print(f"gumbel-harness report: error: --only {', '.join(rep.unmatched)} matched no check "
              f"(check ids look like T1.mc.peaked; see results.json of a full run)", file=sys.stderr)
        if made_reports:
            with contextlib.suppress(OSError):
                reports.rmdir()  # only if still empty
        return 2
    try:
        written = write_atomic(out, build_files(rep.payload, rep.pngs))
    except OutDirError as exc:  # the place changed during the run
        print(f"gumbel-harness report: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # full disk, ...: the previous report (if any) is left as it was
        print(f"gumbel-harness report: error: cannot write {out}: {exc.strerror or type(exc).__name__}",
              file=sys.stderr)
        return 2
    p = rep.payload
    print(console_table(p))
    fam = p["family"]
    print(f"\n{'PASS' if rep.passed else 'FAIL'}: {sum(c['passed'] for c in p['claims'])}/{len(p['claims'])} claims hold "
          f"(budget {p['budget']['name']}, seed {p['seed']}, Holm family of m = {fam['m']} at alpha = {fam['alpha']:g}, "
          f"{p['run']['wall_seconds']:.1f} s)")
    for v in p["verdicts"]:
        if v.get("passed") is False:
            print(f"  FAIL {v['check']}: {str(v.get('reason', '')).splitlines()[0] if v.get('reason') else ''}")
            if v.get("reproduce"):
                print(f"       reproduce: {v['reproduce']}")
    mt = p.get("mutants")
    if mt:
        print(f"mutants: {len(mt['rows']) - len(mt['escaped'])}/{len(mt['rows'])} rejected"
              + (f"; ESCAPED: {', '.join(mt['escaped'])}" if mt["escaped"] else ""))
    from harness.mutants.blind_spots import report_hint

    hint = report_hint(p["budget"]["name"], p["seed"], None if mt else [c["id"] for c in p["claims"]])
    if hint:
        print(hint)
    print(f"report: {written / 'index.html'}")
    return 0 if rep.passed else 1
