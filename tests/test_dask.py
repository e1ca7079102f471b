"""fastsgd on a real ``dask.distributed`` cluster: two worker processes on the
loopback interface. Skipped when the ``dask`` extra is not installed.

What must hold: a search run by joblib's dask backend scores every candidate as the
same search in-process does; fitted models travel between processes and keep
predicting and training like the original; dask-ml's ``Incremental`` trains through
``partial_fit`` block by block, which is the same training as a local loop.
"""

import logging
import os
import pickle
import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import (
    assert_same_cv_results,
    assert_same_weights,
    standardized_classification,
)
from scipy.stats import loguniform
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from fastsgd import MLPClassifier, MLPRegressor

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def small(cls=MLPClassifier, **params):
    defaults = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        batch_size=4,
        learning_rate_init=0.05,
        max_iter=5,
        random_state=0,
    )
    return cls(**{**defaults, **params})


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def test_grid_search_under_the_dask_backend_scores_like_in_process(client):
    X, y = standardized_classification(n_samples=150, n_features=6)
    grid = {
        "learning_rate_init": [0.01, 0.1],
        "batch_size": [1, "full"],
        "solver": ["sgd", "adam"],
    }
    local = fit_quietly(GridSearchCV(small(), grid, cv=3), X, y)
    with joblib.parallel_backend("dask"):
        remote = fit_quietly(GridSearchCV(small(), grid, cv=3, n_jobs=-1), X, y)
    assert_same_cv_results(remote.cv_results_, local.cv_results_)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        remote.best_estimator_.predict_proba(X), local.best_estimator_.predict_proba(X)
    )
    # The fits ran in both worker processes.
    loaded = client.run(lambda: "fastsgd._kernels" in __import__("sys").modules)
    assert len(loaded) == 2 and all(loaded.values())


def test_randomized_search_under_the_dask_backend_scores_like_in_process(client):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=120)
    space = {
        "alpha": loguniform(1e-5, 1e-1),
        "learning_rate_init": loguniform(1e-3, 3e-2),
        "hidden_layer_sizes": [(4,), (8, 4)],
    }

    def search(**kwargs):
        return RandomizedSearchCV(
            small(MLPRegressor, batch_size=1),
            space,
            n_iter=6,
            cv=2,
            random_state=0,
            **kwargs,
        )

    local = fit_quietly(search(), X, y)
    with joblib.parallel_backend("dask"):
        remote = fit_quietly(search(n_jobs=-1), X, y)
    assert_same_cv_results(remote.cv_results_, local.cv_results_)
    assert len(set(map(str, local.cv_results_["params"]))) == 6


def _fit(model, X, y):
    return os.getpid(), fit_quietly(model, X, y)


def test_fitted_models_travel_between_processes(client, multiclass):
    X, y = multiclass
    local = fit_quietly(small(batch_size=1), X, y)
    worker_pid, remote = client.submit(_fit, small(batch_size=1), X, y).result()
    assert worker_pid != os.getpid()  # fitted in a worker process
    assert np.shares_memory(remote.coefs_[0], remote._params)  # views rebuilt
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
    # A model fitted here predicts the same over there ...
    np.testing.assert_array_equal(
        client.submit(local.predict_proba, X).result(), local.predict_proba(X)
    )
    # ... and one fitted there goes on training here like the local one.
    for model in (local, remote):
        model.partial_fit(X, y)
    assert_same_weights(remote, local, rtol=0)


def test_cloudpickle_round_trip(multiclass):
    cloudpickle = pytest.importorskip("cloudpickle")
    X, y = multiclass
    model = fit_quietly(small(solver="adam"), X, y)
    for dumps in (cloudpickle.dumps, pickle.dumps):
        copy = pickle.loads(dumps(model))
        np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
        copy.coefs_[0][0, 0] += 1.0  # writes through to the copy's own buffer only
        assert copy._params[0] == model._params[0] + 1.0


def test_incremental_trains_through_partial_fit_block_by_block(client):
    dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = standardized_classification(n_samples=400, n_features=6, seed=1)
    X_dask = da.from_array(X, chunks=(100, 6))
    y_dask = da.from_array(y, chunks=100)
    params = dict(batch_size=1, momentum=0.0, shuffle=False, learning_rate_init=0.1)
    classes = np.unique(y)
    incremental = dask_ml_wrappers.Incremental(
        small(**params), scoring="accuracy", shuffle_blocks=False
    )
    incremental.fit(X_dask, y_dask, classes=classes)

    local = small(**params)
    for start in range(0, 400, 100):
        local.partial_fit(
            X[start : start + 100], y[start : start + 100], classes=classes
        )
    assert incremental.estimator_.n_iter_ == 1
    assert incremental.estimator_.t_ == 400
    assert_same_weights(incremental.estimator_, local, rtol=1e-12)
    assert incremental.score(X_dask, y_dask) == pytest.approx(local.score(X, y))
    assert incremental.score(X_dask, y_dask) > 0.7  # chance is 1/3
    predicted = incremental.predict(X_dask)
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), local.predict(X))


def test_scale_out_example_runs_on_a_given_scheduler(client, capsys):
    pytest.importorskip("dask_ml")
    path = Path(__file__).resolve().parent.parent / "examples" / "dask_scale_out.py"
    main = runpy.run_path(str(path))["main"]
    result = main(["--scheduler", client.scheduler.address])
    assert result["same_scores"]
    assert result["accuracy"] > 0.9
    assert "2 workers" in capsys.readouterr().out
