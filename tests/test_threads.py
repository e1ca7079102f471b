"""Fits running concurrently in threads (joblib's threading backend): the kernels
release the GIL, so two fits really run at once; each must train exactly as it
would alone (see also ``tests/test_hardening.py``) and leave the process's BLAS
settings as it found them. How much faster it is is measured in
``bench/test_threading.py``, not here.
"""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import standardized_classification
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV

from fastsgd import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


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
