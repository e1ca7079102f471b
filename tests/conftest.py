import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.preprocessing import StandardScaler


def _test_the_installed_fastsgd():
    """``python -m pytest`` puts the current directory first on sys.path, so from a
    checkout whose kernels are not built in place, the ``fastsgd/`` source tree
    would shadow the installed package that ``pytest`` tests. Take the checkout
    off sys.path then: both commands test the installed fastsgd. (A checkout with
    built kernels, as an editable install makes, is left alone.)"""
    checkout = Path(__file__).resolve().parent.parent
    source = checkout / "fastsgd"
    if any((source / f"_kernels{suffix}").exists() for suffix in EXTENSION_SUFFIXES):
        return
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != checkout]


_test_the_installed_fastsgd()

from _helpers import standardized_classification  # noqa: E402, I001

from fastsgd import _kernels  # noqa: E402 - after the sys.path fix above
from fastsgd._config import runnable_isas, using_isa  # noqa: E402


@pytest.fixture
def multiclass():
    return standardized_classification()


@pytest.fixture
def binary():
    return standardized_classification(n_classes=2)


@pytest.fixture
def multilabel():
    X, Y = make_multilabel_classification(
        n_samples=60, n_features=5, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), Y


@pytest.fixture
def regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    Y = np.column_stack([X @ rng.normal(size=5), np.sin(X[:, 0])])
    return X, Y


@pytest.fixture
def counts():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    return X, rng.poisson(np.exp(0.3 * X[:, 0]))


@pytest.fixture(params=[name for name, *_ in _kernels.isa_paths()])
def every_isa(request):
    """Run the test on each instruction-set path of the kernels that was built; a
    path this CPU cannot run is skipped, saying so."""
    if request.param not in runnable_isas():
        pytest.skip(f"this CPU cannot run the {request.param} kernels")
    with using_isa(request.param):
        yield request.param
