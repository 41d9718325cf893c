"""The pytest plugin (entry point ``pytest11: gumbel_harness``): a project writes one test with
the ``gumbel_check`` fixture; a broken sampler fails with a readable report."""
from __future__ import annotations

pytest_plugins = ["pytester"]

EXTERNAL_TEST = '''
import numpy as np
from harness.checker import assert_conforms


def good_sampler(logits, n, seed):
    x = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(x) | np.isneginf(x)) or np.all(np.isneginf(x)):
        raise ValueError("logits must be finite or -inf, not all -inf")
    p = np.exp(x - x.max())
    return np.random.default_rng(seed).choice(x.size, size=n, p=p / p.sum())


def broken_sampler(logits, n, seed):
    """argmax(p + g): probabilities used where logits are needed (bugs.md B3)."""
    x = np.asarray(logits, dtype=np.float64)
    p = np.exp(x - x.max()); p /= p.sum()
    g = np.random.default_rng(seed).gumbel(size=(n, x.size))
    return np.argmax(p + g, axis=1)


def test_good_conforms(gumbel_check):
    res = gumbel_check(good_sampler, kind="categorical", only=["T1.law.power", "T1.law.neginf"], probes=True)
    assert res.passed and res.budget == "quick"


def test_broken_conforms(gumbel_check):
    gumbel_check(broken_sampler, kind="categorical", only=["T1.law.power"])


def test_assert_helper_passes():
    assert_conforms(good_sampler, kind="categorical", budget="quick", only=["T1.law.power"])
'''


def test_fixture_passes_good_and_fails_broken_with_report(pytester):
    pytester.makepyfile(test_external=EXTERNAL_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "--gumbel-budget", "quick", "--gumbel-seed", "3")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "test_broken_conforms" in out
    assert "does not conform" in out and "FAIL T1.law.power" in out
    assert "claim:" in out and "P(argmax_i(x_i + g_i) = i) = softmax(x)_i" in out and "reproduce" in out
    assert "Traceback" not in out  # pytrace=False: the report, not a stack


def test_ini_defaults(pytester):
    pytester.makeini("[pytest]\ngumbel_budget = quick\ngumbel_seed = 9\n")
    pytester.makepyfile(test_ini='''
def test_it(gumbel_check):
    res = gumbel_check("harness.checks.samplers:reference_categorical", kind="categorical", only=["T1.law.power"])
    assert res.budget == "quick" and res.seed == 9
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_plugin_is_registered_via_entry_point(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("gumbel_harness")
