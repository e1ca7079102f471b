# cython: language_level=3
"""Compiled arithmetic of fastsgd.

Python owns validation, allocation, randomness and policy (``_epoch_loop.py``); this
module owns only the arithmetic on buffers that Python allocated once per fit. One
call trains one epoch (or one segment of an epoch) without the GIL and without
allocating.

The boundary is typed: ``Layout`` (the network), ``TrainingData`` (the rows,
checked once per fit) and ``UpdateRule`` (settings and named state) go into
``train_epoch``, ``loss_and_gradient`` and ``forward``, which check the rest of
what they are given before any pointer arithmetic, so the loops below only ever see
consistent buffers; ``choose_path`` picks the epoch kernel. A build with
``FASTSGD_DEBUG=1`` also checks every span the loops touch (``check_span``) and turns
on Cython's bounds checks, so that a wrong offset raises ``IndexError``.

Parameters live in one flat buffer laid out as scikit-learn's ``_pack`` lays them
out: every layer's coefficients, row-major ``(fan_in, fan_out)``, then every layer's
intercepts. Optimizer state and gradients use the same layout, so one update loop
serves every layer.
"""
import os

import numpy as np

from cython cimport floating
from libc.math cimport isfinite, pow, sqrt
from libc.string cimport memcpy, memset

from fastsgd._blas cimport gemm, load_blas

load_blas()

cdef extern from "kernel_table.h" nogil:
    bint FASTSGD_DEBUG
    bint FSGD_LIBMVEC               # exp and log from glibc's vector math
    bint FSGD_LIBMVEC_TANH          # tanh too
    # Update rules: what scikit-learn's SGDOptimizer / AdamOptimizer do to a parameter.
    enum:
        SGD "FSGD_SGD"              # w -= lr * g
        MOMENTUM "FSGD_MOMENTUM"    # v = mu * v - lr * g; w += v
        NESTEROV "FSGD_NESTEROV"    # v = mu * v - lr * g; w += mu * v - lr * g
        ADAM "FSGD_ADAM"            # bias-corrected Adam
    ctypedef struct fsgd_opt:
        int rule
        double lr                   # this epoch's learning rate (Adam: the initial one)
        double momentum
        double beta1
        double beta2
        double epsilon
        double alpha
        long long t                 # Adam: updates so far
        double step_lr              # learning rate of the current step
    ctypedef struct fsgd_kernels:
        # One variant of the loops (csrc/kernel_table.h): the instruction set it was
        # compiled for, as FASTSGD_ISA names it, its compiler flags, its vector width
        # and number of vector registers.
        const char* name
        const char* flags
        int vbytes
        int nreg
        double (*sumsq_d)(const double* a, Py_ssize_t n) noexcept nogil
        double (*sumsq_f)(const float* a, Py_ssize_t n) noexcept nogil
        double (*update_d)(const fsgd_opt* o, double* w, double* s1, double* s2,
                           const double* d, Py_ssize_t n, double gs,
                           double a) noexcept nogil
        double (*update_f)(const fsgd_opt* o, float* w, float* s1, float* s2,
                           const float* d, Py_ssize_t n, float gs,
                           float a) noexcept nogil
        double (*sweep_hidden_d)(const fsgd_opt* o, double* W, double* S1, double* S2,
                                 Py_ssize_t n_in, Py_ssize_t n_out, const double* d_out,
                                 const double* a_in, double* d_in, double inv_sw,
                                 double a, int relu_input) noexcept nogil
        double (*sweep_hidden_f)(const fsgd_opt* o, float* W, float* S1, float* S2,
                                 Py_ssize_t n_in, Py_ssize_t n_out, const float* d_out,
                                 const float* a_in, float* d_in, float inv_sw, float a,
                                 int relu_input) noexcept nogil
        double (*sweep_first_d)(const fsgd_opt* o, double* W, double* S1, double* S2,
                                Py_ssize_t n_in, Py_ssize_t n_out, const double* d,
                                const double* x, const double* xn, double* out,
                                double inv_sw, double a) noexcept nogil
        double (*sweep_first_f)(const fsgd_opt* o, float* W, float* S1, float* S2,
                                Py_ssize_t n_in, Py_ssize_t n_out, const float* d,
                                const float* x, const float* xn, float* out,
                                float inv_sw, float a) noexcept nogil
        double (*floor_sweep_d)(const fsgd_opt* o, double* W, double* S1, double* S2,
                                Py_ssize_t n_in, Py_ssize_t n_out, const double* d,
                                const double* x, double inv_sw, double a,
                                int tiled) noexcept nogil
        double (*floor_sweep_f)(const fsgd_opt* o, float* W, float* S1, float* S2,
                                Py_ssize_t n_in, Py_ssize_t n_out, const float* d,
                                const float* x, float inv_sw, float a,
                                int tiled) noexcept nogil
        double (*grad_step_first_d)(const fsgd_opt* o, double* W, double* S1,
                                    Py_ssize_t n_in, Py_ssize_t n_out, const double* X0,
                                    Py_ssize_t ldx, Py_ssize_t c, const double* d0,
                                    double inv_sw, double a) noexcept nogil
        double (*grad_step_first_f)(const fsgd_opt* o, float* W, float* S1,
                                    Py_ssize_t n_in, Py_ssize_t n_out, const float* X0,
                                    Py_ssize_t ldx, Py_ssize_t c, const float* d0,
                                    float inv_sw, float a) noexcept nogil
        void (*gemv_rows_d)(double* out, const double* x, const double* W,
                            Py_ssize_t n_in, Py_ssize_t n_out,
                            int in_order) noexcept nogil
        void (*gemv_rows_f)(float* out, const float* x, const float* W, Py_ssize_t n_in,
                            Py_ssize_t n_out, int in_order) noexcept nogil
        void (*gather_rows_d)(double* out, const double* vals, const Py_ssize_t* idx,
                              Py_ssize_t nnz, const double* W,
                              Py_ssize_t n_out) noexcept nogil
        void (*gather_rows_f)(float* out, const float* vals, const Py_ssize_t* idx,
                              Py_ssize_t nnz, const float* W,
                              Py_ssize_t n_out) noexcept nogil
        void (*activate_d)(double* z, Py_ssize_t rows, Py_ssize_t cols,
                           int kind) noexcept nogil
        void (*activate_f)(float* z, Py_ssize_t rows, Py_ssize_t cols,
                           int kind) noexcept nogil
        void (*backprop_activation_d)(double* delta, const double* a, Py_ssize_t n,
                                      int kind) noexcept nogil
        void (*backprop_activation_f)(float* delta, const float* a, Py_ssize_t n,
                                      int kind) noexcept nogil
        void (*window_sweep_d)(double* W, Py_ssize_t n_in, Py_ssize_t n_out,
                               const double* XT, const double* U, Py_ssize_t n_pending,
                               const double* XTn, double* F) noexcept nogil
        void (*window_sweep_f)(float* W, Py_ssize_t n_in, Py_ssize_t n_out,
                               const float* XT, const float* U, Py_ssize_t n_pending,
                               const float* XTn, float* F) noexcept nogil
        void (*window_gram_d)(const double* XT, Py_ssize_t nf, double* G) noexcept nogil
        void (*window_gram_f)(const float* XT, Py_ssize_t nf, float* G) noexcept nogil
        void (*window_forward_d)(double* out, const double* b, const double* F,
                                 const double* G, Py_ssize_t q, const double* U,
                                 Py_ssize_t n_out) noexcept nogil
        void (*window_forward_f)(float* out, const float* b, const float* F,
                                 const float* G, Py_ssize_t q, const float* U,
                                 Py_ssize_t n_out) noexcept nogil
        void (*tforward_d)(double* out, const double* b, const double* WT,
                           const double* h, Py_ssize_t n_in,
                           Py_ssize_t n_out) noexcept nogil
        void (*tforward_f)(float* out, const float* b, const float* WT, const float* h,
                           Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil
        double (*sweep_transposed_d)(const fsgd_opt* o, double* WT, double* S1,
                                     double* S2, Py_ssize_t n_in, Py_ssize_t n_out,
                                     const double* d_out, const double* a_in,
                                     double* d_in, double inv_sw,
                                     double a) noexcept nogil
        double (*sweep_transposed_f)(const fsgd_opt* o, float* WT, float* S1,
                                     float* S2, Py_ssize_t n_in, Py_ssize_t n_out,
                                     const float* d_out, const float* a_in,
                                     float* d_in, float inv_sw, float a) noexcept nogil
        void (*transpose_d)(double* dst, const double* src, Py_ssize_t rows,
                            Py_ssize_t cols) noexcept nogil
        void (*transpose_f)(float* dst, const float* src, Py_ssize_t rows,
                            Py_ssize_t cols) noexcept nogil
        double (*online_step2_d)(double* acts, double* deltas, Py_ssize_t u1,
                                 Py_ssize_t K, int hidden, int output, double* b0,
                                 double* b1, double* WT, const double* F,
                                 const double* G, double* U, Py_ssize_t q,
                                 const double* y, double w, double lr) noexcept nogil
        double (*online_step2_f)(float* acts, float* deltas, Py_ssize_t u1,
                                 Py_ssize_t K, int hidden, int output, float* b0,
                                 float* b1, float* WT, const float* F, const float* G,
                                 float* U, Py_ssize_t q, const float* y, float w,
                                 float lr) noexcept nogil
        void (*math_d)(double* z, Py_ssize_t n, int fn) noexcept nogil
        void (*math_f)(float* z, Py_ssize_t n, int fn) noexcept nogil
        double (*row_loss_d)(const double* p, const double* y, Py_ssize_t k,
                             int output) noexcept nogil
        double (*row_loss_f)(const float* p, const float* y, Py_ssize_t k,
                             int output) noexcept nogil
    const fsgd_kernels* fsgd_active          # the variant in use
    const fsgd_kernels* const* fsgd_variants  # every variant built, baseline first
    const int fsgd_n_variants
    int fsgd_cpu_runs(int i)
    int fsgd_select(int i)
    enum:
        WIN "FSGD_WIN"
ctypedef fsgd_opt Opt     # the optimizer's settings for one kernel call


# True in a FASTSGD_DEBUG=1 build: bounds checks on, workspaces poisoned with NaN.
DEBUG = bool(FASTSGD_DEBUG)
# The functions whose loops call glibc's vector variants (libmvec, found by
# setup.py at build time); the others call libm one element at a time.
VECTOR_MATH = (("exp", "log") if FSGD_LIBMVEC else ()) + (
    ("tanh",) if FSGD_LIBMVEC_TANH else ())

# Activation functions, named as scikit-learn's ACTIVATIONS names them. The first
# four are hidden activations; an output layer uses identity (squared error),
# logistic (binary log loss), exp (Poisson) or softmax (log loss).
cdef extern from "kernel_table.h" nogil:
    enum:
        IDENTITY "FSGD_IDENTITY"
        LOGISTIC "FSGD_LOGISTIC"
        TANH "FSGD_TANH"
        RELU "FSGD_RELU"
        EXP "FSGD_EXP"
        SOFTMAX "FSGD_SOFTMAX"

cdef extern from "_build_config.h":
    const char* FSGD_BUILD_COMPILER
    const char* FSGD_BUILD_FLAGS
    bint FSGD_BUILD_NATIVE

# How the extension was built (setup.py), for fastsgd.show_config().
BUILD = {
    "compiler": FSGD_BUILD_COMPILER.decode(),
    "flags": FSGD_BUILD_FLAGS.decode(),
    "native": bool(FSGD_BUILD_NATIVE),
}


def isa_paths():
    """Every instruction-set path built, baseline first, as ``(name, flags,
    vector_bytes, cpu_runs_it)``; the names are those ``FASTSGD_ISA`` takes."""
    return [
        (fsgd_variants[i].name.decode(), fsgd_variants[i].flags.decode(),
         fsgd_variants[i].vbytes, bool(fsgd_cpu_runs(i)))
        for i in range(fsgd_n_variants)
    ]


def isa_in_use():
    """The name of the instruction-set path the kernels run on."""
    return fsgd_active.name.decode()


def use_isa(name=None):
    """Run the kernels on the path ``name``, or on the best this CPU runs (None).

    Raises ``ValueError``, naming the paths the CPU runs, for a path that was not
    built or that this CPU cannot run. Returns the name of the path now in use.
    """
    paths = isa_paths()
    runnable = [p[0] for p in paths if p[3]]
    if name is None:
        name = runnable[len(runnable) - 1]   # wraparound is off
    names = [p[0] for p in paths]
    if name not in names:
        raise ValueError(
            f"FASTSGD_ISA={name!r} is not a kernel path of this build; this CPU "
            f"can run: {', '.join(runnable)}"
        )
    if fsgd_select(names.index(name)) != 0:
        raise ValueError(
            f"FASTSGD_ISA={name!r}: this CPU cannot run that kernel path; it can "
            f"run: {', '.join(runnable)}"
        )
    return name


# Chosen once at import: the best path the CPU runs, unless FASTSGD_ISA names one.
use_isa(os.environ.get("FASTSGD_ISA", "").strip().lower() or None)


ACTIVATIONS = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH,
               "relu": RELU, "exp": EXP, "softmax": SOFTMAX}

UPDATE_RULES = {"sgd": SGD, "momentum": MOMENTUM, "nesterov": NESTEROV, "adam": ADAM}


cdef struct Net:
    Py_ssize_t n_layers          # weight layers
    const Py_ssize_t* units      # n_layers + 1 widths, input first
    const Py_ssize_t* coef_off   # where a layer's coefficients start
    const Py_ssize_t* icpt_off   # where a layer's intercepts start
    const Py_ssize_t* act_off    # where a layer's output starts in a row of activations
    Py_ssize_t work_units        # sum(units[1:]), rounded up: a row of activations
    Py_ssize_t n_coefs
    Py_ssize_t n_params
    int hidden
    int output


cdef struct Data:
    const void* X                # dense (n_rows, n_features), or NULL for CSR
    const void* X_data           # CSR values, indices and row pointers
    const Py_ssize_t* X_indices
    const Py_ssize_t* X_indptr
    const void* Y                # (n_rows, n_outputs)
    const void* sw               # (n_rows,) sample weights
    Py_ssize_t n_rows


# ---------------------------------------------------------------------------------
# Scalar helpers

cdef inline int check_span(Py_ssize_t off, Py_ssize_t n,
                           Py_ssize_t size) except -1 nogil:
    """In a debug build, fail loudly when ``[off, off + n)`` leaves a buffer."""
    if FASTSGD_DEBUG:
        if off < 0 or n < 0 or off + n > size:
            with gil:
                raise IndexError(
                    f"kernel span [{off}, {off + n}) outside a buffer of {size}")
    return 0


cdef inline double sumsq(const floating* a, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fsgd_active.sumsq_f(a, n)
    else:
        return fsgd_active.sumsq_d(a, n)


cdef inline floating* shift(floating* p, Py_ssize_t off) noexcept nogil:
    """``p + off``, keeping NULL (an absent optimizer state) NULL."""
    return p + off if p != NULL else NULL


cdef inline void axpy(floating a, const floating* x, floating* y,
                      Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        y[j] += a * x[j]


# Typed entry points to the vectorised loops of csrc/ (documented there).

cdef inline double update(const fsgd_opt* o, floating* w, floating* s1, floating* s2,
                          const floating* d, Py_ssize_t n, floating gs,
                          floating a) noexcept nogil:
    """One step of ``o.rule`` on ``w[:n]`` with gradient ``gs * d + a * w``;
    returns sum(w**2) before it when ``a != 0``."""
    if floating is float:
        return fsgd_active.update_f(o, w, s1, s2, d, n, gs, a)
    else:
        return fsgd_active.update_d(o, w, s1, s2, d, n, gs, a)


cdef inline void gemv_rows(floating* out, const floating* x, const floating* W,
                           Py_ssize_t n_in, Py_ssize_t n_out,
                           bint in_order=False) noexcept nogil:
    """``out += x @ W`` for W of shape (n_in, n_out), skipping the zeros of x;
    ``in_order`` rounds as the forward pass fused into ``sweep_first`` does."""
    if floating is float:
        fsgd_active.gemv_rows_f(out, x, W, n_in, n_out, in_order)
    else:
        fsgd_active.gemv_rows_d(out, x, W, n_in, n_out, in_order)


cdef inline void gather_rows(floating* out, const floating* vals,
                             const Py_ssize_t* idx, Py_ssize_t nnz,
                             const floating* W, Py_ssize_t n_out) noexcept nogil:
    """``out += vals @ W[idx]``: a CSR row times W."""
    if floating is float:
        fsgd_active.gather_rows_f(out, vals, idx, nnz, W, n_out)
    else:
        fsgd_active.gather_rows_d(out, vals, idx, nnz, W, n_out)


# ---------------------------------------------------------------------------------
# Activations, their derivatives, losses

cdef inline void activate_rows(floating* z, Py_ssize_t rows, Py_ssize_t cols,
                               int kind) noexcept nogil:
    """Apply activation ``kind`` in place to a row-major (rows, cols) block."""
    if floating is float:
        fsgd_active.activate_f(z, rows, cols, kind)
    else:
        fsgd_active.activate_d(z, rows, cols, kind)


cdef inline void backprop_activation(floating* delta, const floating* a,
                                     Py_ssize_t n, int kind) noexcept nogil:
    """Multiply ``delta`` by the activation's derivative, written in its output."""
    if floating is float:
        fsgd_active.backprop_activation_f(delta, a, n, kind)
    else:
        fsgd_active.backprop_activation_d(delta, a, n, kind)


cdef inline double row_loss(const floating* p, const floating* y, Py_ssize_t k,
                            int output) noexcept nogil:
    """One sample's loss, as scikit-learn's LOSS_FUNCTIONS compute it."""
    if floating is float:
        return fsgd_active.row_loss_f(p, y, k, output)
    else:
        return fsgd_active.row_loss_d(p, y, k, output)


cdef double loss_and_output_delta(Net* net, const floating* out, floating* delta,
                                  Py_ssize_t c, Data* d, const Py_ssize_t* rows,
                                  Py_ssize_t row0) noexcept nogil:
    """Sum of ``sw * loss`` over a chunk; writes ``delta = (out - y) * sw``.

    Chunk row ``r`` is sample ``rows[r]``, or ``row0 + r`` when ``rows`` is NULL.
    """
    cdef Py_ssize_t k = net.units[net.n_layers], r, j, i
    cdef const floating* Y = <const floating*> d.Y
    cdef const floating* sw = <const floating*> d.sw
    cdef const floating* y
    cdef floating w
    cdef double total = 0
    for r in range(c):
        i = rows[r] if rows != NULL else row0 + r
        y = Y + i * k
        w = sw[i]
        total += w * row_loss(out + r * k, y, k, net.output)
        for j in range(k):
            delta[r * k + j] = (out[r * k + j] - y[j]) * w
    return total


# ---------------------------------------------------------------------------------
# The optimizer step

cdef inline void begin_step(Opt* o) noexcept nogil:
    """Advance Adam's step count and set this step's learning rate."""
    if o.rule == ADAM:
        o.t += 1
        o.step_lr = (o.lr * sqrt(1 - pow(o.beta2, <double> o.t))
                     / (1 - pow(o.beta1, <double> o.t)))
    else:
        o.step_lr = o.lr


cdef double apply_update(Net* net, floating* P, floating* G, floating* S1,
                         floating* S2, Opt* o, double inv_sw,
                         const floating* X0=NULL, const floating* d0=NULL,
                         Py_ssize_t c=0) noexcept nogil:
    """One step from the summed batch gradient ``G``; returns sum(coefs**2) before
    it (for the loss's L2 term) when alpha > 0.

    The gradient is ``inv_sw * G + alpha * inv_sw * w``: ``inv_sw`` is 1 / the
    batch's sample-weight sum, which is how scikit-learn scales alpha.

    Given the batch's ``c`` dense input rows ``X0`` and layer 0's deltas ``d0``,
    layer 0's coefficient gradient ``X0.T @ d0`` is computed here: a register block
    of weights at a time, each stepped as soon as its gradient is summed (Adam: a
    block of rows at a time by gemm, each block stepped while it is still in
    cache). The gradient of the largest layer never travels to memory and back.
    """
    cdef Py_ssize_t nc = net.n_coefs, n_in = net.units[0], n_out = net.units[1]
    cdef Py_ssize_t r0, rb, off, block = max(1, 16384 // n_out), start = 0
    cdef floating a = o.alpha * inv_sw
    cdef double sq = 0
    begin_step(o)
    if X0 != NULL and o.rule != ADAM and fsgd_active.nreg >= 32:
        # Each weight's gradient summed in registers and stepped at once (with 16
        # vector registers the blocks are too small to beat gemm: the branch below).
        start = n_in * n_out
        check_span(0, start, nc)
        if floating is float:
            sq = fsgd_active.grad_step_first_f(o, P, S1, n_in, n_out, X0, n_in, c, d0,
                                               <floating> inv_sw, a)
        else:
            sq = fsgd_active.grad_step_first_d(o, P, S1, n_in, n_out, X0, n_in, c, d0,
                                               <floating> inv_sw, a)
    elif X0 != NULL:
        start = n_in * n_out
        r0 = 0
        while r0 < n_in:
            rb = min(block, n_in - r0)
            off = r0 * n_out
            gemm(True, False, <int> rb, <int> n_out, <int> c, <floating> 1, X0 + r0,
                 <int> n_in, d0, <int> n_out, <floating> 0, G + off, <int> n_out)
            sq += update(o, P + off, shift(S1, off), shift(S2, off), G + off,
                         rb * n_out, <floating> inv_sw, a)
            r0 += rb
    sq += update(o, P + start, shift(S1, start), shift(S2, start), G + start,
                 nc - start, <floating> inv_sw, a)
    update(o, P + nc, shift(S1, nc), shift(S2, nc), G + nc, net.n_params - nc,
           <floating> inv_sw, <floating> 0)
    return sq


# ---------------------------------------------------------------------------------
# Mini-batch and full batch: gemm over chunks of rows

cdef const floating* input_rows(Net* net, Data* d, const Py_ssize_t* rows,
                                Py_ssize_t row0, Py_ssize_t c,
                                floating* xbuf) noexcept nogil:
    """The chunk's dense input rows, contiguous: X itself when the rows are
    consecutive, else gathered into ``xbuf``. NULL for CSR input."""
    cdef const floating* X = <const floating*> d.X
    cdef Py_ssize_t nf = net.units[0], r
    if X == NULL:
        return NULL
    if rows == NULL:
        return X + row0 * nf
    for r in range(1, c):
        if rows[r] != rows[0] + r:
            break
    else:
        return X + rows[0] * nf
    for r in range(c):
        memcpy(xbuf + r * nf, X + rows[r] * nf, nf * sizeof(floating))
    return xbuf


cdef void csr_forward(Data* d, const Py_ssize_t* rows, Py_ssize_t row0,
                      Py_ssize_t c, const floating* W, Py_ssize_t n_out,
                      floating* out) noexcept nogil:
    """``out[r] = X[row] @ W`` for CSR rows: only the non-zeros' rows of W are read."""
    cdef const floating* data = <const floating*> d.X_data
    cdef Py_ssize_t r, i, start
    for r in range(c):
        i = rows[r] if rows != NULL else row0 + r
        start = d.X_indptr[i]
        memset(out + r * n_out, 0, n_out * sizeof(floating))
        gather_rows(out + r * n_out, data + start, d.X_indices + start,
                    d.X_indptr[i + 1] - start, W, n_out)


cdef void csr_gradient(Data* d, const Py_ssize_t* rows, Py_ssize_t row0,
                       Py_ssize_t c, const floating* delta, Py_ssize_t n_out,
                       floating* G) noexcept nogil:
    """``G += X[rows].T @ delta`` for CSR rows (``row0 + r`` when ``rows`` is NULL)."""
    cdef const floating* data = <const floating*> d.X_data
    cdef Py_ssize_t r, i, p
    for r in range(c):
        i = rows[r] if rows != NULL else row0 + r
        for p in range(d.X_indptr[i], d.X_indptr[i + 1]):
            axpy(data[p], delta + r * n_out, G + d.X_indices[p] * n_out, n_out)


cdef void chunk_forward(Net* net, const floating* P, floating* acts, Py_ssize_t c,
                        const floating* X0, Data* d, const Py_ssize_t* rows,
                        Py_ssize_t row0) noexcept nogil:
    """Forward pass of ``c`` rows; a layer's output lands at ``acts + c * act_off``.

    ``X0`` holds the dense input rows; when it is NULL the rows come from CSR input.
    """
    cdef Py_ssize_t layer, r, j, n_in, n_out, L = net.n_layers
    cdef floating* out
    cdef const floating* b
    for layer in range(L):
        n_in = net.units[layer]
        n_out = net.units[layer + 1]
        out = acts + c * net.act_off[layer]
        if layer > 0:
            gemm(False, False, <int> c, <int> n_out, <int> n_in, <floating> 1,
                 acts + c * net.act_off[layer - 1], <int> n_in, P + net.coef_off[layer],
                 <int> n_out, <floating> 0, out, <int> n_out)
        elif X0 != NULL:
            gemm(False, False, <int> c, <int> n_out, <int> n_in, <floating> 1,
                 X0, <int> n_in, P + net.coef_off[0], <int> n_out, <floating> 0,
                 out, <int> n_out)
        else:
            csr_forward(d, rows, row0, c, P + net.coef_off[0], n_out, out)
        b = P + net.icpt_off[layer]
        for r in range(c):
            for j in range(n_out):
                out[r * n_out + j] += b[j]
        activate_rows(out, c, n_out, net.hidden if layer < L - 1 else net.output)


cdef void chunk_backward(Net* net, const floating* P, floating* G, floating* acts,
                         floating* deltas, Py_ssize_t c, const floating* X0,
                         Data* d, const Py_ssize_t* rows, Py_ssize_t row0,
                         bint first, bint defer_first=False) noexcept nogil:
    """Add the chunk's summed gradient to ``G`` (overwrite it when ``first``).

    Expects the output layer's delta in place; leaves every layer's delta there.
    ``defer_first`` leaves out layer 0's coefficient gradient for dense input
    (``apply_update`` computes it block by block).
    """
    cdef Py_ssize_t layer, r, j, n_in, n_out
    cdef floating* d_out
    cdef floating* gb
    cdef const floating* a_in
    cdef floating beta = 0 if first else 1
    for layer in range(net.n_layers - 1, -1, -1):
        n_in = net.units[layer]
        n_out = net.units[layer + 1]
        d_out = deltas + c * net.act_off[layer]
        a_in = X0 if layer == 0 else acts + c * net.act_off[layer - 1]
        if a_in != NULL:
            if layer > 0 or not defer_first:
                gemm(True, False, <int> n_in, <int> n_out, <int> c, <floating> 1,
                     a_in, <int> n_in, d_out, <int> n_out, beta,
                     G + net.coef_off[layer], <int> n_out)
        else:
            if first:
                memset(G + net.coef_off[0], 0, n_in * n_out * sizeof(floating))
            csr_gradient(d, rows, row0, c, d_out, n_out, G + net.coef_off[0])
        gb = G + net.icpt_off[layer]
        if first:
            memset(gb, 0, n_out * sizeof(floating))
        for r in range(c):
            for j in range(n_out):
                gb[j] += d_out[r * n_out + j]
        if layer > 0:
            gemm(False, True, <int> c, <int> n_in, <int> n_out, <floating> 1,
                 d_out, <int> n_out, P + net.coef_off[layer], <int> n_out,
                 <floating> 0, deltas + c * net.act_off[layer - 1], <int> n_in)
            backprop_activation(deltas + c * net.act_off[layer - 1], a_in, c * n_in,
                                net.hidden)


cdef double batch_gradient(Net* net, const floating* P, floating* G, floating* work,
                           Py_ssize_t work_size, Data* d, const Py_ssize_t* rows,
                           Py_ssize_t row0, Py_ssize_t n, Py_ssize_t chunk,
                           double* sw_sum,
                           const floating** X0_out=NULL) except? -1 nogil:
    """Sum the gradient of ``n`` rows into ``G`` chunk by chunk; return sum(sw*loss).

    With ``X0_out`` (dense input in one chunk), layer 0's coefficient gradient is
    left out and ``X0_out`` set to the chunk's input rows, for ``apply_update``.

    Memory stays bounded by ``chunk`` rows whatever ``n`` is (full batch).
    """
    cdef floating* acts = work
    cdef floating* deltas
    cdef floating* xbuf
    cdef const floating* X0
    cdef const floating* sw = <const floating*> d.sw
    cdef const Py_ssize_t* crows
    cdef Py_ssize_t s, c, r, L = net.n_layers, nf = net.units[0]
    cdef double total = 0
    sw_sum[0] = 0
    for r in range(n):
        sw_sum[0] += sw[rows[r] if rows != NULL else row0 + r]
    if sw_sum[0] <= 0:
        return 0
    s = 0
    while s < n:
        c = min(chunk, n - s)
        deltas = work + c * net.work_units
        xbuf = work + 2 * c * net.work_units
        check_span(0, 2 * c * net.work_units + (c * nf if d.X != NULL else 0),
                   work_size)
        crows = rows + s if rows != NULL else NULL
        X0 = input_rows(net, d, crows, row0 + s, c, xbuf)
        chunk_forward(net, P, acts, c, X0, d, crows, row0 + s)
        total += loss_and_output_delta(
            net, acts + c * net.act_off[L - 1], deltas + c * net.act_off[L - 1], c,
            d, crows, row0 + s)
        chunk_backward(net, P, G, acts, deltas, c, X0, d, crows, row0 + s, s == 0,
                       X0_out != NULL)
        if X0_out != NULL:
            X0_out[0] = X0
        s += c
    return total


cdef double minibatch_epoch(Net* net, floating* P, floating* S1, floating* S2,
                            floating* G, floating* work, Py_ssize_t work_size,
                            Data* d, const Py_ssize_t* order, Py_ssize_t n,
                            Py_ssize_t batch_size, Py_ssize_t chunk,
                            Opt* o) except? -1 nogil:
    """One pass over ``order`` in batches, as scikit-learn's gen_batches cuts them
    (the last batch may be smaller). Returns sum(batch loss * batch length)."""
    cdef Py_ssize_t s, nb
    cdef double sw_sum, data_loss, sq, total = 0
    cdef const floating* X0
    s = 0
    while s < n:
        nb = min(batch_size, n - s)
        X0 = NULL
        if nb <= chunk and d.X != NULL:
            # One chunk of dense rows: layer 0's gradient is left to apply_update.
            data_loss = batch_gradient(net, P, G, work, work_size, d, order + s, 0,
                                       nb, chunk, &sw_sum, &X0)
        else:
            data_loss = batch_gradient(net, P, G, work, work_size, d, order + s, 0,
                                       nb, chunk, &sw_sum)
        s += nb
        if sw_sum <= 0:       # a batch of zero weight has no gradient: no step
            continue
        sq = apply_update(net, P, G, S1, S2, o, 1 / sw_sum, X0,
                          work + nb * net.work_units, nb)
        total += (data_loss / sw_sum + 0.5 * o.alpha * sq / sw_sum) * nb
    return total


# ---------------------------------------------------------------------------------
# On-line (batch size 1): one sample at a time, fused sweeps over the weights

cdef void online_forward_hidden(Net* net, const floating* P, floating* acts,
                                const floating* WT=NULL) noexcept nogil:
    """Activate layer 0's output (already summed) and run the layers after it;
    the last layer from its transposed copy ``WT`` when given."""
    cdef Py_ssize_t layer, L = net.n_layers
    cdef Py_ssize_t n_in, n_out
    cdef floating* out
    activate_rows(acts, 1, net.units[1], net.hidden if L > 1 else net.output)
    for layer in range(1, L):
        n_in = net.units[layer]
        n_out = net.units[layer + 1]
        out = acts + net.act_off[layer]
        if layer == L - 1 and WT != NULL:
            if floating is float:
                fsgd_active.tforward_f(out, P + net.icpt_off[layer], WT,
                                       acts + net.act_off[layer - 1], n_in, n_out)
            else:
                fsgd_active.tforward_d(out, P + net.icpt_off[layer], WT,
                                       acts + net.act_off[layer - 1], n_in, n_out)
        else:
            memcpy(out, P + net.icpt_off[layer], n_out * sizeof(floating))
            gemv_rows(out, acts + net.act_off[layer - 1], P + net.coef_off[layer],
                      n_in, n_out)
        activate_rows(out, 1, n_out, net.hidden if layer < L - 1 else net.output)


cdef void online_forward_first(Net* net, const floating* P, Data* d, Py_ssize_t row,
                               floating* out) noexcept nogil:
    """``out = X[row] @ W0 + b0`` (before activation)."""
    cdef Py_ssize_t u1 = net.units[1], nf = net.units[0], start
    memcpy(out, P + net.icpt_off[0], u1 * sizeof(floating))
    if d.X == NULL:
        start = d.X_indptr[row]
        gather_rows(out, <const floating*> d.X_data + start, d.X_indices + start,
                    d.X_indptr[row + 1] - start, P + net.coef_off[0], u1)
    else:
        # In the fused sweep's order: the first sample of a call (or one after a
        # zero-weight sample) then rounds as if the sweep had summed it, and
        # partial_fit over chunks trains bit for bit like one fit.
        gemv_rows(out, <const floating*> d.X + row * nf, P + net.coef_off[0], nf, u1,
                  True)


cdef inline double sweep_transposed(Opt* o, floating* WT, floating* S1, floating* S2,
                                    Py_ssize_t n_in, Py_ssize_t n_out,
                                    const floating* d_out, const floating* a_in,
                                    floating* d_in, floating inv_sw,
                                    floating a) noexcept nogil:
    if floating is float:
        return fsgd_active.sweep_transposed_f(o, WT, S1, S2, n_in, n_out, d_out,
                                              a_in, d_in, inv_sw, a)
    else:
        return fsgd_active.sweep_transposed_d(o, WT, S1, S2, n_in, n_out, d_out,
                                              a_in, d_in, inv_sw, a)


cdef inline bint last_layer_narrow(Net* net, size_t itemsize) noexcept nogil:
    """Whether the on-line kernels keep the last layer transposed: after a hidden
    layer, and at most four vectors wide, where its rows are too short for the
    row-by-row sweep (csrc/online.h, "a narrow last layer")."""
    return (net.n_layers >= 2 and
            net.units[net.n_layers] * itemsize <= 4 * <size_t> fsgd_active.vbytes)


cdef void transpose_last_layer(Net* net, floating* P, floating* S1, floating* S2,
                               floating* T, bint back) noexcept nogil:
    """Copy the last layer's weights to ``T`` transposed, then its state in ``S1``
    and ``S2`` where not NULL (each the layer's size further on); with ``back``,
    copy them back from ``T``."""
    cdef Py_ssize_t L = net.n_layers, off = net.coef_off[L - 1]
    cdef Py_ssize_t m = net.units[L - 1], K = net.units[L], k
    cdef floating* part[3]
    part[0] = P
    part[1] = S1
    part[2] = S2
    for k in range(3):
        if part[k] == NULL:
            continue
        if back:
            transpose(part[k] + off, T + k * m * K, K, m)
        else:
            transpose(T + k * m * K, part[k] + off, m, K)


cdef double online_sweep_hidden(Net* net, floating* P, floating* S1, floating* S2,
                                floating* acts, floating* deltas, Py_ssize_t layer,
                                floating inv_sw, Opt* o,
                                floating* T=NULL) noexcept nogil:
    """Backward through layer ``layer`` >= 1 and update it, in one sweep of its rows.

    Each row is read once: its dot with the delta (with the weights before the step,
    as scikit-learn computes every gradient before any update), then its update;
    below a ReLU layer the rows of inactive units need no dot. With ``T``, the
    layer's transposed copy (``transpose_last_layer``), that copy is swept instead.
    Returns the sum of squares of the old weights when alpha > 0.
    """
    cdef Py_ssize_t n_in = net.units[layer], n_out = net.units[layer + 1]
    cdef Py_ssize_t off = net.coef_off[layer]
    cdef floating* a_in = acts + net.act_off[layer - 1]
    cdef floating* d_in = deltas + net.act_off[layer - 1]
    cdef const floating* d_out = deltas + net.act_off[layer]
    cdef floating a = o.alpha * inv_sw
    cdef bint relu_input = net.hidden == RELU
    cdef double sq
    cdef Py_ssize_t size = n_in * n_out
    check_span(off, size, net.n_coefs)
    if T != NULL:
        sq = sweep_transposed(o, T, T + size if S1 != NULL else NULL,
                              T + 2 * size if S2 != NULL else NULL, n_in, n_out,
                              d_out, a_in, d_in, inv_sw, a)
    elif floating is float:
        sq = fsgd_active.sweep_hidden_f(o, P + off, shift(S1, off), shift(S2, off),
                                        n_in, n_out, d_out, a_in, d_in, inv_sw, a,
                                        relu_input)
    else:
        sq = fsgd_active.sweep_hidden_d(o, P + off, shift(S1, off), shift(S2, off),
                                        n_in, n_out, d_out, a_in, d_in, inv_sw, a,
                                        relu_input)
    backprop_activation(d_in, a_in, n_in, net.hidden)
    return sq


cdef double sweep_first(Opt* o, floating* W, floating* S1, floating* S2,
                        Py_ssize_t n_in, Py_ssize_t n_out, const floating* d1,
                        const floating* x, const floating* xn, floating* out,
                        floating inv_sw) noexcept nogil:
    cdef floating a = o.alpha * inv_sw
    if floating is float:
        return fsgd_active.sweep_first_f(o, W, S1, S2, n_in, n_out, d1, x, xn, out,
                                         inv_sw, a)
    else:
        return fsgd_active.sweep_first_d(o, W, S1, S2, n_in, n_out, d1, x, xn, out,
                                         inv_sw, a)


cdef double online_sweep_first(Net* net, floating* P, floating* S1, floating* S2,
                               floating* acts, floating* deltas, floating* xdense,
                               Data* d, Py_ssize_t row, Py_ssize_t next_row,
                               floating inv_sw, Opt* o) noexcept nogil:
    """Update layer 0 with sample ``row``'s gradient and, in the same sweep over its
    rows, sum sample ``next_row``'s forward pass with the updated rows (dense input).

    Returns the sum of squares of the old weights when alpha > 0.
    """
    cdef Py_ssize_t p, nf = net.units[0], u1 = net.units[1]
    cdef Py_ssize_t off = net.coef_off[0]
    cdef const floating* xn = NULL
    cdef const floating* data = <const floating*> d.X_data
    cdef double sq = 0
    if d.X == NULL:
        if o.rule == SGD and o.alpha == 0:
            # Plain SGD moves only the rows of this sample's non-zeros.
            for p in range(d.X_indptr[row], d.X_indptr[row + 1]):
                update(o, P + off + d.X_indices[p] * u1, <floating*> NULL,
                       <floating*> NULL, deltas, u1, data[p] * inv_sw, <floating> 0)
        else:
            # Every row moves (decay or momentum): sweep them all, exactly.
            for p in range(d.X_indptr[row], d.X_indptr[row + 1]):
                xdense[d.X_indices[p]] = data[p]
            sq = sweep_first(o, P + off, shift(S1, off), shift(S2, off), nf, u1,
                             deltas, xdense, <const floating*> NULL, acts, inv_sw)
            for p in range(d.X_indptr[row], d.X_indptr[row + 1]):
                xdense[d.X_indices[p]] = 0
        if next_row >= 0:
            online_forward_first(net, P, d, next_row, acts)
        return sq
    if next_row >= 0:
        xn = <const floating*> d.X + next_row * nf
        memcpy(acts, P + net.icpt_off[0], u1 * sizeof(floating))
    return sweep_first(o, P + off, shift(S1, off), shift(S2, off), nf, u1, deltas,
                       <const floating*> d.X + row * nf, xn, acts, inv_sw)


cdef double online_epoch(Net* net, floating* P, floating* S1, floating* S2,
                         floating* work, Py_ssize_t work_size, Data* d,
                         const Py_ssize_t* order, Py_ssize_t n,
                         Opt* o) except? -1 nogil:
    """Batch size 1 over ``order``; returns the summed per-sample loss, as
    scikit-learn accumulates it (data loss plus L2 term over the sample weight)."""
    cdef Py_ssize_t k, layer, row, next_row, L = net.n_layers
    cdef floating* acts = work
    cdef floating* deltas = work + net.work_units
    cdef floating* xdense = work + 2 * net.work_units
    cdef floating* T = NULL     # the last layer transposed, with its state
    cdef floating* out = acts + net.act_off[L - 1]
    cdef const floating* sw = <const floating*> d.sw
    cdef floating w, inv_sw
    cdef double loss, sq, total = 0
    check_span(0, 2 * net.work_units + net.units[0], work_size)
    if n == 0:
        return 0
    if last_layer_narrow(net, sizeof(floating)):
        T = xdense + net.units[0]
        check_span(T - work, 3 * net.units[L - 1] * net.units[L], work_size)
        transpose_last_layer(net, P, S1, S2, T, False)
    if d.X == NULL:
        # The CSR path scatters a row into xdense and clears it after: start clean.
        memset(xdense, 0, net.units[0] * sizeof(floating))
    online_forward_first(net, P, d, order[0], acts)
    for k in range(n):
        row = order[k]
        next_row = order[k + 1] if k + 1 < n else -1
        online_forward_hidden(net, P, acts, T)
        w = sw[row]
        loss = loss_and_output_delta(net, out, deltas + net.act_off[L - 1], 1, d,
                                     NULL, row)
        if not w > 0:        # zero weight: no gradient, no step
            if next_row >= 0:
                online_forward_first(net, P, d, next_row, acts)
            continue
        inv_sw = 1 / w
        begin_step(o)
        sq = 0
        for layer in range(L - 1, 0, -1):
            sq += online_sweep_hidden(net, P, S1, S2, acts, deltas, layer, inv_sw, o,
                                      T if layer == L - 1 else NULL)
        for layer in range(L):
            update(o, P + net.icpt_off[layer], shift(S1, net.icpt_off[layer]),
                   shift(S2, net.icpt_off[layer]), deltas + net.act_off[layer],
                   net.units[layer + 1], inv_sw, <floating> 0)
        sq += online_sweep_first(net, P, S1, S2, acts, deltas, xdense, d, row,
                                 next_row, inv_sw, o)
        total += (loss + 0.5 * o.alpha * sq) / w
    if T != NULL:
        transpose_last_layer(net, P, S1, S2, T, True)
    return total


cdef inline void window_sweep(floating* W, Py_ssize_t n_in, Py_ssize_t n_out,
                              const floating* XT, const floating* U,
                              Py_ssize_t n_pending, const floating* XTn,
                              floating* F) noexcept nogil:
    if floating is float:
        fsgd_active.window_sweep_f(W, n_in, n_out, XT, U, n_pending, XTn, F)
    else:
        fsgd_active.window_sweep_d(W, n_in, n_out, XT, U, n_pending, XTn, F)


cdef inline void transpose(floating* dst, const floating* src, Py_ssize_t rows,
                           Py_ssize_t cols) noexcept nogil:
    if floating is float:
        fsgd_active.transpose_f(dst, src, rows, cols)
    else:
        fsgd_active.transpose_d(dst, src, rows, cols)


cdef inline void window_gram(const floating* XT, Py_ssize_t nf,
                             floating* G) noexcept nogil:
    if floating is float:
        fsgd_active.window_gram_f(XT, nf, G)
    else:
        fsgd_active.window_gram_d(XT, nf, G)


cdef void load_window(Data* d, Py_ssize_t nf, const Py_ssize_t* order,
                      Py_ssize_t cnt, const floating* zero,
                      floating* XT) noexcept nogil:
    """Write the window's ``cnt`` input rows (then zero rows) transposed to ``XT``
    (``XT[i * WIN + q]`` is row ``q``'s feature ``i``)."""
    cdef Py_ssize_t q, i
    cdef const floating* x[WIN]
    for q in range(WIN):
        x[q] = <const floating*> d.X + order[q] * nf if q < cnt else zero
    for i in range(nf):
        for q in range(WIN):
            XT[i * WIN + q] = x[q][i]


cdef double online_epoch_window(Net* net, floating* P, floating* work,
                                Py_ssize_t work_size, Data* d,
                                const Py_ssize_t* order, Py_ssize_t n,
                                Opt* o) except? -1 nogil:
    """``online_epoch`` for plain SGD without decay on dense input: the first
    layer's steps are made a window of ``WIN`` samples at a time, each sample's
    forward pass through it corrected for the steps still pending (see
    ``fsgd_window_sweep`` in csrc/window.h). The same updates, but for rounding;
    one sweep over the first layer's weights per window instead of per sample."""
    cdef Py_ssize_t k0, k1, q, cnt, cnt_next, row, layer, L = net.n_layers
    cdef Py_ssize_t nf = net.units[0], u1 = net.units[1], j
    cdef floating* acts = work
    cdef floating* deltas = work + net.work_units
    cdef floating* zero = work + 2 * net.work_units
    cdef floating* XT = zero + nf
    cdef floating* XTn = XT + WIN * nf
    cdef floating* F = XTn + WIN * nf
    cdef floating* U = F + WIN * u1
    cdef floating* G = U + WIN * u1
    cdef floating* WT = NULL
    cdef Py_ssize_t m = net.units[L - 1], K = net.units[L]
    cdef floating* swap
    cdef floating* W0 = P + net.coef_off[0]
    cdef floating* b0 = P + net.icpt_off[0]
    cdef floating* out = acts + net.act_off[L - 1]
    cdef floating* u
    cdef const floating* sw = <const floating*> d.sw
    cdef floating w, inv_sw, s
    cdef double loss, total = 0
    check_span(0, 2 * net.work_units + nf + 2 * WIN * (nf + u1) + WIN * WIN,
               work_size)
    check_span(net.coef_off[0], nf * u1, net.n_coefs)
    check_span(net.coef_off[L - 1], m * K, net.n_coefs)
    if n == 0:
        return 0
    if last_layer_narrow(net, sizeof(floating)):
        WT = G + WIN * WIN
        check_span(WT - work, m * K, work_size)
        transpose_last_layer(net, P, NULL, NULL, WT, False)
    begin_step(o)
    memset(zero, 0, nf * sizeof(floating))
    cnt = min(<Py_ssize_t> WIN, n)
    load_window(d, nf, order, cnt, zero, XT)
    window_sweep(W0, nf, u1, XT, U, 0, XT, F)       # the first window's forward
    window_gram(XT, nf, G)
    k0 = 0
    while k0 < n:
        for q in range(cnt):
            row = order[k0 + q]
            w = sw[row]
            if L == 2 and WT != NULL:
                # One hidden layer and a narrow output: the whole step in C.
                if floating is float:
                    loss = fsgd_active.online_step2_f(
                        acts, deltas, u1, K, net.hidden, net.output, b0,
                        P + net.icpt_off[1], WT, F, G, U, q,
                        <const float*> d.Y + row * K, w, <float> o.step_lr)
                else:
                    loss = fsgd_active.online_step2_d(
                        acts, deltas, u1, K, net.hidden, net.output, b0,
                        P + net.icpt_off[1], WT, F, G, U, q,
                        <const double*> d.Y + row * K, w, o.step_lr)
                if w > 0:
                    total += loss / w
                else:
                    for j in range(nf):
                        XT[j * WIN + q] = 0
                continue
            if floating is float:
                fsgd_active.window_forward_f(acts, b0, F, G, q, U, u1)
            else:
                fsgd_active.window_forward_d(acts, b0, F, G, q, U, u1)
            online_forward_hidden(net, P, acts, WT)
            loss = loss_and_output_delta(net, out, deltas + net.act_off[L - 1], 1, d,
                                         NULL, row)
            u = U + q * u1
            if not w > 0:        # zero weight: no gradient, no step
                memset(u, 0, u1 * sizeof(floating))
                for j in range(nf):
                    XT[j * WIN + q] = 0
                continue
            inv_sw = 1 / w
            s = <floating> o.step_lr * inv_sw
            for layer in range(L - 1, 0, -1):
                online_sweep_hidden(net, P, NULL, NULL, acts, deltas, layer, inv_sw, o,
                                    WT if layer == L - 1 else NULL)
            for layer in range(L):
                update(o, P + net.icpt_off[layer], <floating*> NULL, <floating*> NULL,
                       deltas + net.act_off[layer], net.units[layer + 1], inv_sw,
                       <floating> 0)
            for j in range(u1):
                u[j] = s * deltas[j]
            total += loss / w
        # The window's steps, and the next window's forward passes.
        k1 = k0 + cnt
        cnt_next = min(<Py_ssize_t> WIN, n - k1)
        if cnt_next > 0:
            load_window(d, nf, order + k1, cnt_next, zero, XTn)
            window_sweep(W0, nf, u1, XT, U, cnt, XTn, F)
            window_gram(XTn, nf, G)
        else:
            window_sweep(W0, nf, u1, XT, U, cnt, <const floating*> NULL, F)
        swap = XT
        XT = XTn
        XTn = swap
        k0 = k1
        cnt = cnt_next
    if WT != NULL:
        transpose_last_layer(net, P, NULL, NULL, WT, True)
    return total


# ---------------------------------------------------------------------------------
# Python entry points

cdef class Layout:
    """Where each layer lives in the flat parameter buffer and in a row of the
    activation workspace.

    Parameters
    ----------
    units : sequence of int
        Layer widths, input first, output last.
    hidden : str
        Hidden activation name.
    output : str
        Output activation name.
    """
    cdef readonly Py_ssize_t n_layers, n_coefs, n_params, n_units, work_units
    cdef readonly str hidden, output
    cdef Py_ssize_t[::1] _units, _coef_off, _icpt_off, _act_off
    cdef Net net

    def __init__(self, units, str hidden, str output):
        units = np.array(units, dtype=np.intp)
        if units.ndim != 1 or units.shape[0] < 2 or (units < 1).any():
            raise ValueError(f"layer widths must be >= 1, got {units.tolist()}")
        if units.max() >= 2**31:
            raise ValueError("a layer wider than 2**31 - 1 units is not supported")
        if ACTIVATIONS.get(hidden, -1) not in (IDENTITY, LOGISTIC, TANH, RELU):
            raise ValueError(f"unknown hidden activation {hidden!r}")
        if output not in ("identity", "logistic", "exp", "softmax"):
            raise ValueError(f"unknown output activation {output!r}")
        self.hidden = hidden
        self.output = output
        n_layers = units.shape[0] - 1
        fan_in, fan_out = units[:n_layers], units[1:]
        sizes = fan_in * fan_out
        self.n_layers = n_layers
        self.n_coefs = int(sizes.sum())
        self.n_units = int(fan_out.sum())
        # A row of activations (or deltas) takes a multiple of 16 elements of
        # workspace, so that the regions after it start on a 64-byte line as the
        # workspace does: the SSE2 sweeps fold aligned loads into arithmetic.
        self.work_units = (self.n_units + 15) // 16 * 16
        self.n_params = self.n_coefs + self.n_units
        self._units = units
        # Each offset is the sum of the sizes before it.
        self._coef_off = (np.cumsum(sizes) - sizes).astype(np.intp)
        self._icpt_off = (self.n_coefs + np.cumsum(fan_out) - fan_out).astype(np.intp)
        self._act_off = (np.cumsum(fan_out) - fan_out).astype(np.intp)
        self.net.n_layers = self.n_layers
        self.net.units = &self._units[0]
        self.net.coef_off = &self._coef_off[0]
        self.net.icpt_off = &self._icpt_off[0]
        self.net.act_off = &self._act_off[0]
        self.net.work_units = self.work_units
        self.net.n_coefs = self.n_coefs
        self.net.n_params = self.n_params
        self.net.hidden = ACTIVATIONS[hidden]
        self.net.output = ACTIVATIONS[output]

    def __reduce__(self):
        return Layout, (self.units, self.hidden, self.output)

    @property
    def units(self):
        return np.asarray(self._units).copy()

    @property
    def coef_offsets(self):
        return np.asarray(self._coef_off).copy()

    @property
    def intercept_offsets(self):
        return np.asarray(self._icpt_off).copy()

    def workspace_size(self, Py_ssize_t chunk):
        """Elements of workspace a kernel call needs for ``chunk`` rows at a time
        (and, whatever ``chunk``, what the windowed on-line kernel needs)."""
        # on-line: the window (online_epoch_window), and the last layer transposed
        # with up to two states (online_epoch)
        return (chunk * (2 * self.work_units + self._units[0]) + self._units[0]
                + 2 * WIN * (self._units[0] + self._units[1]) + WIN * WIN
                + 3 * self._units[self.n_layers - 1] * self._units[self.n_layers])


cdef const void* pointer_to(object array, object dtype) except? NULL:
    """Where the C-contiguous ``array`` (float32, float64 or intp) starts; NULL
    when it is empty."""
    cdef const double[::1] as_double
    cdef const float[::1] as_float
    cdef const Py_ssize_t[::1] as_index
    flat = array.reshape(-1)
    if flat.shape[0] == 0:
        return NULL
    if dtype == np.float64:
        as_double = flat
        return &as_double[0]
    if dtype == np.float32:
        as_float = flat
        return &as_float[0]
    as_index = flat
    return &as_index[0]


cdef str shape_of(object array):
    return "x".join(str(n) for n in array.shape)


cdef class TrainingData:
    """The rows a kernel call reads: dense or CSR input, with the targets and
    sample weights that training needs, checked once (per fit).

    The kernels then only index into buffers known to be consistent. The arrays
    are kept, not copied (CSR indices become ``intp`` if they are not already).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features) or scipy.sparse CSR matrix
        C-contiguous float64 or float32 values; CSR with sorted, in-range column
        indices.
    Y : ndarray of shape (n_rows, n_outputs), default=None
        Targets as the output layer sees them, of X's dtype, C-contiguous.
    sample_weight : ndarray of shape (n_rows,), default=None
        Of X's dtype. ``Y`` and ``sample_weight`` are needed for training and
        ``loss_and_gradient``, not for ``forward``.
    """
    cdef readonly object X, Y, sample_weight, dtype
    cdef readonly Py_ssize_t n_rows, n_features, n_outputs
    cdef readonly bint sparse
    cdef object _data, _indices, _indptr    # CSR arrays, kept alive
    cdef Data d

    def __init__(self, X, Y=None, sample_weight=None):
        self.sparse = hasattr(X, "indptr")
        if self.sparse and X.format != "csr":
            raise TypeError(f"sparse X must be CSR, got {X.format}")
        self.dtype = np.dtype(X.dtype)
        if self.dtype not in (np.float64, np.float32):
            raise TypeError(f"X must hold float64 or float32 values, got {self.dtype}")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-d, got shape {shape_of(X)}")
        self.X = X
        self.n_rows, self.n_features = X.shape
        if self.sparse:
            self._point_at_csr(X)
        else:
            if not X.flags.c_contiguous:
                raise ValueError("dense X must be C-contiguous")
            self.d.X = pointer_to(X, self.dtype)
            self.d.X_data = NULL
            self.d.X_indices = NULL
            self.d.X_indptr = NULL
        self.d.n_rows = self.n_rows
        self.d.Y = NULL
        self.d.sw = NULL
        self.n_outputs = -1
        if Y is None and sample_weight is None:
            return
        if Y is None or sample_weight is None:
            raise ValueError("Y and sample_weight go together: give both or neither")
        self._check_array("Y", Y, 2)
        self._check_array("sample_weight", sample_weight, 1)
        if Y.shape[0] != self.n_rows:
            raise ValueError(f"Y has {Y.shape[0]} rows, X {self.n_rows}")
        if sample_weight.shape[0] != self.n_rows:
            raise ValueError(
                f"sample_weight has {sample_weight.shape[0]} rows, X {self.n_rows}")
        self.Y = Y
        self.sample_weight = sample_weight
        self.n_outputs = Y.shape[1]
        self.d.Y = pointer_to(Y, self.dtype)
        self.d.sw = pointer_to(sample_weight, self.dtype)

    def __reduce__(self):
        return TrainingData, (self.X, self.Y, self.sample_weight)

    cdef _check_array(self, str name, object array, int ndim):
        if array.ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-d, got shape {shape_of(array)}")
        if np.dtype(array.dtype) != self.dtype:
            raise TypeError(f"{name} holds {array.dtype}, X {self.dtype}")
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")

    cdef _point_at_csr(self, X):
        cdef const Py_ssize_t[::1] indices
        cdef const Py_ssize_t[::1] indptr
        cdef Py_ssize_t i, n_rows = self.n_rows, nf = self.n_features
        self._data = X.data
        self._indices = X.indices.astype(np.intp, copy=False)
        self._indptr = X.indptr.astype(np.intp, copy=False)
        self._check_array("the CSR values", self._data, 1)
        indices = self._indices
        indptr = self._indptr
        if indptr.shape[0] != n_rows + 1:
            raise ValueError(f"the CSR row pointers hold {indptr.shape[0]} entries, "
                             f"{n_rows} rows need {n_rows + 1}")
        if indptr[0] != 0 or indptr[n_rows] > indices.shape[0] \
                or indices.shape[0] != self._data.shape[0]:
            raise ValueError(
                f"inconsistent CSR arrays: row pointers from {indptr[0]} to "
                f"{indptr[n_rows]}, {indices.shape[0]} indices, "
                f"{self._data.shape[0]} values")
        for i in range(n_rows):
            if indptr[i + 1] < indptr[i]:
                raise ValueError("CSR row pointers must not decrease")
        for i in range(indptr[n_rows]):
            if not 0 <= indices[i] < nf:
                raise IndexError(f"CSR column index {indices[i]} out of range for "
                                 f"{nf} features")
        self.d.X = NULL
        self.d.X_data = pointer_to(self._data, self.dtype)
        self.d.X_indices = <const Py_ssize_t*> pointer_to(self._indices, np.intp)
        self.d.X_indptr = <const Py_ssize_t*> pointer_to(self._indptr, np.intp)

    cdef int check(self, Layout layout, object dtype, bint targets) except -1:
        """Check the data against the network ``layout`` and the parameters'
        ``dtype``; ``targets``: Y and sample_weight are needed."""
        cdef Py_ssize_t nf = layout._units[0], k = layout._units[layout.n_layers]
        if self.n_features != nf:
            raise ValueError(f"X has {self.n_features} features, the network {nf}")
        if np.dtype(dtype) != self.dtype:
            raise TypeError(f"the parameters are {np.dtype(dtype)}, the data "
                            f"{self.dtype}")
        if targets and self.Y is None:
            raise ValueError("training needs Y and sample_weight")
        if targets and self.n_outputs != k:
            raise ValueError(f"Y has {self.n_outputs} outputs, the network {k}")
        return 0

    def max_abs(self):
        """max |x| over the input, without a copy (0 for no values)."""
        values = self._data if self.sparse else self.X
        if values.size == 0:
            return 0.0
        return float(max(abs(values.max()), abs(values.min())))


# The named state each update rule keeps, parameter-sized buffers.
STATE_NAMES = {"sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",),
               "adam": ("m", "v")}


cdef class UpdateRule:
    """An update rule as the kernels apply it: its settings and its named state.

    scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer``, per parameter. The state
    buffers are laid out like the parameters and updated in place; ``step`` is
    advanced by each call.

    Parameters
    ----------
    rule : {"sgd", "momentum", "nesterov", "adam"}
    learning_rate : float
        The rate of the call's steps (``"adam"``: the initial rate, before the
        bias correction).
    momentum : float, default=0.0
        For ``"momentum"`` and ``"nesterov"``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        For ``"adam"``.
    alpha : float, default=0.0
        L2 penalty, scaled as scikit-learn scales it.
    velocity : ndarray, default=None
        ``"momentum"`` and ``"nesterov"``: one value per parameter.
    m, v : ndarray, default=None
        ``"adam"``: the first and second moments, one value per parameter.
    step : int, default=0
        ``"adam"``: updates made so far.
    """
    cdef readonly str rule
    cdef public double learning_rate, momentum, beta_1, beta_2, epsilon, alpha
    cdef public long long step
    cdef readonly double last_learning_rate   # the last step's (Adam: corrected)
    cdef readonly object velocity, m, v

    def __init__(self, str rule, *, double learning_rate, double momentum=0.0,
                 double beta_1=0.9, double beta_2=0.999, double epsilon=1e-8,
                 double alpha=0.0, velocity=None, m=None, v=None,
                 long long step=0):
        if rule not in UPDATE_RULES:
            raise ValueError(f"unknown update rule {rule!r}; the rules are "
                             f"{', '.join(UPDATE_RULES)}")
        given = {"velocity": velocity, "m": m, "v": v}
        for name, state in given.items():
            if (state is not None) != (name in STATE_NAMES[rule]):
                raise ValueError(
                    f"the {rule!r} rule keeps "
                    f"{', '.join(STATE_NAMES[rule]) or 'no state'}; got {name}="
                    f"{'None' if state is None else 'an array'}")
        self.rule = rule
        self.learning_rate = self.last_learning_rate = learning_rate
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.velocity = velocity
        self.m = m
        self.v = v
        self.step = step

    def __reduce__(self):
        return _rebuild_rule, (self.rule, self.settings(), self.state())

    def settings(self):
        """The rule's settings by name."""
        return {"learning_rate": self.learning_rate, "momentum": self.momentum,
                "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "alpha": self.alpha}

    def state(self):
        """The rule's state by name: its buffers, and Adam's ``step``."""
        state = {name: getattr(self, name) for name in STATE_NAMES[self.rule]}
        if self.rule == "adam":
            state["step"] = self.step
        return state

    cdef int fill(self, Opt* o) except -1:
        o.rule = UPDATE_RULES[self.rule]
        o.lr = o.step_lr = self.learning_rate
        o.momentum = self.momentum
        o.beta1 = self.beta_1
        o.beta2 = self.beta_2
        o.epsilon = self.epsilon
        o.alpha = self.alpha
        o.t = self.step
        return 0


def _rebuild_rule(rule, settings, state):
    return UpdateRule(rule, **settings, **state)


cdef int point_at_state(UpdateRule rule, Py_ssize_t size, floating[::1] like,
                        floating** S1, floating** S2) except -1:
    """Point ``S1``/``S2`` at the rule's state (NULL where it keeps none), after
    checking that each buffer holds ``size`` values of ``like``'s dtype."""
    cdef floating[::1] buffer
    S1[0] = S2[0] = NULL
    dtype = np.float32 if floating is float else np.float64
    for i, name in enumerate(STATE_NAMES[rule.rule]):
        state = getattr(rule, name)
        if state.ndim != 1 or state.shape[0] != size:
            raise ValueError(f"the {rule.rule!r} rule's {name} holds "
                             f"{shape_of(state)} values, expected {size}")
        if np.dtype(state.dtype) != dtype:
            raise TypeError(f"the {rule.rule!r} rule's {name} holds {state.dtype}, "
                            f"the parameters {np.dtype(dtype)}")
        buffer = state
        if i == 0:
            S1[0] = &buffer[0]
        else:
            S2[0] = &buffer[0]
    return 0


cdef int check_buffer(str name, Py_ssize_t size, Py_ssize_t expected,
                      str what) except -1:
    if size != expected:
        raise ValueError(f"{name} holds {size} elements, {what} needs {expected}")
    return 0


cdef int check_workspace(Layout layout, Py_ssize_t size, Py_ssize_t chunk) except -1:
    cdef Py_ssize_t need = layout.workspace_size(chunk)
    if size < need:
        raise ValueError(f"workspace too small: {size} elements, the layout needs "
                         f"{need} for chunks of {chunk} rows")
    return 0


# ---------------------------------------------------------------------------------
# The training paths

cdef enum Path:
    ONLINE_WINDOWED     # online_epoch_window
    ONLINE              # online_epoch
    MINIBATCH           # minibatch_epoch

PATHS = {"online-windowed": ONLINE_WINDOWED, "online": ONLINE,
         "minibatch": MINIBATCH}


cdef Path choose_path(Py_ssize_t batch_size, bint dense, int rule, double alpha,
                      str forced) except *:
    """Which epoch kernel trains a call: the one place that decides it.

    ``"online-windowed"``
        Batch size 1, dense input, plain SGD without decay: the first layer is
        stepped a window of ``WIN`` samples at a time (``online_epoch_window``).
        Within it, a narrow last layer (``last_layer_narrow``) is swept
        transposed, and with one hidden layer the whole step runs in C
        (``online_step2``).
        Taken on instruction sets with 32 registers and vectors of 32 bytes or
        more (AVX-512), where it measured 0.76-0.95x the time of ``"online"`` in
        11 of 14 networks (20 to 784 inputs, one to three hidden layers, 1 or
        10 outputs, float32 and float64; 1.04-1.13x in the other three). With
        16 registers ``"online"`` was faster: the window took 1.05-1.41x its
        time on AVX2 in 12 of the 14 (0.94-0.99x in the other two), 1.24-1.48x
        on SSE2 with one output.
    ``"online"``
        Any other batch size 1: per sample, one fused sweep over each weight row
        that steps it and uses it for the next sample (``online_epoch``). Within
        it, CSR input under plain SGD without decay steps only the rows of the
        sample's non-zeros, ReLU layers skip inactive units, and a narrow last
        layer is swept transposed with its optimizer state.
    ``"minibatch"``
        Batch size > 1: gemm over chunks of rows (``minibatch_epoch``). Within
        it, a dense batch that fits one chunk sums and steps layer 0's gradient
        a block at a time (``apply_update``): in registers on a 32-register
        instruction set (but for Adam), by gemm a block of rows at a time
        otherwise.

    ``forced`` names one of these to run instead (the tests compare the paths,
    the benchmark times the per-sample sweep); it must be able to run the call.
    """
    cdef bint can_window = batch_size == 1 and dense and rule == SGD and alpha == 0
    cdef Path path
    if forced is None:
        if can_window and fsgd_active.nreg >= 32 and fsgd_active.vbytes >= 32:
            return ONLINE_WINDOWED
        return ONLINE if batch_size == 1 else MINIBATCH
    if forced not in PATHS:
        raise ValueError(f"unknown training path {forced!r}; the paths are "
                         f"{', '.join(PATHS)}")
    path = <Path> PATHS[forced]
    if path == ONLINE_WINDOWED and not can_window:
        raise ValueError("the windowed on-line path needs batch_size=1, dense input "
                         "and plain SGD with alpha=0")
    if path == ONLINE and batch_size != 1:
        raise ValueError(f"the on-line path needs batch_size=1, got {batch_size}")
    return path


def training_path(Layout layout, Py_ssize_t batch_size, TrainingData data,
                  UpdateRule rule):
    """The name of the path ``train_epoch`` takes for this call (see
    ``choose_path``)."""
    path = choose_path(batch_size, not data.sparse, UPDATE_RULES[rule.rule],
                       rule.alpha, None)
    return next(name for name, value in PATHS.items() if value == path)


def train_epoch(Layout layout, TrainingData data, UpdateRule rule,
                floating[::1] params, floating[::1] grads, floating[::1] work,
                const Py_ssize_t[::1] order, Py_ssize_t batch_size,
                Py_ssize_t chunk, str path=None):
    """Train over the rows ``order`` of ``data`` (one epoch, or a segment of one),
    in place.

    Parameters
    ----------
    layout : Layout
    data : TrainingData
        With targets and sample weights.
    rule : UpdateRule
        Its state is updated in place, its ``step`` advanced and its
        ``last_learning_rate`` set.
    params : ndarray of shape (layout.n_params,)
    grads : ndarray of shape (layout.n_params,)
        Scratch for the mini-batch path's gradient (unused on-line).
    work : ndarray
        Scratch of at least ``layout.workspace_size(chunk)`` elements.
    order : ndarray of intp
        The rows to train on, in order.
    batch_size : int
    chunk : int
        Rows per gemm call at most (batch sizes > 1).
    path : str, default=None
        Force a training path (see ``choose_path``); None chooses it.

    Returns
    -------
    loss_sum : float
        Sum over batches of the batch loss times the batch length.
    """
    cdef Net* net = &layout.net
    cdef Data* d = &data.d
    cdef Opt o
    cdef Py_ssize_t n = order.shape[0], i
    cdef double total
    cdef floating* S1
    cdef floating* S2
    cdef floating* G = NULL
    cdef Path chosen
    if batch_size < 1 or chunk < 1:
        raise ValueError(f"batch_size and chunk must be >= 1, got {batch_size} and "
                         f"{chunk}")
    check_buffer("params", params.shape[0], layout.n_params, "the layout")
    data.check(layout, np.float32 if floating is float else np.float64, True)
    for i in range(n):
        if not 0 <= order[i] < d.n_rows:
            raise IndexError(f"order holds row {order[i]}, X has {d.n_rows} rows")
    point_at_state(rule, layout.n_params, params, &S1, &S2)
    rule.fill(&o)
    chosen = choose_path(batch_size, not data.sparse, o.rule, o.alpha, path)
    if chosen == MINIBATCH:
        chunk = min(chunk, batch_size)
        check_buffer("grads", grads.shape[0], layout.n_params, "the layout")
        G = &grads[0]
    else:
        chunk = 1
    check_workspace(layout, work.shape[0], chunk)
    with nogil:
        if chosen == ONLINE_WINDOWED:
            total = online_epoch_window(net, &params[0], &work[0], work.shape[0],
                                        d, &order[0] if n > 0 else NULL, n, &o)
        elif chosen == ONLINE:
            total = online_epoch(net, &params[0], S1, S2, &work[0], work.shape[0],
                                 d, &order[0] if n > 0 else NULL, n, &o)
        else:
            total = minibatch_epoch(net, &params[0], S1, S2, G, &work[0],
                                    work.shape[0], d,
                                    &order[0] if n > 0 else NULL, n, batch_size,
                                    chunk, &o)
    rule.step = o.t
    rule.last_learning_rate = o.step_lr
    return total


def loss_and_gradient(Layout layout, TrainingData data, floating[::1] params,
                      floating[::1] grads, floating[::1] work, Py_ssize_t chunk,
                      double alpha):
    """Full-batch loss and gradient over all rows (what L-BFGS minimises).

    Writes the gradient into ``grads`` and returns the loss, both as scikit-learn's
    ``_backprop`` computes them (L2 term scaled by the sample-weight sum).
    """
    cdef Net* net = &layout.net
    cdef Data* d = &data.d
    cdef Py_ssize_t i, nc = layout.n_coefs
    cdef double sw_sum, data_loss, sq = 0, inv
    check_buffer("params", params.shape[0], layout.n_params, "the layout")
    check_buffer("grads", grads.shape[0], layout.n_params, "the layout")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    data.check(layout, np.float32 if floating is float else np.float64, True)
    cdef floating* G = &grads[0]
    cdef floating* P = &params[0]
    chunk = max(1, min(chunk, d.n_rows))
    check_workspace(layout, work.shape[0], chunk)
    with nogil:
        data_loss = batch_gradient(net, P, G, &work[0], work.shape[0], d, NULL, 0,
                                   d.n_rows, chunk, &sw_sum)
        if sw_sum > 0:
            inv = 1 / sw_sum
            if alpha > 0:
                sq = sumsq(P, nc)
            for i in range(nc):
                G[i] = (G[i] + <floating> alpha * P[i]) * <floating> inv
            for i in range(nc, net.n_params):
                G[i] *= <floating> inv
    if not sw_sum > 0:
        raise ValueError("the sample weights sum to zero")
    return data_loss * inv + 0.5 * alpha * sq * inv


def forward(Layout layout, TrainingData data, const floating[::1] params,
            floating[::1] work, floating[:, ::1] out, Py_ssize_t chunk):
    """Predict: write the output layer's activations for every row of the data to
    ``out``."""
    cdef Net* net = &layout.net
    cdef Data* d = &data.d
    cdef Py_ssize_t s, c, K = layout._units[layout.n_layers]
    cdef floating* acts
    cdef const floating* X0
    check_buffer("params", params.shape[0], layout.n_params, "the layout")
    data.check(layout, np.float32 if floating is float else np.float64, False)
    if out.shape[0] != d.n_rows or out.shape[1] != K:
        raise ValueError(f"out has shape ({out.shape[0]}, {out.shape[1]}), the data "
                         f"and the network's outputs need ({d.n_rows}, {K})")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    check_workspace(layout, work.shape[0], chunk)
    acts = &work[0]
    with nogil:
        s = 0
        while s < d.n_rows:
            c = min(chunk, d.n_rows - s)
            X0 = input_rows(net, d, NULL, s, c, <floating*> NULL)
            chunk_forward(net, &params[0], acts, c, X0, d, NULL, s)
            memcpy(&out[s, 0], acts + c * net.act_off[net.n_layers - 1],
                   c * K * sizeof(floating))
            s += c


def weighted_loss(str output, const floating[:, ::1] out, const floating[:, ::1] Y,
                  const floating[::1] sample_weight):
    """Sample-weighted mean loss of predictions ``out`` (no L2 term)."""
    cdef Py_ssize_t r, n = out.shape[0], k = out.shape[1]
    cdef int kind = ACTIVATIONS[output]
    cdef double total = 0, sw_sum = 0
    if Y.shape[0] != n or Y.shape[1] != k or sample_weight.shape[0] != n:
        raise ValueError("out, Y and sample_weight do not match")
    with nogil:
        for r in range(n):
            total += sample_weight[r] * row_loss(&out[r, 0], &Y[r, 0], k, kind)
            sw_sum += sample_weight[r]
    return total / sw_sum if sw_sum > 0 else float("nan")


def elementwise(str fn, floating[::1] a):
    """``fn`` ("exp", "log" or "tanh") of ``a``, in place, computed as the
    activation and loss loops compute it (vector variants, see ``VECTOR_MATH``)."""
    cdef int code = {"exp": 0, "log": 1, "tanh": 2}[fn]
    if a.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            fsgd_active.math_f(&a[0], a.shape[0], code)
        else:
            fsgd_active.math_d(&a[0], a.shape[0], code)


def all_finite(const floating[::1] a):
    """True when no element of ``a`` is NaN or infinite."""
    cdef Py_ssize_t i
    cdef bint ok = True
    with nogil:
        for i in range(a.shape[0]):
            if not isfinite(a[i]):
                ok = False
                break
    return ok


def floor_sweep(floating[::1] W, UpdateRule rule, const floating[::1] delta,
                const floating[::1] x, Py_ssize_t repeats, bint tiled=True,
                const floating[::1] x_next=None, floating[::1] out=None):
    """The roofline kernel: ``repeats`` times, the first layer's on-line step alone.

    One read-modify-write sweep over the ``(x.shape[0], delta.shape[0])`` weights
    ``W`` (and the rule's state, W-sized), with the update the on-line kernel makes
    (row ``i``'s gradient is ``x[i] * delta + rule.alpha * W[i]``) and nothing else:
    no forward or backward pass. Timing it gives this machine's floor for an on-line
    step over a layer of that shape (``fastsgd._roofline``). Adam's bias correction
    is left out. ``tiled`` runs the on-line kernel's own sweep loops (without the
    forward pass), false a plain row-by-row loop: the faster of the two is the floor.

    With ``x_next`` and ``out`` (tiled only), each sweep also adds the next sample's
    forward pass with the stepped rows, ``out += x_next @ W``, as the on-line kernel
    fuses it: the first layer's share of an on-line step, without the other layers.
    """
    cdef Opt o
    cdef Py_ssize_t _rep, n_in = x.shape[0], n_out = delta.shape[0]
    cdef floating* S1
    cdef floating* S2
    if n_in < 1 or n_out < 1 or W.shape[0] != n_in * n_out:
        raise ValueError(f"W holds {W.shape[0]} weights, x and delta need "
                         f"{n_in} * {n_out}")
    if (x_next is None) != (out is None):
        raise ValueError("x_next and out go together")
    if x_next is not None:
        if not tiled:
            raise ValueError("the forward pass is fused into the tiled sweep only")
        if x_next.shape[0] != n_in or out.shape[0] != n_out:
            raise ValueError(f"x_next holds {x_next.shape[0]} values and out "
                             f"{out.shape[0]}, expected {n_in} and {n_out}")
    point_at_state(rule, W.shape[0], W, &S1, &S2)
    rule.fill(&o)
    o.t = 0
    with nogil:
        for _rep in range(repeats):
            if x_next is not None:
                sweep_first(&o, &W[0], S1, S2, n_in, n_out, &delta[0], &x[0],
                            &x_next[0], &out[0], 1)
            elif floating is float:
                fsgd_active.floor_sweep_f(&o, &W[0], S1, S2, n_in, n_out, &delta[0],
                                          &x[0], 1, <float> o.alpha, tiled)
            else:
                fsgd_active.floor_sweep_d(&o, &W[0], S1, S2, n_in, n_out, &delta[0],
                                          &x[0], 1, o.alpha, tiled)
