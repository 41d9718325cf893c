"""Shared fixtures. CUDA tests are marked ``cuda`` and skip cleanly without a device."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("GUMBEL_HARNESS_PROGRESS", "0")

# Import the C-extension modules the harness loads lazily before any in-process pytester run
# (tests/test_plugin.py): pytester restores sys.modules afterwards, and a NumPy extension
# (numpy.fft's _pocketfft_umath, via scipy.stats) cannot be loaded a second time in a process.
import numpy.fft  # noqa: E402,F401
import scipy.stats  # noqa: E402,F401


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    """Each test using it runs on the CPU and, when present, on CUDA."""
    return request.param
