r"""N, precision: what each noise path actually delivers, and the tail it must reach.

Judged (the float64 references must pass):

* the law of float64 noise (KS and Anderson-Darling) from the NumPy and the torch references;
* its upper tail: the count above the threshold :math:`t` with :math:`n(1 - F(t)) = 50` is
  Binomial (:func:`harness.checks.claims.noise_tail`; at the thorough budget :math:`t > 16.64`);
* its resolution (no repeated values beyond a 52-bit grid's, torch float64);
* the tail mass of a rare category of the NumPy Gumbel-max sampler (exact binomial, the category's
  probability chosen so that about 200 hits are expected at the budget);
* deterministic: the adversarial uniforms 0, 1 and nextafter(1, 0) give finite noise within the
  documented ``NOISE_RANGE``; extreme logits (+-1e30, +-1000, -inf) and temperatures (1e-8, 1e8)
  give finite points of the simplex; the float16/bfloat16 path matches float64 within the output
  precision at the same noise.

Measured (findings, never judged): :math:`P(g > t)` of float32 and float64 noise at thresholds up
to 18 with the budget's tail sample size. float32 noise is cut at
:math:`-\log(-\log(1 - 2^{-24})) = 16.6355` (a documented property of 24-bit uniforms, bugs.md
A.3, jax#5348): above it float32 has no mass although the law has :math:`6\times 10^{-8}`; and the
repeated values of float32 noise (a :math:`2^{-24}` grid).
"""
from __future__ import annotations

import math

import numpy as np

from harness.core.context import RunContext
from harness.experiments.base import Collector, experiment, torch_noise_sampler
from harness.checks.samplers import reference_categorical, reference_noise
from harness.checks.claims import noise_law, noise_resolution, noise_tail, tail_mass
from harness.core.seeds import seeded_chunks
from reference import laws

THRESHOLDS = (8.0, 10.0, 12.0, 14.0, 15.0, 16.0, 16.5, 16.6355, 17.0, 18.0)
CHUNK = 1 << 24


def sizes(b):
    return {"n_law": b.n_continuous, "n_tail": b.n_tail, "n_resolution": b.n_continuous,
            "n_tail_mass": b.n_tail, "n_measure": b.n_tail}


def _rare_gap(n: int, hits: float = 200.0) -> float:
    """Logit gap of a K = 2 vector whose rare category expects ``hits`` hits in ``n`` draws."""
    p = hits / n
    return float(math.log((1 - p) / p))


@experiment(
    "N",
    title="Precision of the noise and of the relaxed sample",
    claim=("The float64 reference noise is standard Gumbel into its far upper tail (and finite for every "
           "uniform); the float32 tail cut at 16.64 and the float16 output rounding are measured and documented."),
    formula="P(g > t) = 1 - exp(-exp(-t));  float32: g <= -log(-log(1 - 2^-24)) = 16.6355",
    implementations=("reference.numpy_sampler (float64)", "reference.torch_gumbel_softmax.gumbel_noise (float64, float32)",
                     "reference.torch_gumbel_softmax.gumbel_softmax (float16, bfloat16)"),
    planned=8,
    sizes=sizes,
    cost=3,
)
def run(ctx: RunContext):
    import torch

    from reference.torch_gumbel_softmax import (NOISE_RANGE, gumbel_noise, gumbel_softmax, noise_from_uniform,
                                                relaxed_from_noise)

    col = Collector(ctx, "N")
    s = sizes(ctx.budget)
    t64 = torch_noise_sampler("float64")
    t32 = torch_noise_sampler("float32")
    col.add(noise_law(reference_noise, s["n_law"], ctx, check="N.law.numpy64"))
    col.add(noise_law(t64, s["n_law"], ctx, check="N.law.torch64"))
    col.add(noise_tail(reference_noise, s["n_tail"], ctx, check="N.tail.numpy64"))
    col.add(noise_tail(t64, s["n_tail"], ctx, check="N.tail.torch64"))
    col.add(noise_resolution(t64, s["n_resolution"], ctx, check="N.resolution.torch64", bits=52))
    gap = _rare_gap(s["n_tail_mass"])
    col.add(tail_mass(reference_categorical, [0.0, -gap], s["n_tail_mass"], ctx, rare=1, check="N.tail_mass.numpy64"))

    # ---- deterministic: adversarial uniforms
    def adversarial():
        worst = 0.0
        notes = []
        for dt in (torch.float64, torch.float32):
            u = torch.tensor([0.0, 1.0, float(np.nextafter(np.float32(1), np.float32(0)) if dt == torch.float32
                                               else np.nextafter(1.0, 0.0)), 0.5, 2.0 ** -60], dtype=dt)
            g = noise_from_uniform(u).double()
            lo, hi = NOISE_RANGE[dt]
            # NOISE_RANGE is computed in float64; g is computed in dt, so allow its rounding (one ulp)
            slack = float(torch.finfo(dt).eps) * max(abs(lo), abs(hi))
            bad = int((~torch.isfinite(g)).sum()) + int(((g < lo - slack) | (g > hi + slack)).sum())
            worst = max(worst, bad)
            notes.append(f"{str(dt).replace('torch.', '')}: g(0) = {float(g[0]):.4f}, g(1) = {float(g[1]):.4f}, "
                         f"range [{lo:.4f}, {hi:.4f}]")
        return col.deterministic("N.adversarial_uniforms", "u in {0, 1, nextafter(1, 0), 0.5, 2^-60} give finite noise within NOISE_RANGE",
                                 float(worst), 0.0, test="adversarial inputs", reason="; ".join(notes))

    col.guard("N.adversarial_uniforms", "adversarial uniforms", adversarial)

    # ---- deterministic: extreme logits and temperatures give finite simplex points
    def extreme():
        cases = [([1e30, 0.0, -1e30], 1e-8), ([1000.0, 999.0, -1000.0], 1e-3), ([-math.inf, 0.0, 1.0], 1e-3),
                 ([-1e5, 0.0, 2.0], 1.0), ([0.5, -0.5, 0.0], 1e8), ([1e30, 1e30 - 1e15, 0.0], 1.0)]
        worst = 0.0
        msgs = []
        gen = torch.Generator().manual_seed(ctx.seed_for("N.extreme") % (2**63))
        for x, t in cases:
            for dt in (torch.float64, torch.float32):
                xt = torch.tensor(x, dtype=dt).expand(256, 3).contiguous()
                y = gumbel_softmax(xt, tau=t, generator=gen).double()
                err = float((y.sum(-1) - 1).abs().max()) if bool(torch.isfinite(y).all()) else math.inf
                if x[0] == -math.inf:
                    err = max(err, float(y[:, 0].abs().max()) * 1e6)
                worst = max(worst, err)
                if err > 1e-5:
                    msgs.append(f"x = {x}, T = {t:g}, {dt}: error {err:.3g}")
        return col.deterministic("N.extreme_inputs", "logits +-1e30, +-1000, -1e5, -inf and T = 1e-8, 1e-3, 1e8 give finite points of "
                                 "the simplex (float64, float32), exactly 0 on -inf logits", worst, 1e-5, test="extreme inputs",
                                 reason="; ".join(msgs) or f"max |sum(y) - 1| = {worst:.2e}; all finite")

    col.guard("N.extreme_inputs", "extreme inputs", extreme)

    # ---- deterministic: half precision path vs float64 at the same noise
    def half():
        gen = torch.Generator().manual_seed(ctx.seed_for("N.half_precision") % (2**63))
        x = torch.tensor([0.4, -0.3, 1.1, 0.0], dtype=torch.float64).expand(4096, 4).contiguous()
        g = gumbel_noise((4096, 4), generator=gen)
        rows = {}
        err = 0.0
        for t in (1.0, 0.1):
            ref = relaxed_from_noise(x, g, t)
            for dt, tol in ((torch.float32, 1e-6), (torch.float16, 4e-3), (torch.bfloat16, 3e-2)):
                y = relaxed_from_noise(x.to(dt), g.to(dt), t).double()
                d = float((y - ref).abs().max())
                rows[f"{str(dt).replace('torch.', '')}_T{t:g}"] = d
                # inputs rounded to the dtype move y by at most ~|dx|/T: allow that
                err = max(err, d / (tol * max(1.0, 1.0 / t)))
        return col.deterministic("N.half_precision", "float32/float16/bfloat16 logits and noise give y within the dtype's "
                                 "precision of the float64 result (same noise; tolerance 1e-6, 4e-3, 3e-2, times 1/T for T < 1)",
                                 err, 1.0, test="precision of the relaxed sample",
                                 reason="max |y - y_float64|: " + ", ".join(f"{k} {v:.2e}" for k, v in rows.items()),
                                 details={"max_abs_diff": rows})

    col.guard("N.half_precision", "half precision", half)

    # ---- measured: tail of float32 vs float64 noise
    def measure():
        n = s["n_measure"]
        out = {}
        for name, fn in (("float64", t64), ("float32", t32)):
            hits = np.zeros(len(THRESHOLDS), dtype=np.int64)
            gmax = -math.inf
            for m, sd in seeded_chunks(n, CHUNK, ctx.seed_for(f"N.measure.{name}")):
                g = fn((m,), sd).double().numpy()
                hits += np.array([int(np.sum(g > t)) for t in THRESHOLDS])
                gmax = max(gmax, float(g.max()))
            out[name] = {"hits": hits.tolist(), "max": gmax}
        expected = (n * laws.gumbel_sf(np.array(THRESHOLDS))).tolist()
        from scipy import stats

        rows = []
        for j, t in enumerate(THRESHOLDS):
            row = {"threshold": t, "exact_sf": float(laws.gumbel_sf(t)), "expected": expected[j]}
            for name in ("float64", "float32"):
                h = out[name]["hits"][j]
                row[f"{name}_hits"] = h
                row[f"{name}_pvalue_two_sided"] = float(min(1.0, 2 * min(stats.binom.cdf(h, n, row["exact_sf"]),
                                                                         stats.binom.sf(h - 1, n, row["exact_sf"]))))
            rows.append(row)
        cut = NOISE_RANGE[torch.float32][1]
        sf_cut = float(laws.gumbel_sf(cut))
        text = (f"With n = {n:,} draws of each dtype: float32 noise never exceeded {out['float32']['max']:.4f} "
                f"(documented cap {cut:.4f} = -log(-log(1 - 2^-24))), while the exact law puts P(g > {cut:.4f}) = "
                f"{sf_cut:.3g} above it ({n * sf_cut:.3g} expected hits at this n); float64 noise reached "
                f"{out['float64']['max']:.4f} (cap {NOISE_RANGE[torch.float64][1]:.4f}, P = 2^-53). A tail-mass test "
                f"sees the float32 cut once n (1 - F(16.64)) is large (about 1e9 draws, the thorough budget): "
                f"categories that need g > 16.64 to win are under-sampled (bugs.md A.3). float64 is the default "
                f"noise dtype of both references.")
        col.finding("N.float32_tail", "Tail mass of float32 vs float64 noise", text,
                    {"n": n, "rows": rows, "float32_max": out["float32"]["max"], "float64_max": out["float64"]["max"],
                     "float32_cap": cut, "float64_cap": NOISE_RANGE[torch.float64][1]})
        col.figure("N.tail", "sweep", f"N: P(g > t) of float64 and float32 noise (n = {n:,}) vs the exact tail",
                   {"x": list(THRESHOLDS), "xlabel": "threshold t", "ylabel": "P(g > t)", "logy": True,
                    "vline": cut,
                    "series": [{"label": "exact 1 - F(t)", "y": [r["exact_sf"] for r in rows], "style": "line"},
                               {"label": "float64 (torch reference)", "y": [max(r["float64_hits"] / n, 0.0) for r in rows],
                                "hits": [r["float64_hits"] for r in rows], "n": n, "style": "points"},
                               {"label": "float32 (torch reference)", "y": [max(r["float32_hits"] / n, 0.0) for r in rows],
                                "hits": [r["float32_hits"] for r in rows], "n": n, "style": "points"},
                               {"label": "1 / n (resolution of the measurement)", "y": [1.0 / n] * len(rows), "style": "dashed"}]},
                   "Error bars: exact 95% Clopper-Pearson intervals of each rate; a count of 0 is drawn as its 95% upper "
                   "bound (open triangle); the vertical line is the float32 cap 16.6355.")
        # resolution of float32 noise
        m = s["n_resolution"]
        g32 = np.sort(t32((m,), ctx.seed_for("N.measure.resolution32")).double().numpy())
        dup = int(np.sum(g32[1:] == g32[:-1]))
        col.finding("N.float32_resolution", "Resolution of float32 noise",
                    f"{dup} repeated values among {m:,} float32 draws: the 2^-24 grid of the uniforms alone gives "
                    f"about {m * (m - 1) / 2 * 2.0 ** -24:.3g} expected coincidences (rounding g to float32 merges a "
                    f"few more); a continuous law has none. float64 noise is checked for collisions above "
                    f"(N.resolution.torch64).", {"n": m, "duplicates": dup, "grid_expected": m * (m - 1) / 2 * 2.0 ** -24})
        return []

    col.guard("N.measure", "float32 measurement", measure)
    return col.result()
