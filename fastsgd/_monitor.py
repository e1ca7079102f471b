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


def check_scoring_param(scoring):
    """Raise scikit-learn's ValueError for an unknown scorer name, on every fit
    (whether or not it monitors a validation set)."""
    if isinstance(scoring, str) and scoring != "loss":
        get_scorer(scoring)


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
        X=_safe_indexing(X_given, val_rows) if callable(estimator.scoring) else X_val,
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
    """Answers a scorer's calls with the outputs computed for this epoch."""

    def __init__(self, estimator, output):
        self._estimator = estimator
        self._output = output

    def predict(self, X):
        return self._estimator._predict_from_output(self._output)

    def get_params(self, deep=True):
        return {}


class _FrozenClassifier(_FrozenPredictions, ClassifierMixin, BaseEstimator):
    def __init__(self, estimator, output):
        super().__init__(estimator, output)
        self.classes_ = estimator.classes_

    def predict_proba(self, X):
        return self._estimator._proba_from_output(self._output)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class _FrozenRegressor(_FrozenPredictions, RegressorMixin, BaseEstimator):
    pass


def _accuracy(estimator, output, validation):
    """scikit-learn's default classifier score (subset accuracy), from outputs."""
    predicted = estimator._predict_from_output(output)
    y = validation.y
    correct = predicted == y
    if correct.ndim > 1:
        correct = correct.all(axis=1)
    return float(np.average(correct, weights=validation.sample_weight))


def _r2(estimator, output, validation):
    predicted = estimator._predict_from_output(output)
    return float(
        r2_score(validation.y, predicted, sample_weight=validation.sample_weight)
    )


class Monitor:
    """Computes the validation loss and the monitored score after each epoch.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The estimator being fitted.
    scoring : None, "loss", str or callable
        ``None`` is scikit-learn's behaviour (accuracy or R²); ``"loss"`` the
        validation loss; any scikit-learn scorer name; or ``scorer(estimator, X, y)``
        (given the validation samples' weights as ``sample_weight=`` when it takes
        them).
    validation : ValidationSet
    layout : Layout
    dtype : numpy dtype
    """

    def __init__(self, estimator, scoring, validation, layout, dtype):
        self.estimator = estimator
        self.validation = validation
        self.layout = layout
        self.scoring = scoring
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
        self.greater_is_better = scoring != "loss"
        if scoring is None:
            is_classifier = hasattr(estimator, "classes_")
            self.name = "accuracy" if is_classifier else "r2"
            self._score = _accuracy if is_classifier else _r2
        elif scoring == "loss":
            self.name = "loss"
            self._score = None
        elif isinstance(scoring, str):
            self.name = scoring
            scorer = check_scoring(estimator, scoring=scoring)
            self._score = self._string_scorer(scorer)
        else:
            self.name = getattr(scoring, "__name__", "score")
            if self.name == "<lambda>":
                self.name = "score"
            self._score = self._callable_scorer(scoring)

    def _string_scorer(self, scorer):
        frozen = (
            _FrozenClassifier
            if hasattr(self.estimator, "classes_")
            else _FrozenRegressor
        )

        def score(estimator, output, validation):
            kwargs = {}
            if validation.sample_weight is not None:
                kwargs["sample_weight"] = validation.sample_weight
            return float(
                scorer(frozen(estimator, output), validation.X, validation.y, **kwargs)
            )

        return score

    def _callable_scorer(self, scoring):
        weighted = self.validation.sample_weight is not None
        if weighted and not _accepts_sample_weight(scoring):
            warnings.warn(
                f"The scoring callable {self.name!r} takes no sample_weight: the "
                "validation samples' weights apply to the validation loss, not to "
                "its score.",
                UserWarning,
                stacklevel=6,
            )
            weighted = False

        def score(estimator, output, validation):
            kwargs = {"sample_weight": validation.sample_weight} if weighted else {}
            return float(scoring(estimator, validation.X, validation.y, **kwargs))

        return score

    def evaluate(self, params):
        """Validation loss and monitored score of the weights in ``params``."""
        v = self.validation
        _network.forward(self.layout, params, v.data, out=self._out, work=self._work)
        if not _kernels.all_finite(self._out.reshape(-1)):
            return float("nan"), float("nan")
        loss = _kernels.weighted_loss(
            self.layout.output, self._out, v.Y, self._loss_weights
        )
        if self._score is None:
            return loss, loss
        return loss, self._score(self.estimator, self._out, v)
