"""When to stop: scikit-learn's no-improvement rule (its
``_update_no_improvement_count``) on the watched value, a validation score or loss,
or the training loss.

An epoch improves when it beats the best value so far by more than ``tol``; after
more than ``n_iter_no_change`` epochs in a row without improving, training stops
(or, under ``learning_rate="adaptive"``, the optimizer divides its rate by 5).
The bookkeeping lives in the fit state, so that it survives between ``fit`` and
``partial_fit`` calls and rolls back with it.
"""

import numpy as np


class EarlyStopping:
    """The watch, the patience and the best epoch.

    Parameters
    ----------
    monitor_name : str or None
        The validation metric watched (``"loss"``, ``"accuracy"``, a scorer's
        name); None watches the training loss.
    greater_is_better : bool
    tol : float
    n_iter_no_change : int
    """

    def __init__(self, monitor_name, greater_is_better, tol, n_iter_no_change):
        self.monitor_name = monitor_name
        self.greater_is_better = greater_is_better
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change

    @property
    def on_validation(self):
        return self.monitor_name is not None

    @property
    def watched(self):
        """The watched column of ``history_``."""
        return f"valid_{self.monitor_name}" if self.on_validation else "train_loss"

    @property
    def key(self):
        """What is watched, as the fit state's ``monitoring`` records it."""
        if not self.on_validation:
            return None
        return (self.monitor_name, self.greater_is_better)

    def start(self, state):
        """Start the bookkeeping afresh when what is watched changed since the last
        fit (scikit-learn sets it once, in ``_initialize``, from
        ``early_stopping``)."""
        if state.monitoring is not NOT_STARTED and state.monitoring == self.key:
            return
        state.monitoring = self.key
        state.no_improvement_count = 0
        if self.on_validation:
            state.best_loss_ = None
            state.validation_scores_ = []
            state.best_validation_score_ = -np.inf if self.greater_is_better else np.inf
        else:
            state.best_loss_ = np.inf
            state.validation_scores_ = None
            state.best_validation_score_ = None

    def update(self, state, value, epoch):
        """Count epoch ``epoch``'s ``value`` of the watched quantity; returns
        whether it is the best so far (then ``state.best_epoch_`` is ``epoch``)."""
        sign = 1.0 if self.greater_is_better else -1.0
        best = state.best_validation_score_ if self.on_validation else state.best_loss_
        if sign * value < sign * best + self.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if not sign * value > sign * best:
            return False
        if self.on_validation:
            state.best_validation_score_ = value
        else:
            state.best_loss_ = value
        state.best_epoch_ = epoch
        return True

    def improved(self, state):
        """Whether the last ``update`` improved by more than ``tol``."""
        return state.no_improvement_count == 0

    def stalled(self, state):
        return state.no_improvement_count > self.n_iter_no_change

    def stalled_message(self):
        return (
            f"{self.watched} did not improve by more than tol={self.tol:g} for "
            f"{self.n_iter_no_change} consecutive epochs"
        )


class _NotStarted:
    def __repr__(self):
        return "<not started>"


# A fit state's ``monitoring`` before any stochastic fit watched anything.
NOT_STARTED = _NotStarted()
