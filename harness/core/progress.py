"""Progress bars for long work (tqdm on stderr; silent when stderr is not a terminal unless
forced, so logs and CI output stay clean)."""
from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

__all__ = ["progress"]


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "",
             enabled: bool | None = None) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar on stderr. ``enabled=None`` shows it on a TTY only
    (``GUMBEL_HARNESS_PROGRESS=1`` forces it on, ``=0`` off)."""
    env = os.environ.get("GUMBEL_HARNESS_PROGRESS")
    if enabled is None:
        enabled = sys.stderr.isatty() if env is None else env == "1"
    return tqdm(iterable, total=total, desc=desc, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False)
