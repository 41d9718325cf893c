"""The environment a report ran in: versions, platform, CPU/GPU (recorded in results.json and
shown in the report; identical for repeated runs on one machine)."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["environment"]

_PACKAGES = ("numpy", "scipy", "torch", "sympy", "matplotlib", "tqdm", "jinja2", "gumbel-harness")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Versions (python, numpy, scipy, torch, ...), platform, CPU model and count, GPU."""
    gpu: dict[str, Any] = {"cuda_available": False}
    try:
        import torch

        gpu["cuda_available"] = bool(torch.cuda.is_available())
        gpu["torch_cuda_version"] = torch.version.cuda
        if gpu["cuda_available"]:
            gpu["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:  # noqa: BLE001
        gpu["error"] = str(exc)
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "packages": {p: _version(p) for p in _PACKAGES},
        "git_commit": _git_commit(),
    }
