"""``gumbel-harness check``: conformance of a third-party sampler.

Usage::

    gumbel-harness check MODULE:CALLABLE --kind categorical|relaxed|noise|torch
                         [--budget quick|standard|thorough] [--seed S] [--out DIR] [--json]
                         [--timeout SEC|none] [--only CHECK[,CHECK]|none] [--no-probes]
                         [--isolation process|none] [--memory-limit SIZE] [--device DEV]
    gumbel-harness check --builtin NAME|all [...]
    gumbel-harness check --mutant NAME|all [--full] [...]
    gumbel-harness check --list
    gumbel-harness check --command "EXE --n {n} --seed {seed} --logits {logits}" --kind categorical|relaxed|noise
    gumbel-harness check --samples FILE [--logits FILE] [--temperature T] --kind categorical|relaxed|noise

Exit status: see :data:`EPILOG` (``--help``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from harness.core.budgets import BUDGETS
from harness.core.seeds import seed_argument

__all__ = ["add_arguments", "run", "EPILOG", "timeout_argument"]

EPILOG = """\
exit status (one target):
  0  the law and the contract hold
  1  the law is rejected (a statistical law check or a gradient identity failed; a crash or
     hang inside a law check counts here)
  3  the law holds but the contract fails (bad-input / adversarial probes, dtype / shape /
     precision contract, reproducibility)
  2  usage or load error (bad arguments, the target cannot be imported, a protocol mismatch
     between the callable and --kind, an --only id that matches no check)
--builtin all: 0 every built-in showed its expected law/contract verdicts, 1 at least one
  did not (the mismatches are listed), 2 usage error.
--mutant: 0 every mutant due at this budget was rejected, 1 one escaped, 2 usage error.
130: interrupted (Ctrl-C); 141: the output pipe closed early (e.g. | head), the rest not printed.

MODULE:CALLABLE is imported from the current directory first (as python -m does), then
from sys.path / PYTHONPATH."""


def timeout_argument(text: str) -> float | None:
    """argparse ``type=`` for ``--timeout``: positive finite seconds, or ``none`` (no timeout)."""
    import math

    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: seconds > 0, or 'none'") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: must be a positive finite number of "
                                         "seconds (or 'none' for no timeout)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("target", nargs="?", help="MODULE:CALLABLE following one of the sampler protocols")
    from harness.kinds import kind_names

    parser.add_argument("--kind", choices=kind_names(),
                        help="the protocol of the target (required for MODULE:CALLABLE unless the callable "
                             "has a gumbel_harness_kind attribute)")
    parser.add_argument("--builtin", metavar="NAME|all", help="check a built-in target (see --list) or all")
    parser.add_argument("--mutant", metavar="NAME|all", help="check a mutant of harness.mutants.catalogue (or all): "
                        "the mutant table")
    parser.add_argument("--full", action="store_true", help="with --mutant: run the whole plan and every "
                        "probe instead of the checks the catalogue names")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="standard",
                        help="sample sizes (default standard: the documented power)")
    parser.add_argument("--seed", type=seed_argument, default=0, help="run seed, an integer in [0, 2**64) "
                        "(default 0)")
    parser.add_argument("--out", metavar="DIR", help="write JSON + Markdown + HTML reports as the directory DIR "
                        "(a new path, an empty directory or an earlier output of this tool, replaced atomically; "
                        "anything else is refused before the run)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of tables")
    parser.add_argument("--timeout", type=timeout_argument, default=120.0, metavar="SEC|none",
                        help="per-call timeout of the target in seconds, > 0 and finite, or 'none' (default 120)")
    parser.add_argument("--only", metavar="CHECK[,CHECK]", help="run only these check ids / prefixes (each must "
                        "match a check; 'none': probes only)")
    parser.add_argument("--no-probes", action="store_true", help="skip the bad-input and adversarial probes")
    parser.add_argument("--isolation", choices=["process", "none"], default="process",
                        help="process (default): run the target in a supervised worker process that a crash, "
                             "exit, hang or memory blow-up of the target cannot take down with the run; none: in "
                             "this process (unprotected)")
    parser.add_argument("--memory-limit", default=None, metavar="SIZE",
                        help="resident memory the worker may use, e.g. 8G, 512M, 0 for none (default: 8G or half "
                             "the physical memory, whichever is less)")
    parser.add_argument("--device", default="cpu", help="torch device for torch / token targets (cpu, cuda, "
                        "cuda:1; default cpu): the tail checks draw 40x more on CUDA")
    add_kind_options(parser)
    parser.add_argument("--list", action="store_true", help="list built-in targets, mutants and plans")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    parser.add_argument("--command", dest="command_template", metavar="TEMPLATE", help="check an executable (any language): a command "
                        "template with {n} {seed} {k} {temperature} {logits} (text file) {logits_npy} {out}; samples "
                        "on stdout or in {out} (harness.targets.external)")
    parser.add_argument("--samples", metavar="FILE", help="check a fixed offline sample (.npy or whitespace text): "
                        "the laws only (no seeds, no probes)")
    parser.add_argument("--logits", metavar="FILE", help="with --samples: the logits the sample was drawn for")
    parser.add_argument("--temperature", type=float, metavar="T", help="with --samples --kind relaxed: the "
                        "temperature of the sample")


def add_kind_options(parser: argparse.ArgumentParser) -> None:
    """One flag per option a registered kind declares (:attr:`harness.kinds.Kind.options`; the
    same name in several kinds: one flag), stored under ``opt_<name>`` (None: not given)."""
    from harness.kinds import all_kinds

    seen: set[str] = set()
    for k in all_kinds():
        for o in k.options:
            if o.name in seen:
                continue
            seen.add(o.name)
            kinds = [x.name for x in all_kinds() if any(p.name == o.name for p in x.options)]
            text = f"{o.help} [--kind {'/'.join(kinds)}; or a {o.attr} attribute on the target]"
            if o.const is not None:
                parser.add_argument(o.cli_flag, dest=f"opt_{o.name}", action="store_const", const=o.const,
                                    default=None, help=text)
            else:
                parser.add_argument(o.cli_flag, dest=f"opt_{o.name}", default=None, metavar=o.metavar or "VALUE",
                                    help=text)


def kind_options(args: argparse.Namespace) -> dict:
    """The kind options given on the command line (``opt_<name>`` of :func:`add_kind_options`)."""
    return {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_") and v is not None}


def _err(msg: str) -> int:
    print(f"gumbel-harness check: error: {msg}", file=sys.stderr)
    return 2


def _list() -> int:
    from harness.core.budgets import get_budget
    from harness.kinds import all_kinds
    from harness.targets.loading import BUILTINS
    from harness.mutants.catalogue import MUTANTS

    print("Built-in targets:")
    for t in BUILTINS.values():
        ok, why = t.available()
        print(f"  {t.name:24s} {t.kind:11s} {t.description}" + ("" if ok else f"  [unavailable: {why}]"))
    print("\nMutants (harness.mutants.catalogue):")
    for m in MUTANTS.values():
        print(f"  {m.name:28s} {m.kind:11s} B{m.bug:<3d} {m.budget:9s} caught by {', '.join(m.caught_by)}")
    b = get_budget("standard")
    for kind in all_kinds():
        print(f"\nPlan for kind {kind.name} (standard budget):")
        for c in kind.make_plan(b):
            print(f"  {c.id:26s} {c.claim:6s} {c.title}")
    return 0


def run(args: argparse.Namespace) -> int:
    from harness.targets.loading import BUILTINS, TargetLoadError

    if args.list:
        return _list()
    chosen = [x for x in (args.target, args.builtin, args.mutant, getattr(args, "command_template", None),
                          getattr(args, "samples", None)) if x]
    if len(chosen) != 1:
        return _err("give exactly one of MODULE:CALLABLE, --builtin NAME|all, --mutant NAME|all, --command TEMPLATE, "
                    "--samples FILE (or --list)")
    if (args.logits or args.temperature is not None) and not args.samples:
        return _err("--logits / --temperature go with --samples (a --command gets the logits through {logits})")
    if args.out:
        from harness.output.outdir import OutDirError, check_out

        try:
            check_out(args.out)
        except OutDirError as exc:
            return _err(str(exc))
    if str(args.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return _err(f"--device {args.device}: no CUDA device is available (torch.cuda.is_available() is False)")
    only = args.only
    timeout = args.timeout
    common = dict(budget=args.budget, seed=args.seed, timeout=timeout, only=only, progress=args.progress or None,
                  isolation=args.isolation, device=args.device)
    if args.memory_limit is not None:
        common["memory_limit"] = args.memory_limit
    if kind_options(args):
        common["options"] = kind_options(args)
    if args.no_probes:
        common.update(probes=False, adversarial=False)
    try:
        if args.samples:
            return _run_samples(args)
        if args.command_template:
            return _run_command(args, common)
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
    from harness.output.documents import write_single

    res = check_sampler(target, kind, **common)
    if args.json:
        print(res.to_json())
    else:
        print(res.report())
        from harness.mutants.blind_spots import check_hint

        hint = check_hint(res)
        if hint:
            print(hint)
    if args.out:
        paths = write_single(res, args.out)
        print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return res.exit_status


def _run_command(args, common) -> int:
    from harness.targets.external import CommandTarget, command_kinds

    if args.kind not in command_kinds():
        return _err(f"--command needs --kind {' / '.join(command_kinds())} (the protocol its output follows)")
    target = CommandTarget(args.command_template, args.kind, timeout=common["timeout"])
    # the command's own timeout kills its process group; the thread guard waits a little longer,
    # so a killed call is reported as such and later calls (fresh processes) still run
    guard = None if common["timeout"] is None else common["timeout"] + 5.0
    return _run_one(target, args.kind, args, {**common, "timeout": guard})


def _run_samples(args) -> int:
    from harness.checker.offline import check_samples
    from harness.output.documents import write_single
    from harness.targets.external import command_kinds

    if args.kind not in command_kinds():
        return _err(f"--samples needs --kind {' / '.join(command_kinds())}")
    res = check_samples(args.samples, args.logits, args.kind, temperature=args.temperature)
    print(res.to_json() if args.json else res.report() + "\n\n" + res.info["offline"])
    if args.out:
        paths = write_single(res, args.out)
        print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return res.exit_status


def _run_all(args, common) -> int:
    from harness.checker.api import check_sampler
    from harness.output.documents import write_matrix
    from harness.output.terminal import matrix_text, mismatches
    from harness.targets.loading import BUILTINS

    from harness.core.budgets import get_budget
    from harness.kinds import matches, parse_only, plan_for

    pats = parse_only(common["only"])
    b = get_budget(args.budget)
    avail = {name: t for name, t in BUILTINS.items() if t.available()[0]}
    ids = {name: [c.id for c in plan_for(t.kind, b)] for name, t in avail.items()}
    if pats is not None and common["only"] != "none":
        if not pats:
            return _err(f"empty check selection (--only {common['only']!r})")
        every = sorted({i for v in ids.values() for i in v})
        bad = [p for p in pats if not any(matches(i, p) for i in every)]
        if bad:
            return _err(f"no check of any built-in matches {', '.join(map(repr, bad))}; valid ids: {', '.join(every)}")
    results, skipped = [], {}
    for name, t in BUILTINS.items():
        ok, why = t.available()
        if not ok:
            skipped[name] = why
            print(f"{name}: skipped ({why})", file=sys.stderr)
            continue
        kw = dict(common)
        if pats is not None and common["only"] != "none":
            mine = [p for p in pats if any(matches(i, p) for i in ids[name])]
            if not mine:
                skipped[name] = "no selected check applies to its kind"
                continue
            kw["only"] = mine
        t0 = time.perf_counter()
        res = check_sampler(name, **kw)
        results.append(res)
        print(f"{name}: {res.headline} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    mm = mismatches(results)
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results], "skipped": skipped, "mismatches": mm},
                         indent=2))
    else:
        import shutil

        print(matrix_text(results, skipped, width=min(100, shutil.get_terminal_size((100, 24)).columns)))
        for r in results:
            if not r.passed:
                print(f"\n=== {r.target}: {r.headline} ===\n{r.explain()}")
    if args.out:
        paths = write_matrix(results, skipped, args.out, args.budget, args.seed)
        print(f"wrote {paths[0].parent}/conformance.{{json,md,html}} and {len(paths) - 3} per-target files",
              file=sys.stderr)
    return 1 if mm else 0


def _run_mutants(args, common) -> int:
    from harness.output.documents import write_mutants
    from harness.output.terminal import mutant_text
    from harness.checker.mutants import run_mutant
    from harness.mutants.catalogue import MUTANTS

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
            res = run_mutant(m, budget=args.budget, seed=args.seed, full=args.full, timeout=common["timeout"],
                             **{k: common[k] for k in ("isolation", "device", "memory_limit") if k in common})
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
