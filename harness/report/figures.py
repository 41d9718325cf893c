"""Figures of the report: PNG bytes drawn with matplotlib's Agg canvas from the numbers an
experiment recorded (:class:`harness.experiments.base.Figure`), so that every figure can be
redrawn from ``results.json`` alone.

Kinds: ``counts`` (standardized residuals (O - E) / sqrt(E) with the +-2 band and the
simultaneous Bonferroni band), ``ecdf`` (ECDF minus the exact CDF with the simultaneous DKW
band), ``qq`` (sample vs exact quantiles), ``sweep`` and ``loglog``
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

_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
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
    """Standardized residuals (O - E) / sqrt(E) per category, the +-2 band (a category's
    pointwise ~95% range, i.e. O within E +- 2 sqrt(E)) and the Bonferroni band over the K
    categories at the report's level 0.01 (simultaneous); categories with E = 0 but O > 0 are
    marked at the top."""
    from scipy.stats import norm

    obs, exp = _arr(d.get("observed")), _arr(d.get("expected"))
    labels = list(d.get("labels") or range(obs.size))
    k = obs.size
    idx = np.arange(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(exp > 0, (obs - exp) / np.sqrt(np.maximum(exp, 1e-300)), np.where(obs > 0, np.inf, 0.0))
    zb = float(norm.isf(0.01 / (2 * max(k, 1))))
    ax.axhspan(-2, 2, color="#c6dbef", alpha=0.8, lw=0, label="+-2 (O within E +- 2 sqrt(E))")
    ax.axhline(zb, color="#6baed6", ls="--", lw=0.8, label=f"+-{zb:.2f}: simultaneous 99% over {k} categories")
    ax.axhline(-zb, color="#6baed6", ls="--", lw=0.8)
    ax.axhline(0, color="black", lw=0.6)
    fin = np.isfinite(z)
    out = fin & (np.abs(z) > zb)
    ax.vlines(idx[fin], 0, z[fin], color="#555555", lw=0.8 if k > 30 else 1.5)
    ax.plot(idx[fin & ~out], z[fin & ~out], "o", color="#2171b5", ms=3 if k > 30 else 5, label="(O - E) / sqrt(E)")
    if out.any():
        ax.plot(idx[out], z[out], "o", color="#d62728", ms=5, label="outside the simultaneous band")
    top = max(zb * 1.6, float(np.nanmax(np.abs(z[fin]))) * 1.15 if fin.any() else zb * 1.6)
    if (~fin).any():
        ax.plot(idx[~fin], np.full(int((~fin).sum()), top * 0.95), "x", color="#d62728", ms=7,
                label="observed where E = 0")
    ax.set_ylim(-top, top)
    if k <= 30:
        ax.set_xticks(idx)
        ax.set_xticklabels([str(s) for s in labels], fontsize=7, rotation=90 if k > 12 else 0)
        ax.set_xlabel(d.get("xlabel", "category"))
    else:
        ax.set_xlabel(d.get("xlabel", "category index (labels in results.json)"))
    ax.set_ylabel("standardized residual (O - E) / sqrt(E)")
    ax.grid(True, axis="y", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, loc="best")


#: Level of the simultaneous band drawn around ECDF differences (the report's family alpha).
BAND_ALPHA = 0.01


def dkw_halfwidth(n: int, alpha: float = BAND_ALPHA) -> float:
    """Half-width of the simultaneous DKW band: P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2) = alpha
    (Massart's constant), valid for every continuous F and every n."""
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * max(int(n), 1)))


def _ecdf(ax, d: Mapping[str, Any]) -> None:
    """ECDF minus the exact CDF, F_n(x) - F(x), per series, with the simultaneous DKW band at
    level 0.01 around 0: a correct sampler's curve stays inside the band with probability at
    least 0.99 (the way simulation-based-calibration plots show uniformity); a deviation of the
    law shows up as a bulge, visible at n = 2e5 where the plain ECDF is indistinguishable."""
    exact = d.get("exact") or {}
    ex, ey = _arr(exact.get("x")), _arr(exact.get("y"))
    bands = []
    for j, s in enumerate(d.get("series", [])):
        x, y = _arr(s.get("x")), _arr(s.get("y"))
        if not x.size:
            continue
        if s.get("exact") and len(s["exact"]) == x.size:
            f = _arr(s["exact"])  # the exact CDF at the series' own points
        elif ex.size:
            f = np.interp(x, ex, ey)  # the exact CDF on a grid
        else:
            continue
        n = int(s.get("n") or (round(1.0 / y[0]) if y.size and y[0] > 0 else 0))
        c = _COLORS[j % len(_COLORS)]
        label = str(s.get("label", ""))
        ax.plot(x, y - f, "-", color=c, lw=1, marker=".", ms=2,
                label=label if "n =" in label else f"{label} (n = {n:,})")
        if n:
            bands.append((n, c, float(np.nanmin(x)), float(np.nanmax(x))))
    by_n: dict[int, list[tuple[str, float, float]]] = {}
    for n, c, lo, hi in bands:
        by_n.setdefault(n, []).append((c, lo, hi))
    for n, group in by_n.items():  # one band per sample size
        eps = dkw_halfwidth(n)
        c = group[0][0] if len(group) == 1 and len(by_n) > 1 else "#777777"
        lo, hi = min(g[1] for g in group), max(g[2] for g in group)
        ax.fill_between([lo, hi], [-eps, -eps], [eps, eps], color=c, alpha=0.12, lw=0)
        ax.hlines([-eps, eps], lo, hi, colors=c, lw=0.8, ls="--")
    if bands:
        ns = sorted({b[0] for b in bands})
        ax.plot([], [], "--", color="#777777", lw=0.8,
                label=(f"simultaneous {100 * (1 - BAND_ALPHA):g}% DKW band (+-{dkw_halfwidth(ns[0]):.3g} at n = {ns[0]:,})"
                       if len(ns) == 1 else f"simultaneous {100 * (1 - BAND_ALPHA):g}% DKW band of each series "
                       f"(its colour; +-{dkw_halfwidth(ns[-1]):.3g} at n = {ns[-1]:,})"))
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel(d.get("xlabel", "x"))
    ax.set_ylabel("ECDF - exact CDF,  F_n(x) - F(x)")
    ax.grid(True, lw=0.3, alpha=0.5)
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


def clopper_pearson(hits: np.ndarray, n: int, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) two-sided confidence interval of a binomial rate, per count."""
    from scipy.stats import beta

    a = (1.0 - level) / 2.0
    k = np.asarray(hits, dtype=float)
    lo = np.where(k > 0, beta.ppf(a, k, n - k + 1), 0.0)
    hi = np.where(k < n, beta.ppf(1 - a, k + 1, n - k), 1.0)
    return lo, hi


def _sweep(ax, d: Mapping[str, Any]) -> None:
    x = _arr(d.get("x"))
    for j, s in enumerate(d.get("series", [])):
        y = _arr(s.get("y"))
        style = dict(_STYLE.get(s.get("style", "points"), _STYLE["points"]), color=_COLORS[j % len(_COLORS)])
        yerr = None
        if s.get("hits") is not None and s.get("n"):  # a binomial rate: exact 95% intervals
            n = int(s["n"])
            hits = _arr(s["hits"])
            y = hits / n
            lo, hi = clopper_pearson(hits, n)
            yerr = np.vstack([y - lo, hi - y])
            zero = hits == 0
            if zero.any():  # nothing observed: the upper bound alone (a 0 has no place on a log axis)
                ax.plot(x[zero], hi[zero], "v", ms=6, mfc="none", color=style["color"],
                        label=f"{s.get('label')}: 0 hits, 95% upper bound")
            s = dict(s, label=f"{s.get('label')} (95% Clopper-Pearson)")
        elif s.get("yerr") is not None:
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
            if ye.ndim == 2 and d.get("logy"):
                ye = np.vstack([np.minimum(ye[0], y[mask] * 0.999), ye[1]])
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
    from harness.report.columns import SMALLEST_P

    import textwrap

    cols = ["claim", "title", "checks", SMALLEST_P, "alpha", "weakest detectable effect (power 0.9)", "verdict"]
    # long titles and effects wrap (never cut): every row gets the height of the tallest one
    wrap = {"title": 44, "weakest detectable effect (power 0.9)": 115}
    cells = [[textwrap.fill(str(r.get(c, "")), wrap[c]) if c in wrap else str(r.get(c, "")) for c in cols]
             for r in rows]
    lines = max([1] + [cell.count("\n") + 1 for row in cells for cell in row])
    fig = _new(15.0, (0.1 + 0.16 * lines) * (len(rows) + 1) + 0.2)
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
