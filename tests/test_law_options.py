"""Issue 17 items 2, 4, 5: --law / --filters / --scalar-params / --rng (the token kind's options),
the README's three engine adapters, and the messages (an unsupported parameter names --filters; a
masked-token adversarial finding says whether one boundary draw selects it)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.checker import check_sampler
from harness.core.budgets import get_budget
from harness.kinds import get_kind, plan_for

ROOT = Path(__file__).resolve().parents[1]
TOKEN = get_kind("token")
Q = dict(budget="quick", isolation="none", probes=False, adversarial=False)


def test_default_plan_is_unchanged_and_nothing_is_skipped():
    b = get_budget("quick")
    assert [c.id for c in plan_for("token", b)] == [c.id for c in plan_for("token", b, TOKEN.resolve({"law": "hf"}))
                                                    if not c.id.startswith("TK.law.profile")]
    assert not [c for c in plan_for("token", b) if c.skip]


def test_options_are_validated():
    with pytest.raises(ValueError, match="unknown law profile"):
        TOKEN.resolve({"law": "tgi"})
    with pytest.raises(ValueError, match="unknown filter"):
        TOKEN.resolve({"filters": "top_z"})
    with pytest.raises(ValueError, match="has no option 'law'"):
        get_kind("categorical").resolve({"law": "hf"})
    with pytest.raises(ValueError, match="has no option"):
        check_sampler("reference-token", law="hf", typo_option=1, **Q)


def test_a_profile_makes_checks_not_applicable_and_says_why():
    plan = plan_for("token", get_budget("quick"), TOKEN.resolve({"law": "sglang"}))
    skipped = {c.id: c.skip for c in plan if c.skip}
    assert "TK.filter.top_k.ties" in skipped and "keeps exactly k" in skipped["TK.filter.top_k.ties"]
    plan = plan_for("token", get_budget("quick"), TOKEN.resolve({"filters": "temperature"}))
    skipped = {c.id for c in plan if c.skip}
    assert {"TK.filter.top_k", "TK.filter.top_p", "TK.filter.min_p", "TK.mask"} <= skipped
    assert "TK.law.v8" not in skipped and "TK.greedy" not in skipped


def test_law_verdict_names_the_profile_and_cannot_pass_on_nothing():
    res = check_sampler("tests.engines.sglang_port:sample", "token", only="TK.law.v8,TK.filter.top_k", law="sglang",
                        **Q)
    assert res.law_passed and "law profile sglang" in res.headline
    with pytest.raises(ValueError, match="not applicable"):
        check_sampler("tests.engines.sglang_port:sample", "token", only="TK.filter.top_k.ties", law="sglang", **Q)


def _no_top_k(logits, temperature, *, top_p=None, min_p=None, seed=0):
    from tests.engines.hf_port import sample

    return sample(logits, temperature, top_p=top_p, min_p=min_p, seed=seed)


def _raises_on_top_k(logits, temperature, *, top_k=None, top_p=None, min_p=None, seed=0):
    if top_k is not None:
        raise ValueError("top_k is not supported by this engine")
    return _no_top_k(logits, temperature, top_p=top_p, min_p=min_p, seed=seed)


def test_an_unsupported_parameter_names_it_and_the_filters_flag():
    from harness.targets.protocol import ProtocolMismatch

    with pytest.raises(ProtocolMismatch, match="--filters"):
        check_sampler(_no_top_k, "token", only="TK.filter.top_k", **Q)
    res = check_sampler(_raises_on_top_k, "token", only="TK.filter.top_k,TK.greedy", **Q)
    assert not res.law_passed
    for v in res.law_verdicts:
        assert "raised on top_k" in v.reason and "--filters" in v.reason, v.reason
    res = check_sampler(_no_top_k, "token", only="TK.law.v8,TK.greedy,TK.filter.top_k,TK.filter.top_p",
                        filters="temperature,top_p,min_p", **Q)
    assert res.law_passed, res.report()
    assert {d["id"] for d in res.info["not_applicable"]} == {"TK.filter.top_k", "TK.filter.top_k.ties"}
    assert "2 not applicable" in res.headline


def _readme_adapters() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    return dict(re.findall(r"<!-- adapter: (\w+) -->\n```python\n(.*?)```", text, re.S))


def test_readme_has_three_short_adapters():
    blocks = _readme_adapters()
    assert set(blocks) == {"batched", "scalar", "global"}
    assert all(len(b.strip().splitlines()) < 15 for b in blocks.values())


@pytest.mark.parametrize("name,fn,only", [
    ("batched", "vllm_like", "TK.law.v8,TK.filter.top_k,TK.filter.top_p,TK.filter.min_p,TK.batch.pairs"),
    ("scalar", "mlx_like", "TK.law.v8,TK.filter.top_k,TK.filter.top_p,TK.filter.min_p,TK.temp.rows"),
    ("global", "gpt_fast_like", "TK.law.v8,TK.filter.top_k,TK.temp.rows,TK.batch.pairs"),
])
def test_readme_adapter_runs_and_holds(name, fn, only, tmp_path, monkeypatch):
    mod = tmp_path / f"readme_{name}.py"
    mod.write_text(_readme_adapters()[name])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(ROOT))
    res = check_sampler(f"readme_{name}:{fn}", "token", budget="quick", only=only, probes=False, adversarial=False)
    assert res.law_passed, res.report()
    assert not [f for f in res.findings if f.probe == "contract.global_state"], res.findings
    if name == "scalar":
        assert {d["id"] for d in res.info["not_applicable"]} == {"TK.filter.min_p", "TK.filter.top_k.ties"}


def test_scalar_params_groups_rows_and_calls_once_per_group():
    from harness.kinds.token.options import wrap

    calls = []

    def engine(logits, temperature, *, top_k=None, top_p=None, min_p=None, seed=0):
        assert isinstance(temperature, float) and (top_k is None or isinstance(top_k, int))
        calls.append((logits.shape[0], temperature, top_k))
        return torch.zeros(logits.shape[0], dtype=torch.int64)

    fn = wrap(engine, TOKEN.resolve({"params": "scalar"}))
    t = torch.tensor([0.5, 1.0] * 8)
    k = torch.tensor([0, 3] * 8)
    assert fn(torch.zeros(16, 4), t, top_k=k, seed=1).shape == (16,)
    assert sorted(calls) == [(8, 0.5, None), (8, 1.0, 3)]
    assert wrap(engine, TOKEN.resolve()) is engine  # the defaults: no adapter at all


def test_masked_token_finding_says_a_single_boundary_draw_selects_it():
    from harness.probes.findings import Recorder
    from tests.engines import PORTS

    rec = Recorder("adversarial")
    TOKEN.adversarial(PORTS["vllm"], rec, 3, TOKEN.resolve({"law": "vllm"}))
    bad = [f for f in rec.findings if f.severity == "fail"]
    assert bad and all("SINGLE boundary draw" in f.detail for f in bad)
    assert {f.probe for f in bad} == {"adversarial.E=0", "adversarial.E=-0"}
