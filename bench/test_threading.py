"""Does a grid search scale over threads? The kernels release the GIL for a whole
epoch, so joblib's threading backend should run two fits at once on two cores.

Under pytest-benchmark (``pytest bench/test_threading.py``) the two configurations
are benchmarked side by side; as a script (``python bench/test_threading.py``) the
ratio of their wall times is printed, alternating the two runs ``--repeat`` times
so that a noisy machine affects both alike.

The workload is fit-dominated: 8 candidates of on-line training (``batch_size=1``)
on 20,000 x 20 data with ``cv=2``, every fit running exactly ``max_iter`` epochs
(``n_iter_no_change=max_iter``) and no refit, so both configurations do the same work.
"""

import argparse
import hashlib
import threading
import time
import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from fastsgd import MLPClassifier

GRID = {
    "learning_rate_init": [0.001, 0.002, 0.005, 0.01],
    "hidden_layer_sizes": [(32,), (64,)],
}


def make_data(n_samples=20_000, n_features=20, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=10,
        n_classes=3,
        random_state=seed,
    )
    return X, y


def grid_search(n_jobs, max_iter=20):
    model = MLPClassifier(
        solver="sgd",
        batch_size=1,
        momentum=0.0,
        max_iter=max_iter,
        n_iter_no_change=max_iter,  # never stops early
        random_state=0,
    )
    return GridSearchCV(
        model, GRID, cv=2, n_jobs=n_jobs, refit=False, error_score="raise"
    )


def run(n_jobs, X, y, max_iter=20):
    """One threaded grid search; returns its wall time in seconds."""
    search = grid_search(n_jobs, max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        with parallel_backend("threading", n_jobs=n_jobs):
            search.fit(X, y)
        return time.perf_counter() - start


def control(n_threads, tasks=8, buffer=b"\0" * (32 << 20)):
    """What two threads give on this machine right now for work that holds no GIL
    (hashlib releases it): the ceiling for the grid search's ratio."""

    def work(n):
        for _ in range(n):
            hashlib.sha256(buffer).digest()

    start = time.perf_counter()
    threads = [
        threading.Thread(target=work, args=(tasks // n_threads,))
        for _ in range(n_threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


@pytest.mark.benchmark(group="grid search, threading backend")
def test_grid_search_one_thread(benchmark):
    X, y = make_data()
    benchmark.pedantic(run, args=(1, X, y), rounds=3, iterations=1)


@pytest.mark.benchmark(group="grid search, threading backend")
def test_grid_search_two_threads(benchmark):
    X, y = make_data()
    benchmark.pedantic(run, args=(2, X, y), rounds=3, iterations=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=20)
    args = parser.parse_args()
    X, y = make_data()
    run(2, X[:2000], y[:2000], max_iter=1)  # warm up imports and thread pools
    ratios, ceilings = [], []
    for i in range(args.repeat):
        one = run(1, X, y, args.max_iter)
        two = run(2, X, y, args.max_iter)
        ceiling = control(1) / control(2)
        ratios.append(one / two)
        ceilings.append(ceiling)
        print(
            f"run {i + 1}: n_jobs=1 {one:.2f} s, n_jobs=2 {two:.2f} s, "
            f"speed-up {one / two:.2f}x (GIL-free control: {ceiling:.2f}x)",
            flush=True,
        )
    print(
        f"median speed-up {np.median(ratios):.2f}x over {args.repeat} runs "
        f"(control {np.median(ceilings):.2f}x)"
    )


if __name__ == "__main__":
    main()
