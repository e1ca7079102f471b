"""The network's parameters: one flat buffer, laid out as scikit-learn's ``_pack``
lays them out (every layer's coefficients, row-major ``(fan_in, fan_out)``, then
every layer's intercepts), and its per-layer views ``coefs_`` and ``intercepts_``.

The kernels, the optimizer state and the fit state's snapshots all use this
layout. Writes into the views go straight to the buffer; arrays put in their place
are packed into a new buffer (``current_buffer``).
"""

import numpy as np

# Bytes to align buffers the kernels sweep to: the widest vector (AVX-512's) and
# a cache line. A vector load that straddles two cache lines costs two; with a
# buffer aligned only to numpy's 16 bytes, one AVX2 load in two (and every
# AVX-512 load) would.
ALIGNMENT = 64


def empty_aligned(n, dtype):
    """An uninitialised 1-D array of ``n`` elements whose data starts on an
    ``ALIGNMENT``-byte boundary."""
    dtype = np.dtype(dtype)
    raw = np.empty(n * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + n * dtype.itemsize].view(dtype)


def zeros_aligned(n, dtype):
    """``empty_aligned`` filled with zeros."""
    out = empty_aligned(n, dtype)
    out.fill(0)
    return out


def writeable_aligned(a):
    """``a`` itself when the kernels can train in it (writeable and aligned), else
    an aligned copy: a model loaded read-only (``joblib.load(..., mmap_mode="r")``)
    or unpickled (numpy then aligns to 16 bytes only)."""
    if a.flags.writeable and a.ctypes.data % ALIGNMENT == 0:
        return a
    out = empty_aligned(a.size, a.dtype)
    out[:] = a
    return out


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
    params = empty_aligned(layout.n_params, dtype)
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
    params = empty_aligned(layout.n_params, dtype)
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


def current_buffer(params, coefs, intercepts, layout):
    """The flat buffer behind ``coefs``/``intercepts``: ``params`` while they are
    its views, else a new buffer packed from them (a user replaced the arrays,
    for example to move weights in)."""
    if views_are_current(params, coefs, intercepts, layout):
        return params
    return pack(layout, coefs, intercepts, params.dtype)
