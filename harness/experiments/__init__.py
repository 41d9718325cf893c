"""The experiments: one module per claim of ``docs/spec.md`` (T1-T5, C1-C5, G1-G4) plus
``N``, the precision experiment. Each module registers one function with
:func:`~harness.experiments.base.experiment`; importing this package imports them all.

>>> from harness.experiments import all_experiments
>>> [e.id for e in all_experiments()][:3]
['T1', 'T2', 'T3']

Selection (``gumbel-harness report --only``): :func:`select` takes claim ids (``T1``) and check
ids or prefixes (``T1.mc.peaked``); a check id selects its experiment and keeps only that
check's verdicts (:func:`keep_verdict`).
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Iterable, Sequence

from harness.experiments.base import (
    CLAIM_ORDER,
    REGISTRY,
    Collector,
    Experiment,
    ExperimentResult,
    Figure,
    Finding,
    experiment,
)

__all__ = [
    "CLAIM_ORDER", "REGISTRY", "Collector", "Experiment", "ExperimentResult", "Figure", "Finding",
    "experiment", "load_all", "all_experiments", "get", "select", "keep_verdict", "parse_only",
]

_LOADED = False


def load_all() -> dict[str, Experiment]:
    """Import every experiment module of this package (names not starting with ``_``)."""
    global _LOADED
    if not _LOADED:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if info.name.startswith("_") or info.name == "base":
                continue
            importlib.import_module(f"{__name__}.{info.name}")
        _LOADED = True
    return REGISTRY


def all_experiments() -> list[Experiment]:
    """The registered experiments in spec order."""
    reg = load_all()
    return [reg[i] for i in CLAIM_ORDER if i in reg]


def get(claim_id: str) -> Experiment:
    reg = load_all()
    try:
        return reg[claim_id]
    except KeyError:
        raise ValueError(f"no experiment for claim {claim_id!r}; known: {', '.join(sorted(reg))}") from None


def parse_only(only: str | Sequence[str] | None) -> list[str]:
    """Split ``--only`` values (comma/space separated, repeatable) into tokens."""
    if only is None:
        return []
    items = [only] if isinstance(only, str) else list(only)
    out: list[str] = []
    for it in items:
        out.extend(t for t in it.replace(",", " ").split() if t)
    return out


def select(only: Iterable[str] | None) -> tuple[list[Experiment], list[str]]:
    """The experiments to run for the ``--only`` tokens and the check filters among them.

    A token ``T1`` selects the whole experiment; ``T1.mc.peaked`` selects experiment ``T1`` and
    keeps only the checks equal to the token or starting with ``token + '.'``. No tokens: all.
    ``ValueError`` for a token whose claim id is not registered.
    """
    tokens = list(only or [])
    if not tokens:
        return all_experiments(), []
    ids: list[str] = []
    filters: list[str] = []
    whole: set[str] = set()
    for tok in tokens:
        cid = tok.split(".", 1)[0]
        get(cid)
        if cid not in ids:
            ids.append(cid)
        if "." in tok:
            filters.append(tok)
        else:
            whole.add(cid)
    # a whole-experiment token overrides check filters of the same experiment
    filters = [f for f in filters if f.split(".", 1)[0] not in whole]
    order = {c: i for i, c in enumerate(CLAIM_ORDER)}
    return [get(c) for c in sorted(ids, key=order.__getitem__)], filters


def keep_verdict(check: str, claim: str, filters: Sequence[str]) -> bool:
    """Whether a verdict survives the check filters (experiments without a filter keep all)."""
    mine = [f for f in filters if f.split(".", 1)[0] == claim]
    if not mine:
        return True
    return any(check == f or check.startswith(f + ".") for f in mine)
