r"""Bad-input probe and adversarial streams for the ``token`` kind (findings, not verdicts).

Same outcomes and severities as :mod:`harness.probes.findings` (valid input: an error is a
**warn**, NaN / out-of-range / a probability-0 token / wrong law is a **fail**; invalid input:
a clear error is **ok**, a valid-looking id for NaN or all ``-inf`` logits is a **fail**, a
bad parameter accepted silently is a **warn**). Valid edges: ``V = 1``, an empty batch,
``B = 1``, float16 / bfloat16 logits, a non-contiguous batch, ``T = 1e-8`` and ``1e8``,
``top_k >= V``, ``top_k = 1``, ``top_p = 1``, ``min_p = 1``, greedy rows with filters set,
``+-1e30`` logits, a 262 144-token row with two finite tokens. Invalid: NaN, ``+inf``, an all
``-inf`` row, ``T < 0`` / NaN / inf, ``top_k < 0``, ``top_p`` 0 / 1.5 / NaN, ``min_p`` -0.1 /
1.5, a ``[B]`` temperature of the wrong length.

Adversarial streams (:mod:`harness.probes.adversarial`): under every mode, including
``Tensor.exponential_() = 0`` and ``-0.0`` (which the other kinds only warn about), a masked
(``-inf``) or filtered-out token returned, or NaN, is a **fail** for the token kind: token
samplers are exponential races ``argmax(p / E)``, where ``E = 0`` gives ``0 / 0 = NaN`` at a
masked token and ``argmax`` picks it (vllm-metal#622). Targets drawing from neither NumPy nor
torch's primitives (``torch.multinomial``, C++/CUDA kernels) are reported "not probed".
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from harness.probes.findings import LAW_THRESHOLD, Finding, Outcome, Recorder, call, indices, mini_law

__all__ = ["bad_inputs", "adversarial", "select"]

NEG, POS, NAN = -math.inf, math.inf, math.nan
LOG4 = np.log(np.array([0.1, 0.2, 0.3, 0.4]))


def _batch(row, b: int, dtype: str = "float32"):
    import torch

    return torch.as_tensor(np.tile(np.asarray(row, dtype=np.float64), (b, 1))).to(getattr(torch, dtype))


def _law_chk(probs: np.ndarray) -> Callable:
    def chk(idx):
        counts = np.bincount(idx, minlength=probs.size)
        zero = (probs == 0) & (counts > 0)
        if zero.any():
            raise Outcome("silent wrong answer", f"probability-0 token(s) {np.flatnonzero(zero)[:5].tolist()} "
                           f"returned {int(counts[zero].sum())} times")
        if idx.size >= 1000 and (probs > 0).sum() > 1:
            pv = mini_law(counts, probs)
            if pv < LAW_THRESHOLD:
                raise Outcome("silent wrong answer", f"frequencies {np.round(counts / idx.size, 3).tolist()[:8]} vs "
                               f"p = {np.round(probs, 3).tolist()[:8]} (chi-square p = {pv:.2g})")
        return "ok/documented", "valid ids, probability-0 tokens never returned" + (
            ", frequencies fit the law" if idx.size >= 1000 else "")
    return chk


def _const(i: int) -> Callable:
    def chk(idx):
        if np.all(idx == i):
            return "ok/documented", f"always {i}"
        raise Outcome("silent wrong answer", f"returned {np.unique(idx)[:5].tolist()}, expected only {i}")
    return chk


def _silent(idx):
    raise Outcome("silent wrong answer", f"returned valid-looking ids {np.unique(idx)[:5].tolist()} for logits "
                   "that define no distribution")


def _accepted(idx):
    raise Outcome("accepted silently", f"returned ids {np.unique(idx)[:5].tolist()} for an invalid parameter")


def _cases():
    """(probe, description, domain, logits tensor, temperature, kwargs, check(idx))."""
    from reference.token_laws import token_probs

    import torch

    x4 = np.array([0.5, NEG, 0.0, 1.0])
    law4 = token_probs(x4, 1.0)
    nc = torch.as_tensor(np.tile(LOG4, (4000, 1)).T.copy()).to(torch.float32).t()  # non-contiguous [4000, 4]
    big = np.full(262_144, NEG)
    big[[5, 200_000]] = [0.0, 0.5]
    cases = [
        ("neginf", "-inf entries in every row [0.5, -inf, 0, 1], B = 4000", "valid", _batch(x4, 4000), 1.0, {},
         _law_chk(law4)),
        ("v1", "V = 1", "valid", _batch([0.7], 16), 1.0, {}, _const(0)),
        ("empty_batch", "B = 0 (empty batch)", "valid", _batch(LOG4, 0), 1.0, {},
         lambda idx: ("ok/documented", "empty result")),
        ("b1", "B = 1", "valid", _batch(LOG4, 1), 1.0, {}, _law_chk(token_probs(LOG4, 1.0))),
        ("float16", "float16 logits", "valid", _batch(LOG4, 4000, "float16"), 1.0, {},
         _law_chk(token_probs(LOG4.astype(np.float16), 1.0))),
        ("bfloat16", "bfloat16 logits", "valid", _batch(LOG4, 4000, "bfloat16"), 1.0, {},
         _law_chk(token_probs(_batch(LOG4, 1, "bfloat16").double().numpy()[0], 1.0))),
        ("noncontiguous", "a non-contiguous [B, V] view (a transpose)", "valid", nc, 1.0, {},
         _law_chk(token_probs(LOG4.astype(np.float32), 1.0))),
        ("tiny_T", "T = 1e-8", "valid", _batch([0.0, -1.0, -2.0, NEG], 256), 1e-8, {}, _const(0)),
        ("huge_T", "T = 1e8 (uniform over the finite tokens)", "valid", _batch(x4, 4000), 1e8, {},
         _law_chk(token_probs(x4, 1e8))),
        ("top_k_ge_V", "top_k = V + 5 (no-op)", "valid", _batch(LOG4, 4000), 1.0, {"top_k": 9},
         _law_chk(token_probs(LOG4, 1.0))),
        ("top_k_1", "top_k = 1", "valid", _batch(LOG4, 256), 1.0, {"top_k": 1}, _const(3)),
        ("top_p_1", "top_p = 1.0 (no-op)", "valid", _batch(LOG4, 4000), 1.0, {"top_p": 1.0},
         _law_chk(token_probs(LOG4, 1.0))),
        ("min_p_1", "min_p = 1.0 (only the max token)", "valid", _batch(LOG4, 256), 1.0, {"min_p": 1.0}, _const(3)),
        ("greedy_filters", "T = 0 with top_k = 2, top_p = 0.5, min_p = 0.3 set", "valid", _batch([1.0, 3.0, 3.0, 0.0], 64),
         0.0, {"top_k": 2, "top_p": 0.5, "min_p": 0.3}, _const(1)),
        ("huge_1e30", "magnitudes +-1e30 [1e30, -1e30, 0]", "valid", _batch([1e30, -1e30, 0.0], 256), 1.0, {},
         _const(0)),
        ("v262k_two_finite", "V = 262 144 with two finite tokens (ids 5, 200000)", "valid", _batch(big, 64), 1.0,
         {}, _law_chk(token_probs(big, 1.0))),
        ("nan", "a NaN logit [0, nan, 1]", "invalid", _batch([0.0, NAN, 1.0], 8), 1.0, {}, _silent),
        ("all_neginf", "an all -inf row", "invalid", _batch([NEG, NEG, NEG], 8), 1.0, {}, _silent),
        ("posinf", "a +inf logit [0, +inf, 1]", "invalid", _batch([0.0, POS, 1.0], 8), 1.0, {}, _const(1)),
        ("T_negative", "T = -1", "invalid", _batch(LOG4, 8), -1.0, {}, _accepted),
        ("T_nan", "T = NaN", "invalid", _batch(LOG4, 8), NAN, {}, _silent),
        ("T_inf", "T = inf", "invalid", _batch(LOG4, 8), POS, {}, _accepted),
        ("top_k_negative", "top_k = -3", "invalid", _batch(LOG4, 8), 1.0, {"top_k": -3}, _accepted),
        ("top_p_0", "top_p = 0", "invalid", _batch(LOG4, 8), 1.0, {"top_p": 0.0}, _accepted),
        ("top_p_gt1", "top_p = 1.5", "invalid", _batch(LOG4, 8), 1.0, {"top_p": 1.5}, _accepted),
        ("top_p_nan", "top_p = NaN", "invalid", _batch(LOG4, 8), 1.0, {"top_p": NAN}, _accepted),
        ("min_p_negative", "min_p = -0.1", "invalid", _batch(LOG4, 8), 1.0, {"min_p": -0.1}, _accepted),
        ("min_p_gt1", "min_p = 1.5", "invalid", _batch(LOG4, 8), 1.0, {"min_p": 1.5}, _accepted),
        ("T_wrong_length", "a [B + 1] temperature tensor for B rows", "invalid", _batch(LOG4, 8),
         torch.ones(9, dtype=torch.float32), {}, _accepted),
    ]
    return cases


def _run_case(rec: Recorder, fn: Callable, seed: int, probe, desc, domain, x, t, kw, chk) -> None:
    def body():
        out = call(fn, x, t, seed=seed, **kw)
        return chk(indices(out, int(x.shape[0]), int(x.shape[1])))

    rec.run(probe, desc, domain, body)
    f = rec.findings[-1]
    if f.outcome == "accepted silently":
        rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "warn", f.detail)
    elif probe == "posinf" and f.outcome == "ok/documented":
        rec.findings[-1] = Finding(f.probe, f.input, f.domain, f.outcome, "ok", "always the +inf token (limit)")


def _adversarial(rec: Recorder, fn: Callable, seed: int, have: tuple = ("top_k", "top_p")) -> None:
    from harness.probes.adversarial import MODES, adversarial_streams

    calls = [(np.array([NEG, 0.5, 0.0, 1.0]), {}, [0]),
             (np.array([0.2, 1.0, NEG, 0.9]), {"top_k": 2}, [0, 2]),
             (np.array([0.0, 3.0, NEG, 2.9, -5.0]), {"top_p": 0.5}, [0, 2, 3, 4])]
    calls = [c for c in calls if all(k in have for k in c[1])]
    for mode, (what, _sev) in MODES.items():
        delivered = [0]

        def body(mode=mode):
            with adversarial_streams(mode) as st:
                try:
                    for x, kw, forbidden in calls:
                        out = call(fn, _batch(x, 1024), 1.0, seed=seed, **kw)
                        idx = indices(out, 1024, x.size)
                        hit = np.isin(idx, forbidden)
                        if hit.any():
                            bad = (x, kw, forbidden, np.unique(idx[hit]).tolist(), int(hit.sum()))
                            break
                    else:
                        bad = _masked_everywhere(fn, seed)
                finally:
                    delivered[0] = st.delivered
            if bad is not None:
                x, kw, forbidden, toks, count = bad
                raise Outcome("silent wrong answer", f"masked / filtered-out token(s) {toks} returned {count} "
                               f"times (logits {x.tolist()}, {kw or 'no filter'}); "
                               + boundary_reach(fn, x, kw, forbidden, int(toks[0]), mode, seed))
            return "ok/documented", "valid ids, masked and filtered-out tokens never returned"

        rec.run(mode, f"adversarial stream: {what}", "adversarial", body, on_error="warn", on_nan="fail")
        f = rec.findings[-1]
        if delivered[0] == 0 and f.outcome == "ok/documented":
            rec.findings[-1] = Finding(f.probe, f.input, f.domain, "not probed", "info",
                                       "the target does not draw from numpy.random.default_rng / torch's uniform "
                                       "and exponential primitives")


def _masked_everywhere(fn: Callable, seed: int) -> tuple | None:
    """One [1024, K] call per K = 3, 4, 8 whose rows have the masked token at every position
    (:func:`~harness.probes.findings.masked_batch`): a fallback for an unscorable (all-NaN) row that lands on a fixed id is caught
    wherever it lands. ``None``, or (row, kw, forbidden, ids, count) of the first hit."""
    import torch

    from harness.probes.findings import masked_batch

    for k in (3, 4, 8):
        rows = masked_batch(k)
        b, pos = rows.shape[0], np.argmax(np.isneginf(rows), axis=1)
        idx = indices(call(fn, torch.as_tensor(rows).to(torch.float32), 1.0, seed=seed), b, k)
        hit = idx == pos
        if hit.any():
            r = int(np.flatnonzero(hit)[0])
            return rows[r], {}, [int(pos[r])], np.unique(idx[hit]).tolist(), int(hit.sum())
    return None


def _applicable(cases: list, options: Any) -> list:
    """The cases that apply under ``options``: only declared parameters (a case passing another,
    or a temperature other than 1 without ``temperature``, is left out), and the expectations of
    the law profile (any maximal index for a tied greedy row under ``greedy_ties = any``; no
    ``top_k >= V`` case for an engine that rejects it)."""
    if not options:
        return cases
    from reference.token_laws import get_profile

    from harness.kinds.token.options import declared

    prof, have = get_profile(options["law"]), declared(options)
    out = []
    for i, case in enumerate(cases):
        probe, desc, domain, x, t, kw, chk = case
        if any(k not in have for k in kw) or ("temperature" not in have and not (isinstance(t, float) and t == 1.0)):
            continue
        if probe == "top_k_ge_V" and prof.top_k_at_least_v == "error":
            continue
        if probe == "greedy_filters" and prof.greedy_ties == "any":
            chk = _one_of({1, 2})
        out.append((probe, desc, domain, x, t, kw, chk))
    return out


def _one_of(ok: set) -> Callable:
    def chk(idx):
        if set(np.unique(idx).tolist()) <= ok:
            return "ok/documented", f"always one of {sorted(ok)} (the tied maximal tokens)"
        raise Outcome("silent wrong answer", f"returned {np.unique(idx)[:5].tolist()}, expected only {sorted(ok)}")
    return chk


def _position_fill(mode: str, positions: Callable[[int], Any]):
    """Fills for :func:`~harness.probes.adversarial.forced_streams` that put the boundary value
    of ``mode`` at ``positions(numel)`` (a bool mask, or None: leave the draw alone)."""
    def uniform(flat, lo, hi):
        import torch

        m = positions(flat.numel())
        if m is None:
            return 0
        m = m.to(flat.device)
        v = (torch.tensor(lo, dtype=flat.dtype) if mode == "u=0" else
             torch.nextafter(torch.tensor(hi, dtype=flat.dtype), torch.tensor(lo, dtype=flat.dtype)))
        flat[m] = v.to(flat.device)
        return int(m.sum())

    def exponential(flat):
        import torch

        m = positions(flat.numel())
        if m is None:
            return 0
        m = m.to(flat.device)
        flat[m] = torch.tensor(0.0 if mode == "E=0" else -0.0, dtype=flat.dtype, device=flat.device)
        return int(m.sum())

    return ({"torch_uniform": uniform} if mode.startswith("u=") else {"torch_exponential": exponential})


def boundary_reach(fn: Callable, x: np.ndarray, kw: dict, forbidden: list, tok: int, mode: str, seed: int) -> str:
    """Whether a *single* boundary draw (at the masked token's position of a per-token noise
    draw) selects the masked token ``tok`` (a real one-draw defect: it happens at the rate of one
    boundary draw, 2^-24 per float32 uniform), or only a *simultaneous* boundary draw on every
    finite token (probability ~2^-24 per extra finite token); the sentence for the finding."""
    import torch

    from harness.probes.adversarial import forced_streams

    b, v = 1024, x.size
    finite = [j for j in range(v) if np.isfinite(x[j])]

    def run(cols: list[int]) -> bool | None:
        used = [0]

        def positions(numel):
            if numel != b * v:
                return None
            m = torch.zeros(b, v, dtype=torch.bool)
            m[:, cols] = True
            used[0] += 1
            return m.view(-1)

        with forced_streams(**_position_fill(mode, positions)):
            idx = indices(call(fn, _batch(x, b), 1.0, seed=seed, **kw), b, v)
        return None if not used[0] else bool(np.isin(idx, forbidden).any())

    try:
        single = run([tok])
        if single is None:
            return "the target's noise is not one draw per token, so the harness cannot tell whether one boundary draw suffices"
        if single:
            return (f"a SINGLE boundary draw at the masked token {tok} selects it: a real one-draw defect (it "
                    "happens as often as the generator returns that value, 2^-24 per float32 draw)")
        if run(finite):
            return (f"only a SIMULTANEOUS boundary draw on every finite token ({len(finite)}) selects it "
                    f"(probability ~2^-24 per extra finite token in float32: about 2^-{24 * len(finite)} per row)")
        return "neither one boundary draw at the masked token nor one on every finite token selects it (a burst pattern does)"
    except Exception as exc:  # noqa: BLE001 - the classification is advice; the finding stands
        return f"(the single-draw follow-up could not run: {type(exc).__name__}: {exc})"


def bad_inputs(fn: Callable, rec: Recorder, seed: int, options: Any = None) -> None:
    """The bad-input cases of a token-kind target, recorded on ``rec`` (those that apply under
    the run's ``options``)."""
    cases = _cases()
    keep = _applicable(cases, options)
    for i, case in enumerate(cases):
        if case[0] in {c[0] for c in keep}:
            _run_case(rec, fn, seed + i, *next(c for c in keep if c[0] == case[0]))


def adversarial(fn: Callable, rec: Recorder, seed: int, options: Any = None) -> None:
    """The adversarial-stream cases of a token-kind target, recorded on ``rec``."""
    from harness.kinds.token.options import declared

    _adversarial(rec, fn, seed, declared(options))


def select(fn, x, n, seed):
    """Reach probe: the ids drawn for ``n`` rows of the K = 2 logits ``x`` at T = 1."""
    import torch

    xt = torch.as_tensor(x, dtype=torch.float64).expand(n, -1).contiguous()
    with torch.no_grad():
        ids = fn(xt, 1.0, seed=seed)
    return np.asarray(torch.as_tensor(ids).cpu()).reshape(-1)
