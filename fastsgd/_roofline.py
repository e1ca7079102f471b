"""This machine's roofline for an on-line step: the first layer's read-modify-write
sweep alone (``_kernels.floor_sweep``), against the on-line kernel that makes it
along with the forward and backward passes. ``fastsgd bench`` and ``bench/``
report the kernel as a multiple of this floor."""

import time
from collections import namedtuple

import numpy as np

from fastsgd import _kernels, _network, _parameters
from fastsgd._benchmark import SOLVER, WORKLOADS, make_data, one_thread


def online_kernel(workload, dtype, rule, alpha, n=2000, path=None):
    """A callable that runs one on-line epoch of the kernel over ``n`` samples (as
    the training loop calls it), ``n``, and the name of the path it takes:
    ``path`` (``"online"``, the per-sample fused sweep, or for plain SGD
    ``"online-windowed"``), else the one ``fit`` chooses."""
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
    path = path or _kernels.training_path(layout, 1, data, update_rule)

    def epoch():
        _kernels.train_epoch(
            layout, data, update_rule, params, grads, work, order, 1, 1, path=path
        )

    return epoch, n, path


def floor_sweep(n_in, n_out, dtype, rule, alpha, repeats, tiled, fused=False):
    """A callable running ``repeats`` roofline sweeps over an (n_in, n_out) layer;
    ``fused`` (with ``tiled``) adds the next sample's forward pass to each sweep,
    as the on-line kernel does."""
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
    # aligned as the on-line kernel's deltas are (its workspace): numpy's own
    # alignment, 16 bytes, split vector loads across cache lines (AVX2: 3% slower)
    aligned = _parameters.writeable_aligned
    delta = aligned(rng.uniform(-1e-3, 1e-3, n_out).astype(dtype))
    x = aligned(rng.normal(size=n_in).astype(dtype))
    forward = {}
    if fused:
        forward = dict(
            x_next=aligned(rng.normal(size=n_in).astype(dtype)),
            out=_parameters.zeros_aligned(n_out, dtype),
        )

    def sweep():
        _kernels.floor_sweep(W, update_rule, delta, x, repeats, tiled=tiled, **forward)

    return sweep


Roofline = namedtuple("Roofline", "online floor first_layer windowed")


def roofline(dtype, rule, alpha, repeats=10, workload="mnist-like", samples=2000):
    """Seconds per sample, best of ``repeats`` rounds taken in turns, as a
    ``Roofline``: ``online``, the on-line kernel sweeping the first layer once per
    sample; ``floor``, that sweep's step alone (the faster of its two forms);
    ``first_layer``, the sweep with the next sample's forward pass fused in, as
    the kernel makes it, without the other layers (so ``online / first_layer`` is
    what the rest of the network adds, ``first_layer / floor`` what the forward
    pass adds); ``windowed``, the kernel ``fit`` runs where that is another (for
    plain SGD: one sweep per window of samples, which can beat the per-sample
    floor), else None."""
    w = WORKLOADS[workload]
    layer = (w.n_features, w.hidden[0], dtype, rule, alpha)
    per_sample, n, _ = online_kernel(w, dtype, rule, alpha, n=samples, path="online")
    timed = {
        "online": per_sample,
        "row loop": floor_sweep(*layer, n, tiled=False),
        "tiled": floor_sweep(*layer, n, tiled=True),
        "first_layer": floor_sweep(*layer, n, tiled=True, fused=True),
    }
    fits, _, fit_path = online_kernel(w, dtype, rule, alpha, n=samples)
    if fit_path != "online":
        timed["windowed"] = fits
    best = dict.fromkeys(timed, np.inf)
    with one_thread():
        for _ in range(repeats):
            for name, fn in timed.items():
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], (time.perf_counter() - start) / n)
    return Roofline(
        best["online"],
        min(best["row loop"], best["tiled"]),
        best["first_layer"],
        best.get("windowed"),
    )
