"""Fits running concurrently in threads (joblib's threading backend): the kernels
release the GIL, so two fits really run at once; each must train exactly as it
would alone and leave the process's BLAS
settings as it found them. How much faster it is is measured in
``bench/test_threading.py``, not here.
"""

import ast
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from _helpers import assert_same_cv_results, standardized_classification
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV

from fastsgd import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_threaded_grid_search_scores_like_a_sequential_one():
    X, y = standardized_classification(n_samples=300, n_features=8)
    grid = {"learning_rate_init": [0.003, 0.03], "batch_size": [1, 20, "full"]}
    model = MLPClassifier((12,), solver="sgd", max_iter=5, random_state=0)
    sequential = GridSearchCV(model, grid, cv=3, n_jobs=1).fit(X, y)
    with parallel_backend("threading", n_jobs=2):
        threaded = GridSearchCV(model, grid, cv=3, n_jobs=2).fit(X, y)
    assert_same_cv_results(threaded.cv_results_, sequential.cv_results_)


# Run in a fresh interpreter: the BLAS thread count is process state that other
# tests' threaded fits may already have changed. Fit A starts, fit B starts, A ends,
# B ends; A and B run in short-lived threads, or in a pool whose threads outlive
# the fits (as joblib's threading backend's do).
_OVERLAPPING_FITS = """
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_info

from fastsgd import MLPClassifier


def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


rng = np.random.RandomState(0)
X, y = rng.normal(size=(50, 4)), np.arange(50) % 2
a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()


def first(est, record):
    a_inside.set()
    assert b_inside.wait(30)


def second(est, record):
    b_inside.set()
    assert a_done.wait(30)


def fit(callback):
    MLPClassifier(
        (4,), solver="sgd", batch_size=1, max_iter=1, callbacks=[callback]
    ).fit(X, y)


before = blas_threads()
if sys.argv[1] == "pool":
    with ThreadPoolExecutor(max_workers=2) as pool:
        fit_a = pool.submit(fit, first)
        assert a_inside.wait(30)
        fit_b = pool.submit(fit, second)
        fit_a.result()
        a_done.set()
        fit_b.result()
        after = blas_threads()  # the pool's threads are still alive here
else:
    thread_a = threading.Thread(target=fit, args=(first,))
    thread_a.start()
    assert a_inside.wait(30)
    thread_b = threading.Thread(target=fit, args=(second,))
    thread_b.start()
    thread_a.join(30)
    a_done.set()
    thread_b.join(30)
    after = blas_threads()
print(before)
print(after)
"""


@pytest.mark.parametrize("threads", ["short-lived", "pool"])
def test_overlapping_fits_restore_the_blas_thread_count(threads, tmp_path):
    """The BLAS limit of on-line fits is process-wide: after fits that overlapped in
    threads, BLAS must have the thread count it had before."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, "-c", _OVERLAPPING_FITS, threads],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # import the installed fastsgd, not the source tree's
        timeout=120,
        check=True,
    )
    before, after = map(ast.literal_eval, result.stdout.splitlines())
    assert before and min(before) == 2
    assert after == before


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
