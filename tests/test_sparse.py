"""scipy sparse input through the public estimators: every format trains to the
dense model's weights in every regime and predicts what the dense model predicts.

The sparse matrices are built the way real ones come out of feature extraction and
hand-made triplets: empty rows, unsorted column indices, duplicate entries (which
scipy sums) and explicitly stored zeros. ``tests/test_kernels.py`` checks the
kernels on canonical CSR; this file checks what happens on the way there.
"""

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import assert_same_weights, fit_from_same_weights, small_regression
from sklearn import neural_network as sk

from fastsgd import MLPClassifier, MLPRegressor

# Every test here runs on each instruction-set path of the kernels.
pytestmark = [
    pytest.mark.usefixtures("every_isa"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

N_SAMPLES, N_FEATURES = 60, 12
EMPTY_ROWS = [3, 40]


def sparse_problem(seed=0):
    """Dense X with about 70% zeros and two all-zero rows, labels and targets."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    X[rng.uniform(size=X.shape) < 0.7] = 0.0
    X[EMPTY_ROWS] = 0.0
    w = rng.normal(size=(N_FEATURES, 2))
    targets = X @ w
    labels = np.digitize(targets[:, 0], np.quantile(targets[:, 0], [1 / 3, 2 / 3]))
    return X, labels, targets


def messy_csr(X, seed=0):
    """CSR equal to ``X`` whose rows have unsorted indices, one duplicated entry (the
    value split into exact halves, so scipy's sum restores it bit for bit) and an
    explicitly stored zero."""
    rng = np.random.RandomState(seed)
    data, indices, indptr = [], [], [0]
    for row in X:
        cols = list(np.flatnonzero(row))
        vals = list(row[cols])
        if cols:
            vals[0] /= 2
            cols.append(cols[0])
            vals.append(vals[0])
            zero_cols = np.flatnonzero(row == 0)
            if len(zero_cols):
                cols.append(zero_cols[0])
                vals.append(0.0)
        order = rng.permutation(len(cols))
        indices.extend(np.asarray(cols, dtype=np.int64)[order])
        data.extend(np.asarray(vals)[order])
        indptr.append(len(indices))
    M = sp.csr_matrix(
        (np.asarray(data, dtype=X.dtype), np.asarray(indices), np.asarray(indptr)),
        shape=X.shape,
    )
    assert not M.has_sorted_indices and not M.has_canonical_format
    return M


def messy_csc(X, seed=0):
    """CSC with unsorted row indices and duplicates: the transpose of a messy CSR."""
    return messy_csr(np.ascontiguousarray(X.T), seed).T


def messy_coo(X, seed=0):
    """COO whose triplets are shuffled and include duplicates."""
    csr = messy_csr(X, seed)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(csr.indptr))
    order = np.random.RandomState(seed).permutation(csr.nnz)
    return sp.coo_matrix(
        (csr.data[order], (rows[order], csr.indices[order])), shape=X.shape
    )


FORMATS = {
    "csr": messy_csr,
    "csc": messy_csc,
    "coo": messy_coo,
    "csr_array": lambda X: sp.csr_array(messy_csr(X)),
    "coo_array": lambda X: sp.coo_array(messy_coo(X)),
}

# Every training regime; the first is the one whose on-line update may touch only
# the weight rows of a sample's non-zeros, the others must sweep every row exactly.
REGIMES = {
    "online-sgd": dict(solver="sgd", batch_size=1, momentum=0.0, alpha=0.0),
    "online-sgd-alpha": dict(solver="sgd", batch_size=1, momentum=0.0, alpha=0.01),
    "online-momentum": dict(
        solver="sgd", batch_size=1, momentum=0.9, nesterovs_momentum=False, alpha=0.0
    ),
    "online-nesterov-alpha": dict(solver="sgd", batch_size=1, alpha=0.01),
    "online-adam": dict(solver="adam", batch_size=1, alpha=0.0),
    "minibatch-sgd": dict(solver="sgd", batch_size=7, momentum=0.0, alpha=0.0),
    "minibatch-nesterov-alpha": dict(solver="sgd", batch_size=7, alpha=0.01),
    "minibatch-adam": dict(solver="adam", batch_size=7),
    "full-momentum": dict(solver="sgd", batch_size="full", momentum=0.5),
}


def model(cls=MLPClassifier, **params):
    defaults = dict(
        hidden_layer_sizes=(6,),
        learning_rate_init=0.02,
        max_iter=3,
        random_state=0,
    )
    return cls(**{**defaults, **params})


def fit_quietly(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        # batch_size=1 with sample weights warns; that is tested elsewhere.
        warnings.simplefilter("ignore", UserWarning)
        return estimator.fit(X, y, **kwargs)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("regime", list(REGIMES))
def test_sparse_classifier_trains_like_dense(regime, fmt):
    X, labels, _ = sparse_problem()
    dense = model(**REGIMES[regime]).fit(X, labels)
    sparse = model(**REGIMES[regime]).fit(FORMATS[fmt](X), labels)
    assert dense.n_iter_ == sparse.n_iter_ == 3
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-10)
    assert_same_weights(sparse, dense, rtol=1e-10)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize(
    "regime", ["online-sgd", "online-nesterov-alpha", "minibatch-adam", "full-momentum"]
)
def test_sparse_regressor_trains_like_dense(regime, loss):
    X, _, targets = sparse_problem()
    y = np.exp(0.3 * targets[:, 0]) if loss == "poisson" else targets
    params = dict(loss=loss, learning_rate_init=0.005, **REGIMES[regime])
    dense = model(MLPRegressor, **params).fit(X, y)
    sparse = model(MLPRegressor, **params).fit(messy_csr(X), y)
    assert_same_weights(sparse, dense, rtol=1e-10)


def test_sparse_lbfgs_trains_like_dense():
    X, labels, targets = sparse_problem()
    for cls, y in ((MLPClassifier, labels), (MLPRegressor, targets)):
        dense = model(cls, solver="lbfgs", alpha=0.01, max_iter=15).fit(X, y)
        sparse = model(cls, solver="lbfgs", alpha=0.01, max_iter=15).fit(
            messy_csc(X), y
        )
        assert sparse.n_iter_ == dense.n_iter_
        assert sparse.loss_ == pytest.approx(dense.loss_, rel=1e-8)
        assert_same_weights(sparse, dense, rtol=1e-6)


def test_sparse_float32_trains_in_float32_like_dense_float32():
    X, labels, _ = sparse_problem()
    X32 = X.astype(np.float32)
    for regime in ("online-sgd", "online-nesterov-alpha", "minibatch-adam"):
        dense = model(**REGIMES[regime]).fit(X32, labels)
        sparse = model(**REGIMES[regime]).fit(messy_csr(X32), labels)
        assert sparse.coefs_[0].dtype == np.float32
        assert sparse.predict_proba(messy_csr(X32)).dtype == np.float32
        assert_same_weights(sparse, dense, rtol=1e-5)


def test_integer_counts_train_in_float64_like_dense():
    """What CountVectorizer produces: int64 CSR."""
    X, labels, _ = sparse_problem()
    counts = np.rint(np.abs(X) * 3)
    csr = sp.csr_matrix(counts.astype(np.int64))
    sparse = model(**REGIMES["online-sgd"]).fit(csr, labels)
    dense = model(**REGIMES["online-sgd"]).fit(counts, labels)
    assert sparse.coefs_[0].dtype == np.float64
    assert_same_weights(sparse, dense, rtol=1e-12)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_predictions_on_sparse_equal_dense(fmt):
    X, labels, targets = sparse_problem()
    clf = model(**REGIMES["minibatch-adam"]).fit(X, labels)
    np.testing.assert_allclose(
        clf.predict_proba(FORMATS[fmt](X)), clf.predict_proba(X), rtol=1e-12
    )
    np.testing.assert_array_equal(clf.predict(FORMATS[fmt](X)), clf.predict(X))
    assert clf.score(FORMATS[fmt](X), labels) == clf.score(X, labels)
    reg = model(MLPRegressor, **REGIMES["minibatch-adam"]).fit(X, targets)
    np.testing.assert_allclose(
        reg.predict(FORMATS[fmt](X)), reg.predict(X), rtol=1e-12, atol=1e-15
    )


def test_empty_rows_predict_from_the_intercepts_alone():
    X, labels, _ = sparse_problem()
    clf = model(**REGIMES["online-sgd"]).fit(messy_csr(X), labels)
    empty = sp.csr_matrix((2, N_FEATURES))
    proba = clf.predict_proba(empty)
    np.testing.assert_array_equal(proba[0], proba[1])
    zeros = clf.predict_proba(np.zeros((1, N_FEATURES)))
    np.testing.assert_allclose(proba[0], zeros[0], rtol=1e-15)


def test_sparse_input_is_not_modified():
    X, labels, _ = sparse_problem()
    csr = messy_csr(X)
    before = (csr.data.copy(), csr.indices.copy(), csr.indptr.copy())
    model(**REGIMES["online-sgd"]).fit(csr, labels).predict(csr)
    for a, b in zip((csr.data, csr.indices, csr.indptr), before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not csr.has_sorted_indices


@pytest.mark.parametrize("regime", ["online-sgd", "online-momentum", "minibatch-sgd"])
def test_sparse_sample_weights_train_like_dense(regime):
    X, labels, _ = sparse_problem()
    sw = np.random.RandomState(1).uniform(0.5, 2.0, size=N_SAMPLES)
    sw[[5, 17]] = 0.0
    dense = fit_quietly(model(**REGIMES[regime]), X, labels, sample_weight=sw)
    sparse = fit_quietly(
        model(**REGIMES[regime]), messy_csr(X), labels, sample_weight=sw
    )
    assert_same_weights(sparse, dense, rtol=1e-10)


@pytest.mark.parametrize("scoring", [None, "loss", "f1_macro"])
def test_sparse_early_stopping_matches_dense(scoring):
    """The held-out split is taken from the CSR rows, and a sparse X_val is scored
    like a dense one."""
    X, labels, _ = sparse_problem()
    params = dict(
        REGIMES["online-momentum"],
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        max_iter=15,
        scoring=scoring,
    )
    dense = model(**params).fit(X, labels)
    sparse = model(**params).fit(messy_csr(X), labels)
    np.testing.assert_allclose(
        sparse.validation_scores_, dense.validation_scores_, rtol=1e-10
    )
    assert sparse.best_epoch_ == dense.best_epoch_
    assert_same_weights(sparse, dense, rtol=1e-10)

    X_val, y_val = X[:20], labels[:20]
    dense = model(**params).fit(X[20:], labels[20:], X_val=X_val, y_val=y_val)
    sparse = model(**params).fit(
        messy_csr(X[20:]), labels[20:], X_val=messy_coo(X_val), y_val=y_val
    )
    np.testing.assert_allclose(
        sparse.validation_loss_curve_, dense.validation_loss_curve_, rtol=1e-10
    )
    assert_same_weights(sparse, dense, rtol=1e-10)


@pytest.mark.parametrize(
    "regime", ["online-sgd", "online-nesterov-alpha", "minibatch-adam"]
)
def test_sparse_partial_fit_matches_dense(regime):
    X, labels, _ = sparse_problem()
    dense, sparse = model(**REGIMES[regime]), model(**REGIMES[regime])
    classes = np.unique(labels)
    for start in range(0, N_SAMPLES, 20):
        rows = slice(start, start + 20)
        dense.partial_fit(X[rows], labels[rows], classes=classes)
        sparse.partial_fit(messy_csr(X[rows]), labels[rows], classes=classes)
    assert_same_weights(sparse, dense, rtol=1e-10)


def test_dense_and_sparse_chunks_mix_in_partial_fit():
    X, labels, _ = sparse_problem()
    mixed, dense = model(**REGIMES["online-sgd"]), model(**REGIMES["online-sgd"])
    classes = np.unique(labels)
    mixed.partial_fit(messy_csr(X[:30]), labels[:30], classes=classes)
    mixed.partial_fit(X[30:], labels[30:])
    dense.partial_fit(X[:30], labels[:30], classes=classes)
    dense.partial_fit(X[30:], labels[30:])
    assert_same_weights(mixed, dense, rtol=1e-12)


def test_warm_start_on_sparse_after_dense():
    X, labels, _ = sparse_problem()
    dense = model(**REGIMES["online-adam"]).fit(X, labels)
    dense.set_params(warm_start=True).fit(X, labels)
    mixed = model(**REGIMES["online-adam"]).fit(X, labels)
    mixed.set_params(warm_start=True).fit(messy_csr(X), labels)
    assert_same_weights(mixed, dense, rtol=1e-10)


def test_sparse_multilabel_trains_like_dense():
    X, labels, _ = sparse_problem()
    Y = np.column_stack([labels == 0, labels == 2, X[:, 0] > 0]).astype(int)
    dense = model(**REGIMES["online-nesterov-alpha"]).fit(X, Y)
    sparse = model(**REGIMES["online-nesterov-alpha"]).fit(messy_csr(X), Y)
    assert dense.out_activation_ == sparse.out_activation_ == "logistic"
    assert_same_weights(sparse, dense, rtol=1e-10)
    np.testing.assert_array_equal(sparse.predict(messy_csr(X)), dense.predict(X))


def test_text_example_runs(capsys):
    path = Path(__file__).resolve().parent.parent / "examples" / "sparse_text.py"
    result = runpy.run_path(str(path))["main"](["--docs", "4000"])
    assert result["accuracy"] > 0.5  # four topics: chance is 0.25
    assert "csr_matrix" in capsys.readouterr().out


@pytest.mark.parametrize(
    "regime",
    ["online-sgd", "online-sgd-alpha", "online-nesterov-alpha", "minibatch-adam"],
)
def test_sparse_updates_are_sklearns(regime):
    """scikit-learn's MLP on the same CSR, from the same weights, for two epochs."""
    X, labels, _ = sparse_problem()
    params = dict(REGIMES[regime], hidden_layer_sizes=(6,), random_state=0)
    fast, ref = MLPClassifier(**params), sk.MLPClassifier(**params)
    fit_from_same_weights(fast, ref, messy_csr(X), labels, epochs=2)
    assert_same_weights(fast, ref, rtol=1e-9)


def test_sparse_and_dense_edge_shapes_predict_the_same():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 7))
    X[X < 0.5] = 0.0
    X[3] = 0.0
    y = np.arange(12) % 3
    for batch_size in (1, 5, "full"):
        params = dict(
            hidden_layer_sizes=(4,),
            solver="sgd",
            momentum=0.5,
            batch_size=batch_size,
            max_iter=3,
            random_state=0,
        )
        dense = MLPClassifier(**params).fit(X, y)
        for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix):
            sparse = MLPClassifier(**params).fit(fmt(X), y)
            np.testing.assert_allclose(
                sparse.predict_proba(fmt(X)), dense.predict_proba(X), rtol=1e-12
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(
            MLPClassifier((3,), max_iter=2)
            .fit(sp.csr_matrix((5, 4)), [0, 1, 0, 1, 0])
            .predict_proba(sp.csr_matrix((2, 4)))
        ).all()


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_broken_sparse_structure_is_a_clear_error(fmt):
    X, y = small_regression()
    X[X < 0] = 0
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    broken = sp.random(10, 4, density=0.5, format=fmt, random_state=0)
    if fmt == "coo":
        broken.row[3] = -1
    else:
        broken.indptr[2] = broken.indptr[3] + 1  # decreasing further on
    with pytest.raises(ValueError, match="index|indptr"):
        model.predict(broken)
    with pytest.raises(ValueError, match="index|indptr"):
        MLPRegressor(hidden_layer_sizes=(5,), max_iter=2).fit(broken, y[:10])
