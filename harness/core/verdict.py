"""The one result type of the harness: a :class:`Verdict` per check.

Every Monte Carlo check ends as a Verdict that states its statistic, its null (the claim), its
confirmed p-value (:mod:`harness.stats.confirm`), the family-wise level it was judged at (Holm),
its sample size, its power (the smallest deviation it detects with probability 0.9), the distance
bound a PASS certifies (:class:`Bound`), plus how to reproduce it (the seed).
Deterministic checks (symbolic algebra, quadrature, exact Jacobians) are Verdicts too, with
``pvalue=None`` and a numerical tolerance instead of a level; they are not part of the Holm
family because they cannot raise a false alarm by chance.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Mapping

__all__ = ["Bound", "Detectable", "Verdict", "VerdictFailure", "judge_family", "format_verdict",
           "assert_verdict"]


@dataclass(frozen=True)
class Detectable:
    """The smallest deviation a check detects with probability ``power`` at its level and size.

    ``measure`` names the effect measure (``"cohen_w"``, ``"ks_sup_distance"``,
    ``"relative_rate"``, ``"z_units"``...), ``value`` is the detectable effect in that measure,
    ``tv`` the total-variation distance detected against every alternative where one applies
    (:func:`harness.stats.power.tv_for_w`), ``level`` the per-check level of the statement (the
    Bonferroni level ``alpha/m``, the most stringent one Holm can apply, so the figure is
    conservative) for the confirmed two-stage p-value (each stage at ``sqrt(level)`` with power
    ``sqrt(power)``, :mod:`harness.stats.confirm`); ``note`` says how it was computed.
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
class Bound:
    """What a PASS certifies: an upper confidence bound on the distance between the target's law
    and the claimed one, ``measure <= value`` with probability at least ``confidence`` (the
    family confidence level ``1 - alpha``: the bounds of one run hold simultaneously, each being
    computed at ``1 - alpha/m``). ``measure`` names the distance, e.g. ``"TV(target, claimed)"``,
    ``"sup |F_target - F_claimed|"``, ``"|T_target/T - 1|"``; ``note`` says how it was computed."""

    measure: str
    value: float
    confidence: float
    note: str = ""

    def describe(self) -> str:
        c = 100.0 * self.confidence
        conf = f"{c:.6g}%" if c < 99.9999 else f"1 - {1 - self.confidence:.2g}"
        return f"{self.measure} <= {self.value:.3g} at {conf} confidence"


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
    details: free-form numbers for the report (must be JSON-serialisable). expected / seen:
    one line each, what the claim predicts and what the sample showed (printed like a pytest
    assertion diff). bound: what a PASS certifies (:class:`Bound`), None where no distance
    applies.
    """

    claim: str
    check: str
    claim_text: str
    test: str
    statistic: float | None
    pvalue: float | None
    n: int
    alpha: float = 1e-4
    adjusted_pvalue: float | None = None
    detectable: Detectable | None = None
    passed: bool | None = None
    reason: str = ""
    seed: int | None = None
    reproduce: str = ""
    forced_fail: bool = False
    tolerance: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    expected: str = ""
    seen: str = ""
    bound: Bound | None = None

    @property
    def is_statistical(self) -> bool:
        return self.pvalue is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["details"] = dict(self.details)
        return _json_safe(d)

    def __str__(self) -> str:
        return format_verdict(self)

    @property
    def failed(self) -> bool:
        return self.passed is False


def _json_safe(obj: Any) -> Any:
    """JSON-safe copy: mappings, lists and tuples recursively, NumPy (and torch) arrays and
    scalars to Python, non-finite floats to strings (``"nan"``, ``"inf"``)."""
    if isinstance(obj, Mapping):
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
    :math:`\\max_{j \\le i} \\min(1, (m-j+1) p_{(j)})`; a check passes iff Holm does not reject
    it. Deterministic verdicts keep their own decision. A ``forced_fail`` verdict always
    fails; a NaN p-value is a forced failure too (it enters the family as 0, which only makes
    the others' levels the same as without it). The returned verdicts carry ``alpha`` and
    ``adjusted_pvalue``; a correct sampler fails a run with probability at most ``alpha``
    (Holm 1979, strong FWER control). The input order is kept.
    """
    from harness.stats.family import holm

    if not 0.0 < alpha < 1.0:
        raise ValueError(f"family alpha must be in (0, 1), got {alpha}")
    vs = list(verdicts)
    idx = [i for i, v in enumerate(vs) if v.pvalue is not None]
    ps = []
    nan = set()
    for i in idx:
        pv = float(vs[i].pvalue)  # type: ignore[arg-type]
        if math.isnan(pv):
            nan.add(i)
            pv = 0.0
        ps.append(min(1.0, max(0.0, pv)))
    res = holm(ps, alpha) if idx else None
    out = list(vs)
    m = len(idx)
    for pos, i in enumerate(idx):
        v = vs[i]
        adj = float(res.adjusted[pos])  # type: ignore[union-attr]
        thr = float(res.thresholds[pos])  # type: ignore[union-attr,index]
        rejected = bool(res.reject[pos])  # type: ignore[union-attr]
        forced = v.forced_fail or i in nan
        passed = not rejected and not forced
        reason = v.reason
        if i in nan:
            why = "p-value is NaN: the test could not be evaluated"
            reason = f"{why}; {reason}" if reason else why
        elif not passed and not v.forced_fail:
            why = (f"p = {v.pvalue:.3g} <= Holm level {thr:.3g} (family alpha {alpha:g} over "
                   f"{m} checks; Holm-adjusted p = {adj:.3g}): the data contradict the claim")
            reason = f"{why}; {reason}" if reason else why
        out[i] = replace(v, alpha=alpha, adjusted_pvalue=adj, passed=passed, reason=reason,
                         forced_fail=forced)
    for i, v in enumerate(out):
        if v.pvalue is None:
            passed = bool(v.passed) and not v.forced_fail
            out[i] = replace(v, alpha=alpha, passed=passed)
    return out


class VerdictFailure(AssertionError):
    """Raised by :func:`assert_verdict`; its message is the formatted verdict."""


def assert_verdict(v: Verdict) -> Verdict:
    """Raise :class:`VerdictFailure` (an ``AssertionError``) with the formatted verdict unless
    it passed; undecided statistical verdicts are judged alone at their ``alpha`` first."""
    if v.passed is None:
        v = judge_family([v], v.alpha)[0]
    if not v.passed:
        raise VerdictFailure("\n" + format_verdict(v))
    return v


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.6g}"


def format_verdict(v: Verdict) -> str:
    """A self-explaining, multi-line description in the style of a pytest / hypothesis
    failure: the claim, what was expected, what was seen, the decision rule, the power, and
    how to reproduce it (the seed)."""
    status = {True: "PASS", False: "FAIL", None: "UNDECIDED"}[v.passed]
    lines = [f"{status} {v.check} [{v.claim}] {v.test}"]
    lines.append(f"  claim:     {v.claim_text}")
    if v.expected:
        lines.append(f"  expected:  {v.expected}")
    if v.seen:
        lines.append(f"  seen:      {v.seen}")
    if v.pvalue is not None:
        adj = "" if v.adjusted_pvalue is None else f", Holm-adjusted {v.adjusted_pvalue:.3g}"
        lines.append(f"  statistic: {_fmt(v.statistic)}, p = {v.pvalue:.3g}{adj}; "
                     f"family alpha {v.alpha:g} (Holm), n = {v.n}")
    else:
        tol = "" if v.tolerance is None else f", tolerance {v.tolerance:.3g}"
        lines.append(f"  deterministic check: value {_fmt(v.statistic)}{tol}")
    if v.forced_fail:
        lines.append("  forced:    fails whatever the p-value (impossible event or error)")
    if v.detectable is not None:
        lines.append(f"  power:     detects {v.detectable.describe()}")
    conf = v.details.get("confirmation") if isinstance(v.details, Mapping) else None
    if conf:
        lines.append(f"  confirm:   {conf.get('text', '')}")
    if v.bound is not None:
        lines.append(f"  certifies: {v.bound.describe()}")
    if v.reason:
        label = f"  {'why' if v.passed is False else 'note'}:"
        lines.append(f"{label:<13}{v.reason}")
    if v.seed is not None or v.reproduce:
        if v.reproduce and v.seed is not None:
            lines.append(f"  reproduce: {v.reproduce}  (the check's own seed, derived from the run seed: {v.seed})")
        elif v.seed is not None:
            lines.append(f"  reproduce: seed={v.seed} (the check's seed; no command was given)")
        else:
            lines.append(f"  reproduce: {v.reproduce}".rstrip())
    return "\n".join(lines)
