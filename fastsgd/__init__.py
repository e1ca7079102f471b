"""fastsgd: multilayer perceptrons trained by compiled on-line, mini-batch and
full-batch gradient descent, behind drop-in scikit-learn estimators."""

from importlib import import_module as _import_module

try:
    _import_module("fastsgd._kernels")  # the compiled part, checked first
except ImportError as exc:
    raise ImportError(
        f"fastsgd's compiled kernels cannot be imported from {__path__[0]} ({exc}).\n"
        "If this is a source checkout, build and install fastsgd first: "
        '`pip install .` (or `pip install -e ".[test]"` to build the kernels in '
        "place for development). If fastsgd is installed, Python found this "
        "unbuilt source tree first: run it from another directory."
    ) from exc

from fastsgd._config import show_config
from fastsgd._mlp import InconsistentVersionWarning, MLPClassifier, MLPRegressor
from fastsgd._show_versions import show_versions
from fastsgd._version import __version__

__all__ = [
    "InconsistentVersionWarning",
    "MLPClassifier",
    "MLPRegressor",
    "compare_batch_sizes",
    "show_config",
    "show_versions",
    "__version__",
]

# Loaded on first use, so that ``import fastsgd`` loads only the estimators.
_LAZY = {"compare_batch_sizes": "fastsgd._experiment.compare"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastsgd' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
