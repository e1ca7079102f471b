"""Training speed per regime x dtype x workload x library (pytest-benchmark).

Each round is one fit, but the libraries' rounds cover different numbers of
samples (scikit-learn and PyTorch time a few hundred rows at batch 1), so
pytest-benchmark's round times are not comparable across libraries. Compare
``extra_info["us_per_sample"]``, the best time per training sample over the rounds
(``pytest bench --benchmark-json=out.json``), as ``fastsgd bench`` does.
"""

import numpy as np
import pytest

from fastsgd import _benchmark as hb
from fastsgd import _roofline as roofline
from fastsgd._config import runnable_isas, using_isa

LIBRARIES = [
    "fastsgd",
    "sklearn",
    pytest.param("torch", marks=pytest.mark.torch),
]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("regime", hb.REGIMES)
@pytest.mark.parametrize("workload", list(hb.WORKLOADS))
def test_training(benchmark, workload, regime, dtype, library):
    w = hb.WORKLOADS[workload]
    epochs, n = hb.run_size(library, w, regime)
    run = hb.RUNNERS[library]
    dtype = np.dtype(dtype).type
    run(w, regime, dtype, 1, n=min(n, 256))  # warm-up
    timed = best_of(run)
    benchmark.pedantic(
        timed, args=(w, regime, dtype, epochs, n), rounds=3, iterations=1
    )
    benchmark.extra_info["us_per_sample"] = timed.best * 1e6
    benchmark.extra_info["samples_per_round"] = epochs * n


def best_of(run):
    """``run`` (which returns seconds per sample), keeping the best in the
    wrapper's ``best``: pytest-benchmark itself keeps only the last round's return
    value."""

    def timed(*args, **kwargs):
        per_sample = run(*args, **kwargs)
        timed.best = min(getattr(timed, "best", np.inf), per_sample)
        return per_sample

    return timed


@pytest.mark.parametrize("tiled", [False, True], ids=["row-loop", "tiled"])
@pytest.mark.parametrize("dtype, rule", list(hb.ROOFLINE_TARGETS))
def test_roofline_floor(benchmark, dtype, rule, tiled):
    """The fused first-layer sweep alone (mnist-like, 784 x 128), 1000 times per
    round, in its two forms: the faster one is the floor."""
    alpha = hb.SOLVER["alpha"] if rule != "sgd" else 0.0
    w = hb.WORKLOADS["mnist-like"]
    sweep = roofline.floor_sweep(
        w.n_features, w.hidden[0], dtype, rule, alpha, 1000, tiled
    )
    benchmark.pedantic(sweep, rounds=10, iterations=1)
    benchmark.extra_info["us_per_sweep"] = benchmark.stats.stats.min / 1000 * 1e6


@pytest.mark.parametrize("dtype, rule", list(hb.ROOFLINE_TARGETS))
def test_roofline_online_kernel(benchmark, dtype, rule):
    """One on-line epoch of the kernel on the mnist-like workload."""
    alpha = hb.SOLVER["alpha"] if rule != "sgd" else 0.0
    epoch, n, _ = roofline.online_kernel(
        hb.WORKLOADS["mnist-like"], np.dtype(dtype).type, rule, alpha
    )
    benchmark.pedantic(epoch, rounds=10, iterations=1)
    benchmark.extra_info["us_per_sample"] = benchmark.stats.stats.min / n * 1e6


@pytest.mark.parametrize("path", ["online", "online-windowed"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("workload", list(hb.WORKLOADS))
@pytest.mark.parametrize("isa", runnable_isas())
def test_plain_sgd_online_paths(benchmark, isa, workload, dtype, path):
    """Plain SGD on-line, per sample and a window of samples at a time, on each
    instruction-set path: ``choose_path`` takes the window where it measures
    faster (AVX-512), not on 16 registers (AVX2, SSE2)."""
    with using_isa(isa):
        epoch, n, _ = roofline.online_kernel(
            hb.WORKLOADS[workload], dtype, "sgd", 0.0, path=path
        )
        epoch()  # warm-up
        with hb.one_thread():
            benchmark.pedantic(epoch, rounds=7, iterations=1)
    benchmark.extra_info["us_per_sample"] = benchmark.stats.stats.min / n * 1e6


@pytest.mark.parametrize(
    "case",
    ["fastsgd csr", "fastsgd dense", "sklearn csr"],
)
def test_sparse_text_like(benchmark, case):
    """On-line epoch on the text-like CSR problem (plain SGD, float32)."""
    library, form = case.split()
    n = hb.TEXT["n_samples"] if case == "fastsgd csr" else 500
    timed = best_of(hb.run_text)
    benchmark.pedantic(
        timed,
        args=(library, n),
        kwargs={"dense": form == "dense"},
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info["us_per_sample"] = timed.best * 1e6


@pytest.mark.parametrize("batch_size", [1, 8, 32, 1077])
@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
def test_compare_network_kernel(benchmark, activation, batch_size):
    """One kernel epoch on ``fastsgd compare``'s digits network per batch size:
    on-line should cost no more per row than the mini-batches (the report's
    seconds-to-target verdict)."""
    epoch, n = hb.compare_kernel(activation, batch_size)
    epoch()  # warm-up
    with hb.one_thread():
        benchmark.pedantic(epoch, rounds=7, iterations=5)
    benchmark.extra_info["us_per_row"] = benchmark.stats.stats.min / n * 1e6
