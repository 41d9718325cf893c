r"""T5, Gumbel-top-k: the indices of the k largest :math:`x_i + g_i`, in order, follow
Plackett-Luce, :math:`P(i_1..i_k) = \prod_j p_{i_j}/(1 - \sum_{l<j} p_{i_l})`.

Chi-square over all ordered k-tuples (the table of :func:`reference.laws.plackett_luce_table`,
zero-probability tuples included, so a zero-weight category drawn is an impossible event and a
forced FAIL); :func:`reference.numpy_sampler.top_k` must refuse more picks than nonzero weights
(pytorch#125388).
"""
from __future__ import annotations

import math

import numpy as np

from harness.checks.builders import discrete_verdict
from harness.core.context import RunContext
from harness.experiments.base import Collector, counts_figure_data, experiment
from harness.checks.claims import fmt_logits
from reference.laws import plackett_luce_table
from reference.numpy_sampler import top_k

REGIMES: list[tuple[str, list[float], int]] = [
    ("k5_top3", [1.0, 0.2, -0.5, 0.8, -1.5], 3),
    ("neg_inf_top3", [0.5, -math.inf, 1.0, 0.0, -0.7], 3),
    ("k4_full", [0.3, -0.2, 1.1, 0.0], 4),
]


def sizes(b):
    return {"n": b.n_discrete // 4}


def tuple_counts(samples: np.ndarray, k_all: int, tuples: list[tuple[int, ...]]) -> np.ndarray:
    """Counts of each ordered tuple of ``tuples`` plus, last, the count of anything else
    (repeated indices: impossible)."""
    k = samples.shape[1]
    code = np.zeros(samples.shape[0], dtype=np.int64)
    for j in range(k):
        code = code * k_all + samples[:, j]
    full = np.bincount(code, minlength=k_all ** k)
    idx = np.array([sum(t[j] * k_all ** (k - 1 - j) for j in range(k)) for t in tuples])
    c = full[idx]
    return np.concatenate([c, [int(full.sum() - c.sum())]])


@experiment(
    "T5",
    title="Gumbel-top-k is sampling without replacement (Plackett-Luce)",
    claim=("The indices of the k largest perturbed logits, in decreasing order, are an ordered sample "
           "without replacement from softmax(x) (Plackett-Luce); zero-weight categories never appear."),
    formula="P(i_1, ..., i_k) = prod_{j=1}^{k} p_{i_j} / (1 - sum_{l<j} p_{i_l})",
    implementations=("reference.numpy_sampler.top_k (float64)",),
    planned=len(REGIMES),
    sizes=sizes,
)
def run(ctx: RunContext):
    col = Collector(ctx, "T5")
    n = sizes(ctx.budget)["n"]
    for name, raw, k in REGIMES:
        x = np.asarray(raw, dtype=np.float64)
        check = f"T5.{name}"
        text = f"ordered top-{k} of x + g ~ Plackett-Luce(softmax(x)), x = {fmt_logits(x)}"

        def body(x=x, k=k, check=check, text=text):
            tuples, probs = plackett_luce_table(x, k)
            s = top_k(x, k, n, col.ctx.seed_for(check))
            obs = tuple_counts(s, x.size, tuples)
            labels = ["".join(map(str, t)) for t in tuples] + ["repeat"]
            return discrete_verdict("T5", check, text, obs, np.concatenate([probs, [0.0]]), labels=labels,
                                    **col.kw(check), details={"k": k, "tuples": labels})

        v = col.guard(check, text, body)
        if name == "neg_inf_top3" and v and v[0].details.get("observed"):
            col.figure("T5.counts", "counts", f"T5: ordered top-3 tuples, observed vs Plackett-Luce, x = {fmt_logits(x)}",
                       counts_figure_data(v[0], v[0].details.get("tuples")))
    x = np.array([0.5, -math.inf, 1.0, 0.0, -0.7])
    text = "asking top_k for more categories than have nonzero weight raises ValueError (pytorch#125388)"

    def refuse():
        try:
            out = top_k(x, 5, 10, 0)
        except ValueError as exc:
            return col.deterministic("T5.refuses_too_many", text, 0.0, 0.0, test="error contract",
                                     reason=f"ValueError: {exc}")
        return col.deterministic("T5.refuses_too_many", text, 1.0, 0.0, test="error contract",
                                 reason=f"returned {out[:2].tolist()} instead of raising")

    col.guard("T5.refuses_too_many", text, refuse)
    return col.result()
