#!/usr/bin/env python
"""The hostile targets of ``tests/test_isolation.py`` (``tests/hostile``), each checked once with
the supervised worker, as a table: case / verdict (the cause the run reports) / exit status /
seconds / the bound the test states.

    python benchmarks/hostile.py            # writes benchmarks/results/hostile.{json,md}

The cases, their kwargs and their bounds are read from the test module itself, so the table and
the tests cannot disagree. Each case runs through ``check_sampler`` at budget quick with the
test's ``only``/``timeout``/``memory_limit`` in this process (the harness process the tests
check for leftovers). Nothing is asserted here: the tests assert; this records the numbers.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _test_module():
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    spec = importlib.util.spec_from_file_location("gumbel_test_isolation", ROOT / "tests" / "test_isolation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cause(res, probe: str | None) -> str:
    if probe is not None:
        bad = [f for f in res.failed_findings if f.probe == probe]
        return f"{probe} FAIL: {bad[0].detail}" if bad else f"{probe}: no failing finding"
    failed = res.failed_verdicts
    if not failed:
        return "no failing verdict"
    return f"FAIL ({len(failed)} verdict{'s' if len(failed) != 1 else ''}): {failed[0].reason}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    t = _test_module()
    from harness.checker import check_sampler

    cases = [(name, target, kind, kw, bound, None) for name, (target, kind, kw, _c, bound) in t.LAW_CASES.items()]
    cases += [(name, target, kind, kw, 60, probe)
              for name, (target, kind, kw, probe, _text) in t.CONTRACT_CASES.items()]
    rows = []
    for name, target, kind, kw, bound, probe in cases:
        t0 = time.perf_counter()
        res = check_sampler(target, kind, **{"budget": "quick", "only": t.ONE, **kw})
        took = time.perf_counter() - t0
        rows.append({"case": name, "target": target, "kind": kind, "kwargs": {k: str(v) for k, v in kw.items()},
                     "verdict": _cause(res, probe), "exit_status": res.exit_status, "seconds": round(took, 2),
                     "bound_s": bound})
        print(f"{name}: exit {res.exit_status}, {took:.1f} s", file=sys.stderr)
    meta = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hostile.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [f"# Hostile targets ({meta['date']}, {meta['cpus']} CPUs, Python {meta['python']})", "",
             "Each case of `tests/test_isolation.py` once, `check_sampler(..., budget=\"quick\")` with the test's "
             "arguments (timeout 1.5 s for the hangs), isolation=\"process\". Seconds: the whole call, worker start "
             "included; bound: what the test asserts.", "",
             "| case | verdict | exit | s | bound (s) |", "|---|---|---|---|---|"]
    for r in rows:
        verdict = r["verdict"].replace("|", "\\|")
        if len(verdict) > 150:
            verdict = verdict[:147] + "..."
        lines.append(f"| {r['case']} | {verdict} | {r['exit_status']} | {r['seconds']:.1f} | {r['bound_s']} |")
    (out / "hostile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
