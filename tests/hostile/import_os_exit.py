"""A target module that calls os._exit(0) when imported."""
import os

os._exit(0)


def sample(logits, n, seed):  # pragma: no cover - never reached
    return None
