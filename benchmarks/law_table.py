"""The "Must show" table of issue 17: each port of tests/engines/ x each law profile: the verdict of
``check --law P`` (quick budget, the TK law / filter checks, no probes) and what ``identify`` says;
then the four bug mutants under their own engine's profile (with probes for the masked-token one).

    PYTHONPATH=. python benchmarks/law_table.py [--budget quick] [--only TK.law.v8,TK.filter,...]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ONLY = ("TK.law.v8,TK.law.v64,TK.law.profile,TK.batch.pairs,TK.temp.rows,TK.filter.top_k,TK.filter.top_p,"
        "TK.filter.min_p,TK.mask")
PORT_PATHS = {"hf": "tests.engines.hf_port:sample", "vllm": "tests.engines.vllm_port:sample",
              "sglang": "tests.engines.sglang_port:sample", "llama.cpp": "tests.engines.llama_cpp_port:sample",
              "mlx-lm": "tests.engines.mlx_lm_port:sample"}


def cell(res) -> str:
    if res.law_passed:
        return "holds"
    bad = sorted({v.details.get("plan_check", v.check) for v in res.law_verdicts if v.passed is not True})
    return "REJECTED: " + ", ".join(bad)


def table(budget: str = "quick", only: str = ONLY, profiles=None, isolation: str = "none") -> dict:
    from harness.checker import check_sampler
    from harness.checker.identify import identify_target
    from tests.engines.mutants import MUTANTS

    profiles = profiles or list(PORT_PATHS)
    out = {"ports": {}, "identify": {}, "mutants": {}, "seconds": {}}
    for port, path in PORT_PATHS.items():
        out["ports"][port] = {}
        for prof in profiles:
            t0 = time.perf_counter()
            res = check_sampler(path, "token", budget=budget, only=only, law=prof, isolation=isolation)
            out["ports"][port][prof] = cell(res)
            out["seconds"][f"{port}|{prof}"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        ident = identify_target(path, "token", budget=budget, power=False)
        out["identify"][port] = (ident.exit_status, ident.consistent, ident.rejected)
        out["seconds"][f"identify|{port}"] = round(time.perf_counter() - t0, 1)
    for name, (fn, prof, issue, stage) in MUTANTS.items():
        probes = stage == "mask"
        only_m = None if probes else only
        res = check_sampler(f"tests.engines.mutants:{name}", "token", budget=budget, only=only_m or "none",
                            law=prof, isolation=isolation, probes=probes, adversarial=probes) if probes else \
            check_sampler(f"tests.engines.mutants:{name}", "token", budget=budget, only=only_m, law=prof,
                          isolation=isolation)
        fails = [f.probe for f in res.failed_findings]
        out["mutants"][name] = {"profile": prof, "issue": issue, "stage": stage, "law": cell(res),
                                "failed_findings": fails}
    return out


def render(t: dict) -> str:
    profs = list(next(iter(t["ports"].values())))
    lines = ["| port \\ --law | " + " | ".join(profs) + " | identify |", "|---" * (len(profs) + 2) + "|"]
    for port, row in t["ports"].items():
        st, ok, _ = t["identify"][port]
        lines.append(f"| {port} | " + " | ".join(row[p] for p in profs) + f" | exit {st}: {', '.join(ok) or 'none'} |")
    lines += ["", "| mutant | issue | profile | law | failing findings |", "|---|---|---|---|---|"]
    for name, m in t["mutants"].items():
        lines.append(f"| {name} | {m['issue']} | {m['profile']} | {m['law']} | {', '.join(m['failed_findings']) or '-'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", default="quick")
    ap.add_argument("--only", default=ONLY)
    a = ap.parse_args()
    t0 = time.perf_counter()
    t = table(a.budget, a.only)
    print(render(t))
    print(f"\n{time.perf_counter() - t0:.0f} s; per cell: {t['seconds']}")
