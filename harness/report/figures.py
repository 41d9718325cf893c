"""Figures of the report: PNG bytes drawn with matplotlib's Agg canvas from the numbers an
experiment recorded (:class:`harness.experiments.base.Figure`), so that every figure can be
redrawn from ``results.json`` alone.

Kinds: ``counts`` (observed vs expected bars with the +-2 sqrt(E) band), ``ecdf`` (empirical
CDFs against the exact CDF), ``qq`` (sample vs exact quantiles), ``sweep`` and ``loglog``
(measured points with error bars, exact curves and asymptotes over a parameter, optionally a
fitted line), ``scatter`` (errors against a parameter with a tolerance line), and the claim
summary table (:func:`summary_png`). No pyplot: each figure is its own ``Figure`` object (no
global state, safe in worker processes).
"""
from __future__ import annotations

import io
import math
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["render", "summary_png", "KINDS"]

KINDS = ("counts", "ecdf", "qq", "sweep", "loglog", "scatter")


def _new(width: float = 7.0, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _arr(v: Sequence[Any] | None) -> np.ndarray:
    return np.array([_num(x) for x in (v or [])], dtype=float)


def _title(ax, title: str) -> None:
    ax.set_title(title if len(title) <= 90 else title[:87] + "...", fontsize=9)


def _counts(ax, d: Mapping[str, Any]) -> None:
    obs, exp = _arr(d.get("observed")), _arr(d.get("expected"))
    labels = list(d.get("labels") or range(obs.size))
    k = obs.size
    idx = np.arange(k)
    ax.bar(idx, exp, width=0.8, color="#c6dbef", edgecolor="#6baed6", label="expected N p")
    band = 2 * np.sqrt(np.maximum(exp, 0))
    ax.errorbar(idx, exp, yerr=band, fmt="none", ecolor="#6baed6", elinewidth=0.8, capsize=2, label="+-2 sqrt(E)")
    ax.plot(idx, obs, "o", color="#d62728", ms=3 if k > 30 else 5, label="observed")
    if k <= 30:
        ax.set_xticks(idx)
        ax.set_xticklabels([str(s) for s in labels], fontsize=7, rotation=90 if k > 12 else 0)
    else:
        ax.set_xlabel("category (see results.json for labels)")
    if np.nanmax(exp) / max(np.nanmin(exp[exp > 0]) if np.any(exp > 0) else 1, 1e-300) > 100:
        ax.set_yscale("log")
    ax.set_ylabel("count")
    ax.legend(fontsize=7)


def _ecdf(ax, d: Mapping[str, Any]) -> None:
    exact = d.get("exact")
    if exact:
        ax.plot(_arr(exact.get("x")), _arr(exact.get("y")), "-", color="black", lw=1.2, label="exact CDF")
    for s in d.get("series", []):
        x, y = _arr(s.get("x")), _arr(s.get("y"))
        ax.step(x, y, where="post", lw=1, label=f"ECDF {s.get('label', '')}")
        if d.get("per_series_exact") and s.get("exact"):
            ax.plot(x, _arr(s.get("exact")), ":", color="black", lw=1)
    ax.set_xlabel(d.get("xlabel", "x"))
    ax.set_ylabel("P(X <= x)")
    ax.legend(fontsize=7)


def _qq(ax, d: Mapping[str, Any]) -> None:
    e, s = _arr(d.get("exact")), _arr(d.get("sample"))
    ax.plot(e, s, ".", ms=3, color="#1f77b4", label="quantiles")
    lo, hi = np.nanmin(np.concatenate([e, s])), np.nanmax(np.concatenate([e, s]))
    ax.plot([lo, hi], [lo, hi], "-", color="black", lw=1, label="y = x")
    ax.set_xlabel(d.get("xlabel", "exact quantile"))
    ax.set_ylabel(d.get("ylabel", "sample quantile"))
    ax.legend(fontsize=7)


_STYLE = {"points": dict(fmt="o", ms=4, capsize=3), "line": dict(fmt="-", lw=1.5), "dashed": dict(fmt="--", lw=1)}


def _sweep(ax, d: Mapping[str, Any]) -> None:
    x = _arr(d.get("x"))
    for s in d.get("series", []):
        y = _arr(s.get("y"))
        style = dict(_STYLE.get(s.get("style", "points"), _STYLE["points"]))
        yerr = None
        if s.get("yerr") is not None:
            yerr = _arr(s.get("yerr"))
        elif s.get("ylo") is not None and s.get("yhi") is not None:
            yerr = np.vstack([y - _arr(s["ylo"]), _arr(s["yhi"]) - y])
        mask = np.isfinite(y)
        if d.get("logy"):
            mask &= y > 0
        if not mask.any():
            continue
        if yerr is not None:
            ye = yerr[..., mask] if yerr.ndim == 2 else yerr[mask]
            if d.get("logy") and ye.ndim == 1:
                ye = np.vstack([np.minimum(ye, y[mask] * 0.999), ye])
            ax.errorbar(x[mask], y[mask], yerr=ye, label=s.get("label"), **style)
        else:
            ax.errorbar(x[mask], y[mask], label=s.get("label"), **{k: v for k, v in style.items() if k != "capsize"})
    fit = d.get("fit")
    if fit:
        fx = _arr(fit.get("x"))
        if fx.size:
            gx = np.geomspace(fx.min(), fx.max(), 50)
            ax.plot(gx, np.exp(_num(fit.get("intercept")) + _num(fit.get("slope")) * np.log(gx)), "-",
                    color="#2ca02c", lw=2, alpha=0.7, label=fit.get("label", "fit"))
    if d.get("hline") is not None:
        ax.axhline(_num(d["hline"]), color="grey", lw=0.8, ls=":")
    if d.get("vline") is not None:
        ax.axvline(_num(d["vline"]), color="grey", lw=0.8, ls=":")
    _finish(ax, d)


def _finish(ax, d: Mapping[str, Any], ncol: int = 1) -> None:
    """Axis scales, labels, grid and legend from the figure data."""
    if d.get("logx"):
        ax.set_xscale("log")
    if d.get("logy"):
        ax.set_yscale("log")
    ax.set_xlabel(d.get("xlabel", "x"))
    ax.set_ylabel(d.get("ylabel", "y"))
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, ncol=ncol)


def _scatter(ax, d: Mapping[str, Any]) -> None:
    x, y = _arr(d.get("x")), _arr(d.get("y"))
    groups = list(d.get("group") or [""] * x.size)
    for gname in dict.fromkeys(groups):
        m = np.array([g == gname for g in groups])
        ax.plot(x[m], y[m], "o", ms=4, label=str(gname))
    if d.get("tolerance") is not None:
        ax.axhline(_num(d["tolerance"]), color="#d62728", lw=1, ls="--", label=f"tolerance {d['tolerance']:g}")
    _finish(ax, d, ncol=2)


_DRAW = {"counts": _counts, "ecdf": _ecdf, "qq": _qq, "sweep": _sweep, "loglog": _sweep, "scatter": _scatter}


def render(figure: Mapping[str, Any]) -> bytes:
    """PNG bytes of one figure given as ``Figure.to_dict()``; an unknown kind or bad data gives
    a placeholder image naming the problem (a report is never lost to one figure)."""
    kind = figure.get("kind", "")
    k = len(figure.get("data", {}).get("observed", []) or [])
    fig = _new(9.0 if k > 30 else 7.0, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    try:
        _DRAW[kind](ax, figure.get("data", {}))
    except Exception as exc:  # noqa: BLE001
        ax.clear()
        ax.text(0.5, 0.5, f"figure {figure.get('id')} could not be drawn:\n{type(exc).__name__}: {exc}",
                ha="center", va="center", fontsize=8, wrap=True)
        ax.set_axis_off()
    _title(ax, figure.get("title", ""))
    return _png(fig)


def summary_png(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The claim summary table as an image (one row per claim)."""
    from harness.report.runner import SMALLEST_P

    cols = ["claim", "title", "checks", SMALLEST_P, "alpha", "weakest detectable effect (power 0.9)", "verdict"]
    short = lambda s, m: s if len(s) <= m else s[: m - 3] + "..."  # noqa: E731
    cells = [[short(str(r.get(c, "")), 40 if c == "title" else 110) for c in cols] for r in rows]
    fig = _new(15.0, 0.26 * (len(rows) + 1) + 0.2)
    ax = fig.add_axes([0.0, 0.0, 1.0, 1.0])
    ax.set_axis_off()
    widths = [0.04, 0.2, 0.04, 0.11, 0.04, 0.51, 0.06]
    table = ax.table(cellText=cells, colLabels=cols, colWidths=widths, cellLoc="left", colLoc="left",
                     bbox=[0.0, 0.0, 1.0, 1.0])
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (i, j), cell in table.get_celld().items():
        cell.PAD = 0.02
        if i == 0:
            cell.set_facecolor("#dddddd")
        elif j == len(cols) - 1:
            cell.set_facecolor("#c7e9c0" if cells[i - 1][j] == "PASS" else "#fcbba1")
    return _png(fig)
