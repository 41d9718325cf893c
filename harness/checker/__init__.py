"""Check third-party Gumbel-max / Gumbel-softmax / categorical / Gumbel-noise samplers.

Python API::

    from harness.checker import check_sampler, assert_conforms
    res = check_sampler("torch.nn.functional:gumbel_softmax", kind="torch", budget="standard", seed=0)
    print(res.report()); res.headline; res.exit_status        # law first, then contract
    res.law_passed; res.contract_passed; res.passed           # passed = both
    assert_conforms(my_sampler, kind="categorical")   # AssertionError with a readable report
    assert_conforms(my_sampler, kind="categorical", law_only=True)   # judge the law alone

CLI: ``gumbel-harness check MODULE:CALLABLE --kind KIND`` / ``--builtin NAME|all`` /
``--mutant NAME|all`` (:mod:`harness.checker.command`). pytest: the ``gumbel_check`` fixture
(:mod:`harness.pytest_plugin`).

The house (floors, lowest first; a module imports only from its own floor or below, which
``tests/test_architecture.py`` holds):

==================  ==========================================================================
``reference``       exact laws and reference samplers (imports nothing of ``harness``)
``harness.stats``   the statistics: tests, power, bounds, confirmation (no ``harness`` import)
``harness.core``    budgets, seeds, the Verdict, the run context, progress, the chunk pool
``harness.checks``  verdict builders, the claim checks on samplers, the validating draws
``harness.probes``  findings and their recorder, adversarial streams, precision reach, contract
``harness.mutants`` the mutant catalogue (broken samplers of real bugs)
``harness.kinds``   one module per sampler kind (:class:`~harness.kinds.Kind`)
``harness.experiments``  the report's claims, one module each
``harness.targets`` reaching a target: loading, the protocol trial, commands, fixed samples
``harness.run``     running a check: the guard, the steps, the supervisor and its worker
``harness.output``  rendering: terminal tables, Markdown / HTML documents, ``--out`` directories
``harness.checker`` the API (:func:`check_sampler`), the ``check`` command, offline samples
``harness.report``  the validation report
==================  ==========================================================================

The names below are imported lazily (as in :mod:`harness`), so that the supervisor and the
worker (``import harness.run.supervisor``) start without importing SciPy and the checks.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CheckResult": "harness.checker.api",
    "ConformanceError": "harness.checker.api",
    "UnprotectedWarning": "harness.checker.api",
    "assert_conforms": "harness.checker.api",
    "check_sampler": "harness.checker.api",
    "compare_samplers": "harness.checker.compare",
    "CompareResult": "harness.checker.compare",
    "DEFAULT_TIMEOUT": "harness.run.guard",
    "GuardedTarget": "harness.run.guard",
    "PlannedCheck": "harness.kinds",
    "plan_for": "harness.kinds",
    "power_targets": "harness.kinds",
    "Kind": "harness.kinds",
    "register": "harness.kinds",
    "Finding": "harness.probes.findings",
    "probe_target": "harness.kinds",
    "ProtocolMismatch": "harness.targets.protocol",
    "BUILTINS": "harness.targets.loading",
    "BuiltinTarget": "harness.targets.loading",
    "TargetLoadError": "harness.targets.loading",
    "load_target": "harness.targets.loading",
}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness.checker' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
