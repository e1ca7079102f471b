"""The estimators as scikit-learn users meet them: inputs, errors, dtypes,
persistence, meta-estimators, weights moved in and out."""

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _helpers import small_regression
from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastsgd
from fastsgd import InconsistentVersionWarning, MLPClassifier, MLPRegressor


def small_model(**params):
    defaults = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        batch_size=4,
        learning_rate_init=0.05,
        max_iter=5,
        random_state=0,
    )
    return MLPClassifier(**{**defaults, **params})


def test_public_names():
    import fastsgd

    assert fastsgd.__version__
    assert {"MLPClassifier", "MLPRegressor"} <= set(fastsgd.__all__)


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X.tolist(),
        lambda X: np.asfortranarray(X),
        lambda X: np.repeat(X, 2, axis=1)[:, ::2],  # strided view
        lambda X: pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]),
        sp.csr_matrix,
        sp.csc_matrix,
        sp.coo_matrix,
        sp.csr_array,
    ],
    ids=["list", "fortran", "strided", "pandas", "csr", "csc", "coo", "csr_array"],
)
def test_every_input_form_gives_the_same_model(multiclass, convert):
    X, y = multiclass
    reference = small_model().fit(X, y)
    model = small_model().fit(convert(X), y)
    for a, b in zip(model.coefs_, reference.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        model.predict_proba(convert(X)), reference.predict_proba(X), rtol=1e-12
    )


def test_read_only_input(multiclass):
    X, y = multiclass
    X = X.copy()
    X.setflags(write=False)
    model = small_model().fit(X, y)
    assert model.predict(X).shape == y.shape


def test_pandas_feature_names(multiclass):
    X, y = multiclass
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = small_model().fit(frame, y)
    assert list(model.feature_names_in_) == list("abcde")
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame.rename(columns={"a": "z"}))


def test_float32_stays_float32(multiclass):
    X, y = multiclass
    model = small_model().fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in model.coefs_ + model.intercepts_)
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.int64, np.float16, bool])
def test_other_dtypes_train_in_float64(multiclass, dtype):
    X, y = multiclass
    model = small_model().fit((X > 0).astype(dtype), y)
    assert model.coefs_[0].dtype == np.float64


@pytest.mark.parametrize("batch_size", [1, 9, "full"])
def test_float32_training_tracks_float64(multiclass, batch_size):
    X, y = multiclass
    m64 = small_model(batch_size=batch_size, max_iter=1, momentum=0.5).fit(X, y)
    m32 = small_model(batch_size=batch_size, max_iter=1, momentum=0.5).fit(
        X.astype(np.float32), y
    )
    for a, b in zip(
        m32.coefs_ + m32.intercepts_, m64.coefs_ + m64.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert m32.loss_ == pytest.approx(m64.loss_, rel=1e-5)


@pytest.mark.parametrize(
    "X_bad, message",
    [
        (lambda X: np.where(X > 1, np.nan, X), "NaN"),
        (lambda X: np.where(X > 1, np.inf, X), "infinity"),
        (lambda X: X[:, :, None], "dim"),
        (lambda X: X[:0], "0 sample"),
        (lambda X: X.astype(complex), "Complex"),
        (lambda X: np.full(X.shape, "a", dtype=object), "could not convert"),
    ],
    ids=["nan", "inf", "3d", "empty", "complex", "strings"],
)
def test_bad_X_is_rejected_before_training(multiclass, X_bad, message):
    X, y = multiclass
    with pytest.raises(ValueError, match=message):
        small_model().fit(X_bad(X), y)


def test_bad_targets_and_weights_are_rejected(multiclass, regression):
    X, y = multiclass
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small_model().fit(X, y[:-1])
    with pytest.raises(ValueError, match="(?i)negative"):
        small_model().fit(X, y, sample_weight=-np.ones(len(y)))
    # Newer scikit-learn rejects all-zero weights itself ("... at least one
    # non-zero number"); with 1.7, fastsgd's own check does ("sums to zero").
    with pytest.raises(ValueError, match="non-zero|sums to zero"):
        small_model().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="NaN"):
        small_model().fit(X, y, sample_weight=np.full(len(y), np.nan))
    Xr, yr = regression
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson", max_iter=1).fit(Xr, yr)
    with pytest.raises(ValueError):
        MLPRegressor(max_iter=1).fit(Xr, np.array(["a"] * len(yr)))


def test_bad_parameters_are_rejected(multiclass):
    X, y = multiclass
    for params in [
        dict(batch_size=0),
        dict(batch_size="half"),
        dict(solver="newton"),
        dict(hidden_layer_sizes=(3, 0)),
        dict(learning_rate_init=0),
        dict(momentum=2.0),
        dict(scoring=3),
        dict(class_weight="even"),
    ]:
        with pytest.raises(ValueError):
            small_model(**params).fit(X, y)


def test_predict_checks_its_input(multiclass):
    X, y = multiclass
    model = small_model().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full_like(X, np.nan))


def test_divergence_names_the_epoch_and_keeps_the_last_finite_weights():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)) * 1e3  # unscaled inputs
    y = X @ rng.normal(size=5)
    model = MLPRegressor(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.5,
        momentum=0.9,
        batch_size=10,
        max_iter=20,
        random_state=0,
    )
    with pytest.raises(ValueError, match=r"epoch \d+.*StandardScaler.*learning_rate"):
        model.fit(X, y)
    weights = model.coefs_ + model.intercepts_
    assert all(np.isfinite(w).all() for w in weights)
    assert len(model.loss_curve_) == model.n_iter_ == len(model.history_)


def diverging_iris_regressor(**params):
    """The example of scikit-learn#29504: identity units at learning rate 1 on
    unscaled iris diverge after a few epochs."""
    defaults = dict(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        random_state=0,
    )
    return MLPRegressor(**{**defaults, **params})


@pytest.mark.parametrize("watched", ["early_stopping", "X_val"])
def test_divergence_with_a_watched_set_ends_training_with_the_best_weights(watched):
    X, y = load_iris(return_X_y=True)
    after_epoch = {}

    def remember(estimator, record):
        after_epoch[record["epoch"]] = [w.copy() for w in estimator.coefs_]

    model = diverging_iris_regressor(
        early_stopping=watched == "early_stopping", callbacks=[remember]
    )
    fit_params = {"X_val": X[::5], "y_val": y[::5]} if watched == "X_val" else {}
    with pytest.warns(UserWarning, match="diverged in epoch") as caught:
        model.fit(X, y, **fit_params)
    (divergence,) = [w for w in caught if "diverged" in str(w.message)]
    assert divergence.filename == __file__  # it points at the fit call
    warning = str(divergence.message)
    epoch = int(re.search(r"diverged in epoch (\d+)", warning).group(1))
    assert 1 < epoch == model.n_iter_ == len(model.history_) < 20
    assert len(model.validation_scores_) == epoch
    assert np.isnan(model.validation_scores_[-1])
    assert np.isnan(model.history_[-1]["valid_score"])
    assert f"keeps the weights of epoch {model.best_epoch_} " in warning
    for a, b in zip(model.coefs_, after_epoch[model.best_epoch_], strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(model.predict(X)).all()


def test_a_diverging_grid_search_candidate_is_scored_not_an_error():
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        diverging_iris_regressor(early_stopping=True),
        {"learning_rate_init": [1e-3, 1.0]},
        cv=2,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ == {"learning_rate_init": 1e-3}


def test_pickle_round_trip_keeps_views_and_predictions(multiclass):
    X, y = multiclass
    model = small_model().fit(X, y)
    clone_ = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone_.predict_proba(X), model.predict_proba(X))
    clone_.coefs_[0][:] = 0.0  # still views into the unpickled buffer
    assert not np.allclose(clone_.predict_proba(X), model.predict_proba(X))
    assert np.shares_memory(clone_.coefs_[0], clone_._params)


def test_a_pickle_saves_weights_put_into_coefs(multiclass):
    X, y = multiclass
    model = small_model().fit(X, y)
    model.coefs_ = [np.zeros_like(c) for c in model.coefs_]
    model.intercepts_[-1] = np.array([0.0, 5.0, 0.0])
    loaded = pickle.loads(pickle.dumps(model))
    assert (loaded.predict(X) == model.classes_[1]).all()


def test_a_pickle_from_another_fastsgd_version_warns_naming_both(
    multiclass, monkeypatch
):
    X, y = multiclass
    model = small_model().fit(X, y)
    monkeypatch.setattr(fastsgd._mlp, "__version__", "0.0.1")  # the saving version
    saved = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning) as caught:
        loaded = pickle.loads(saved)
    (warning,) = [w.message for w in caught]
    assert (warning.original_fastsgd_version, warning.current_fastsgd_version) == (
        "0.0.1",
        fastsgd.__version__,
    )
    assert f"version 0.0.1 when using version {fastsgd.__version__}" in str(warning)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))

    # A pickle that records no version (fastsgd before this one) warns too.
    state = model.__getstate__()
    del state["_fastsgd_version"]
    with pytest.warns(InconsistentVersionWarning, match="from fastsgd version unknown"):
        MLPClassifier.__new__(MLPClassifier).__setstate__(state)

    # The same version loads silently, fitted or not.
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(pickle.dumps(model))
        pickle.loads(pickle.dumps(MLPRegressor()))


def test_in_place_writes_and_replaced_arrays_are_honoured(multiclass):
    X, y = multiclass
    model = small_model().fit(X, y)
    before = model.predict_proba(X)
    model.coefs_[-1][:] = 0.0
    model.intercepts_[-1][:] = [5.0, 0.0, 0.0]
    assert (model.predict(X) == model.classes_[0]).all()
    model.coefs_ = [np.zeros_like(c) for c in model.coefs_]  # a new list of arrays
    model.intercepts_[-1] = np.array([0.0, 5.0, 0.0])
    assert (model.predict(X) == model.classes_[1]).all()
    assert not np.allclose(before, model.predict_proba(X))


def test_warm_start_rejects_a_different_network(multiclass):
    X, y = multiclass
    model = small_model().fit(X, y)
    with pytest.raises(ValueError, match="layer widths"):
        model.set_params(warm_start=True, hidden_layer_sizes=(3,)).fit(X, y)


def test_to_sklearn_and_back(multiclass, regression):
    X, y = multiclass
    model = small_model(batch_size="full").fit(X, y)
    theirs = model.to_sklearn()
    assert isinstance(theirs, sk.MLPClassifier)
    np.testing.assert_allclose(
        theirs.predict_proba(X), model.predict_proba(X), rtol=1e-12
    )
    back = MLPClassifier.from_sklearn(theirs)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    Xr, yr = regression
    ref = sk.MLPRegressor(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(
        Xr, yr
    )
    ours = MLPRegressor.from_sklearn(ref)
    np.testing.assert_allclose(ours.predict(Xr), ref.predict(Xr), rtol=1e-12)
    with pytest.raises(TypeError, match="MLPRegressor"):
        MLPRegressor.from_sklearn(theirs)


def test_from_sklearn_then_warm_start_continues_like_sklearn(multiclass):
    X, y = multiclass
    params = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        batch_size=5,
        learning_rate_init=0.05,
        max_iter=2,
        random_state=0,
    )
    ref = sk.MLPClassifier(**params).fit(X, y)
    ours = MLPClassifier.from_sklearn(ref)
    ours.set_params(warm_start=True).fit(X, y)
    ref.set_params(warm_start=True).fit(X, y)
    for a, b in zip(ours.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_works_in_pipeline_grid_search_and_cross_validation(multiclass):
    X, y = multiclass
    pipe = make_pipeline(StandardScaler(), small_model())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.4).all()
    search = GridSearchCV(
        small_model(),
        {"learning_rate_init": [0.01, 0.1], "batch_size": [1, "full"]},
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert search.best_estimator_.predict(X).shape == y.shape
    assert clone(search.best_estimator_).get_params() == search.best_params_ | {
        k: v
        for k, v in small_model().get_params().items()
        if k not in search.best_params_
    }


def test_partial_fit_rules(multiclass):
    X, y = multiclass
    model = small_model()
    with pytest.raises(ValueError, match="classes"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=np.unique(y))
    with pytest.raises(ValueError, match="early_stopping"):
        small_model(early_stopping=True).partial_fit(X, y, classes=np.unique(y))
    assert not hasattr(small_model(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


def test_batch_size_larger_than_data_is_clipped_with_a_warning(multiclass):
    X, y = multiclass
    with pytest.warns(UserWarning, match="clipped"):
        small_model(batch_size=1000).fit(X, y)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*clipped")
        small_model(batch_size="full").fit(X, y)


def test_weights_with_online_training_warn(multiclass):
    X, y = multiclass
    with pytest.warns(UserWarning, match="batch_size=1"):
        small_model(batch_size=1, class_weight={0: 1, 1: 2, 2: 3}).fit(X, y)


def test_lbfgs_respects_max_fun(regression):
    X, y = regression
    with pytest.warns(Warning, match="EVALUATIONS EXCEEDS LIMIT"):
        model = MLPRegressor(
            hidden_layer_sizes=(5,),
            solver="lbfgs",
            max_fun=5,
            max_iter=100,
            random_state=0,
        ).fit(X, y)
    assert model.n_iter_ <= 5


def test_divergence_keeps_the_last_finite_weights_and_history():
    """Three sane epochs, then a warm start at a rate that diverges at once (in
    epoch 4): the model keeps epoch 3's weights and history."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5)) * 10
    y = X @ rng.normal(size=5)
    after_epoch = {}

    def remember(estimator, record):
        after_epoch[record["epoch"]] = [w.copy() for w in estimator.coefs_]
        return False

    model = MLPRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate_init=1e-4,
        batch_size=10,
        max_iter=3,
        warm_start=True,
        callbacks=[remember],
        random_state=0,
    ).fit(X, y)
    model.set_params(learning_rate_init=10.0, max_iter=50)
    with pytest.raises(ValueError, match="diverged in epoch 4"):
        model.fit(X, y)
    assert len(model.history_) == len(model.loss_curve_) == 3
    for a, b in zip(model.coefs_, after_epoch[3], strict=True):
        np.testing.assert_array_equal(a, b)
    # A warm start with a sane learning rate continues from that consistent state.
    model.set_params(learning_rate_init=1e-7, max_iter=2, callbacks=None)
    model.fit(X, y)
    assert all(np.isfinite(w).all() for w in model.coefs_ + model.intercepts_)
    assert len(model.history_) == 5


def _diverging_regressor(callbacks):
    """Inputs of 1e5 and a rate of 10: finite weights whose outputs overflow after
    a few epochs, before the loss shows it."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    model = MLPRegressor(
        hidden_layer_sizes=(50,),
        activation="identity",
        solver="sgd",
        learning_rate_init=10.0,
        max_iter=50,
        n_iter_no_change=1000,
        callbacks=callbacks,
        random_state=0,
    )
    return model, X * 1e5, y.astype(float)


def test_divergence_with_a_validation_set_keeps_the_best_epochs_weights():
    after_epoch = {}

    def remember(estimator, record):
        after_epoch[record["epoch"]] = [w.copy() for w in estimator.coefs_]
        return False

    model, X, y = _diverging_regressor([remember])
    rows = np.r_[0:10, 60:70]  # two classes: R2 is not forced to 0
    with pytest.warns(UserWarning, match="keeps the weights of epoch") as caught:
        model.fit(X, y, X_val=X[rows], y_val=y[rows])
    (warning,) = [w for w in caught if "diverged" in str(w.message)]
    assert f"weights of epoch {model.best_epoch_} " in str(warning.message)
    for a, b in zip(model.coefs_, after_epoch[model.best_epoch_], strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(model.predict(X)).all()


def test_outputs_overflowing_after_the_last_epoch_keep_the_best_weights():
    """Epoch 3's update leaves finite weights whose outputs overflow (NaN
    validation score): with a validation set that is divergence too, even when
    the last epoch's weights were asked for."""
    after_epoch = {}

    def remember(estimator, record):
        after_epoch[record["epoch"]] = [w.copy() for w in estimator.coefs_]

    model, X, y = _diverging_regressor([remember])
    model.set_params(max_iter=3, restore_best_weights=False)
    rows = np.r_[0:10, 60:70]
    with pytest.warns(UserWarning, match="diverged in epoch 3: after its last") as w:
        model.fit(X, y, X_val=X[rows], y_val=y[rows])
    assert [c.filename for c in w if "diverged" in str(c.message)] == [__file__]
    assert model.n_iter_ == 3 and np.isnan(model.validation_scores_[-1])
    assert model.best_epoch_ == 1
    for a, b in zip(model.coefs_, after_epoch[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_divergence_says_when_the_weights_kept_are_unusable_too():
    model, X, y = _diverging_regressor(None)
    with pytest.raises(ValueError, match="diverged") as error:
        model.fit(X, y)
    usable = np.isfinite(model.predict(X)).all()
    assert usable == ("they too give infinite" not in str(error.value))


def test_divergence_with_a_validation_set_is_an_error_when_no_weights_are_usable():
    """Inputs of 1e6 overflow a Poisson model's exp output from its first weights:
    there are no best weights to keep."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 1)) * 1e6
    model = MLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(),
        solver="sgd",
        learning_rate_init=1e-6,
        early_stopping=True,
        max_iter=3,
        random_state=0,
    )
    with pytest.raises(ValueError, match="they too give infinite or NaN outputs"):
        model.fit(X, np.abs(rng.normal(size=40)))


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the error, not "overflow"
def test_values_beyond_float32_are_an_error_for_a_float32_model():
    X, y = small_regression()
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    model.fit(X.astype(np.float32), y)
    huge = X[:2].copy()
    huge[0, 0] = 1e39  # finite in float64, infinite in float32
    for rows in (huge, sp.csr_matrix(huge)):
        with pytest.raises(ValueError, match="X has values beyond the range"):
            model.predict(rows)
    assert np.isfinite(model.predict(X)).all()
    with pytest.raises(ValueError, match="X_val has values beyond"):
        model.fit(X.astype(np.float32), y, X_val=huge, y_val=y[:2])
    with pytest.raises(ValueError, match="y_val has values beyond"):
        model.fit(X.astype(np.float32), y, X_val=X[:2], y_val=[1e39, 0.0])
    with pytest.raises(ValueError, match="y has values beyond"):
        model.fit(X.astype(np.float32), np.r_[1e39, y[1:]])


def test_a_fit_failing_its_checks_keeps_the_fitted_model():
    X, y = small_regression()
    labels = (y > 0).astype(int)
    model = MLPClassifier((5,), max_iter=20, random_state=0).fit(X, labels)
    predicted = model.predict(X)
    with pytest.raises(ValueError, match="non-zero|sums to zero"):
        model.fit(X, np.where(labels == 1, "b", "a"), sample_weight=np.zeros(60))
    with pytest.raises(ValueError, match="validation set is too small"):
        model.set_params(early_stopping=True, validation_fraction=0.01).fit(
            X[:, :3], [0, 1, 2] * 20
        )
    assert list(model.classes_) == [0, 1] and model.n_features_in_ == 4
    np.testing.assert_array_equal(model.predict(X), predicted)


def test_a_new_network_gets_a_new_optimizer():
    X, y = small_regression()
    model = MLPRegressor(
        hidden_layer_sizes=(3,), max_iter=5, random_state=0
    ).partial_fit(X, y)
    model.set_params(solver="lbfgs", hidden_layer_sizes=(7,)).fit(X, y)
    model.set_params(solver="adam").partial_fit(X, y)  # not the (3,) net's state
    fresh = MLPRegressor(
        hidden_layer_sizes=(7,), max_iter=5, random_state=0, solver="lbfgs"
    ).fit(X, y)
    fresh.set_params(solver="adam").partial_fit(X, y)
    for a, b in zip(model.coefs_, fresh.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sizes", [(1.5,), (3, None), (0,)])
def test_hidden_layer_sizes_must_be_positive_integers(sizes):
    X, y = small_regression()
    with pytest.raises(ValueError, match="positive integers"):
        MLPRegressor(hidden_layer_sizes=sizes).fit(X, y)
