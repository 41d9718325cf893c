r"""G4, straight-through: with ``hard=True`` the forward value is exactly one-hot with its argmax
distributed as p, and the backward pass is the soft Jacobian of G1.

* :func:`harness.checks.claims.straight_through` (deterministic): forward rows exactly one-hot;
  the Jacobian recovered from backward is :math:`(\operatorname{diag}(s) - ss^\top)/T` for an
  :math:`s` on the simplex whose argmax is the forward index; float64 at T = 1 and 0.1, float32 at
  T = 1 (CUDA too when present).
* the law of the forward argmax (chi-square through
  :func:`harness.checks.samplers.torch_as_categorical` and :func:`harness.checks.claims.categorical_law`),
  with and without a -inf entry.
"""
from __future__ import annotations

import math

from harness.core.context import RunContext
from harness.experiments.base import Collector, experiment, tname
from harness.checks.samplers import torch_as_categorical
from harness.checks.claims import categorical_law, straight_through

X = [0.4, -0.3, 1.1, 0.0]
X_NEG_INF = [0.4, -math.inf, 1.1, 0.0]


def sizes(b):
    return {"n_law": b.n_discrete // 4, "batch": 64}


@experiment(
    "G4",
    title="Straight-through Gumbel-softmax",
    claim=("With hard=True the forward value is exactly one-hot with its index distributed as softmax(x), and "
           "the gradient is the soft Jacobian of G1 (y_hard - y_soft.detach() + y_soft)."),
    formula="forward: onehot(argmax(x + g)) ~ Categorical(p);  backward: (diag(s) - s s^T)/T, argmax s = forward index",
    implementations=("reference.torch_gumbel_softmax.gumbel_softmax(hard=True) (CPU; CUDA when present)",),
    planned=2,
    sizes=sizes,
)
def run(ctx: RunContext):
    import torch

    from reference.torch_gumbel_softmax import gumbel_softmax

    col = Collector(ctx, "G4")
    n = sizes(ctx.budget)["n_law"]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    from dataclasses import replace

    for device in devices:
        dctx = replace(ctx, device=device)
        for dt, t in (("float64", 1.0), ("float64", 0.1), ("float32", 1.0)):
            check = f"G4.backward.{device}.{dt}.{tname(t)}"
            col.add(straight_through(gumbel_softmax, X, t, dctx, check=check, dtype=getattr(torch, dt)))
    col.add(categorical_law(torch_as_categorical(gumbel_softmax, temperature=0.5), X, n, ctx,
                            check="G4.forward_law", claim="G4", label="hard=True, T = 0.5"))
    col.add(categorical_law(torch_as_categorical(gumbel_softmax, temperature=0.5), X_NEG_INF, n, ctx,
                            check="G4.forward_law_neg_inf", claim="G4", label="hard=True, T = 0.5, -inf entry"))
    return col.result()
