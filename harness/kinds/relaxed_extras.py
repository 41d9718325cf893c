r"""Extra checks of built-in targets beyond the protocol: ``RelaxedOneHotCategorical.log_prob``
against the Concrete density C1.

What torch computes. ``RelaxedOneHotCategorical`` is ``TransformedDistribution(
ExpRelaxedCategorical(T, logits), ExpTransform())``. ``ExpRelaxedCategorical.log_prob(z)`` is the
ExpConcrete log-density of ``z = log y``:
:math:`\log\Gamma(K) + (K-1)\log T + \sum_k (x_k - T z_k - \operatorname{lse}_i(x_i - T z_i))`,
and the transform subtracts :math:`\log|\det| = \sum_k z_k`. Together:
:math:`\log (K-1)! + (K-1)\log T + \sum_k (x_k - (T+1)\log y_k) - K \operatorname{lse}_i(x_i - T\log y_i)`,
which *is* C1 (Maddison et al. 2017, eq. 3, density w.r.t. Lebesgue measure on the first
K - 1 coordinates). The check confirms it numerically on the sampler's own draws (float64,
relative error <= 1e-9), and records what happens on boundary samples (a coordinate that
underflowed to exactly 0 at small T, pytorch#18254 / tfp#1738): C1 is ``-inf`` there by
definition (the open simplex), torch returns NaN (``-inf * T`` inside a logsumexp).
"""
from __future__ import annotations

import numpy as np

from harness.checks.builders import deterministic_verdict, error_verdict

__all__ = ["relaxed_onehot_logprob_check"]

CASES = [
    (np.array([0.5, -0.3, 1.2]), 0.7),
    (np.log(np.array([0.1, 0.2, 0.3, 0.4])), 1.0),
    (np.array([2.0, 0.0, -1.0, 0.5, -3.0]), 0.3),
]


def relaxed_onehot_logprob_check(ctx) -> tuple[list, list, dict]:
    """(verdicts, findings, info) for ``torch.distributions.RelaxedOneHotCategorical.log_prob``."""
    import torch

    from harness.probes.findings import Finding
    from reference.laws import concrete_logpdf

    text = "RelaxedOneHotCategorical.log_prob(y) = C1 Concrete log-density (Maddison et al. 2017)"
    seed = ctx.seed_for("C1.log_prob")
    worst = 0.0
    rows = []
    try:
        torch.manual_seed(seed % (2**63))
        for x, t in CASES:
            d = torch.distributions.RelaxedOneHotCategorical(torch.tensor(t, dtype=torch.float64),
                                                             logits=torch.as_tensor(x, dtype=torch.float64))
            y = d.rsample((4000,))
            lp = d.log_prob(y).numpy()
            ref = concrete_logpdf(y.numpy(), x, t)
            ok = np.all(y.numpy() > 0, axis=1)
            err = np.abs(lp[ok] - ref[ok]) / (1.0 + np.abs(ref[ok]))
            worst = max(worst, float(err.max()))
            rows.append({"logits": x.tolist(), "T": t, "samples": int(ok.sum()), "max_rel_err": float(err.max())})
        # boundary samples: small T, exact zeros
        x, t = np.array([3.0, 0.0, -3.0]), 0.02
        d = torch.distributions.RelaxedOneHotCategorical(torch.tensor(t, dtype=torch.float64),
                                                         logits=torch.as_tensor(x, dtype=torch.float64))
        y = d.rsample((4000,))
        zero = np.any(y.numpy() == 0, axis=1)
        lp = d.log_prob(y).numpy()
        ref = concrete_logpdf(y.numpy(), x, t)
    except Exception as exc:  # noqa: BLE001
        return [error_verdict("C1", "C1.log_prob", text, f"raised {type(exc).__name__}: {exc}", seed=seed,
                              alpha=ctx.alpha, test="log_prob vs closed form")], [], {}
    v = deterministic_verdict("C1", "C1.log_prob", text, worst, 1e-9, test="log_prob vs closed form C1",
                              details={"cases": rows})
    findings = []
    nz = int(zero.sum())
    if nz:
        torch_vals = lp[zero]
        kinds = sorted({"NaN" if np.isnan(a) else str(a) for a in torch_vals[:50]})
        findings.append(Finding(
            "extra.log_prob_boundary", f"log_prob of {nz} of 4000 samples with a coordinate exactly 0 "
            f"(T = {t}, x = {x.tolist()})", "valid",
            "NaN output" if np.isnan(torch_vals).any() else "ok/documented",
            "warn" if np.isnan(torch_vals).any() else "ok",
            f"torch log_prob gives {', '.join(kinds)}; C1 gives {sorted(set(ref[zero].tolist()))[:3]} "
            "(outside the open simplex; pytorch#18254)"))
    info = {"log_prob": {"formula": "ExpConcrete log-density of log y minus sum(log y): equals C1",
                         "max_rel_err": worst, "cases": rows, "boundary_samples": nz}}
    return [v], findings, info
