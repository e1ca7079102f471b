"""The network as the kernels see it: its layout, the scratch memory of a kernel
call, the predict-time forward pass, and a cheap bound on its outputs.

The parameters themselves (the flat buffer and its per-layer views) are in
``_parameters.py``.
"""

import numpy as np

from fastsgd import _kernels, _parameters
from fastsgd._threads import blas_threads_for

# Rows per kernel call for batched work (mini-batch, full batch, predict): a chunk's
# activations and input rows fit in about 8 MB, so memory stays bounded on any data.
_CHUNK_ELEMENTS = 1 << 20
_MAX_CHUNK = 4096


def make_layout(n_features, hidden_layer_sizes, n_outputs, activation, out_activation):
    """The kernels' description of a network of these widths and activations."""
    units = [n_features, *hidden_layer_sizes, n_outputs]
    return _kernels.Layout(units, activation, out_activation)


def chunk_rows(layout, n_rows):
    """How many rows one batched kernel step processes at a time."""
    per_row = 2 * layout.work_units + int(layout.units[0])
    return int(max(1, min(n_rows, _MAX_CHUNK, _CHUNK_ELEMENTS // per_row)))


def workspace(layout, chunk, dtype):
    """Scratch memory for a kernel call that processes ``chunk`` rows at a time.

    A debug build fills it with NaN, so that a kernel reading scratch memory it
    did not write first fails the tests every time rather than by chance.
    """
    work = _parameters.empty_aligned(layout.workspace_size(chunk), dtype)
    if _kernels.DEBUG:
        work.fill(np.nan)
    return work


def outputs_cannot_overflow(layout, params, x_max):
    """True when no input with |x| <= ``x_max`` can drive any layer's sum, or the
    output activation, to infinity or NaN with these weights.

    A layer's sums are bounded by (bound on its inputs) times the largest column
    sum of |W|, plus max |b|; tanh and logistic bound their outputs by 1.
    """
    finfo = np.finfo(params.dtype)
    limit = finfo.max / 4  # room for softmax's z - max(z)
    bound = x_max
    coefs, intercepts = _parameters.param_views(layout, params)
    with np.errstate(over="ignore", invalid="ignore"):
        for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
            z = bound * np.abs(W).sum(axis=0).max() + np.abs(b).max()
            if not z < limit:
                return False
            last = layer == len(coefs) - 1
            bound = 1.0 if not last and layout.hidden in ("tanh", "logistic") else z
    if layout.output == "exp":
        return bool(bound < np.log(finfo.max) - 1)
    return True


def forward(layout, params, data, out=None, work=None):
    """Output-layer activations (probabilities, or predictions) for the input of
    ``data`` (a ``TrainingData``)."""
    dtype = params.dtype
    n_rows = data.n_rows
    chunk = chunk_rows(layout, n_rows)
    if out is None:
        out = np.empty((n_rows, int(layout.units[-1])), dtype=dtype)
    if work is None or work.shape[0] < layout.workspace_size(chunk):
        work = workspace(layout, chunk, dtype)
    with blas_threads_for(layout, chunk):
        _kernels.forward(layout, data, params, work, out, chunk)
    return out
