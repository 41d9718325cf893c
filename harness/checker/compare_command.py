"""``gumbel-harness compare A B``: do two samplers draw from the same law?

Usage::

    gumbel-harness compare A B [--kind K] [--budget quick|standard|thorough] [--seed S] [--json] [--out DIR]
                           [--only CONFIG[,CONFIG]] [--timeout SEC|none] [--isolation process|none]
                           [--memory-limit SIZE] [--device DEV]

A and B: any target form ``check`` takes as its positional argument: ``MODULE:CALLABLE`` or a
built-in's name as it stands (``compare numpy-choice reference-categorical``). The plan is the
kind's check plan (the configurations that observe, :meth:`harness.kinds.Kind.compare_plan`),
judged by two-sample tests (:mod:`harness.checker.compare`).
"""
from __future__ import annotations

import argparse
import sys

from harness.core.budgets import BUDGETS
from harness.core.seeds import seed_argument

__all__ = ["add_arguments", "run", "EPILOG"]

EPILOG = """\
exit status:
  0  same law: no configuration shows a difference (every PASS states the bound on the distance)
  1  the laws differ (the failing configurations are named)
  2  usage or load error (bad arguments, a target that cannot be loaded, two different kinds,
     an --only id that matches no configuration)

B draws under the seed derive_seed(seed, "compare.B"), A under the run seed: the samples are
independent, as the two-sample tests assume."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.checker.command import timeout_argument
    from harness.kinds import kind_names

    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("a", metavar="A", help="MODULE:CALLABLE or a built-in target's name")
    parser.add_argument("b", metavar="B", help="MODULE:CALLABLE or a built-in target's name")
    parser.add_argument("--kind", choices=kind_names(), help="the protocol of both targets (optional for built-ins)")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="standard", help="sample sizes (default standard)")
    parser.add_argument("--seed", type=seed_argument, default=0, help="run seed, an integer in [0, 2**64)")
    parser.add_argument("--only", metavar="CONFIG[,CONFIG]", help="only these configuration ids / prefixes")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of tables")
    parser.add_argument("--out", metavar="DIR", help="write JSON, the figure arrays (.npz), the text report and "
                        "PNG figures (matplotlib) as the directory DIR")
    parser.add_argument("--timeout", type=timeout_argument, default=120.0, metavar="SEC|none",
                        help="per-call timeout of each target in seconds (default 120)")
    parser.add_argument("--isolation", choices=["process", "none"], default="process",
                        help="process (default): each target in its own supervised worker; none: in this process")
    parser.add_argument("--memory-limit", default=None, metavar="SIZE", help="resident memory per worker (8G...)")
    parser.add_argument("--device", default="cpu", help="torch device for token targets (default cpu)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")


def _err(msg: str) -> int:
    print(f"gumbel-harness compare: error: {msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from harness.checker.compare import compare_samplers
    from harness.targets.loading import TargetLoadError

    if args.out:
        from harness.output.outdir import OutDirError, check_out

        try:
            check_out(args.out)
        except OutDirError as exc:
            return _err(str(exc))
    kw = dict(budget=args.budget, seed=args.seed, timeout=args.timeout, only=args.only, device=args.device,
              isolation=args.isolation, progress=args.progress or None)
    if args.memory_limit is not None:
        kw["memory_limit"] = args.memory_limit
    try:
        res = compare_samplers(args.a, args.b, args.kind, **kw)
    except (TargetLoadError, ValueError) as exc:
        return _err(str(exc))
    print(res.to_json() if args.json else res.report())
    if args.out:
        from harness.output.documents import write_compare

        paths = write_compare(res, args.out)
        print(f"wrote {len(paths)} files to {args.out}", file=sys.stderr)
    return res.exit_status
