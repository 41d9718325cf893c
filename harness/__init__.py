"""gumbel-harness: a verified statistical test harness for the Gumbel-max trick and the
Gumbel-softmax (Concrete) relaxation.

Data flow: ``reference`` (exact laws, reference samplers) -> ``harness.experiments`` (one
module per spec claim) -> ``harness.stats`` (tests, power) -> :class:`harness.verdict.Verdict`
(Holm-judged) -> ``harness.report`` (HTML / Markdown / JSON / figures). Third-party samplers go
through ``harness.checker`` with the same statistics.

The names below are imported lazily, so ``import harness.parallel`` (in every worker process)
does not pay for SciPy.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "BUDGETS": "harness.budgets",
    "Budget": "harness.budgets",
    "get_budget": "harness.budgets",
    "Detectable": "harness.verdict",
    "Verdict": "harness.verdict",
    "format_verdict": "harness.verdict",
    "judge_family": "harness.verdict",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
