"""Out-of-core training: ``partial_fit`` over chunks read from a memmap or a
generator is the same training as one unshuffled ``fit`` over all the data.

scikit-learn's ``partial_fit`` runs one epoch over the chunk it is given, with the
optimizer state (momentum velocities, Adam's moments and step count) carried from
call to call, and without shuffling when ``shuffle=False``. So, with the same
``random_state`` (the same initial weights), one pass of ``partial_fit`` over
chunks whose sizes are multiples of ``batch_size`` makes the very updates of
``fit(max_iter=1, shuffle=False)`` on their concatenation, and E passes those of
``fit(max_iter=E)``. Batches never straddle two chunks: a chunk whose size is not
a multiple of ``batch_size`` ends with a smaller batch. The ``invscaling`` schedule
moves once per call (it reads ``t_``, the samples seen so far), not once per pass,
so the equivalence needs ``learning_rate="constant"`` (or ``"adaptive"``, which
changes nothing until training stalls, and only in ``fit``).
"""

import runpy
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_same_weights, standardized_classification
from sklearn import neural_network as sk

from fastsgd import MLPClassifier, MLPRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # a chunk smaller than batch_size trains as one smaller batch, with
    # scikit-learn's warning
    pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning"),
]

RULES = {
    "sgd": dict(solver="sgd", momentum=0.0),
    "nesterov-alpha": dict(solver="sgd", momentum=0.9, alpha=0.01),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


def model(cls=MLPClassifier, **params):
    defaults = dict(
        hidden_layer_sizes=(7,),
        learning_rate_init=0.02,
        shuffle=False,
        random_state=0,
        n_iter_no_change=1000,  # fit must not stop before max_iter
    )
    return cls(**{**defaults, **params})


def chunks(n_samples, sizes):
    """Slices cutting ``range(n_samples)`` into pieces of ``sizes`` (cycled)."""
    start, k = 0, 0
    while start < n_samples:
        stop = min(start + sizes[k % len(sizes)], n_samples)
        yield slice(start, stop)
        start, k = stop, k + 1


def train_in_chunks(estimator, X, y, sizes, passes=1, **first_call):
    for _ in range(passes):
        for rows in chunks(X.shape[0], sizes):
            estimator.partial_fit(X[rows], y[rows], **first_call)
            first_call = {}
    return estimator


def data(kind, n_samples=120):
    X, y = standardized_classification(n_samples=n_samples, n_features=6)
    if kind == "MLPRegressor":
        y = np.column_stack([X[:, 0] - X[:, 1], np.tanh(X[:, 2])])
    return X, y


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize(
    "batch_size, sizes", [(1, [17]), (1, [1, 50, 9]), (5, [20]), (5, [10, 35, 5])]
)
@pytest.mark.parametrize("kind", ["MLPClassifier", "MLPRegressor"])
def test_one_pass_over_chunks_equals_an_unshuffled_epoch(kind, batch_size, sizes, rule):
    cls = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}[kind]
    X, y = data(kind)
    params = dict(RULES[rule], batch_size=batch_size)
    whole = model(cls, max_iter=1, **params).fit(X, y)
    first_call = {"classes": np.unique(y)} if kind == "MLPClassifier" else {}
    chunked = train_in_chunks(model(cls, **params), X, y, sizes, **first_call)
    assert chunked.n_iter_ == 1  # scikit-learn's partial_fit: one epoch per call
    assert chunked.t_ == whole.t_ == X.shape[0]
    if rule == "adam":
        assert chunked._optimizer.t == whole._optimizer.t
    assert_same_weights(chunked, whole, rtol=1e-12)


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("width", [3, 16, 32, 40, 70])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_on_line_chunks_train_bit_for_bit_like_fit(dtype, width, rule):
    """The first forward pass of a call must sum in the order of the forward pass
    fused into the previous sample's sweep, or every chunk boundary perturbs the
    rounding (and the difference grows over an epoch). Widths straddle the vector
    lengths, where the kernels change loops."""
    X, y = data("MLPClassifier", n_samples=90)
    X = X.astype(dtype)
    params = dict(RULES[rule], batch_size=1, hidden_layer_sizes=(width,))
    whole = model(max_iter=2, **params).fit(X, y)
    chunked = train_in_chunks(
        model(**params), X, y, [13, 30], passes=2, classes=np.unique(y)
    )
    for a, b in zip(
        chunked.coefs_ + chunked.intercepts_,
        whole.coefs_ + whole.intercepts_,
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_several_passes_over_chunks_equal_several_epochs(multiclass, rule):
    X, y = multiclass
    params = dict(RULES[rule], batch_size=4)
    whole = model(max_iter=3, **params).fit(X, y)
    assert whole.n_iter_ == 3
    chunked = train_in_chunks(
        model(**params), X, y, [12, 8], passes=3, classes=np.unique(y)
    )
    assert_same_weights(chunked, whole, rtol=1e-12)


def test_a_batch_never_straddles_two_chunks(multiclass):
    """Chunks of 7 and 13 rows with batch_size=5 train on batches of 5, 2, 5, 5, 3
    rows: the same as calling partial_fit on those batches one by one."""
    X, y = multiclass
    X, y = X[:20], y[:20]
    params = dict(RULES["nesterov-alpha"], batch_size=5)
    classes = np.unique(y)
    chunked = train_in_chunks(model(**params), X, y, [7, 13], classes=classes)
    by_batch = train_in_chunks(model(**params), X, y, [5, 2, 5, 5, 3], classes=classes)
    assert_same_weights(chunked, by_batch, rtol=1e-12)
    whole = model(max_iter=1, **params).fit(X, y)
    difference = max(
        np.abs(a - b).max() for a, b in zip(chunked.coefs_, whole.coefs_, strict=True)
    )
    assert difference > 1e-6


def test_invscaling_moves_once_per_call_like_sklearn(multiclass):
    X, y = multiclass
    params = dict(
        hidden_layer_sizes=(7,),
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=0.1,
        batch_size=4,
        shuffle=False,
        random_state=0,
    )
    ours = train_in_chunks(MLPClassifier(**params), X, y, [20], classes=np.unique(y))
    ref = train_in_chunks(sk.MLPClassifier(**params), X, y, [20], classes=np.unique(y))
    assert ours._optimizer.learning_rate == pytest.approx(
        ref._optimizer.learning_rate, rel=1e-12
    )
    assert ours._optimizer.learning_rate == pytest.approx(0.1 / 61**0.5)
    assert_same_weights(ours, ref, rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunks_from_a_memmap(tmp_path, dtype):
    """Row slices of a read-only memmap go to the kernels as they are."""
    X, y = data("MLPClassifier", n_samples=200)
    path = tmp_path / "X.dat"
    on_disk = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
    on_disk[:] = X
    on_disk.flush()
    del on_disk
    X_map = np.memmap(path, dtype=dtype, mode="r", shape=X.shape)
    params = dict(RULES["sgd"], batch_size=1)
    chunked = train_in_chunks(
        model(**params), X_map, y, [50], passes=2, classes=np.unique(y)
    )
    whole = model(max_iter=2, **params).fit(X.astype(dtype), y)
    assert chunked.coefs_[0].dtype == dtype
    assert_same_weights(chunked, whole, rtol=1e-12 if dtype == np.float64 else 1e-6)
    np.testing.assert_array_equal(chunked.predict(X_map), whole.predict(X_map))


def test_chunks_from_a_generator():
    X, y = data("MLPRegressor")

    def read_chunks(size=30):
        for start in range(0, X.shape[0], size):
            # a fresh array per chunk, as a reader would produce
            yield X[start : start + size].copy(), y[start : start + size].copy()

    params = dict(RULES["adam"], batch_size=10)
    streamed = model(MLPRegressor, **params)
    for X_chunk, y_chunk in read_chunks():
        streamed.partial_fit(X_chunk, y_chunk)
    whole = model(MLPRegressor, max_iter=1, **params).fit(X, y)
    assert_same_weights(streamed, whole, rtol=1e-12)


@pytest.mark.parametrize("name", ["out_of_core_memmap", "out_of_core_generator"])
def test_example_runs_and_trains_like_fit(name, tmp_path, capsys):
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    main = runpy.run_path(str(path))["main"]
    result = main(["--quick", "--workdir", str(tmp_path)])
    assert result["same_as_fit"]
    assert "the same training" in capsys.readouterr().out
    assert result.get("accuracy", 1.0) > 0.6 and result.get("r2", 1.0) > 0.9


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
