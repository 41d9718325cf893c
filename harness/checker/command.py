"""``gumbel-harness check``: conformance of a third-party sampler.

Usage::

    gumbel-harness check MODULE:CALLABLE --kind categorical|relaxed|noise|torch
                         [--budget quick|standard|thorough] [--seed S] [--out DIR] [--json]
                         [--timeout SEC] [--only CHECK[,CHECK]] [--no-probes]
    gumbel-harness check --builtin NAME|all [...]
    gumbel-harness check --mutant NAME|all [--full] [...]
    gumbel-harness check --list

Exit status: 0 the target conforms (``--builtin all``: every available target conforms;
``--mutant``: every mutant was rejected), 1 a check rejected it (a mutant escaped), 2 the
target cannot be loaded or the arguments are wrong.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from harness.budgets import BUDGETS

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", help="MODULE:CALLABLE following one of the sampler protocols")
    from harness.checker.plans import KINDS

    parser.add_argument("--kind", choices=list(KINDS),
                        help="the protocol of the target (required for MODULE:CALLABLE unless the callable "
                             "has a gumbel_harness_kind attribute)")
    parser.add_argument("--builtin", metavar="NAME|all", help="check a built-in target (see --list) or all")
    parser.add_argument("--mutant", metavar="NAME|all", help="check a mutant of harness.mutants (or all): "
                        "the mutant table")
    parser.add_argument("--full", action="store_true", help="with --mutant: run the whole plan and every "
                        "probe instead of the checks the catalogue names")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="standard",
                        help="sample sizes (default standard: the documented power)")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--out", metavar="DIR", help="write JSON + Markdown + HTML reports into DIR")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of tables")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SEC",
                        help="per-call timeout of the target in seconds (0: none; default 120)")
    parser.add_argument("--only", metavar="CHECK[,CHECK]", help="run only these check ids / prefixes")
    parser.add_argument("--no-probes", action="store_true", help="skip the bad-input and adversarial probes")
    parser.add_argument("--list", action="store_true", help="list built-in targets, mutants and plans")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.add_argument("--device", default="cpu", help="torch device for torch / token targets (cpu, cuda, "
                        "cuda:1; default cpu): the tail checks draw 40x more on CUDA")


def _err(msg: str) -> int:
    print(f"gumbel-harness check: error: {msg}", file=sys.stderr)
    return 2


def _list() -> int:
    from harness.budgets import get_budget
    from harness.checker.plans import plan_for
    from harness.checker.targets import BUILTINS
    from harness.mutants import MUTANTS

    print("Built-in targets:")
    for t in BUILTINS.values():
        ok, why = t.available()
        print(f"  {t.name:24s} {t.kind:11s} {t.description}" + ("" if ok else f"  [unavailable: {why}]"))
    print("\nMutants (harness.mutants):")
    for m in MUTANTS.values():
        print(f"  {m.name:28s} {m.kind:11s} B{m.bug:<3d} {m.budget:9s} caught by {', '.join(m.caught_by)}")
    b = get_budget("standard")
    from harness.checker.plans import KINDS

    for kind in KINDS:
        print(f"\nPlan for kind {kind} (standard budget):")
        for c in plan_for(kind, b):
            print(f"  {c.id:26s} {c.claim:6s} {c.title}")
    return 0


def run(args: argparse.Namespace) -> int:
    from harness.checker.targets import BUILTINS, TargetLoadError

    if args.list:
        return _list()
    chosen = [x for x in (args.target, args.builtin, args.mutant) if x]
    if len(chosen) != 1:
        return _err("give exactly one of MODULE:CALLABLE, --builtin NAME|all, --mutant NAME|all (or --list)")
    if str(args.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return _err(f"--device {args.device}: no CUDA device is available (torch.cuda.is_available() is False)")
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    timeout = None if args.timeout is not None and args.timeout <= 0 else args.timeout
    common = dict(budget=args.budget, seed=args.seed, timeout=timeout, only=only, progress=args.progress or None,
                  device=args.device)
    if args.no_probes:
        common.update(probes=False, adversarial=False)
    try:
        if args.mutant:
            return _run_mutants(args, common)
        if args.builtin == "all":
            return _run_all(args, common)
        if args.builtin:
            if args.builtin not in BUILTINS:
                return _err(f"unknown built-in {args.builtin!r}; choose one of {', '.join(BUILTINS)} or all")
            return _run_one(args.builtin, args.kind, args, common)
        return _run_one(args.target, args.kind, args, common)
    except TargetLoadError as exc:
        return _err(str(exc))
    except ValueError as exc:
        return _err(str(exc))


def _run_one(target, kind, args, common) -> int:
    from harness.checker.api import check_sampler
    from harness.checker.render import write_single

    res = check_sampler(target, kind, **common)
    if args.json:
        print(res.to_json())
    else:
        print(res.report())
    if args.out:
        paths = write_single(res, args.out)
        print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0 if res.passed else 1


def _run_all(args, common) -> int:
    from harness.checker.api import check_sampler
    from harness.checker.render import matrix_text, write_matrix
    from harness.checker.targets import BUILTINS

    results, skipped = [], {}
    for name, t in BUILTINS.items():
        ok, why = t.available()
        if not ok:
            skipped[name] = why
            print(f"{name}: skipped ({why})", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        try:
            res = check_sampler(name, **common)
        except ValueError as exc:  # e.g. --only matches no check of this kind
            skipped[name] = str(exc).split(";")[0]
            continue
        results.append(res)
        print(f"{name}: {'PASS' if res.passed else 'FAIL'} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results], "skipped": skipped}, indent=2))
    else:
        print(matrix_text(results, skipped))
        for r in results:
            if not r.passed:
                print(f"\n=== {r.target} ===\n{r.explain()}")
    if args.out:
        paths = write_matrix(results, skipped, args.out, args.budget, args.seed)
        print(f"wrote {paths[0].parent}/conformance.{{json,md,html}} and {len(paths) - 3} per-target files",
              file=sys.stderr)
    return 0 if all(r.passed for r in results) else 1


def _run_mutants(args, common) -> int:
    from harness.checker.render import mutant_text, write_mutants
    from harness.mutants import MUTANTS, run_mutant

    if args.mutant == "all":
        ms = list(MUTANTS.values())
    elif args.mutant in MUTANTS:
        ms = [MUTANTS[args.mutant]]
    else:
        return _err(f"unknown mutant {args.mutant!r}; see --list")
    entries = []
    for m in ms:
        if args.only or args.no_probes:
            from harness.checker.api import check_sampler

            res = check_sampler(m.fn, m.kind, name=f"mutant:{m.name}", **common)
        else:
            res = run_mutant(m, budget=args.budget, seed=args.seed, full=args.full, timeout=common["timeout"])
        entries.append((m, res))
        print(f"{m.name}: {'rejected' if not res.passed else 'NOT rejected'} ({res.seconds:.1f} s)", file=sys.stderr)
    if args.json:
        print(json.dumps([{"mutant": m.name, **r.to_dict()} for m, r in entries], indent=2))
    elif len(entries) == 1:
        print(entries[0][1].report())
    else:
        print(mutant_text(entries))
    if args.out:
        write_mutants(entries, args.out, args.budget)
        print(f"wrote {args.out}/mutants.{{json,md,html}}", file=sys.stderr)
    rank = {"quick": 0, "standard": 1, "thorough": 2}
    due = [(m, r) for m, r in entries if rank[m.budget] <= rank.get(args.budget, 1)]
    return 0 if all(not r.passed for _, r in due) else 1
