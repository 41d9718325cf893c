"""Terminal text renderings of check results: the per-target table, the conformance matrix
(targets x checks) and the mutant table, and the row data they share with the Markdown / HTML
documents of :mod:`harness.output.documents` (rendered through :mod:`harness.output.rendering`)."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from harness.core.verdict import Verdict

__all__ = ["text_table", "text_report", "matrix", "matrix_text", "mismatches", "EXIT_MEANINGS", "compare_report",
           "compare_rows", "COMPARE_EXIT",
           "mutant_rows", "mutant_text"]

def _f(x: Any, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return format(x, spec) if isinstance(x, (int, float)) else str(x)


def _power(v: Verdict) -> str:
    d = v.detectable
    if d is None:
        return f"tol {_f(v.tolerance)}" if v.tolerance is not None else "-"
    s = f"{d.measure} {_f(d.value)}"
    if d.tv is not None and math.isfinite(d.tv):
        s += f" (TV {_f(d.tv)})"
    return s


def _status(v: Verdict) -> str:
    return {True: "PASS", False: "FAIL", None: "?"}[v.passed]


def _verdict_rows(verdicts: Iterable[Verdict]) -> list[list[str]]:
    return [[v.check, v.claim, v.test, _f(v.statistic, ".4g"), _f(v.pvalue), _f(v.adjusted_pvalue),
             _power(v), str(v.n), _f(v.details.get("seconds"), ".2f"), _status(v)] for v in verdicts]


def _rows(res) -> list[list[str]]:
    """Every verdict's row, law first, then the contract checks."""
    return _verdict_rows(res.law_verdicts + res.contract_verdicts)


HEAD = ["check", "claim", "test", "statistic", "p", "Holm p", "power (detects at 0.9)", "n", "s", "verdict"]

#: What each exit status of ``gumbel-harness check`` means (also in ``--help`` and the README).
EXIT_MEANINGS = {0: "the law and the contract hold", 1: "the law is rejected",
                 3: "the law holds, the contract fails", 2: "usage or load error"}


def _cut(cell: str, width: int) -> str:
    """``cell`` within ``width`` characters, cut at a word boundary (never mid-word) with "...";
    the full text is in ``-v`` / ``--out`` / the JSON."""
    if len(cell) <= width:
        return cell
    head = cell[: width - 3]
    space = head.rfind(" ")
    if space >= width // 2:
        head = head[:space]
    return head.rstrip(" ,;:(") + "..."


def _ascii(head: Sequence[str], rows: Sequence[Sequence[str]], max_w: int = 48) -> str:
    rows = [[_cut(c, max_w) for c in r] for r in rows]
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w[i]) for i, h in enumerate(head))
    out = [line, "  ".join("-" * x for x in w)]
    out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    return "\n".join(out)


def _law_block(res) -> list[str]:
    if not res.law_verdicts:
        return []
    return [f"LAW ({len(res.law_verdicts)} checks; the statistical ones are one Holm family of "
            f"{res.family_size} at alpha {res.alpha:g}):", _ascii(HEAD, _verdict_rows(res.law_verdicts))]


def _contract_block(res) -> list[str]:
    if not res.contract_verdicts:
        return []
    return [f"CONTRACT checks ({len(res.contract_verdicts)}: dtype / shape):",
            _ascii(HEAD, _verdict_rows(res.contract_verdicts))]


def text_table(res) -> str:
    """The law's table (statistical checks and gradient identities), then the contract checks'."""
    law, con = _law_block(res), _contract_block(res)
    return "\n".join(law + ([""] if law and con else []) + con) or "(no plan check ran)"


def _power_lines(res) -> list[str]:
    p = res.info.get("power", {})
    out = []
    if "tv_0.002" in p:
        t = p["tv_0.002"]
        out.append(f"power vs any TV-0.002 deviation ({t['check']}, N = {t['n']:,}): {t['power']:.6f} "
                   f"at level {p['level']:.3g} (alpha {res.alpha:g} / {p['family_size']} checks)")
    if "temperature_2pct" in p:
        t = p["temperature_2pct"]
        out.append(f"power vs a 2% temperature error ({t['check']}, N = {t['n']:,}): {t['power']:.6f} "
                   f"at level {p['level']:.3g}")
    if "tail_grades" in p:  # token kind: exact binomial power of TK.tail per noise precision grade
        t = p["tail_grades"]
        out.append(f"tail power ({t['check']}, N = {t['n']:,}, gap {t['gap']:.1f} nats, level {t['level']:.3g}): "
                   + ", ".join(f"{g} {v:.3f}" for g, v in t["power"].items()))
    return out


def _finding_rows(res, severities=("fail", "warn", "ok", "info")) -> list[list[str]]:
    order = {s: i for i, s in enumerate(("fail", "warn", "ok", "info"))}
    fs = sorted((f for f in res.findings if f.severity in severities), key=lambda f: order.get(f.severity, 9))
    return [[f.severity.upper(), f.probe, f.input, f.outcome, _peer_note(res, f) + f.detail] for f in fs]


def _peer_note(res, f) -> str:
    """"(torch's own F.gumbel_softmax gets this warning too) " for a warning the kind's reference
    implementation also gets (:attr:`harness.kinds.Kind.peer_warnings`)."""
    from harness.kinds import UnknownKind, get_kind

    try:
        kind = get_kind(res.kind)
    except UnknownKind:
        return ""
    if f.severity == "warn" and (f.probe, f.outcome) in kind.peer_warnings:
        return f"({kind.peer} gets this warning too) "
    return ""


def _meaning(res) -> str:
    """EXIT_MEANINGS, saying which side was not checked (``--only`` subsets, ``--only none``)."""
    text = EXIT_MEANINGS[res.exit_status]
    if res.exit_status == 0 and not res.law_verdicts:
        return "no law check ran; the contract holds" if getattr(res, "contract_checked", True) else "nothing checked"
    if res.exit_status == 0 and not getattr(res, "contract_checked", True):
        return "the law holds (the contract was not checked)"
    return text


def text_report(res, findings: str = "fail,warn") -> str:
    """Headline (law first) and exit status, the law's table and power figures, the contract
    checks and probe findings, then the failures explained (law first)."""
    lines = [f"{res.target} [{res.kind}] budget={res.budget} seed={res.seed}: {res.headline}",
             f"exit status {res.exit_status}: {_meaning(res)} ({res.seconds:.1f} s in the check)"]
    lines += [""] + _law_block(res) if res.law_verdicts else ["", "LAW: no law check selected"]
    pl = _power_lines(res)
    if pl:
        lines += [""] + pl
    if res.contract_verdicts:
        lines += [""] + _contract_block(res)
    sev = tuple(findings.split(","))
    fr = _finding_rows(res, sev)
    if res.findings:
        nf, nw = len(res.failed_findings), len(res.warnings)
        lines += ["", f"CONTRACT probe findings ({len(res.findings)}: {nf} fail, {nw} warn; shown: "
                  + "/".join(sev) + "):"]
        lines.append(_ascii(["severity", "probe", "input", "outcome", "detail"], fr, max_w=90) if fr else "  (none)")
    if res.failed_verdicts or res.failed_findings:
        lines += ["", "Failures (law first):", "", res.explain()]
    return "\n".join(lines)


# ---------------------------------------------------------------- conformance matrix -------

def _ok(b: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "either"}[b]


def _law_cell(r) -> str:
    return _ok(r.law_passed) if r.law_verdicts else "-"


def _contract_cell(r) -> str:
    return _ok(r.contract_passed) if (r.contract_verdicts or r.findings) else "-"


def _expectation(r) -> tuple[str, str]:
    """(expected "law/contract", matched "yes"/"NO"/"") of a built-in's result."""
    from harness.targets.loading import BUILTINS

    t = BUILTINS.get(r.target)
    if t is None:
        return "", ""
    e = t.expected(r.budget)
    return f"{_ok(e['law'])}/{_ok(e['contract'])}", "yes" if t.matches(r) else "NO"


def mismatches(results: Sequence) -> list[str]:
    """Targets of ``results`` whose outcome differs from their built-in expectation."""
    return [r.target for r in results if _expectation(r)[1] == "NO"]


def matrix(results: Sequence, skipped: dict[str, str] | None = None) -> tuple[list[str], list[list[str]]]:
    """Columns (check groups: the first two parts of the check ids, in plan order) and one row
    per target: PASS / FAIL (k/m) / "" (not applicable), findings, law, contract, the expected
    law/contract verdicts, whether they matched, seconds."""
    cols: list[str] = []
    for r in results:
        for c in r.plan:
            if c["column"] not in cols:
                cols.append(c["column"])
    extra = any(any(v.check in ("C1.log_prob", "extra") for v in r.verdicts) for r in results)
    if extra:
        cols.append("C1.log_prob")
    rows = []
    for r in results:
        st = r.plan_status()
        cells = []
        for col in cols:
            ids = [c["id"] for c in r.plan if c["column"] == col] or ([col] if col in st else [])
            if not ids:
                cells.append("")
                continue
            fails = sum(1 for i in ids if st.get(i) == "FAIL")
            cells.append("PASS" if not fails else f"FAIL {fails}/{len(ids)}")
        nf, nw = len(r.failed_findings), len(r.warnings)
        exp, match = _expectation(r)
        rows.append([r.target, r.kind] + cells + [f"{nf} fail / {nw} warn", _law_cell(r),
                                                  _contract_cell(r), exp, match, f"{r.seconds:.1f}"])
    for name, why in (skipped or {}).items():
        rows.append([name, "-"] + [""] * len(cols) + ["", f"skipped: {why}", "", "", "", ""])
    return ["target", "kind"] + cols + ["probe findings", "law", "contract", "expected", "match", "s"], rows


def _failing_groups(r) -> str:
    """Failing law check groups, then failing contract checks and probes, abbreviated."""
    st = r.plan_status()
    groups = {c["id"]: c.get("group", "law") for c in r.plan}
    law, con = [], []
    for c in r.plan:
        if st.get(c["id"]) == "FAIL":
            (con if groups[c["id"]] == "contract" else law).append(c["column"])
    for v in r.verdicts:
        if v.passed is not True and str(v.details.get("plan_check", v.check)) not in groups:
            law.append(v.check)
    con += [f.probe for f in r.failed_findings]
    law, con = list(dict.fromkeys(law)), list(dict.fromkeys(con))
    parts = []
    if law:
        parts.append("law: " + ",".join(law))
    if con:
        parts.append("contract: " + ",".join(x.replace("probe.", "p.").replace("adversarial.", "adv.")
                                               .replace("contract.", "c.") for x in con))
    return "; ".join(parts) or "-"


def matrix_text(results, skipped=None, width: int = 100) -> str:
    """The conformance matrix for a terminal of ``width`` columns: one row per target with its
    law and contract verdicts, the expected ones and whether they matched; the failing check
    groups (abbreviated: p. probe, adv. adversarial, c. contract) are wrapped under the row."""
    import textwrap

    from harness.kinds import get_kind

    head = ["target", "kind", "law", "contract", "expected", "match", "s"]
    rows, notes = [], []
    for r in results:
        exp, match = _expectation(r)
        rows.append([r.target, get_kind(r.kind).abbrev, _law_cell(r), _contract_cell(r),
                     exp or "-", match or "-", f"{r.seconds:.1f}"])
        notes.append(_failing_groups(r))
    for name, why in (skipped or {}).items():
        rows.append([name, "-", "-", "-", "-", "-", "-"])
        notes.append(f"skipped: {why}")
    table = _ascii(head, rows, max_w=30).split("\n")
    out = table[:2]
    for line, note in zip(table[2:], notes):
        out.append(line)
        if note != "-":
            out += textwrap.wrap(note, width=width, initial_indent="    ", subsequent_indent="      ",
                                 break_on_hyphens=False)
    mm = mismatches(results)
    out += ["", f"expected: law/contract per built-in (either: an expected failure this budget cannot "
            f"always show; '-': not run); mismatches: {len(mm)}" + (f" ({', '.join(mm)})" if mm else "")]
    return "\n".join(textwrap.fill(x, width, break_on_hyphens=False) if len(x) > width and not x.startswith(" ")
                     else x for x in out)


# ---------------------------------------------------------------- mutant table -------------

def _rank(budget: str) -> int:
    return {"quick": 0, "standard": 1, "thorough": 2}.get(budget, 1)


def mutant_rows(entries: Sequence[tuple[Any, Any]]) -> tuple[list[str], list[list[str]]]:
    """``entries``: (Mutant, CheckResult). Row: mutant, kind, bugs.md B number, mirrored issues,
    expected catching checks, the budget it needs, the budget it ran at, rejected?, the checks
    that caught it, the smallest Holm-adjusted p ("forced": a forced FAIL), seconds."""
    head = ["mutant", "kind", "B", "mirrors", "expected", "needs", "run at", "rejected", "caught by", "min Holm p",
            "s"]
    rows = []
    for m, r in entries:
        caught = r.caught_by()
        ps = [c["adjusted"] for c in caught if c["adjusted"] is not None]
        rows.append([m.name, m.kind, f"B{m.bug}", m.mirrors, ", ".join(m.caught_by), m.budget, r.budget,
                     "yes" if not r.passed else (f"no (needs {m.budget})" if _rank(m.budget) > _rank(r.budget)
                                                 else "NO"), ", ".join(sorted({c["check"] for c in caught})) or "-",
                     _f(min(ps)) if ps else ("forced" if caught else "-"), f"{r.seconds:.1f}"])
    return head, rows


def mutant_text(entries) -> str:
    head, rows = mutant_rows(entries)
    return _ascii(head, rows, max_w=70)


# ---------------------------------------------------------------- compare -------------------

COMPARE_HEAD = ["check", "test", "statistic", "p", "Holm p", "power (detects at 0.9)", "PASS certifies", "n",
                "s", "verdict"]

#: What each exit status of ``gumbel-harness compare`` means.
COMPARE_EXIT = {0: "same law: no configuration shows a difference", 1: "the laws differ",
                2: "usage or load error"}


def _certifies(v: Verdict) -> str:
    if v.passed is not True or v.bound is None:
        return "-"
    return f"{v.bound.measure.split('(')[0].strip() or v.bound.measure} <= {_f(v.bound.value)}"


def compare_rows(res) -> list[list[str]]:
    """One row per two-sample verdict (configuration / observable)."""
    tests = {"chi-square test of homogeneity": "chi2 homogeneity", "two-sample Kolmogorov-Smirnov": "KS 2-sample"}
    cell = " + max-cell"
    rows = []
    for v in res.verdicts:
        test = next((short for long, short in tests.items() if v.test.startswith(long)), v.test)
        if "max_cell" in v.details:
            test += cell
        if v.details.get("method") == "monte-carlo":
            test += " (MC p)"
        elif v.details.get("method") == "exact":
            test += " (exact)"
        rows.append([v.check, test, _f(v.statistic, ".4g"), _f(v.pvalue), _f(v.adjusted_pvalue), _power(v),
                     _certifies(v), str(v.n), _f(v.details.get("seconds"), ".2f"), _status(v)])
    return rows


def compare_report(res) -> str:
    """Headline and exit status, the table of configurations, the reproduce command, the failures."""
    lines = [f"{res.a} vs {res.b} [{res.kind}] budget={res.budget} seed={res.seed}: {res.headline}",
             f"exit status {res.exit_status}: {COMPARE_EXIT[res.exit_status]} ({res.seconds:.1f} s; inside the "
             "targets: " + ", ".join(f"{k} {v:.1f} s" for k, v in res.info.get("target_seconds", {}).items()) + ")",
             "", f"TWO-SAMPLE CHECKS (one Holm family of {res.family_size} at alpha {res.alpha:g}; power and bounds "
             f"at the Bonferroni level {res.alpha / max(1, res.family_size):.3g}, confirmed decision):",
             _ascii(COMPARE_HEAD, compare_rows(res)),
             "", "B draws under the seed derive_seed(seed, 'compare.B'): the two samples are independent.",
             f"reproduce one configuration: {res.reproduce}"]
    if not res.passed:
        lines += ["", "Differences:", "", res.explain()]
    return "\n".join(lines)
