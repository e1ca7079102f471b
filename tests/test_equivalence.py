"""fastsgd makes scikit-learn's updates and scikit-learn's random draws.

Each test fits scikit-learn's MLP and fastsgd's with the same settings; where the
weights are injected, both start an epoch from the same weights by writing them
into ``coefs_``/``intercepts_`` before a ``warm_start`` fit (for fastsgd, in place:
the arrays are views into its parameter buffer).
"""

import warnings

import numpy as np
import pytest
from _helpers import (
    assert_same_weights,
    fit_from_same_weights,
    standardized_classification,
)
from sklearn import neural_network as sk

import fastsgd

# Every test here runs on each instruction-set path of the kernels.
pytestmark = pytest.mark.usefixtures("every_isa")

RULES = {
    "sgd": dict(solver="sgd", momentum=0.0),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    "nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    "adam": dict(solver="adam"),
}


def _pair(kind, batch_size, n_samples, **params):
    """The same estimator from both libraries ("full" is batch_size=n for sklearn)."""
    fast_cls = getattr(fastsgd, kind)
    sk_cls = getattr(sk, kind)
    sk_batch = n_samples if batch_size == "full" else batch_size
    return (
        fast_cls(batch_size=batch_size, **params),
        sk_cls(batch_size=sk_batch, **params),
    )


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("batch_size", [1, 7, "auto", "full"])
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_two_epochs_match_sklearn_for_every_rule_and_regime(
    multiclass, rule, batch_size, alpha
):
    X, y = multiclass
    sw = np.random.RandomState(3).uniform(0.5, 2.0, size=len(y))
    fast, ref = _pair(
        "MLPClassifier",
        batch_size,
        len(y),
        hidden_layer_sizes=(8, 4),
        activation="tanh",
        alpha=alpha,
        learning_rate_init=0.05,
        random_state=0,
        **RULES[rule],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # weights at batch_size=1
        fit_from_same_weights(fast, ref, X, y, epochs=2, sample_weight=sw)
    assert_same_weights(fast, ref)
    np.testing.assert_allclose(fast.loss_curve_[-2:], ref.loss_curve_[-2:], rtol=1e-9)
    assert fast.t_ == ref.t_


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_learning_rate_schedules_match_sklearn(multiclass, schedule, batch_size):
    X, y = multiclass
    # tol=10 makes every epoch a non-improvement, so "adaptive" divides the rate
    # (and every other schedule still runs all epochs: n_iter_no_change is large).
    fast, ref = _pair(
        "MLPClassifier",
        batch_size,
        len(y),
        hidden_layer_sizes=(6,),
        solver="sgd",
        learning_rate=schedule,
        learning_rate_init=0.1,
        power_t=0.3,
        tol=10.0,
        n_iter_no_change=1 if schedule == "adaptive" else 50,
        random_state=0,
    )
    fit_from_same_weights(fast, ref, X, y, epochs=5)
    assert fast.n_iter_ == ref.n_iter_
    assert fast._optimizer.learning_rate == pytest.approx(
        ref._optimizer.learning_rate, rel=1e-12
    )
    assert_same_weights(fast, ref)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize(
    "kind, data",
    [
        ("MLPClassifier", "binary"),
        ("MLPClassifier", "multiclass"),
        ("MLPClassifier", "multilabel"),
        ("MLPRegressor", "regression"),
        ("MLPRegressor", "counts"),
    ],
)
def test_every_output_and_activation_matches_sklearn(kind, data, activation, request):
    X, y = request.getfixturevalue(data)
    extra = {"loss": "poisson"} if data == "counts" else {}
    fast, ref = _pair(
        kind,
        5,
        len(y),
        hidden_layer_sizes=(7,),
        activation=activation,
        solver="sgd",
        learning_rate_init=0.01,
        alpha=1e-3,
        random_state=0,
        **extra,
    )
    fit_from_same_weights(fast, ref, X, y, epochs=2)
    assert fast.out_activation_ == ref.out_activation_
    assert_same_weights(fast, ref)
    np.testing.assert_allclose(fast.loss_curve_, ref.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", batch_size=1, learning_rate_init=0.01),
        dict(solver="sgd", batch_size=10, learning_rate_init=0.01),
        dict(solver="adam", learning_rate_init=0.01),
    ],
    ids=["sgd-batch1", "sgd-batch10", "adam"],
)
def test_same_random_state_gives_sklearns_weights(params):
    """Same seed: same initial weights, same shuffles, so the same 3-epoch fit."""
    X, y = standardized_classification(n_samples=300)
    fast = fastsgd.MLPClassifier((16,), max_iter=3, random_state=0, **params)
    ref = sk.MLPClassifier((16,), max_iter=3, random_state=0, **params)
    fast.fit(X, y)
    ref.fit(X, y)
    assert_same_weights(fast, ref, rtol=1e-6)


def test_initial_weights_are_sklearns(multiclass):
    X, y = multiclass
    for activation in ("relu", "logistic"):  # logistic uses Glorot's factor 2
        fast = fastsgd.MLPClassifier(
            (9, 4),
            activation=activation,
            max_iter=1,
            learning_rate_init=1e-300,
            random_state=42,
        )
        ref = sk.MLPClassifier(
            (9, 4),
            activation=activation,
            max_iter=1,
            learning_rate_init=1e-300,
            random_state=42,
        )
        fast.fit(X, y)
        ref.fit(X, y)
        assert_same_weights(fast, ref, rtol=1e-12)


@pytest.mark.parametrize(
    "kind, data",
    [
        ("MLPClassifier", "binary"),
        ("MLPClassifier", "multiclass"),
        ("MLPRegressor", "regression"),
    ],
)
def test_early_stopping_matches_sklearn(kind, data, request):
    """Same held-out split, same validation scores, same stopping epoch, and the
    best epoch's weights restored."""
    X, y = request.getfixturevalue(data)
    X = np.vstack([X] * 4)
    y = np.concatenate([y] * 4)
    params = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        batch_size=16,
        learning_rate_init=0.05,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        max_iter=60,
        random_state=0,
    )
    fast = getattr(fastsgd, kind)(**params).fit(X, y)
    ref = getattr(sk, kind)(**params).fit(X, y)
    assert fast.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(
        fast.validation_scores_, ref.validation_scores_, rtol=1e-9
    )
    assert fast.best_validation_score_ == pytest.approx(ref.best_validation_score_)
    assert_same_weights(fast, ref)


def test_partial_fit_matches_sklearn(multiclass):
    X, y = multiclass
    fast = fastsgd.MLPClassifier((6,), solver="adam", batch_size=8, random_state=0)
    ref = sk.MLPClassifier((6,), solver="adam", batch_size=8, random_state=0)
    for start in range(0, 60, 20):
        for est in (fast, ref):
            est.partial_fit(
                X[start : start + 20], y[start : start + 20], classes=np.unique(y)
            )
    assert fast.n_iter_ == ref.n_iter_ == 1
    assert fast._optimizer.t == ref._optimizer.t
    assert_same_weights(fast, ref)


def test_lbfgs_matches_sklearn(regression):
    X, y = regression
    params = dict(
        hidden_layer_sizes=(6,), solver="lbfgs", alpha=0.01, max_iter=30, random_state=0
    )
    fast = fastsgd.MLPRegressor(**params).fit(X, y)
    ref = sk.MLPRegressor(**params).fit(X, y)
    assert fast.n_iter_ == ref.n_iter_
    assert fast.loss_ == pytest.approx(ref.loss_, rel=1e-6)
    assert_same_weights(fast, ref, rtol=1e-5)
