"""Issue 17 "Must show": each port x each profile (check --law P at quick on the law / filter
checks, and identify); each port holds under its own profile only; the four bug mutants are
rejected under their own engine's profile by the check naming the stage. ~150 s: slow."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.mark.slow
def test_must_show_table():
    from benchmarks.law_table import table

    t = table("quick")
    for port, row in t["ports"].items():
        for prof, verdict in row.items():
            assert (verdict == "holds") == (prof == port), (port, prof, verdict)
        assert t["identify"][port][:2] == (0, [port])
    m = t["mutants"]
    assert "TK.filter.top_p" in m["llama_cpp_dropped_crossing"]["law"]
    assert "TK.filter.top_p" in m["hf_temperature_after_top_p"]["law"]
    assert "TK.batch.pairs" in m["vllm_rows_share_noise"]["law"]
    assert "adversarial.u=0" in m["vllm_masked_zero_exponential"]["failed_findings"]
