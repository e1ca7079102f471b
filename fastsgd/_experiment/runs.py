"""One training run: a split in the form the kernels read (``_Problem``), the
paired initial weights, the hold-out curve and its stopping rule (``_Curve``),
fastsgd driven segment by segment through ``_kernels.train_epoch``,
scikit-learn driven on the same batches through its ``partial_fit``, and
``_run``, which makes one row of the runs table."""

import hashlib
import math
import time
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from fastsgd import _kernels, _network, _parameters


class _Problem:
    """A split in the form the kernels read, with the network's layout and
    accuracy on the hold-out and test rows."""

    def __init__(self, split, hidden):
        self.split = split
        self.hidden = hidden
        self.binary = split.n_classes == 2
        n_outputs = 1 if self.binary else split.n_classes
        self.layout = _network.make_layout(
            split.X_train.shape[1],
            [hidden],
            n_outputs,
            "tanh",
            "logistic" if self.binary else "softmax",
        )
        self.n_train = split.y_train.shape[0]
        if self.binary:
            Y = split.y_train[:, None]
        else:
            Y = np.eye(split.n_classes)[split.y_train]
        self.train = _kernels.TrainingData(
            split.X_train,
            Y=np.ascontiguousarray(Y, dtype=np.float64),
            sample_weight=np.ones(self.n_train),
        )
        self._eval = {}
        for name, X, y in (
            ("holdout", split.X_holdout, split.y_holdout),
            ("test", split.X_test, split.y_test),
        ):
            n = X.shape[0]
            out = np.empty((n, n_outputs))
            work = _network.workspace(
                self.layout, _network.chunk_rows(self.layout, n), np.float64
            )
            self._eval[name] = (_kernels.TrainingData(X), y, out, work)

    def accuracy(self, params, part):
        """Accuracy of the weights ``params`` on the ``"holdout"`` or ``"test"`` rows
        (predictions as scikit-learn's MLPClassifier makes them)."""
        data, y, out, work = self._eval[part]
        _network.forward(self.layout, params, data, out=out, work=work)
        predicted = out[:, 0] > 0.5 if self.binary else out.argmax(axis=1)
        return float(np.mean(predicted == y))


def initial_weights(layout, seed):
    """The paired initial weights of every run at ``seed``.

    Drawn as ``MLPClassifier(random_state=seed)`` (fastsgd's or scikit-learn's)
    draws them; the returned generator is in the state those estimators shuffle
    the first epoch from.

    Returns
    -------
    params : ndarray
        Flat parameter buffer (``_network`` layout).
    random_state : RandomState
    """
    random_state = np.random.RandomState(seed)
    params = _parameters.glorot_uniform(layout, "tanh", random_state, np.float64)
    return params, random_state


def _digest(params):
    return hashlib.sha1(np.ascontiguousarray(params).tobytes()).hexdigest()[:12]


def _segments(n_rows, batch_size, epoch, evals_per_epoch):
    """How epoch ``epoch`` (1-based) is cut between hold-out evaluations: a list of
    ``(first row, end row, batches)``, cut at batch boundaries.

    About ``evals_per_epoch / epoch`` evaluations per epoch (at least one), so the
    evaluations stay about 10% of the training so far apart and epochs-to-target
    can tell batch sizes apart even when the target comes within an epoch.
    """
    n_batches = -(-n_rows // batch_size)
    k = min(n_batches, max(1, -(-evals_per_epoch // epoch)))
    cuts = np.unique(np.round(np.linspace(0, n_batches, k + 1)).astype(int))
    return [
        (int(b0) * batch_size, min(int(b1) * batch_size, n_rows), int(b1 - b0))
        for b0, b1 in zip(cuts[:-1], cuts[1:], strict=True)
    ]


class _Diverged(Exception):
    pass


class _Stop(Exception):
    pass


class _Curve:
    """One run's hold-out accuracy at each evaluation, its best point (and that
    point's weights), its training seconds and its stopping rule."""

    def __init__(self, problem, patience, progress, label, stop_at=None, budget=None):
        self.problem = problem
        self.patience = patience
        self.progress = progress
        self.label = label
        self.stop_at = stop_at
        self.budget = budget
        self.epoch, self.updates, self.seconds, self.holdout = [], [], [], []
        self.best = -1.0
        self.best_index = 0
        self.best_params = np.empty(problem.layout.n_params)
        self.train_seconds = 0.0

    def evaluate(self, params, epoch, updates):
        accuracy = self.problem.accuracy(params, "holdout")
        self.epoch.append(epoch)
        self.updates.append(updates)
        self.seconds.append(self.train_seconds)
        self.holdout.append(accuracy)
        if accuracy > self.best:
            self.best = accuracy
            self.best_index = len(self.holdout) - 1
            np.copyto(self.best_params, params)
        self.progress.live(
            f"{self.label}  epoch {epoch:6.2f}  hold-out {accuracy:.4f}  "
            f"best {self.best:.4f}"
        )

    def stalled(self, epoch):
        """No improvement for ``patience`` epochs, or for as long as it took to
        reach the best (checked at the end of epochs).

        Patience that grows with the training so far (the "patience increase" of
        Bengio's 2012 recommendations) lets full batch, which improves a little
        per update and makes one update per epoch, run as long relative to its
        progress as on-line training does.
        """
        best = self.epoch[self.best_index]
        return epoch - best >= max(self.patience, best)

    def stop_reason(self, epoch, epoch_end):
        """Why training stops after the evaluation just made, or None: the
        paired run's best accuracy reached (``stop_at``), the time budget spent,
        or (at the end of an epoch) patience."""
        if self.stop_at is not None and self.holdout[-1] >= self.stop_at:
            return "paired best"
        if self.budget is not None and self.train_seconds >= self.budget:
            return "budget"
        if epoch_end and self.stalled(epoch):
            return "patience"
        return None

    def checkpoint(self, params, epoch, rows, updates, finite=True):
        """The evaluation after the first ``rows`` training rows of epoch
        ``epoch`` (1-based), the same for every engine: raises ``_Diverged`` if
        the loss (``finite``) or the weights are no longer finite, else records
        the hold-out accuracy and returns ``stop_reason``."""
        n = self.problem.n_train
        position = epoch - 1 + rows / n
        if not (finite and _kernels.all_finite(params)):
            raise _Diverged(position)
        self.evaluate(params, position, updates)
        return self.stop_reason(epoch, rows == n)

    def as_dict(self):
        return {
            "epoch": np.asarray(self.epoch),
            "updates": np.asarray(self.updates, dtype=np.int64),
            "seconds": np.asarray(self.seconds),
            "holdout": np.asarray(self.holdout),
        }


def _train_fastsgd(
    problem, seed, batch_size, learning_rate, max_epochs, evals_per_epoch, curve
):
    """fastsgd's kernels as ``MLPClassifier(solver="sgd", momentum=0, alpha=0)`` runs
    them, one kernel call per segment of an epoch so that the hold-out can be
    measured in between without the estimator's per-call overhead."""
    layout = problem.layout
    params, random_state = initial_weights(layout, seed)
    n = problem.n_train
    grads = np.empty_like(params)
    chunk = _network.chunk_rows(layout, batch_size)
    work = _network.workspace(layout, chunk, params.dtype)
    rule = _kernels.UpdateRule("sgd", learning_rate=learning_rate)  # no state
    order = np.arange(n, dtype=np.intp)
    updates = 0
    curve.evaluate(params, 0.0, 0)
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        # The shuffle MLPClassifier draws: in place, from the same generator.
        random_state.shuffle(order)
        curve.train_seconds += time.perf_counter() - start
        for first, end, batches in _segments(n, batch_size, epoch, evals_per_epoch):
            start = time.perf_counter()
            loss_sum = _kernels.train_epoch(
                layout,
                problem.train,
                rule,
                params,
                grads,
                work,
                order[first:end],
                batch_size,
                chunk,
            )
            curve.train_seconds += time.perf_counter() - start
            updates += batches
            reason = curve.checkpoint(
                params, epoch, end, updates, math.isfinite(loss_sum)
            )
            if reason is not None:
                return reason
    return "max_epochs"


def _sklearn_model(problem, seed, batch_size, learning_rate):
    """``MLPClassifier(solver="sgd", momentum=0, alpha=0)``, trained by the caller
    through ``partial_fit`` on the batches it chooses (so ``shuffle=False``)."""
    return SklearnMLPClassifier(
        hidden_layer_sizes=(problem.hidden,),
        activation="tanh",
        solver="sgd",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate="constant",
        learning_rate_init=learning_rate,
        momentum=0.0,
        nesterovs_momentum=False,
        shuffle=False,
        random_state=seed,
        n_iter_no_change=np.iinfo(np.int32).max,  # the hold-out rule stops it
    )


def _sklearn_draws(problem, seed, init, classes):
    """Whether scikit-learn's MLPClassifier draws ``init`` at ``seed``: its first
    ``partial_fit`` with a learning rate far below the weights' rounding, which
    leaves them exactly as drawn."""
    model = _sklearn_model(problem, seed, 1, 1e-300)
    split = problem.split
    model.partial_fit(split.X_train[:1], split.y_train[:1], classes=classes)
    drawn = model.coefs_ + model.intercepts_
    expected = sum(_parameters.param_views(problem.layout, init), [])
    return all(np.array_equal(a, b) for a, b in zip(drawn, expected, strict=True))


def _train_sklearn(
    problem, seed, batch_size, learning_rate, max_epochs, evals_per_epoch, curve
):
    """scikit-learn's MLPClassifier on fastsgd's batches, through its public API:
    from the same initial weights (written into ``coefs_``/``intercepts_``), one
    ``partial_fit`` call per segment of an epoch, on the rows in the order
    fastsgd's loop shuffles them to. With momentum 0 and a constant rate its
    optimizer keeps no state between calls, so this trains as one ``fit`` would.
    Returns why it stopped and whether scikit-learn draws the same initial
    weights itself."""
    layout = problem.layout
    init, random_state = initial_weights(layout, seed)
    X, y = problem.split.X_train, problem.split.y_train
    classes = np.unique(y)
    n = problem.n_train
    params = init.copy()
    views = sum(_parameters.param_views(layout, params), [])
    model = _sklearn_model(problem, seed, batch_size, learning_rate)
    order = np.arange(n, dtype=np.intp)
    updates = 0
    curve.evaluate(init, 0.0, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            drawn_equal = _sklearn_draws(problem, seed, init, classes)
            model.partial_fit(X[:1], y[:1], classes=classes)  # builds the model
            for weights, start in zip(
                model.coefs_ + model.intercepts_, views, strict=True
            ):
                np.copyto(weights, start)
            for epoch in range(1, max_epochs + 1):
                start = time.perf_counter()
                random_state.shuffle(order)  # the shuffle fastsgd's loop draws
                curve.train_seconds += time.perf_counter() - start
                for first, end, batches in _segments(
                    n, batch_size, epoch, evals_per_epoch
                ):
                    start = time.perf_counter()
                    rows = order[first:end]
                    model.partial_fit(X[rows], y[rows])
                    curve.train_seconds += time.perf_counter() - start
                    if any("interrupted by user" in str(w.message) for w in caught):
                        raise KeyboardInterrupt  # scikit-learn swallows Ctrl-C
                    updates += batches
                    for view, weights in zip(
                        views, model.coefs_ + model.intercepts_, strict=True
                    ):
                        np.copyto(view, weights)
                    reason = curve.checkpoint(params, epoch, end, updates)
                    if reason is not None:
                        return reason, drawn_equal
        except ValueError as exc:  # scikit-learn's own non-finite check
            raise _Diverged(curve.epoch[-1] if curve.epoch else 0.0) from exc
    return "max_epochs", drawn_equal


_TRAINERS = {"fastsgd": _train_fastsgd, "sklearn": _train_sklearn}


def _batch_label(batch_size):
    return "full" if batch_size == "full" else str(int(batch_size))


def _run(
    problem,
    dataset,
    engine,
    seed,
    batch_size,
    learning_rate,
    settings,
    evals_per_epoch,
    threads,
    progress,
    stop_at=None,
    budget=None,
):
    """One training run, as one row of the runs table; ``stop_at`` and ``budget``
    stop it early (see ``_Curve.stop_reason``)."""
    n = problem.n_train
    rows_per_batch = n if batch_size == "full" else min(int(batch_size), n)
    label = (
        f"{dataset} {engine:7s} batch {_batch_label(batch_size):>4s} "
        f"lr {learning_rate:<6g} seed {seed}"
    )
    curve = _Curve(problem, settings.patience, progress, label, stop_at, budget)
    drawn_equal = None
    diverged_at = math.nan
    try:
        result = _TRAINERS[engine](
            problem,
            seed,
            rows_per_batch,
            learning_rate,
            settings.max_epochs,
            evals_per_epoch,
            curve,
        )
        if engine == "sklearn":
            stop, drawn_equal = result
        else:
            stop = result
    except _Diverged as exc:
        stop, diverged_at = "diverged", float(exc.args[0])
    test = problem.accuracy(curve.best_params, "test") if curve.holdout else math.nan
    epochs = max(
        curve.epoch[-1] if curve.epoch else 0.0,
        diverged_at if stop == "diverged" else 0.0,
    )
    split = problem.split
    return {
        "dataset": dataset,
        "engine": engine,
        "batch": _batch_label(batch_size),
        "batch_size": rows_per_batch,
        "learning_rate": learning_rate,
        # Wilson & Martinez sum a batch's per-sample changes: their rate is ours / B.
        "learning_rate_summed": learning_rate / rows_per_batch,
        "seed": seed,
        "n_train": n,
        "n_holdout": split.y_holdout.shape[0],
        "n_test": split.y_test.shape[0],
        "n_features": split.X_train.shape[1],
        "n_classes": split.n_classes,
        "hidden": problem.hidden,
        "threads": threads,
        "updates_per_epoch": -(-n // rows_per_batch),
        "stop": stop,
        "diverged": stop == "diverged",
        "epochs": epochs,
        "updates": curve.updates[-1] if curve.updates else 0,
        "seconds": curve.train_seconds,
        "seconds_per_epoch": curve.train_seconds / epochs if epochs > 0 else math.nan,
        "best_holdout": curve.best,
        "best_epoch": curve.epoch[curve.best_index],
        "test_at_best": test,
        "initial_weights": _digest(initial_weights(problem.layout, seed)[0]),
        "sklearn_drew_same_weights": drawn_equal,
        "curve": curve.as_dict(),
    }
