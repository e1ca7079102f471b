"""Every private or version-dependent scikit-learn name fastsgd uses, in one place.

Tested with scikit-learn 1.7.2 (no ``sklearn.callback``) and 1.9.1. When a
scikit-learn release moves or changes one of these, this is the file to fix.
"""

from contextlib import nullcontext

import sklearn
from sklearn.metrics._scorer import _BaseScorer
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin

    # Tears the callbacks down after a fit, as scikit-learn's ``with_callbacks``
    # decorator does, without adding a frame (warnings point at the caller).
    from sklearn.callback._callback_support import callback_management_context

    HAS_CALLBACK_API = True
except ImportError:
    HAS_CALLBACK_API = False

    def callback_management_context(estimator):
        return nullcontext()

    class CallbackSupportMixin:
        """Stands in for scikit-learn's mixin where it does not exist: the
        estimator has no ``set_callbacks`` (``hasattr`` is False, as for
        scikit-learn's own estimators there), and using it says why."""

        @property
        def set_callbacks(self):
            raise AttributeError(
                "set_callbacks needs scikit-learn's callback API (sklearn.callback, "
                "scikit-learn 1.9 or later); this is scikit-learn "
                f"{sklearn.__version__}. Upgrade scikit-learn, or pass functions "
                f"to call after each epoch as {type(self).__name__}(callbacks=[...])."
            )


__all__ = [
    "HAS_CALLBACK_API",
    "AdamOptimizer",
    "CallbackSupportMixin",
    "Interval",
    "SGDOptimizer",
    "StrOptions",
    "_BaseScorer",
    "_check_optimize_result",
    "_check_partial_fit_first_call",
    "_check_sample_weight",
    "_safe_indexing",
    "callback_management_context",
]
