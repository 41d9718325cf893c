"""The one result type of the harness: a :class:`Verdict` per check.

Every Monte Carlo check ends as a Verdict that states its statistic, its null (the claim), its
p-value, the family-wise level it was judged at (Holm), its sample size and its power (the
smallest deviation it detects with probability 0.9), plus how to reproduce it (the seed).
Deterministic checks (symbolic algebra, quadrature, exact Jacobians) are Verdicts too, with
``pvalue=None`` and a numerical tolerance instead of a level; they are not part of the Holm
family because they cannot raise a false alarm by chance.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Mapping

__all__ = ["Detectable", "Verdict", "judge_family", "format_verdict"]


@dataclass(frozen=True)
class Detectable:
    """The smallest deviation a check detects with probability ``power`` at its level and size.

    ``measure`` names the effect measure (``"cohen_w"``, ``"ks_sup_distance"``,
    ``"relative_rate"``, ``"z_units"``...), ``value`` is the detectable effect in that measure,
    ``tv`` the matching total-variation distance where one applies (for a one-category shift),
    ``level`` the per-check significance level used for the computation (the Bonferroni level
    ``alpha/m``, the most stringent one Holm can apply, so the figure is conservative).
    """

    measure: str
    value: float
    power: float = 0.9
    level: float = float("nan")
    tv: float | None = None
    note: str = ""

    def describe(self) -> str:
        s = f"{self.measure} >= {self.value:.3g}"
        if self.tv is not None:
            s += f" (TV {self.tv:.3g})"
        return s + f" with power {self.power:g} at level {self.level:.3g}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check.

    Fields
    ------
    claim: spec claim id (``"T1"``, ``"C4"``...). check: unique id of this check within a run
    (``"T1.mc.peaked"``). claim_text: the null hypothesis in words/formula. test: the
    statistical test (``"Pearson chi-square"``...). statistic, pvalue: as in scipy.stats
    (``pvalue`` is None for deterministic checks). alpha: the family-wise level of the run.
    adjusted_pvalue: Holm-adjusted p-value (set by :func:`judge_family`). n: sample size.
    detectable: the check's power statement. passed: the decision. reason: why it failed
    (what was expected, what was seen), or a one-line summary when it passed. seed: the seed
    of this check. reproduce: a command or call that reproduces it. forced_fail: an
    impossible event was observed or the target crashed; fails whatever the p-value.
    details: free-form numbers for the report (must be JSON-serialisable).
    """

    claim: str
    check: str
    claim_text: str
    test: str
    statistic: float | None
    pvalue: float | None
    n: int
    alpha: float = 0.01
    adjusted_pvalue: float | None = None
    detectable: Detectable | None = None
    passed: bool | None = None
    reason: str = ""
    seed: int | None = None
    reproduce: str = ""
    forced_fail: bool = False
    tolerance: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_statistical(self) -> bool:
        return self.pvalue is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["details"] = dict(self.details)
        return _json_safe(d)

    def __str__(self) -> str:
        return format_verdict(self)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _json_safe(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def judge_family(verdicts: Iterable[Verdict], alpha: float) -> list[Verdict]:
    """Decide every verdict of one run under Holm-Bonferroni at family-wise level ``alpha``.

    Statistical verdicts (``pvalue`` not None) form the family: sorted p-values
    :math:`p_{(1)} \\le \\dots \\le p_{(m)}`, :math:`H_{(i)}` is rejected iff
    :math:`p_{(j)} \\le \\alpha/(m-j+1)` for all :math:`j \\le i`. The adjusted p-value is
    :math:`\\max_{j \\le i} \\min(1, (m-j+1) p_{(j)})` and a check passes iff it exceeds
    ``alpha``. Deterministic verdicts keep their own decision. A ``forced_fail`` verdict always
    fails. The returned verdicts carry ``alpha`` and ``adjusted_pvalue``; a correct sampler
    fails a run with probability at most ``alpha`` (Holm 1979, strong FWER control).
    """
    from harness.stats.family import holm

    vs = list(verdicts)
    idx = [i for i, v in enumerate(vs) if v.pvalue is not None]
    adjusted = holm([float(vs[i].pvalue) for i in idx], alpha).adjusted if idx else []
    out = list(vs)
    for i, adj in zip(idx, adjusted):
        v = vs[i]
        passed = (adj > alpha) and not v.forced_fail
        reason = v.reason
        if not passed and not v.forced_fail:
            why = (
                f"p = {v.pvalue:.3g} (Holm-adjusted {adj:.3g}) <= family alpha {alpha:g}: "
                "the data contradict the claim"
            )
            reason = f"{why}; {reason}" if reason else why
        out[i] = replace(v, alpha=alpha, adjusted_pvalue=float(adj), passed=passed, reason=reason)
    for i, v in enumerate(out):
        if v.pvalue is None:
            passed = bool(v.passed) and not v.forced_fail
            out[i] = replace(v, alpha=alpha, passed=passed)
    return out


def format_verdict(v: Verdict) -> str:
    """A self-explaining, multi-line description (what was expected, seen, how to reproduce)."""
    status = {True: "PASS", False: "FAIL", None: "UNDECIDED"}[v.passed]
    lines = [f"{status} {v.check} [{v.claim}] {v.test}"]
    lines.append(f"  claim: {v.claim_text}")
    stat = "n/a" if v.statistic is None else f"{v.statistic:.6g}"
    if v.pvalue is not None:
        adj = "" if v.adjusted_pvalue is None else f", Holm-adjusted {v.adjusted_pvalue:.3g}"
        lines.append(f"  statistic {stat}, p = {v.pvalue:.3g}{adj}, family alpha {v.alpha:g}, n = {v.n}")
    else:
        tol = "" if v.tolerance is None else f", tolerance {v.tolerance:.3g}"
        lines.append(f"  deterministic check: value {stat}{tol}")
    if v.detectable is not None:
        lines.append(f"  power: detects {v.detectable.describe()}")
    if v.reason:
        lines.append(f"  {'why' if v.passed is False else 'note'}: {v.reason}")
    if v.seed is not None or v.reproduce:
        lines.append(f"  reproduce: seed={v.seed} {v.reproduce}".rstrip())
    return "\n".join(lines)
