"""Law profiles (reference/token_laws.py): each built-in profile against a brute-force
enumeration of its own definition on random rows with ties; the ``hf`` profile reproduces the
law as it was before profiles existed, bit for bit; :func:`ambiguous` flags exactly the rows
whose law depends on an unspecified tie order; :func:`discriminating_rows` finds, for every pair
of profiles, a row where their laws differ by TV >= 0.05 and names the stage."""
from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reference.token_rows import ASPECTS, differing_aspects, discriminating_rows
from reference.token_laws import (
    HF,
    PROFILES,
    STAGE_NAMES,
    LawProfile,
    ambiguous,
    get_profile,
    kept_mask,
    stage_names,
    token_probs,
    token_probs_bruteforce,
    tv_distance,
    validate_token_params,
)

NEG = -math.inf
NAMES = list(PROFILES)


# --- the law exactly as reference/token_laws.py computed it before profiles (commit 79ebbf2) ---
def _legacy_softmax_kept(z, keep):
    zz = np.where(keep, z, -np.inf)
    e = np.exp(zz - zz.max())
    return e / e.sum()


def _legacy_kept_mask(x, t, k, p, m):
    x = np.asarray(x, dtype=np.float64)
    t, k, p, m = validate_token_params(t, k, p, m)
    v = x.size
    if t == 0.0:
        keep = np.zeros(v, dtype=bool)
        keep[int(np.argmax(x))] = True
        return keep
    z = x / t
    keep = np.isfinite(z)
    if 0 < k < v:
        tau = np.sort(z)[::-1][k - 1]
        keep &= z >= tau
    if p < 1.0:
        q = _legacy_softmax_kept(z, keep)
        order = np.argsort(-z, kind="stable")
        before = np.cumsum(q[order]) - q[order]
        ks = np.zeros(v, dtype=bool)
        ks[order] = before < p
        keep &= ks
    if m > 0.0:
        q = _legacy_softmax_kept(z, keep)
        keep &= q >= m * q.max()
    return keep


def _legacy_token_probs(x, t, k, p, m):
    keep = _legacy_kept_mask(x, t, k, p, m)
    if float(t) == 0.0:
        return keep.astype(np.float64)
    return _legacy_softmax_kept(np.asarray(x, dtype=np.float64) / float(t), keep)


logit_rows = st.lists(st.one_of(st.integers(-4, 4).map(float), st.just(NEG),
                                st.floats(-5, 5, allow_nan=False)), min_size=1, max_size=9).filter(
    lambda r: any(v != NEG for v in r))
temps = st.sampled_from([0.0, 5e-7, 5e-6, 1e-5, 0.3, 1.0, 2.5])
ks = st.one_of(st.none(), st.integers(0, 10))
ps = st.one_of(st.none(), st.floats(0.05, 1.0))
ms = st.one_of(st.none(), st.floats(0.0, 1.0))


def _resolved(prof: LawProfile) -> LawProfile:
    """``prof`` with every unspecified choice fixed to the canonical one (only rounding is then
    ambiguous)."""
    return replace(prof, top_k_rule="exact_lowest_index" if prof.top_k_rule != "ties_kept" else "ties_kept",
                   top_p_ties="lowest_index", greedy_ties="lowest_index")


def _unspecified(prof: LawProfile) -> LawProfile:
    """``prof`` with every label-dependent choice left unspecified."""
    return replace(prof, top_k_rule="exact_unspecified" if prof.top_k_rule != "ties_kept" else "ties_kept",
                   top_p_ties="unspecified", greedy_ties="any")


@settings(max_examples=300, deadline=None)
@given(x=logit_rows, t=temps, k=ks, p=ps, m=ms)
def test_hf_profile_is_the_previous_law_bit_for_bit(x, t, k, p, m):
    old = _legacy_token_probs(x, t, k, p, m)
    for prof in (None, "hf", HF):
        new = token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=prof)
        assert np.array_equal(new, old), (new, old)
    assert np.array_equal(token_probs(x, t, top_k=k, top_p=p, min_p=m), old)
    assert np.array_equal(kept_mask(x, t, top_k=k, top_p=p, min_p=m), _legacy_kept_mask(x, t, k, p, m))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None)
@given(x=logit_rows, t=temps, k=ks, p=ps, m=ms)
def test_each_profile_equals_the_bruteforce_enumeration_of_its_definition(name, x, t, k, p, m):
    prof = PROFILES[name]
    assume(ambiguous((x, t, k, p, m), _resolved(prof), tol=1e-9) is None)  # no rounding boundary
    a = token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=prof)
    b = np.array(token_probs_bruteforce(x, t, top_k=k, top_p=p, min_p=m, profile=prof))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
    assert abs(a.sum() - 1) < 1e-12
    assert np.all(a[np.isneginf(np.asarray(x))] == 0)


def _label_dependent(x, t, k, p, m, prof):
    """Brute force: does relabelling the tokens (every permutation) change the law?"""
    x = np.asarray(x, dtype=np.float64)
    base = token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=prof)
    for perm in itertools.permutations(range(x.size)):
        perm = np.array(perm)
        law = token_probs(x[perm], t, top_k=k, top_p=p, min_p=m, profile=prof)
        back = np.empty_like(law)
        back[perm] = law
        if not np.allclose(back, base, rtol=1e-9, atol=1e-12):
            return True
    return False


tied_rows = st.lists(st.one_of(st.integers(-2, 2).map(float), st.just(NEG)), min_size=2, max_size=5).filter(
    lambda r: any(v != NEG for v in r))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=120, deadline=None)
@given(x=tied_rows, t=st.sampled_from([0.0, 1.0, 2.0]), k=ks, p=ps, m=ms)
def test_ambiguous_flags_exactly_the_rows_whose_law_depends_on_the_tie_order(name, x, t, k, p, m):
    """With every label-dependent choice unspecified, a row is (tie-)ambiguous iff some
    relabelling of its tokens changes its law (all permutations, V <= 5)."""
    prof = _unspecified(PROFILES[name])
    assume(ambiguous((x, t, k, p, m), _resolved(prof), tol=1e-9) is None)  # rounding excluded
    assert (ambiguous((x, t, k, p, m), prof, tol=1e-9) is not None) == _label_dependent(x, t, k, p, m, prof)


def test_ambiguous_cases_by_hand():
    tie_k = ([3.0, 2.0, 2.0, 1.0], 1.0, 2, None, None)
    assert "top_k" in ambiguous(tie_k, "sglang") and "top_k" in ambiguous(tie_k, "llama.cpp")
    assert ambiguous(tie_k, "hf") is None and ambiguous(tie_k, "vllm") is None  # ties kept
    split = ([3.0, 2.0, 2.0, -5.0], 1.0, None, 0.7, None)  # q ~ .576 .212 .212: p 0.7 splits the tie
    assert "top_p" in ambiguous(split, "hf")
    assert ambiguous(([3.0, 2.0, 2.0, -5.0], 1.0, None, 0.5, None), "hf") is None  # the tie is dropped whole
    greedy_tie = ([3.0, 3.0, 2.0], 0.0, None, None, None)
    assert "greedy" in ambiguous(greedy_tie, "llama.cpp") and ambiguous(greedy_tie, "hf") is None
    assert ambiguous(([3.0, 3.0, 2.0], 5e-7, None, None, None), "sglang") is not None  # T < 1e-6: greedy
    assert ambiguous(([3.0, 3.0, 2.0], 5e-6, None, None, None), "sglang") is None  # sampled: ties share
    assert "greedy threshold" in ambiguous(([0.0, -1.0], float(np.float32(1e-5)), None, None, None), "vllm",
                                           tol=1e-6)
    q = np.log([0.5, 0.3, 0.2])
    assert "rounding" in ambiguous((q, 1.0, None, 0.8 + 1e-12, None), "hf")  # mass before #2 = 0.8
    assert ambiguous((q, 1.0, None, 0.9, None), "hf") is None
    # the checker's Row object and a mapping are accepted
    from harness.kinds.token.plan import TOKEN_LOGITS, Row
    assert ambiguous(Row(TOKEN_LOGITS["ties"], 1.0, top_k=4), "sglang") is not None
    assert ambiguous(Row(TOKEN_LOGITS["ties"], 1.0, top_k=4), "hf") is None
    assert ambiguous(dict(logits=[1.0, 0.0], temperature=1.0), "mlx-lm") is None


def test_profiles_by_hand():
    q = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    x = np.log(q)
    # top-p on the top-k set renormalised (hf) or on the full mass (sglang)
    assert kept_mask(x, 1.0, top_k=2, top_p=0.5, profile="hf").tolist() == [True, False, False, False, False]
    assert kept_mask(x, 1.0, top_k=2, top_p=0.5, profile="sglang").tolist() == [True, True, False, False, False]
    # min-p before top-p (vllm): top-p sees the min-p-renormalised mass
    x2 = np.log([0.4, 0.3, 0.15, 0.1, 0.05])
    # hf: top-p 0.8 keeps {0, 1, 2} (mass before #2 = 0.7), min-p 0.3 (q >= 0.12) keeps them all;
    # vllm: min-p first keeps {0, 1, 2} (mass 0.85), top-p on it: mass before #2 = 0.7 / 0.85 > 0.8
    assert kept_mask(x2, 1.0, top_p=0.8, min_p=0.3, profile="hf").sum() == 3
    assert kept_mask(x2, 1.0, top_p=0.8, min_p=0.3, profile="vllm").sum() == 2
    assert kept_mask(x2, 1.0, top_p=0.6, min_p=0.3, profile="vllm").tolist() == [True, True, False, False, False]
    # temperature last (llama.cpp, mlx-lm): top-p measured at T = 1
    x3 = np.log([0.5, 0.3, 0.15, 0.05])
    assert kept_mask(x3, 3.0, top_p=0.7, profile="hf").sum() == 3
    assert kept_mask(x3, 3.0, top_p=0.7, profile="llama.cpp").sum() == 2
    lp = token_probs(x3, 3.0, top_p=0.7, profile="llama.cpp")
    np.testing.assert_allclose(lp[:2], np.exp(x3[:2] / 3) / np.exp(x3[:2] / 3).sum())
    # exact top-k (canonical: lower index) vs ties kept
    x4 = [3.0, 1.0, 2.0, 1.0, 1.0, 0.0]
    assert kept_mask(x4, 1.0, top_k=3, profile="hf").sum() == 5
    assert kept_mask(x4, 1.0, top_k=3, profile="sglang").tolist() == [True, True, True, False, False, False]
    # greedy thresholds
    x5 = [0.0, -3e-6, -1.0]
    assert token_probs(x5, 5e-6, profile="vllm").tolist() == [1.0, 0.0, 0.0]
    assert token_probs(x5, 5e-6, profile="hf")[1] > 0.3
    assert token_probs(x5, 5e-7, profile="sglang").tolist() == [1.0, 0.0, 0.0]
    assert token_probs(x5, 5e-6, profile="sglang")[1] > 0.3
    # the crossing rules
    x6 = np.log([0.5, 0.3, 0.15, 0.05])
    dropped = replace(HF, name="drop", top_p_crossing="dropped")
    assert kept_mask(x6, 1.0, top_p=0.6, profile=dropped).tolist() == [True, False, False, False]
    assert kept_mask(x6, 1.0, top_p=0.6, profile="hf").tolist() == [True, True, False, False]
    assert kept_mask(x6, 1.0, top_p=0.3, profile=dropped).tolist() == [True, False, False, False]  # top kept


def test_profile_data_api():
    assert list(PROFILES) == ["hf", "vllm", "sglang", "llama.cpp", "mlx-lm"]
    assert get_profile() is HF and get_profile("hf") is HF and get_profile(HF) is HF
    with pytest.raises(KeyError, match="built-in"):
        get_profile("gpt-fast")
    with pytest.raises(KeyError):
        token_probs([0.0, 1.0], 1.0, profile="nope")
    assert stage_names() == STAGE_NAMES and stage_names("llama.cpp")[-1] == "temperature"
    assert PROFILES["vllm"].min_p_base == "after_temperature"
    assert PROFILES["mlx-lm"].min_p_base == "before_temperature"
    assert PROFILES["llama.cpp"].min_p_base == "before_temperature"
    assert PROFILES["sglang"].off_values("top_k") == (None, -1, 1 << 30)
    for prof in PROFILES.values():
        assert prof.source and "@" in prof.source and prof.describe().startswith(prof.name)
        hash(prof)
    with pytest.raises(ValueError, match="permutation"):
        LawProfile("bad", stages=("temperature", "top_k"))
    with pytest.raises(ValueError, match="top_k_rule"):
        LawProfile("bad", top_k_rule="some")
    with pytest.raises(dataclasses_frozen()):
        HF.name = "x"  # type: ignore[misc]


def dataclasses_frozen():
    import dataclasses
    return dataclasses.FrozenInstanceError


@pytest.fixture(scope="module")
def all_pairs():
    return {(a, b): discriminating_rows(a, b) for a, b in itertools.combinations(NAMES, 2)}


def test_every_pair_of_profiles_has_a_discriminating_row(all_pairs):
    for (a, b), rows in all_pairs.items():
        assert rows, f"no discriminating row for {a} / {b}"
        best = rows[0]
        assert best.tv >= 0.05 and best.tv == max(r.tv for r in rows)
        for r in rows:
            x, t, k, p, m = r.row
            la = token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=a)
            lb = token_probs(x, t, top_k=k, top_p=p, min_p=m, profile=b)
            assert r.tv == pytest.approx(tv_distance(la, lb), abs=1e-12)
            assert ambiguous(r.row, a, tol=1e-3) is None and ambiguous(r.row, b, tol=1e-3) is None
            assert r.stage in differing_aspects(a, b) and r.stage in ASPECTS and r.stage in r.stages
            assert np.array_equal(np.asarray(r.logits, dtype=np.float32).astype(np.float64), r.logits)
            assert r.why.endswith(f"TV {r.tv:.3f}")


def test_discriminating_rows_name_the_expected_stage(all_pairs):
    stages = {pair: {r.stage for r in rows} for pair, rows in all_pairs.items()}
    assert "temperature" in stages[("hf", "llama.cpp")]
    assert "temperature" in stages[("hf", "mlx-lm")]
    assert "top_p.base" in stages[("hf", "sglang")]
    assert "filter_order" in stages[("hf", "vllm")] and "greedy" in stages[("hf", "vllm")]
    assert "filter_order" in stages[("llama.cpp", "mlx-lm")]
    assert discriminating_rows("hf", "hf") == []
    mutant = replace(HF, name="hf-dropped", top_p_crossing="dropped")
    rows = discriminating_rows("hf", mutant)
    assert rows and rows[0].stage == "top_p.crossing"
