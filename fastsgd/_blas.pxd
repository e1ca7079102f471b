# Row-major gemm for float and double over scipy's BLAS.
#
# BLAS is column-major. A row-major (m, n) matrix is the column-major (n, m) matrix
# of its transpose, so C = op(A) @ op(B) in row-major is C.T = op(B).T @ op(A).T in
# column-major: the same call with the operands swapped and no copies.
#
# scipy's dgemm and sgemm are looked up at import (load_blas), from the capsules of
# scipy.linalg.cython_blas, as a cimport of that module would look them up; scipy
# is then needed to run the kernels but not to build them (its wheel is a third of
# the time pip takes to set up an isolated build environment).

from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from cython cimport floating

cdef extern from *:
    """
    typedef void (*fsgd_dgemm_t)(char *, char *, int *, int *, int *, double *,
                                 double *, int *, double *, int *, double *,
                                 double *, int *);
    typedef void (*fsgd_sgemm_t)(char *, char *, int *, int *, int *, float *,
                                 float *, int *, float *, int *, float *,
                                 float *, int *);
    static fsgd_dgemm_t fsgd_dgemm = NULL;
    static fsgd_sgemm_t fsgd_sgemm = NULL;
    """
    ctypedef void (*fsgd_dgemm_t)(char*, char*, int*, int*, int*, double*,
                                  double*, int*, double*, int*, double*,
                                  double*, int*) noexcept nogil
    ctypedef void (*fsgd_sgemm_t)(char*, char*, int*, int*, int*, float*,
                                  float*, int*, float*, int*, float*,
                                  float*, int*) noexcept nogil
    fsgd_dgemm_t fsgd_dgemm
    fsgd_sgemm_t fsgd_sgemm


cdef inline void* _capsule_pointer(object capsules, str name) except NULL:
    capsule = capsules[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef inline int load_blas() except -1:
    """Look up scipy's dgemm and sgemm; call once, at import, before any gemm."""
    global fsgd_dgemm, fsgd_sgemm
    from scipy.linalg import cython_blas

    fsgd_dgemm = <fsgd_dgemm_t> _capsule_pointer(cython_blas.__pyx_capi__, "dgemm")
    fsgd_sgemm = <fsgd_sgemm_t> _capsule_pointer(cython_blas.__pyx_capi__, "sgemm")
    return 0


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
        fsgd_dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb,
                   <double*> a, &lda, &beta, c, &ldc)
    else:
        fsgd_sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb,
                   <float*> a, &lda, &beta, c, &ldc)
