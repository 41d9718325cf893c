"""The figure of a compare configuration: both empirical laws, their difference and its
simultaneous band (``details["figure"]`` of :mod:`harness.checks.twosample`), as PNG bytes
(matplotlib, Agg backend; None when matplotlib is missing). Counts: the categories drawn, up to
the :data:`SHOWN` most frequent (pooled), in category order; samples: both ECDFs on the pooled
quantile grid and ``F_A - F_B`` with the DKW band."""
from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = ["figure_png", "SHOWN"]

#: categories shown in a count figure (the most frequent pooled, in category order)
SHOWN = 64


def figure_png(verdict: Any, a_name: str, b_name: str) -> bytes | None:
    fig_data = verdict.details.get("figure") or {}
    if not fig_data:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (top, bot) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    status = {True: "PASS", False: "FAIL", None: "?"}[verdict.passed]
    if "categories" in fig_data:
        cats = np.asarray(fig_data["categories"])
        pa, pb = np.asarray(fig_data["p_a"]), np.asarray(fig_data["p_b"])
        diff, hw = np.asarray(fig_data["diff"]), np.asarray(fig_data["half_width"])
        keep = np.sort(np.argsort(-(pa + pb), kind="stable")[:SHOWN])
        x = np.arange(keep.size)
        top.bar(x - 0.2, pa[keep], 0.4, label=f"A: {a_name}")
        top.bar(x + 0.2, pb[keep], 0.4, label=f"B: {b_name}")
        top.set_ylabel("empirical probability")
        bot.bar(x, diff[keep], 0.6, color="k", label="p_A - p_B")
        bot.fill_between(x, -hw[keep], hw[keep], color="C2", alpha=0.3, step="mid",
                         label=f"simultaneous band (level {fig_data.get('level', 0):.2g})")
        labels = [str(int(c)) for c in cats[keep]]
        bot.set_xticks(x, labels, rotation=90, fontsize=6)
        bot.set_xlabel("category" + (f" (the {SHOWN} most frequent of {cats.size} drawn)" if cats.size > SHOWN else ""))
    else:
        x = np.asarray(fig_data["x"])
        top.step(x, fig_data["F_a"], where="post", label=f"A: {a_name}")
        top.step(x, fig_data["F_b"], where="post", label=f"B: {b_name}")
        top.set_ylabel("empirical CDF")
        hw = float(fig_data["half_width"])
        bot.plot(x, fig_data["diff"], "k-", label="F_A - F_B")
        bot.axhspan(-hw, hw, color="C2", alpha=0.3, label="simultaneous DKW band")
        bot.set_xlabel("value")
    top.legend(fontsize=7)
    bot.legend(fontsize=7)
    top.set_title(f"{verdict.check}: {status} (p = {verdict.pvalue:.3g})", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
