"""What early stopping watches: a score or the loss on a validation set, and the
validation set itself (held out of the training data, or the user's own).

The validation set is validated and converted once per fit; every epoch then costs
one compiled forward pass into a preallocated buffer and the metric itself. String
scorers see a stand-in estimator that answers ``predict``/``predict_proba`` with
those precomputed outputs, so no epoch goes back through input validation.
"""

import inspect
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import check_scoring, get_scorer, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import validate_data

from fastsgd import _kernels, _network
from fastsgd._kernels import TrainingData
from fastsgd._sklearn_compat import _BaseScorer, _safe_indexing
from fastsgd._validation import (
    as_kernel_array,
    check_sparse_structure,
    check_training_weights,
)


def scoring_metrics(scoring):
    """The metrics ``scoring`` asks for, as ``(name, scorer)`` pairs, the watched one
    first; ``scorer`` is None (scikit-learn's default), ``"loss"``, a scorer name or
    a callable. Raises a ValueError or TypeError naming the problem, on every fit
    (whether or not it monitors a validation set)."""
    if scoring is None:
        return [(None, None)]
    if isinstance(scoring, str):
        _check_scorer_name(scoring, "scoring")
        return [(scoring, scoring)]
    if callable(scoring):
        name = getattr(scoring, "__name__", "score")
        return [("score" if name == "<lambda>" else name, scoring)]
    if isinstance(scoring, (list, tuple)):
        if not all(isinstance(name, str) for name in scoring):
            raise TypeError(
                "A list of scorers takes scorer names (str), as GridSearchCV's "
                f"scoring does; got {scoring!r}. Use a dict for callables."
            )
        metrics = [(name, name) for name in scoring]
    elif isinstance(scoring, dict):
        if not all(isinstance(name, str) for name in scoring):
            raise TypeError(f"The keys of a scoring dict must be str; got {scoring!r}.")
        metrics = list(scoring.items())
    else:
        raise TypeError(
            "scoring takes None, a scorer name, a callable, or a list or dict of "
            f"scorers; got {scoring!r}."
        )
    if not metrics:
        raise ValueError("scoring is an empty list or dict: name at least one metric.")
    names = [name for name, _ in metrics]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"scoring names {duplicates} more than once.")
    for name, scorer in metrics:
        if name == "score" or (name == "loss" and scorer != "loss"):
            raise ValueError(
                f"scoring cannot name a metric {name!r}: history_ already has a "
                f"valid_{name} column."
            )
        if isinstance(scorer, str):
            _check_scorer_name(scorer, f"scoring[{name!r}]")
        elif not callable(scorer):
            raise TypeError(
                f"scoring[{name!r}] must be a scorer name or a callable "
                f"scorer(estimator, X, y); got {scorer!r}."
            )
    return metrics


def _check_scorer_name(name, where):
    if name == "loss":
        return
    try:
        get_scorer(name)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def has_callable_scorer(scoring):
    """Whether a scorer of ``scoring`` is the user's callable (it gets ``X_val`` as
    the user gave it)."""
    return any(callable(scorer) for _, scorer in scoring_metrics(scoring))


def _accepts_sample_weight(scorer):
    if isinstance(scorer, _BaseScorer):
        return True
    try:
        parameters = inspect.signature(scorer).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in parameters)


@dataclass
class ValidationSet:
    """A validation set, converted once per fit for the kernels and the scorers."""

    X: object  # X as the user gave it, for a callable scorer
    data: _kernels.TrainingData  # the kernels' view of X
    Y: np.ndarray  # targets as the network's outputs see them (binarized labels)
    y: np.ndarray  # targets as scorers see them (labels, or values)
    sample_weight: np.ndarray | None

    @property
    def n_samples(self):
        return self.Y.shape[0]


def hold_out(estimator, X_given, X, Y, user_weights, random_state):
    """``estimator``'s early-stopping split, drawn from the same RandomState calls
    as scikit-learn's (so the same rows), as indices: X itself is not copied.

    ``X_given`` is X as the user passed it: a callable scorer gets its held-out
    rows (a DataFrame stays a DataFrame)."""
    # scikit-learn stratifies only single-output classification (binary).
    stratify = (
        Y.astype(bool)
        if is_classifier(estimator) and estimator.n_outputs_ == 1
        else None
    )
    n = Y.shape[0]
    train_rows, val_rows = train_test_split(
        np.arange(n, dtype=np.intp),
        random_state=random_state,
        test_size=estimator.validation_fraction,
        stratify=stratify,
    )
    if val_rows.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    val_weights = None if user_weights is None else user_weights[val_rows]
    if val_weights is not None and not val_weights.sum() > 0:
        raise ValueError(
            "The sample weights of the held-out validation set sum to zero: "
            "nothing to score on. Pass X_val, y_val and sample_weight_val, or "
            "change validation_fraction or random_state."
        )
    X_val = X[val_rows]
    validation = ValidationSet(
        X=(
            _safe_indexing(X_given, val_rows)
            if has_callable_scorer(estimator.scoring)
            else X_val
        ),
        data=TrainingData(X_val),
        Y=np.ascontiguousarray(Y[val_rows]),
        y=estimator._scorer_targets(Y[val_rows]),
        sample_weight=val_weights,
    )
    return np.ascontiguousarray(train_rows, dtype=np.intp), validation


def validation_set(estimator, X_val, y_val, sample_weight_val, dtype, n_outputs):
    """The validated ``X_val``/``y_val``/``sample_weight_val`` of a fit of
    ``estimator`` (``n_outputs``: the width of the network's targets); None
    without them."""
    if X_val is None:
        if y_val is not None or sample_weight_val is not None:
            raise ValueError("y_val and sample_weight_val need X_val.")
        return None
    if y_val is None:
        raise ValueError("X_val needs y_val.")
    X_given = X_val
    check_sparse_structure(X_val)
    X_val = validate_data(
        estimator,
        X_val,
        accept_sparse="csr",
        reset=False,
        dtype=(np.float64, np.float32),
    )
    X_val = as_kernel_array(X_val, dtype, name="X_val")
    Y_val, y_scorer = estimator._validation_targets(y_val, X_val.shape[0])
    if Y_val.shape[1] != n_outputs:
        raise ValueError(
            f"y_val has {Y_val.shape[1]} outputs, the training targets {n_outputs}."
        )
    if sample_weight_val is not None:
        sample_weight_val = check_training_weights(sample_weight_val, X_val, dtype)
    return ValidationSet(
        X=X_given,
        data=TrainingData(X_val),
        Y=as_kernel_array(Y_val, dtype, name="y_val"),
        y=y_scorer,
        sample_weight=sample_weight_val,
    )


class _FrozenPredictions:
    """Answers a scorer's calls with the outputs computed for this epoch; each
    answer is computed once and shared by all the epoch's scorers."""

    def __init__(self, estimator, output):
        self._estimator = estimator
        self._output = output
        self._answers = {}

    def _answer(self, method):
        if method not in self._answers:
            self._answers[method] = getattr(self._estimator, method)(self._output)
        return self._answers[method]

    def predict(self, X):
        return self._answer("_predict_from_output")

    def get_params(self, deep=True):
        return {}


class _FrozenClassifier(_FrozenPredictions, ClassifierMixin, BaseEstimator):
    def __init__(self, estimator, output):
        super().__init__(estimator, output)
        self.classes_ = estimator.classes_

    def predict_proba(self, X):
        return self._answer("_proba_from_output")

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class _FrozenRegressor(_FrozenPredictions, RegressorMixin, BaseEstimator):
    pass


def _accuracy(frozen, validation):
    """scikit-learn's default classifier score (subset accuracy), from outputs."""
    correct = frozen.predict(None) == validation.y
    if correct.ndim > 1:
        correct = correct.all(axis=1)
    return float(np.average(correct, weights=validation.sample_weight))


def _r2(frozen, validation):
    return float(
        r2_score(
            validation.y, frozen.predict(None), sample_weight=validation.sample_weight
        )
    )


class Monitor:
    """Computes the validation loss and the monitored scores after each epoch.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The estimator being fitted.
    scoring : None, str, callable, list or dict
        ``None`` is scikit-learn's behaviour (accuracy or R²); ``"loss"`` the
        validation loss; any scikit-learn scorer name; ``scorer(estimator, X, y)``
        (given the validation samples' weights as ``sample_weight=`` when it takes
        them); or a list or dict of those (the first is watched).
    validation : ValidationSet
    layout : Layout
    dtype : numpy dtype

    Attributes
    ----------
    name : str
        The watched metric's name.
    greater_is_better : bool
        Of the watched metric.
    columns : list of (str, str)
        The verbose table's validation columns: (header, key in the record).
    """

    def __init__(self, estimator, scoring, validation, layout, dtype):
        self.estimator = estimator
        self.validation = validation
        self.layout = layout
        n_val = validation.n_samples
        self._out = np.empty((n_val, int(layout.units[-1])), dtype=dtype)
        self._work = _network.workspace(
            layout, _network.chunk_rows(layout, n_val), dtype
        )
        self._loss_weights = (
            np.ones(n_val, dtype=dtype)
            if validation.sample_weight is None
            else validation.sample_weight.astype(dtype)
        )
        self._frozen = (
            _FrozenClassifier if hasattr(estimator, "classes_") else _FrozenRegressor
        )
        self.multimetric = isinstance(scoring, (list, tuple, dict))
        self._metrics = {}
        for name, scorer in scoring_metrics(scoring):
            if scorer is None:
                is_classifier = hasattr(estimator, "classes_")
                name = "accuracy" if is_classifier else "r2"
                self._metrics[name] = _accuracy if is_classifier else _r2
            elif scorer == "loss":
                self._metrics[name] = None
            elif isinstance(scorer, str):
                self._metrics[name] = self._string_scorer(
                    check_scoring(estimator, scoring=scorer)
                )
            else:
                self._metrics[name] = self._callable_scorer(name, scorer)
        self.name = next(iter(self._metrics))
        self.greater_is_better = self.name != "loss"
        self.columns = [("valid_loss", "valid_loss")]
        for name in self._metrics:
            if name != "loss":
                key = f"valid_{name}" if self.multimetric else "valid_score"
                self.columns.append((f"valid_{name}", key))

    def _string_scorer(self, scorer):
        def score(frozen, validation):
            kwargs = {}
            if validation.sample_weight is not None:
                kwargs["sample_weight"] = validation.sample_weight
            return float(scorer(frozen, validation.X, validation.y, **kwargs))

        return score

    def _callable_scorer(self, name, scoring):
        weighted = self.validation.sample_weight is not None
        if weighted and not _accepts_sample_weight(scoring):
            warnings.warn(
                f"The scoring callable {name!r} takes no sample_weight: the "
                "validation samples' weights apply to the validation loss, not to "
                "its score.",
                UserWarning,
                stacklevel=6,
            )
            weighted = False

        def score(frozen, validation):
            kwargs = {"sample_weight": validation.sample_weight} if weighted else {}
            return float(
                scoring(frozen._estimator, validation.X, validation.y, **kwargs)
            )

        return score

    def evaluate(self, params):
        """The validation fields of an epoch's ``history_`` record for the weights
        in ``params`` (or for a diverged epoch when ``params`` is None): the
        validation loss, the watched score as ``valid_score`` and, for several
        metrics, each as ``valid_<name>``. NaN where the outputs are not finite."""
        v = self.validation
        if params is not None:
            _network.forward(
                self.layout, params, v.data, out=self._out, work=self._work
            )
        if params is None or not _kernels.all_finite(self._out.reshape(-1)):
            loss, scores = float("nan"), dict.fromkeys(self._metrics, float("nan"))
        else:
            loss = _kernels.weighted_loss(
                self.layout.output, self._out, v.Y, self._loss_weights
            )
            frozen = self._frozen(self.estimator, self._out)
            scores = {
                name: loss if metric is None else metric(frozen, v)
                for name, metric in self._metrics.items()
            }
        fields = {"valid_loss": loss, "valid_score": scores[self.name]}
        if self.multimetric:
            fields.update(
                (f"valid_{name}", value)
                for name, value in scores.items()
                if name != "loss"
            )
        return fields
