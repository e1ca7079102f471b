"""Input checks that stand between users and the compiled kernels.

The kernels run with bounds checks off, so everything they read is checked and
converted here first: dtype, memory layout, finiteness, sparse structure, weights.
"""

import copy

import numpy as np
import scipy.sparse as sp

from fastsgd._sklearn_compat import _check_sample_weight

# BLAS takes 32-bit sizes.
_MAX_DIM = 2**31 - 1


def check_sparse_structure(X):
    """Raise scipy's ValueError for a sparse matrix whose index arrays are
    inconsistent, before anything converts it: scipy turns a broken CSC or COO
    into CSR without complaint, and a broken CSR fails deep in its C++ code.

    Checks a shallow copy (the check may rebind index arrays): X is left alone.
    """
    if not sp.issparse(X):
        return
    if hasattr(X, "check_format"):  # CSR, CSC, BSR
        copy.copy(X).check_format(full_check=True)
    elif X.format == "coo":
        copy.copy(X)._check()


def as_kernel_array(X, dtype, name="X"):
    """``X`` as the kernels read it: C-contiguous ``dtype``, or canonical CSR.

    Copies only when ``X`` is not in that form already; never modifies ``X``.
    Values a narrowing cast (float64 to float32) turns infinite are an error.
    """
    if X.shape[1] > _MAX_DIM:
        raise ValueError(
            f"{name} has {X.shape[1]} features; at most {_MAX_DIM} are supported"
        )
    source = X.dtype
    with np.errstate(over="ignore"):  # an overflowing cast is the error below
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=dtype, copy=False)
        else:
            X = np.ascontiguousarray(X, dtype=dtype)
    if sp.issparse(X):
        X.check_format(full_check=True)
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        values = X.data
    else:
        values = X
    if (
        np.issubdtype(source, np.floating)
        and np.finfo(source).max > np.finfo(dtype).max
        and not np.isfinite(values).all()
    ):
        raise ValueError(
            f"{name} has values beyond the range of {np.dtype(dtype).name} "
            f"(largest {np.finfo(dtype).max:.3g}), which this model computes in. "
            "Scale them, or fit in float64."
        )
    return X


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
