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

Modules: :mod:`~harness.checker.plans` (which checks per kind, power), :mod:`~harness.checker.api`
(run + result), :mod:`~harness.checker.guard` (per-call timeout), :mod:`~harness.checker.probes`
(bad inputs), :mod:`~harness.checker.adversarial` (forced RNG boundary values),
:mod:`~harness.checker.contract` (reproducibility, precision, input-mutation probes),
:mod:`~harness.checker.protocol` (one trial call: does the callable fit its kind),
:mod:`~harness.checker.reproduce` (shell-quoted reproduce commands),
:mod:`~harness.checker.targets` (built-ins, loading), :mod:`~harness.checker.render` (terminal
tables), :mod:`~harness.checker.documents` (Markdown / HTML through :mod:`harness.rendering`, and
the atomically written ``--out`` directories), :mod:`~harness.checker.extras` (RelaxedOneHotCategorical.log_prob vs C1),
:mod:`~harness.checker.reach` (precision reach of the noise), :mod:`~harness.checker.jax_kinds`
(key-based JAX kinds), :mod:`~harness.checker.external` (command targets, offline samples),
:mod:`~harness.checker.steps` (one step of a run, global-state and input checks, both isolation
modes), :mod:`~harness.checker.supervisor` / :mod:`~harness.checker.worker` (the supervised worker
process of ``isolation="process"``).
"""
from harness.checker.api import CheckResult, ConformanceError, UnprotectedWarning, assert_conforms, check_sampler
from harness.checker.guard import DEFAULT_TIMEOUT, GuardedTarget
from harness.checker.plans import PlannedCheck, plan_for, power_targets
from harness.checker.probes import Finding, probe_target
from harness.checker.protocol import ProtocolMismatch
from harness.checker.targets import BUILTINS, BuiltinTarget, TargetLoadError, load_target

__all__ = [
    "check_sampler", "assert_conforms", "CheckResult", "ConformanceError", "Finding", "probe_target",
    "plan_for", "PlannedCheck", "power_targets", "BUILTINS", "BuiltinTarget", "TargetLoadError",
    "load_target", "GuardedTarget", "DEFAULT_TIMEOUT", "ProtocolMismatch", "UnprotectedWarning",
]
