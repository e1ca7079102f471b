"""What changes during a fit, apart from the estimator's parameters: the weights,
the optimizer's state, the counters, the best weights, the curves and history.

The epoch loop reads and writes only a ``FitState``; the estimator's fitted
attributes (``n_iter_``, ``loss_curve_``, ``best_epoch_``, ...) are published from
it after every epoch, so callbacks and a Ctrl-C see a consistent model, and read
back from the estimator at the start of the next fit (``warm_start``,
``partial_fit``, a model from ``from_sklearn``). ``coefs_`` and ``intercepts_``
stay views into ``params``.
"""

import numpy as np

from fastsgd._early_stopping import NOT_STARTED

# The fit state's values and the estimator's attributes they are published as.
_PUBLISHED = {
    "n_iter_": "n_iter_",
    "t_": "t_",
    "loss_": "loss_",
    "best_loss_": "best_loss_",
    "best_validation_score_": "best_validation_score_",
    "best_epoch_": "best_epoch_",
    "no_improvement_count": "_no_improvement_count",
    "monitoring": "_monitoring",
    "loss_curve_": "loss_curve_",
    "validation_scores_": "validation_scores_",
    "validation_loss_curve_": "validation_loss_curve_",
    "history_": "history_",
}

# The optimizer's counters and rates that move between epochs.
_SCHEDULE = ("t", "learning_rate", "learning_rate_init", "plateau_count")


class FitState:
    """The state one stochastic fit advances, with snapshot and rollback.

    Parameters
    ----------
    params : ndarray
        The flat parameter buffer, trained in place.
    best_params : ndarray
        The best epoch's weights (same layout).
    optimizer : Optimizer
        Its ``state`` buffers are trained in place; ``t`` and ``learning_rate``
        move with each epoch.
    **values
        The counters, curves and early-stopping bookkeeping, named as the keys of
        ``_PUBLISHED``.
    """

    def __init__(self, params, best_params, optimizer, **values):
        self.params = params
        self.best_params = best_params
        self.optimizer = optimizer
        for name in _PUBLISHED:
            setattr(self, name, values.get(name))
        self._saved = None

    @classmethod
    def from_estimator(cls, estimator, params):
        """The state as ``estimator``'s last fit left it (``params``: its flat
        buffer)."""
        values = {
            name: getattr(estimator, attribute, None)
            for name, attribute in _PUBLISHED.items()
        }
        if "_monitoring" not in vars(estimator):
            values["monitoring"] = NOT_STARTED
        return cls(params, estimator._best_params, estimator._optimizer, **values)

    def publish(self, estimator):
        """Set ``estimator``'s fitted attributes from this state (the lists are
        shared, not copied)."""
        for name, attribute in _PUBLISHED.items():
            setattr(estimator, attribute, getattr(self, name))

    # -- snapshot and rollback ---------------------------------------------------

    def snapshot(self):
        """Remember the state before an epoch, to roll back to if it diverges.

        The weights and optimizer buffers are copied into buffers allocated on the
        first snapshot of a fit; the curves only grow, so their lengths suffice;
        the best weights are copied only when an epoch is about to replace them
        (``save_best_weights``).
        """
        buffers = self._buffers()
        if self._saved is None:
            self._saved = {"buffers": {k: np.empty_like(b) for k, b in buffers.items()}}
            self._best_copy = np.empty_like(self.best_params)
        for name, buffer in buffers.items():
            np.copyto(self._saved["buffers"][name], buffer)
        self._saved["values"] = {
            name: value
            for name in _PUBLISHED
            if not isinstance(value := getattr(self, name), list)
        }
        self._saved["lengths"] = {
            name: len(value)
            for name in _PUBLISHED
            if isinstance(value := getattr(self, name), list)
        }
        self._saved["optimizer"] = {
            name: getattr(self.optimizer, name) for name in _SCHEDULE
        }
        self._best_saved = False

    def save_best_weights(self):
        """Keep the best weights of the snapshot before this epoch replaces them."""
        if not self._best_saved:
            np.copyto(self._best_copy, self.best_params)
            self._best_saved = True

    def rollback(self):
        """Return to the last snapshot."""
        for name, buffer in self._buffers().items():
            np.copyto(buffer, self._saved["buffers"][name])
        for name, value in self._saved["values"].items():
            setattr(self, name, value)
        for name, length in self._saved["lengths"].items():
            del getattr(self, name)[length:]
        for name, value in self._saved["optimizer"].items():
            setattr(self.optimizer, name, value)
        if self._best_saved:
            np.copyto(self.best_params, self._best_copy)

    def _buffers(self):
        return {"params": self.params, **self.optimizer.state}
