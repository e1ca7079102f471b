"""Input checks that stand between users and the compiled kernels.

The kernels run with bounds checks off, so everything they read is checked and
converted here first: dtype, memory layout, finiteness, sparse structure, weights.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight

# BLAS takes 32-bit sizes.
_MAX_DIM = 2**31 - 1


def as_kernel_array(X, dtype):
    """``X`` as the kernels read it: C-contiguous ``dtype``, or canonical CSR.

    Copies only when ``X`` is not in that form already; never modifies ``X``.
    """
    if X.shape[1] > _MAX_DIM:
        raise ValueError(
            f"X has {X.shape[1]} features; at most {_MAX_DIM} are supported"
        )
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=dtype, copy=False)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        X.check_format(full_check=True)
        return X
    return np.ascontiguousarray(X, dtype=dtype)


def check_training_weights(sample_weight, X, dtype):
    """Sample weights as the kernels read them: finite, non-negative, not all zero.

    ``None`` becomes ones, so that every kernel sees one code path.
    """
    if sample_weight is None:
        return np.ones(X.shape[0], dtype=dtype)
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=dtype, ensure_non_negative=True
    )
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight sums to zero: there is nothing to learn from.")
    return np.ascontiguousarray(sample_weight)


def check_poisson_targets(y):
    if np.any(y < 0):
        raise ValueError(
            "Some value(s) of y are negative which is not allowed for Poisson "
            "regression."
        )
