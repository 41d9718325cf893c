"""Loading targets: ``"module:callable"`` strings, callables and built-in names.

The built-in targets are declared by their kinds (:attr:`harness.kinds.Kind.builtins`): each
is a small adapter that puts a library sampler behind the kind's protocol (probabilities for
``Generator.choice`` / ``torch.multinomial`` from a max-subtracted softmax; the library's
generator seeded from the protocol's ``seed``). :data:`BUILTINS` collects them by name.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from harness.kinds.base import BuiltinTarget, all_kinds, get_kind, kind_names

__all__ = ["BuiltinTarget", "BUILTINS", "load_target", "resolve", "describe", "load", "TargetSpec",
           "TargetLoadError", "builtin_names"]


class TargetLoadError(Exception):
    """The target spec cannot be imported or resolved (CLI exit status 2)."""


class _Builtins(Mapping):
    """Every registered kind's built-in targets by name (a live view: a kind registered later
    contributes its built-ins too)."""

    def _all(self) -> dict[str, BuiltinTarget]:
        return {t.name: t for k in all_kinds() for t in k.builtins}

    def __getitem__(self, name: str) -> BuiltinTarget:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


BUILTINS: Mapping[str, BuiltinTarget] = _Builtins()


def builtin_names() -> list[str]:
    return list(BUILTINS)


def _cwd_on_path() -> None:
    """Put the current directory first on ``sys.path`` (if it is not there), as ``python -m``
    and pytest do, so ``MODULE:CALLABLE`` resolves from the directory the user runs in. Every
    import of a target (CLI, API, a worker process started in the same directory) goes through
    :func:`load_target`, so they all resolve the same module."""
    import os
    import sys

    cwd = os.getcwd()
    if not any(p in ("", ".") or os.path.abspath(p) == cwd for p in sys.path):
        sys.path.insert(0, cwd)


def load_target(spec: str) -> tuple[Callable, str | None]:
    """Import ``"module:callable"`` (``callable`` may be dotted: ``"pkg.mod:Class.method"``),
    resolving ``module`` from the current directory first (as ``python -m`` does).
    Returns ``(fn, kind)`` where ``kind`` comes from a ``gumbel_harness_kind`` attribute of the
    callable, if any. Raises :class:`TargetLoadError` naming the problem."""
    if not isinstance(spec, str) or ":" not in spec:
        raise TargetLoadError(f"target {spec!r} must look like MODULE:CALLABLE (e.g. "
                              "torch.nn.functional:gumbel_softmax) or be a built-in name "
                              f"(--builtin; one of {', '.join(BUILTINS)})")
    mod_name, _, attr = spec.partition(":")
    _cwd_on_path()
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as exc:  # noqa: BLE001 - any import failure
        raise TargetLoadError(f"cannot import module {mod_name!r}: {type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetLoadError(f"module {mod_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise TargetLoadError(f"{spec} is a {type(obj).__name__}, not a callable")
    return obj, getattr(obj, "gumbel_harness_kind", None)


@dataclass(frozen=True)
class TargetSpec:
    """What a target is, found without running any of its code: ``source`` is ``"builtin"``
    (``ref`` = the built-in name), ``"import"`` (``ref`` = ``"module:callable"``, not imported
    yet) or ``"object"`` (``ref`` = the callable). ``kind`` is None when it can only be read from
    the callable's ``gumbel_harness_kind`` after importing it."""

    source: str
    ref: Any
    kind: str | None
    name: str
    builtin: BuiltinTarget | None = None


def _check_kind(kind: str | None, name: str) -> None:
    if kind is not None:
        get_kind(kind)  # UnknownKind (a ValueError) names the registered kinds


def describe(target: Any, kind: str | None) -> TargetSpec:
    """The :class:`TargetSpec` of a callable, a ``"module:callable"`` string or a built-in name,
    **without importing** a target module (so a hostile module cannot touch this process).
    Raises :class:`TargetLoadError` (malformed / unavailable) or ``ValueError`` (unknown kind)."""
    if isinstance(target, str) and target in BUILTINS:
        builtin = BUILTINS[target]
        ok, why = builtin.available()
        if not ok:
            raise TargetLoadError(f"built-in target {target!r} is unavailable: {why}")
        spec = TargetSpec("builtin", target, kind or builtin.kind, target, builtin)
    elif isinstance(target, str):
        if ":" not in target:
            load_target(target)  # raises the MODULE:CALLABLE error
        spec = TargetSpec("import", target, kind, target)
    elif callable(target):
        kind = kind or getattr(target, "gumbel_harness_kind", None)
        name = getattr(target, "gumbel_harness_name", None) or \
            f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
        spec = TargetSpec("object", target, kind, name)
    else:
        raise TargetLoadError(f"target must be a callable, 'module:callable' or a built-in name, got {target!r}")
    _check_kind(spec.kind, spec.name)
    return spec


def load(spec: TargetSpec) -> tuple[Callable, str]:
    """Import / build the callable of ``spec``; returns ``(fn, kind)``. Raises
    :class:`TargetLoadError` or ``ValueError`` (no kind)."""
    kind = spec.kind
    if spec.source == "builtin":
        fn = spec.builtin.factory()
    elif spec.source == "import":
        fn, k = load_target(spec.ref)
        kind = kind or k
    else:
        fn = spec.ref
    if kind is None:
        raise ValueError(f"the kind of {spec.name} is unknown: pass --kind / kind= (one of {', '.join(kind_names())})")
    _check_kind(kind, spec.name)
    return fn, kind


def resolve(target: Any, kind: str | None) -> tuple[Callable, str, str, BuiltinTarget | None]:
    """``(fn, kind, name, builtin)`` for a callable, a ``"module:callable"`` string or a built-in
    name (:func:`describe` then :func:`load`, in this process). Raises :class:`TargetLoadError`
    (cannot load) or ``ValueError`` (no/unknown kind)."""
    spec = describe(target, kind)
    fn, kind = load(spec)
    return fn, kind, spec.name, spec.builtin
