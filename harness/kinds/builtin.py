"""A built-in target: a named adapter that puts a library sampler behind a kind's protocol, with
the verdicts it is expected to get (the conformance matrix compares them with the outcome)."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["BuiltinTarget"]


_BUDGET_RANK = {"quick": 0, "standard": 1, "thorough": 2}


@dataclass(frozen=True)
class BuiltinTarget:
    """A named target: ``factory()`` returns the protocol callable; ``requires`` lists modules
    that must be importable (else the target is skipped cleanly).

    Expected verdicts (the conformance matrix compares them with the outcome): ``expect_law`` and
    ``expect_contract`` (True: holds, False: fails, None: not stated, then ``expect_pass``
    decides the overall verdict), and ``expect_budget``, the smallest budget at which an
    expected law failure is certain to show (below it the law may go either way; contract
    findings are deterministic and expected at every budget).
    ``expect_pass`` is True when both are expected to hold."""

    name: str
    kind: str
    description: str
    factory: Callable[[], Callable]
    requires: tuple[str, ...] = ()
    expect_pass: bool = True
    extra: Callable[..., Any] | None = None  # extra checks: extra(ctx) -> (verdicts, findings, info)
    notes: str = ""
    expect_law: bool | None = None
    expect_contract: bool | None = None
    expect_budget: str = "quick"

    def expected(self, budget: str) -> dict[str, bool | None]:
        """``{"law", "contract", "pass"}`` expected at ``budget``: True holds, False fails, None
        either (an expected failure that this budget may not have the power to show)."""
        law = self.expect_law if self.expect_law is not None else (True if self.expect_pass else None)
        con = self.expect_contract if self.expect_contract is not None else (True if self.expect_pass else None)
        overall: bool | None = self.expect_pass
        if _BUDGET_RANK.get(budget, 1) < _BUDGET_RANK.get(self.expect_budget, 0):
            # the budget bounds the power of the statistical law checks; contract findings are
            # deterministic probes and show at every budget
            law = None if law is False else law
            overall = None if overall is False and con is not False else overall
        return {"law": law, "contract": con, "pass": overall}

    def matches(self, result: Any) -> bool:
        """Whether ``result`` (a CheckResult at its budget) shows the expected verdicts. A side that
        did not run (no law check selected; no probe and no contract check) is not compared."""
        e = self.expected(result.budget)
        if not result.law_verdicts:
            e["law"] = e["pass"] = None
        if not (result.contract_verdicts or result.findings):
            e["contract"] = e["pass"] = None
        got = {"law": result.law_passed, "contract": result.contract_passed, "pass": result.passed}
        return all(e[k] is None or e[k] == got[k] for k in e)

    def available(self) -> tuple[bool, str]:
        for mod in self.requires:
            if importlib.util.find_spec(mod) is None:
                return False, f"{mod} is not installed (optional extra: pip install gumbel-harness[{mod}])"
        return True, ""

