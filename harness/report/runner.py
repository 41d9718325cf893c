"""Run the selected experiments (in parallel processes when asked), judge every verdict as one
Holm family, and assemble the numbers of the report (the content of ``results.json``).

Reproducibility: every check draws from ``ctx.seed_for(check_id)``, experiments run with one
torch thread whatever the number of workers, and the wall-clock numbers (timestamps, run times)
live only under the ``"run"`` key, so two runs with the same seed and budget give the same
``results.json`` apart from ``"run"``.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from harness.core.version import __version__
from harness.core.budgets import Budget
from harness.checks.builders import error_verdict
from harness.core.context import RunContext
from harness.experiments import ExperimentResult, get, keep_verdict, select
from harness.experiments.base import Experiment
from harness.core.progress import progress
from harness.core.verdict import Verdict, judge_family
from harness.report.columns import SMALLEST_P

__all__ = ["ReportRun", "run_report", "execute", "claim_rows", "reproducible_view", "SCHEMA"]

SCHEMA = "gumbel-harness-report/1"


@dataclass
class ReportRun:
    """Everything a report is made of: the JSON payload, the PNGs of the figures (by figure id)
    and the overall decision."""

    payload: dict[str, Any]
    pngs: dict[str, bytes] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.payload.get("passed"))


def execute(exp_id: str, ctx: RunContext, draw: bool = True) -> tuple[ExperimentResult, dict[str, bytes]]:
    """Run one experiment (one torch thread) and draw its figures; never raises: a crash becomes a
    FAIL verdict naming it."""
    import numpy as np

    t0 = time.perf_counter()
    threads = None
    try:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001 - torch missing: the torch experiments report it themselves
        pass
    exp = get(exp_id)
    try:
        with np.errstate(all="ignore"):
            res = exp.run(ctx)
    except Exception as exc:  # noqa: BLE001
        tb = traceback.format_exc(limit=5)
        res = ExperimentResult(exp_id, [error_verdict(exp_id, f"{exp_id}.experiment", exp.claim,
                                                      f"the experiment crashed: {type(exc).__name__}: {exc}\n{tb}",
                                                      alpha=ctx.alpha, test="experiment")])
    finally:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
    res.seconds = time.perf_counter() - t0
    pngs: dict[str, bytes] = {}
    if draw:
        from harness.report.figures import render

        for f in res.figures:
            pngs[f.id] = render(f.to_dict())
    return res, pngs


def _worker_init(parent_pid: int | None = None, pdeathsig: bool = False) -> None:  # pragma: no cover - workers
    os.environ.setdefault("GUMBEL_HARNESS_PROGRESS", "0")
    from harness.core.lifeline import bind_to_parent

    bind_to_parent(parent_pid, pdeathsig=pdeathsig)


def _run_all(exps: Sequence[Experiment], ctx: RunContext, workers: int,
             show_progress: bool | None) -> dict[str, tuple[ExperimentResult, dict[str, bytes]]]:
    out: dict[str, tuple[ExperimentResult, dict[str, bytes]]] = {}
    order = sorted(exps, key=lambda e: -e.cost)
    if workers <= 1 or len(exps) <= 1:
        bar = progress(order, total=len(order), desc="experiments", enabled=show_progress)
        for e in bar:
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(e.id)
            out[e.id] = execute(e.id, ctx)
        return out
    from harness.core.lifeline import kill_executor

    mp = multiprocessing.get_context("spawn")
    main = threading.current_thread() is threading.main_thread()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp, initializer=_worker_init,
                               initargs=(os.getpid(), main))
    try:
        futs = {pool.submit(execute, e.id, ctx): e.id for e in order}
        for fut in progress(as_completed(futs), total=len(futs), desc="experiments", enabled=show_progress):
            eid = futs[fut]
            try:
                out[eid] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker: FAIL naming it
                out[eid] = (ExperimentResult(eid, [error_verdict(eid, f"{eid}.experiment", get(eid).claim,
                                                                 f"worker process failed: {type(exc).__name__}: {exc}",
                                                                 alpha=ctx.alpha, test="experiment")]), {})
    except BaseException:  # Ctrl-C (or any error): stop the workers now, not after their experiments
        kill_executor(pool)
        raise
    pool.shutdown(wait=True)
    return out


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    return f"{p:.3g}"


#: Summary column: the smallest p-value of a claim and the Holm level its rejection would need.


def _weakest_words(c: dict[str, Any]) -> str:
    from harness.output.rendering import effect_name

    parts = []
    for k, v in c["weakest_detectable"].items():
        if k == "cohen_w" and c.get("weakest_tv") is not None:
            parts.append(f"TV distance {c['weakest_tv']:.3g} (Cohen's w {v:.3g})")
        else:
            parts.append(f"{effect_name(k)} {v:.3g}")
    return "; ".join(parts) or "-"


def claim_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One summary row per claim (for the tables of the report and of the console). The p-value
    column shows the smallest raw p of the claim with the Holm level alpha / m its rejection
    would need (m statistical checks in the run): how far the claim is from failing."""
    rows = []
    fam = payload["family"]
    need = fam["alpha"] / max(1, int(fam.get("m") or 1))
    for c in payload["claims"]:
        minp = c["min_pvalue"]
        rows.append({
            "claim": c["id"], "title": c["title"],
            "checks": f"{c['n_statistical']}+{c['n_deterministic']}",
            SMALLEST_P: "-" if minp is None else f"{_fmt_p(minp)} (Holm needs {need:.2g})",
            "alpha": f"{fam['alpha']:g}",
            "weakest detectable effect (power 0.9)": _weakest_words(c),
            "verdict": "PASS" if c["passed"] else "FAIL",
        })
    return rows


def _claim_summary(exp: Experiment, budget: Budget, verdicts: list[Verdict], res: ExperimentResult) -> dict[str, Any]:
    stat = [v for v in verdicts if v.pvalue is not None]
    weakest: dict[str, float] = {}
    weakest_tv: float | None = None
    for v in stat:
        if v.detectable is not None and math.isfinite(v.detectable.value):
            weakest[v.detectable.measure] = max(weakest.get(v.detectable.measure, 0.0), float(v.detectable.value))
            tv = v.detectable.tv
            if v.detectable.measure == "cohen_w" and tv is not None and math.isfinite(tv):
                weakest_tv = max(weakest_tv or 0.0, float(tv))
    d = exp.describe(budget)
    d.update({
        "passed": bool(verdicts) and all(v.passed for v in verdicts),
        "n_checks": len(verdicts),
        "n_statistical": len(stat),
        "n_deterministic": len(verdicts) - len(stat),
        "n_failed": sum(1 for v in verdicts if not v.passed),
        "min_pvalue": min((float(v.pvalue) for v in stat), default=None),
        "min_adjusted_pvalue": min((float(v.adjusted_pvalue) for v in stat if v.adjusted_pvalue is not None), default=None),
        "weakest_detectable": weakest,
        "weakest_tv": weakest_tv,
        "failed_checks": [v.check for v in verdicts if not v.passed],
        "findings": [f.id for f in res.findings],
        "figures": [f.id for f in res.figures],
    })
    return d


def run_report(
    budget: Budget,
    seed: int = 0,
    only: Sequence[str] | None = None,
    workers: int | None = None,
    show_progress: bool | None = None,
    device: str = "cpu",
    scheduler: str | None = None,
    mutants: bool = True,
) -> ReportRun:
    """Run the experiments selected by ``only`` (claim ids or check ids; all when empty) at
    ``budget`` with run seed ``seed`` and return the judged report. With a Dask ``scheduler``
    (an address, or ``"local"``) the experiments run one after the other in this process and
    their large Monte Carlo loops are spread over the Dask cluster instead; the numbers are
    the same as with local processes. ``mutants`` (full runs only, i.e. without ``only``) adds
    the mutant table: the harness proving its own power (:func:`mutant_table`); the report then
    passes only if every claim holds *and* every mutant is rejected."""
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    exps, filters = select(only)
    reproduce = f"gumbel-harness report --budget {budget.name} --seed {seed} --only {{check}}"
    ctx = RunContext(budget=budget, seed=int(seed), reproduce=reproduce, device=device, workers=workers,
                     scheduler=scheduler)
    planned = sum(e.planned(ctx) for e in exps)
    ctx = ctx.with_family_size(planned)
    nworkers = 1 if scheduler else max(1, min(int(workers or os.cpu_count() or 1), len(exps)))
    raw = _run_all(exps, ctx, nworkers, show_progress)

    kept: list[Verdict] = []
    owner: list[str] = []
    matched = {f: False for f in filters}
    for e in exps:
        res, _ = raw[e.id]
        for v in res.verdicts:
            if keep_verdict(v.check, e.id, filters) or v.check == f"{e.id}.experiment":
                kept.append(v)
                owner.append(e.id)
                for f in filters:
                    if v.check == f or v.check.startswith(f + "."):
                        matched[f] = True
    for e in exps:  # a crashed experiment is its own (FAIL) answer to the filters that named it
        if any(v.check == f"{e.id}.experiment" for v in raw[e.id][0].verdicts):
            for f in filters:
                if f.split(".", 1)[0] == e.id:
                    matched[f] = True
    judged = judge_family(kept, budget.alpha)
    by_claim: dict[str, list[Verdict]] = {e.id: [] for e in exps}
    for v, eid in zip(judged, owner):
        by_claim[eid].append(v)
    claims = [_claim_summary(e, budget, by_claim[e.id], raw[e.id][0]) for e in exps]
    m = sum(1 for v in judged if v.pvalue is not None)
    figures = [f.to_dict() for e in exps for f in raw[e.id][0].figures]
    findings = [dict(f.to_dict(), claim=e.id) for e in exps for f in raw[e.id][0].findings]
    from harness.report.environment import environment

    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "harness_version": __version__,
        "passed": all(c["passed"] for c in claims) and bool(claims),
        "seed": int(seed),
        "budget": budget.to_dict(),
        "only": list(only or []),
        "family": {
            "method": "Holm-Bonferroni",
            "alpha": budget.alpha,
            "m": m,
            "planned_m": planned,
            "power_level": budget.alpha / max(1, planned),
            "note": ("every statistical check of the run is one Holm family at family-wise level alpha; power "
                     "statements use the Bonferroni level alpha / planned_m (the most stringent Holm applies); "
                     "deterministic checks (symbolic, quadrature, exact Jacobians) are judged by their tolerance"),
        },
        "reproduce": reproduce,
        "claims": claims,
        "verdicts": [v.to_dict() for v in judged],
        "figures": figures,
        "findings": findings,
        "environment": environment(),
        "run": {
            "started_utc": started.isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - t0, 3),
            "experiment_seconds": {e.id: round(raw[e.id][0].seconds, 3) for e in exps},
            "workers": nworkers,
        },
    }
    if mutants and not only:
        t_m = time.perf_counter()
        payload["mutants"] = mutant_table(budget, int(seed), show_progress)
        payload["passed"] = payload["passed"] and not payload["mutants"]["escaped"]
        payload["run"]["mutant_seconds"] = round(time.perf_counter() - t_m, 3)
        payload["run"]["wall_seconds"] = round(time.perf_counter() - t0, 3)
    pngs = {fid: png for e in exps for fid, png in raw[e.id][1].items()}
    return ReportRun(payload, pngs, [f for f, ok in matched.items() if not ok])


_BUDGET_RANK = {"quick": 0, "standard": 1, "thorough": 2}


def mutant_table(budget: Budget, seed: int, show_progress: bool | None = None) -> dict[str, Any]:
    """Run the mutant catalogue (:mod:`harness.mutants.catalogue`): every mutant at the budget it needs,
    with the checks its catalogue entry names. Mutants that need ``thorough`` run only in a
    thorough report (listed as not run otherwise). Returns the table (columns, rows: mutant,
    kind, bugs.md B number, mirrored issues, expected checks, budget needed / used, rejected?,
    checks that caught it, smallest Holm-adjusted p) and the names of escaped mutants."""
    from harness.output.terminal import mutant_rows
    from harness.checker.mutants import run_mutant
    from harness.mutants.catalogue import MUTANTS

    level = max(_BUDGET_RANK["standard"], _BUDGET_RANK.get(budget.name, 1))
    chosen = [m for m in MUTANTS.values() if _BUDGET_RANK[m.budget] <= level]
    entries = [(m, run_mutant(m, seed=seed)) for m in progress(chosen, total=len(chosen), desc="mutants",
                                                                enabled=show_progress)]
    head, rows = mutant_rows(entries)
    keep = [i for i, h in enumerate(head) if h != "s"]  # wall-clock seconds stay out of the numbers
    return {
        "note": ("each mutant is a deliberately broken sampler mirroring a real bug (bugs.md B); it is checked "
                 "at the budget it needs with the checks its catalogue entry names, and must be rejected"),
        "columns": [head[i] for i in keep],
        "rows": [[r[i] for i in keep] for r in rows],
        "escaped": [m.name for m, r in entries if r.passed],
        "not_run": {m.name: f"needs the {m.budget} budget" for m in MUTANTS.values() if m not in chosen},
    }


def reproducible_view(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without the wall-clock part (``"run"``): equal for equal seed and budget."""
    return {k: v for k, v in payload.items() if k != "run"}

