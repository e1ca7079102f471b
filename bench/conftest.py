"""The speed suite (not part of the default test run: ``pytest bench``).

Every measurement comes from ``fastsgd._benchmark``, the harness that
``fastsgd bench`` prints its table with, so both report the same figures.
"""

import pytest

from fastsgd import _benchmark


@pytest.fixture(autouse=True)
def _one_thread():
    """Every benchmark runs on one BLAS (and PyTorch) thread."""
    with _benchmark.one_thread():
        yield


def pytest_configure(config):
    config.addinivalue_line("markers", "torch: needs PyTorch (skipped without it)")


def pytest_collection_modifyitems(config, items):
    if _benchmark.torch_available():
        return
    skip = pytest.mark.skip(reason="PyTorch is not installed")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)
