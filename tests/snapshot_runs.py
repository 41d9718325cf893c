"""Behaviour snapshot: a fixed list of check runs and a small JSON digest of what the checker
decided in each, pinned in ``tests/data/behaviour_snapshot.json`` and compared by
``tests/test_behaviour_snapshot.py``.

Purpose: a refactor (modules moved into new folders, the checker rebuilt around per-kind
modules...) must leave every decision unchanged at a given seed: each run's exit status, law
and contract verdicts, and per verdict its id, group, pass/fail and p-values (raw and Holm,
rounded to 10 significant digits), per probe finding its (probe, severity, outcome). Sample
arrays, timings, wording and versions are deliberately left out.

Only public entry points are used, so the runs survive modules moving:
``harness.checker.check_sampler`` (the Python API) and the command line ``python -m harness
check ...`` (subprocesses; mutants of the catalogue are reached through ``--mutant NAME``,
offline samples through ``--samples``, command targets through ``--command``).

Regenerate the snapshot ONLY when an issue deliberately changes behaviour (a new check, a new
probe, a changed sample size or statistic), and say so in that commit's message::

    .venv/bin/python tests/snapshot_runs.py --write          # recompute every run, rewrite the JSON
    .venv/bin/python tests/snapshot_runs.py --check          # compare without pytest (exit 1 on a change)
    .venv/bin/python tests/snapshot_runs.py --check NAME...  # some runs only

Comparison (:func:`first_difference`) is by verdict id and by the multiset of findings, so the
order in which checks are reported may change; the set of ids and every decision may not.
"""
from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SNAPSHOT = Path(__file__).resolve().parent / "data" / "behaviour_snapshot.json"
REPO = Path(__file__).resolve().parent.parent
SIG_DIGITS = 10
CLI_TIMEOUT = 300  # seconds per command-line run (a hang is a failure, not a stuck test)

# ---------------------------------------------------------------- custom targets ------------
# Module-level callables passed to check_sampler as objects (the "object" path of the API).


def gumbel_max_numpy(logits, n, seed):
    """Categorical protocol: Gumbel-max in float64 NumPy, ``argmax(logits + g)`` per draw. No
    input validation: NaN logits give a valid-looking index (a contract finding)."""
    x = np.asarray(logits, dtype=np.float64)
    g = np.random.default_rng(seed).gumbel(size=(int(n), x.shape[-1]))
    return np.argmax(x + g, axis=-1)


gumbel_max_numpy.gumbel_harness_kind = "categorical"

# ---------------------------------------------------------------- the runs ------------------
# A cli argument may hold the markers @TMP@ (a scratch directory with the files of
# _write_inputs) and @PYTHON@ (this interpreter); both are replaced by placeholders in the
# recorded text so the snapshot does not depend on the machine.

_CMD_NOISE = ("@PYTHON@ -c 'import sys, numpy as np; n = int(sys.argv[1]); s = int(sys.argv[2]); "
              "np.savetxt(sys.stdout, np.random.default_rng(s).gumbel(size=n))' {n} {seed}")


@dataclass(frozen=True)
class Run:
    """One pinned run. ``how``: ``"api"`` (``check_sampler(**args)``), ``"cli-json"`` (``python -m
    harness`` + ``args`` with ``--json``: the same digest plus the command's exit status) or
    ``"cli-text"`` (the command's exit status and its first verdict line only)."""

    name: str
    how: str
    args: Any = field(default_factory=dict)
    note: str = ""


_Q0 = {"budget": "quick", "seed": 0}
_CLI_Q0 = ["--budget", "quick", "--seed", "0", "--isolation", "none"]

RUNS: list[Run] = [
    # ---- the Python API: one built-in of each kind
    Run("api.reference-categorical.process", "api",
        {"target": "reference-categorical", **_Q0, "isolation": "process"},
        "full quick plan and every probe in a supervised worker (the default isolation)"),
    Run("api.reference-relaxed", "api", {"target": "reference-relaxed", **_Q0, "isolation": "none"}),
    Run("api.reference-noise.seed3", "api",
        {"target": "reference-noise", "budget": "quick", "seed": 3, "isolation": "none"}),
    Run("api.torch-gumbel-softmax", "api", {"target": "torch-gumbel-softmax", **_Q0, "isolation": "none"},
        "the whole torch plan: relaxed law, hard=True, dim/batch, dtype contract, G1/G4 gradients"),
    Run("api.reference-token.subset", "api",
        {"target": "reference-token", **_Q0, "isolation": "none",
         "only": ["TK.law.v8", "TK.law.v64", "TK.batch.pairs", "TK.temp.rows", "TK.filter.top_k",
                  "TK.filter.top_p", "TK.filter.min_p", "TK.mask", "TK.greedy"],
         "probes": True, "adversarial": True},
        "the token checks that take well under a second at quick (not the V = 152k / 262k laws), with probes"),
    Run("api.jax-gumbel", "api", {"target": "jax-gumbel", **_Q0, "isolation": "none"},
        "jax-noise: the law holds at quick, the contract fails (reach.noise, jax#5348); needs jax"),
    Run("api.object.gumbel_max_numpy", "api",
        {"target": gumbel_max_numpy, **_Q0, "isolation": "none",
         "only": ["T1.law.power", "T1.law.neginf", "T1.pairs"], "probes": True, "adversarial": True},
        "a callable object (kind from gumbel_harness_kind) with probes: NaN logits are not refused"),
    # ---- the command line, with --json: mutants of the catalogue and an offline sample
    Run("cli.mutant.cat_exp_noise", "cli-json", ["--mutant", "cat_exp_noise", *_CLI_Q0],
        "Exp(1) noise instead of Gumbel: the law is rejected (T1.law.power)"),
    Run("cli.mutant.cat_u0_unguarded", "cli-json", ["--mutant", "cat_u0_unguarded", *_CLI_Q0],
        "-log(-log(u)) without guarding u = 0: the contract fails (adversarial.u=0)"),
    Run("cli.mutant.relaxed_softmax_twice", "cli-json", ["--mutant", "relaxed_softmax_twice", *_CLI_Q0],
        "softmax applied twice: the law is rejected (C2.scale.T1)"),
    Run("cli.samples.categorical", "cli-json",
        ["--samples", "@TMP@/samples.npy", "--logits", "@TMP@/logits.txt", "--kind", "categorical"],
        "an offline sample (20 000 Gumbel-max draws at fixed logits): the laws only"),
    # ---- the command line, text output: exit status and the verdict line only
    Run("cli-text.builtin.numpy-gumbel.seed3", "cli-text",
        ["--builtin", "numpy-gumbel", "--budget", "quick", "--seed", "3"]),
    Run("cli-text.command.noise", "cli-text",
        ["--command", _CMD_NOISE, "--kind", "noise", "--only", "N.law,T2.max", *_CLI_Q0],
        "a command target (an executable run per call) following the noise protocol"),
]

RUN_NAMES = [r.name for r in RUNS]
_BY_NAME = {r.name: r for r in RUNS}


def requirement(run: Run) -> str | None:
    """The module a run needs that is not importable (the test skips it), else None."""
    import importlib.util

    target = run.args.get("target") if isinstance(run.args, dict) else None
    need = {"jax-gumbel": "jax", "torch-gumbel-softmax": "torch", "reference-token": "torch"}.get(target)
    if need and importlib.util.find_spec(need) is None:
        return need
    return None


# ---------------------------------------------------------------- digests -------------------

def rounded(p: Any) -> Any:
    """A p-value rounded to SIG_DIGITS significant digits; None stays None, non-finite values
    become the strings ``"nan"`` / ``"inf"`` (as the JSON output spells them)."""
    if p is None or isinstance(p, str):
        return p
    p = float(p)
    if not math.isfinite(p):
        return str(p)
    return float(f"{p:.{SIG_DIGITS}g}")


def _digest(exit_status, law_passed, contract_passed, verdicts, findings) -> dict[str, Any]:
    """``verdicts``: (check, group, passed, pvalue, adjusted_pvalue, forced_fail) tuples;
    ``findings``: (probe, severity, outcome) tuples."""
    return {
        "exit_status": int(exit_status),
        "law_passed": bool(law_passed),
        "contract_passed": bool(contract_passed),
        "verdicts": [{"id": c, "group": g, "passed": p, "p": rounded(pv), "p_holm": rounded(adj),
                      "forced_fail": bool(ff)}
                     for c, g, p, pv, adj, ff in verdicts],
        "findings": [[probe, sev, out] for probe, sev, out in findings],
    }


def digest_result(res: Any) -> dict[str, Any]:
    """The digest of a ``CheckResult`` (attributes of the result, its Verdicts and Findings)."""
    return _digest(
        res.exit_status, res.law_passed, res.contract_passed,
        [(v.check, "contract" if v.details.get("group") == "contract" else "law", v.passed, v.pvalue,
          v.adjusted_pvalue, v.forced_fail) for v in res.verdicts],
        [(f.probe, f.severity, f.outcome) for f in res.findings])


def digest_json(d: dict[str, Any]) -> dict[str, Any]:
    """The same digest from one result of ``--json`` output."""
    return _digest(
        d["exit_status"], d["law"]["passed"], d["contract"]["passed"],
        [(v["check"], "contract" if (v.get("details") or {}).get("group") == "contract" else "law", v["passed"],
          v["pvalue"], v["adjusted_pvalue"], v["forced_fail"]) for v in d["verdicts"]],
        [(f["probe"], f["severity"], f["outcome"]) for f in d["findings"]])


# ---------------------------------------------------------------- running -------------------

def _write_inputs(tmp: Path) -> None:
    """Files of the --samples run: 20 000 Gumbel-max draws (seed 12345) at logits (0, 0.5, 1, 2)."""
    logits = np.array([0.0, 0.5, 1.0, 2.0])
    g = np.random.default_rng(12345).gumbel(size=(20_000, logits.size))
    np.save(tmp / "samples.npy", np.argmax(logits + g, axis=1).astype(np.int64))
    (tmp / "logits.txt").write_text(" ".join(repr(float(v)) for v in logits) + "\n")


def _cli(args: list[str], tmp: Path) -> tuple[int, str, str]:
    argv = [sys.executable, "-m", "harness", "check",
            *[a.replace("@TMP@", str(tmp)).replace("@PYTHON@", shlex.quote(sys.executable)) for a in args]]
    env = {**os.environ, "GUMBEL_HARNESS_PROGRESS": "0", "PYTHONHASHSEED": "0"}
    p = subprocess.run(argv, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def _scrub(text: str, tmp: Path) -> str:
    return text.replace(shlex.quote(sys.executable), "@PYTHON@").replace(sys.executable, "@PYTHON@").replace(str(tmp), "@TMP@")


_VERDICT_LINE = re.compile(r"\blaw (HOLDS|REJECTED|NOT CHECKED)\b")


def compute(name: str) -> dict[str, Any]:
    """Run ``name`` now and return its digest."""
    run = _BY_NAME[name]
    if run.how == "api":
        import warnings

        from harness.checker import check_sampler

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # UnprotectedWarning of isolation="none"
            return digest_result(check_sampler(**run.args))
    with tempfile.TemporaryDirectory(prefix="gh-snapshot-") as d:
        tmp = Path(d)
        _write_inputs(tmp)
        rc, out, err = _cli(list(run.args) + (["--json"] if run.how == "cli-json" else []), tmp)
        if run.how == "cli-json":
            try:
                data = json.loads(out)
            except ValueError:
                raise RuntimeError(f"{name}: no JSON on stdout (exit {rc}); stderr:\n{err[-2000:]}") from None
            results = data if isinstance(data, list) else [data]
            if len(results) != 1:
                raise RuntimeError(f"{name}: expected one result, got {len(results)}")
            return {"cli_exit_status": rc, **digest_json(results[0])}
        line = next((ln for ln in out.splitlines() if _VERDICT_LINE.search(ln)), None)
        if line is None:
            raise RuntimeError(f"{name}: no verdict line in the output (exit {rc});\nstdout:\n{out[-2000:]}\n"
                               f"stderr:\n{err[-2000:]}")
        return {"cli_exit_status": rc, "verdict_line": _scrub(line.strip(), tmp)}


def load_snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())["runs"]


# ---------------------------------------------------------------- comparison ----------------

def _show(x: Any) -> str:
    return json.dumps(x, sort_keys=True)


def first_difference(expected: dict[str, Any], got: dict[str, Any]) -> str | None:
    """None when ``got`` equals ``expected``; else a message naming the differences: the
    top-level fields (exit status, law / contract decision, CLI status and verdict line), the
    first verdict (by id, in the expected order) that is different, missing or new, and the
    findings (compared as a multiset)."""
    msgs = []
    for key in sorted((set(expected) | set(got)) - {"verdicts", "findings"}):
        e, g = expected.get(key, "<absent>"), got.get(key, "<absent>")
        if e != g:
            msgs.append(f"{key}: expected {_show(e)}, got {_show(g)}")
    ev = expected.get("verdicts", [])
    gv = {v["id"]: v for v in got.get("verdicts", [])}
    known = {v["id"] for v in ev}
    for v in ev:
        g = gv.get(v["id"])
        if g != v:
            msgs.append(f"first differing verdict {v['id']}:\n  expected {_show(v)}\n  got      "
                        f"{_show(g) if g is not None else '<no such verdict>'}")
            break
    else:
        new = [v for v in got.get("verdicts", []) if v["id"] not in known]
        if new:
            msgs.append(f"new verdict {new[0]['id']}:\n  expected <no such verdict>\n  got      {_show(new[0])}")
    ef = sorted(map(tuple, expected.get("findings", [])))
    gf = sorted(map(tuple, got.get("findings", [])))
    if ef != gf:
        missing = [f for f in ef if ef.count(f) > gf.count(f)]
        extra = [f for f in gf if gf.count(f) > ef.count(f)]
        msgs.append(f"findings differ (probe, severity, outcome):\n  expected, not got: {missing[:5]}\n"
                    f"  got, not expected: {extra[:5]}")
    return "\n".join(msgs) if msgs else None


# ---------------------------------------------------------------- writing -------------------

def _dump(doc: dict[str, Any]) -> str:
    """JSON with one line per verdict and per finding (small diffs when behaviour changes)."""
    lines = ["{", f' "about": {json.dumps(doc["about"])},', ' "runs": {']
    runs = list(doc["runs"].items())
    for i, (name, dg) in enumerate(runs):
        lines.append(f"  {json.dumps(name)}: {{")
        items = list(dg.items())
        for j, (k, v) in enumerate(items):
            end = "," if j < len(items) - 1 else ""
            if isinstance(v, list):
                if not v:
                    lines.append(f"   {json.dumps(k)}: []{end}")
                    continue
                lines.append(f"   {json.dumps(k)}: [")
                lines += [f"    {json.dumps(x)}{',' if m < len(v) - 1 else ''}" for m, x in enumerate(v)]
                lines.append(f"   ]{end}")
            else:
                lines.append(f"   {json.dumps(k)}: {json.dumps(v)}{end}")
        lines.append("  }" + ("," if i < len(runs) - 1 else ""))
    lines += [" }", "}"]
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(json.dumps(doc))
    return text


# ---------------------------------------------------------------- command line --------------

def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", action="store_true", help=f"recompute every run and rewrite {SNAPSHOT.name}")
    g.add_argument("--check", action="store_true", help="recompute and compare with the stored snapshot")
    g.add_argument("--list", action="store_true", help="list the runs")
    ap.add_argument("names", nargs="*", help="with --check: only these runs")
    a = ap.parse_args(argv)
    if a.list:
        for r in RUNS:
            print(f"{r.name:40s} {r.how:9s} {r.note}")
        return 0
    names = a.names or RUN_NAMES
    unknown = [n for n in names if n not in _BY_NAME]
    if unknown or (a.write and a.names):
        ap.error(f"unknown runs {unknown}" if unknown else "--write recomputes every run (no names)")
    stored = {} if a.write else load_snapshot()
    out: dict[str, Any] = {}
    bad = 0
    for n in names:
        if requirement(_BY_NAME[n]):
            if a.write:
                raise SystemExit(f"{n} needs {requirement(_BY_NAME[n])}: install it before --write")
            print(f"{n}: skipped ({requirement(_BY_NAME[n])} missing)")
            continue
        t = time.perf_counter()
        out[n] = compute(n)
        dt = time.perf_counter() - t
        if a.check:
            diff = first_difference(stored[n], out[n]) if n in stored else "not in the snapshot"
            bad += diff is not None
            print(f"{n}: {'ok' if diff is None else 'CHANGED: ' + diff} ({dt:.1f} s)", flush=True)
        else:
            print(f"{n}: exit {out[n].get('exit_status', out[n].get('cli_exit_status'))} ({dt:.1f} s)", flush=True)
    if a.write:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        doc = {"about": "behaviour snapshot of tests/snapshot_runs.py; regenerate only for a deliberate "
                        "behaviour change: python tests/snapshot_runs.py --write",
               "runs": out}
        SNAPSHOT.write_text(_dump(doc))
        print(f"wrote {SNAPSHOT}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
