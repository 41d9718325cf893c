"""Run options of a kind: the few settings a kind declares for its targets (the token kind's
law profile, declared filters, scalar parameters, global RNG), carried to every check by the
:class:`~harness.core.context.RunContext`.

A kind declares its options as :class:`Option` specs (:attr:`harness.kinds.Kind.options`); the
machinery resolves them once per run (:func:`resolve_options`: an explicit value, from the CLI
flag or the API keyword, wins over the target's ``gumbel_harness_<name>`` attribute, which wins
over the default), and hands the resulting :class:`Options` to the kind's plan, its target
adapter and its probes. The machinery never interprets an option: only the kind that declared it
does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

__all__ = ["Option", "Options", "resolve_options", "target_attributes"]


@dataclass(frozen=True)
class Option:
    """One option of a kind: ``name`` (the API keyword; the CLI flag is ``--name`` unless
    ``flag``), ``help``, ``default``, ``parse(value) -> value`` (normalises a CLI string or an
    attribute value; ``ValueError`` for a bad one), ``const`` (the flag takes no value and sets
    ``const``, e.g. ``--scalar-params``), ``attribute`` (the target attribute, default
    ``gumbel_harness_<name>``), ``headline`` (a format string: the law verdict names the value)."""

    name: str
    help: str
    default: Any = None
    parse: Callable[[Any], Any] = lambda v: v
    flag: str = ""
    metavar: str = ""
    const: Any = None
    attribute: str = ""
    headline: str = ""  # e.g. "law profile {}": the result's headline names the value

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def attr(self) -> str:
        return self.attribute or f"gumbel_harness_{self.name}"


@dataclass(frozen=True)
class Options(Mapping):
    """The resolved options of a run: a read-only mapping name -> value (picklable, hashable);
    ``sources`` says where each came from (``"default"``, ``"argument"``, ``"attribute"``)."""

    values: tuple[tuple[str, Any], ...] = ()
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __getitem__(self, key: str) -> Any:
        for k, v in self.values:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, _ in self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __hash__(self) -> int:
        return hash(tuple((k, repr(v)) for k, v in self.values))

    def source(self, key: str) -> str:
        return dict(self.sources).get(key, "default")

    def given(self) -> dict[str, Any]:
        """The options not at their default (as set by an argument or an attribute)."""
        return {k: v for k, v in self.values if self.source(k) != "default"}


def target_attributes(fn: Any, specs: tuple[Option, ...]) -> dict[str, Any]:
    """The ``gumbel_harness_<name>`` attributes ``fn`` carries for ``specs`` (raw values)."""
    out = {}
    for o in specs:
        try:
            v = getattr(fn, o.attr)
        except Exception:  # noqa: BLE001 - no attribute, or a hostile __getattr__
            continue
        out[o.name] = v
    return out


def resolve_options(specs: tuple[Option, ...], explicit: Mapping[str, Any] | None = None,
                    attributes: Mapping[str, Any] | None = None, kind: str = "") -> Options:
    """:class:`Options` for ``specs``: ``explicit`` (``None`` values ignored) over ``attributes``
    over each default, every given value through ``parse``. ``ValueError`` for an option the kind
    does not declare (naming those it does) or a value ``parse`` refuses (naming the option)."""
    explicit = {k: v for k, v in (explicit or {}).items() if v is not None}
    names = [o.name for o in specs]
    unknown = [k for k in explicit if k not in names]
    if unknown:
        have = ", ".join(names) if names else "none"
        raise ValueError(f"kind {kind or '?'} has no option {', '.join(map(repr, unknown))} (its options: {have})")
    values, sources = [], []
    for o in specs:
        src, raw = "default", o.default
        if attributes and o.name in attributes and attributes[o.name] is not None:
            src, raw = "attribute", attributes[o.name]
        if o.name in explicit:
            src, raw = "argument", explicit[o.name]
        try:
            val = o.parse(raw)
        except (ValueError, TypeError, KeyError) as exc:
            where = {"argument": o.cli_flag + " / " + o.name + "=", "attribute": o.attr}.get(src, "default")
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise ValueError(f"bad {o.name} ({where}): {msg}") from None
        values.append((o.name, val))
        sources.append((o.name, src))
    return Options(tuple(values), tuple(sources))
