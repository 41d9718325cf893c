"""gumbel-harness: a verified statistical test harness for the Gumbel-max trick and the
Gumbel-softmax (Concrete) relaxation.

Data flow: ``reference`` (exact laws, reference samplers) -> ``harness.experiments`` (one
module per spec claim) -> ``harness.stats`` (tests, power) -> :class:`harness.core.verdict.Verdict`
(Holm-judged) -> ``harness.report`` (HTML / Markdown / JSON / figures). Third-party samplers go
through ``harness.checker`` with the same statistics.

The names below are imported lazily, so ``import harness.core.parallel`` (in every worker process)
does not pay for SciPy.
"""
from __future__ import annotations

import importlib
from typing import Any

from harness.core.version import __version__

_LAZY = {
    "BUDGETS": "harness.core.budgets",
    "Budget": "harness.core.budgets",
    "get_budget": "harness.core.budgets",
    "Detectable": "harness.core.verdict",
    "Verdict": "harness.core.verdict",
    "format_verdict": "harness.core.verdict",
    "judge_family": "harness.core.verdict",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
