#!/usr/bin/env python
"""Benchmark of the ``token`` kind (issue 12): wall time of a standard check of the reference
token sampler side by side with one of ``torch.multinomial`` on the same filters, and the
token throughput of the samplers (CPU; CUDA when a device exists, else recorded as skipped).
(Not named ``token.py``: that would shadow the standard library's ``token`` module for every
script run from this folder, ``benchmarks/run.py`` included.)

    python benchmarks/token_bench.py                 # standard checks (minutes on a loaded machine)
    python benchmarks/token_bench.py --budget quick  # seconds-to-a-minute
    python benchmarks/token_bench.py --smoke         # tiny: checks that it runs

Writes ``benchmarks/results/token.json`` and ``token.md``: per target the total wall time, the
time of every planned check (the V = 152 064 ones included), the verdict; the ratio reference /
multinomial; the load average before and after (the machine is shared: the numbers are
reported, never asserted); ``torch.get_num_threads()``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

TARGETS = ("reference-token", "torch-multinomial-token")


def throughput(device: str, v: int, b: int, repeats: int) -> dict:
    """Tokens/s of each sampler on a [b, v] float32 batch (T = 0.8, top-k 50, top-p 0.95)."""
    from harness.kinds.token.plan import TOKEN_LOGITS
    from harness.kinds.token.targets import torch_multinomial_token
    from reference.torch_token_sampler import sample_tokens

    row = TOKEN_LOGITS["v152k"] if v == 152_064 else TOKEN_LOGITS["v262k"][:v]
    x = torch.as_tensor(row, device=device).repeat(b, 1)
    out = {}
    for name, fn in (("reference-token", sample_tokens), ("torch-multinomial-token", torch_multinomial_token)):
        for label, kw in (("plain T=1", {}), ("T=0.8 top-k 50 top-p 0.95", dict(top_k=50, top_p=0.95))):
            t = 0.8 if kw else 1.0
            fn(x, t, seed=0, **kw)  # warm-up
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for i in range(repeats):
                fn(x, t, seed=i, **kw)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            dt = (time.perf_counter() - t0) / repeats
            out[f"{name} / {label}"] = {"tokens_per_s": b / dt, "logits_per_s": b * v / dt, "seconds_per_call": dt}
    return out


def run_checks(budget: str, device: str) -> dict:
    from harness.checker import check_sampler

    res = {}
    for name in TARGETS:
        load0 = os.getloadavg()
        t0 = time.perf_counter()
        r = check_sampler(name, budget=budget, device=device)
        wall = time.perf_counter() - t0
        res[name] = {"wall_s": wall, "passed": r.passed, "timings": r.timings, "load_before": load0,
                     "load_after": os.getloadavg(),
                     "failed": [c["check"] for c in r.caught_by()]}
    return res


def markdown(d: dict) -> str:
    lines = [f"# Token kind benchmark ({d['date']})", "",
             f"Machine: {d['machine']}, torch {d['torch']}, {d['threads']} torch threads, "
             f"{os.cpu_count()} CPUs; budget `{d['budget']}`, device `{d['device']}`.", "",
             "## Check wall time", "", "| target | verdict | wall (s) | V = 152 064 checks (s) | load avg before -> after |",
             "|---|---|---|---|---|"]
    for name, r in d["checks"].items():
        big = sum(v for k, v in r["timings"].items() if "152k" in k)
        lines.append(f"| {name} | {'PASS' if r['passed'] else 'FAIL ' + ', '.join(r['failed'])} | {r['wall_s']:.1f} | "
                     f"{big:.1f} | {r['load_before'][0]:.1f} -> {r['load_after'][0]:.1f} |")
    if len(d["checks"]) == 2:
        a, b = (d["checks"][t]["wall_s"] for t in TARGETS)
        lines += ["", f"Ratio reference-token / torch-multinomial-token: **{a / b:.2f}**."]
    lines += ["", "## Per-check time (s)", "", "| check | " + " | ".join(d["checks"]) + " |",
              "|---|" + "---|" * len(d["checks"])]
    ids = list(next(iter(d["checks"].values()))["timings"]) if d["checks"] else []
    for cid in ids:
        lines.append(f"| {cid} | " + " | ".join(f"{r['timings'].get(cid, float('nan')):.2f}"
                                                for r in d["checks"].values()) + " |")
    for dev, tp in d["throughput"].items():
        lines += ["", f"## Throughput on {dev}", ""]
        if isinstance(tp, str):
            lines.append(tp)
            continue
        lines += ["| sampler / params | tokens/s | logits/s | s per call |", "|---|---|---|---|"]
        for k, v in tp.items():
            lines.append(f"| {k} | {v['tokens_per_s']:.3g} | {v['logits_per_s']:.3g} | {v['seconds_per_call']:.3g} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", default="standard", choices=["quick", "standard", "thorough"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the issue's 2 cores)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, no check run")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    d = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
         "torch": torch.__version__, "threads": torch.get_num_threads(), "budget": args.budget,
         "device": args.device, "checks": {}, "throughput": {}}
    if not args.smoke:
        d["checks"] = run_checks(args.budget, args.device)
    v, b, rep = (4096, 8, 1) if args.smoke else (152_064, 64, 3)
    d["throughput"]["cpu"] = throughput("cpu", v, b, rep)
    if torch.cuda.is_available():
        d["throughput"]["cuda"] = throughput("cuda", v, 4 * b if args.smoke else 1024, rep * 3)
    else:
        d["throughput"]["cuda"] = "skipped: no CUDA device (torch.cuda.is_available() is False)"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "token-smoke" if args.smoke else "token"
    (out / f"{name}.json").write_text(json.dumps(d, indent=2, default=str))
    (out / f"{name}.md").write_text(markdown(d))
    print(markdown(d))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
