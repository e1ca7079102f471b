"""Helpers shared by the test modules (fixtures are in ``conftest.py``)."""

import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


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
