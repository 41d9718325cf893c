"""Checks of the ``torch`` protocol (``F.gumbel_softmax``'s contract) beyond the law: the
``hard=True`` argmax through ``dim=0`` of a transposed input and in a batch of mixed rows (as
categorical samplers, for the law checks), the dtype contract (float16 / bfloat16 / float32 /
float64 in -> the same dtype out, on the simplex) and the axis contract (3-D input, ``dim=1``)."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from harness.checks.builders import deterministic_verdict, error_verdict
from harness.checks.samplers import TargetError, onehot_rows, simplex_tolerance

__all__ = ["dim0_categorical", "mixed_batch", "dtype_check", "axis_check"]

POWER_LOGITS = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


def dim0_categorical(fn: Callable) -> Callable:
    """Categorical sampler through ``dim=0`` of a transposed (non-contiguous) ``(K, n)`` view."""
    import torch

    def sampler(logits: np.ndarray, n: int, seed: int):
        torch.manual_seed(int(seed) % (2**63))
        k = logits.shape[-1]
        base = torch.as_tensor(logits, dtype=torch.float64).expand(n, k).contiguous()
        x = base.t()  # (K, n), strides (1, K): non-contiguous
        assert not x.is_contiguous() or n == 1
        with torch.no_grad():
            y = fn(x, tau=1.0, hard=True, dim=0)
        if not isinstance(y, torch.Tensor):
            raise TargetError(f"dim=0 call returned {type(y).__name__}, expected a tensor")
        if tuple(y.shape) != (k, n):
            raise TargetError(f"dim=0 on a ({k}, {n}) input returned shape {tuple(y.shape)}")
        yn = y.detach().cpu().double().numpy()
        ok = onehot_rows(yn, axis=0)
        if not ok.all():
            raise TargetError(f"hard=True, dim=0: {int((~ok).sum())} of {n} columns are not exactly one-hot "
                              "along dim 0 (dim ignored: normalised along the last axis?)")
        return np.argmax(yn, axis=0)

    return sampler


def mixed_batch(fn: Callable, other: np.ndarray) -> Callable:
    """Categorical sampler whose rows alternate ``logits`` / ``other`` in one batch; returns the
    indices of the ``logits`` rows. Rows mixed, broadcast wrongly or sharing noise fail the law."""
    import torch

    def sampler(logits: np.ndarray, n: int, seed: int):
        torch.manual_seed(int(seed) % (2**63))
        k = logits.shape[-1]
        x = torch.empty((2 * n, k), dtype=torch.float64)
        x[0::2] = torch.as_tensor(logits, dtype=torch.float64)
        x[1::2] = torch.as_tensor(other, dtype=torch.float64)
        with torch.no_grad():
            y = fn(x, tau=1.0, hard=True, dim=-1)
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != (2 * n, k):
            raise TargetError(f"mixed batch of shape {(2 * n, k)} returned "
                              f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
        yn = y.detach().cpu().double().numpy()[0::2]
        ok = onehot_rows(yn)
        if not ok.all():
            raise TargetError(f"hard=True: {int((~ok).sum())} rows are not exactly one-hot")
        return np.argmax(yn, axis=1)

    return sampler


def dtype_check(dtype_name: str) -> Callable:
    def run(fn, ctx, _id):
        import torch

        dt = getattr(torch, dtype_name)
        x = torch.as_tensor(POWER_LOGITS, dtype=torch.float64).expand(256, -1).to(dt).contiguous()
        text = (f"{dtype_name} logits -> {dtype_name} output of the same shape, finite, on the simplex "
                "(hard=True: exactly one-hot)")
        seed = ctx.seed_for(_id)
        problems = []
        try:
            torch.manual_seed(seed % (2**63))
            with torch.no_grad():
                for hard in (False, True):
                    y = fn(x, tau=1.0, hard=hard, dim=-1)
                    if not isinstance(y, torch.Tensor):
                        problems.append(f"hard={hard}: returned {type(y).__name__}")
                        continue
                    if y.dtype != dt:
                        problems.append(f"hard={hard}: output dtype {y.dtype}, expected {dt}")
                    if tuple(y.shape) != tuple(x.shape):
                        problems.append(f"hard={hard}: output shape {tuple(y.shape)}, expected {tuple(x.shape)}")
                        continue
                    yn = y.detach().cpu().double().numpy()
                    if not np.all(np.isfinite(yn)):
                        problems.append(f"hard={hard}: {int(np.sum(~np.isfinite(yn)))} non-finite values")
                        continue
                    tol = simplex_tolerance(np.dtype(f"f{min(8, torch.finfo(dt).bits // 8)}"))
                    dev = float(np.max(np.abs(yn.sum(axis=1) - 1)))
                    if yn.min() < -tol or dev > tol:
                        problems.append(f"hard={hard}: off the simplex (min {yn.min():.3g}, max |sum-1| {dev:.3g})")
                    if hard:
                        oh = onehot_rows(yn)
                        if not oh.all():
                            problems.append(f"hard=True: {int((~oh).sum())} rows not exactly one-hot")
        except TargetError as exc:
            return [error_verdict("dtype", _id, text, f"target error: {exc}", seed=seed, alpha=ctx.alpha,
                                  test="dtype contract")]
        except Exception as exc:  # noqa: BLE001
            return [error_verdict("dtype", _id, text, f"target raised {type(exc).__name__}: {exc}", seed=seed,
                                  alpha=ctx.alpha, test="dtype contract")]
        v = deterministic_verdict("dtype", _id, text, float(len(problems)), 0.0, test="dtype contract",
                                  reason="; ".join(problems) or "same dtype, finite, on the simplex",
                                  details={"dtype": dtype_name})
        return [replace(v, seed=seed)]

    return run


def axis_check(fn, ctx, _id):
    """3-D input (B, K, C), dim=1: normalised along dim 1 (soft), one-hot along dim 1 (hard)."""
    import torch

    text = "3-D logits (B, K, C) with dim=1: y sums to 1 along dim 1; hard=True is one-hot along dim 1"
    seed = ctx.seed_for(_id)
    x = torch.as_tensor(POWER_LOGITS, dtype=torch.float64)[None, :, None].expand(64, 4, 5).contiguous()
    problems = []
    try:
        torch.manual_seed(seed % (2**63))
        with torch.no_grad():
            for hard in (False, True):
                y = fn(x, tau=1.0, hard=hard, dim=1)
                if not isinstance(y, torch.Tensor) or tuple(y.shape) != tuple(x.shape):
                    problems.append(f"hard={hard}: returned "
                                    f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
                    continue
                yn = y.double().numpy()
                if not np.all(np.isfinite(yn)):
                    problems.append(f"hard={hard}: non-finite values")
                    continue
                dev = float(np.max(np.abs(yn.sum(axis=1) - 1)))
                if dev > 1e-9:
                    problems.append(f"hard={hard}: sums along dim 1 off by {dev:.3g} (normalised along another dim?)")
                if hard and not np.all(np.sum(yn == 1, axis=1) == 1):
                    problems.append("hard=True: not one-hot along dim 1")
    except TargetError as exc:
        return [error_verdict("dim", _id, text, f"target error: {exc}", seed=seed, alpha=ctx.alpha, test="dim contract")]
    except Exception as exc:  # noqa: BLE001
        return [error_verdict("dim", _id, text, f"target raised {type(exc).__name__}: {exc}", seed=seed,
                              alpha=ctx.alpha, test="dim contract")]
    return [replace(deterministic_verdict("dim", _id, text, float(len(problems)), 0.0, test="dim contract",
                                          reason="; ".join(problems) or "normalised along dim 1"), seed=seed)]

