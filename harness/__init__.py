"""gumbel-harness: a verified statistical test harness for the Gumbel-max trick and the
Gumbel-softmax (Concrete) relaxation.

Data flow: ``reference`` (exact laws, reference samplers) -> ``harness.experiments`` (one
module per spec claim) -> ``harness.stats`` (tests, power) -> :class:`harness.verdict.Verdict`
(Holm-judged) -> ``harness.report`` (HTML / Markdown / JSON / figures). Third-party samplers go
through ``harness.checker`` with the same statistics.
"""
from harness.budgets import BUDGETS, Budget, get_budget
from harness.verdict import Detectable, Verdict, format_verdict, judge_family

__version__ = "0.1.0"

__all__ = ["BUDGETS", "Budget", "get_budget", "Detectable", "Verdict", "format_verdict",
           "judge_family", "__version__"]
