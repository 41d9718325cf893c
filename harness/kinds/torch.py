"""The ``torch`` kind: ``fn(logits: Tensor, tau=float, hard=bool, dim=int) -> Tensor of the logits'
shape`` (the contract of ``torch.nn.functional.gumbel_softmax``).

Its checks: the relaxed checks through ``hard=False`` (float64), the ``hard=True`` argmax law
(C3) in several regimes and dtypes, dim / batch / axis contracts, the tail mass through
``hard=True``, the dtype contract for float16 / bfloat16 / float32 / float64, and the gradient
identities (G1 autograd Jacobian, G4 straight-through). The harness seeds torch's global RNG
for this kind (``torch.manual_seed``), so changes of that state are the protocol, not a finding.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from harness.checks import claims as sc
from harness.checks.samplers import to_numpy, torch_as_categorical, torch_as_relaxed
from harness.core.budgets import Budget
from harness.checks.torch_contract import axis_check, dim0_categorical, dtype_check, mixed_batch
from harness.kinds.base import BuiltinTarget, Kind, PlannedCheck, load_callable, mk, register
from harness.kinds.common import LOGITS, temperature_power, tv_power
from harness.kinds.relaxed import cases as relaxed_cases
from harness.kinds.relaxed import entries as relaxed_entries
from harness.kinds.relaxed import soften
from harness.probes.adversarial import adversarial_probe
from harness.probes.contract import contract_findings
from harness.probes.findings import LAW_THRESHOLD, NAN, NEG, Finding, Outcome, Recorder, call, mini_law, simplex
from harness.probes.reach import ReachStrategy
from reference.softmax import softmax

__all__ = ["KIND", "plan"]

SIGNATURE = ("fn(logits: Tensor, tau=float, hard=bool, dim=int) -> Tensor of the logits' shape "
             "(the contract of torch.nn.functional.gumbel_softmax)")
LOG4 = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


# ------------------------------------------------------------------ plan ------------------

def _tail_n(b: Budget, device: str) -> int:
    from harness.kinds.token.plan import tail_n

    return tail_n(b, device)


def _tail_gap(b: Budget, device: str) -> float:
    from harness.kinds.token.plan import tail_gap_for

    return tail_gap_for(_tail_n(b, device))


def _torch_tail(fn, ctx, _id):
    """The token kind's tail check through ``hard=True`` (same sizes: token_plan.tail_n)."""
    import torch

    n = _tail_n(ctx.budget, ctx.device)
    gap = _tail_gap(ctx.budget, ctx.device)
    return sc.tail_mass(torch_as_categorical(fn, dtype=torch.float64, device=ctx.device), [0.0, -gap], n, ctx,
                        rare=1, check=_id, claim="C3")


def plan(b: Budget) -> list[PlannedCheck]:
    import torch

    L = LOGITS
    nd, nr = b.n_discrete, b.n_relaxed
    f64 = torch.float64
    f32 = torch.float32

    def relaxed(body):  # body(relaxed sampler, ctx, id)
        return lambda fn, ctx, _id: body(torch_as_relaxed(fn, dtype=f64, device=ctx.device), ctx, _id)

    entries = []
    for cid, claim, title, size, body in relaxed_entries(b):
        entries.append((cid, claim, title + " (via hard=False, float64)", size, relaxed(body)))

    def hard_law(regime, n, dtype=f64, t=1.0):
        return lambda fn, ctx, _id: sc.categorical_law(
            torch_as_categorical(fn, temperature=t, dtype=dtype, device=ctx.device), L[regime], n, ctx,
            check=_id, claim="C3", label=f"hard=True, {regime}")

    entries += [
        ("C3.hard.power", "C3", f"hard=True argmax law, p = (0.1, 0.2, 0.3, 0.4), N = {nd:,} (TV-0.002 power)", 1,
         hard_law("power", nd)),
        ("C3.hard.neginf", "C3", f"hard=True with -inf logits, N = {nd // 8:,}", 1, hard_law("neginf", nd // 8)),
        ("C3.hard.shift", "C3", f"hard=True, logits ~ 1000, N = {nd // 8:,}", 1, hard_law("shift", nd // 8)),
        ("C3.hard.f32", "C3", f"hard=True law in float32, K = 5, T = 0.5, N = {nr:,}", 1,
         hard_law("k5", nr, f32, 0.5)),
        ("C2.scale.f32", "C2", f"E[d^2] = pi^2/3 in float32, T = 1, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.logratio_scale(torch_as_relaxed(fn, dtype=f32, device=ctx.device),
                                                L["power"], 1.0, nr, ctx, check=_id)),
        ("dim.law", "C3", f"hard=True law through dim=0 of a transposed (non-contiguous) input, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.categorical_law(dim0_categorical(fn), L["power"], nr, ctx, check=_id,
                                                 claim="C3", label="dim=0, transposed")),
        ("batch.mixed", "C3", f"rows with different logits in one batch keep their own law, N = {nr:,}", 1,
         lambda fn, ctx, _id: sc.categorical_law(mixed_batch(fn, L["power"][::-1].copy()), L["power"],
                                                 nr, ctx, check=_id, claim="C3", label="mixed batch")),
        ("dim.axis1", "dim", "3-D input, dim=1: normalised / one-hot along dim 1", 0, axis_check,
         "contract"),
        ("C3.tail", "C3", f"hard=True tail mass: K = 2, gap {_tail_gap(b, 'cpu'):.1f} nats, N = {_tail_n(b, 'cpu'):,} "
         f"on CPU (x{_tail_n(b, 'cuda') // _tail_n(b, 'cpu')} on CUDA), exact binomial (float32-grade noise caught at thorough / CUDA standard)", 1,
         _torch_tail),
    ]
    for name in ("float16", "bfloat16", "float32", "float64"):
        entries.append((f"dtype.{name}", "dtype", f"{name} in -> {name} out, finite, on the simplex", 0,
                        dtype_check(name), "contract"))
    entries += [
        ("G1.jacobian.f64", "G1", "autograd Jacobian = (diag y - y y^T)/T on own output, T = 1, float64", 0,
         lambda fn, ctx, _id: sc.jacobian(fn, L["power"], 1.0, ctx, check=_id, dtype=f64)),
        ("G1.jacobian.f32", "G1", "autograd Jacobian on own output, K = 5, T = 0.5, float32", 0,
         lambda fn, ctx, _id: sc.jacobian(fn, L["k5"], 0.5, ctx, check=_id, dtype=f32)),
        ("G4.st.f64", "G4", "straight-through: one-hot forward, soft Jacobian backward, T = 1, float64", 0,
         lambda fn, ctx, _id: sc.straight_through(fn, L["power"], 1.0, ctx, check=_id, dtype=f64)),
        ("G4.st.f32", "G4", "straight-through, K = 5, T = 0.5, float32", 0,
         lambda fn, ctx, _id: sc.straight_through(fn, L["k5"], 0.5, ctx, check=_id, dtype=f32)),
    ]
    return [mk(*e) for e in entries]



def power(b: Budget, family_size: int, device: str, stage: float) -> dict[str, Any]:
    return {"tv_0.002": tv_power("C3.hard.power", b, stage), "temperature_2pct": temperature_power(b, stage)}


# ------------------------------------------------------------------ protocol --------------

def trial() -> tuple[tuple, dict, tuple]:
    import torch

    x = torch.as_tensor(LOG4, dtype=torch.float64).expand(3, -1).contiguous()
    return (x,), {"tau": 1.0, "hard": False, "dim": -1}, (3, 4)


def small_call(fn: Callable, x, n: int, seed: int) -> np.ndarray:
    """One small ``hard=False`` call of ``n`` rows, torch seeded with ``seed`` (contract probes)."""
    import torch

    torch.manual_seed(int(seed) % (2**63))
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float64).expand(n, -1).contiguous()
    with torch.no_grad():
        return to_numpy(fn(t, tau=1.0, hard=False, dim=-1), "torch sampler (hard=False)")


def tensor_input(x: np.ndarray, n: int):
    import torch

    return torch.as_tensor(x, dtype=torch.float64).expand(n, -1).contiguous()


# ------------------------------------------------------------------ bad inputs ------------

def _rounding_ok(y: np.ndarray, x: np.ndarray) -> tuple[str, str]:
    p = softmax(np.asarray(x, dtype=np.float64))
    pv = mini_law(np.bincount(np.argmax(y, axis=1), minlength=p.size), p)
    if pv < LAW_THRESHOLD:
        raise Outcome("silent wrong answer", f"argmax frequencies contradict softmax(x) (chi-square p = {pv:.2g})")
    return "ok/documented", f"on the simplex; argmax frequencies fit (p = {pv:.2g})"


def _hard_invalid(fn, x, seed):
    import torch

    def body():
        torch.manual_seed(seed)
        with torch.no_grad():
            out = call(fn, torch.as_tensor(np.asarray(x, dtype=np.float64)).expand(50, -1).contiguous(),
                        tau=1.0, hard=True, dim=-1)
        simplex(out, (50, len(x)))
        raise Outcome("silent wrong answer", "returned valid one-hot rows for logits that define no distribution")
    return body


def bad_inputs(fn: Callable, rec: Recorder, seed: int) -> None:
    import torch

    def tensor(x, dtype=torch.float64, n=1):
        return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64).expand(n, -1).to(dtype).contiguous()

    for i, (probe, desc, domain, x, t, n, chk) in enumerate(relaxed_cases()):
        if probe in ("float16", "empty"):
            continue

        def body(x=x, t=t, n=n, chk=chk, s=seed + i):
            torch.manual_seed(s)
            with torch.no_grad():
                out = call(fn, tensor(x, n=n), tau=t, hard=False, dim=-1)
            return chk(simplex(out, (n, x.shape[-1])), x, t)
        rec.run(probe, desc, domain, body)
        soften(rec, probe)

    def hard_body(x, n, expect_never=(), law=False):
        def body():
            torch.manual_seed(seed)
            with torch.no_grad():
                out = call(fn, tensor(x, n=n), tau=1.0, hard=True, dim=-1)
            y = simplex(out, (n, len(x)))
            if not np.all(np.sum(y == 1, axis=1) == 1):
                raise Outcome("invalid output", "hard=True rows are not exactly one-hot")
            idx = np.argmax(y, axis=1)
            if np.isin(idx, list(expect_never)).any():
                raise Outcome("silent wrong answer", "a zero-probability category was selected")
            if law:
                p = softmax(np.asarray(x, dtype=np.float64))
                pv = mini_law(np.bincount(idx, minlength=p.size), p)
                if pv < LAW_THRESHOLD:
                    raise Outcome("silent wrong answer", f"hard=True frequencies contradict softmax(x) "
                                   f"(chi-square p = {pv:.2g})")
            return "ok/documented", "exactly one-hot"
        return body

    rec.run("hard_neginf", "hard=True with a -inf logit", "valid", hard_body([0.5, NEG, 0.0, 1.0], 2000, [1]))
    rec.run("hard_1e30_tie", "hard=True with a tie at 1e30 [1e30, -1e30, 0, 1e30]", "valid",
            hard_body([1e30, -1e30, 0.0, 1e30], 20000, [1, 2], law=True))
    f = rec.findings[-1]
    if f.outcome == "silent wrong answer":  # precision limit, module doc
        rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn",
                                   f.detail + " (noise absorbed by 1e30: 1e30 + g == 1e30 in float64)")
    rec.run("hard_nan", "hard=True with a NaN logit", "invalid", _hard_invalid(fn, [0.0, NAN, 1.0], seed))
    rec.run("hard_all_neginf", "hard=True with all -inf logits", "invalid", _hard_invalid(fn, [NEG, NEG], seed))

    for dname in ("float16", "bfloat16"):
        def body(dname=dname):
            dt = getattr(torch, dname)
            torch.manual_seed(seed)
            with torch.no_grad():
                out = call(fn, tensor(LOG4, dt, 20000), tau=1.0, hard=False, dim=-1)
            if getattr(out, "dtype", None) != dt:
                raise Outcome("invalid output", f"output dtype {getattr(out, 'dtype', type(out))}, expected {dt}")
            return _rounding_ok(simplex(out, (20000, 4)), LOG4)
        rec.run(dname, f"{dname} logits", "valid", body)

    def empty():
        with torch.no_grad():
            out = call(fn, torch.zeros((0, 4), dtype=torch.float64), tau=1.0, hard=False, dim=-1)
        if tuple(getattr(out, "shape", ())) != (0, 4):
            raise Outcome("invalid output", f"shape {tuple(getattr(out, 'shape', ()))}, expected (0, 4)")
        return "ok/documented", "empty (0, 4) result"
    rec.run("empty", "empty batch, shape (0, 4)", "valid", empty)

    def noncontig():
        base = torch.zeros((20000, 8), dtype=torch.float64)
        base[:, 1::2] = torch.as_tensor(LOG4)
        x = base[:, 1::2]
        torch.manual_seed(seed)
        with torch.no_grad():
            out = call(fn, x, tau=1.0, hard=True, dim=-1)
        y = simplex(out, (20000, 4))
        pv = mini_law(np.bincount(np.argmax(y, axis=1), minlength=4), softmax(LOG4))
        if pv < LAW_THRESHOLD:
            raise Outcome("silent wrong answer", f"frequencies on a strided view contradict softmax(x) "
                           f"(p = {pv:.2g}; strides ignored?)")
        return "ok/documented", f"law holds on a strided view (p = {pv:.2g})"
    rec.run("noncontiguous", "non-contiguous view x[:, 1::2], hard=True", "valid", noncontig)

    def batched_tau():
        n = 20000
        tau = torch.full((n, 1), 0.5, dtype=torch.float64)
        tau[1::2] = 2.0
        torch.manual_seed(seed)
        with torch.no_grad():
            out = call(fn, tensor(LOG4, n=n), tau=tau, hard=False, dim=-1)
        y = simplex(out, (n, 4))
        # C2: T_row * log(y_1/y_4) - (x_1 - x_4) ~ Logistic for each row's own temperature
        with np.errstate(divide="ignore"):
            d = tau.numpy()[:, 0] * (np.log(y[:, 0]) - np.log(y[:, 3])) - (LOG4[0] - LOG4[3])
        d = d[np.isfinite(d)]
        from scipy import stats as sps
        pv = float(sps.kstest(d, sps.logistic.cdf).pvalue)
        if pv < LAW_THRESHOLD:
            raise Outcome("silent wrong answer", f"per-row temperatures not applied row-wise (KS p = {pv:.2g})")
        return "ok/documented", f"per-row temperatures applied (KS p = {pv:.2g})"
    # beyond F.gumbel_softmax's scalar-tau contract: an error is fine (info), NaN a warning, a
    # silently wrong row-wise law a failure (pytorch#37162 class)
    rec.run("batched_tau", "batched temperature tau of shape [n, 1] (0.5 / 2 alternating)", "extension",
            batched_tau)



def _adversarial_call(fn: Callable, x: np.ndarray, seed: int, n: int = 1024) -> None:
    import torch

    rows = np.broadcast_to(x, (n, x.shape[-1])) if x.ndim == 1 else x  # a [B, K] batch: masked_batch
    for hard in (False, True):
        torch.manual_seed(seed)
        xt = torch.as_tensor(np.ascontiguousarray(rows))
        with torch.no_grad():
            y = simplex(call(fn, xt, tau=0.5, hard=hard, dim=-1), rows.shape)
        if np.any(y[np.isneginf(rows)] != 0):
            raise Outcome("silent wrong answer", f"hard={hard}: mass on a -inf category")


def adversarial(fn: Callable, rec: Recorder, seed: int) -> None:
    adversarial_probe(fn, rec, seed, _adversarial_call, "valid output, zero-probability categories never selected",
                      masked="batch")


def select(fn, x, n, seed):
    """Reach probe: the ``hard=True`` argmax for the K = 2 logits ``x`` (torch seeded)."""
    import torch

    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float64).expand(n, -1).contiguous()
    with torch.no_grad():
        y = fn(xt, tau=1.0, hard=True, dim=-1)
    return np.argmax(y.detach().cpu().double().numpy(), axis=1)


def contract(fn: Callable, seed: int) -> list:
    return contract_findings(fn, seed, small_call, precision=True, make_input=tensor_input)


# ------------------------------------------------------------------ built-ins -------------

def _torch_fgs():
    import torch.nn.functional as F

    return F.gumbel_softmax


BUILTINS = (
    BuiltinTarget("reference-torch", "torch", "reference.torch_gumbel_softmax.gumbel_softmax",
                  lambda: load_callable("reference.torch_gumbel_softmax:gumbel_softmax")),
    BuiltinTarget("torch-gumbel-softmax", "torch", "torch.nn.functional.gumbel_softmax", _torch_fgs),
)

#: the warnings torch's own F.gumbel_softmax gets (torch 2.13; tests/test_probes.py keeps this true):
#: a user's torch-kind target with the same warning is told so
F_GUMBEL_SOFTMAX_WARNINGS = frozenset({
    ("probe.nan", "NaN output"), ("probe.all_neginf", "NaN output"), ("probe.posinf", "NaN output"),
    ("probe.T0", "NaN output"), ("probe.T_negative", "silent wrong answer"), ("probe.T_nan", "NaN output"),
    ("probe.hard_1e30_tie", "silent wrong answer"), ("probe.hard_nan", "NaN output"),
    ("probe.hard_all_neginf", "NaN output"), ("adversarial.E=0", "NaN output"), ("adversarial.E=-0", "NaN output")})

KIND = register(Kind(
    name="torch", signature=SIGNATURE, plan=plan, trial=trial, bad_inputs=bad_inputs, adversarial=adversarial,
    reach=ReachStrategy(select=select, tail="C3.tail at the thorough budget"), contract=contract, power=power,
    builtins=BUILTINS, seeds_torch=True,
    preload=("torch",), description="torch Gumbel-softmax functions with F.gumbel_softmax's contract",
    param_hints=("logits", "tau", "hard", "dim", "eps"), peer="torch's own F.gumbel_softmax",
    peer_warnings=F_GUMBEL_SOFTMAX_WARNINGS))
