"""Measure training speed on this machine: microseconds per training sample for
fastsgd, scikit-learn and (when it is installed) PyTorch, per workload and batch
regime, the ratios against the speed targets, this machine's roofline floor for an
on-line step, the sparse text-like problem, full-batch peak memory and
predict_proba.

Everything runs on one thread (BLAS and PyTorch), on make_classification data
with 10,000 standardized samples, solver="sgd", momentum 0.9 with Nesterov,
alpha 1e-4. Each figure is the best of --repeats runs, the libraries taking turns,
so that a noisy machine is compared side by side. scikit-learn and PyTorch run
fewer samples where a full epoch would take long (their cost per sample does not
depend on the data size).

This module is also the harness of the pytest-benchmark suite in bench/.
"""

import argparse
import gc
import os
import platform
import time
import tracemalloc
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

from fastsgd._platform import cpu_model, kernel_path

# -- workloads and regimes ----------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    n_features: int
    hidden: tuple
    n_classes: int


WORKLOADS = {
    w.name: w
    for w in (
        Workload("small", 20, (32,), 2),
        Workload("mnist-like", 784, (128,), 10),
        Workload("deep", 100, (256, 128, 64), 10),
    )
}
REGIMES = ("1", "32", "128", "full")
N_SAMPLES = 10_000
SOLVER = dict(
    solver="sgd",
    momentum=0.9,
    nesterovs_momentum=True,
    alpha=1e-4,
    learning_rate_init=1e-3,
)
# Minimum speed-up over scikit-learn / PyTorch, per regime and workload (None: no
# target), on one thread. The baseline (SSE2) path has one: small batch 1 against
# scikit-learn; with every library's own threads (--threads) no cell may be slower.
TARGETS = {
    "sklearn": {
        "1": {"small": 100, "mnist-like": 15, "deep": 20},
        "32": {"small": 3, "mnist-like": 2, "deep": 2},
        "128": {"mnist-like": 1.3, "deep": 1.3},
        "full": {"mnist-like": 1.2},
    },
    "torch": {
        "1": {"small": 20, "mnist-like": 10, "deep": 10},
        "32": {"small": 1.5, "mnist-like": 1.5, "deep": 1.5},
        "128": {"mnist-like": 1.1, "deep": 1.1},
        "full": {"mnist-like": 1.0},
    },
}
BASELINE_TARGETS = {("sklearn", "1", "small"): 50}
BASELINE_ISAS = ("sse2", "neon", "generic")
# On-line step over the floor: float64 Nesterov + alpha, float32 plain SGD.
ROOFLINE_TARGETS = {("float64", "nesterov"): 1.3, ("float32", "sgd"): 1.6}


def target(library, regime, workload, isa=None, threads=False):
    """The minimum speed-up of fastsgd (on path ``isa``) over ``library``, or
    None where there is none."""
    if threads:
        return 1.0
    if isa in BASELINE_ISAS:
        return BASELINE_TARGETS.get((library, regime, workload))
    return TARGETS[library][regime].get(workload)


_DATA = {}


def make_data(workload, dtype=np.float64, n_samples=N_SAMPLES):
    """The workload's standardized classification data (cached)."""
    key = (workload.name, np.dtype(dtype).name, n_samples)
    if key not in _DATA:
        from sklearn.datasets import make_classification
        from sklearn.preprocessing import StandardScaler

        X, y = make_classification(
            n_samples=n_samples,
            n_features=workload.n_features,
            n_informative=min(workload.n_features, 10),
            n_classes=workload.n_classes,
            random_state=0,
        )
        X = StandardScaler().fit_transform(X).astype(dtype)
        _DATA[key] = (np.ascontiguousarray(X), y)
    return _DATA[key]


@contextmanager
def one_thread():
    """BLAS (and PyTorch, when loaded) on one thread."""
    from threadpoolctl import threadpool_limits

    torch = _torch()
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_available():
    return _torch() is not None


# -- runners: one training run, returning seconds per sample -------------------------


def _fit_kwargs(workload, regime, n, epochs):
    batch = "full" if regime == "full" else int(regime)
    return dict(
        hidden_layer_sizes=workload.hidden,
        batch_size=batch,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        shuffle=True,
        random_state=0,
        **SOLVER,
    )


def _seconds_per_sample(estimator_class, workload, regime, dtype, epochs, n):
    """Seconds per sample of ``estimator_class(...).fit`` (every epoch, its input
    checks included)."""
    X, y = make_data(workload, dtype)
    X, y = X[:n], y[:n]
    kwargs = _fit_kwargs(workload, regime, n, epochs)
    if kwargs["batch_size"] == "full" and estimator_class.__module__.startswith(
        "sklearn"
    ):
        kwargs["batch_size"] = n  # scikit-learn has no "full"
    est = estimator_class(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed / (epochs * n)


def run_fastsgd(workload, regime, dtype, epochs, n=N_SAMPLES):
    """Seconds per sample of ``fastsgd.MLPClassifier.fit``."""
    from fastsgd import MLPClassifier

    return _seconds_per_sample(MLPClassifier, workload, regime, dtype, epochs, n)


def run_sklearn(workload, regime, dtype, epochs, n=N_SAMPLES):
    """Seconds per sample of scikit-learn's ``MLPClassifier.fit``."""
    from sklearn.neural_network import MLPClassifier

    return _seconds_per_sample(MLPClassifier, workload, regime, dtype, epochs, n)


def run_torch(workload, regime, dtype, epochs, n=N_SAMPLES):
    """Seconds per sample of an idiomatic PyTorch training loop doing the same
    training: ReLU MLP, cross-entropy (one logistic output for two classes),
    SGD with momentum 0.9 and Nesterov, weight decay alpha / batch size on the
    weights only (scikit-learn's alpha scaling), preallocated batch tensors."""
    torch = _torch()
    X, y = make_data(workload, dtype)
    X, y = X[:n], y[:n]
    tdtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    torch.manual_seed(0)
    sizes = [workload.n_features, *workload.hidden]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    binary = workload.n_classes == 2
    layers.append(torch.nn.Linear(sizes[-1], 1 if binary else workload.n_classes))
    model = torch.nn.Sequential(*layers).to(tdtype)
    if binary:
        loss_fn = torch.nn.BCEWithLogitsLoss()
        targets = torch.from_numpy(y.astype(dtype)).reshape(-1, 1)
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
        targets = torch.from_numpy(y.astype(np.int64))
    batch = n if regime == "full" else int(regime)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimizer = torch.optim.SGD(
        [
            {"params": weights, "weight_decay": SOLVER["alpha"] / batch},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=SOLVER["learning_rate_init"],
        momentum=SOLVER["momentum"],
        nesterov=True,
    )
    inputs = torch.from_numpy(X)
    xb = torch.empty((batch, X.shape[1]), dtype=tdtype)
    yb = torch.empty((batch, *targets.shape[1:]), dtype=targets.dtype)

    def step(x, t):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), t)
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    for _ in range(epochs):
        if regime == "full":
            step(inputs, targets)
            continue
        perm = torch.randperm(n)
        for s in range(0, n - batch + 1, batch):
            idx = perm[s : s + batch]
            torch.index_select(inputs, 0, idx, out=xb)
            torch.index_select(targets, 0, idx, out=yb)
            step(xb, yb)
        if n % batch:
            idx = perm[n - n % batch :]
            step(inputs[idx], targets[idx])
    elapsed = time.perf_counter() - start
    return elapsed / (epochs * n)


RUNNERS = {"fastsgd": run_fastsgd, "sklearn": run_sklearn, "torch": run_torch}


def run_size(library, workload, regime, quick=False):
    """(epochs, samples) for one timed run: about a tenth of a second or more, and
    a subset of the rows where the slow libraries would take seconds per epoch."""
    scale = 0.3 if quick else 1.0
    if library.startswith("fastsgd"):
        if workload.name == "small":
            epochs = {"1": 10, "32": 20, "128": 20, "full": 50}[regime]
        else:
            epochs = {"1": 1, "32": 3, "128": 3, "full": 5}[regime]
        return max(1, int(epochs * scale)), N_SAMPLES
    if regime == "1":
        n = 800 if workload.name == "small" else 250
        return 1, max(50, int(n * scale))
    if regime == "full":
        return max(1, int(4 * scale)), N_SAMPLES
    return 1, N_SAMPLES if not quick else N_SAMPLES // 2


def runner(library):
    """The runner of ``library``; ``fastsgd@avx2`` runs fastsgd on that
    instruction-set path."""
    name, _, isa = library.partition("@")
    run = RUNNERS[name]
    if not isa:
        return run

    def on_path(*args, **kwargs):
        from fastsgd._config import using_isa

        with using_isa(isa):
            return run(*args, **kwargs)

    return on_path


def measure(workload, regime, dtype, libraries, repeats=3, quick=False, threads=False):
    """Best seconds per sample of each library, taking turns ``repeats`` times, on
    one thread (every library's own thread defaults with ``threads``)."""
    best = {lib: np.inf for lib in libraries}
    with nullcontext() if threads else one_thread():
        for lib in libraries:  # warm-up: imports, first-call costs
            runner(lib)(workload, regime, dtype, 1, n=min(N_SAMPLES, 256))
        for _ in range(repeats):
            for lib in libraries:
                epochs, n = run_size(lib, workload, regime, quick)
                gc.collect()
                best[lib] = min(
                    best[lib], runner(lib)(workload, regime, dtype, epochs, n)
                )
    return best


# -- the kernel behind fastsgd compare -------------------------------------------


def compare_kernel(activation, batch_size, learning_rate=0.01):
    """A callable running one epoch of ``_kernels.train_epoch`` on the network and
    data of ``fastsgd compare`` (digits, 64 standardized inputs, 64 hidden units,
    10 softmax outputs, 1,077 training rows, plain SGD, float64), with the hidden
    ``activation`` and ``batch_size``; and the rows per epoch. What decides the
    seconds-to-target verdict of the compare report, without its evaluations."""
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from fastsgd import _kernels, _network, _parameters

    X, y = load_digits(return_X_y=True)
    n = 1077
    X = np.ascontiguousarray(StandardScaler().fit_transform(X[:n]))
    Y = np.ascontiguousarray(np.eye(10)[y[:n]])
    layout = _network.make_layout(64, [64], 10, activation, "softmax")
    params = _parameters.glorot_uniform(
        layout, activation, np.random.RandomState(0), np.float64
    )
    chunk = _network.chunk_rows(layout, batch_size)
    work = _network.workspace(layout, chunk, np.float64)
    grads = np.empty_like(params)
    sw = np.ones(n)
    order = np.random.RandomState(0).permutation(n).astype(np.intp)
    data = _kernels.TrainingData(X, Y=Y, sample_weight=sw)
    rule = _kernels.UpdateRule("sgd", learning_rate=learning_rate)

    def epoch():
        _kernels.train_epoch(
            layout, data, rule, params, grads, work, order, batch_size, chunk
        )

    return epoch, n


TEXT = dict(n_samples=10_000, n_features=20_000, nnz=50, n_classes=20, hidden=(64,))


def text_data(n_samples=TEXT["n_samples"]):
    """A text-like CSR problem (float32): ``nnz`` distinct columns per row with
    tf-idf-like values, the class carried by a few class-specific columns."""
    import scipy.sparse as sp

    key = ("text", n_samples)
    if key not in _DATA:
        rng = np.random.RandomState(0)
        nf, k, nc = TEXT["n_features"], TEXT["nnz"], TEXT["n_classes"]
        y = rng.randint(nc, size=n_samples)
        cols = np.empty((n_samples, k), dtype=np.int64)
        for i in range(n_samples):
            cols[i] = rng.choice(nf, size=k, replace=False)
        cols[:, :5] = (y[:, None] * 50 + rng.randint(50, size=(n_samples, 5))) % nf
        vals = rng.uniform(0.05, 0.3, size=(n_samples, k)).astype(np.float32)
        X = sp.csr_matrix(
            (vals.ravel(), cols.ravel(), np.arange(0, n_samples * k + 1, k)),
            shape=(n_samples, nf),
        )
        X.sum_duplicates()
        _DATA[key] = (X, y)
    return _DATA[key]


def run_text(library, n, epochs=1, dense=False):
    """Seconds per sample of an on-line (batch 1) fit on the text-like problem:
    plain SGD (momentum 0, alpha 0), so that a step touches only the rows of the
    sample's non-zeros."""
    if library == "fastsgd":
        from fastsgd import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    X, y = text_data()
    X, y = X[:n], y[:n]
    if dense:
        X = X.toarray()
    est = MLPClassifier(
        TEXT["hidden"],
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        batch_size=1,
        learning_rate_init=0.01,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - start
    return elapsed / (epochs * n)


def measure_text(repeats=3, quick=False):
    """Best seconds per sample: fastsgd on CSR, fastsgd on the densified rows,
    scikit-learn on CSR."""
    n_sub = 300 if quick else 1000
    runs = {
        "fastsgd csr": lambda: run_text("fastsgd", TEXT["n_samples"], epochs=1),
        "fastsgd dense": lambda: run_text("fastsgd", n_sub, dense=True),
        "sklearn csr": lambda: run_text("sklearn", n_sub // 2),
    }
    best = dict.fromkeys(runs, np.inf)
    with one_thread():
        for _ in range(repeats):
            for name, fn in runs.items():
                best[name] = min(best[name], fn())
    return best


# -- full-batch memory, predict_proba -------------------------------------------------


def full_batch_memory(n_samples=200_000, n_features=100, epochs=2):
    """Peak memory that a full-batch fit allocates (tracemalloc: numpy reports its
    buffers to it) over the size of X, on float32 data."""
    from fastsgd import MLPClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + 2 * (X[:, 3] > 0)
    est = MLPClassifier(
        (64,), batch_size="full", max_iter=epochs, tol=0.0, random_state=0, **SOLVER
    )
    gc.collect()
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / X.nbytes, X.nbytes


def measure_predict(repeats=5):
    """Best seconds per sample of predict_proba on the mnist-like workload, for
    fastsgd and scikit-learn holding the same weights."""
    from fastsgd import MLPClassifier

    w = WORKLOADS["mnist-like"]
    X, y = make_data(w, np.float64)
    fast = MLPClassifier(w.hidden, max_iter=1, random_state=0, **SOLVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast.fit(X[:500], y[:500])
    ref = fast.to_sklearn()
    best = {"fastsgd": np.inf, "sklearn": np.inf}
    with one_thread():
        for _ in range(repeats):
            for name, est in (("fastsgd", fast), ("sklearn", ref)):
                start = time.perf_counter()
                est.predict_proba(X)
                best[name] = min(best[name], (time.perf_counter() - start) / len(X))
    return best


# -- the command ----------------------------------------------------------------------


def machine(threads=False):
    """The header's lines on the machine and the libraries; ``threads``: the run
    leaves every library its own threads (else it measures on one)."""
    cpu = cpu_model()
    import numpy
    import sklearn

    measured = "each library's own threads" if threads else "measured on 1"
    parts = [
        f"{cpu}, {os.cpu_count()} threads available, {measured}",
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"scikit-learn {sklearn.__version__}",
    ]
    torch = _torch()
    parts[-1] += f", torch {torch.__version__}" if torch else ", no torch"
    from fastsgd import __version__

    parts[-1] += f", fastsgd {__version__}"
    return parts


def _mark(ratio, goal):
    if goal is None:
        return f"{ratio:7.1f}x {'':<12}"
    verdict = "ok" if ratio >= goal else "MISS"
    return f"{ratio:7.1f}x {verdict:<4} {f'(>={goal:g})':<7}"


def add_arguments(parser):
    parser.add_argument(
        "--workloads",
        nargs="+",
        choices=list(WORKLOADS),
        default=list(WORKLOADS),
        help="workloads to run (default: all)",
    )
    parser.add_argument(
        "--regimes",
        nargs="+",
        choices=REGIMES,
        default=list(REGIMES),
        help="batch regimes: 1, 32, 128, full (default: all)",
    )
    parser.add_argument(
        "--dtype", choices=["float64", "float32"], default="float64", help="data type"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per figure, best kept (3)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter runs (noisier figures)"
    )
    parser.add_argument(
        "--no-torch", action="store_true", help="leave PyTorch out even if installed"
    )
    parser.add_argument(
        "--isa",
        nargs="+",
        default=None,
        metavar="PATH",
        help="fastsgd's kernel paths to time side by side (sse2, avx2, avx512, ...; "
        "'all': every path this CPU runs; default: the one in use)",
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="no thread limit: every library on its own defaults, as users run "
        "them (target: no cell slower than the others)",
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=["table", "roofline", "sparse", "memory", "predict"],
        help="sections to leave out",
    )


def isa_paths(requested):
    """The kernel paths to time: ``requested`` names, every path this CPU runs
    (``["all"]``), or the one in use (None)."""
    from fastsgd import _kernels
    from fastsgd._config import runnable_isas

    if not requested:
        return [_kernels.isa_in_use()]
    if requested == ["all"]:
        return runnable_isas()
    for name in requested:
        if name not in runnable_isas():
            raise SystemExit(
                f"fastsgd bench: --isa {name}: not a path this CPU runs "
                f"({', '.join(runnable_isas())})"
            )
    return requested


def run(args):

    dtype = np.dtype(args.dtype).type
    paths = isa_paths(args.isa)
    others = ["sklearn"]
    if torch_available() and not args.no_torch:
        others.append("torch")
    start = time.perf_counter()
    threads = "every library's default threads" if args.threads else "one thread"
    print(f"fastsgd bench: microseconds per training sample, {threads}")
    for line in machine(args.threads):
        print(f"  {line}")
    print(f"  {kernel_path()}; timed here: {', '.join(paths)} (--isa chooses)")
    print(
        f"  {N_SAMPLES} samples (scikit-learn and PyTorch time 250-800 of them at "
        f"batch 1), solver=sgd, momentum 0.9 Nesterov, alpha 1e-4, {args.dtype}, "
        f"best of {args.repeats}"
    )
    misses = []
    if "table" not in args.skip:
        header = f"\n{'workload':<11} {'batch':>5} {'path':>7} {'fastsgd':>10}"
        header += "".join(f"{lib:>10}" for lib in others)
        header += "".join(f"   vs {lib} (target)      " for lib in others)
        print(header)
        fast = [f"fastsgd@{isa}" for isa in paths]
        for name in args.workloads:
            w = WORKLOADS[name]
            for regime in args.regimes:
                best = measure(
                    w, regime, dtype, fast + others, args.repeats, args.quick,
                    args.threads,
                )  # fmt: skip
                for isa in paths:
                    mine = best[f"fastsgd@{isa}"]
                    row = f"{name:<11} {regime:>5} {isa:>7} {mine * 1e6:10.2f}"
                    row += "".join(f"{best[lib] * 1e6:10.2f}" for lib in others)
                    for other in others:
                        ratio = best[other] / mine
                        goal = target(other, regime, name, isa, args.threads)
                        row += "   " + _mark(ratio, goal)
                        if goal is not None and ratio < goal:
                            misses.append(f"{name} batch {regime} [{isa}] vs {other}")
                    print(row, flush=True)
    if "roofline" not in args.skip:
        from fastsgd._config import using_isa
        from fastsgd._roofline import roofline

        print(
            "\nroofline: on-line kernel (mnist-like, one sweep of the first layer a "
            "sample) vs that sweep alone, on the same path"
        )
        for isa in paths:
            for (dt, rule), goal in ROOFLINE_TARGETS.items():
                alpha = SOLVER["alpha"] if rule != "sgd" else 0.0
                with using_isa(isa):
                    line = roofline(np.dtype(dt).type, rule, alpha)
                ratio = line.online / line.floor
                print(
                    f"  {isa:<7} {dt:<8} {rule:<9} alpha={alpha:<6g} on-line "
                    f"{line.online * 1e6:7.2f} us  floor {line.floor * 1e6:7.2f} us  = "
                    f"{ratio:5.2f}x the floor "
                    f"{'ok' if ratio <= goal else 'MISS'} (<={goal:g}x)",
                    flush=True,
                )
                print(
                    f"  {'':<7} {'':<8} {'':<9} {'':<12} first layer alone "
                    f"{line.first_layer * 1e6:7.2f} us = "
                    f"{line.first_layer / line.floor:5.2f}x the floor (its step and "
                    "the next forward pass; the other layers add "
                    f"{line.online / line.first_layer:.2f}x)",
                    flush=True,
                )
                if line.windowed is not None:  # plain SGD: fit steps a window a sweep
                    print(
                        f"  {'':<7} {'':<8} {'':<9} {'':<12} fit's windowed kernel "
                        f"{line.windowed * 1e6:7.2f} us = "
                        f"{line.windowed / line.floor:5.2f}x the per-sample floor",
                        flush=True,
                    )
                if ratio > goal:
                    misses.append(f"roofline {dt} {rule} [{isa}]")
    if "sparse" not in args.skip:
        best = measure_text(args.repeats, args.quick)
        fast = best["fastsgd csr"]
        print(
            f"\nsparse text-like ({TEXT['n_samples']} x {TEXT['n_features']}, "
            f"{TEXT['nnz']} non-zeros a row, {TEXT['n_classes']} classes, hidden "
            f"{TEXT['hidden']}, float32, batch 1, plain SGD)"
        )
        print(f"  fastsgd CSR        {fast * 1e6:9.2f} us")
        for name in ("fastsgd dense", "sklearn csr"):
            ratio = best[name] / fast
            print(f"  {name:<18} {best[name] * 1e6:9.2f} us  " + _mark(ratio, 20))
            if ratio < 20:
                misses.append(f"sparse vs {name}")
    if "memory" not in args.skip:
        ratio, nbytes = full_batch_memory()
        print(
            f"\nfull batch, 200000 x 100 float32 (X = {nbytes / 2**20:.0f} MiB): peak "
            f"allocated during fit = {ratio:.2f}x X "
            f"{'ok' if ratio < 1.5 else 'MISS'} (<1.5x)"
        )
        if ratio >= 1.5:
            misses.append("full-batch memory")
    if "predict" not in args.skip:
        best = measure_predict(args.repeats + 2)
        ratio = best["sklearn"] / best["fastsgd"]
        print(
            f"\npredict_proba, mnist-like, 10000 rows: fastsgd "
            f"{best['fastsgd'] * 1e6:.2f} us, scikit-learn {best['sklearn'] * 1e6:.2f} "
            f"us a row: {_mark(ratio, 1.0)}"
        )
        if ratio < 1.0:
            misses.append("predict_proba")
    print(
        f"\n{len(misses)} target(s) missed"
        + (": " + "; ".join(misses) if misses else "")
        + f". Took {time.perf_counter() - start:.0f} s."
    )
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
