# Row-major gemm for float and double over scipy's BLAS.
#
# BLAS is column-major. A row-major (m, n) matrix is the column-major (n, m) matrix
# of its transpose, so C = op(A) @ op(B) in row-major is C.T = op(B).T @ op(A).T in
# column-major: the same call with the operands swapped and no copies.

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* a, int lda,
                      const floating* b, int ldb, floating beta,
                      floating* c, int ldc) noexcept nogil:
    """Row-major ``c = alpha * op(a) @ op(b) + beta * c``, ``c`` of shape (m, n).

    ``op(a)`` is (m, k) and ``op(b)`` is (k, n); ``lda``, ``ldb``, ``ldc`` are the row
    strides, in elements, of ``a``, ``b`` and ``c`` as stored.
    """
    cdef char ta = b"T" if trans_a else b"N"
    cdef char tb = b"T" if trans_b else b"N"
    if floating is double:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb,
              <double*> a, &lda, &beta, c, &ldc)
    else:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb,
              <float*> a, &lda, &beta, c, &ldc)
