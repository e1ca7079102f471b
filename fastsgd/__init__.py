"""fastsgd: multilayer perceptrons trained by compiled on-line, mini-batch and
full-batch gradient descent, behind drop-in scikit-learn estimators."""

from fastsgd._config import show_config
from fastsgd._experiment import compare_batch_sizes
from fastsgd._mlp import MLPClassifier, MLPRegressor
from fastsgd._version import __version__

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "compare_batch_sizes",
    "show_config",
    "__version__",
]
