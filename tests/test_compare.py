"""``compare`` (issue 20): two samplers, one law?

* the stated two-sample power of each configuration class, simulated through the real decision
  (the verdict builder of :mod:`harness.checks.twosample`, stage 2 on fresh draws through
  :func:`confirm_verdicts`, Holm over a family of the run's size through :func:`judge_family`) at
  the stated distance in the least-favourable direction;
* where one side is the reference: ``reference-token`` vs ``torch-multinomial-token`` (same law:
  PASS with the bound) and vs the reference with min-p moved before top-p (FAIL naming
  ``TK.filter.combined``), and ``compare`` agrees with ``check`` on both;
* the CLI (exit statuses 0 / 1 / 2, --json, --out) and the ``gumbel_compare`` fixture.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from harness.checks.builders import level_for
from harness.checks.confirmation import confirm_verdicts
from harness.checks.twosample import homogeneity_verdict, ks2_verdict
from harness.core.budgets import get_budget
from harness.core.verdict import Verdict, judge_family
from harness.stats.twosample_power import (homogeneity_power, ks2_least_favourable, ks2_power, least_favourable_pair, max_cell_power, one_cell_pair)

ALPHA = 1e-4
VARIANT = "tests.engines.variants:min_p_before_top_p"

pytest_plugins = ["pytester"]


# ------------------------------------------------------------------ stated vs simulated power ----

def _decide(build, draw, m: int, seed: int) -> bool:
    """True when the run's decision rejects: stage 1, confirmation on fresh draws, Holm over m."""
    v1 = build(*draw(), seed)
    vs = confirm_verdicts([v1], lambda: [build(*draw(), seed + 1)], ALPHA)
    null = [Verdict("X", f"null{i}", "", "", 0.0, 1.0, 1) for i in range(m - 1)]
    return judge_family(vs + null, ALPHA)[0].passed is False


def _power(build, draw, m: int, reps: int) -> float:
    return float(np.mean([_decide(build, draw, m, 1000 + 2 * r) for r in range(reps)]))


def _counts_builder(m):
    return lambda a, b, s: homogeneity_verdict("X", "x", "", a, b, seed=s, alpha=ALPHA, family_size=m)


def _v8():
    from harness.kinds.token.plan import TOKEN_LOGITS, Row

    return Row(TOKEN_LOGITS["v8"]).law()


def _v64():
    from harness.kinds.token.plan import TOKEN_LOGITS, Row

    return Row(TOKEN_LOGITS["v64"], 0.7).law()


#: (class, common law, n per target, family size m): the token kind's small-V rows at quick
COUNT_CLASSES = [("token V=8 (TK.law.v8, quick)", _v8, 25_000, 25),
                 ("token V=64 (TK.law.v64, quick)", _v64, 20_000, 25)]
REPS = 120
FLOOR = 0.8  # stated 0.9: P(Bin(120, 0.9) < 0.8 * 120) < 0.001


@pytest.mark.slow
@pytest.mark.parametrize("name,law,n,m", COUNT_CLASSES, ids=[c[0] for c in COUNT_CLASSES])
def test_stated_chi2_power_holds_at_the_least_favourable_tilt(name, law, n, m):
    pi = law()
    level = level_for(ALPHA, m)
    pw = homogeneity_power(pi * 2 * n, n, n, level / 4)  # the chi-square half of the combined test
    p, q = least_favourable_pair(pi, pw.tv)
    rng = np.random.default_rng(20)
    got = _power(_counts_builder(m), lambda: (rng.multinomial(n, p), rng.multinomial(n, q)), m, REPS)
    print(f"{name}: stated TV {pw.tv:.4g} power 0.9, simulated {got:.3f}")
    assert got >= FLOOR


@pytest.mark.slow
def test_stated_max_cell_power_holds_for_one_category():
    pi = _v64()
    n, m = 20_000, 25
    cell = int(np.argmax(pi))  # the worst case the statement is for: the most probable cell
    cp = max_cell_power(float(pi[cell]), n, n, level_for(ALPHA, m) / 4, pi.size)
    p, q = one_cell_pair(pi, cell, cp.value)
    rng = np.random.default_rng(21)
    got = _power(_counts_builder(m), lambda: (rng.multinomial(n, p), rng.multinomial(n, q)), m, REPS)
    print(f"max-cell V=64: stated |p_i - q_i| {cp.value:.4g} power 0.9, simulated {got:.3f}")
    assert got >= FLOOR


@pytest.mark.slow
def test_stated_two_bin_power_holds_for_the_tail_configuration():
    """TK.tail / T1.tail at quick: 2e6 draws of two tokens, ~30 expected rare ones (exact test)."""
    n, m = 2_000_000, 25
    rho = 30 / n
    pi = np.array([1 - rho, rho])
    pw = homogeneity_power(pi * 2 * n, n, n, level_for(ALPHA, m))
    p, q = least_favourable_pair(pi, pw.tv)
    rng = np.random.default_rng(22)
    got = _power(_counts_builder(m), lambda: (rng.multinomial(n, p), rng.multinomial(n, q)), m, 400)
    print(f"2-bin tail: stated TV {pw.tv:.4g} power 0.9, simulated {got:.3f}")
    assert got >= 0.85


@pytest.mark.slow
def test_stated_ks_power_holds_at_the_least_favourable_tent():
    n, m = 20_000, 19  # the relaxed kind's samples at quick, its compare family
    pw = ks2_power(n, n, level_for(ALPHA, m))
    rng = np.random.default_rng(23)
    build = lambda x, y, s: ks2_verdict("X", "x", "", x, y, seed=s, alpha=ALPHA, family_size=m)  # noqa: E731
    got = _power(build, lambda: (rng.random(n), ks2_least_favourable(rng.random(n), pw.value)), m, 200)
    print(f"KS n={n}: stated sup distance {pw.value:.4g} power 0.9, simulated {got:.3f}")
    assert got >= 0.84


def test_the_power_statements_are_those_the_verdicts_state():
    """The verdict states the figures the simulations above check (same functions, same levels)."""
    rng = np.random.default_rng(3)
    pi = _v8()
    a, b = rng.multinomial(25_000, pi), rng.multinomial(25_000, pi)
    v = homogeneity_verdict("X", "x", "", a, b, seed=0, alpha=ALPHA, family_size=25)
    pw = homogeneity_power(a + b, 25_000, 25_000, level_for(ALPHA, 25) / 4)
    assert v.detectable.value == pytest.approx(pw.value) and v.detectable.tv == pytest.approx(pw.tv)
    assert "max_cell" in v.details and v.details["max_cell"]["power"]["abs_cell_difference"] > 0
    assert v.bound is not None and 0 < v.bound.value < 0.1
    tail = homogeneity_verdict("X", "x", "", np.array([1000, 3]), np.array([1000, 4]), seed=0, alpha=ALPHA,
                               family_size=25)
    assert "max_cell" not in tail.details  # two bins: the exact test alone, no Bonferroni factor


# ------------------------------------------------------------------ where one side is the reference

@pytest.fixture(scope="module")
def same_law():
    from harness.checker import compare_samplers

    return compare_samplers("reference-token", "torch-multinomial-token", budget="quick",
                            only="TK.law.v8,TK.filter.min_p,TK.filter.combined,TK.tail")


@pytest.mark.slow
def test_reference_vs_torch_multinomial_is_the_same_law_with_the_bound(same_law):
    from harness.checker import check_sampler

    res = same_law
    assert res.passed and res.exit_status == 0, res.report()
    assert [v.check for v in res.verdicts] == ["TK.law.v8", "TK.filter.min_p", "TK.filter.combined", "TK.tail"]
    for v in res.verdicts:
        assert v.bound is not None and v.bound.measure.startswith("TV") and v.detectable is not None
    assert res.verdicts[0].bound.value < 0.1 and res.verdicts[-1].bound.value < 1e-4
    fig = res.verdicts[0].details["figure"]
    assert set(fig) >= {"p_a", "p_b", "diff", "half_width"}
    chk = check_sampler("torch-multinomial-token", budget="quick", only=[c["id"] for c in res.plan])
    assert chk.law_passed == res.passed  # compare agrees with check


@pytest.mark.slow
def test_min_p_moved_before_top_p_fails_naming_the_configuration():
    from harness.checker import compare_samplers

    res = compare_samplers("reference-token", VARIANT, "token", budget="quick",
                           only="TK.law.v8,TK.filter.min_p,TK.filter.combined")
    assert res.exit_status == 1
    assert res.failed_configurations() == ["TK.filter.combined"], res.report()
    assert "TK.filter.combined" in res.headline


@pytest.mark.slow
def test_compare_agrees_with_check_on_the_min_p_variant():
    """At quick the check's one-sample chi-square misses the one dropped token (~20 expected draws,
    spread over 16 df) while compare's max-cell sees it; with 4x quick's draws at V = 4096 both
    reject, and both pass the same configuration for the reference's own twin."""
    from harness.checker import check_sampler, compare_samplers

    b = replace(get_budget("quick"), name="quick-x4", n_discrete=800_000)
    res = compare_samplers("reference-token", VARIANT, "token", budget=b, only="TK.filter.combined")
    chk = check_sampler(VARIANT, "token", budget=b, only="TK.filter.combined")
    assert not res.passed and not chk.law_passed, (res.report(), chk.report())


# ------------------------------------------------------------------ front doors --------------

def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "harness", "compare", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_usage_errors_exit_2():
    r = _cli("numpy-choice", "reference-token", "--budget", "quick")
    assert r.returncode == 2 and "different kinds" in r.stderr
    r = _cli("numpy-choice", "reference-categorical", "--only", "T9.nothing")
    assert r.returncode == 2 and "no check matches" in r.stderr


def test_cli_same_law_json_and_out(tmp_path):
    out = tmp_path / "cmp"
    r = _cli("numpy-choice", "reference-categorical", "--budget", "quick", "--only", "T1.law.k5,T1.law.gap8",
             "--json", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["exit_status"] == 0 and data["kind"] == "categorical" and len(data["verdicts"]) == 2
    names = {p.name for p in out.rglob("*") if p.is_file()}
    assert any(n.endswith(".json") for n in names) and any(n.endswith(".txt") for n in names)
    pytest.importorskip("matplotlib")
    assert {"T1.law.k5.png", "T1.law.gap8.png"} <= names


def test_compare_plans_exist_for_the_kinds():
    from harness.kinds import get_kind

    b = get_budget("quick")
    for kind in ("categorical", "relaxed", "noise", "token"):
        cp = get_kind(kind).compare_plan(b)
        assert cp and all(c.observables for c in cp)
        assert {c.id for c in cp} <= {c.id for c in get_kind(kind).plan(b)}


def test_gumbel_compare_fixture(pytester):
    pytester.makepyfile("""
        def test_same(gumbel_compare):
            res = gumbel_compare("numpy-choice", "reference-categorical", budget="quick", only="T1.law.k5")
            assert res.passed
    """)
    res = pytester.runpytest("-p", "no:cacheprovider")
    res.assert_outcomes(passed=1)
