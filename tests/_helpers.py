"""Helpers shared by the test modules (fixtures are in ``conftest.py``)."""

import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastsgd import MLPClassifier


def standardized_classification(n_samples=60, n_features=5, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


def weights_of(est):
    """An MLP's weights, scikit-learn's or fastsgd's, as one list."""
    return est.coefs_ + est.intercepts_


def assert_same_weights(fast, ref, rtol=1e-9):
    for a, b in zip(weights_of(fast), weights_of(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def fit_from_same_weights(fast, ref, X, y, epochs, sample_weight=None, seed=1):
    """Initialise both, overwrite their weights with the same random ones, then run
    ``epochs`` epochs of a warm-started fit on both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in (fast, ref):
            est.set_params(max_iter=1).fit(X, y)
    rng = np.random.RandomState(seed)
    for f, r in zip(weights_of(fast), weights_of(ref), strict=True):
        w = rng.uniform(-0.5, 0.5, size=f.shape)
        f[...] = w  # in place: the view writes into fastsgd's buffer
        r[...] = w
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    for est in (fast, ref):
        est.set_params(warm_start=True, max_iter=epochs).fit(X, y, **kwargs)


def assert_same_cv_results(a, b):
    """Everything but the timings, exactly."""
    keys = {k for k in a if "time" not in k}
    assert keys == {k for k in b if "time" not in k}
    assert any(k.startswith("split") for k in keys)
    for key in sorted(keys):
        if key == "params":
            assert a[key] == b[key]
        elif np.asarray(a[key]).dtype.kind in "fiub":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert list(a[key]) == list(b[key]), key


def small_regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    return X, X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=60)


def imbalanced_split(n_samples, minority):
    """A standardized two-class problem whose minority class is ``minority`` of the
    rows, split 70/30 with stratification: where F1 and accuracy disagree."""
    X, y = make_classification(
        n_samples=n_samples,
        n_features=10,
        n_informative=4,
        weights=[1 - minority, minority],
        flip_y=0.05,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def sgd_classifier(**params):
    """A small mini-batch SGD classifier that trains in milliseconds."""
    defaults = dict(
        hidden_layer_sizes=(16,),
        solver="sgd",
        batch_size=8,
        learning_rate_init=0.05,
        max_iter=30,
        n_iter_no_change=5,
        random_state=0,
    )
    return MLPClassifier(**{**defaults, **params})
