"""The one rendering path for HTML and Markdown documents (the validation report, the checker's
single-target, conformance-matrix and mutant reports).

One Jinja2 :class:`~jinja2.Environment` loads the templates of ``harness/output/templates/``
(package data). Autoescaping is on for ``*.html`` templates, so every value is HTML-escaped
exactly once unless a template marks it safe (only the base64 figure data is). Markdown
templates escape target-controlled text with the filters below: ``md`` (text and table
cells: HTML-significant characters become entities, Markdown punctuation is
backslash-escaped, newlines become spaces) and ``mdcode`` (an inline code span whose fence is
longer than any backtick run inside, pipes escaped for tables). Number formatting filters
(``p``, ``stat``) and the effect names in words (``effect``) are shared by all documents.
"""
from __future__ import annotations

import base64
import math
import re
from functools import lru_cache
from typing import Any, Mapping

__all__ = ["render", "environment", "md_escape", "md_code", "md_table", "md_fence", "fmt_p", "fmt_stat", "effect_name", "effect_text"]

# backslash-escaped everywhere; "_" only at a word boundary (intraword "_" is literal in CommonMark)
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md_escape(value: Any) -> str:
    """Text safe inside Markdown (also in a table cell): no raw HTML, no emphasis, no pipes."""
    s = "" if value is None else str(value)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = re.sub(r"\s*[\r\n]+\s*", " ", s)
    return "\\" + s if s.startswith("#") else s


def md_code(value: Any, table: bool = True) -> str:
    """An inline code span showing ``value`` literally (pipes escaped when in a table)."""
    s = re.sub(r"\s*[\r\n]+\s*", " ", "" if value is None else str(value))
    if not s:
        return ""
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")) else ""
    if table:
        s = s.replace("|", "\\|")
    return f"{fence}{pad}{s}{pad}{fence}"


def md_fence(value: Any) -> str:
    """A fenced code block showing ``value`` literally (the fence outgrows any backtick run)."""
    s = "" if value is None else str(value)
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * max(3, run + 1)
    return f"{fence}\n{s}\n{fence}"


def md_table(spec: tuple) -> str:
    """A GFM table from ``(head, rows)``; every cell goes through :func:`md_escape`."""
    head, rows = spec
    out = ["| " + " | ".join(md_escape(h) for h in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _fmt_number(v: Any, spec: str, nan: str) -> str:
    """``v`` formatted with ``spec``; ``-`` when absent, ``nan`` for NaN, ``str(v)`` if not a number."""
    if v is None:
        return "-"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return nan if math.isnan(f) else format(f, spec)


def fmt_p(v: Any) -> str:
    """A p-value or a small number: 3 significant digits, ``-`` when absent."""
    return _fmt_number(v, ".3g", "-")


def fmt_stat(v: Any) -> str:
    return _fmt_number(v, ".4g", "nan")


#: Effect measures of :class:`harness.core.verdict.Detectable`, in words.
EFFECT_NAMES = {
    "cohen_w": "Cohen's w",
    "tv": "TV distance",
    "ks_sup_distance": "sup-distance between CDFs",
    "relative_rate": "relative change of the tail rate",
    "relative_temperature_error": "relative temperature error",
    "second_moment_shift": "shift of the second moment",
    "gradient_shift": "shift of the mean gradient",
    "slope_shift": "shift of the log-log slope",
    "resolution_bits": "resolution in bits",
    "z_units": "mean shift (standard errors)",
}


def effect_name(measure: str) -> str:
    return EFFECT_NAMES.get(measure, str(measure).replace("_", " "))


def effect_text(det: Mapping[str, Any] | Any | None, tolerance: Any = None) -> str:
    """The power statement of one check in words: ``detectable TV distance 0.0011 (Cohen's w
    0.0057)``, ``detectable sup-distance between CDFs 0.004``, or the tolerance of a
    deterministic check. ``det`` is a :class:`Detectable` or its ``to_dict()``."""
    if det is None:
        return f"tolerance {fmt_p(tolerance)}" if tolerance is not None else "-"
    get = det.get if isinstance(det, Mapping) else (lambda k: getattr(det, k, None))
    measure, value, tv = get("measure"), get("value"), get("tv")
    try:
        tv_ok = tv is not None and math.isfinite(float(tv))
    except (TypeError, ValueError):
        tv_ok = False
    if measure == "cohen_w" and tv_ok:
        return f"detectable TV distance {fmt_p(tv)} (Cohen's w {fmt_p(value)})"
    return f"detectable {effect_name(measure)} {fmt_p(value)}"


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode("ascii")


def _bound(v: Any) -> str:
    """``v.bound.describe()`` when the verdict carries a certificate (engineer stats' field)."""
    b = getattr(v, "bound", None) if not isinstance(v, Mapping) else v.get("bound")
    if b is None:
        return ""
    if hasattr(b, "describe"):
        return str(b.describe())
    if isinstance(b, Mapping):  # a Bound's to_dict() inside results.json
        try:
            from harness.core.verdict import Bound  # type: ignore[attr-defined]

            return Bound(**{k: b[k] for k in ("measure", "value", "confidence", "note") if k in b}).describe()
        except Exception:  # noqa: BLE001 - older payloads / no Bound class yet
            return f"{b.get('measure')} <= {fmt_p(b.get('value'))} at {fmt_p(b.get('confidence'))} confidence"
    return str(b)


@lru_cache(maxsize=1)
def environment():
    """The shared Jinja2 environment (created once)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("harness.output", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(md=md_escape, mdcode=md_code, mdtable=md_table, fence=md_fence, p=fmt_p, stat=fmt_stat, effect=effect_text, b64=_b64,
                       bound=_bound)
    return env


def render(template: str, **context: Any) -> str:
    """Render ``harness/output/templates/<template>`` (HTML escaped by default, Markdown by filters)."""
    return environment().get_template(template).render(**context)
