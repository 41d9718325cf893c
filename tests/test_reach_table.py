"""The reach table of docs/reach.md (issue 18): every row is a small sampler written here and
measured by the precision-reach probe. Correct transforms never FAIL; truncated ones FAIL or are
a stated blind spot ("not measured" with the tail check that sees them), never a silent pass.

``python tests/test_reach_table.py --write`` rewrites the table in docs/reach.md."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.random import default_rng  # an imported name: the probe must reach it too

from harness.kinds import get_kind
from harness.probes.reach import reach_findings

DOC = Path(__file__).resolve().parents[1] / "docs" / "reach.md"
BEGIN, END = "<!-- BEGIN reach-table (tests/test_reach_table.py) -->", "<!-- END reach-table -->"


def _gumbel_max(u_of):
    """A Gumbel-max categorical sampler on the uniforms ``u_of(seed, shape)``."""
    def fn(logits, n, seed):
        x = np.asarray(logits, dtype=np.float64)
        with np.errstate(divide="ignore"):
            g = -np.log(-np.log(u_of(seed, (n, x.size))))
        return np.argmax(x + g, axis=1)

    return fn


def inverse_cdf(logits, n, seed):
    return _gumbel_max(lambda s, sh: np.random.default_rng(s).random(sh))(logits, n, seed)


def ziggurat_race(logits, n, seed):  # argmax(x - log E), E from NumPy's ziggurat exponential
    x = np.asarray(logits, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.argmax(x - np.log(np.random.default_rng(seed).standard_exponential((n, x.size))), axis=1)


def _res53(seed, shape):  # MT-style genrand_res53: two 32-bit draws per double
    ab = np.random.default_rng(seed).integers(0, 2**32, size=(*shape, 2), dtype=np.uint32).astype(np.float64)
    return (np.floor(ab[..., 0] / 32) * 67108864.0 + np.floor(ab[..., 1] / 64)) / 9007199254740992.0


def res53(logits, n, seed):
    return _gumbel_max(_res53)(logits, n, seed)


def mt19937(logits, n, seed):  # NumPy's MT19937 next_double is genrand_res53
    return _gumbel_max(lambda s, sh: np.random.Generator(np.random.MT19937(s)).random(sh))(logits, n, seed)


def low53(logits, n, seed):  # the low 53 bits of the 64-bit word
    def u(s, sh):
        w = np.random.default_rng(s).integers(0, 2**64, size=sh, dtype=np.uint64)
        return (w & np.uint64(2**53 - 1)).astype(np.float64) * 2.0 ** -53

    return _gumbel_max(u)(logits, n, seed)


def torch_race_f32(logits, n, seed):  # vLLM-style float32 probs / q race, an explicit torch.Generator, CPU
    import torch

    g = torch.Generator().manual_seed(int(seed))
    p = torch.softmax(torch.as_tensor(np.asarray(logits, dtype=np.float64)), -1).float().expand(n, -1)
    q = torch.empty_like(p).exponential_(generator=g)
    return (p / q).argmax(-1).numpy()


def f32_default_rng(logits, n, seed):
    return _gumbel_max(lambda s, sh: np.random.default_rng(s).random(sh, dtype=np.float32).astype(np.float64))(
        logits, n, seed)


def f32_imported(logits, n, seed):
    return _gumbel_max(lambda s, sh: default_rng(s).random(sh, dtype=np.float32).astype(np.float64))(logits, n, seed)


def f32_pcg64(logits, n, seed):
    return _gumbel_max(lambda s, sh: np.random.Generator(np.random.PCG64(s)).random(sh, dtype=np.float32)
                       .astype(np.float64))(logits, n, seed)


def f32_torch(logits, n, seed):
    import torch

    g = torch.Generator().manual_seed(int(seed))
    return _gumbel_max(lambda s, sh: torch.rand(sh, generator=g, dtype=torch.float32).double().numpy())(
        logits, n, seed)


def f32_legacy(logits, n, seed):  # np.random.RandomState: no stream of the harness reaches it
    return _gumbel_max(lambda s, sh: np.random.RandomState(s).random_sample(sh).astype(np.float32)
                       .astype(np.float64))(logits, n, seed)


def floor_large_calls(logits, n, seed):  # an epsilon floor only for calls of more than 4096 draws
    x = np.asarray(logits, dtype=np.float64)
    e = np.random.default_rng(seed).standard_exponential((n, x.size))
    if e.size > 4096:
        e = np.maximum(e, 1e-7)
    with np.errstate(divide="ignore"):
        return np.argmax(x - np.log(e), axis=1)


def f32_grid_gumbel(logits, n, seed):  # MLX-style: float32 uniforms, float32 Gumbel, u = 0 -> -inf
    x = np.asarray(logits, dtype=np.float64)
    u = np.random.default_rng(seed).random((n, x.size), dtype=np.float32)
    with np.errstate(divide="ignore"):
        g = -np.log(-np.log(u))
    return np.argmax(x + g.astype(np.float64), axis=1)


def f32_grid_bits(logits, n, seed):  # MLX-style from raw 32-bit draws: u = (bits >> 9) 2^-23
    x = np.asarray(logits, dtype=np.float64)
    bits = np.random.default_rng(seed).integers(0, 2**32, size=(n, x.size), dtype=np.uint32)
    u = (bits >> np.uint32(9)).astype(np.float32) * np.float32(2.0 ** -23)
    with np.errstate(divide="ignore"):
        g = -np.log(-np.log(u))
    return np.argmax(x + g.astype(np.float64), axis=1)


def decimal_uniforms(logits, n, seed):  # 7 decimal digits: integers(0, 10**7) / 1e7, a cut the probe cannot prove
    def u(s, sh):
        return np.random.default_rng(s).integers(1, 10**7, size=sh) / 1e7

    return _gumbel_max(u)(logits, n, seed)


#: (row, sampler, correct?)
ROWS = [
    ("inverse-CDF float64: -log(-log(random()))", inverse_cdf, True),
    ("ziggurat: argmax(x - log E), standard_exponential()", ziggurat_race, True),
    ("res53: two 32-bit integers per double (MT genrand_res53)", res53, True),
    ("res53: Generator(MT19937(seed)).random()", mt19937, True),
    ("low 53 bits of the 64-bit word (integers(0, 2**64))", low53, True),
    ("torch CPU float32 exponential_ race p / q, explicit torch.Generator", torch_race_f32, True),
    ("float32 uniforms: default_rng(seed).random(dtype=float32)", f32_default_rng, False),
    ("float32 uniforms: default_rng imported (from numpy.random import default_rng)", f32_imported, False),
    ("float32 uniforms: Generator(PCG64(seed))", f32_pcg64, False),
    ("float32 uniforms: torch.rand(float32, generator=g), CPU", f32_torch, False),
    ("float32 uniforms: np.random.RandomState (legacy)", f32_legacy, False),
    ("epsilon floor 1e-7 only on calls of more than 4096 draws", floor_large_calls, False),
    ("float32-grid Gumbel (MLX-style), u = 0 gives -inf", f32_grid_gumbel, False),
    ("float32-grid Gumbel from raw 32-bit draws (bits >> 9) 2^-23", f32_grid_bits, False),
    ("decimal uniforms integers(1, 10**7) / 1e7 (a span that is no power of two)", decimal_uniforms, False),
]


def measure(fn):
    (f,) = reach_findings(fn, get_kind("categorical").reach, seed=0)
    return f


def _cell(f) -> str:
    m = re.search(r"gap reach ([0-9.]+) nats = ([0-9.]+) bits", f.detail)
    reach = f"{m.group(1)} nats ({m.group(2)} bits)" if m else "-"
    via = re.search(r"via ([^)]*)\)", f.detail)
    verdict = {"fail": "**FAIL**", "ok": "ok", "info": "not measured: blind spot line"}[f.severity]
    if f.severity == "info":
        why = ("raw bits the target converts itself" if "raw NumPy bits" in f.detail else
               "no stream reaches it" if "does not draw" in f.detail else f.detail.split(";")[0][:60])
        return f"{reach} | {verdict} | {why}; names {re.search(r'seen only by ([^;]*)', f.detail).group(1)}"
    return f"{reach} | {verdict} | {via.group(1) if via else f.detail.split(';')[0][:70]}"


def table() -> str:
    lines = ["| sampler (categorical, float64 logits) | transform | reach | verdict | via / why |",
             "|---|---|---|---|---|"]
    for name, fn, ok in ROWS:
        lines.append(f"| {name} | {'correct' if ok else 'truncated'} | {_cell(measure(fn))} |")
    return "\n".join(lines)


@pytest.mark.parametrize("name,fn,correct", ROWS, ids=[r[1].__name__ for r in ROWS])
def test_row(name, fn, correct):
    f = measure(fn)
    if correct:
        assert f.severity != "fail", f
    else:
        assert f.severity == "fail" or (f.severity == "info" and "blind spot" in f.detail and "T1.tail" in f.detail), f
        assert f.severity != "ok", f  # never a silent pass


def test_truncated_rows_reached_by_a_known_primitive_fail():
    for fn in (f32_default_rng, f32_imported, f32_pcg64, f32_torch, floor_large_calls, f32_grid_gumbel,
               f32_grid_bits):
        assert measure(fn).severity == "fail", fn.__name__
    assert "n = 8192" in measure(floor_large_calls).detail  # seen at the large call only
    f = measure(f32_grid_gumbel)
    assert "gap reach 19.4" in f.detail  # the -inf rival noise does not inflate the reach to ">= 64"


def test_the_doc_table_is_the_measured_one():
    text = DOC.read_text()
    assert BEGIN in text and END in text
    got = text.split(BEGIN)[1].split(END)[0].strip()
    assert got == table(), "docs/reach.md reach table is stale: python tests/test_reach_table.py --write"


if __name__ == "__main__" and "--write" in sys.argv:
    text = DOC.read_text()
    new = f"{BEGIN}\n{table()}\n{END}"
    if BEGIN in text:
        text = text.split(BEGIN)[0] + new + text.split(END)[1]
    else:
        text = text.rstrip() + "\n\n" + new + "\n"
    DOC.write_text(text)
