"""pytest plugin (entry point ``pytest11: gumbel_harness``): assert that a sampler conforms.

Installed with the package, so any project that has ``gumbel-harness`` installed can write::

    def test_my_sampler_conforms(gumbel_check):
        gumbel_check("mypkg.sampling:sample", kind="categorical")     # or the callable itself

    # or, without the fixture:
    from harness.checker import assert_conforms
    def test_it():
        assert_conforms(my_sampler, kind="relaxed", budget="quick")

``gumbel_check(target, kind=None, **kwargs)`` runs :func:`harness.checker.check_sampler` and,
when the target does not conform, fails the test with the readable report (the check table,
then ``format_verdict`` of every failing check and the failing probe findings); it returns the
:class:`~harness.checker.CheckResult` otherwise. Defaults come from the command line or the ini
file: ``--gumbel-budget`` / ``gumbel_budget`` (default ``standard``), ``--gumbel-seed`` /
``gumbel_seed`` (default 0), ``--gumbel-timeout`` / ``gumbel_timeout`` (per-call seconds,
default 120), ``--gumbel-isolation`` / ``gumbel_isolation`` (``process``, the default: the target
runs in a supervised worker process, so an ``os._exit(0)`` or a segfault in it fails the test
instead of ending the pytest session; ``none``: in the test process). Keyword arguments of the
call win.

The plugin imports nothing heavy until the fixture is used.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

__all__ = ["gumbel_check"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gumbel-harness", "sampler conformance (gumbel-harness)")
    group.addoption("--gumbel-budget", default=None, choices=["quick", "standard", "thorough"],
                    help="budget of the gumbel_check fixture (default: ini gumbel_budget or standard)")
    group.addoption("--gumbel-seed", type=int, default=None, help="run seed of the gumbel_check fixture")
    group.addoption("--gumbel-timeout", type=float, default=None, help="per-call timeout (s) of gumbel_check")
    group.addoption("--gumbel-isolation", default=None, choices=["process", "none"],
                    help="isolation of gumbel_check (default: ini gumbel_isolation or process)")
    parser.addini("gumbel_budget", "default budget of the gumbel_check fixture", default="standard")
    parser.addini("gumbel_seed", "default seed of the gumbel_check fixture", default="0")
    parser.addini("gumbel_timeout", "default per-call timeout (s) of the gumbel_check fixture", default="120")
    parser.addini("gumbel_isolation", "isolation of the gumbel_check fixture (process or none)", default="process")


def _defaults(config: pytest.Config) -> dict[str, Any]:
    budget = config.getoption("--gumbel-budget") or config.getini("gumbel_budget") or "standard"
    seed = config.getoption("--gumbel-seed")
    seed = int(config.getini("gumbel_seed") or 0) if seed is None else seed
    timeout = config.getoption("--gumbel-timeout")
    timeout = float(config.getini("gumbel_timeout") or 120) if timeout is None else timeout
    isolation = config.getoption("--gumbel-isolation") or config.getini("gumbel_isolation") or "process"
    return {"budget": budget, "seed": seed, "timeout": timeout, "isolation": isolation}


@pytest.fixture
def gumbel_check(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``gumbel_check(target, kind=None, **kwargs)``: check a sampler; fail the test with the
    conformance report unless it conforms; return the CheckResult."""
    defaults = _defaults(request.config)

    def check(target: Any, kind: str | None = None, **kwargs: Any):
        from harness.checker import check_sampler

        res = check_sampler(target, kind, **{**defaults, **kwargs})
        if not res.passed:
            pytest.fail(f"{res.target} does not conform to the {res.kind} protocol claims "
                        f"(budget {res.budget}, seed {res.seed}):\n\n{res.report()}", pytrace=False)
        return res

    return check
