"""The reproduce command shown in FAIL verdicts: a shell command (every argument quoted with
:func:`shlex.quote`, so a target named ``$(...)`` never runs when pasted) that re-runs one check,
for every form of target:

* built-ins and mutants: ``gumbel-harness check --builtin NAME ...`` / ``--mutant NAME``;
* ``"module:callable"`` strings, and callables reachable as ``module:attr`` (module-level
  functions, bound methods of module-level objects ``module:obj.method``):
  ``gumbel-harness check MODULE:CALLABLE --kind ...``, run from the current directory (the
  module is resolved from it, as ``python -m`` does);
* callables defined in a script run as ``__main__``: ``python -c`` with a snippet that loads the
  script with :func:`runpy.run_path` (``__name__`` is not ``"__main__"``, so its main block does not
  run) and calls :func:`harness.checker.check_sampler`;
* anything else (lambdas, closures): a Python snippet with the call, which names the callable to
  pass (it cannot be imported).

The result is a ``str.format`` template with ``{check}`` (and ``{seed}`` unused), as
:attr:`harness.core.context.RunContext.reproduce` expects.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Callable

__all__ = ["reproduce_template", "importable_spec", "compare_word", "compare_template"]

_CHECK = "\x00CHECK\x00"


def importable_spec(fn: Callable) -> str | None:
    """``"module:attr"`` under which ``fn`` can be imported again (``None`` if there is none):
    the module-level name, or ``obj.method`` for a bound method of a module-level object."""
    mod_name = getattr(fn, "__module__", None)
    if not mod_name or mod_name == "__main__":
        return None
    mod = sys.modules.get(mod_name)
    if mod is None:
        return None
    qual = getattr(fn, "__qualname__", None)
    if qual and "<" not in qual:
        obj: Any = mod
        try:
            for part in qual.split("."):
                obj = getattr(obj, part)
            if obj is fn or obj == fn:
                return f"{mod_name}:{qual}"
        except AttributeError:
            pass
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        for name, val in vars(mod).items():
            if val is owner and getattr(val, fn.__name__, None) == fn:
                return f"{mod_name}:{name}.{fn.__name__}"
    for name, val in vars(mod).items():  # e.g. an instance with __call__ at module level
        if val is fn and not name.startswith("__"):
            return f"{mod_name}:{name}"
    return None


def _main_script(fn: Callable) -> tuple[str, str] | None:
    if getattr(fn, "__module__", None) != "__main__":
        return None
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    qual = getattr(fn, "__qualname__", "")
    if not path or not qual or "<" in qual:
        return None
    return str(Path(path).resolve()), qual


def _cli(source: list[str], kind: str | None, budget: str, seed: int) -> str:
    args = ["gumbel-harness", "check", *source]
    if kind:
        args += ["--kind", kind]
    args += ["--budget", budget, "--seed", str(seed), "--only", _CHECK]
    return " ".join(a if a == _CHECK else shlex.quote(a) for a in args)


def _snippet(target_expr: str, setup: str, kind: str, budget: str, seed: int) -> str:
    return (f"{setup}from harness.checker import check_sampler; "
            f"print(check_sampler({target_expr}, kind={kind!r}, budget={budget!r}, seed={seed}, "
            f'only="{_CHECK}").report())')


def _template(text: str) -> str:
    safe = text.replace("{", "{{").replace("}", "}}")
    return safe.replace(_CHECK, "{check}")


def reproduce_template(target: Any, fn: Callable, name: str, kind: str, budget: str, seed: int, *,
                       builtin: bool, mutant: bool) -> str:
    """The ``{check}`` template of the command (or Python snippet) that re-runs one check."""
    if mutant:
        return _template(_cli(["--mutant", name.split(":", 1)[1]], None, budget, seed))
    if builtin:
        return _template(_cli(["--builtin", name], None, budget, seed))
    if name.startswith("command:"):  # harness.targets.external.CommandTarget
        return _template(_cli(["--command", name.split(":", 1)[1]], kind, budget, seed))
    spec = target if isinstance(target, str) else importable_spec(fn)
    if spec is not None:
        return _template(_cli([spec], kind, budget, seed))
    script = _main_script(fn)
    if script is not None:
        path, qual = script
        setup = (f"import runpy; _ns = runpy.run_path({path!r}, run_name='gumbel_harness_target'); "
                 f"_fn = _ns[{qual.split('.')[0]!r}]" + "".join(f".{p}" for p in qual.split(".")[1:]) + "; ")
        code = _snippet("_fn", setup, kind, budget, seed)
        return _template(f"python -c {shlex.quote(code)}")
    what = name.replace("\n", " ")
    code = _snippet("YOUR_CALLABLE", f"# {what} cannot be imported: bind it to YOUR_CALLABLE first\n", kind, budget,
                    seed)
    return _template(code)


def compare_word(target: Any, name: str) -> str:
    """How ``gumbel-harness compare`` names a target on its command line: a built-in's name, a
    ``module:callable`` string, the import path of an importable callable, else the name (which
    then has to be bound by hand: the callable cannot be imported)."""
    if isinstance(target, str):
        return target
    return importable_spec(target) or name


def compare_template(a: str, b: str, kind: str, budget: str, seed: int) -> str:
    """The ``{check}`` template of the command that re-runs one configuration of a compare."""
    args = ["gumbel-harness", "compare", a, b, "--kind", kind, "--budget", budget, "--seed", str(seed),
            "--only", _CHECK]
    return _template(" ".join(x if x == _CHECK else shlex.quote(x) for x in args))
