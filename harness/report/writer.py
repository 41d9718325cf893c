"""Atomic writing of a report directory.

All files are written into a fresh temporary directory next to the target (same parent, hence
the same file system), then the directory is renamed into place in one ``os.replace``. A crash
(an exception, a full disk) while writing removes the temporary directory, so no half report is
ever visible under the target name. When the target already exists it is first renamed aside and
removed only after the new report is in place.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

__all__ = ["write_atomic", "default_out_dir", "TMP_PREFIX"]

TMP_PREFIX = ".tmp-report-"


def default_out_dir(root: str | os.PathLike = "reports", now: datetime | None = None) -> Path:
    """``reports/<UTC timestamp>`` (``-2``, ``-3``... appended if it exists)."""
    now = now or datetime.now(timezone.utc)
    base = Path(root) / now.strftime("%Y%m%d-%H%M%S")
    out, i = base, 2
    while out.exists():
        out = base.with_name(f"{base.name}-{i}")
        i += 1
    return out


def write_atomic(out: str | os.PathLike, files: Mapping[str, bytes | str]) -> Path:
    """Write ``files`` (relative path -> content) as the directory ``out``, atomically."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=parent))
    try:
        for rel, content in files.items():
            path = tmp / rel
            if tmp.resolve() not in path.resolve().parents:
                raise ValueError(f"report file {rel!r} escapes the report directory")
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            with open(path, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "old-", dir=parent))
            os.rmdir(old)
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:
                os.replace(old, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return out
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
