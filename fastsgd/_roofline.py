"""This machine's roofline for an on-line step: the first layer's read-modify-write
sweep alone (``_kernels.floor_sweep``), against the on-line kernel that makes it
along with the forward and backward passes. ``fastsgd bench`` and ``bench/``
report the kernel as a multiple of this floor."""

import time

import numpy as np

from fastsgd import _kernels, _network, _parameters
from fastsgd._benchmark import SOLVER, WORKLOADS, make_data, one_thread


def online_kernel(workload, dtype, rule, alpha, n=2000, windowed=True):
    """A callable that runs one on-line epoch of the kernel over ``n`` samples (as
    the training loop calls it), ``n``, and the name of the path it takes.
    ``windowed=False`` keeps plain SGD on the per-sample fused sweep instead of
    the path ``fit`` chooses (the window of samples, on most instruction sets)."""
    X, y = make_data(workload, dtype)
    X = np.ascontiguousarray(X[:n])
    n_out = 1 if workload.n_classes == 2 else workload.n_classes
    Y = np.zeros((n, n_out), dtype=dtype)
    if n_out == 1:
        Y[:, 0] = y[:n]
    else:
        Y[np.arange(n), y[:n]] = 1
    layout = _network.make_layout(
        workload.n_features,
        workload.hidden,
        n_out,
        "relu",
        "logistic" if n_out == 1 else "softmax",
    )
    params = _parameters.glorot_uniform(layout, "relu", np.random.RandomState(0), dtype)
    state = {
        name: _parameters.zeros_aligned(params.size, dtype)
        for name in _kernels.STATE_NAMES[rule]
    }
    update_rule = _kernels.UpdateRule(
        rule,
        learning_rate=SOLVER["learning_rate_init"],
        momentum=SOLVER["momentum"],
        alpha=alpha,
        **state,
    )
    work = _network.workspace(layout, 1, dtype)
    grads = _parameters.empty_aligned(params.size, dtype)
    sw = np.ones(n, dtype=dtype)
    order = np.random.RandomState(0).permutation(n).astype(np.intp)
    data = _kernels.TrainingData(X, Y=Y, sample_weight=sw)
    path = (
        _kernels.training_path(layout, 1, data, update_rule) if windowed else "online"
    )

    def epoch():
        _kernels.train_epoch(
            layout, data, update_rule, params, grads, work, order, 1, 1, path=path
        )

    return epoch, n, path


def floor_sweep(n_in, n_out, dtype, rule, alpha, repeats, tiled):
    """A callable running ``repeats`` roofline sweeps over an (n_in, n_out) layer."""
    rng = np.random.RandomState(0)
    W = _parameters.writeable_aligned(
        rng.uniform(-0.1, 0.1, n_in * n_out).astype(dtype)
    )
    # a tiny learning rate keeps the weights where they are over many sweeps
    update_rule = _kernels.UpdateRule(
        rule,
        learning_rate=1e-9,
        momentum=SOLVER["momentum"],
        alpha=alpha,
        **{
            name: _parameters.zeros_aligned(W.size, dtype)
            for name in _kernels.STATE_NAMES[rule]
        },
    )
    delta = rng.uniform(-1e-3, 1e-3, n_out).astype(dtype)
    x = rng.normal(size=n_in).astype(dtype)

    def sweep():
        _kernels.floor_sweep(W, update_rule, delta, x, repeats, tiled=tiled)

    return sweep


def roofline(dtype, rule, alpha, repeats=5, workload="mnist-like", samples=2000):
    """Seconds per sample of the on-line kernel sweeping the first layer once per
    sample, of the floor (the faster of the two forms of that sweep alone), and of
    the kernel ``fit`` runs where that is another (for plain SGD: one sweep per
    window of samples, which can beat the per-sample floor; None where ``fit``
    runs the per-sample kernel); best of ``repeats`` rounds taken in turns."""
    w = WORKLOADS[workload]
    per_sample, n, _ = online_kernel(w, dtype, rule, alpha, n=samples, windowed=False)
    kernels = [per_sample]
    fits, _, fit_path = online_kernel(w, dtype, rule, alpha, n=samples)
    if fit_path != "online":
        kernels.append(fits)
    sweeps = [
        floor_sweep(w.n_features, w.hidden[0], dtype, rule, alpha, n, tiled)
        for tiled in (False, True)
    ]
    best = [np.inf] * (len(kernels) + 2)
    with one_thread():
        for _ in range(repeats):
            for i, fn in enumerate([*kernels, *sweeps]):
                start = time.perf_counter()
                fn()
                best[i] = min(best[i], (time.perf_counter() - start) / n)
    windowed = best[1] if len(kernels) == 2 else None
    return best[0], min(best[-2:]), windowed
