"""A target module that ends the process when imported."""
import sys

sys.exit(0)


def sample(logits, n, seed):  # pragma: no cover - never reached
    return None
