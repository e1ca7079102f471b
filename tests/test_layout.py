"""The network's layout (``_kernels.Layout``) and its flat parameter buffer
(``fastsgd._parameters``): offsets, views, packing, and the guard that decides
without a forward pass that no input can overflow the outputs."""

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fastsgd import _kernels, _network, _parameters


def test_offsets_follow_scikit_learns_pack():
    layout = _kernels.Layout([4, 3, 2], "relu", "softmax")
    assert (layout.n_layers, layout.n_coefs, layout.n_units) == (2, 18, 5)
    assert layout.n_params == 23
    np.testing.assert_array_equal(layout.coef_offsets, [0, 12])
    np.testing.assert_array_equal(layout.intercept_offsets, [18, 21])
    params = np.arange(layout.n_params, dtype=float)
    coefs, intercepts = _parameters.param_views(layout, params)
    expected = np.concatenate([c.ravel() for c in coefs] + intercepts)
    np.testing.assert_array_equal(expected, params)
    assert [c.shape for c in coefs] == [(4, 3), (3, 2)]
    coefs[1][0, 0] = -1.0  # a view: it writes into the buffer
    assert params[12] == -1.0


def test_pack_checks_shapes_and_a_replaced_view_gets_a_new_buffer():
    layout = _kernels.Layout([2, 2, 1], "tanh", "identity")
    params = np.zeros(layout.n_params)
    coefs, intercepts = _parameters.param_views(layout, params)
    assert _parameters.current_buffer(params, coefs, intercepts, layout) is params
    coefs[0] = np.ones((2, 2))  # replaced, not written into
    packed = _parameters.current_buffer(params, coefs, intercepts, layout)
    assert packed is not params and packed[:4].tolist() == [1.0] * 4
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape \(1, 1\)"):
        _parameters.pack(layout, [np.ones((2, 2)), np.ones((1, 1))], intercepts, float)
    with pytest.raises(ValueError, match="intercepts_ has 1 layers, the network 2"):
        _parameters.pack(layout, coefs, intercepts[:1], float)


def test_layout_rejects_what_the_kernels_cannot_run():
    with pytest.raises(ValueError, match="widths must be >= 1"):
        _kernels.Layout([3], "relu", "identity")
    with pytest.raises(ValueError, match="wider than 2\\*\\*31 - 1"):
        _kernels.Layout([2, 2**31, 1], "relu", "identity")
    with pytest.raises(ValueError, match="unknown hidden activation 'softmax'"):
        _kernels.Layout([2, 2, 1], "softmax", "identity")
    with pytest.raises(ValueError, match="unknown output activation 'relu'"):
        _kernels.Layout([2, 2, 1], "relu", "relu")


def test_workspace_grows_with_the_chunk():
    layout = _kernels.Layout([5, 4, 3], "relu", "softmax")
    sizes = [layout.workspace_size(c) for c in (1, 2, 8)]
    # a row of activations and one of deltas, each 7 units padded to 16 (so that
    # what follows them stays on a 64-byte line), and the row of input
    assert layout.work_units == 16
    assert sizes == sorted(sizes) and sizes[1] - sizes[0] == 2 * 16 + 5


@st.composite
def networks(draw):
    """A small network with weights of any magnitude a dtype holds, the bound
    ``x_max`` on its inputs, and inputs within it (the extremes included)."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    units = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    hidden = draw(st.sampled_from(["identity", "logistic", "tanh", "relu"]))
    output = draw(st.sampled_from(["identity", "logistic", "exp", "softmax"]))
    layout = _kernels.Layout(units, hidden, output)
    top = 38 if dtype == np.float32 else 307
    # Mostly ordinary weights, some near the dtype's limit: both sides of the
    # guard's bound get drawn.
    scale = draw(st.floats(0, top))
    exponents = draw(
        st.lists(
            st.floats(-3, scale), min_size=layout.n_params, max_size=layout.n_params
        )
    )
    signs = draw(
        st.lists(
            st.sampled_from([-1.0, 1.0]),
            min_size=layout.n_params,
            max_size=layout.n_params,
        )
    )
    params = (np.array(signs) * 10.0 ** np.array(exponents)).astype(dtype)
    x_max = float(dtype(10.0 ** draw(st.floats(-3, scale))))
    n_rows = draw(st.integers(1, 4))
    fractions = draw(
        st.lists(
            st.sampled_from([-1.0, 1.0, 0.0, 0.5, -0.25]),
            min_size=n_rows * units[0],
            max_size=n_rows * units[0],
        )
    )
    X = (np.array(fractions) * x_max).astype(dtype).reshape(n_rows, units[0])
    return layout, params, x_max, X


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_the_overflow_guard_never_misses_an_overflow(network):
    """When the guard says no input within ``x_max`` can overflow, the compiled
    forward pass gives finite outputs for every such input."""
    layout, params, x_max, X = network
    assume_safe = _network.outputs_cannot_overflow(layout, params, x_max)
    with np.errstate(all="ignore"):
        out = _network.forward(layout, params, _kernels.TrainingData(X))
    if assume_safe:
        assert np.isfinite(out).all()
    event("guard: safe" if assume_safe else "guard: may overflow")


def test_the_overflow_guard_passes_ordinary_networks():
    layout = _kernels.Layout([3, 4, 2], "relu", "softmax")
    params = np.random.RandomState(0).uniform(-1, 1, layout.n_params)
    assert _network.outputs_cannot_overflow(layout, params, 10.0)
    assert not _network.outputs_cannot_overflow(layout, params * 1e300, 10.0)
