"""harness.checker (work in progress)."""
