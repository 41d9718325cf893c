"""Regenerate the tables of README.md and docs/*.md that come from the code.

A generated block sits between two markers in a Markdown file::

    <!-- BEGIN GENERATED: name -->
    ...  (written by this script: do not edit by hand)
    <!-- END GENERATED: name -->

and ``name`` is one of :data:`BLOCKS` (a ``plan:KIND`` block lists the checks of ``KIND``).

    python tools/gen_docs.py            # rewrite every stale block
    python tools/gen_docs.py --check    # exit 1 and name the stale blocks, write nothing

``tests/test_docs.py`` fails when a block differs from what the code produces. Every table here is
computed by cheap deterministic functions (no simulation): the whole run takes a few seconds, most of
it importing torch and the exact binomial power of the budgets' tail checks.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as ``python tools/gen_docs.py`` from a checkout
    sys.path.insert(0, str(ROOT))

# ---------------------------------------------------------------------------------------------
# The code the tables come from: every import of the harness is here, through the most public
# names there are (module paths inside harness/checker/ may move; fix them here only).
# ---------------------------------------------------------------------------------------------
from harness.checker.power_table import family_size, format_power_table  # noqa: E402
from harness.core.budgets import BUDGETS, DEFAULT_ALPHA  # noqa: E402
from harness.checker import BUILTINS, plan_for  # noqa: E402
from harness.checker.command import EPILOG as CHECK_EPILOG  # noqa: E402  (gumbel-harness check --help)
from harness.kinds.jax import JAX_MUTANTS  # noqa: E402
from harness.targets.protocol import signatures  # noqa: E402  (the call each kind makes)
from harness.kinds.token.plan import GRADES, tail_power_table  # noqa: E402
from harness.mutants.catalogue import MUTANTS  # noqa: E402


def kinds() -> list[str]:
    """The kinds ``gumbel-harness check --kind`` accepts, read from the command line itself."""
    from harness.cli import build_parser

    check = build_parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    return list(next(a for a in check._actions if a.dest == "kind").choices)


# ---------------------------------------------------------------------------------------------

BEGIN = "<!-- BEGIN GENERATED: {} -->"
END = "<!-- END GENERATED: {} -->"
# markers stand on lines of their own (a marker quoted inside a sentence is not one)
_BLOCK = re.compile(r"^<!-- BEGIN GENERATED: (?P<name>[\w:.-]+) -->\n(?P<body>.*?)^<!-- END GENERATED: (?P=name) -->$",
                    re.S | re.M)
_MARK = re.compile(r"^<!-- (BEGIN|END) GENERATED: ([\w:.-]+) -->$", re.M)


def _cell(text: object) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(head: list[str], rows: list[list[object]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _n(x: int) -> str:
    return f"{x:,}"


def budgets_table() -> str:
    head = ["budget", "discrete N", "continuous N", "relaxed N", "gradient N", "tail N", "family alpha"]
    rows = [[f"`{b.name}`", _n(b.n_discrete), _n(b.n_continuous), _n(b.n_relaxed), _n(b.n_gradient),
             _n(b.n_tail), f"{b.alpha:g}"] for b in BUDGETS.values()]
    return _table(head, rows)


def power_table() -> str:
    return "```\n" + format_power_table().rstrip("\n") + "\n```\n"


def token_tail_power() -> str:
    sizes = {b: family_size("token", b) for b in BUDGETS}
    rows = tail_power_table(sizes)
    bits = sorted(GRADES)
    head = ["budget", "device", "N", "gap (nats)"] + [f"b = {b}" for b in bits]
    body = [[r["budget"], r["device"], f"{r['n']:.0e}".replace("e+0", "e").replace("e+", "e"), f"{r['gap']:.1f}"]
            + [f"{r['power'][b]:.3f}" for b in bits] for r in rows]
    legend = "; ".join(f"b = {b}: {GRADES[b]}" for b in bits)
    levels = ", ".join(f"{b} {BUDGETS[b].alpha / m:.3g} (alpha / {m})" for b, m in sizes.items())
    return _table(head, body) + (f"\nPower of the confirmed decision (exact binomial test, both stages at the square "
                                 f"root of the level) at the token plan's Holm level: {levels} "
                                 f"(`tail_power_table`). {legend}.\n")


def builtins_table() -> str:
    def expect(t) -> str:
        e = t.expected("thorough")
        word = {True: "holds", False: "fails", None: "either"}
        s = f"law {word[e['law']]}, contract {word[e['contract']]}"
        return s + (f" (a law failure certain from `{t.expect_budget}`)" if e["law"] is False
                    and t.expect_budget != "quick" else "")
    rows = [[f"`{t.name}`", f"`{t.kind}`", t.description + (f" (needs {', '.join(t.requires)})" if t.requires else ""),
             expect(t)] for t in BUILTINS.values()]
    return _table(["name", "kind", "what", "expected verdicts"], rows)


def mutants_table() -> str:
    rows = [[f"B{m.bug}", f"`{m.name}`", f"`{m.kind}`", ", ".join(f"`{c}`" for c in m.caught_by), m.budget,
             m.mirrors] for m in MUTANTS.values()]
    return (_table(["bug", "mutant", "kind", "caught by", "budget", "mirrors"], rows)
            + f"\n{len(MUTANTS)} mutants ({sum(m.budget == 'thorough' for m in MUTANTS.values())} need `thorough`).\n")


def jax_mutants_table() -> str:
    rows = [[f"`{name}`", f"`{kind}`", ", ".join(f"`{c}`" for c in caught)]
            for name, (kind, _fn, caught) in JAX_MUTANTS.items()]
    return _table(["JAX mutant", "kind", "caught by"], rows)


def protocols_table() -> str:
    rows = []
    for kind, sig in signatures().items():
        call, _, ret = sig.partition(" -> ")
        rows.append([f"`{kind}`", f"`{call}`", ret])
    return _table(["kind", "call", "must return"], rows)


def exit_status() -> str:
    return "```\n" + CHECK_EPILOG.rstrip("\n") + "\n```\n"


def plan_block(kind: str) -> Callable[[], str]:
    def block() -> str:
        plan = plan_for(kind, BUDGETS["standard"])
        family = sum(c.size for c in plan if c.group == "law")
        rows = [[f"`{c.id}`", c.claim, c.group, c.size, c.title] for c in plan]
        return (_table(["check", "claim", "group", "verdicts", "what (standard budget)"], rows)
                + f"\n{len(plan)} checks; {family} statistical law verdicts form the Holm family "
                  f"(alpha {DEFAULT_ALPHA:g}) at the standard budget.\n")
    return block


def blocks() -> dict[str, Callable[[], str]]:
    out: dict[str, Callable[[], str]] = {
        "budgets": budgets_table,
        "power-table": power_table,
        "token-tail-power": token_tail_power,
        "builtins": builtins_table,
        "mutants": mutants_table,
        "jax-mutants": jax_mutants_table,
        "protocols": protocols_table,
        "exit-status": exit_status,
    }
    for kind in kinds():
        out[f"plan:{kind}"] = plan_block(kind)
    return out


BLOCKS = blocks()

#: blocks whose computation takes seconds (exact binomial power over every budget): the default test
#: suite skips them, ``tests/test_docs.py::test_slow_generated_blocks`` (marker ``slow``) checks them
SLOW_BLOCKS = frozenset({"power-table", "token-tail-power"})


def used_blocks(files: list[Path] | None = None) -> dict[str, list[Path]]:
    """Block name -> the files that hold it."""
    out: dict[str, list[Path]] = {}
    for f in files or doc_files():
        for m in _BLOCK.finditer(f.read_text()):
            out.setdefault(m["name"], []).append(f)
    return out


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def render(text: str, cache: dict[str, str], skip: frozenset[str] = frozenset()) -> str:
    """``text`` with every generated block replaced by what the code produces now (blocks named in
    ``skip`` are left as they are)."""
    def repl(m: re.Match) -> str:
        name = m["name"]
        if name not in BLOCKS:
            raise KeyError(f"unknown generated block {name!r} (known: {', '.join(BLOCKS)})")
        if name in skip:
            return m.group(0)
        if name not in cache:
            cache[name] = BLOCKS[name]()
        return f"{BEGIN.format(name)}\n{cache[name]}{END.format(name)}"

    marks = _MARK.findall(text)
    if len(marks) != 2 * len(_BLOCK.findall(text)):
        raise ValueError(f"unbalanced GENERATED markers: {marks}")
    return _BLOCK.sub(repl, text)


def stale(files: list[Path] | None = None, *, skip: frozenset[str] = frozenset(),
          only: frozenset[str] | None = None) -> list[tuple[Path, str, str]]:
    """``(file, current text, regenerated text)`` for every file whose blocks are out of date
    (ignoring the blocks in ``skip``; with ``only``, every block not in ``only``)."""
    if only is not None:
        skip = frozenset(BLOCKS) - only
    cache: dict[str, str] = {}
    out = []
    for f in files or doc_files():
        text = f.read_text()
        new = render(text, cache, skip)
        if new != text:
            out.append((f, text, new))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only report stale blocks (exit 1 if any)")
    args = ap.parse_args(argv)
    bad = stale()
    for f, _old, new in bad:
        rel = f.relative_to(ROOT)
        if args.check:
            print(f"stale generated block(s) in {rel}")
        else:
            f.write_text(new)
            print(f"regenerated {rel}")
    return 1 if (args.check and bad) else 0


if __name__ == "__main__":
    raise SystemExit(main())
