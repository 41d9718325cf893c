"""``gumbel-harness identify TARGET --kind token [--budget B]``: which law profile a sampler
follows (the kind's :attr:`~harness.kinds.Kind.identify`; the token kind:
:mod:`harness.kinds.token.identify`).

The target is loaded and called in this process, each call under the per-call timeout
(:class:`~harness.run.guard.GuardedTarget`), behind the kind's adapter for the given options
(``--filters``, ``--scalar-params``, ``--rng``). Exit status: 0 exactly one profile fits, 1 none,
4 several, 2 usage or load error.
"""
from __future__ import annotations

import argparse
import json
import sys

from harness.core.budgets import BUDGETS, get_budget

__all__ = ["add_arguments", "run", "identify_target"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.checker.command import add_kind_options, timeout_argument
    from harness.kinds import kind_names

    parser.add_argument("target", help="MODULE:CALLABLE or a built-in target name")
    parser.add_argument("--kind", choices=kind_names(), help="the protocol of the target (a kind with profiles)")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="quick", help="draws per row (default quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=timeout_argument, default=120.0, metavar="SEC|none")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_kind_options(parser)


def identify_target(target, kind=None, *, budget="quick", seed=0, timeout=120.0, device="cpu", power=True,
                    **options):
    """Identify ``target``'s law profile (module doc); returns the kind's result object."""
    from harness.core.options import target_attributes
    from harness.kinds import get_kind
    from harness.run.guard import GuardedTarget
    from harness.targets.loading import resolve

    fn, kname, name, _ = resolve(target, kind)
    k = get_kind(kname)
    if k.identify is None:
        raise ValueError(f"kind {kname} has no identify (no law profiles to tell apart)")
    opts = k.resolve(options, target_attributes(fn, k.options))
    call = k.wrapped(GuardedTarget(fn, timeout, name=name), opts)
    return k.identify(call, get_budget(budget), seed=seed, options=opts, device=device, power=power)


def run(args: argparse.Namespace) -> int:
    from harness.checker.command import kind_options
    from harness.targets.loading import TargetLoadError

    opts = {k: v for k, v in kind_options(args).items() if k != "law"}
    try:
        res = identify_target(args.target, args.kind, budget=args.budget, seed=args.seed, timeout=args.timeout,
                              device=args.device, **opts)
    except (TargetLoadError, ValueError) as exc:
        print(f"gumbel-harness identify: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(res.to_dict(), indent=2) if args.json else res.text())
    return res.exit_status
