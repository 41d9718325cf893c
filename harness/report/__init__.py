"""harness.report (work in progress)."""
