"""Out of core: ``partial_fit`` over a stream
===========================================

Train from a stream: ``partial_fit`` on chunks that a generator reads from a
CSV file (the same pattern serves a database cursor, a message queue, or files
that arrive over time).

Each ``partial_fit`` call is one epoch over its chunk, and the optimizer's state
(here Adam's moments and step count) carries over between calls. With
``shuffle=False`` and chunk sizes that are multiples of ``batch_size``, one pass
over the stream makes exactly the updates of one ``fit(max_iter=1)`` over all the
rows; this script checks it at the end. A chunk whose size is not a multiple of
``batch_size`` ends with a smaller batch: batches never straddle chunks. Run it
as a script (the documentation runs it with ``--quick``)::

    python examples/out_of_core_generator.py            # 200,000 rows
    python examples/out_of_core_generator.py --quick    # 20,000 rows
"""

import argparse
import itertools
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastsgd import MLPRegressor

N_FEATURES = 10


def write_csv(path, n_rows, seed=0):
    """Targets are a smooth function of the features plus noise; the last column."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n_rows, N_FEATURES))
    y = np.sin(X[:, 0]) * X[:, 1] + 0.5 * X[:, 2] ** 2 + 0.1 * rng.normal(size=n_rows)
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.6f")


def read_chunks(path, chunk_rows):
    """Yield ``(X, y)`` chunks of ``chunk_rows`` rows, reading the file lazily."""
    with open(path) as lines:
        while True:
            block = list(itertools.islice(lines, chunk_rows))
            if not block:
                return
            table = np.loadtxt(block, delimiter=",", ndmin=2)
            yield table[:, :-1], table[:, -1]


def new_model():
    return MLPRegressor(
        hidden_layer_sizes=(32,),
        solver="adam",
        batch_size=32,
        learning_rate_init=0.003,
        shuffle=False,
        random_state=0,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=3_200, help="a multiple of 32")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--workdir", help="where to write the data (default: temp)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows = 20_000
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        train, test = Path(tmp) / "train.csv", Path(tmp) / "test.csv"
        write_csv(train, args.rows)
        write_csv(test, 5_000, seed=1)

        model = new_model()
        start = time.perf_counter()
        for _ in range(args.passes):
            for X_chunk, y_chunk in read_chunks(train, args.chunk):
                model.partial_fit(X_chunk, y_chunk)
        seconds = time.perf_counter() - start
        X_test, y_test = next(read_chunks(test, 5_000))
        r2 = model.score(X_test, y_test)
        print(
            f"{args.passes} passes over {args.rows:,} streamed rows in chunks of "
            f"{args.chunk:,} (reading the CSV included): {seconds:.2f} s, "
            f"held-out R2 {r2:.4f}"
        )

        # The check loads everything at once: only for a demonstration.
        X, y = next(read_chunks(train, args.rows))
        whole = new_model().set_params(max_iter=args.passes, n_iter_no_change=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the plan
            whole.fit(X, y)
    difference = max(
        float(np.abs(a - b).max())
        for a, b in zip(
            model.coefs_ + model.intercepts_,
            whole.coefs_ + whole.intercepts_,
            strict=True,
        )
    )
    same_as_fit = difference <= 1e-10
    print(
        f"fit(max_iter={args.passes}, shuffle=False) on all rows at once: largest "
        f"weight difference {difference:.2g} "
        f"({'the same training' if same_as_fit else 'DIFFERENT'})"
    )
    return {"r2": r2, "same_as_fit": same_as_fit}


if __name__ == "__main__":
    main()
