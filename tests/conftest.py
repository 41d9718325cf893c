"""Shared fixtures. CUDA tests are marked ``cuda`` and skip cleanly without a device."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("GUMBEL_HARNESS_PROGRESS", "0")


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
