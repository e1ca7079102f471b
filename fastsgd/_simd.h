/* Vectorised inner loops of the Cython kernels.
 *
 * A float sum can only be vectorised if the compiler may reorder it, and Cython has
 * no way to grant that for a single loop. "#pragma omp simd reduction" grants it for
 * exactly these loops (compiled with -fopenmp-simd: no OpenMP runtime), where
 * -ffast-math would grant it everywhere and also assume that no value is ever NaN or
 * infinite, which would break divergence detection. "omp simd" also tells the
 * compiler that the rows a loop reads and writes do not overlap, which it could not
 * prove from the pointers Cython hands over.
 *
 * The loops are written once, in _simd_impl.h, and compiled for double (suffix _d)
 * and float (suffix _f).
 */
#ifndef FASTSGD_SIMD_H
#define FASTSGD_SIMD_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#ifndef FASTSGD_DEBUG
#define FASTSGD_DEBUG 0
#endif

#if defined(__GNUC__)
#define FSGD_INLINE static inline __attribute__((always_inline))
#else
#define FSGD_INLINE static inline
#endif

/* Activation functions, as _kernels.pyx numbers them (scikit-learn's names). */
enum {
    FSGD_IDENTITY = 0,
    FSGD_LOGISTIC = 1,
    FSGD_TANH = 2,
    FSGD_RELU = 3,
    FSGD_EXP = 4,
    FSGD_SOFTMAX = 5
};

/* Vector math. With FSGD_LIBMVEC (which setup.py defines only after compiling,
 * linking and running a test program against glibc's libmvec), exp and log, and
 * with FSGD_LIBMVEC_TANH also tanh, are declared "omp declare simd": the loops of
 * the fsgd_*_block functions then call libmvec's vector variants (_ZGVeN8v_tanh,
 * _ZGVdN4v_exp, ...; at most 4 ulp from the correctly rounded result, and the
 * same special values as libm: NaN stays NaN, exp overflows to inf and
 * underflows to 0, log(0) is -inf, tanh(-0) is -0). Without them, the same loops
 * call libm one element at a time. Either way no -ffast-math: every value may be
 * NaN or infinite. */
#ifndef FSGD_LIBMVEC
#define FSGD_LIBMVEC 0
#endif
#ifndef FSGD_LIBMVEC_TANH
#define FSGD_LIBMVEC_TANH 0
#endif
#if FSGD_LIBMVEC
#pragma omp declare simd notinbranch
extern double exp(double);
#pragma omp declare simd notinbranch
extern float expf(float);
#pragma omp declare simd notinbranch
extern double log(double);
#pragma omp declare simd notinbranch
extern float logf(float);
#if FSGD_LIBMVEC_TANH
#pragma omp declare simd notinbranch
extern double tanh(double);
#pragma omp declare simd notinbranch
extern float tanhf(float);
#endif
#endif

/* Update rules, as _kernels.pyx numbers them. */
enum { FSGD_SGD = 0, FSGD_MOMENTUM = 1, FSGD_NESTEROV = 2, FSGD_ADAM = 3 };

/* The optimizer's settings for one kernel call (the Cython struct Opt). */
typedef struct {
    int rule;
    double lr;          /* this epoch's learning rate (Adam: the initial one) */
    double momentum;
    double beta1;
    double beta2;
    double epsilon;
    double alpha;
    long long t;        /* Adam: updates so far */
    double step_lr;     /* learning rate of the current step */
} fsgd_opt;

/* Every loop that applies an update rule is compiled once per rule and per
 * "decay" (alpha > 0, which adds alpha * w to the gradient and needs the sum of
 * squares of the weights for the loss): specialised loops without a branch inside,
 * chosen once per call by this switch. CALL(rule, decay) is the call to make. */
#define FSGD_DISPATCH(rule, decay, CALL)                        \
    switch ((rule) * 2 + ((decay) ? 1 : 0)) {                   \
    case 0: CALL(FSGD_SGD, 0); break;                           \
    case 1: CALL(FSGD_SGD, 1); break;                           \
    case 2: CALL(FSGD_MOMENTUM, 0); break;                      \
    case 3: CALL(FSGD_MOMENTUM, 1); break;                      \
    case 4: CALL(FSGD_NESTEROV, 0); break;                      \
    case 5: CALL(FSGD_NESTEROV, 1); break;                      \
    case 6: CALL(FSGD_ADAM, 0); break;                          \
    default: CALL(FSGD_ADAM, 1); break;                         \
    }

/* Bytes in one vector of the column-tiled loops: a 512-bit register. */
#define FSGD_VBYTES 64

/* The first n elements of a vector, n <= its length (the tail of a row): AVX-512's
 * masked loads and stores where the compiler targets it (they neither read nor
 * write past the n elements), an element loop elsewhere. A masked-off element
 * loads as 0. */
#if defined(__AVX512F__) && !defined(FSGD_NO_MASK)
#include <immintrin.h>
#define FSGD_HAVE_MASK 1
#define FSGD_MASK8(n) ((__mmask8)((1u << (n)) - 1u))
#define FSGD_MASK16(n) ((__mmask16)((1u << (n)) - 1u))
#define FSGD_MASKLOAD_d(p, n) _mm512_maskz_loadu_pd(FSGD_MASK8(n), (p))
#define FSGD_MASKSTORE_d(p, v, n) _mm512_mask_storeu_pd((p), FSGD_MASK8(n), (__m512d)(v))
#define FSGD_MASKLOAD_f(p, n) _mm512_maskz_loadu_ps(FSGD_MASK16(n), (p))
#define FSGD_MASKSTORE_f(p, v, n) _mm512_mask_storeu_ps((p), FSGD_MASK16(n), (__m512)(v))
#define FSGD_HSUM_d(v) _mm512_reduce_add_pd((__m512d)(v))
#define FSGD_HSUM_f(v) _mm512_reduce_add_ps((__m512)(v))
#else
#define FSGD_HAVE_MASK 0
#endif

/* Keep a vector in a register: GCC would otherwise fold its load into every
 * multiply-add that uses it, loading it once per use. */
#if defined(__GNUC__) && defined(__AVX512F__)
#define FSGD_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define FSGD_IN_REGISTER(v) ((void)0)
#endif

/* Rows handled per pass of the loops that first list a layer's active rows (the
 * non-zero inputs of a ReLU layer): the list lives on the stack. */
#define FSGD_ROW_CHUNK 256

/* Samples whose on-line first-layer steps wait to be made in one sweep (plain
 * SGD; see fsgd_window_sweep). */
#define FSGD_WIN 8

/* A state row, keeping an absent state (NULL) NULL. */
#define FSGD_ROW_STATE(base, off) ((base) != NULL ? (base) + (off) : (base))

#define FSGD_CAT2(a, b) a##_##b
#define FSGD_CAT(a, b) FSGD_CAT2(a, b)

/* FSGD_NV: elements in one vector of FSGD_VBYTES, as a literal (for simdlen). */
#define T double
#define S d
#define FSGD_NV 8
#define FSGD_SQRT sqrt
#define FSGD_EXPF exp
#define FSGD_LOGF log
#define FSGD_TANHF tanh
#include "_simd_impl.h"
#undef T
#undef S
#undef FSGD_NV
#undef FSGD_SQRT
#undef FSGD_EXPF
#undef FSGD_LOGF
#undef FSGD_TANHF

#define T float
#define S f
#define FSGD_NV 16
#define FSGD_SQRT sqrtf
#define FSGD_EXPF expf
#define FSGD_LOGF logf
#define FSGD_TANHF tanhf
#include "_simd_impl.h"
#undef T
#undef S
#undef FSGD_NV
#undef FSGD_SQRT
#undef FSGD_EXPF
#undef FSGD_LOGF
#undef FSGD_TANHF

#endif
