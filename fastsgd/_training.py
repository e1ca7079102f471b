"""The epoch loop: shuffle an index array, make one kernel call per epoch, then do
everything that happens between epochs (learning-rate schedules, early stopping,
best weights, history, the verbose log, callbacks, Ctrl-C, divergence checks).

The rules are scikit-learn's ``_fit_stochastic``, line for line where they exist
there, so that the same settings stop at the same epoch.
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


class Optimizer:
    """scikit-learn's SGDOptimizer or AdamOptimizer, with its state in flat buffers
    laid out like the parameters.

    Like scikit-learn's, it is created by ``fit`` and kept by ``partial_fit``, and
    it keeps the hyper-parameters it was created with.
    """

    def __init__(
        self,
        solver,
        n_params,
        dtype,
        *,
        learning_rate_init,
        lr_schedule,
        momentum,
        nesterovs_momentum,
        power_t,
        beta_1,
        beta_2,
        epsilon,
    ):
        if solver == "adam":
            self.rule = "adam"
        elif momentum == 0:
            self.rule = "sgd"
        else:
            self.rule = "nesterov" if nesterovs_momentum else "momentum"
        self.solver = solver
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.power_t = float(power_t)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0  # Adam's update count
        n_states = len(_kernels.STATE_NAMES[self.rule])
        self.states = [np.zeros(n_params, dtype=dtype) for _ in range(n_states)]

    def own_writeable_state(self):
        """Copy state buffers that are read-only (a model loaded with
        ``joblib.load(..., mmap_mode="r")``): the kernels write into them."""
        self.states = [s if s.flags.writeable else s.copy() for s in self.states]

    def update_rule(self, alpha):
        """The kernels' update rule for the next call: these settings, this
        state (shared, not copied), and the L2 penalty ``alpha``."""
        adam = self.rule == "adam"
        return _kernels.UpdateRule(
            self.rule,
            learning_rate=self.learning_rate_init if adam else self.learning_rate,
            momentum=self.momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            alpha=alpha,
            step=self.t,
            **dict(zip(_kernels.STATE_NAMES[self.rule], self.states, strict=True)),
        )

    def iteration_ends(self, time_step):
        """After an epoch: the ``invscaling`` schedule (``time_step`` is ``t_``)."""
        if self.solver == "sgd" and self.lr_schedule == "invscaling":
            self.learning_rate = (
                self.learning_rate_init / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self):
        """No improvement for ``n_iter_no_change`` epochs: stop, or (``adaptive``)
        divide the learning rate by 5. Returns ``(stop, what was done)``."""
        if self.solver != "sgd" or self.lr_schedule != "adaptive":
            return True, ""
        if self.learning_rate <= 1e-6:
            return True, "learning rate too small"
        self.learning_rate /= 5.0
        return False, f"learning rate set to {self.learning_rate:g}"


class _Snapshot:
    """The model as it was before an epoch: weights, optimizer state and the
    estimator's per-epoch bookkeeping, to roll back to if the epoch diverges.

    Buffers are allocated once per fit; the best weights are copied only on an
    epoch that is about to replace them.
    """

    _SCALARS = (
        "n_iter_",
        "t_",
        "loss_",
        "best_loss_",
        "best_validation_score_",
        "best_epoch_",
        "_no_improvement_count",
    )
    _LISTS = ("loss_curve_", "history_", "validation_scores_", "validation_loss_curve_")

    def __init__(self, estimator, params, optimizer):
        self.est = estimator
        self.params = params
        self.optimizer = optimizer
        self._buffers = [np.empty_like(a) for a in (params, *optimizer.states)]
        self._best = np.empty_like(params)

    def _live(self):
        return (self.params, *self.optimizer.states)

    def save(self):
        for buffer, live in zip(self._buffers, self._live(), strict=True):
            np.copyto(buffer, live)
        self._t = self.optimizer.t
        self._lr = self.optimizer.learning_rate
        est = self.est
        self._scalars = {name: getattr(est, name, None) for name in self._SCALARS}
        self._lengths = {
            name: len(getattr(est, name, None) or ()) for name in self._LISTS
        }
        self._best_saved = False

    def save_best(self):
        """Keep the best weights before this epoch overwrites them."""
        if not self._best_saved:
            np.copyto(self._best, self.est._best_params)
            self._best_saved = True

    def restore(self):
        for buffer, live in zip(self._buffers, self._live(), strict=True):
            np.copyto(live, buffer)
        self.optimizer.t = self._t
        self.optimizer.learning_rate = self._lr
        est = self.est
        for name, value in self._scalars.items():
            setattr(est, name, value)
        for name, length in self._lengths.items():
            values = getattr(est, name, None)
            if values is not None:
                del values[length:]
        if self._best_saved:
            np.copyto(est._best_params, self._best)


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
    """The ``verbose`` table: one aligned row per epoch, then why training stopped."""

    def __init__(self, metric, has_validation, enabled):
        self.enabled = enabled
        self.has_validation = has_validation
        self.metric = metric  # None, "loss", or a score's name
        columns = [("epoch", 5), ("train_loss", 10)]
        if has_validation:
            columns.append(("valid_loss", 10))
            if metric != "loss":
                columns.append((f"valid_{metric}", max(10, len(metric) + 6)))
        columns += [("lr", 9), ("seconds", 7)]
        self.columns = columns
        self._header_printed = False

    def _print(self, line):
        if self.enabled:
            print(line, flush=True)

    def row(self, record):
        if not self.enabled:
            return
        if not self._header_printed:
            self._print(
                "  ".join(f"{name:>{w}}  " for name, w in self.columns).rstrip()
            )
            self._header_printed = True
        marked = (
            "valid_loss"
            if self.metric == "loss"
            else f"valid_{self.metric}"
            if self.has_validation
            else "train_loss"
        )
        values = {
            "epoch": f"{record['epoch']:d}",
            "train_loss": _fixed_width(record["train_loss"]),
            "valid_loss": _fixed_width(record.get("valid_loss", float("nan"))),
            f"valid_{self.metric}": _fixed_width(
                record.get("valid_score", float("nan"))
            ),
            "lr": f"{record['learning_rate']:.3g}",
            "seconds": f"{record['seconds']:.3f}",
        }
        cells = []
        for name, width in self.columns:
            mark = " *" if name == marked and record["is_best"] else "  "
            cells.append(f"{values[name]:>{width}}{mark}")
        self._print("  ".join(cells).rstrip())

    def note(self, text):
        self._print(text)


class EpochLoop:
    """Trains ``estimator`` for up to ``max_iter`` epochs (one for ``partial_fit``).

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        Holds the fitted attributes this loop updates.
    layout : Layout
    params : ndarray
        The flat parameter buffer (``coefs_`` and ``intercepts_`` view it).
    optimizer : Optimizer
    training : TrainingSet
    monitor : Monitor or None
        The validation set's monitor; None monitors the training loss.
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
        params,
        optimizer,
        training,
        monitor,
        batch_size,
        incremental,
        random_state,
        tasks,
    ):
        self.est = estimator
        self.layout = layout
        self.params = params
        self.optimizer = optimizer
        self.training = training
        self.monitor = monitor
        self.batch_size = batch_size
        self.incremental = incremental
        self.random_state = random_state
        self.tasks = tasks
        n = training.n_samples
        dtype = params.dtype
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
        self.grads = np.empty(layout.n_params, dtype=dtype)
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
        self.snapshot = _Snapshot(estimator, params, optimizer)
        callbacks = estimator.callbacks
        self.callbacks = list(callbacks) if callbacks is not None else []
        self.x_max = training.data.max_abs()
        self.log = EpochLog(
            monitor.name if monitor is not None else None,
            monitor is not None,
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
        self.snapshot.save()
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
        self.optimizer.t = rule.step
        if self.optimizer.rule == "adam":
            self.optimizer.learning_rate = rule.last_learning_rate
        diverged = None
        if not (math.isfinite(loss_sum) and _kernels.all_finite(self.params)):
            what = "loss" if not math.isfinite(loss_sum) else "weights"
            diverged = f"the {what} became infinite or NaN"
        return loss_sum / self.training.n_samples, diverged

    def _diverged(self, epoch, what):
        """Roll the model back to before ``epoch``, which diverged. Without a
        watched validation set that is an error (ValueError); with one, see
        ``_keep_best_weights``."""
        advice = self._advice()
        self.snapshot.restore()
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
        np.copyto(self.params, self.est._best_params)
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
        ``restore_best_weights`` is set; returns whether it did."""
        if self.monitor is None or not self.est.restore_best_weights:
            return False
        np.copyto(self.params, self.est._best_params)
        return True

    def _kept_weights(self):
        """What the model holds after ``_restore_best``, in words."""
        est = self.est
        if est.best_epoch_ is None:
            return "the weights it started with (no epoch improved on them)"
        return (
            f"the weights of epoch {est.best_epoch_} (valid_{self.monitor.name} = "
            f"{_fixed_width(est.best_validation_score_)})"
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

    # -- between epochs ---------------------------------------------------------------

    def _record_validation(self, valid_score):
        """scikit-learn's early-stopping bookkeeping on the monitored score
        (negated when it is a loss); returns whether this epoch is the best."""
        est = self.est
        sign = 1.0 if self.monitor.greater_is_better else -1.0
        est.validation_scores_.append(valid_score)
        signed, best = sign * valid_score, sign * est.best_validation_score_
        if signed < best + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if signed > best:
            est.best_validation_score_ = valid_score
            self.snapshot.save_best()
            np.copyto(est._best_params, self.params)
            return True
        return False

    def _record_training_loss(self):
        est = self.est
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]
            return True
        return False

    def _stalled_message(self):
        est = self.est
        watched = (
            f"valid_{self.monitor.name}" if self.monitor is not None else "train_loss"
        )
        return (
            f"{watched} did not improve by more than tol={est.tol:g} for "
            f"{est.n_iter_no_change} consecutive epochs"
        )

    # -- the loop -------------------------------------------------------------------

    def run(self):
        est = self.est
        n = self.training.n_samples
        reason = None
        limits = blas_threads_for(self.layout, self.chunk)
        # partial_fit is one epoch of a longer run: no begin/end around it.
        hooks = [] if self.incremental else self.callbacks
        for callback in hooks:
            if hasattr(callback, "on_train_begin"):
                callback.on_train_begin(est)
        try:
            with limits, _sigint_stops_training() as sigint:
                est.n_iter_ = 0
                for _ in range(est.max_iter):
                    reason = self._epoch(n, sigint)
                    if reason is not None or self.incremental:
                        break
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            for callback in hooks:
                if hasattr(callback, "on_train_end"):
                    callback.on_train_end(est)
        restored = self._restore_best()
        if est.n_iter_ > 0 and not self._outputs_finite():
            epoch = len(est.history_)
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

    def _epoch(self, n, sigint):
        est = self.est
        epoch = len(est.history_) + 1
        start = time.perf_counter()
        # The rate the schedule set for this epoch (Adam: the rate before its bias
        # correction, which is what users set and what a log should show).
        lr = (
            self.optimizer.learning_rate_init
            if self.optimizer.rule == "adam"
            else self.optimizer.learning_rate
        )
        self.tasks.epoch_begins()
        train_loss, diverged = self._train_one_epoch()
        divergence = None if diverged is None else self._diverged(epoch, diverged)
        est.n_iter_ += 1
        est.loss_ = train_loss
        est.t_ += n
        est.loss_curve_.append(train_loss)
        record = {"epoch": epoch, "train_loss": train_loss}
        if self.monitor is not None:
            valid_loss, valid_score = (
                self.monitor.evaluate(self.params)
                if divergence is None
                else (math.nan, math.nan)
            )
            record["valid_loss"] = valid_loss
            record["valid_score"] = valid_score
            est.validation_loss_curve_.append(valid_loss)
            is_best = self._record_validation(valid_score)
        else:
            is_best = self._record_training_loss()
        if is_best:
            est.best_epoch_ = epoch
        record["learning_rate"] = lr
        record["seconds"] = time.perf_counter() - start
        record["is_best"] = is_best
        est.history_.append(record)
        self.log.row(record)

        self.optimizer.iteration_ends(est.t_)
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
        if est._no_improvement_count > est.n_iter_no_change:
            stop, action = self.optimizer.trigger_stopping()
            if stop:
                return self._stalled_message() + (f" ({action})" if action else "")
            self.log.note(f"{self._stalled_message()}: {action}")
            est._no_improvement_count = 0
        if sigint["interrupted"]:
            return "interrupted"
        if est.n_iter_ == est.max_iter and not self.incremental:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=6,
            )
            return f"reached max_iter={est.max_iter}"
        return None

    def _finish(self, reason, restored):
        """Warn about an interruption and log why training stopped; ``restored``
        says whether the best epoch's weights were put back."""
        est = self.est
        kept = self._kept_weights() if restored else "the weights of the last epoch"
        if reason == "interrupted":
            warnings.warn(
                f"Training interrupted by user after {est.n_iter_} epochs; the model "
                f"keeps {kept}.",
                UserWarning,
                stacklevel=6,
            )
        if reason is None:
            return
        text = f"Stopped after epoch {len(est.history_)}: {reason}."
        if restored:
            text += f" Restored {kept}."
        self.log.note(text)
