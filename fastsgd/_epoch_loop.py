"""The epoch loop: shuffle an index array, make one kernel call per epoch, then do
everything that happens between epochs (the learning-rate schedule, early
stopping, best weights, history, the verbose log, callbacks, scikit-learn's
callback tasks, Ctrl-C, divergence checks).

The rules are scikit-learn's ``_fit_stochastic``, line for line where they exist
there, so that the same settings stop at the same epoch. The loop reads the
estimator's parameters and writes only the fit state (``_fit_state.py``), which it
publishes to the estimator after each epoch.
"""

import math
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastsgd import _kernels, _network, _parameters
from fastsgd._sklearn_compat import HAS_CALLBACK_API
from fastsgd._threads import blas_threads_for


@dataclass
class TrainingSet:
    """The training rows as the kernels read them."""

    data: _kernels.TrainingData
    rows: np.ndarray | None  # rows of X to train on, in scikit-learn's order

    @property
    def n_samples(self):
        return self.data.n_rows if self.rows is None else self.rows.shape[0]


def _fitted_with(layout, params):
    """The attributes that make a copy of the estimator predict with (a copy of)
    ``params``: what a scikit-learn callback's ``fitted_estimator`` is built from."""
    params = params.copy()
    coefs, intercepts = _parameters.param_views(layout, params)
    return {"_params": params, "coefs_": coefs, "intercepts_": intercepts}


class FitTasks:
    """A fit's tasks for scikit-learn's callback API (``set_callbacks``): one root
    task per ``fit`` or ``partial_fit`` call, with one sub-task per epoch.

    Under a meta-estimator (``Pipeline``, ``GridSearchCV``) the root task joins
    the meta-estimator's task tree. Callbacks get the data as passed to the call;
    at the end of a task, ``fitted_estimator`` predicts with the weights as they
    are then. Does nothing where scikit-learn has no callback API.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
    task_name : str
        ``"fit"`` or ``"partial_fit"``.
    max_epochs : int
        Sub-tasks at most (0: none, as for L-BFGS).
    X, y, sample_weight
        The call's arguments, for the callbacks.
    """

    def __init__(self, estimator, task_name, max_epochs, X, y, sample_weight):
        self.est = estimator
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.data = {"X": X, "y": y, "metadata": metadata}
        self.context = None
        self.epoch = None
        if HAS_CALLBACK_API:
            self.context = estimator._init_callback_context(
                task_name=task_name, max_subtasks=max_epochs
            )
            self.context.call_on_fit_task_begin(estimator=estimator, **self.data)

    def epoch_begins(self):
        if self.context is not None:
            self.epoch = self.context.subcontext(task_name="epoch")
            self.epoch.call_on_fit_task_begin(estimator=self.est, **self.data)

    def epoch_ends(self, layout, params):
        """End the epoch's task; returns whether a callback asks to stop."""
        if self.epoch is None:
            return False
        epoch, self.epoch = self.epoch, None
        return epoch.call_on_fit_task_end(
            estimator=self.est,
            **self.data,
            reconstruction_attributes=lambda: _fitted_with(layout, params),
        )

    def fit_ends(self):
        if self.context is not None:
            self.context.call_on_fit_task_end(
                estimator=self.est, **self.data, reconstruction_attributes={}
            )


@contextmanager
def _sigint_stops_training():
    """While training, Ctrl-C asks the loop to stop after the current epoch; a second
    Ctrl-C interrupts at once. Only the main thread can own signal handlers."""
    state = {"interrupted": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        state["interrupted"] = True
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


# Said of weights that cannot be kept either.
_UNUSABLE = ", but they too give infinite or NaN outputs on the training data: refit it"


def _fixed_width(value):
    """Six decimals, or scientific notation where those would not fit the
    table's 10-character columns (a loss of 471436.026628)."""
    text = f"{value:.6f}"
    return text if len(text) <= 10 else f"{value:.3e}"


class EpochLog:
    """The ``verbose`` table: one aligned row per epoch, read from its ``history_``
    record, then why training stopped.

    Parameters
    ----------
    columns : list of (str, str)
        The validation columns: (header, key in the record); empty without a
        validation set.
    watched : str
        The header of the watched column, marked ``*`` on a new best.
    enabled : bool
    """

    def __init__(self, columns, watched, enabled):
        self.enabled = enabled
        self.watched = watched
        self.columns = [
            ("epoch", "epoch", 5),
            ("train_loss", "train_loss", 10),
            *((header, key, max(10, len(header))) for header, key in columns),
            ("lr", "learning_rate", 9),
            ("seconds", "seconds", 7),
        ]
        self._header_printed = False

    def _print(self, line):
        if self.enabled:
            print(line, flush=True)

    def row(self, record):
        if not self.enabled:
            return
        if not self._header_printed:
            self._print(
                "  ".join(f"{name:>{w}}  " for name, _, w in self.columns).rstrip()
            )
            self._header_printed = True
        cells = []
        for header, key, width in self.columns:
            value = record[key]
            if key == "epoch":
                text = f"{value:d}"
            elif key == "learning_rate":
                text = f"{value:.3g}"
            elif key == "seconds":
                text = f"{value:.3f}"
            else:
                text = _fixed_width(value)
            mark = " *" if header == self.watched and record["is_best"] else "  "
            cells.append(f"{text:>{width}}{mark}")
        self._print("  ".join(cells).rstrip())

    def note(self, text):
        self._print(text)


class EpochLoop:
    """Trains for up to ``max_iter`` epochs (one for ``partial_fit``).

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        Its parameters say how to train; its fitted attributes are published from
        ``state`` after each epoch.
    layout : Layout
    state : FitState
        What the fit advances: weights, optimizer state, counters, history.
    training : TrainingSet
    monitor : Monitor or None
        The validation set's monitor; None monitors the training loss.
    early_stopping : EarlyStopping
    batch_size : int
    incremental : bool
        ``partial_fit``: one epoch.
    random_state : RandomState
        The generator scikit-learn would use for this fit's shuffles.
    tasks : FitTasks
        The call's tasks for scikit-learn's callbacks.
    """

    def __init__(
        self,
        estimator,
        layout,
        state,
        training,
        monitor,
        early_stopping,
        batch_size,
        incremental,
        random_state,
        tasks,
    ):
        self.est = estimator
        self.layout = layout
        self.state = state
        self.params = state.params
        self.optimizer = state.optimizer
        self.training = training
        self.monitor = monitor
        self.early_stopping = early_stopping
        self.batch_size = batch_size
        self.incremental = incremental
        self.random_state = random_state
        self.tasks = tasks
        n = training.n_samples
        dtype = self.params.dtype
        if batch_size == 1 and np.ptp(training.data.sample_weight) > 0:
            warnings.warn(
                "With batch_size=1, scikit-learn's update rule divides each step by "
                "the sample's own weight, so sample_weight and class_weight only "
                "scale the alpha penalty and skip zero-weight samples. Use a batch "
                "size above 1 for the weights to weigh.",
                UserWarning,
                stacklevel=5,
            )
        self.chunk = _network.chunk_rows(layout, batch_size)
        self.work = _network.workspace(layout, self.chunk, dtype)
        self.grads = _parameters.empty_aligned(layout.n_params, dtype)
        self.sample_idx = np.arange(n, dtype=np.intp)
        self.order = (
            self.sample_idx if training.rows is None else np.empty_like(self.sample_idx)
        )
        # One batch of every row (full batch): its gradient is a sum over the rows
        # in any order, so the kernel reads them in storage order, without the
        # gather copies a shuffled order costs.
        self.full_order = None
        if batch_size >= n:
            self.full_order = (
                np.arange(n, dtype=np.intp)
                if training.rows is None
                else np.sort(training.rows).astype(np.intp, copy=False)
            )
        self.reached_max_iter = False
        callbacks = estimator.callbacks
        self.callbacks = list(callbacks) if callbacks is not None else []
        self.x_max = training.data.max_abs()
        self.log = EpochLog(
            monitor.columns if monitor is not None else [],
            early_stopping.watched,
            bool(estimator.verbose),
        )

    # -- one epoch ------------------------------------------------------------------

    def _next_order(self):
        if self.est.shuffle:
            # In place, the same permutation sklearn.utils.shuffle draws from the
            # same RandomState (one rs.shuffle of n indices), without a new array.
            self.random_state.shuffle(self.sample_idx)
        if self.full_order is not None:
            return self.full_order  # the shuffle above still draws, as sklearn's
        if self.training.rows is not None:
            np.take(self.training.rows, self.sample_idx, out=self.order)
        return self.order

    def _train_one_epoch(self):
        """One kernel call; returns the epoch's mean training loss and, when it
        diverged, what did (None otherwise)."""
        order = self._next_order()
        self.state.snapshot()
        rule = self.optimizer.update_rule(self.est.alpha)
        loss_sum = _kernels.train_epoch(
            self.layout,
            self.training.data,
            rule,
            self.params,
            self.grads,
            self.work,
            order,
            self.batch_size,
            self.chunk,
        )
        self.optimizer.steps_taken(rule)
        diverged = None
        if not (math.isfinite(loss_sum) and _kernels.all_finite(self.params)):
            what = "loss" if not math.isfinite(loss_sum) else "weights"
            diverged = f"the {what} became infinite or NaN"
        return loss_sum / self.training.n_samples, diverged

    def _diverged(self, epoch, what):
        """Roll the fit back to before ``epoch``, which diverged. Without a
        watched validation set that is an error (ValueError); with one, see
        ``_keep_best_weights``."""
        advice = self._advice()
        self.state.rollback()
        self.state.publish(self.est)
        if self.monitor is not None:
            return self._keep_best_weights(epoch, what, advice)
        kept = f"the weights it had before epoch {epoch}"
        # That epoch's loss was summed before each update, so the weights
        # before it are not known to give finite outputs: check.
        if not self._outputs_finite():
            kept += _UNUSABLE
        raise ValueError(
            f"Training diverged in epoch {epoch}: {what}. {advice} The model keeps "
            f"{kept}."
        )

    def _keep_best_weights(self, epoch, what, advice):
        """scikit-learn's rule (#29504) when training diverges with a watched
        validation set: it stops there with the best epoch's weights. Returns the
        warning to give; raises a ValueError if even those weights give infinite
        or NaN outputs on the training data."""
        np.copyto(self.params, self.state.best_params)
        kept = self._kept_weights()
        if not self._outputs_finite():
            raise ValueError(
                f"Training diverged in epoch {epoch}: {what}. {advice} The model "
                f"keeps {kept}{_UNUSABLE}."
            )
        return (
            f"Training diverged in epoch {epoch}: {what}. Training stopped; the "
            f"model keeps {kept}. {advice}"
        )

    def _advice(self):
        return (
            "Scale the inputs (for example with StandardScaler) or use a smaller "
            "learning_rate_init (the learning rate was "
            f"{self.optimizer.learning_rate:g})."
        )

    def _restore_best(self):
        """Put the best epoch's weights back if a validation set is watched and
        ``restore_best_weights`` is set, at the end of a ``fit`` (``partial_fit``
        goes on from its last weights: see ``restore_best_epoch``); returns
        whether it did."""
        if (
            self.monitor is None
            or self.incremental
            or not self.est.restore_best_weights
        ):
            return False
        np.copyto(self.params, self.state.best_params)
        return True

    def _kept_weights(self):
        """What the model holds after ``_restore_best``, in words."""
        state = self.state
        if state.best_epoch_ is None:
            return "the weights it started with (no epoch improved on them)"
        return (
            f"the weights of epoch {state.best_epoch_} (valid_{self.monitor.name} = "
            f"{_fixed_width(state.best_validation_score_)})"
        )

    def _outputs_finite(self):
        """Whether the weights give finite outputs on the training data.

        Each epoch's loss is summed with the weights before each update, so the last
        update of a call is not covered by it. A bound on the outputs from max|x| and
        the weights settles the question cheaply; only when the bound cannot rule
        out an overflow is there an exact forward pass.
        """
        if _network.outputs_cannot_overflow(self.layout, self.params, self.x_max):
            return True
        out = _network.forward(self.layout, self.params, self.training.data)
        return _kernels.all_finite(out.reshape(-1))

    # -- the loop -------------------------------------------------------------------

    def run(self):
        est, state = self.est, self.state
        reason = None
        limits = blas_threads_for(self.layout, self.chunk)
        # partial_fit is one epoch of a longer run: no begin/end around it.
        hooks = [] if self.incremental else self.callbacks
        for callback in hooks:
            if hasattr(callback, "on_train_begin"):
                callback.on_train_begin(est)
        try:
            with limits, _sigint_stops_training() as sigint:
                state.n_iter_ = 0
                state.publish(est)
                for _ in range(est.max_iter):
                    reason = self._epoch(sigint)
                    if reason is not None or self.incremental:
                        break
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            state.publish(est)
            for callback in hooks:
                if hasattr(callback, "on_train_end"):
                    callback.on_train_end(est)
        restored = self._restore_best()
        if state.n_iter_ > 0 and not self._outputs_finite():
            epoch = len(state.history_)
            what = (
                "after its last update the network's outputs on the training data "
                "are infinite or NaN"
            )
            if self.monitor is None:
                self._diverged(epoch, what)
            warnings.warn(
                self._keep_best_weights(epoch, what, self._advice()),
                UserWarning,
                stacklevel=5,
            )
            reason, restored = f"training diverged in epoch {epoch} ({what})", True
        self._finish(reason, restored)

    def _epoch(self, sigint):
        est, state = self.est, self.state
        epoch = len(state.history_) + 1
        start = time.perf_counter()
        lr = self.optimizer.epoch_learning_rate
        self.tasks.epoch_begins()
        train_loss, diverged = self._train_one_epoch()
        divergence = None if diverged is None else self._diverged(epoch, diverged)
        state.n_iter_ += 1
        state.loss_ = train_loss
        state.t_ += self.training.n_samples
        state.loss_curve_.append(train_loss)
        record = {"epoch": epoch, "train_loss": train_loss}
        if self.monitor is not None:
            record.update(
                self.monitor.evaluate(self.params if divergence is None else None)
            )
            valid_score = record["valid_score"]
            state.validation_loss_curve_.append(record["valid_loss"])
            state.validation_scores_.append(valid_score)
            is_best = self.early_stopping.update(state, valid_score, epoch)
            if is_best:
                state.save_best_weights()
                np.copyto(state.best_params, self.params)
        else:
            is_best = self.early_stopping.update(state, train_loss, epoch)
        plateau = None
        if divergence is None:
            plateau = self.optimizer.plateau(self.early_stopping.improved(state))
        record["learning_rate"] = lr
        if self.optimizer.lr_schedule == "plateau":
            record["lr_dropped"] = plateau == "dropped"
        record["seconds"] = time.perf_counter() - start
        record["is_best"] = is_best
        state.history_.append(record)
        self.log.row(record)
        if plateau == "dropped":
            self.log.note(self._plateau_message(lr, plateau))

        self.optimizer.iteration_ends(state.t_)
        state.publish(est)
        stopper = next((c for c in self.callbacks if c(est, record)), None)
        # A callback (or a scorer) may have put new arrays into coefs_ (to clip
        # weights, say): training goes on from them.
        est._adopt_replaced_weights(self.params)
        sklearn_stop = self.tasks.epoch_ends(self.layout, self.params)
        if divergence is not None:
            warnings.warn(divergence, UserWarning, stacklevel=6)
            return f"training diverged in epoch {epoch} ({diverged})"
        if stopper is not None:
            return f"stopped by callback {getattr(stopper, '__name__', stopper)}"
        if sklearn_stop:
            return "stopped by a scikit-learn callback (set_callbacks)"
        if self.early_stopping.stalled(state):
            stop, action = self.optimizer.trigger_stopping()
            message = self.early_stopping.stalled_message()
            if stop:
                return message + (f" ({action})" if action else "")
            self.log.note(f"{message}: {action}")
            state.no_improvement_count = 0
        if plateau == "stop":
            return self._plateau_message(lr, plateau)
        if sigint["interrupted"]:
            return "interrupted"
        if state.n_iter_ == est.max_iter and not self.incremental:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=6,
            )
            self.reached_max_iter = True
            return f"reached max_iter={est.max_iter}"
        return None

    def _plateau_message(self, lr, plateau):
        text = (
            f"{self.early_stopping.watched} did not improve by more than "
            f"tol={self.early_stopping.tol:g} for 2 epochs"
        )
        if plateau == "stop":
            return f"{text} with the learning rate at {lr:g} (1e-6 or less)"
        new = self.optimizer.epoch_learning_rate
        return f"  plateau: {text}: learning rate {lr:g} -> {new:g}"

    def _finish(self, reason, restored):
        """Warn about an interruption and log why training stopped; ``restored``
        says whether the best epoch's weights were put back."""
        state = self.state
        state.publish(self.est)
        self.est.stop_training_ = reason is not None and not self.reached_max_iter
        kept = self._kept_weights() if restored else "the weights of the last epoch"
        if reason == "interrupted":
            warnings.warn(
                f"Training interrupted by user after {state.n_iter_} epochs; the "
                f"model keeps {kept}.",
                UserWarning,
                stacklevel=6,
            )
        if reason is None:
            return
        text = f"Stopped after epoch {len(state.history_)}: {reason}."
        if restored:
            text += f" Restored {kept}."
        self.log.note(text)
