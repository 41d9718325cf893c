"""pytest plugin (entry point ``pytest11: gumbel_harness``): assert that a sampler conforms.

Installed with the package, so any project that has ``gumbel-harness`` installed can write::

    def test_my_sampler_conforms(gumbel_check):
        gumbel_check("mypkg.sampling:sample", kind="categorical")     # or the callable itself

    # or, without the fixture:
    from harness.checker import assert_conforms
    def test_it():
        assert_conforms(my_sampler, kind="relaxed", budget="quick")

``gumbel_check(target, kind=None, *, law_only=None, **kwargs)`` runs
:func:`harness.checker.check_sampler` and fails the test with the readable report (the headline,
law first, the tables, then ``format_verdict`` of every failing check and the failing probe
findings) when the **law or the contract** fails; with ``law_only=True`` (or ``--gumbel-law-only``
/ ini ``gumbel_law_only = true``) it fails only when the law is rejected, and a contract failure
is reported as a warning. It returns the :class:`~harness.checker.CheckResult` otherwise.
Defaults come from the command line or the ini file: ``--gumbel-budget`` / ``gumbel_budget``
(default ``standard``), ``--gumbel-seed`` / ``gumbel_seed`` (default 0), ``--gumbel-timeout`` /
``gumbel_timeout`` (per-call seconds, default 120), ``--gumbel-law-only`` / ``gumbel_law_only``
(default false), ``--gumbel-isolation`` / ``gumbel_isolation`` (``process``, the default: the target
runs in a supervised worker process, so an ``os._exit(0)`` or a segfault in it fails the test
instead of ending the pytest session; ``none``: in the test process). Keyword arguments of the
call win.

``gumbel_compare(a, b, kind=None, **kwargs)`` runs :func:`harness.checker.compare_samplers`
(same budget / seed / timeout / isolation defaults) and fails the test with the compare report
(the configurations that differ, their p-values and power) when the two laws differ; it returns
the :class:`~harness.checker.CompareResult` otherwise (every PASS with its distance bound)::

    def test_fused_kernel_matches_the_torch_path(gumbel_compare):
        gumbel_compare("mypkg.sampling:fused", "mypkg.sampling:native", kind="token", budget="quick")

The plugin imports nothing heavy until a fixture is used.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

__all__ = ["gumbel_check", "gumbel_compare"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gumbel-harness", "sampler conformance (gumbel-harness)")
    group.addoption("--gumbel-budget", default=None, choices=["quick", "standard", "thorough"],
                    help="budget of the gumbel_check fixture (default: ini gumbel_budget or standard)")
    group.addoption("--gumbel-seed", type=int, default=None, help="run seed of the gumbel_check fixture")
    group.addoption("--gumbel-timeout", type=float, default=None, help="per-call timeout (s) of gumbel_check")
    group.addoption("--gumbel-law-only", action="store_true", default=None,
                    help="gumbel_check fails only when the law is rejected (contract failures: a warning)")
    group.addoption("--gumbel-isolation", default=None, choices=["process", "none"],
                    help="isolation of gumbel_check (default: ini gumbel_isolation or process)")
    parser.addini("gumbel_budget", "default budget of the gumbel_check fixture", default="standard")
    parser.addini("gumbel_seed", "default seed of the gumbel_check fixture", default="0")
    parser.addini("gumbel_timeout", "default per-call timeout (s) of the gumbel_check fixture", default="120")
    parser.addini("gumbel_law_only", "gumbel_check judges the law alone (true/false)", type="bool", default=False)
    parser.addini("gumbel_isolation", "isolation of the gumbel_check fixture (process or none)", default="process")


def _defaults(config: pytest.Config) -> dict[str, Any]:
    budget = config.getoption("--gumbel-budget") or config.getini("gumbel_budget") or "standard"
    seed = config.getoption("--gumbel-seed")
    seed = int(config.getini("gumbel_seed") or 0) if seed is None else seed
    timeout = config.getoption("--gumbel-timeout")
    timeout = float(config.getini("gumbel_timeout") or 120) if timeout is None else timeout
    law_only = config.getoption("--gumbel-law-only")
    law_only = bool(config.getini("gumbel_law_only")) if law_only is None else law_only
    isolation = config.getoption("--gumbel-isolation") or config.getini("gumbel_isolation") or "process"
    return {"budget": budget, "seed": seed, "timeout": timeout, "law_only": law_only, "isolation": isolation}


@pytest.fixture
def gumbel_check(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``gumbel_check(target, kind=None, **kwargs)``: check a sampler; fail the test with the
    conformance report unless it conforms; return the CheckResult."""
    defaults = _defaults(request.config)

    def check(target: Any, kind: str | None = None, *, law_only: bool | None = None, **kwargs: Any):
        import warnings

        from harness.checker import check_sampler

        opts = {**defaults, **kwargs}
        lo = opts.pop("law_only")
        lo = lo if law_only is None else law_only
        res = check_sampler(target, kind, **opts)
        if not res.law_passed or (not lo and not res.contract_passed):
            # the report's first line is the headline: shown once
            pytest.fail(f"{res.target} does not conform to the {res.kind} protocol claims:\n{res.report()}",
                        pytrace=False)
        if not res.contract_passed:
            warnings.warn(f"{res.target}: {res.headline} (law_only: the contract failure does not fail the test)",
                          stacklevel=2)
        return res

    return check


@pytest.fixture
def gumbel_compare(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``gumbel_compare(a, b, kind=None, **kwargs)``: compare two samplers; fail the test with the
    compare report when their laws differ; return the CompareResult."""
    defaults = {k: v for k, v in _defaults(request.config).items() if k != "law_only"}

    def compare(a: Any, b: Any, kind: str | None = None, **kwargs: Any):
        from harness.checker import compare_samplers

        res = compare_samplers(a, b, kind, **{**defaults, **kwargs})
        if not res.passed:
            pytest.fail(f"{res.a} and {res.b} do not draw from the same law ({res.kind}, budget {res.budget}, "
                        f"seed {res.seed}): {res.headline}\n\n{res.report()}", pytrace=False)
        return res

    return compare
