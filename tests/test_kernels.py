"""The compiled kernels against finite differences and a plain NumPy reference,
and the kernels' own paths against each other (fused on-line vs gemm, chunked vs
whole, CSR vs dense)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax

from fastsgd import _kernels, _network, _parameters

# Every test here runs on each instruction-set path of the kernels.
pytestmark = pytest.mark.usefixtures("every_isa")

HIDDEN = ["identity", "logistic", "tanh", "relu"]
# output activation -> number of outputs to test it with. Identity is tested with
# one output: like scikit-learn, its reported loss averages over outputs while its
# gradient sums over them.
OUTPUTS = {"identity": 1, "logistic": 3, "exp": 2, "softmax": 3}


def _problem(output, n=13, n_features=4, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features)).astype(dtype)
    k = OUTPUTS[output]
    if output == "softmax":
        Y = np.eye(k)[rng.randint(k, size=n)]
    elif output == "logistic":
        Y = rng.randint(2, size=(n, k))
    elif output == "exp":
        Y = rng.poisson(2.0, size=(n, k))
    else:
        Y = rng.normal(size=(n, k))
    sw = rng.uniform(0.5, 2.0, size=n)
    return X, np.ascontiguousarray(Y, dtype=dtype), sw.astype(dtype)


def _network_for(output, hidden, units=(4, 5, 3), seed=1, dtype=np.float64):
    layout = _kernels.Layout([*units, OUTPUTS[output]], hidden, output)
    params = np.random.RandomState(seed).uniform(-0.7, 0.7, layout.n_params)
    return layout, params.astype(dtype)


def numpy_forward(layout, params, X):
    """Reference forward pass, written from scikit-learn's _forward_pass."""
    coefs, intercepts = _parameters.param_views(layout, params)
    hidden = {
        "identity": lambda z: z,
        "logistic": expit,
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
    }[layout.hidden]
    a = X
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        a = a @ W + b
        if i < len(coefs) - 1:
            a = hidden(a)
    return {
        "identity": lambda z: z,
        "logistic": expit,
        "exp": np.exp,
        "softmax": lambda z: softmax(z, axis=1),
    }[layout.output](a)


def numpy_loss(layout, params, X, Y, sw, alpha):
    """Reference objective (the loss scikit-learn reports), summing outputs."""
    p = numpy_forward(layout, params, X)
    eps = np.finfo(p.dtype).eps
    if layout.output == "identity":
        per_sample = 0.5 * ((Y - p) ** 2).mean(axis=1)
    elif layout.output == "exp":
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(Y > 0, Y * np.log(Y / p), 0.0)
        per_sample = (ylogy - Y + p).sum(axis=1)
    else:
        pc = np.clip(p, eps, 1 - eps)
        per_sample = -(Y * np.log(pc)).sum(axis=1)
        if layout.output == "logistic":
            per_sample -= ((1 - Y) * np.log(1 - pc)).sum(axis=1)
    coefs, _ = _parameters.param_views(layout, params)
    l2 = sum((W**2).sum() for W in coefs)
    return (sw @ per_sample + 0.5 * alpha * l2) / sw.sum()


def kernel_loss_and_gradient(layout, params, X, Y, sw, alpha, chunk=5):
    grads = np.empty_like(params)
    work = _network.workspace(layout, chunk, params.dtype)
    data = _kernels.TrainingData(X, Y=Y, sample_weight=sw)
    loss = _kernels.loss_and_gradient(layout, data, params, grads, work, chunk, alpha)
    return loss, grads


@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradient_matches_finite_differences(hidden, output):
    X, Y, sw = _problem(output)
    layout, params = _network_for(output, hidden)
    alpha = 0.1
    loss, grads = kernel_loss_and_gradient(layout, params, X, Y, sw, alpha)
    assert loss == pytest.approx(numpy_loss(layout, params, X, Y, sw, alpha), rel=1e-12)
    numeric = np.empty_like(params)
    h = 1e-6
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = h
        numeric[i] = (
            numpy_loss(layout, params + step, X, Y, sw, alpha)
            - numpy_loss(layout, params - step, X, Y, sw, alpha)
        ) / (2 * h)
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_numpy(hidden, output, dtype):
    X, _, _ = _problem(output, n=37, dtype=dtype)
    layout, params = _network_for(output, hidden, dtype=dtype)
    out = _network.forward(layout, params, _kernels.TrainingData(X))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(
        out, numpy_forward(layout, params, X), rtol=rtol, atol=rtol
    )
    assert out.dtype == dtype


def _train(
    layout,
    params,
    X,
    Y,
    sw,
    order,
    batch_size,
    rule,
    alpha=0.01,
    chunk=64,
    path=None,
    lr=0.05,
):
    """One kernel epoch on copies; returns (params, states, loss_sum, adam_t)."""
    params = params.copy()
    states = [np.zeros_like(params) for _ in _kernels.STATE_NAMES[rule]]
    update_rule = _kernels.UpdateRule(
        rule,
        learning_rate=lr,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        alpha=alpha,
        **dict(zip(_kernels.STATE_NAMES[rule], states, strict=True)),
    )
    work = _network.workspace(layout, chunk, params.dtype)
    grads = np.empty_like(params)
    data = _kernels.TrainingData(X, Y=Y, sample_weight=sw)
    loss = _kernels.train_epoch(
        layout, data, update_rule, params, grads, work, order, batch_size, chunk, path
    )
    return params, states, loss, update_rule.step


@pytest.mark.parametrize("rule", sorted(_kernels.UPDATE_RULES))
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_fused_online_kernel_equals_gemm_path_at_batch_size_one(rule, alpha):
    X, Y, sw = _problem("softmax", n=31)
    sw[[3, 17]] = 0.0  # zero-weight samples are skipped by both paths
    layout, params = _network_for("softmax", "tanh")
    order = np.random.RandomState(0).permutation(31).astype(np.intp)
    fused = _train(layout, params, X, Y, sw, order, 1, rule, alpha)
    gemm = _train(layout, params, X, Y, sw, order, 1, rule, alpha, path="minibatch")
    np.testing.assert_allclose(fused[0], gemm[0], rtol=1e-12, atol=1e-14)
    for a, b in zip(fused[1], gemm[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert fused[2] == pytest.approx(gemm[2], rel=1e-12)
    assert fused[3] == gemm[3] == (29 if rule == "adam" else 0)


@pytest.mark.parametrize("batch_size", [1, 4, 31])
@pytest.mark.parametrize("rule", sorted(_kernels.UPDATE_RULES))
def test_csr_input_trains_like_dense(batch_size, rule):
    X, Y, sw = _problem("softmax", n=31, n_features=6)
    X[np.abs(X) < 0.8] = 0.0  # sparse rows, one of them empty
    X[5] = 0.0
    layout, params = _network_for("softmax", "relu", units=(6, 5))
    order = np.random.RandomState(1).permutation(31).astype(np.intp)
    for alpha in (0.0, 0.01):
        dense = _train(layout, params, X, Y, sw, order, batch_size, rule, alpha)
        csr = _train(
            layout, params, sp.csr_matrix(X), Y, sw, order, batch_size, rule, alpha
        )
        np.testing.assert_allclose(csr[0], dense[0], rtol=1e-12, atol=1e-14)
        assert csr[2] == pytest.approx(dense[2], rel=1e-12)


def test_full_batch_is_chunk_size_independent():
    X, Y, sw = _problem("logistic", n=50)
    layout, params = _network_for("logistic", "logistic")
    order = np.arange(50, dtype=np.intp)
    whole = _train(layout, params, X, Y, sw, order, 50, "nesterov", chunk=50)
    chunked = _train(layout, params, X, Y, sw, order, 50, "nesterov", chunk=7)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12)
    assert chunked[2] == pytest.approx(whole[2], rel=1e-12)


def test_kernel_entry_points_reject_inconsistent_buffers():
    """Every check names the sizes it expected and the ones it got."""
    X, Y, sw = _problem("softmax")
    layout, params = _network_for("softmax", "tanh")
    work = _network.workspace(layout, 4, np.float64)
    grads = np.empty_like(params)
    data = _kernels.TrainingData(X, Y=Y, sample_weight=sw)
    good_order = np.arange(len(X), dtype=np.intp)
    sgd = _kernels.UpdateRule("sgd", learning_rate=0.1)

    def call(params=params, grads=grads, work=work, order=good_order, rule=sgd):
        return _kernels.train_epoch(
            layout, data, rule, params, grads, work, order, batch_size=4, chunk=4
        )

    call()
    n = layout.n_params
    with pytest.raises(IndexError, match=f"order holds row {len(X)}, X has"):
        call(order=np.array([0, len(X)], dtype=np.intp))
    with pytest.raises(ValueError, match=f"params holds {n - 1} elements, .* {n}"):
        call(params=params[:-1].copy())
    need = layout.workspace_size(4)
    with pytest.raises(ValueError, match=f"workspace too small: 3 .* needs {need}"):
        call(work=np.empty(3))
    with pytest.raises(ValueError, match=f"grads holds 2 elements, .* {n}"):
        call(grads=grads[:2].copy())
    with pytest.raises(ValueError, match="the 'adam' rule keeps m, v; got m=None"):
        _kernels.UpdateRule("adam", learning_rate=0.1)
    with pytest.raises(ValueError, match="keeps no state; got velocity=an array"):
        _kernels.UpdateRule("sgd", learning_rate=0.1, velocity=np.zeros(n))
    short = np.zeros(n - 1)
    with pytest.raises(ValueError, match=f"velocity holds {n - 1} values, .* {n}"):
        call(rule=_kernels.UpdateRule("momentum", learning_rate=0.1, velocity=short))
    with pytest.raises(TypeError, match="float32"):
        call(
            params=params.astype(np.float32),
            grads=grads.astype(np.float32),
            work=np.empty(work.shape, np.float32),
        )
    with pytest.raises(ValueError, match="on-line path needs batch_size=1, got 4"):
        _kernels.train_epoch(
            layout, data, sgd, params, grads, work, good_order, 4, 4, path="online"
        )
    with pytest.raises(ValueError, match="Y has 12 rows, X 13"):
        _kernels.TrainingData(X, Y=Y[:-1].copy(), sample_weight=sw)
    with pytest.raises(ValueError, match="sample_weight has 12 rows, X 13"):
        _kernels.TrainingData(X, Y=Y, sample_weight=sw[:-1].copy())
    with pytest.raises(ValueError, match="X has 2 features, the network 4"):
        _kernels.forward(
            layout,
            _kernels.TrainingData(X[:, :2].copy()),
            params,
            work,
            np.empty((len(X), 3)),
            4,
        )
    with pytest.raises(ValueError, match=r"out has shape \(13, 2\), .* \(13, 3\)"):
        _kernels.forward(
            layout, _kernels.TrainingData(X), params, work, np.empty((len(X), 2)), 4
        )
    with pytest.raises(ValueError, match="widths"):
        _kernels.Layout([4, 0, 3], "relu", "softmax")


def test_csr_column_indices_are_checked_once_when_the_data_is_built():
    X = sp.csr_matrix(np.eye(3))
    X.indices[1] = 7
    with pytest.raises(IndexError, match="column index 7 out of range for 3"):
        _kernels.TrainingData(X)


def test_training_path_is_chosen_in_one_place(every_isa):
    X, Y, sw = _problem("softmax")
    dense = _kernels.TrainingData(X, Y=Y, sample_weight=sw)
    csr = _kernels.TrainingData(sp.csr_matrix(X), Y=Y, sample_weight=sw)
    sgd = _kernels.UpdateRule("sgd", learning_rate=0.1)
    decay = _kernels.UpdateRule("sgd", learning_rate=0.1, alpha=1e-4)
    multi = _kernels.Layout([4, 5, Y.shape[1]], "relu", "softmax")
    binary = _kernels.Layout([4, 5, 1], "relu", "logistic")
    # plain SGD steps a window at a time with 32 registers and 64-byte vectors
    # (AVX-512) only: measured faster there, slower on the 16-register paths
    # (AVX2, SSE2) whatever the output's width
    vbytes = {name: size for name, _, size, _ in _kernels.isa_paths()}[every_isa]
    windowed = "online-windowed" if vbytes == 64 else "online"
    assert _kernels.training_path(multi, 1, dense, sgd) == windowed
    assert _kernels.training_path(binary, 1, dense, sgd) == windowed
    assert _kernels.training_path(multi, 1, dense, decay) == "online"
    assert _kernels.training_path(multi, 1, csr, sgd) == "online"
    assert _kernels.training_path(multi, 2, dense, sgd) == "minibatch"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", sorted(_kernels.UPDATE_RULES))
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_wide_first_layer_fused_online_equals_gemm_path(dtype, rule, alpha):
    """A first layer wide enough for the column-tiled sweep (whole tiles of 32
    doubles or 64 floats, then a remainder) and for the four-row passes (7
    features: four rows, then three), against the gemm path."""
    X, Y, sw = _problem("softmax", n=23, n_features=7, dtype=dtype)
    X[np.abs(X) < 0.5] = 0.0
    layout, params = _network_for("softmax", "relu", units=(7, 150, 9), dtype=dtype)
    params *= 0.3
    order = np.random.RandomState(2).permutation(23).astype(np.intp)
    fused = _train(layout, params, X, Y, sw, order, 1, rule, alpha, lr=0.01)
    gemm = _train(
        layout, params, X, Y, sw, order, 1, rule, alpha, path="minibatch", lr=0.01
    )
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(fused[0], gemm[0], rtol=rtol, atol=rtol)
    for a, b in zip(fused[1], gemm[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    assert fused[2] == pytest.approx(gemm[2], rel=rtol)
    csr = _train(
        layout, params, sp.csr_matrix(X), Y, sw, order, 1, rule, alpha, lr=0.01
    )
    np.testing.assert_allclose(csr[0], fused[0], rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("tiled", [False, True])
def test_roofline_sweep_makes_the_on_line_update(dtype, rule, tiled):
    """The roofline kernel's sweep is the first layer's on-line step: compare it
    with the update written in NumPy."""
    rng = np.random.RandomState(0)
    n_in, n_out, alpha, lr, mu = 5, 70, 0.01, 0.1, 0.9
    W = rng.normal(size=n_in * n_out).astype(dtype)
    states = [rng.normal(size=W.size).astype(dtype) for _ in _kernels.STATE_NAMES[rule]]
    if rule == "adam":
        states[1] = np.abs(states[1])
    delta = rng.normal(size=n_out).astype(dtype)
    x = rng.normal(size=n_in).astype(dtype)
    w, s = W.reshape(n_in, n_out).astype(np.float64), [a.copy() for a in states]
    g = np.outer(x, delta) + alpha * w
    if rule == "sgd":
        expected = w - lr * g
    elif rule in ("momentum", "nesterov"):
        v = mu * s[0].reshape(n_in, n_out) - lr * g
        expected = w + v if rule == "momentum" else w + mu * v - lr * g
    else:
        m = 0.9 * s[0].reshape(n_in, n_out) + 0.1 * g
        v = 0.999 * s[1].reshape(n_in, n_out) + 0.001 * g * g
        expected = w - lr * m / (np.sqrt(v) + 1e-8)
    update_rule = _kernels.UpdateRule(
        rule,
        learning_rate=lr,
        momentum=mu,
        alpha=alpha,
        **dict(zip(_kernels.STATE_NAMES[rule], states, strict=True)),
    )
    _kernels.floor_sweep(W, update_rule, delta, x, repeats=1, tiled=tiled)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(W.reshape(n_in, n_out), expected, rtol=rtol, atol=rtol)
    with pytest.raises(ValueError, match="weights"):
        _kernels.floor_sweep(W[:-1], update_rule, delta, x, repeats=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", ["sgd", "nesterov"])
def test_roofline_sweep_with_the_next_forward_pass(dtype, rule):
    """With x_next, the roofline sweep makes the same step and adds the next
    sample's forward pass with the stepped rows to out."""
    rng = np.random.RandomState(1)
    n_in, n_out = 6, 37
    W = rng.normal(size=n_in * n_out).astype(dtype)
    delta, x, x_next = (rng.normal(size=n).astype(dtype) for n in (n_out, n_in, n_in))
    out = rng.normal(size=n_out).astype(dtype)
    W_plain, out_before = W.copy(), out.copy()

    def rule_for(weights):
        state = {name: np.zeros_like(weights) for name in _kernels.STATE_NAMES[rule]}
        return _kernels.UpdateRule(rule, learning_rate=0.1, alpha=0.01, **state)

    _kernels.floor_sweep(W_plain, rule_for(W_plain), delta, x, repeats=1)
    _kernels.floor_sweep(W, rule_for(W), delta, x, 1, x_next=x_next, out=out)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(W, W_plain, rtol=rtol, atol=rtol)
    expected = out_before + x_next.astype(np.float64) @ W.reshape(n_in, n_out)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)
    with pytest.raises(ValueError, match="go together"):
        _kernels.floor_sweep(W, rule_for(W), delta, x, 1, x_next=x_next)
    with pytest.raises(ValueError, match="tiled sweep only"):
        _kernels.floor_sweep(W, rule_for(W), delta, x, 1, False, x_next, out)
    with pytest.raises(ValueError, match="expected 6 and 37"):
        _kernels.floor_sweep(W, rule_for(W), delta, x, 1, x_next=x_next, out=out[:-1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", sorted(_kernels.UPDATE_RULES))
@pytest.mark.parametrize("alpha", [0.0, 0.01])
@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_narrow_and_ragged_layers_fused_online_equals_gemm_path(
    dtype, rule, alpha, hidden
):
    """Layers after the first of every width class the on-line sweeps and forward
    passes treat apart (8 doubles or 16 floats a vector): several whole vectors
    and a part (70), two and a part or one and a part (17), one and a part or a
    part (10), a part (5, 3) and one unit (1), against the gemm path."""
    units = [6, 37, 70, 17, 10, 3, 5, 1]
    layout = _kernels.Layout(units, hidden, "logistic")
    rng = np.random.RandomState(3)
    X = rng.normal(size=(29, units[0])).astype(dtype)
    X[np.abs(X) < 0.4] = 0.0
    Y = rng.randint(2, size=(29, 1)).astype(dtype)
    sw = rng.uniform(0.5, 2.0, size=29).astype(dtype)
    params = rng.uniform(-0.6, 0.6, layout.n_params).astype(dtype)
    order = rng.permutation(29).astype(np.intp)
    fused = _train(layout, params, X, Y, sw, order, 1, rule, alpha, lr=0.01)
    gemm = _train(
        layout, params, X, Y, sw, order, 1, rule, alpha, path="minibatch", lr=0.01
    )
    assert not np.array_equal(fused[0], params)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(fused[0], gemm[0], rtol=rtol, atol=rtol)
    for a, b in zip(fused[1], gemm[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    assert fused[2] == pytest.approx(gemm[2], rel=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rule", sorted(_kernels.UPDATE_RULES))
@pytest.mark.parametrize("units", [(7, 70, 3), (9, 150, 2), (4, 64, 3)])
def test_minibatch_first_layer_step_dense_equals_csr(dtype, rule, units):
    """Layer 0's mini-batch step from dense rows (gradient summed in registers and
    stepped at once: four rows, then one, by tiles of whole vectors and a masked
    remainder) against the CSR path (gradient stored, then stepped)."""
    X, Y, sw = _problem("softmax", n=37, n_features=units[0], dtype=dtype)
    X[np.abs(X) < 0.5] = 0.0
    layout, params = _network_for("softmax", "relu", units=units[:2], dtype=dtype)
    params *= 0.3
    order = np.random.RandomState(4).permutation(37).astype(np.intp)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for alpha, batch_size in ((0.0, 5), (0.01, 16)):
        args = (order, batch_size, rule, alpha)
        dense = _train(layout, params, X, Y, sw, *args, lr=0.01)
        csr = _train(layout, params, sp.csr_matrix(X), Y, sw, *args, lr=0.01)
        assert not np.array_equal(dense[0], params)
        np.testing.assert_allclose(dense[0], csr[0], rtol=rtol, atol=rtol)
        for a, b in zip(dense[1], csr[1], strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
        assert dense[2] == pytest.approx(csr[2], rel=rtol)


def _vector_math(fn, x):
    a = np.array(x, copy=True)
    _kernels.elementwise(fn, a)
    return a


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fn", ["exp", "log", "tanh"])
def test_vector_math_keeps_special_values(fn, dtype):
    """The activation and loss loops' exp, log and tanh (glibc's vector variants
    where setup.py found them) give libm's special values: divergence detection
    relies on NaN staying NaN, overflow to inf, underflow to 0; and -0.0 keeps
    its sign. Every position of a vector and of its masked tail is checked."""
    big = 1000.0 if dtype == np.float64 else 200.0
    tiny = 1e-310 if dtype == np.float64 else 1e-40  # subnormal
    x = np.array(
        [np.nan, np.inf, -np.inf, 0.0, -0.0, big, -big, tiny, -tiny, 1.0, 0.5, 2.0],
        dtype=dtype,
    )
    expected = {
        "exp": [np.nan, np.inf, 0.0, 1.0, 1.0, np.inf, 0.0, 1.0, 1.0],
        "log": [np.nan, np.inf, np.nan, -np.inf, -np.inf, None, np.nan, None, np.nan],
        "tanh": [np.nan, 1.0, -1.0, 0.0, -0.0, 1.0, -1.0, tiny, -tiny],
    }[fn]
    for shift in range(17):  # each value at every lane of a vector and of a tail
        for n in (shift + 1, shift + 3):
            a = np.full(n + len(x), 0.25, dtype=dtype)
            a[shift : shift + len(x)] = x
            a = _vector_math(fn, a)[shift : shift + len(x)]
            with np.errstate(all="ignore"):
                reference = getattr(np, fn)(x.astype(np.float64))
            for v, r, e in zip(a, reference, expected + [None] * 3, strict=True):
                if e is not None:
                    r = e
                if np.isnan(r):
                    assert np.isnan(v)
                elif r == 0 or np.isinf(r):
                    assert v == r and np.signbit(v) == np.signbit(r)
                else:
                    assert v == pytest.approx(r, rel=1e-6)


# Worst error against libm measured on this project's build machine (glibc 2.36,
# AVX-512 variants), 600,000 points per function: float64 exp 3.0 ulp (4.4e-16
# relative), log 1.0 ulp, tanh 3.0 ulp (4.4e-16); float32 (against libm in double)
# exp 2.5 ulp, log 3.8 ulp, tanh 1.4 ulp. glibc documents at most 4 ulp.
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "fn, low, high",
    [
        ("exp", -700.0, 700.0),
        ("exp", -20.0, 20.0),
        ("log", 1e-300, 1e300),
        ("log", 0.1, 10.0),
        ("tanh", -20.0, 20.0),
        ("tanh", -1e-3, 1e-3),
    ],
)
def test_vector_math_is_within_4_ulp_of_libm(fn, low, high, dtype):
    import math

    info = np.finfo(dtype)
    if dtype == np.float32:  # the float range
        low = max(low, -87.0 if fn == "exp" else 1e-37 if fn == "log" else low)
        high = min(high, 88.0 if fn == "exp" else 1e37 if fn == "log" else high)
    rng = np.random.RandomState(0)
    if fn == "log":
        x = np.exp(rng.uniform(np.log(low), np.log(high), 20000))
    else:
        x = rng.uniform(low, high, 20000)
    x = x.astype(dtype)
    got = _vector_math(fn, x).astype(np.float64)
    f = getattr(math, fn)
    reference = np.array([f(float(v)) for v in x])  # libm, in double
    keep = np.isfinite(reference) & (np.abs(reference) >= info.tiny)
    spacing = np.spacing(np.abs(reference[keep]).astype(dtype)).astype(np.float64)
    ulps = np.abs(got[keep] - reference[keep]) / spacing
    assert ulps.max() <= 4.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("units", [(9, 11, 4), (9, 4), (5, 20, 7, 3), (6, 40, 40)])
def test_online_sgd_windows_equal_per_sample_steps(dtype, units):
    """On-line plain SGD makes the first layer's steps a window of samples at a
    time (and may keep a narrow last layer transposed): against the per-sample
    kernel (CSR input of the same rows), over calls of every length around the
    window's (as ``fastsgd compare`` cuts an epoch), zero-weight samples
    included."""
    X, Y, sw = _problem("softmax", n=41, n_features=units[0], dtype=dtype)
    sw[[2, 9, 10, 30]] = 0.0
    layout, params = _network_for("softmax", "tanh", units=units, dtype=dtype)
    order = np.random.RandomState(5).permutation(41).astype(np.intp)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for cuts in ([41], [1, 7, 8, 9, 16, 41]):
        result = []
        for Xi in (X, sp.csr_matrix(X)):
            p, loss = params, 0.0
            for a, b in zip([0, *cuts[:-1]], cuts, strict=True):
                p, _, segment_loss, _ = _train(
                    layout, p, Xi, Y, sw, order[a:b], 1, "sgd", 0.0
                )
                loss += segment_loss
            result.append((p, loss))
        (dense, dense_loss), (csr, csr_loss) = result
        assert not np.array_equal(dense, params)
        np.testing.assert_allclose(dense, csr, rtol=rtol, atol=rtol)
        assert dense_loss == pytest.approx(csr_loss, rel=rtol)
