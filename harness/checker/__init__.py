"""Check third-party Gumbel-max / Gumbel-softmax / categorical / Gumbel-noise samplers.

Python API::

    from harness.checker import check_sampler, assert_conforms
    res = check_sampler("torch.nn.functional:gumbel_softmax", kind="torch", budget="standard", seed=0)
    print(res.report()); res.passed; res.verdicts; res.findings
    assert_conforms(my_sampler, kind="categorical")   # AssertionError with a readable report

CLI: ``gumbel-harness check MODULE:CALLABLE --kind KIND`` / ``--builtin NAME|all`` /
``--mutant NAME|all`` (:mod:`harness.checker.command`). pytest: the ``gumbel_check`` fixture
(:mod:`harness.pytest_plugin`).

Modules: :mod:`~harness.checker.plans` (which checks per kind, power), :mod:`~harness.checker.api`
(run + result), :mod:`~harness.checker.guard` (per-call timeout), :mod:`~harness.checker.probes`
(bad inputs), :mod:`~harness.checker.adversarial` (forced RNG boundary values),
:mod:`~harness.checker.targets` (built-ins, loading), :mod:`~harness.checker.render` (tables,
Markdown, HTML, JSON), :mod:`~harness.checker.extras` (RelaxedOneHotCategorical.log_prob vs C1),
:mod:`~harness.checker.steps` (one step of a run, global-state and input checks, both isolation
modes), :mod:`~harness.checker.supervisor` / :mod:`~harness.checker.worker` (the supervised worker
process of ``isolation="process"``).
"""
from harness.checker.api import CheckResult, ConformanceError, UnprotectedWarning, assert_conforms, check_sampler
from harness.checker.guard import DEFAULT_TIMEOUT, GuardedTarget
from harness.checker.plans import PlannedCheck, plan_for, power_targets
from harness.checker.probes import Finding, probe_target
from harness.checker.targets import BUILTINS, BuiltinTarget, TargetLoadError, load_target

__all__ = [
    "check_sampler", "assert_conforms", "CheckResult", "ConformanceError", "Finding", "probe_target",
    "plan_for", "PlannedCheck", "power_targets", "BUILTINS", "BuiltinTarget", "TargetLoadError",
    "load_target", "GuardedTarget", "DEFAULT_TIMEOUT", "UnprotectedWarning",
]
