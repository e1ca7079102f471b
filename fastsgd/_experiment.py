"""Reproduce Wilson & Martinez (2003), "The general inefficiency of batch training
for gradient descent learning": train the same network with on-line (batch 1),
mini-batch and full-batch gradient descent, and compare the accuracy they reach
and how fast they reach it, in epochs and in seconds, for fastsgd and
scikit-learn.

Protocol (../shared/PAPER.md): per seed, a stratified 60/20/20 train / hold-out /
test split, standardized with training statistics, and one set of initial
weights shared by every batch size, learning rate and engine. One tanh hidden
layer, softmax with cross-entropy, plain SGD at a constant learning rate (no
momentum, no weight decay), reshuffled every epoch. Hold-out accuracy is
measured about every 10% of the training so far (10 times in the first epoch);
a run stops when it has not improved for --patience epochs (or for as long as it
took to reach its best, if longer); test accuracy is read at the best hold-out
point and decides nothing. The first engine searches the learning rates for each
batch size; then each batch size's chosen rate runs again with every engine,
back to back, from the same weights in the same sample order. The target is 99%
of the best hold-out accuracy reached at each seed.

Only training is timed: fastsgd's shuffles and kernel calls; scikit-learn's fit()
minus the hold-out evaluations made inside it.

Prints progress and the summary tables, and writes report.md and PNG plots
(with matplotlib: pip install "fastsgd[plot]") into --out.

examples:
  fastsgd compare                          # digits: about a minute on 2 cores
  fastsgd compare --dataset large          # 25,000 samples: a few minutes
  fastsgd compare --dataset data.csv --target label --seeds 5
"""

import argparse
import csv
import datetime
import hashlib
import math
import os
import platform
import shlex
import sys
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import sklearn
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fastsgd import _kernels, _network
from fastsgd._training import Optimizer
from fastsgd._version import __version__

BATCH_SIZES = (1, 8, 32, 128, "full")
# Half-decades from 0.001 to 10.
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
DATASETS = ("digits", "iris", "wine", "breast_cancer", "large", "digits-x10")
ENGINES = ("fastsgd", "sklearn")
TARGET_FRACTION = 0.99
EVALS_PER_EPOCH = 10


@dataclass(frozen=True)
class Settings:
    """Per-dataset defaults: hidden units, epoch cap, patience (in epochs), seeds,
    the time budget in training seconds of each run of the engines that follow
    the search (None: no budget), and how many of the seeds the learning-rate
    search runs on (None: all)."""

    hidden: int
    max_epochs: int
    patience: int
    seeds: int = 3
    budget: float | None = None
    search_seeds: int | None = None  # None: search on every seed


# Measured on a 2-core machine so that each dataset's default run takes about a
# minute (digits) or a few minutes (large, digits-x10). On large, scikit-learn's
# on-line epoch alone takes seconds: its runs get a time budget.
SETTINGS = {
    "digits": Settings(hidden=64, max_epochs=200, patience=10),
    "iris": Settings(hidden=32, max_epochs=1000, patience=50),
    "wine": Settings(hidden=32, max_epochs=1000, patience=50),
    "breast_cancer": Settings(hidden=32, max_epochs=500, patience=30),
    "large": Settings(
        hidden=64, max_epochs=100, patience=5, seeds=2, budget=30.0, search_seeds=1
    ),
    "digits-x10": Settings(hidden=64, max_epochs=100, patience=5, budget=30.0),
    "csv": Settings(hidden=32, max_epochs=300, patience=20),
}


# -- data ------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _bundled(name):
    if name == "large":
        # PAPER.md's stand-in for Wilson & Martinez's 20,000-sample speech task.
        return sk_datasets.make_classification(
            n_samples=25_000,
            n_features=64,
            n_informative=32,
            n_classes=10,
            n_clusters_per_class=3,
            random_state=0,
        )
    loader = {
        "digits": sk_datasets.load_digits,
        "digits-x10": sk_datasets.load_digits,
        "iris": sk_datasets.load_iris,
        "wine": sk_datasets.load_wine,
        "breast_cancer": sk_datasets.load_breast_cancer,
    }[name]
    return loader(return_X_y=True)


def _read_csv(path, target):
    if target is None:
        raise ValueError(f"{path}: a CSV dataset needs --target COLUMN (target=...)")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty")
        header = [h.strip() for h in header]
        if target not in header:
            raise ValueError(
                f"{path} has no column {target!r}; its columns are {header}"
            )
        t = header.index(target)
        labels, rows = [], []
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{path}, line {line_no}: {len(row)} fields, the header has "
                    f"{len(header)}"
                )
            labels.append(row[t].strip())
            try:
                rows.append([float(v) for i, v in enumerate(row) if i != t])
            except ValueError as exc:
                raise ValueError(
                    f"{path}, line {line_no}: every column but the target must be "
                    f"numeric ({exc})"
                ) from None
    X = np.asarray(rows, dtype=np.float64)
    if X.shape[0] < 10 or X.shape[1] == 0:
        raise ValueError(f"{path}: need at least 10 rows and one feature column")
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: the feature columns contain NaN or infinity")
    return X, np.asarray(labels)


def load_dataset(name, target=None):
    """Features and labels of a bundled dataset or a CSV file.

    Parameters
    ----------
    name : str
        One of ``DATASETS`` or the path of a CSV file with a header row.
    target : str, default=None
        For a CSV file, the name of the label column (every other column must
        be numeric).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    repeat : int
        How many times the training split is repeated (10 for ``digits-x10``).
    """
    if name in DATASETS:
        X, y = _bundled(name)
        return (
            np.asarray(X, dtype=np.float64),
            np.asarray(y),
            (10 if name == "digits-x10" else 1),
        )
    if os.path.exists(name):
        X, y = _read_csv(name, target)
        return X, y, 1
    raise ValueError(
        f"unknown dataset {name!r}: use one of {', '.join(DATASETS)} or a CSV path"
    )


@dataclass
class Split:
    """One seed's stratified 60/20/20 split, standardized with training statistics.

    ``train``, ``holdout`` and ``test`` are row indices into the original data
    (before any repetition of the training rows); ``y_*`` are class codes
    ``0 .. n_classes - 1``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_holdout: np.ndarray
    y_holdout: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train: np.ndarray
    holdout: np.ndarray
    test: np.ndarray
    n_classes: int


def split_dataset(X, y, seed, repeat=1):
    """Stratified 60% train / 20% hold-out / 20% test split, standardized with the
    training rows' mean and standard deviation.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Class labels of any type.
    seed : int
        Seeds the split.
    repeat : int, default=1
        Repeat the training rows this many times (the redundancy check:
        ``digits-x10``); hold-out and test rows are not repeated.

    Returns
    -------
    Split
    """
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError("the target has a single class: there is nothing to compare")
    rows = np.arange(X.shape[0])
    rest, test = train_test_split(
        rows, test_size=0.2, stratify=codes, random_state=seed
    )
    train, holdout = train_test_split(
        rest, test_size=0.25, stratify=codes[rest], random_state=seed
    )
    scaler = StandardScaler().fit(X[train])

    def part(index, times=1):
        Xp = np.ascontiguousarray(scaler.transform(X[index]))
        yp = codes[index]
        if times > 1:
            Xp, yp = np.tile(Xp, (times, 1)), np.tile(yp, times)
        return Xp, yp

    X_train, y_train = part(train, repeat)
    X_holdout, y_holdout = part(holdout)
    X_test, y_test = part(test)
    return Split(
        X_train,
        y_train,
        X_holdout,
        y_holdout,
        X_test,
        y_test,
        train,
        holdout,
        test,
        classes.shape[0],
    )


# -- one network, one seed -------------------------------------------------------------


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
        self.X_train_args = _network.kernel_input(split.X_train)
        if self.binary:
            Y = split.y_train[:, None]
        else:
            Y = np.eye(split.n_classes)[split.y_train]
        self.Y_train = np.ascontiguousarray(Y, dtype=np.float64)
        self.sample_weight = np.ones(self.n_train)
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
            self._eval[name] = (_network.kernel_input(X), n, y, out, work)

    def accuracy(self, params, part):
        """Accuracy of the weights ``params`` on the ``"holdout"`` or ``"test"`` rows
        (predictions as scikit-learn's MLPClassifier makes them)."""
        X_args, n, y, out, work = self._eval[part]
        _network.forward(self.layout, params, X_args, n, out=out, work=work)
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
    params = _network.glorot_uniform(layout, "tanh", random_state, np.float64)
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
    optimizer = Optimizer(
        "sgd",
        layout.n_params,
        params.dtype,
        learning_rate_init=learning_rate,
        lr_schedule="constant",
        momentum=0.0,
        nesterovs_momentum=False,
        power_t=0.5,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
    )
    rule_args = optimizer.kernel_args()  # constant: no state, a fixed rate
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
            loss_sum, _, _ = _kernels.train_epoch(
                layout,
                params,
                grads,
                work,
                *problem.X_train_args,
                problem.Y_train,
                problem.sample_weight,
                order[first:end],
                batch_size,
                chunk,
                0.0,
                *rule_args,
            )
            curve.train_seconds += time.perf_counter() - start
            updates += batches
            position = epoch - 1 + end / n
            if not (math.isfinite(loss_sum) and _kernels.all_finite(params)):
                raise _Diverged(position)
            curve.evaluate(params, position, updates)
            reason = curve.stop_reason(epoch, end == n)
            if reason is not None:
                return reason
    return "max_epochs"


class _ProbedSklearnMLP(SklearnMLPClassifier):
    """scikit-learn's MLPClassifier, unchanged but for a probe called before each
    batch's back-propagation: it is how the hold-out accuracy is measured inside
    ``fit`` (with its time taken out) without splitting the fit into
    ``partial_fit`` calls, whose input checks would distort the seconds."""

    _probe = None

    def _backprop(self, *args, **kwargs):
        if self._probe is not None:
            self._probe(self)
        return super()._backprop(*args, **kwargs)


class _SklearnProbe:
    """Counts scikit-learn's updates; before the first one, writes the paired
    initial weights into the model (in place, so its optimizer updates them); at
    the same points as fastsgd, measures the hold-out accuracy and applies the
    stopping rule."""

    def __init__(self, problem, init, batch_size, evals_per_epoch, curve):
        self.problem = problem
        self.init = init
        self.batch_size = batch_size
        self.evals_per_epoch = evals_per_epoch
        self.curve = curve
        self.n_batches = -(-problem.n_train // batch_size)
        self.updates = 0
        self.params = np.empty_like(init)
        self.views = sum(_network.param_views(problem.layout, self.params), [])
        self.init_views = sum(_network.param_views(problem.layout, init), [])
        self.drawn_equal = None
        self._cuts = {}
        self.resume = time.perf_counter()

    def _weights(self, est):
        return est.coefs_ + est.intercepts_

    def __call__(self, est):
        self.curve.train_seconds += time.perf_counter() - self.resume
        if self.updates == 0:
            weights = self._weights(est)
            self.drawn_equal = all(
                np.array_equal(w, v)
                for w, v in zip(weights, self.init_views, strict=True)
            )
            for w, v in zip(weights, self.init_views, strict=True):
                np.copyto(w, v)
            self.curve.evaluate(self.init, 0.0, 0)
        else:
            epoch, batches = divmod(self.updates, self.n_batches)
            if batches == 0:
                batches = self.n_batches
            else:
                epoch += 1
            self._checkpoint(est, epoch, batches)
        self.updates += 1
        self.resume = time.perf_counter()

    def _checkpoint(self, est, epoch, batches):
        cuts = self._cuts.get(epoch)
        if cuts is None:
            cuts = self._cuts[epoch] = {
                sum(s[2] for s in segments[: i + 1])
                for segments in [
                    _segments(
                        self.problem.n_train,
                        self.batch_size,
                        epoch,
                        self.evals_per_epoch,
                    )
                ]
                for i in range(len(segments))
            }
        if batches not in cuts:
            return
        for view, w in zip(self.views, self._weights(est), strict=True):
            np.copyto(view, w)
        rows = min(batches * self.batch_size, self.problem.n_train)
        position = epoch - 1 + rows / self.problem.n_train
        if not _kernels.all_finite(self.params):
            raise _Diverged(position)
        self.curve.evaluate(self.params, position, self.updates)
        reason = self.curve.stop_reason(epoch, batches == self.n_batches)
        if reason is not None:
            raise _Stop(reason)

    def finish(self, est, epochs):
        """After ``fit`` ran all its epochs: the last epoch's evaluation. Returns
        why training stopped, as fastsgd's loop would say it."""
        self.curve.train_seconds += time.perf_counter() - self.resume
        try:
            self._checkpoint(est, epochs, self.n_batches)
        except _Stop as stop:
            return stop.args[0]
        return "max_epochs"


def _train_sklearn(
    problem, seed, batch_size, learning_rate, max_epochs, evals_per_epoch, curve
):
    init, _ = initial_weights(problem.layout, seed)
    est = _ProbedSklearnMLP(
        hidden_layer_sizes=(problem.hidden,),
        activation="tanh",
        solver="sgd",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate="constant",
        learning_rate_init=learning_rate,
        momentum=0.0,
        nesterovs_momentum=False,
        shuffle=True,
        random_state=seed,
        max_iter=max_epochs,
        n_iter_no_change=max_epochs + 1,  # the hold-out rule stops it, not its own
    )
    probe = _SklearnProbe(problem, init, batch_size, evals_per_epoch, curve)
    est._probe = probe
    stop = "max_epochs"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probe.resume = time.perf_counter()
        try:
            est.fit(problem.split.X_train, problem.split.y_train)
        except _Stop as reason:
            stop = reason.args[0]
        except ValueError as exc:  # scikit-learn's own non-finite check
            raise _Diverged(curve.epoch[-1] if curve.epoch else 0.0) from exc
        else:
            stop = probe.finish(est, est.n_iter_)
    if any("interrupted by user" in str(w.message) for w in caught):
        raise KeyboardInterrupt  # scikit-learn swallows Ctrl-C; pass it on
    if probe.drawn_equal is None:
        raise RuntimeError(
            "scikit-learn's MLPClassifier no longer calls _backprop per batch; "
            "the comparison cannot observe its training"
        )
    return stop, probe.drawn_equal


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


# -- choosing the learning rate, targets -----------------------------------------------


def _first_reach(curve, target):
    """Index of the first evaluation at or above ``target``, or None."""
    hits = np.flatnonzero(curve["holdout"] >= target - 1e-12)
    return int(hits[0]) if hits.size else None


def _targets(rows, engine):
    """Each seed's target: a fraction of the best hold-out accuracy any run of
    ``engine`` reached at that seed."""
    best = {}
    for r in rows:
        if r["engine"] == engine and not r["diverged"]:
            best[r["seed"]] = max(best.get(r["seed"], -1.0), r["best_holdout"])
    return {seed: TARGET_FRACTION * b for seed, b in best.items()}


def _set_targets(rows, targets):
    """Epochs, updates and seconds to each row's seed's target."""
    for row in rows:
        target = targets.get(row["seed"], math.nan)
        row["target"] = target
        i = _first_reach(row["curve"], target)
        for key, name in (
            ("epoch", "epochs_to_target"),
            ("updates", "updates_to_target"),
            ("seconds", "seconds_to_target"),
        ):
            row[name] = math.nan if i is None else float(row["curve"][key][i])


def _project(rows, search):
    """For runs stopped by their time budget before the target: the time they
    would have taken, from the search engine's epochs to target at the same
    seed (the trajectories are the same) and their own seconds per epoch."""
    paired = {r["seed"]: r for r in rows if r["engine"] == search}
    for row in rows:
        row["seconds_to_target_projected"] = math.nan
        twin = paired.get(row["seed"])
        if (
            row["stop"] == "budget"
            and math.isnan(row["seconds_to_target"])
            and twin is not None
        ):
            row["seconds_to_target_projected"] = (
                twin["epochs_to_target"] * row["seconds_per_epoch"]
            )


def _choose_learning_rate(rows):
    """The learning rate with the best mean hold-out accuracy over seeds; rates
    within one hold-out sample of it count as tied, and the tie goes to the one
    that reaches the target in the fewest updates. Rates where any seed diverged
    are never chosen. The test set plays no part."""
    by_lr = {}
    for row in rows:
        by_lr.setdefault(row["learning_rate"], []).append(row)
    stable = {lr: rs for lr, rs in by_lr.items() if not any(r["diverged"] for r in rs)}
    if not stable:
        return None
    score = {
        lr: float(np.mean([r["best_holdout"] for r in rs])) for lr, rs in stable.items()
    }
    tol = 1.0 / rows[0]["n_holdout"]
    best = max(score.values())

    def speed(lr):
        updates = [r["updates_to_target"] for r in stable[lr]]
        if any(math.isnan(u) for u in updates):
            return math.inf
        return float(np.mean(updates))

    tied = [lr for lr, s in score.items() if s >= best - tol - 1e-12]
    return min(tied, key=lambda lr: (speed(lr), -score[lr], lr))


# -- the comparison --------------------------------------------------------------------


class _Progress:
    """One line per batch size and learning rate (or per run with ``verbose=2``),
    and on a terminal a live line with the running hold-out accuracy."""

    def __init__(self, verbose, stream=None):
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.is_live = verbose >= 1 and getattr(self.stream, "isatty", bool)()
        self._last = 0.0
        self._shown = False

    def live(self, text):
        if not self.is_live:
            return
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        self.stream.write("\r" + text[:118] + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def line(self, text, level=1):
        if self.verbose < level:
            return
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = False
        self.stream.write(text + "\n")
        self.stream.flush()


def _group_line(engine, batch, lr, rows):
    accs = " ".join(
        f"{r['best_holdout']:.4f}" if not r["diverged"] else "  div " for r in rows
    )
    epochs = " ".join(f"{r['epochs']:.3g}" for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    return (
        f"  {engine:7s} batch {batch:>4s}  lr {lr:<6g} hold-out {accs}  "
        f"epochs {epochs}  {seconds:.3g} s"
    )


def _resolve_settings(
    dataset, hidden, max_epochs, patience, seeds, budget, search_seeds
):
    base = SETTINGS.get(dataset, SETTINGS["csv"])
    return Settings(
        hidden=base.hidden if hidden is None else int(hidden),
        max_epochs=base.max_epochs if max_epochs is None else int(max_epochs),
        patience=base.patience if patience is None else int(patience),
        seeds=base.seeds if seeds is None else seeds,
        budget=base.budget if budget is None else (float(budget) or None),
        search_seeds=base.search_seeds if search_seeds is None else search_seeds,
    )


def _compare_dataset(
    dataset,
    *,
    batch_sizes,
    learning_rates,
    seeds,
    settings,
    engines,
    threads,
    evals_per_epoch,
    exhaustive,
    target,
    progress,
):
    X, y, repeat = load_dataset(dataset, target)
    name = Path(dataset).stem if dataset not in DATASETS else dataset
    problems = {
        seed: _Problem(split_dataset(X, y, seed, repeat), settings.hidden)
        for seed in seeds
    }
    first = problems[seeds[0]]
    progress.line(
        f"{name}: {first.n_train} train / {first.split.y_holdout.shape[0]} hold-out / "
        f"{first.split.y_test.shape[0]} test rows, {first.split.X_train.shape[1]} "
        f"features, {first.split.n_classes} classes; network "
        f"{'-'.join(str(u) for u in first.layout.units)} tanh; BLAS threads "
        f"{threads}; max {settings.max_epochs} epochs, patience {settings.patience}"
        f", {len(seeds)} seeds"
        + (
            f", {settings.budget:g} s budget per run after the search"
            if settings.budget
            else ""
        )
    )
    search, *others = engines
    progress.line(
        f"{search} searches the learning rates of each batch size, largest "
        "first"
        + (
            f"; then {', '.join(engines)} run each batch size's chosen rate"
            if others
            else ""
        )
    )

    def run(engines, batch_size, lr, phase, seeds=seeds):
        """Every seed with every engine, engines interleaved seed by seed so that
        a burst of load on the shared machine hits them alike. The engines after
        the first stop once they match the first one's best hold-out accuracy
        (their trajectory is the same, so nothing after it is news) or spend
        their time budget."""
        groups = {engine: [] for engine in engines}
        for seed in seeds:
            paired = None
            for engine in engines:
                stop_at = budget = None
                if paired is not None:
                    stop_at, budget = paired["best_holdout"], settings.budget
                row = _run(
                    problems[seed],
                    name,
                    engine,
                    seed,
                    batch_size,
                    lr,
                    settings,
                    evals_per_epoch,
                    threads,
                    progress,
                    stop_at=stop_at,
                    budget=budget,
                )
                paired = paired or row
                row["phase"] = phase
                progress.line(
                    f"    {engine} seed {seed}: hold-out {row['best_holdout']:.4f} at "
                    f"epoch {row['best_epoch']:.3g}, {row['epochs']:.3g} epochs, "
                    f"{row['seconds']:.3g} s ({row['stop']})",
                    level=2,
                )
                groups[engine].append(row)
        for engine, group in groups.items():
            progress.line(_group_line(engine, _batch_label(batch_size), lr, group))
        return [row for group in groups.values() for row in group]

    rows = []
    tol = 1.0 / first.split.y_holdout.shape[0]
    searched = seeds[: settings.search_seeds or len(seeds)]
    if len(searched) < len(seeds):
        progress.line(
            f"the search runs on seed {', '.join(map(str, searched))}; "
            "every seed then runs at the chosen rates"
        )
    for batch_size in batch_sizes:
        best, worse = -1.0, 0
        for lr in sorted(learning_rates, reverse=True):
            group = run([search], batch_size, lr, "search", searched)
            rows += group
            if any(r["diverged"] for r in group):
                continue
            score = float(np.mean([r["best_holdout"] for r in group]))
            best = max(best, score)
            worse = worse + 1 if score < best - tol else 0
            # Accuracy peaks once along the grid: after two rates below the
            # peak, smaller ones only train slower.
            if worse >= 2 and not exhaustive:
                skipped = [g for g in learning_rates if g < lr]
                if skipped:
                    progress.line(
                        f"  {search:7s} batch {_batch_label(batch_size):>4s}"
                        f"  skip lr {', '.join(f'{g:g}' for g in skipped)}:"
                        " two smaller rates already fell below the best"
                    )
                break

    targets = _targets(rows, search)
    _set_targets(rows, targets)
    chosen = {}
    for batch_size in batch_sizes:
        label = _batch_label(batch_size)
        chosen[label] = _choose_learning_rate([r for r in rows if r["batch"] == label])
    for row in rows:
        row["chosen"] = row["learning_rate"] == chosen[row["batch"]]
    progress.line(
        "chosen learning rates: "
        + ", ".join(
            f"batch {b} -> {'none' if lr is None else f'{lr:g}'}"
            for b, lr in chosen.items()
        )
    )

    if others or len(searched) < len(seeds):
        progress.line(
            "timing: each batch size's chosen rate again, "
            f"{' and '.join(engines)} back to back for each seed"
        )
        for batch_size in batch_sizes:
            lr = chosen[_batch_label(batch_size)]
            if lr is None:
                continue
            group = run(engines, batch_size, lr, "timing")
            for row in group:
                row["chosen"] = True
            rows += group
        # Seeds the search did not run on get their targets from the timing runs
        # (those of searched seeds repeat search runs, so theirs do not change).
        _set_targets(rows, _targets(rows, search))
        for batch_size in batch_sizes:
            _project(
                [
                    r
                    for r in rows
                    if r["phase"] == "timing" and r["batch"] == _batch_label(batch_size)
                ],
                search,
            )
    return rows


def _parse_seeds(seeds):
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        return list(range(int(seeds)))
    return [int(s) for s in seeds]


def compare_batch_sizes(
    dataset="digits",
    *,
    batch_sizes=BATCH_SIZES,
    learning_rates=LEARNING_RATES,
    seeds=None,
    hidden=None,
    max_epochs=None,
    patience=None,
    budget=None,
    search_seeds=None,
    engines=ENGINES,
    threads=1,
    evals_per_epoch=EVALS_PER_EPOCH,
    exhaustive=False,
    target=None,
    verbose=1,
    as_frame="auto",
):
    """Train the same network with on-line, mini-batch and full-batch gradient
    descent and measure accuracy and epochs, updates and seconds to a target.

    Wilson & Martinez's experiment (2003) on one or more datasets: for each
    seed, a stratified 60/20/20 split standardized on the training rows and one
    set of initial weights shared by every batch size and learning rate. The
    first engine searches ``learning_rates`` for each batch size (largest first;
    once two rates have fallen below the best, smaller ones are skipped unless
    ``exhaustive``); the other engines run at each batch size's chosen rate.
    Hold-out accuracy is measured about every 10% of the training so far;
    training stops after ``patience`` epochs without improvement (or as many
    epochs as it took to reach the best, if more) or at ``max_epochs``; test
    accuracy is read at the best hold-out point.

    Parameters
    ----------
    dataset : str or list of str, default="digits"
        ``"digits"``, ``"iris"``, ``"wine"``, ``"breast_cancer"``, ``"large"``
        (25,000 synthetic samples, 10 classes), ``"digits-x10"`` (digits with
        its training rows repeated 10 times), or the path of a CSV file (then
        give ``target``).
    batch_sizes : sequence of int or "full", default=(1, 8, 32, 128, "full")
    learning_rates : sequence of float, default=half-decades 0.001 .. 10
        Learning rates in scikit-learn's convention (the batch's mean gradient).
    seeds : int or sequence of int, default=None
        A count (seeds 0 .. seeds - 1) or the seeds themselves; None takes the
        dataset's default (3; 2 for ``large``). Each seed draws its own split,
        initial weights and shuffles.
    hidden, max_epochs, patience : int, default=None
        Hidden units, epoch cap and patience in epochs; None takes the
        dataset's default from ``SETTINGS``.
    budget : float, default=None
        Training seconds each run of the engines after the first may take (they
        also stop once they match the first engine's best hold-out accuracy);
        a run cut short before the target reports a projected time. None takes
        the dataset's default (30 s for ``large`` and ``digits-x10``, none
        otherwise); 0 means no budget.
    search_seeds : int, default=None
        Search the learning rates on the first this many seeds only (every
        seed then runs at the chosen rates); None takes the dataset's default
        (1 for ``large``, all seeds otherwise).
    engines : sequence of {"fastsgd", "sklearn"}, default=("fastsgd", "sklearn")
        The first one searches the learning rates.
    threads : int or None, default=1
        BLAS threads (threadpoolctl) for every engine; None leaves them alone.
    evals_per_epoch : int, default=10
        Hold-out evaluations in the first epoch (about this many divided by the
        epoch number later, at least one per epoch).
    exhaustive : bool, default=False
        Run every learning rate, even after the accuracy has fallen twice.
    target : str, default=None
        The label column of a CSV dataset.
    verbose : int, default=1
        0 is silent, 1 prints one line per batch size and learning rate (and a
        live line on a terminal), 2 one line per run.
    as_frame : bool or "auto", default="auto"
        Return a pandas DataFrame ("auto": when pandas is installed) or a list
        of dicts.

    Returns
    -------
    runs : pandas.DataFrame or list of dict
        One row per run: ``dataset, engine, batch, batch_size, learning_rate,
        learning_rate_summed`` (Wilson & Martinez's convention: ``lr / B``),
        ``seed``, the split sizes, ``stop`` ("patience", "max_epochs" or
        "diverged"), ``diverged, epochs, updates, seconds`` (training only),
        ``seconds_per_epoch, best_holdout, best_epoch, test_at_best, target,
        epochs_to_target, updates_to_target, seconds_to_target`` (NaN when not
        reached), ``chosen`` (the batch size's chosen learning rate),
        ``phase`` ("search", or "timing": the chosen rates again, every engine
        back to back, which the summary's times come from),
        ``initial_weights`` (a digest: equal across a seed's runs) and
        ``curve`` (dict of arrays ``epoch, updates, seconds, holdout``).
        :func:`summarize` turns it into the per-batch-size table.
    """
    datasets = [dataset] if isinstance(dataset, str | os.PathLike) else list(dataset)
    engines = list(engines)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ValueError(f"engines must be among {ENGINES}, got {engines}")
    batch_sizes = [b if b == "full" else int(b) for b in batch_sizes]
    if any(b != "full" and b < 1 for b in batch_sizes):
        raise ValueError(f"batch sizes must be >= 1 or 'full', got {batch_sizes}")
    learning_rates = sorted({float(lr) for lr in learning_rates})
    if not learning_rates or learning_rates[0] <= 0:
        raise ValueError(f"learning rates must be > 0, got {learning_rates}")
    progress = _Progress(verbose)
    rows = []
    limits = threadpool_limits(limits=threads, user_api="blas")
    with limits:
        for name in datasets:
            name = os.fspath(name)
            settings = _resolve_settings(
                name if name in DATASETS else "csv",
                hidden,
                max_epochs,
                patience,
                seeds,
                budget,
                search_seeds,
            )
            rows += _compare_dataset(
                name,
                batch_sizes=batch_sizes,
                learning_rates=learning_rates,
                seeds=_parse_seeds(settings.seeds),
                settings=settings,
                engines=engines,
                threads=_blas_threads() if threads is None else threads,
                evals_per_epoch=int(evals_per_epoch),
                exhaustive=exhaustive,
                target=target,
                progress=progress,
            )
    return _as_table(rows, as_frame)


def _blas_threads():
    from threadpoolctl import threadpool_info

    counts = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    return max(counts) if counts else 1


def _as_table(rows, as_frame):
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_frame is True:
            raise
        return rows
    return pd.DataFrame(rows)


def _records(table):
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    return list(table)


# -- the summary -----------------------------------------------------------------------


def _mean_sd(values):
    values = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), sd


def summarize(runs):
    """The per-dataset, per-engine, per-batch-size table of a comparison.

    Parameters
    ----------
    runs : pandas.DataFrame or list of dict
        What :func:`compare_batch_sizes` returned.

    Returns
    -------
    summary : list of dict
        One row per dataset, engine and batch size at the chosen learning rate:
        ``learning_rate, learning_rate_summed, largest_stable_lr`` (largest rate
        at which no seed diverged), ``largest_lr_to_target`` (largest rate at
        which every seed reached the target), ``holdout, holdout_sd, test,
        test_sd``,
        ``epochs_to_target, updates_to_target, seconds_to_target`` with their
        ``_sd`` (means over the seeds that reached the target),
        ``reached`` (how many seeds did), ``seeds``, ``seconds_per_epoch``,
        ``over_budget`` (runs stopped by their time budget before the target),
        ``at_cap`` (runs stopped by ``max_epochs`` rather than by patience),
        ``seconds_to_target_lower`` (the least time those ran without reaching
        it), ``seconds_to_target_projected`` (their mean projected time),
        ``threads`` and the split sizes.
    """
    rows = _records(runs)
    out = []
    keys = []
    for r in rows:
        key = (r["dataset"], r["engine"], r["batch"])
        if key not in keys:
            keys.append(key)
    for dataset, engine, batch in keys:
        group = [
            r
            for r in rows
            if (r["dataset"], r["engine"], r["batch"]) == (dataset, engine, batch)
        ]
        lrs = sorted({r["learning_rate"] for r in group})
        stable = [
            lr
            for lr in lrs
            if not any(r["diverged"] for r in group if r["learning_rate"] == lr)
        ]
        useful = [
            lr
            for lr in lrs
            if not any(
                math.isnan(r["epochs_to_target"])
                for r in group
                if r["learning_rate"] == lr
            )
        ]
        phase = "timing" if any(r.get("phase") == "timing" for r in group) else "search"
        chosen = [r for r in group if r["chosen"] and r.get("phase", "search") == phase]
        first = group[0]
        entry = {
            "dataset": dataset,
            "engine": engine,
            "batch": batch,
            "batch_size": first["batch_size"],
            "n_train": first["n_train"],
            "n_holdout": first["n_holdout"],
            "n_test": first["n_test"],
            "n_features": first["n_features"],
            "n_classes": first["n_classes"],
            "hidden": first["hidden"],
            "threads": first["threads"],
            "updates_per_epoch": first["updates_per_epoch"],
            "largest_stable_lr": stable[-1] if stable else math.nan,
            "largest_lr_to_target": useful[-1] if useful else math.nan,
            "learning_rates_run": lrs,
            "seeds": len(chosen),
        }
        if not chosen:
            out.append(entry)
            continue
        entry["learning_rate"] = chosen[0]["learning_rate"]
        entry["learning_rate_summed"] = chosen[0]["learning_rate_summed"]
        for name, col in (
            ("holdout", "best_holdout"),
            ("test", "test_at_best"),
            ("epochs_to_target", "epochs_to_target"),
            ("updates_to_target", "updates_to_target"),
            ("seconds_to_target", "seconds_to_target"),
            ("epochs", "epochs"),
        ):
            entry[name], entry[name + "_sd"] = _mean_sd([r[col] for r in chosen])
        entry["reached"] = sum(not math.isnan(r["seconds_to_target"]) for r in chosen)
        cut = [
            r
            for r in chosen
            if r["stop"] == "budget" and math.isnan(r["seconds_to_target"])
        ]
        entry["over_budget"] = len(cut)
        entry["at_cap"] = sum(r["stop"] == "max_epochs" for r in chosen)
        entry["seconds_to_target_lower"] = (
            min(r["seconds"] for r in cut) if cut else math.nan
        )
        entry["seconds_to_target_projected"] = _mean_sd(
            [r.get("seconds_to_target_projected", math.nan) for r in cut]
        )[0]
        entry["seconds_per_epoch"] = sum(r["seconds"] for r in chosen) / sum(
            r["epochs"] for r in chosen
        )
        entry["target"] = float(np.mean([r["target"] for r in chosen]))
        out.append(entry)
    return out


# -- text tables -----------------------------------------------------------------------


def _fmt(x, spec=".3g"):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return format(x, spec)


def _pm(mean, sd, spec=".3g", scale=1.0):
    if math.isnan(mean):
        return "—"
    return f"{format(mean * scale, spec)} ± {format(sd * scale, spec)}"


def _duration(seconds, sd=None):
    """``seconds`` (and a standard deviation) in a readable unit: µs, ms or s."""
    if seconds is None or math.isnan(seconds):
        return "—"
    scale, unit = (
        (1e6, "µs") if seconds < 1e-3 else (1e3, "ms") if seconds < 1 else (1.0, "s")
    )
    text = _significant(seconds * scale, 3)
    if sd is not None and not math.isnan(sd):
        text += " ± " + _significant(sd * scale, 2)
    return f"{text} {unit}"


def _significant(x, digits):
    """``x`` to ``digits`` significant digits, never in exponent notation."""
    text = f"{x:.{digits}g}"
    return f"{x:.0f}" if "e" in text else text


def _table(headers, rows, markdown):
    """Rows of strings as an aligned text table or a markdown table (first
    column left-aligned, the others right-aligned)."""
    if markdown:
        lines = [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def fmt(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join(
        [fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    )


def _by_engine(summary, dataset):
    table = {}
    for s in summary:
        if s["dataset"] == dataset:
            table.setdefault(s["batch"], {})[s["engine"]] = s
    return table


def _datasets(summary):
    return list(dict.fromkeys(s["dataset"] for s in summary))


def _reached(s):
    return "" if s["reached"] == s["seeds"] else f" ({s['reached']}/{s['seeds']})"


def accuracy_table(summary, dataset, markdown=False):
    """Learning rates and accuracies per batch size (text or markdown), from the
    engine that searched the learning rates: the others follow its trajectory
    and stop at its best point."""
    rows = []
    for batch, engines in _by_engine(summary, dataset).items():
        s = next(iter(engines.values()))
        decimals = ".2f" if s["n_holdout"] >= 1000 else ".1f"
        top = max(s["learning_rates_run"])
        stable = _fmt(s["largest_stable_lr"], "g")
        if s["largest_stable_lr"] == top:
            stable = "≥ " + stable
        row = [
            batch,
            f"{s['updates_per_epoch']:,}",
            _fmt(s.get("learning_rate"), "g"),
            _fmt(s.get("learning_rate_summed"), ".3g"),
            _fmt(s["largest_lr_to_target"], "g"),
            stable,
        ]
        for part in ("holdout", "test"):
            row.append(
                _pm(s.get(part, math.nan), s.get(part + "_sd", math.nan), decimals, 100)
            )
        rows.append(row)
    headers = [
        "batch",
        "updates/epoch",
        "lr",
        "lr (W&M)",
        "max lr to target",
        "no divergence up to",
        "hold-out %",
        "test %",
    ]
    return _table(headers, rows, markdown)


def _effective_seconds(s):
    """Mean time to target, and whether it is projected: measured when every
    seed reached the target, projected when the others ran out of budget."""
    if s["reached"] == s["seeds"]:
        return s["seconds_to_target"], False
    if s.get("over_budget") and s["reached"] + s["over_budget"] == s["seeds"]:
        measured = s["seconds_to_target"] * s["reached"] if s["reached"] else 0.0
        projected = s["seconds_to_target_projected"] * s["over_budget"]
        return (measured + projected) / s["seeds"], True
    return math.nan, False


def _time_cell(s):
    if not s.get("seeds"):
        return "—"
    text = _duration(s["seconds_to_target"], s["seconds_to_target_sd"])
    if s["reached"] < s["seeds"]:
        text = "" if s["reached"] == 0 else text + f" ({s['reached']}/{s['seeds']})"
    if s.get("over_budget"):
        text += ("; " if text else "") + (
            f"> {_duration(s['seconds_to_target_lower'])} "
            f"(≈ {_duration(s['seconds_to_target_projected'])} projected)"
        )
    return text or f"— (0/{s['seeds']})"


def speed_table(summary, dataset, markdown=False):
    """Epochs, updates and seconds to the target per batch size and engine.

    Times of runs that spent their time budget before the target show as a lower
    bound with a projection (the same epochs to target at the run's own
    seconds per epoch).
    """
    by_batch = _by_engine(summary, dataset)
    engines = list(dict.fromkeys(e for v in by_batch.values() for e in v))
    both = "fastsgd" in engines and "sklearn" in engines
    headers = ["batch", "epochs to target", "updates to target"]
    headers += [f"time to target ({e})" for e in engines]
    if both:
        headers.append("sklearn / fastsgd")
    headers += [f"time/epoch ({e})" for e in engines]
    rows = []
    for batch, per_engine in by_batch.items():
        s = per_engine.get(engines[0]) or next(iter(per_engine.values()))
        if "learning_rate" not in s:
            rows.append([batch] + ["—"] * (len(headers) - 1))
            continue
        row = [
            batch,
            _pm(s["epochs_to_target"], s["epochs_to_target_sd"], ".2g") + _reached(s),
            _fmt(s["updates_to_target"], ",.0f"),
        ]
        row += [_time_cell(per_engine.get(e, {})) for e in engines]
        if both:
            f, _ = (
                _effective_seconds(per_engine["fastsgd"])
                if "fastsgd" in per_engine
                else (math.nan, False)
            )
            k, projected = (
                _effective_seconds(per_engine["sklearn"])
                if "sklearn" in per_engine
                else (math.nan, False)
            )
            cell = "—"
            if f > 0 and not math.isnan(k):
                cell = ("≈ " if projected else "") + _significant(k / f, 3) + "×"
            row.append(cell)
        for e in engines:
            row.append(
                _duration(per_engine.get(e, {}).get("seconds_per_epoch", math.nan))
            )
        rows.append(row)
    return _table(headers, rows, markdown)


def edge_notes(summary, dataset):
    """Warnings for chosen learning rates at the edge of the grid, where a rate
    beyond it might have done better."""
    fast = [s for s in summary if s["dataset"] == dataset and "learning_rate" in s]
    if not fast:
        return []
    search = fast[0]["engine"]
    grid = sorted(
        {lr for s in fast if s["engine"] == search for lr in s["learning_rates_run"]}
    )
    notes = []
    for s in fast:
        if s["engine"] != search or len(grid) < 2:
            continue
        for edge, word, flag in (
            (grid[0], "smallest", "smaller"),
            (grid[-1], "largest", "larger"),
        ):
            if s["learning_rate"] == edge:
                notes.append(
                    f"batch {s['batch']}'s chosen learning rate ({edge:g}) is the "
                    f"{word} in the grid: a {flag} one might do better "
                    "(extend --learning-rates)"
                )
    return notes


def cross_dataset_table(summary, markdown=False):
    """On-line against full batch on every dataset of a comparison."""
    rows = []
    for dataset in _datasets(summary):
        per_batch = _by_engine(summary, dataset)
        online = (per_batch.get("1") or {}).get("fastsgd")
        full = (per_batch.get("full") or {}).get("fastsgd")
        if (
            online is None
            or full is None
            or "learning_rate" not in online
            or "learning_rate" not in full
        ):
            continue
        ratio = full["epochs_to_target"] / online["epochs_to_target"]
        rows.append(
            [
                dataset,
                f"{online['n_train']:,}",
                _fmt(online["epochs_to_target"]) + _reached(online),
                _fmt(full["epochs_to_target"]) + _reached(full),
                _fmt(ratio, ".3g"),
                _duration(online["seconds_to_target"]),
                _duration(full["seconds_to_target"]),
            ]
        )
    return _table(
        [
            "dataset",
            "train rows",
            "epochs on-line",
            "epochs full",
            "full / on-line",
            "time on-line (fastsgd)",
            "time full (fastsgd)",
        ],
        rows,
        markdown,
    )


# -- what the paper predicts -----------------------------------------------------------


def findings(summary, dataset):
    """The four results PAPER.md expects, checked on one dataset's summary.

    Parameters
    ----------
    summary : list of dict
        What :func:`summarize` returned.
    dataset : str

    Returns
    -------
    list of (str, bool or None, str)
        The claim, whether it holds here (None: cannot tell) and the numbers.
    """
    by_batch = _by_engine(summary, dataset)
    search = [e.get("fastsgd") or next(iter(e.values())) for e in by_batch.values()]
    fast = [s for s in search if "learning_rate" in s]
    out = []
    if len(fast) < 2:
        return out

    capped = [s for s in fast if s.get("at_cap") == s["seeds"]]
    cap_note = ""
    if capped:
        cap_note = (
            f"; every run of batch {', '.join(s['batch'] for s in capped)} "
            f"was still improving at the {capped[0]['epochs']:.0f}-epoch "
            "cap, so these accuracies are those of the epoch budget"
        )

    # 1. Accuracy, at each batch size's own learning rate.
    tests = [s["test"] for s in fast]
    spread = max(tests) - min(tests)
    bar = max(0.01, 2.0 / fast[0]["n_test"])
    by_test = ", ".join(f"{s['batch']}: {100 * s['test']:.1f}%" for s in fast)
    out.append(
        (
            "Accuracy is about equal across batch sizes once the learning rate is "
            "tuned",
            spread <= bar,
            f"mean test accuracy by batch {by_test}: a spread of {100 * spread:.1f} "
            f"points (hold-out {100 * min(s['holdout'] for s in fast):.1f}–"
            f"{100 * max(s['holdout'] for s in fast):.1f}%); the bar for 'about equal' "
            f"is {100 * bar:.1f} points (1 point or 2 test samples, whichever is more)"
            + cap_note,
        )
    )

    # 2. Epochs to target: on-line against the largest batch, and what happens
    # in between.
    epochs = [s["epochs_to_target"] for s in fast]
    text = ", ".join(
        f"{s['batch']}: {_fmt(e, '.3g')}{_reached(s)}"
        for e, s in zip(epochs, fast, strict=True)
    )
    if not math.isnan(epochs[0]):
        last = fast[-1]
        missed = math.isnan(epochs[-1])
        ratio = math.inf if missed else epochs[-1] / epochs[0]
        middle = [e for e in epochs[1:-1] if not math.isnan(e)]
        if missed:
            text += (
                f". Batch {last['batch']} never reached the target within "
                f"{last['epochs']:.0f} epochs"
            )
        else:
            text += (
                f". Batch {last['batch']} needs {_significant(ratio, 3)}× the "
                f"epochs of batch {fast[0]['batch']}"
            )
        if middle:
            lo, hi = min(middle) / epochs[0], max(middle) / epochs[0]
            span = f"{lo:.2g}×" if f"{lo:.2g}" == f"{hi:.2g}" else f"{lo:.2g}–{hi:.2g}×"
            text += f"; the batch sizes in between need {span} the on-line epochs" + (
                " (about the same)" if hi <= 1.5 else ""
            )
        out.append(
            (
                "Epochs to target grow with the batch size",
                bool(ratio >= 2),
                "epochs to 99% of the best hold-out accuracy, by batch: "
                + text
                + " (holds when the largest batch needs at least twice the on-line "
                "epochs or never gets there)",
            )
        )

    # 3. How the best learning rate scales with the batch size.
    sizes = np.array([s["batch_size"] for s in fast], dtype=float)
    lrs = np.array([s["learning_rate"] for s in fast])
    lr_growth = lrs[-1] / lrs[0]
    batch_growth = sizes[-1] / sizes[0]
    steps = ", ".join(
        f"{a['batch']}→{b['batch']}: "
        f"{_significant(b['learning_rate'] / a['learning_rate'], 3)}× for "
        f"{_significant(b['batch_size'] / a['batch_size'], 3)}×"
        for a, b in zip(fast[:-1], fast[1:], strict=True)
    )
    linear = [
        s["batch"]
        for s, lr, b in zip(fast, lrs, sizes, strict=True)
        if lr / lrs[0] >= 0.5 * b / sizes[0]
    ]
    shortfall = (
        f"{_significant(batch_growth / lr_growth, 3)}× short of linear scaling"
        if batch_growth >= lr_growth
        else "faster than linear"
    )
    linear_note = ""
    if len(linear) > 1 and linear[-1] != fast[-1]["batch"]:
        linear_note = (
            f"; it scales about linearly (Goyal et al.) up to batch "
            f"{linear[-1]}, then falls behind"
        )
    out.append(
        (
            "The best (mean-gradient) learning rate grows far less than linearly with "
            "the batch size",
            bool(batch_growth >= 5 * lr_growth),
            f"{lrs[0]:g} at batch {fast[0]['batch']} to {lrs[-1]:g} at batch "
            f"{fast[-1]['batch']}: {_significant(lr_growth, 3)}× for a "
            f"{batch_growth:,.0f}× larger batch, {shortfall} (holds at 5× short or "
            f"more){linear_note}. Step by step, learning rate against batch growth: "
            f"{steps}. In Wilson & Martinez's "
            f"summed convention (lr / B) the best rate falls from "
            f"{fast[0]['learning_rate_summed']:.3g} to "
            f"{fast[-1]['learning_rate_summed']:.3g}",
        )
    )

    # 4. Seconds to target (projected where a time budget cut runs short).
    engines = list(dict.fromkeys(e for v in by_batch.values() for e in v))
    parts, holds = [], None
    times = {}
    for batch, v in by_batch.items():
        for engine, entry in v.items():
            if "learning_rate" not in entry:
                continue
            seconds, projected = _effective_seconds(entry)
            if math.isnan(seconds) and entry["reached"]:
                seconds = entry["seconds_to_target"]  # some seeds only
            if not math.isnan(seconds):
                times[engine, batch] = (seconds, projected, entry)

    def said(engine, batch):
        seconds, projected, _ = times[engine, batch]
        return (
            ("≈ " if projected else "")
            + _duration(seconds)
            + (" projected" if projected else "")
        )

    for engine in engines:
        batches = [b for b in by_batch if (engine, b) in times]
        if not batches:
            continue
        fastest = min(batches, key=lambda b: times[engine, b][0])
        text = f"{engine}'s fastest is batch {fastest} ({said(engine, fastest)})"
        online = next(
            (b for b in batches if times[engine, b][2]["batch_size"] == 1), None
        )
        if online is not None and online != fastest:
            slower = times[engine, online][0] / times[engine, fastest][0]
            per_row = [
                _duration(
                    times[engine, b][2]["seconds_per_epoch"]
                    / times[engine, b][2]["n_train"]
                )
                for b in (online, fastest)
            ]
            text += (
                f", on-line takes {said(engine, online)} ({slower:.3g}× as "
                f"long); per training row and epoch, on-line costs "
                f"{per_row[0]} and batch {fastest} {per_row[1]}"
            )
        elif online is not None and len(batches) > 1:
            second = min(
                (b for b in batches if b != online), key=lambda b: times[engine, b][0]
            )
            faster = times[engine, second][0] / times[engine, online][0]
            text += f", {faster:.3g}× faster than the next best (batch {second})"
        parts.append(text)
        if engine == engines[0] and online is not None:
            holds = times[engine, online][0] <= 1.1 * times[engine, fastest][0]
    speedups = [
        f"{b}: {'≈ ' if times['sklearn', b][1] else ''}"
        f"{_significant(times['sklearn', b][0] / times['fastsgd', b][0], 3)}×"
        for b in by_batch
        if ("fastsgd", b) in times and ("sklearn", b) in times
    ]
    if speedups:
        parts.append(
            "scikit-learn's time to target over fastsgd's, by batch: "
            + ", ".join(speedups)
        )
    if parts:
        out.append(
            (
                "With compiled on-line loops, on-line training also wins on seconds",
                holds,
                "; ".join(parts)
                + " (holds when fastsgd's on-line time is within 10% of "
                "its fastest batch size)",
            )
        )
    return out


# -- plots -----------------------------------------------------------------------------


def _mean_curve(rows, x):
    """Mean over seeds of hold-out accuracy against ``x`` ("epoch"/"seconds"),
    over the evaluations every seed reached (they share an evaluation schedule)."""
    curves = [r["curve"] for r in rows]
    n = min(len(c["holdout"]) for c in curves)
    xs = np.mean([c[x][:n] for c in curves], axis=0)
    ys = np.mean([c["holdout"][:n] for c in curves], axis=0)
    keep = xs > 0  # log axes
    return xs[keep], ys[keep]


def plot(runs, out, dataset=None):
    """Write the PNG plots of one dataset into the folder ``out``.

    Hold-out accuracy against epochs and against seconds (one line per batch
    size at its chosen learning rate, mean over seeds; scikit-learn dashed), and
    the chosen and largest stable learning rates against the batch size.
    Needs matplotlib (``pip install "fastsgd[plot]"``).

    Parameters
    ----------
    runs : pandas.DataFrame or list of dict
        What :func:`compare_batch_sizes` returned.
    out : str or Path
        Folder to write into (created if needed).
    dataset : str, default=None
        Which dataset; None is the first one in ``runs``.

    Returns
    -------
    paths : list of Path
    """
    from matplotlib.figure import Figure

    rows = [r for r in _records(runs)]
    dataset = dataset or rows[0]["dataset"]
    rows = [r for r in rows if r["dataset"] == dataset]
    summary = summarize(rows)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    batches = list(dict.fromkeys(r["batch"] for r in rows))
    engines = list(dict.fromkeys(r["engine"] for r in rows))
    colors = {b: f"C{i}" for i, b in enumerate(batches)}
    styles = {"fastsgd": "-", "sklearn": "--"}
    target = float(np.nanmean([r["target"] for r in rows]))
    paths = []
    for x, xlabel, engines_shown in (
        ("epoch", "epochs (log scale)", engines[:1]),
        ("seconds", "training seconds (log scale)", engines),
    ):
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.subplots()
        for engine in engines_shown:
            for batch in batches:
                chosen = [
                    r
                    for r in rows
                    if r["engine"] == engine and r["batch"] == batch and r["chosen"]
                ]
                if not chosen:
                    continue
                xs, ys = _mean_curve(chosen, x)
                label = (
                    f"batch {batch} (lr {chosen[0]['learning_rate']:g})"
                    if engine == engines_shown[0]
                    else None
                )
                ax.plot(
                    xs,
                    100 * ys,
                    styles.get(engine, ":"),
                    color=colors[batch],
                    label=label,
                )
        ax.axhline(100 * target, color="0.6", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("hold-out accuracy (%)")
        low = max(0.0, 100 * target - 15)
        ax.set_ylim(low, 100.5 if target > 0.985 else min(100.5, 100 * target + 5))
        title = f"{dataset}: hold-out accuracy, mean over seeds; dotted: 99% target"
        if x == "seconds" and len(engines) > 1:
            title += "\nsolid: " + engines[0] + ", dashed: " + ", ".join(engines[1:])
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        path = out / f"{dataset}-{'epochs' if x == 'epoch' else 'seconds'}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)

    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    fast = [s for s in summary if s["engine"] == engines[0] and "learning_rate" in s]
    if fast:
        b = np.array([s["batch_size"] for s in fast], dtype=float)
        ax.plot(
            b, [s["learning_rate"] for s in fast], "o-", label="best lr (mean gradient)"
        )
        ax.plot(
            b,
            [s["largest_lr_to_target"] for s in fast],
            "s:",
            label="largest lr reaching the target at every seed",
        )
        top = max(max(s["learning_rates_run"]) for s in fast)
        if any(s["largest_stable_lr"] < top for s in fast):
            ax.plot(
                b,
                [s["largest_stable_lr"] for s in fast],
                "x:",
                label="largest lr that did not diverge",
            )
        ax.plot(
            b,
            [s["learning_rate_summed"] for s in fast],
            "^--",
            label="best lr, Wilson & Martinez's summed convention (lr / B)",
        )
        ax.plot(
            b,
            fast[0]["learning_rate"] * b / b[0],
            color="0.6",
            lw=0.8,
            label="linear scaling from batch " + fast[0]["batch"],
        )
        low = min(min(s["learning_rates_run"]) for s in fast)
        low = min(low, min(s["learning_rate_summed"] for s in fast))
        ax.set_ylim(low / 2, top * 3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel("learning rate (log scale)")
    ax.set_title(f"{dataset}: learning rate against batch size", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path = out / f"{dataset}-learning-rate.png"
    fig.savefig(path, dpi=110)
    paths.append(path)
    return paths


# -- the report ------------------------------------------------------------------------


def _grid_table(rows, dataset, engine):
    """Mean best hold-out accuracy for every batch size and learning rate run."""
    rows = [r for r in rows if r["dataset"] == dataset and r["engine"] == engine]
    lrs = sorted({r["learning_rate"] for r in rows})
    batches = list(dict.fromkeys(r["batch"] for r in rows))
    body = []
    for batch in batches:
        cells = [batch]
        for lr in lrs:
            group = [
                r for r in rows if r["batch"] == batch and r["learning_rate"] == lr
            ]
            if not group:
                cells.append("·")
            elif any(r["diverged"] for r in group):
                cells.append("diverged")
            else:
                acc = 100 * np.mean([r["best_holdout"] for r in group])
                cells.append(f"**{acc:.1f}**" if group[0]["chosen"] else f"{acc:.1f}")
        body.append(cells)
    return _table(["batch \\ lr"] + [f"{lr:g}" for lr in lrs], body, markdown=True)


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores, {platform.system()}"


def _parity(rows, dataset):
    """Largest difference between scikit-learn's and fastsgd's hold-out accuracy at
    the same evaluation of the same (batch, lr, seed) run."""
    fast = {
        (r["batch"], r["learning_rate"], r["seed"]): r["curve"]
        for r in rows
        if r["dataset"] == dataset and r["engine"] == "fastsgd"
    }
    worst, points = 0.0, 0
    for r in rows:
        if r["dataset"] != dataset or r["engine"] != "sklearn":
            continue
        f = fast.get((r["batch"], r["learning_rate"], r["seed"]))
        if f is None:
            continue
        n = min(len(f["holdout"]), len(r["curve"]["holdout"]))
        worst = max(
            worst, float(np.max(np.abs(f["holdout"][:n] - r["curve"]["holdout"][:n])))
        )
        points += n
    return worst, points


def write_report(
    runs, out, *, plots=(), command=None, wall_seconds=None, plot_note=None
):
    """Write ``report.md`` for a comparison into the folder ``out``.

    Parameters
    ----------
    runs : pandas.DataFrame or list of dict
        What :func:`compare_batch_sizes` returned.
    out : str or Path
    plots : sequence of Path
        Plot files to link (relative to ``out``).
    command : str, default=None
        The command line that produced it.
    wall_seconds : float, default=None
        Wall time of the whole comparison.
    plot_note : str, default=None
        Why there are no plots, when there are none.

    Returns
    -------
    path : Path
    """
    rows = _records(runs)
    summary = summarize(rows)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    threads = sorted({r["threads"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    lines = [
        "# On-line vs mini-batch vs full-batch training (Wilson & Martinez, 2003)",
        "",
        f"Generated by fastsgd {__version__} on {datetime.date.today().isoformat()}"
        + (f" with `{command}`" if command else "")
        + ".",
        "",
        f"- Machine: {_machine()}; Python {platform.python_version()}, numpy "
        f"{np.__version__}, scikit-learn {sklearn.__version__}.",
        f"- BLAS threads: {', '.join(map(str, threads))} (threadpoolctl), for every "
        "engine.",
        f"- Seeds: {', '.join(map(str, seeds))}; each seed has its own stratified "
        "60/20/20 split, standardized with training statistics, and one set of "
        "initial weights shared by every batch size, learning rate and engine.",
        "- Network: one tanh hidden layer, softmax (logistic for two classes) with "
        "cross-entropy; plain SGD, constant learning rate, no momentum, no weight "
        "decay, reshuffled every epoch.",
        "- Hold-out accuracy is measured about every 10% of the training so far "
        "(10 times in the first epoch, at least once per epoch); training stops "
        "when it has not improved for `patience` epochs, or for as long as it took "
        "to reach its best if that is longer, or at `max_epochs`; test "
        "accuracy is read at the best hold-out point and decides nothing.",
        f"- Target: {100 * TARGET_FRACTION:g}% of the best hold-out accuracy any run "
        "of the searching engine reached at that seed. Epochs, updates and seconds "
        "to target are means over the seeds that reached it ((k/n) says how many "
        "did).",
        "- Timing: after the search, each batch size's chosen rate runs again for "
        "every seed with every engine back to back, so that load on a shared "
        "machine hits them alike; the other engines stop once they match the "
        "searching engine's best hold-out accuracy (the trajectories are the same) "
        "or spend their time budget, in which case their time to target is shown "
        "as a lower bound with a projection (the same epochs to target at their "
        "own measured seconds per epoch).",
        "- Seconds are training only: fastsgd's shuffles and kernel calls; "
        "scikit-learn's `fit` minus the hold-out evaluations made inside it "
        "(through a probe on its per-batch `_backprop`), so they include its input "
        "checks once per run and its per-batch indexing.",
        "- Learning rates are in scikit-learn's convention (the mean gradient of a "
        "batch); `lr (W&M)` is Wilson & Martinez's convention, where a batch sums "
        "its per-sample changes: lr / B.",
    ]
    if wall_seconds is not None:
        lines.append(f"- Wall time of the whole comparison: {wall_seconds:.0f} s.")
    for dataset in _datasets(summary):
        drows = [r for r in rows if r["dataset"] == dataset]
        s0 = next(s for s in summary if s["dataset"] == dataset)
        engines = list(dict.fromkeys(r["engine"] for r in drows))
        searched = sorted({r["seed"] for r in drows if r.get("phase") == "search"})
        on = (
            ""
            if searched == sorted({r["seed"] for r in drows})
            else f" on seed {', '.join(map(str, searched))}"
        )
        lines += [
            "",
            f"## {dataset}",
            "",
            f"{s0['n_train']:,} training / {s0['n_holdout']:,} hold-out / "
            f"{s0['n_test']:,} test rows, {s0['n_features']} features, "
            f"{s0['n_classes']} classes; network {s0['n_features']}-{s0['hidden']}-"
            f"{1 if s0['n_classes'] == 2 else s0['n_classes']}. Engines: "
            f"{', '.join(engines)} ({engines[0]} searched the learning rates{on}; "
            "every seed then ran at the chosen rates).",
            "",
            "### Accuracy and learning rates",
            "",
            accuracy_table(summary, dataset, markdown=True),
            "",
            *[f"Note: {n}." for n in edge_notes(summary, dataset)],
            *([""] if edge_notes(summary, dataset) else []),
            "### Speed to the target",
            "",
            speed_table(summary, dataset, markdown=True),
            "",
        ]
        worst, points = _parity(drows, dataset)
        if points:
            lines += [
                f"scikit-learn trained from the same initial weights in the same "
                f"sample order: over {points:,} paired evaluations its hold-out "
                f"accuracy differed from fastsgd's by at most {100 * worst:.2f} "
                "points, so the seconds compare the same work.",
                "",
            ]
        lines += ["### What the paper predicts, and what happened here", ""]
        for claim, holds, text in findings(summary, dataset):
            verdict = {True: "holds", False: "does not hold", None: "cannot tell"}[
                holds
            ]
            lines.append(f"- **{claim}: {verdict}.** {text}.")
        lines += [
            "",
            "### Hold-out accuracy (%) over the learning-rate grid",
            "",
            f"Mean over the searched seeds of each run's best hold-out accuracy "
            f"({engines[0]}); "
            "bold: chosen; `·`: skipped (the accuracy had already fallen twice).",
            "",
            _grid_table(drows, dataset, engines[0]),
            "",
        ]
        shown = [p for p in plots if Path(p).name.startswith(dataset + "-")]
        if shown:
            lines += ["### Plots", ""]
            lines += [f"![{Path(p).stem}]({Path(p).name})" for p in shown]
            lines.append("")
    if len(_datasets(summary)) > 1:
        lines += [
            "",
            "## Across datasets",
            "",
            "Wilson & Martinez: the full-batch/on-line gap in epochs grows with "
            "the training set; Efficient BackProp: repeating the training set "
            "10× should cut on-line epochs about 10× and leave full batch "
            "unchanged.",
            "",
            cross_dataset_table(summary, markdown=True),
            "",
        ]
    if plot_note:
        lines += ["", plot_note, ""]
    path = out / "report.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


# -- command line ----------------------------------------------------------------------


def _csv_list(convert):
    def parse(text):
        try:
            return [convert(item.strip()) for item in text.split(",") if item.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _batch_size(text):
    return "full" if text == "full" else int(text)


def add_arguments(parser):
    """Add ``fastsgd compare``'s options to an argparse (sub-)parser."""
    parser.add_argument(
        "--dataset",
        default="digits",
        metavar="NAME",
        help=f"{', '.join(DATASETS)}, or a CSV file with a header row (then give "
        "--target); several names separated by commas compare across datasets "
        "too (e.g. digits,digits-x10). large: 25,000 synthetic samples of 64 "
        "features and 10 classes; digits-x10: digits with its training rows "
        "repeated 10 times. Default: digits.",
    )
    parser.add_argument(
        "--target",
        metavar="COLUMN",
        help="the label column of a CSV dataset (every other column must be numeric)",
    )
    parser.add_argument(
        "--batch-sizes",
        type=_csv_list(_batch_size),
        metavar="LIST",
        default=list(BATCH_SIZES),
        help="comma-separated batch sizes; 'full' is the whole training set. "
        "Default: 1,8,32,128,full.",
    )
    parser.add_argument(
        "--learning-rates",
        type=_csv_list(float),
        metavar="LIST",
        default=list(LEARNING_RATES),
        help="comma-separated learning rates (mean-gradient convention) searched for "
        "each batch size, largest first. Default: half-decades 0.001,...,10.",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="number of seeds (0..N-1), each with its own split, initial weights and "
        "shuffles. Default: 3 (2 for large); 2 more with --full.",
    )
    parser.add_argument(
        "--search-seeds",
        type=int,
        metavar="N",
        help="search the learning rates on the first N seeds only; every seed then "
        "runs at the chosen rates. Default: 1 for large, all seeds otherwise.",
    )
    parser.add_argument(
        "--hidden",
        type=int,
        metavar="UNITS",
        help="hidden units. Default: 64 for digits and large, 32 otherwise.",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        metavar="N",
        help="epoch cap per run. Default per dataset: "
        + ", ".join(f"{k} {v.max_epochs}" for k, v in SETTINGS.items())
        + ".",
    )
    parser.add_argument(
        "--patience",
        type=int,
        metavar="EPOCHS",
        help="stop a run after this many epochs without a better hold-out accuracy "
        "(or as many epochs as it took to reach its best, if more). "
        "Default per dataset: "
        + ", ".join(f"{k} {v.patience}" for k, v in SETTINGS.items())
        + ".",
    )
    parser.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="training seconds each run of the engines after the first may take "
        "(they also stop once they match the first engine's best hold-out "
        "accuracy); runs cut short before the target report a projected time. "
        "0: no budget. Default: 30 for large and digits-x10, none otherwise.",
    )
    parser.add_argument(
        "--engines",
        type=_csv_list(str),
        default=list(ENGINES),
        metavar="LIST",
        help="comma-separated engines among fastsgd,sklearn; the first searches the "
        "learning rates, the others run at each batch size's chosen rate from "
        "the same weights. Default: fastsgd,sklearn.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS threads for every engine (threadpoolctl); 0 leaves the library "
        "default. Default: 1, so that seconds compare single-core work.",
    )
    parser.add_argument(
        "--evals-per-epoch",
        type=int,
        default=EVALS_PER_EPOCH,
        metavar="N",
        help="hold-out evaluations in the first epoch; later about N / epoch, at "
        "least one. Default: 10.",
    )
    parser.add_argument(
        "--exhaustive",
        action="store_true",
        help="run every learning rate, even below two rates that already did worse",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"every dataset ({', '.join(DATASETS)}) with 2 more seeds each",
    )
    parser.add_argument(
        "--out",
        default="fastsgd-report",
        metavar="DIR",
        help="folder for report.md and the PNG plots. Default: ./fastsgd-report/",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=1, help="also print one line per run"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_const",
        const=0,
        dest="verbose",
        help="print only the summary",
    )


def run(args):
    """Run ``fastsgd compare`` with parsed arguments; returns the exit code."""
    started = time.perf_counter()
    if args.full:
        datasets = list(DATASETS)
    elif os.path.exists(args.dataset):
        datasets = [args.dataset]
    else:
        datasets = [d.strip() for d in args.dataset.split(",") if d.strip()]
    try:
        for name in datasets:
            if name not in DATASETS and not os.path.exists(name):
                raise ValueError(
                    f"unknown dataset {name!r}: use one of "
                    f"{', '.join(DATASETS)} or the path of a CSV file"
                )
        runs = []
        for name in datasets:
            seeds = args.seeds
            if seeds is None and args.full:
                seeds = SETTINGS.get(name, SETTINGS["csv"]).seeds + 2
            runs += compare_batch_sizes(
                name,
                batch_sizes=args.batch_sizes,
                learning_rates=args.learning_rates,
                seeds=seeds,
                hidden=args.hidden,
                max_epochs=args.max_epochs,
                patience=args.patience,
                budget=args.budget,
                search_seeds=args.search_seeds,
                engines=args.engines,
                threads=args.threads or None,
                evals_per_epoch=args.evals_per_epoch,
                exhaustive=args.exhaustive,
                target=args.target,
                verbose=args.verbose,
                as_frame=False,
            )
    except ValueError as exc:
        print(f"fastsgd compare: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nfastsgd compare: interrupted", file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    summary = summarize(runs)
    for dataset in _datasets(summary):
        print()
        print(
            f"{dataset}: accuracy and learning rates (chosen on hold-out; "
            "mean ± sd over seeds)"
        )
        print(accuracy_table(summary, dataset))
        for note in edge_notes(summary, dataset):
            print(f"note: {note}")
        print()
        print(
            f"{dataset}: to {100 * TARGET_FRACTION:g}% of the best hold-out "
            "accuracy (training seconds only)"
        )
        print(speed_table(summary, dataset))
    if len(_datasets(summary)) > 1:
        print()
        print("on-line against full batch (fastsgd)")
        print(cross_dataset_table(summary))
    out = Path(args.out)
    plots, note = [], None
    try:
        for dataset in _datasets(summary):
            plots += plot(runs, out, dataset)
    except ImportError:
        note = (
            "matplotlib is not installed: skipped the plots "
            '(pip install "fastsgd[plot]").'
        )
    argv = sys.argv[1:]
    command = None
    if "compare" in argv:
        command = "fastsgd " + " ".join(
            shlex.quote(a) for a in argv[argv.index("compare") :]
        )
    report = write_report(
        runs, out, plots=plots, command=command, wall_seconds=wall, plot_note=note
    )
    print()
    if note:
        print(note)
    print(
        f"wrote {report}" + "".join(f", {p.name}" for p in plots) + f" ({wall:.0f} s)"
    )
    return 0
