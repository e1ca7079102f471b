"""Scale out on Dask
=================

A grid search whose fits run on a ``dask.distributed`` cluster, and on-line
training over a dask array with dask-ml's ``Incremental``.

Without ``--scheduler`` the script starts a local cluster (two worker processes
on 127.0.0.1); give the address of a running scheduler to use a real cluster.
Needs the ``dask`` extra: ``pip install ".[dask]"``. The documentation shows this
script without running it (it needs a cluster)::

    python examples/dask_scale_out.py
    python examples/dask_scale_out.py --scheduler tcp://scheduler:8786
"""

import argparse
import time
import warnings
from contextlib import ExitStack

import dask.array as da
import joblib
import numpy as np
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from fastsgd import MLPClassifier


def grid_search(X, y, n_jobs=None):
    model = MLPClassifier(solver="sgd", momentum=0.0, max_iter=15, random_state=0)
    grid = {
        "hidden_layer_sizes": [(32,), (64,)],
        "batch_size": [1, 32],
        "learning_rate_init": [0.01, 0.05],
    }
    search = GridSearchCV(model, grid, cv=3, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="address of a running dask scheduler")
    args = parser.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, random_state=0
    )
    with ExitStack() as stack:
        if args.scheduler:
            client = stack.enter_context(Client(args.scheduler))
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(Client(cluster))
        workers = len(client.scheduler_info()["workers"])
        print(f"cluster: {workers} workers at {client.scheduler.address}")

        # 1. Every fit of the search is a task on the cluster.
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search = grid_search(X_train, y_train, n_jobs=-1)
        seconds = time.perf_counter() - start
        print(
            f"GridSearchCV on the cluster: {len(search.cv_results_['params'])} "
            f"candidates x 3 folds in {seconds:.2f} s; best {search.best_params_}, "
            f"test accuracy {search.score(X_test, y_test):.3f}"
        )
        local = grid_search(X_train, y_train)
        same = np.array_equal(
            search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
        )
        print(f"same scores as the search in this process: {same}")

        # 2. partial_fit block by block over a dask array (one pass per fit call).
        X_dask = da.from_array(X_train, chunks=(300, X.shape[1]))
        y_dask = da.from_array(y_train, chunks=300)
        incremental = Incremental(
            MLPClassifier(
                (64,),
                solver="sgd",
                momentum=0.0,
                batch_size=1,
                learning_rate_init=0.05,
                random_state=0,
            ),
            scoring="accuracy",
            shuffle_blocks=False,
        )
        for _ in range(5):
            incremental.partial_fit(X_dask, y_dask, classes=np.arange(10))
        accuracy = incremental.score(da.from_array(X_test), da.from_array(y_test))
        print(
            f"Incremental: 5 passes over {X_dask.numblocks[0]} blocks, "
            f"test accuracy {accuracy:.3f}"
        )
    return {"same_scores": same, "accuracy": accuracy}


if __name__ == "__main__":
    main()
