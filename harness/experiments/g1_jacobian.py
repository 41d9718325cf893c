r"""G1, the pathwise Jacobian: for fixed noise, :math:`\partial y/\partial x = (\operatorname{diag}(y)
- y y^\top)/T`.

All deterministic:

* :func:`harness.checks.claims.jacobian` on the torch reference's own output (noise unseen):
  float64 at T = 1, 0.1, 1e-3 and with a -inf entry, float32 and float16 at T = 1 (tolerances of
  the dtype, scaled by 1/T); on CUDA too when a device is present;
* ``torch.autograd.gradcheck`` and ``gradgradcheck`` of ``relaxed_from_noise`` with fixed noise on
  the weighted functional :math:`w \cdot y` (the gradient of :math:`\sum_i y_i` is 0 by
  construction, tfp#1132), float64;
* central finite differences of :math:`w \cdot y(x)` against the closed form, float64.
"""
from __future__ import annotations

import math

import numpy as np

from harness.core.context import RunContext
from harness.experiments.base import Collector, experiment, tname, torch_generator
from harness.checks.claims import jacobian
from reference import laws

X = [0.4, -0.3, 1.1, 0.0]


def sizes(b):
    return {"batch": 64}


def _devices() -> list[str]:
    import torch

    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@experiment(
    "G1",
    title="The pathwise Jacobian of the Gumbel-softmax",
    claim="At fixed noise g, the Jacobian of y = softmax((x + g)/T) with respect to x is (diag(y) - y y^T)/T.",
    formula="dy/dx = (1/T) (diag(y) - y y^T)",
    implementations=("reference.torch_gumbel_softmax.gumbel_softmax / relaxed_from_noise (CPU; CUDA when present)",
                     "torch.autograd.gradcheck / gradgradcheck"),
    planned=0,
    sizes=sizes,
    cost=1.5,
)
def run(ctx: RunContext):
    import torch

    from reference.torch_gumbel_softmax import gumbel_noise, gumbel_softmax, relaxed_from_noise

    col = Collector(ctx, "G1")
    cases = [("float64", 1.0, X), ("float64", 0.1, X), ("float64", 1e-3, X),
             ("float64", 0.5, [0.4, -math.inf, 1.1, 0.0]), ("float32", 1.0, X), ("float16", 1.0, X)]
    for device in _devices():
        for dt, t, x in cases:
            if device == "cuda" and dt == "float16":
                continue
            name = f"G1.jacobian.{device}.{dt}.{tname(t)}"
            if not all(np.isfinite(x)):
                name += ".neg_inf"
            dctx = ctx if device == ctx.device else _with_device(ctx, device)
            col.add(jacobian(gumbel_softmax, x, t, dctx, check=name, dtype=getattr(torch, dt)))

    w = torch.tensor([0.3, -1.2, 0.7, 2.0], dtype=torch.float64)
    for t in (1.0, 0.1):
        check = f"G1.gradcheck.{tname(t)}"
        text = f"torch.autograd.gradcheck and gradgradcheck of w . relaxed_from_noise(x, g, T) at fixed g, T = {t:g}, float64"

        def gc(t=t, check=check, text=text):
            gen = torch_generator(ctx, check)
            g = gumbel_noise((3, 4), generator=gen)
            x = torch.tensor(X, dtype=torch.float64).expand(3, 4).clone().requires_grad_(True)
            fn = lambda z: (relaxed_from_noise(z, g, t) * w).sum(-1)  # noqa: E731
            ok1 = torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-7, rtol=1e-5, raise_exception=False)
            ok2 = torch.autograd.gradgradcheck(fn, (x,), eps=1e-6, atol=1e-6, rtol=1e-4, raise_exception=False)
            return col.deterministic(check, text, 0.0 if (ok1 and ok2) else 1.0, 0.0, test="torch.autograd.gradcheck",
                                     reason=f"gradcheck {'passed' if ok1 else 'FAILED'}, gradgradcheck {'passed' if ok2 else 'FAILED'}")

        col.guard(check, text, gc)

        check = f"G1.closed_form.{tname(t)}"
        text = (f"autograd Jacobian of relaxed_from_noise at known noise = laws.concrete_jacobian(y, T) and central "
                f"finite differences of w . y agree with it, T = {t:g}, float64")

        def cf(t=t, check=check, text=text):
            gen = torch_generator(ctx, check)
            g = gumbel_noise((4,), generator=gen)
            x = torch.tensor(X, dtype=torch.float64)
            jac = torch.autograd.functional.jacobian(lambda z: relaxed_from_noise(z, g, t), x).numpy()
            y = relaxed_from_noise(x, g, t).detach().numpy()
            exact = laws.concrete_jacobian(y, t)
            err_ad = float(np.max(np.abs(jac - exact)))
            h = 1e-6
            fd = np.zeros(4)
            for j in range(4):
                e = torch.zeros(4, dtype=torch.float64)
                e[j] = h
                fd[j] = float(((relaxed_from_noise(x + e, g, t) - relaxed_from_noise(x - e, g, t)) * w).sum()) / (2 * h)
            err_fd = float(np.max(np.abs(fd - w.numpy() @ exact)))
            err = max(err_ad / 1e-12, err_fd / (1e-6 / t)) * 1e-12  # scaled to the autograd tolerance
            return col.deterministic(check, text, err, 1e-12, test="closed form vs autograd and finite differences",
                                     reason=f"autograd vs closed form {err_ad:.2e} (tol 1e-12); finite differences vs "
                                            f"closed form {err_fd:.2e} (tol {1e-6 / t:.0e})",
                                     details={"autograd_error": err_ad, "fd_error": err_fd})

        col.guard(check, text, cf)
    return col.result()


def _with_device(ctx: RunContext, device: str) -> RunContext:
    from dataclasses import replace

    return replace(ctx, device=device)
