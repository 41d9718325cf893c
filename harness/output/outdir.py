"""Output directories the tool owns: validate ``--out`` before any work, write all files of a
report as one unit, never touch what the tool did not write.

Rules (the README's "Where reports go" section states them for users):

* Every directory the tool writes carries a marker file, :data:`MARKER`
  (``.gumbel-harness-report``), a JSON object naming the tool, the kind of output, the files
  written, the writer's pid and the time.
* ``--out DIR`` may name a new path (missing parents are created), an empty directory, or a
  directory carrying the marker (an earlier report, replaced). Anything else (an existing file,
  a non-empty directory without the marker, a place that cannot be written such as a read-only
  directory or ``/proc/x``) is refused by :func:`check_out` with :class:`OutDirError`, which
  the commands turn into one line and exit status 2 *before* the run starts.
* :func:`write_atomic` writes every file into a sibling temporary directory
  ``.tmp-gumbel-harness-<name>-*`` (same parent, so the same file system), marker first, then
  swaps it with ``DIR`` in one ``renameat2(RENAME_EXCHANGE)`` on Linux (a plain ``rename`` when
  ``DIR`` does not exist yet). A kill at any moment therefore leaves either the old or the new
  report at ``DIR``; the old one (now under the temporary name) is deleted afterwards. Where the
  exchange is not available (not Linux, or a file system without it) the old directory is
  renamed aside first, a window of two renames in which ``DIR`` is briefly absent.
* Debris of an earlier killed run (temporary directories carrying the marker, whose writer is no
  longer alive) is removed by the next successful write to the same ``DIR``; nothing without the
  marker is ever removed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Mapping

__all__ = ["MARKER", "OutDirError", "check_out", "write_atomic", "is_marked", "tmp_prefix"]

MARKER = ".gumbel-harness-report"
TOOL = "gumbel-harness"


class OutDirError(ValueError):
    """``--out`` names a place the tool must not or cannot write (one-line message)."""


def tmp_prefix(out: Path) -> str:
    """Prefix of the temporary (and set-aside) directories of ``out`` in its parent."""
    return f".tmp-{TOOL}-{out.name}-"


def _read_marker(d: Path) -> dict | None:
    try:
        data = json.loads((d / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == TOOL else None


def is_marked(d: str | os.PathLike) -> bool:
    """``d`` is a directory this tool wrote (it carries a valid marker)."""
    d = Path(d)
    return d.is_dir() and not d.is_symlink() and _read_marker(d) is not None


def _parent(out: Path) -> Path:
    return out.parent if str(out.parent) else Path(".")


def check_out(out: str | os.PathLike, option: str = "--out") -> Path:
    """Validate an output directory before any work; returns it as an absolute path.

    Creates missing parent directories and probes that a directory can be created next to
    ``out`` (the way :func:`write_atomic` will). Raises :class:`OutDirError` with a one-line
    reason otherwise."""
    raw = str(out)
    if not raw.strip():
        raise OutDirError(f"{option} is empty")
    out = Path(os.path.abspath(os.path.expanduser(raw)))
    if out.is_symlink():
        raise OutDirError(f"{option} {raw} is a symbolic link; give the real directory")
    if out.exists():
        if not out.is_dir():
            raise OutDirError(f"{option} {raw} exists and is not a directory; refusing to replace it "
                              f"(give a new path or a directory the tool wrote)")
        try:
            empty = not any(out.iterdir())
        except OSError as exc:
            raise OutDirError(f"{option} {raw} cannot be read: {exc.strerror or exc}") from None
        if not empty and _read_marker(out) is None:
            raise OutDirError(f"{option} {raw} is a non-empty directory the tool did not write (no {MARKER} "
                              f"marker); refusing to replace it (give a new path)")
    parent = _parent(out)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=tmp_prefix(out) + "probe-", dir=parent)
        os.rmdir(probe)
    except OSError as exc:
        raise OutDirError(f"{option} {raw}: cannot write there ({exc.strerror or type(exc).__name__}: "
                          f"{exc.filename or parent})") from None
    return out


# ------------------------------------------------------------------------------ writing ----

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the paths ``a`` and ``b`` (Linux renameat2); False when unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EINVAL), errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # our own debris of an earlier, failed attempt
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_debris(out: Path) -> None:
    """Remove the marked temporary directories of ``out`` left by killed runs."""
    parent = _parent(out)
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for p in entries:
        if not p.name.startswith(tmp_prefix(out)) or p.is_symlink() or not p.is_dir():
            continue
        if p.name.startswith(tmp_prefix(out) + "probe-"):  # an empty probe of check_out
            try:
                p.rmdir()  # only succeeds when empty
            except OSError:
                pass
            continue
        m = _read_marker(p)
        if m is None or _pid_alive(m.get("pid")):
            continue
        shutil.rmtree(p, ignore_errors=True)


def write_atomic(out: str | os.PathLike, files: Mapping[str, bytes | str], kind: str = "report") -> Path:
    """Write ``files`` (relative path -> content) as the directory ``out``, atomically, with the
    marker. ``out`` must pass :func:`check_out` (checked again here)."""
    out = check_out(out)
    parent = _parent(out)
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix(out), dir=parent))
    try:
        names = sorted(str(k) for k in files)
        marker = {"tool": TOOL, "kind": kind, "files": names, "pid": os.getpid(),
                  "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        root = tmp.resolve()
        for rel, content in files.items():
            path = tmp / rel
            if rel == MARKER or root not in path.resolve().parents:
                raise ValueError(f"report file {rel!r} escapes the report directory or names the marker")
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            with open(path, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        if out.exists():
            check_out(out)  # still ours (or empty) right before the swap
            if not _exchange(tmp, out):
                aside = Path(tempfile.mkdtemp(prefix=tmp_prefix(out) + "old-", dir=parent))
                os.rmdir(aside)
                os.rename(out, aside)
                try:
                    os.rename(tmp, out)
                except BaseException:
                    os.rename(aside, out)
                    raise
                tmp = aside
        else:
            os.rename(tmp, out)
            tmp = None
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    if tmp is not None:  # now the previous report
        shutil.rmtree(tmp, ignore_errors=True)
    _clean_debris(out)
    return out
