"""Hypothesis strategies over everything a user can hand the estimators, and the
one property every case must satisfy: it fits and predicts finite outputs, or it
raises a clear ValueError/TypeError before anything goes wrong.

Used by ``test_fuzz.py`` (a fixed number of examples in every run) and by
``test_fuzz.py`` (as many as a time budget allows; CI runs it on the debug build).
"""

import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from fastsgd import MLPClassifier, MLPRegressor

DTYPES = [np.float64, np.float32, np.float16, np.int8, np.int64, bool, object]
LAYOUTS = ["C", "F", "strided", "read-only", "list", "csr", "csc", "coo"]


@st.composite
def matrices(draw, n_samples, n_features, valid=False):
    """X in any dtype, layout and sparse format; ``valid`` keeps to finite numbers
    of a sane scale."""
    kinds = ["normal", "zeros"] if valid else ["normal", "huge", "tiny", "zeros"]
    values = draw(st.sampled_from(kinds + ([] if valid else ["nan", "inf"])))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n_samples, n_features))
    X[rng.uniform(size=X.shape) < draw(st.floats(0, 0.9))] = 0.0  # sparsity
    if values == "huge":
        X *= 1e6
    elif values == "tiny":
        X *= 1e-30
    elif values == "zeros":
        X[:] = 0.0
    elif values in ("nan", "inf"):
        X.flat[rng.randint(X.size)] = np.nan if values == "nan" else np.inf
    dtype = draw(st.sampled_from(DTYPES))
    if dtype is object and not valid and draw(st.booleans()):
        X = np.full(X.shape, "text", dtype=object)
    else:
        X = X.astype(dtype)
    layout = draw(st.sampled_from(LAYOUTS))
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":
        return np.repeat(X, 2, axis=1)[:, ::2]
    if layout == "read-only":
        X = X.copy()
        X.setflags(write=False)
        return X
    if layout == "list":
        return X.tolist()
    if (
        layout in ("csr", "csc", "coo")
        and X.dtype.kind in "fiub"
        and X.dtype != np.float16
    ):  # scipy.sparse has no float16
        return getattr(sp, f"{layout}_matrix")(X)
    return X


@st.composite
def targets(draw, kind, n_samples):
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    if kind == "classifier":
        shape = draw(st.sampled_from(["labels", "strings", "multilabel", "one-class"]))
        n_classes = draw(st.integers(2, max(2, min(n_samples, 6))))
        if shape == "multilabel":
            return rng.randint(2, size=(n_samples, 3))
        y = rng.randint(n_classes, size=n_samples)
        if shape == "one-class":
            y[:] = 1
        return np.array([f"c{v}" for v in y]) if shape == "strings" else y
    y = rng.normal(size=(n_samples, draw(st.integers(1, 2))))
    if draw(st.booleans()):
        y = np.abs(y)  # valid Poisson counts
    return y.ravel() if y.shape[1] == 1 else y


@st.composite
def valid_fit_cases(draw):
    """(estimator, X, y, fit keyword arguments) that must fit: finite inputs in any
    dtype, layout or sparse format, at least two samples of each of two or more
    classes, non-negative weights that do not sum to zero, settings that cannot
    diverge on such data and no early stopping (a small split may be refused)."""
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    n_samples = draw(st.integers(4, 25))
    X = draw(matrices(n_samples, draw(st.integers(1, 12)), valid=True))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    if kind == "classifier":
        n_classes = draw(st.integers(2, n_samples // 2))
        y = rng.permutation(np.arange(n_samples) % n_classes)
        if draw(st.booleans()):
            y = np.array([f"c{v}" for v in y])
        estimator = MLPClassifier
    else:
        y = rng.normal(size=n_samples)
        estimator = MLPRegressor
    estimator = estimator(
        hidden_layer_sizes=tuple(draw(st.lists(st.integers(1, 6), max_size=3))),
        activation=draw(st.sampled_from(["identity", "logistic", "tanh", "relu"])),
        solver=draw(st.sampled_from(["sgd", "adam", "lbfgs"])),
        alpha=draw(st.sampled_from([0.0, 1e-4])),
        batch_size=draw(st.sampled_from([1, 2, n_samples + 3, "auto", "full"])),
        learning_rate_init=draw(st.sampled_from([1e-4, 1e-3, 0.01])),
        momentum=draw(st.sampled_from([0.0, 0.9])),
        max_iter=draw(st.integers(1, 3)),
        random_state=draw(st.integers(0, 3)),
    )
    fit_kwargs = {}
    if draw(st.booleans()):
        weights = rng.uniform(0.1, 3.0, size=n_samples)
        weights[: n_samples // 2 : 2] = 0.0
        fit_kwargs["sample_weight"] = weights
    return estimator, X, y, fit_kwargs


@st.composite
def fit_cases(draw):
    """(estimator, X, y, fit keyword arguments)."""
    kind = draw(st.sampled_from(["classifier", "regressor"]))
    n_samples = draw(st.integers(1, 25))
    n_features = draw(st.integers(1, 12))
    X = draw(matrices(n_samples, n_features))
    y = draw(targets(kind, n_samples))
    solver = draw(st.sampled_from(["sgd", "adam", "lbfgs"]))
    early_stopping = draw(st.booleans())
    params = dict(
        hidden_layer_sizes=tuple(draw(st.lists(st.integers(1, 6), max_size=3))),
        activation=draw(st.sampled_from(["identity", "logistic", "tanh", "relu"])),
        solver=solver,
        alpha=draw(st.sampled_from([0.0, 1e-4, 10.0])),
        batch_size=draw(st.sampled_from([1, 2, n_samples + 3, "auto", "full"])),
        learning_rate=draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
        learning_rate_init=draw(st.sampled_from([1e-6, 1e-3, 0.1, 10.0, 1e4])),
        momentum=draw(st.sampled_from([0.0, 0.9, 1.0])),
        nesterovs_momentum=draw(st.booleans()),
        max_iter=draw(st.integers(1, 3)),
        early_stopping=early_stopping,
        validation_fraction=draw(st.sampled_from([0.1, 0.5, 1 / max(n_samples, 2)])),
        n_iter_no_change=draw(st.sampled_from([1, 10])),
        random_state=draw(st.integers(0, 3)),
    )
    if early_stopping:
        params["scoring"] = draw(
            st.sampled_from(
                [None, "loss"]
                + (
                    ["f1_macro", "balanced_accuracy"]
                    if kind == "classifier"
                    else ["neg_mean_squared_error"]
                )
            )
        )
    if kind == "classifier":
        estimator = MLPClassifier(**params)
    else:
        estimator = MLPRegressor(
            loss=draw(st.sampled_from(["squared_error", "poisson"])), **params
        )
    fit_kwargs = {}
    weights = draw(st.sampled_from([None, "positive", "with-zeros", "negative"]))
    if weights is not None:
        rng = np.random.RandomState(n_samples)
        w = rng.uniform(0.1, 3.0, size=n_samples)
        if weights == "with-zeros":
            w[::2] = 0.0
        elif weights == "negative":
            w[0] = -1.0
        fit_kwargs["sample_weight"] = w
    return estimator, X, y, fit_kwargs


def check_fit_predict(estimator, X, y, fit_kwargs):
    """Fit and predict; return "fitted" or "rejected" (with a clear error).

    Warnings (convergence, clipped batch sizes, ...) are expected here and ignored;
    an exception a compiled function could only print is not a warning, and the
    test configuration turns it into a failure.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _fit_predict(estimator, X, y, fit_kwargs)


def _fit_predict(estimator, X, y, fit_kwargs):
    try:
        estimator.fit(X, y, **fit_kwargs)
    except (ValueError, TypeError) as error:
        assert str(error).strip(), "an error must say what is wrong"
        return "rejected"
    prediction = estimator.predict(X)
    assert len(prediction) == (X.shape[0] if hasattr(X, "shape") else len(X))
    if isinstance(estimator, MLPClassifier):
        proba = estimator.predict_proba(X)
        assert np.isfinite(proba).all()
        assert ((proba >= 0) & (proba <= 1)).all()
        if estimator.out_activation_ == "softmax":
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-3)
        # multi-label predictions are 0/1 indicators; others are the labels
        labels = {0, 1} if prediction.ndim == 2 else set(estimator.classes_)
        assert set(np.unique(prediction)) <= labels
    else:
        assert np.isfinite(prediction).all()
    return "fitted"
