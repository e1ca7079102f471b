"""The network's parameters and its predict-time forward pass.

All weights live in one flat buffer, laid out as scikit-learn's ``_pack`` lays them
out (every layer's coefficients, then every layer's intercepts); ``coefs_`` and
``intercepts_`` are views into it. The kernels, the optimizer state and the
snapshots for early stopping all work on that one buffer.
"""

import numpy as np

from fastsgd import _kernels
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
    per_row = 2 * layout.n_units + int(layout.units[0])
    return int(max(1, min(n_rows, _MAX_CHUNK, _CHUNK_ELEMENTS // per_row)))


def workspace(layout, chunk, dtype):
    """Scratch memory for a kernel call that processes ``chunk`` rows at a time.

    A debug build fills it with NaN, so that a kernel reading scratch memory it
    did not write first fails the tests every time rather than by chance.
    """
    if _kernels.DEBUG:
        return np.full(layout.workspace_size(chunk), np.nan, dtype=dtype)
    return np.empty(layout.workspace_size(chunk), dtype=dtype)


def param_views(layout, params):
    """``coefs_`` and ``intercepts_`` as views into the flat buffer ``params``."""
    units = layout.units
    coefs, intercepts = [], []
    for layer, (c_off, i_off) in enumerate(
        zip(layout.coef_offsets, layout.intercept_offsets, strict=True)
    ):
        fan_in, fan_out = int(units[layer]), int(units[layer + 1])
        coefs.append(params[c_off : c_off + fan_in * fan_out].reshape(fan_in, fan_out))
        intercepts.append(params[i_off : i_off + fan_out])
    return coefs, intercepts


def glorot_uniform(layout, activation, random_state, dtype):
    """Initial weights drawn exactly as scikit-learn's ``_init_coef`` draws them:
    per layer, the coefficients and then the intercepts, from the same
    ``RandomState`` calls, so the same seed gives the same network."""
    params = np.empty(layout.n_params, dtype=dtype)
    factor = 2.0 if activation == "logistic" else 6.0
    for coef, intercept in zip(*param_views(layout, params), strict=True):
        fan_in, fan_out = coef.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef[:] = random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept[:] = random_state.uniform(-bound, bound, fan_out)
    return params


def pack(layout, coefs, intercepts, dtype):
    """A new flat buffer holding ``coefs`` and ``intercepts`` (checked against the
    layout's shapes)."""
    params = np.empty(layout.n_params, dtype=dtype)
    views = param_views(layout, params)
    for name, given, expected in zip(
        ("coefs_", "intercepts_"), (coefs, intercepts), views, strict=True
    ):
        if len(given) != len(expected):
            raise ValueError(
                f"{name} has {len(given)} layers, the network {len(expected)}"
            )
        for layer, (src, dst) in enumerate(zip(given, expected, strict=True)):
            src = np.asarray(src)
            if src.dtype.kind not in "fiu":
                raise TypeError(
                    f"{name}[{layer}] holds {src.dtype} values; weights must be real "
                    "numbers"
                )
            if src.shape != dst.shape:
                raise ValueError(
                    f"{name}[{layer}] has shape {src.shape}, expected {dst.shape}"
                )
            dst[:] = src
    return params


def views_are_current(params, coefs, intercepts, layout):
    """True when ``coefs``/``intercepts`` are still the views into ``params``
    (a user may have replaced them, for example to move weights in)."""
    expected = param_views(layout, params)
    for given, views in zip((coefs, intercepts), expected, strict=True):
        if not isinstance(given, list) or len(given) != len(views):
            return False
        for a, b in zip(given, views, strict=True):
            if not (
                isinstance(a, np.ndarray)
                and a.dtype == b.dtype
                and a.shape == b.shape
                and a.strides == b.strides
                and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            ):
                return False
    return True


def outputs_cannot_overflow(layout, params, x_max):
    """True when no input with |x| <= ``x_max`` can drive any layer's sum, or the
    output activation, to infinity or NaN with these weights.

    A layer's sums are bounded by (bound on its inputs) times the largest column
    sum of |W|, plus max |b|; tanh and logistic bound their outputs by 1.
    """
    finfo = np.finfo(params.dtype)
    limit = finfo.max / 4  # room for softmax's z - max(z)
    bound = x_max
    coefs, intercepts = param_views(layout, params)
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
