"""The ``gumbel-harness`` command line: ``report`` (validation report), ``check``
(conformance of a third-party sampler) and ``compare`` (two samplers, one law?). Each subcommand lives in its own module, which
provides ``add_arguments(parser)`` and ``run(args) -> int``.

Exit status: 0 when every check holds, 1 when a check fails (``check``: the law is rejected),
3 (``check`` only) when the law holds but the contract fails, 2 for usage errors or a target that
cannot be loaded (``gumbel-harness check --help`` lists them), 130 when interrupted
(Ctrl-C / SIGINT: the worker processes are stopped, one line is printed, no traceback; an
interrupted ``report`` or ``check --out`` leaves the previous output directory untouched).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from typing import Sequence

from harness import __version__

SUBCOMMANDS = {
    "report": ("harness.report.command", "run the experiments of every claim and write the validation report"),
    "check": ("harness.checker.command", "check a third-party sampler against the claims"),
    "identify": ("harness.checker.identify", "which law profile (engine convention) a token sampler follows"),
    "compare": ("harness.checker.compare_command", "compare two samplers of one kind: the same law?"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``gumbel-harness check: error: ... (see
    gumbel-harness check --help)``, exit status 2, instead of the whole usage block first."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gumbel-harness",
        description="Verified statistical test harness for Gumbel-max and Gumbel-softmax.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before the subcommand started (imports, parsing)
        return _interrupted("")
    except BrokenPipeError:  # the reader went away (``check ... | head``): stop quietly
        import os

        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by a closed pipe


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] in (["check"], ["compare"]) and "--list" not in args_list and "none" not in args_list:
        # start the supervised worker now: its imports overlap with this process's own
        from harness.run.supervisor import prestart

        prestart()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return _interrupted(args.command)


def _interrupted(command: str) -> int:
    """Ctrl-C: stop the worker pools now, one line, exit status 130."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
    from harness.core.parallel import kill_pools

    kill_pools()
    name = f"gumbel-harness {command}" if command else "gumbel-harness"
    print(f"{name}: interrupted; no output directory was changed", file=sys.stderr)
    return 130


if __name__ == "__main__":
    raise SystemExit(main())
