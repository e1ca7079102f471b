"""fastsgd: multilayer perceptrons trained by compiled on-line, mini-batch and
full-batch gradient descent, behind drop-in scikit-learn estimators."""

from fastsgd._experiment import compare_batch_sizes
from fastsgd._mlp import InconsistentVersionWarning, MLPClassifier, MLPRegressor
from fastsgd._show_versions import show_versions
from fastsgd._version import __version__

__all__ = [
    "InconsistentVersionWarning",
    "MLPClassifier",
    "MLPRegressor",
    "compare_batch_sizes",
    "show_versions",
    "__version__",
]
