r"""Calibration: measure a test's false-alarm rate and power over many seeds, and decide
whether they agree with the nominal level / the computed power.

* :func:`clopper_pearson`: exact binomial confidence interval for a rate (Clopper & Pearson
  1934, *Biometrika* 26:404-413), from beta quantiles.
* :func:`acceptance_region`: the central ``confidence`` region of Binomial(S, a): the counts
  of rejections over S seeds that are consistent with a true rate ``a``. A measured count
  lies in it iff the Clopper-Pearson interval of the count contains ``a`` (both are the
  same two-sided exact binomial test at level 1 - confidence).
* :func:`pvalue_uniformity`: KS test of p-values against U(0, 1).
* :func:`calibrate`: run a test over seeds, count the rejections at ``alpha``, check the rate
  against ``alpha`` (or against the test's exactly attained size for discrete tests) and the
  p-values against U(0, 1) (for discrete tests, the randomised p-values).
* :func:`measure_power`: the same with a computed power as the target rate.

Spec S, 'Calibration': under the null p-values are uniform; the empirical false-alarm rate
over many seeds must sit within a binomial interval of the nominal alpha.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "clopper_pearson",
    "acceptance_region",
    "rate_consistent",
    "pvalue_uniformity",
    "CalibrationResult",
    "calibrate",
    "measure_power",
    "summarize_pvalues",
    "binomial_tail_size",
    "format_calibration_table",
]


def clopper_pearson(k: int, n: int, confidence: float = 0.999) -> tuple[float, float]:
    r"""Exact (Clopper-Pearson) two-sided ``confidence`` interval for a binomial rate with
    ``k`` successes in ``n`` trials: :math:`[B(\tfrac{a}{2}; k, n-k+1), B(1-\tfrac{a}{2}; k+1, n-k)]`,
    ``a = 1 - confidence``, with the conventions 0 for k = 0 and 1 for k = n."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need n >= 1 and 0 <= k <= n, got k={k}, n={n}")
    a = 1.0 - confidence
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def acceptance_region(n: int, rate: float, confidence: float = 0.999) -> tuple[int, int]:
    """Smallest ``[kmin, kmax]`` with ``P(X < kmin) <= (1-c)/2`` and ``P(X > kmax) <= (1-c)/2``
    for X ~ Binomial(n, rate): the rejection counts consistent with ``rate``."""
    a = (1.0 - confidence) / 2
    if rate <= 0:
        return 0, 0
    if rate >= 1:
        return n, n
    kmin = int(stats.binom.ppf(a, n, rate))
    if stats.binom.cdf(kmin, n, rate) <= a:  # ppf returns the first k with cdf >= a
        kmin += 1
    # P(X > kmax) <= a  <=>  sf(kmax) <= a
    kmax = int(stats.binom.isf(a, n, rate))
    while kmax > 0 and stats.binom.sf(kmax - 1, n, rate) <= a:
        kmax -= 1
    while stats.binom.sf(kmax, n, rate) > a:
        kmax += 1
    return kmin, kmax


def rate_consistent(k: int, n: int, rate: float, confidence: float = 0.999) -> bool:
    """True iff the Clopper-Pearson ``confidence`` interval of ``k``/``n`` contains ``rate``."""
    lo, hi = clopper_pearson(k, n, confidence)
    return lo <= rate <= hi


def pvalue_uniformity(pvalues: ArrayLike) -> float:
    """p-value of the two-sided KS test of ``pvalues`` against U(0, 1) (exact for the sizes
    used here)."""
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if p.size == 0 or np.any(np.isnan(p)):
        raise ValueError("need a non-empty set of p-values without NaN")
    return float(stats.kstest(p, "uniform").pvalue)


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate` / :func:`measure_power`.

    ``target`` the rate the rejections should have (nominal alpha, the exactly attained size
    of a discrete test, or a computed power); ``rejections`` out of ``seeds``; ``interval``
    the Clopper-Pearson ``confidence`` interval of the measured ``rate``; ``region`` the
    acceptance region of counts under ``target``; ``consistent`` whether the target lies in
    the interval; ``uniformity_pvalue`` KS p-value of the (randomised where discrete)
    p-values against U(0, 1) (None when not checked)."""

    name: str
    alpha: float
    target: float
    seeds: int
    rejections: int
    rate: float
    interval: tuple[float, float]
    region: tuple[int, int]
    consistent: bool
    confidence: float
    uniformity_pvalue: float | None = None
    pvalues: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)
    note: str = ""

    def row(self) -> dict[str, Any]:
        return {"test": self.name, "alpha": self.alpha, "target": self.target,
                "seeds": self.seeds, "rejections": self.rejections, "rate": self.rate,
                "ci_low": self.interval[0], "ci_high": self.interval[1],
                "consistent": self.consistent, "uniformity_p": self.uniformity_pvalue,
                "note": self.note}

    def describe(self) -> str:
        u = "" if self.uniformity_pvalue is None else f"; p-values vs U(0,1): KS p = {self.uniformity_pvalue:.3g}"
        return (f"{self.name}: {self.rejections}/{self.seeds} rejections at alpha {self.alpha:g} "
                f"= {self.rate:.4f}, {self.confidence:.1%} CI [{self.interval[0]:.4f}, "
                f"{self.interval[1]:.4f}] vs target {self.target:.4f} "
                f"(consistent counts {self.region[0]}..{self.region[1]}){u}")


def _as_pair(out: Any) -> tuple[float, float]:
    """(p-value, p-value for the uniformity check) from a test's output: a float, a pair, or
    a result object with ``.pvalue`` (used for both; a discrete test that needs a randomised
    p-value for the uniformity check returns the pair itself)."""
    if isinstance(out, tuple):
        return float(out[0]), float(out[1])
    if hasattr(out, "pvalue"):
        p = float(out.pvalue)
        return p, p
    p = float(out)
    return p, p


def calibrate(
    test: Callable[[int], Any],
    seeds: Iterable[int],
    alpha: float,
    *,
    name: str = "test",
    target: float | None = None,
    confidence: float = 0.999,
    uniformity: bool = True,
    note: str = "",
) -> CalibrationResult:
    """Run ``test(seed)`` for every seed and compare its false-alarm rate with ``target``
    (default ``alpha``). ``test`` returns a p-value, or ``(p, p_for_uniformity)`` (e.g. a
    randomised p-value for a discrete test), or an object with ``.pvalue``. A seed counts as
    a false alarm when ``p <= alpha``."""
    pairs = [_as_pair(test(int(s))) for s in seeds]
    p = np.array([a for a, _ in pairs])
    pu = np.array([b for _, b in pairs])
    return summarize_pvalues(p, alpha, name=name, target=target, confidence=confidence,
                             uniformity_pvalues=pu if uniformity else None, note=note)


def summarize_pvalues(
    pvalues: ArrayLike,
    alpha: float,
    *,
    name: str = "test",
    target: float | None = None,
    confidence: float = 0.999,
    uniformity_pvalues: ArrayLike | None = None,
    note: str = "",
) -> CalibrationResult:
    """:class:`CalibrationResult` of p-values already computed (one per seed)."""
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if np.any(np.isnan(p)):
        raise ValueError(f"{name}: NaN p-values")
    s = int(p.size)
    k = int(np.sum(p <= alpha))
    tgt = float(alpha if target is None else target)
    lo, hi = clopper_pearson(k, s, confidence)
    region = acceptance_region(s, tgt, confidence)
    up = None if uniformity_pvalues is None else pvalue_uniformity(uniformity_pvalues)
    return CalibrationResult(name, float(alpha), tgt, s, k, k / s, (lo, hi), region,
                             bool(lo <= tgt <= hi), confidence, up, p, note)


def measure_power(
    test: Callable[[int], Any],
    seeds: Iterable[int],
    alpha: float,
    power: float,
    *,
    name: str = "test",
    confidence: float = 0.999,
    note: str = "",
) -> CalibrationResult:
    """Run ``test(seed)`` under an alternative and compare the rejection rate at ``alpha``
    with the computed ``power``."""
    return calibrate(test, seeds, alpha, name=name, target=power, confidence=confidence,
                     uniformity=False, note=note)


def binomial_tail_size(n: int, p: float, alpha: float, alternative: str = "two-sided") -> float:
    r"""Exactly attained size :math:`P_0(\text{p-value} \le \alpha)` of the exact binomial test
    (``n`` trials, null rate ``p``): at most ``alpha``, often well below (discreteness)."""
    from harness.stats.power import binomial_power

    return binomial_power(n, p, p, alpha, alternative)


def format_calibration_table(results: Sequence[CalibrationResult]) -> str:
    """Markdown table: test, alpha, target, seeds, rejections, rate, CI, uniformity p."""
    conf = {f"{r.confidence:.4g}" for r in results}
    ci = f"{100 * float(conf.pop()):.4g}% CI" if len(conf) == 1 else "CI"
    lines = [f"| test | alpha | target | seeds | rejections | rate | {ci} | KS-uniformity p | ok |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        u = "-" if r.uniformity_pvalue is None else f"{r.uniformity_pvalue:.3g}"
        lines.append(f"| {r.name} | {r.alpha:g} | {r.target:.4f} | {r.seeds} | {r.rejections} | "
                     f"{r.rate:.4f} | [{r.interval[0]:.4f}, {r.interval[1]:.4f}] | {u} | "
                     f"{'yes' if r.consistent else 'NO'} |")
    return "\n".join(lines)
