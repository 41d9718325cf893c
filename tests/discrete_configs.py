"""Test helper: record the Pearson configuration of every discrete verdict a block runs (by
patching ``harness.checks.builders.pearson_gof``; this process only), so that the size tests
measure the configurations the checker and the report really use. A test helper, not a module of
the statistics layer (which imports nothing of the harness above it)."""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from harness.stats.sizes import DiscreteConfig, pooled_config


@contextlib.contextmanager
def record_discrete_configs() -> Iterator[list[DiscreteConfig]]:
    """Record the Pearson configuration of every :func:`harness.checks.builders.discrete_verdict` run
    inside the block (patches ``harness.checks.builders.pearson_gof``; this process only)."""
    import harness.checks.builders as checks

    seen: list[DiscreteConfig] = []
    orig = checks.pearson_gof

    def spy(observed, probs, *, exact_above, min_level, seed, min_expected=5.0):
        o = np.asarray(observed)
        seen.append(pooled_config("?", int(o.sum()), probs, exact_above, min_level))
        return orig(observed, probs, exact_above=exact_above, min_level=min_level, seed=seed,
                    min_expected=min_expected)

    checks.pearson_gof = spy
    try:
        yield seen
    finally:
        checks.pearson_gof = orig
