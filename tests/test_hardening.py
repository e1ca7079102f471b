"""Hardening: whatever a user passes either trains and predicts finite outputs or
gets a clear ValueError/TypeError; fits in threads are deterministic; memory does
not grow; nothing is lost when training goes wrong."""

import pickle
import sys
import threading
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from fuzzing import check_fit_predict, fit_cases, valid_fit_cases
from hypothesis import HealthCheck, given, settings

from fastsgd import MLPClassifier, MLPRegressor


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fit_cases())
def test_any_input_fits_and_predicts_finite_or_raises_a_clear_error(case):
    check_fit_predict(*case)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(valid_fit_cases())
def test_valid_input_in_any_form_fits_and_predicts_finite(case):
    """The other side of the property: nothing valid is refused."""
    assert check_fit_predict(*case) == "fitted"


def _fit_many(seeds, X, y, run):
    return [run(seed, X, y) for seed in seeds]


def _train(seed, X, y):
    model = MLPClassifier(
        (32,),
        solver="sgd",
        batch_size=[1, 16, "full"][seed % 3],
        max_iter=5,
        random_state=seed,
    )
    model.fit(X, y)
    return [w.copy() for w in model.coefs_ + model.intercepts_]


def test_fits_in_threads_are_bit_identical_to_fits_in_sequence():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 20))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    seeds = list(range(6))
    sequential = _fit_many(seeds, X, y, _train)
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(lambda s: _train(s, X, y), seeds))
    for a_run, b_run in zip(sequential, threaded, strict=True):
        for a, b in zip(a_run, b_run, strict=True):
            np.testing.assert_array_equal(a, b)


def test_predicting_from_threads_on_one_model_is_safe_and_correct():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(2000, 30))
    y = (X[:, :3].sum(axis=1) > 0).astype(int)
    model = MLPClassifier((64,), max_iter=5, random_state=0).fit(X, y)
    expected = model.predict_proba(X)
    barrier = threading.Barrier(4)

    def predict(chunk):
        barrier.wait()
        return [model.predict_proba(X) for _ in range(chunk)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [p for batch in pool.map(predict, [5] * 4) for p in batch]
    for result in results:
        np.testing.assert_array_equal(result, expected)


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_thousand_fits_and_predictions_do_not_grow_memory():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 10))
    y = (X[:, 0] > 0).astype(int)

    def cycle(i):
        model = MLPClassifier(
            (16,),
            batch_size=[1, 32][i % 2],
            max_iter=2,
            early_stopping=i % 4 == 0,
            random_state=i,
        )
        model.fit(X, y)
        model.predict_proba(X)

    for i in range(100):  # warm-up: caches, allocator pools
        cycle(i)
    before = _rss_bytes()
    for i in range(1000):
        cycle(i)
    growth = _rss_bytes() - before
    print(
        f"RSS after warm-up {before / 2**20:.1f} MiB, growth over 1000 fits "
        f"{growth / 2**20:.2f} MiB"
    )
    assert growth < 2 * 2**20  # 2 KB a cycle: a copy of X (or more) would show


class _EpochAllocations:
    """Peak bytes allocated by Python/NumPy between two epochs' ends."""

    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __call__(self, estimator, record):
        if record["epoch"] == self.start:
            tracemalloc.reset_peak()
            self.base = tracemalloc.get_traced_memory()[0]
        elif record["epoch"] == self.stop:
            self.peak = tracemalloc.get_traced_memory()[1] - self.base
        return False


@pytest.mark.parametrize("batch_size", [1, 50, "full"])
def test_per_epoch_allocations_do_not_depend_on_the_number_of_samples(batch_size):
    rng = np.random.RandomState(0)
    peaks = {}
    X_val = rng.normal(size=(100, 20))
    y_val = (X_val[:, 0] > 0).astype(int)
    for n in (1000, 20000):
        X = rng.normal(size=(n, 20))
        y = (X[:, 0] > 0).astype(int)
        probe = _EpochAllocations(2, 5)
        model = MLPClassifier(
            (16,),
            solver="sgd",
            batch_size=batch_size,
            max_iter=5,
            callbacks=[probe],
            random_state=0,
        )
        tracemalloc.start()
        try:
            model.fit(X, y, X_val=X_val, y_val=y_val)
        finally:
            tracemalloc.stop()
        peaks[n] = probe.peak
    print(f"batch_size={batch_size}: peak bytes allocated in epochs 3-5: {peaks}")
    assert peaks[20000] < 64 * 1024  # X is 3.2 MB
    assert abs(peaks[20000] - peaks[1000]) < 16 * 1024


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


def test_pickle_in_the_middle_of_partial_fit_continues_exactly():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    for params in (
        dict(solver="adam"),
        dict(solver="sgd", momentum=0.9, learning_rate="invscaling"),
    ):
        model = MLPClassifier((8,), batch_size=7, random_state=0, **params)
        model.partial_fit(X[:100], y[:100], classes=[0, 1])
        model.partial_fit(X[100:200], y[100:200])
        copy = pickle.loads(pickle.dumps(model))
        for est in (model, copy):
            est.partial_fit(X[200:], y[200:])
        for a, b in zip(
            model.coefs_ + model.intercepts_,
            copy.coefs_ + copy.intercepts_,
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)
        assert copy.history_ == [
            dict(r, seconds=c["seconds"])
            for r, c in zip(model.history_, copy.history_, strict=True)
        ]


def test_sparse_and_dense_edge_shapes_predict_the_same():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 7))
    X[X < 0.5] = 0.0
    X[3] = 0.0
    y = np.arange(12) % 3
    for batch_size in (1, 5, "full"):
        params = dict(
            hidden_layer_sizes=(4,),
            solver="sgd",
            momentum=0.5,
            batch_size=batch_size,
            max_iter=3,
            random_state=0,
        )
        dense = MLPClassifier(**params).fit(X, y)
        for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
            sparse = MLPClassifier(**params).fit(fmt(X), y)
            np.testing.assert_allclose(
                sparse.predict_proba(fmt(X)), dense.predict_proba(X), rtol=1e-12
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(
            MLPClassifier((3,), max_iter=2)
            .fit(sp.csr_matrix((5, 4)), [0, 1, 0, 1, 0])
            .predict_proba(sp.csr_matrix((2, 4)))
        ).all()


# -- what reaches the kernels, and what a failed call leaves --------------------------


def _small_regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    return X, X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=60)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the error, not "overflow"
def test_values_beyond_float32_are_an_error_for_a_float32_model():
    X, y = _small_regression()
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
    X, y = _small_regression()
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


def test_weights_a_callback_puts_into_coefs_are_trained_on():
    """Clipping by new arrays trains exactly like clipping in place, and not like
    no clipping at all."""
    X, y = _small_regression()

    def replace(estimator, record):
        if record["epoch"] == 1:
            estimator.coefs_ = [np.clip(w, -0.1, 0.1) for w in estimator.coefs_]

    def in_place(estimator, record):
        if record["epoch"] == 1:
            for w in estimator.coefs_:
                np.clip(w, -0.1, 0.1, out=w)

    def fit(callbacks):
        return MLPRegressor(
            hidden_layer_sizes=(5,), max_iter=30, random_state=0, callbacks=callbacks
        ).fit(X, y)

    plain, replaced, clipped = fit(None), fit([replace]), fit([in_place])
    for a, b in zip(replaced.coefs_, clipped.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(replaced.coefs_[0], plain.coefs_[0])
    assert replaced.score(X, y) == clipped.score(X, y)


def test_a_new_network_gets_a_new_optimizer():
    X, y = _small_regression()
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


def test_a_model_loaded_read_only_trains_on(tmp_path):
    joblib = pytest.importorskip("joblib")
    X, y = _small_regression()
    model = MLPRegressor(
        hidden_layer_sizes=(5,), solver="sgd", random_state=0
    ).partial_fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    assert not loaded._params.flags.writeable
    for est in (model, loaded):
        est.partial_fit(X, y)
    for a, b in zip(model.coefs_, loaded.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_from_sklearn_computes_in_float64_unless_all_float32():
    from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

    X, y = _small_regression()
    theirs = SklearnMLPRegressor(
        hidden_layer_sizes=(5,), max_iter=5, random_state=0
    ).fit(X, y)
    theirs.coefs_ = [w.astype(np.float16) for w in theirs.coefs_]
    ours = MLPRegressor.from_sklearn(theirs)
    assert ours.coefs_[0].dtype == np.float64
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-3)
    theirs.coefs_[-1] = np.zeros((5, 2))
    with pytest.raises(ValueError, match="output layer has 2 units"):
        MLPRegressor.from_sklearn(theirs)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_broken_sparse_structure_is_a_clear_error(fmt):
    X, y = _small_regression()
    X[X < 0] = 0
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    broken = sp.random(10, 4, density=0.5, format=fmt, random_state=0)
    if fmt == "coo":
        broken.row[3] = -1
    else:
        broken.indptr[2] = broken.indptr[3] + 1  # decreasing further on
    with pytest.raises(ValueError, match="index|indptr"):
        model.predict(broken)
    with pytest.raises(ValueError, match="index|indptr"):
        MLPRegressor(hidden_layer_sizes=(5,), max_iter=2).fit(broken, y[:10])


@pytest.mark.parametrize("sizes", [(1.5,), (3, None), (0,)])
def test_hidden_layer_sizes_must_be_positive_integers(sizes):
    X, y = _small_regression()
    with pytest.raises(ValueError, match="positive integers"):
        MLPRegressor(hidden_layer_sizes=sizes).fit(X, y)


@pytest.mark.parametrize("dtype", [complex, str, object])
def test_weights_put_into_coefs_must_be_real_numbers(dtype):
    X, y = _small_regression()
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    model.fit(X, y)
    model.coefs_ = [w.astype(dtype) for w in model.coefs_]
    with pytest.raises(TypeError, match="real numbers"):
        model.predict(X)
