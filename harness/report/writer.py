"""Where a validation report goes: the default timestamped directory, and the atomic writer of
:mod:`harness.output.outdir` (marker, refusal of foreign directories, one-step replacement)."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from harness.output.outdir import MARKER, OutDirError, check_out, write_atomic

__all__ = ["write_atomic", "check_out", "default_out_dir", "OutDirError", "MARKER", "TMP_PREFIX"]

#: Every temporary directory of the writer starts with this (``.tmp-gumbel-harness-<name>-``).
TMP_PREFIX = ".tmp-gumbel-harness-"


def default_out_dir(root: str | os.PathLike = "reports", now: datetime | None = None) -> Path:
    """``reports/<UTC timestamp>`` (``-2``, ``-3``... appended if it exists)."""
    now = now or datetime.now(timezone.utc)
    base = Path(root) / now.strftime("%Y%m%d-%H%M%S")
    out, i = base, 2
    while out.exists():
        out = base.with_name(f"{base.name}-{i}")
        i += 1
    return out
