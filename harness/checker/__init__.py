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

Modules: :mod:`~harness.kinds.plans` (which checks per kind, power), :mod:`~harness.checker.api`
(run + result), :mod:`~harness.run.guard` (per-call timeout), :mod:`~harness.probes.bad_inputs`
(bad inputs), :mod:`~harness.probes.adversarial` (forced RNG boundary values),
:mod:`~harness.probes.contract` (reproducibility, precision, input-mutation probes),
:mod:`~harness.checker.protocol` (one trial call: does the callable fit its kind),
:mod:`~harness.checker.reproduce` (shell-quoted reproduce commands),
:mod:`~harness.checker.targets` (built-ins, loading), :mod:`~harness.output.terminal` (terminal
tables), :mod:`~harness.output.documents` (Markdown / HTML through :mod:`harness.output.rendering`, and
the atomically written ``--out`` directories), :mod:`~harness.kinds.relaxed_extras` (RelaxedOneHotCategorical.log_prob vs C1),
:mod:`~harness.probes.reach` (precision reach of the noise), :mod:`~harness.kinds.jax`
(key-based JAX kinds), :mod:`~harness.checker.external` (command targets, offline samples),
:mod:`~harness.run.steps` (one step of a run, global-state and input checks, both isolation
modes), :mod:`~harness.run.supervisor` / :mod:`~harness.run.worker` (the supervised worker
process of ``isolation="process"``).

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
    "DEFAULT_TIMEOUT": "harness.run.guard",
    "GuardedTarget": "harness.run.guard",
    "PlannedCheck": "harness.kinds.plans",
    "plan_for": "harness.kinds.plans",
    "power_targets": "harness.kinds.plans",
    "Finding": "harness.probes.bad_inputs",
    "probe_target": "harness.probes.bad_inputs",
    "ProtocolMismatch": "harness.checker.protocol",
    "BUILTINS": "harness.checker.targets",
    "BuiltinTarget": "harness.checker.targets",
    "TargetLoadError": "harness.checker.targets",
    "load_target": "harness.checker.targets",
}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness.checker' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
