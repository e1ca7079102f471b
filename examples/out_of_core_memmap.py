"""Out of core: ``partial_fit`` over a memory-mapped file
=======================================================

Train on data that does not fit in memory: ``partial_fit`` over chunks of a
memory-mapped ``.npy`` file.

Each ``partial_fit`` call is one epoch over the chunk it is given; optimizer state
(momentum, Adam's moments) carries over from call to call. With ``shuffle=False``
and chunks whose sizes are multiples of ``batch_size``, one pass over the chunks
makes exactly the updates of ``fit(X, y, max_iter=1)`` on the whole array (and E
passes those of ``max_iter=E``): this script checks it at the end. A chunk whose
size is not a multiple of ``batch_size`` ends with a smaller batch (batches never
straddle chunks), and ``learning_rate="invscaling"`` moves once per call, so keep
the learning rate constant (or use Adam) when you want that equivalence.

Rows on disk should be in random order: ``shuffle=True`` only shuffles within a
chunk (and, with an integer ``random_state``, draws the same permutation for every
chunk of the same size, as scikit-learn does). Run it as a script (the
documentation runs it with ``--quick``)::

    python examples/out_of_core_memmap.py            # 400,000 x 20 float32 (32 MB)
    python examples/out_of_core_memmap.py --quick    # 20,000 rows, a second or two
"""

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastsgd import MLPClassifier

N_FEATURES, N_CLASSES = 20, 4


def write_dataset(folder, n_rows, block=50_000, seed=0):
    """Write a classification problem to ``X.npy``/``y.npy`` a block at a time, so
    that it never has to be in memory as a whole."""
    rng = np.random.RandomState(seed)
    centers = rng.normal(scale=0.4, size=(N_CLASSES, N_FEATURES))
    X = np.lib.format.open_memmap(
        folder / "X.npy", mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES)
    )
    y = np.lib.format.open_memmap(
        folder / "y.npy", mode="w+", dtype=np.int64, shape=(n_rows,)
    )
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        labels = rng.randint(N_CLASSES, size=stop - start)
        X[start:stop] = centers[labels] + rng.normal(size=(stop - start, N_FEATURES))
        y[start:stop] = labels
    X.flush()
    y.flush()


def new_model():
    return MLPClassifier(
        hidden_layer_sizes=(32,),
        solver="sgd",
        batch_size=1,  # on-line training: the fast path
        learning_rate_init=0.002,
        momentum=0.0,
        shuffle=False,
        random_state=0,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--workdir", help="where to write the data (default: temp)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.chunk = 20_000, 2_000
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        write_dataset(folder, args.rows)
        X = np.load(folder / "X.npy", mmap_mode="r")  # nothing read yet
        y = np.load(folder / "y.npy", mmap_mode="r")
        n_train = int(0.9 * args.rows) // args.chunk * args.chunk
        classes = np.arange(N_CLASSES)

        model = new_model()
        start = time.perf_counter()
        for _ in range(args.passes):
            for lo in range(0, n_train, args.chunk):
                hi = min(lo + args.chunk, n_train)
                model.partial_fit(X[lo:hi], y[lo:hi], classes=classes)
        seconds = time.perf_counter() - start
        accuracy = model.score(X[n_train:], y[n_train:])
        print(
            f"{args.passes} passes of partial_fit over {n_train:,} rows in chunks of "
            f"{args.chunk:,}: {seconds:.2f} s, held-out accuracy {accuracy:.4f}"
        )

        # The check needs the training rows in memory: only for a demonstration.
        whole = new_model().set_params(max_iter=args.passes, n_iter_no_change=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the plan
            whole.fit(np.asarray(X[:n_train]), np.asarray(y[:n_train]))
        difference = max(
            float(np.abs(a - b).max())
            for a, b in zip(
                model.coefs_ + model.intercepts_,
                whole.coefs_ + whole.intercepts_,
                strict=True,
            )
        )
        same_as_fit = difference <= 1e-5  # float32 rounding
        print(
            f"fit(max_iter={args.passes}, shuffle=False) on the same rows in memory: "
            f"largest weight difference {difference:.2g} "
            f"({'the same training' if same_as_fit else 'DIFFERENT'})"
        )
        del X, y  # close the memmaps before the folder goes
    return {"accuracy": accuracy, "same_as_fit": same_as_fit}


if __name__ == "__main__":
    main()
