"""Sampler kinds: one module per kind, each building one :class:`~harness.kinds.base.Kind`.

======================  =============================================================
module                  kind(s)
======================  =============================================================
``categorical``         ``categorical``: ``fn(logits, n, seed) -> n indices``
``relaxed``             ``relaxed``: ``fn(logits, T, n, seed) -> (n, K) simplex points``
``noise``               ``noise``: ``fn(shape, seed) -> Gumbel draws``
``torch``               ``torch``: ``F.gumbel_softmax``'s contract
``token``               ``token``: batched LLM token samplers
``jax``                 ``jax-categorical``, ``jax-relaxed``, ``jax-noise`` (key-based)
======================  =============================================================

Command templates and fixed samples are not kinds: they are ways to *reach* a kind
(:class:`~harness.kinds.base.ExternalProtocol`). The machinery asks the registry
(:func:`get_kind`) and never branches on a kind's name.
"""
from __future__ import annotations

from typing import Any

# the built-in kinds register themselves on import, in this order (--kind choices, listings)
from harness.kinds import categorical, relaxed, noise, torch, token, jax  # noqa: F401,E401  isort: skip
from harness.kinds.base import (NO_CHECKS, BuiltinTarget, ExternalProtocol, Kind, PlannedCheck, UnknownKind,
                                all_kinds, get_kind, kind_names, matches, not_applicable, parse_only, register, runnable,
                                select, unregister)

__all__ = ["Kind", "PlannedCheck", "BuiltinTarget", "ExternalProtocol", "UnknownKind", "get_kind", "kind_names",
           "all_kinds", "register", "unregister", "plan_for", "power_targets", "select", "matches", "parse_only",
           "NO_CHECKS", "probe_target", "runnable", "not_applicable"]


def plan_for(kind: Any, budget, options: Any = None) -> list[PlannedCheck]:
    """The checks of ``kind`` (a name or a :class:`Kind`) at ``budget`` under ``options`` (a
    resolved :class:`~harness.core.options.Options`; default: the kind's defaults)."""
    return get_kind(kind).make_plan(budget, options)


def probe_target(fn, kind: Any, **kwargs: Any) -> list:
    """The findings of ``kind``'s probes on ``fn`` (:meth:`Kind.probe`: ``seed``, ``adversarial``,
    ``bad_inputs``, ``hook``)."""
    return get_kind(kind).probe(fn, **kwargs)


def power_targets(kind: Any, budget, family_size: int, device: str = "cpu") -> dict[str, Any]:
    """The power statements of a run of ``kind`` (:meth:`Kind.power_targets`)."""
    return get_kind(kind).power_targets(budget, family_size, device)
