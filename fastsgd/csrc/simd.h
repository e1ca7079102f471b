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
 * The loops are written once and compiled for double (suffix _d) and float (suffix
 * _f): this header includes each_type.h, the files of each role (vec.h, rules.h,
 * maths.h, forward.h, online.h, minibatch.h, window.h), once per type, with T
 * (the type), S (the suffix), FN (a name with the suffix) and VLEN (elements in
 * one vector) defined.
 */
#ifndef FASTSGD_SIMD_H
#define FASTSGD_SIMD_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "types.h"

#if defined(__GNUC__)
#define FSGD_INLINE static inline __attribute__((always_inline))
#else
#define FSGD_INLINE static inline
#endif

/* Vector math. With FSGD_LIBMVEC (which setup.py defines only after compiling,
 * linking and running a test program against glibc's libmvec), exp and log, and
 * with FSGD_LIBMVEC_TANH also tanh, are declared "omp declare simd": the loops of
 * the fsgd_*_block functions then call libmvec's vector variants (_ZGVeN8v_tanh,
 * _ZGVdN4v_exp, ...; at most 4 ulp from the correctly rounded result, and the
 * same special values as libm: NaN stays NaN, exp overflows to inf and
 * underflows to 0, log(0) is -inf, tanh(-0) is -0). Without them, the same loops
 * call libm one element at a time. Either way no -ffast-math: every value may be
 * NaN or infinite. */
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

/* The instruction set this translation unit is compiled for, as the compiler's
 * flags say (setup.py compiles variant.c once per instruction set): the bytes in
 * one vector of the column-tiled loops and the number of vector registers, which
 * sizes their register blocks. Vectors wider than the machine's would be split in
 * halves by the compiler and the blocks would spill to the stack. */
#if defined(__AVX512F__)
#define FSGD_VBYTES 64
#define FSGD_NREG 32
#elif defined(__AVX__)
#define FSGD_VBYTES 32
#define FSGD_NREG 16
#elif defined(__aarch64__) || defined(__ARM_NEON)
#define FSGD_VBYTES 16
#define FSGD_NREG 32
#else /* SSE2 (the x86-64 baseline) and any other target */
#define FSGD_VBYTES 16
#define FSGD_NREG 16
#endif

/* SSE's two-operand instructions take a memory operand only from an address on
 * 16 bytes, so the compiler folds a load into the arithmetic that uses it only
 * where it knows the address is (AVX's encoding takes any address). Without the
 * fold, each load is one more instruction, and the SSE2 sweeps are bound by the
 * instructions they issue: they are compiled twice, once for rows and vectors on
 * 16 bytes (fsgd_vload_a), chosen when the buffers are. */
#if defined(__SSE2__) && !defined(__AVX__)
#define FSGD_ALIGNED_OPERANDS 1
#else
#define FSGD_ALIGNED_OPERANDS 0
#endif

/* Whether the compiler contracts a * b + c into one fused multiply-add (x86's FMA,
 * aarch64's: GCC does by default outside ISO C mode). */
#if defined(__FMA__) || defined(__aarch64__)
#define FSGD_HAVE_FMA 1
#else
#define FSGD_HAVE_FMA 0
#endif

/* Bytes of a layer's weights fsgd_sweep_first_row_blocks steps before adding
 * their forward pass: a block that stays in L1 with its state in between. */
#define FSGD_FORWARD_BLOCK 8192

/* Register blocks: with 32 registers the on-line first-layer sweep and the
 * mini-batch gradient of layer 0 keep 4 vectors of columns (and 4 rows) in
 * registers; with 16 they use loops that keep nothing across rows (and gemm),
 * which measured faster there. FSGD_TILE: vectors of columns in a tile of the
 * transposed sweep (fsgd_tsweep). */
#if FSGD_NREG >= 32
#define FSGD_TILE 4
#else
#define FSGD_TILE 2
#endif

/* The first n elements of a vector, n <= its length (the tail of a row), with
 * nothing read or written past them, nor a fault there; the others load as 0.
 * SSE has no masks: 16 bytes are moved by their 4- and 8-byte parts. */
#if defined(__SSE2__) && !defined(FSGD_NO_MASK)
#include <immintrin.h>
FSGD_INLINE __m128d fsgd_load_first_pd(const double *p, ptrdiff_t n)
{
    return n >= 2 ? _mm_loadu_pd(p) : n == 1 ? _mm_load_sd(p) : _mm_setzero_pd();
}
FSGD_INLINE void fsgd_store_first_pd(double *p, __m128d v, ptrdiff_t n)
{
    if (n >= 2)
        _mm_storeu_pd(p, v);
    else if (n == 1)
        _mm_store_sd(p, v);
}
FSGD_INLINE __m128 fsgd_load_first_ps(const float *p, ptrdiff_t n)
{
    __m128 pair;
    if (n >= 4)
        return _mm_loadu_ps(p);
    if (n == 1)
        return _mm_load_ss(p);
    if (n <= 0)
        return _mm_setzero_ps();
    pair = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p));
    return n == 2 ? pair : _mm_movelh_ps(pair, _mm_load_ss(p + 2));
}
FSGD_INLINE void fsgd_store_first_ps(float *p, __m128 v, ptrdiff_t n)
{
    if (n >= 4) {
        _mm_storeu_ps(p, v);
        return;
    }
    if (n == 1 || n == 3)
        _mm_store_ss(p + n - 1, n == 1 ? v : _mm_movehl_ps(v, v));
    if (n >= 2)
        _mm_storel_epi64((__m128i *)p, _mm_castps_si128(v));
}
#endif

/* AVX-512 masks its loads and stores. AVX2 loads and stores the first n elements
 * of a vector whole, or by 16-byte halves with the SSE moves above, never with
 * VMASKMOV: on AMD Zen 1 a VMASKMOVPD load takes about 8 cycles (one plain load a
 * cycle; a loop of loads, measured on this project's AVX2 host) and on Zen 4 a
 * VMASKMOV store was slower too (AVX2 mnist-like on-line, float32 plain SGD
 * 5.88 -> 5.68 us a sample without it, in one process). */
#if defined(__AVX512F__) && !defined(FSGD_NO_MASK)
#define FSGD_HAVE_MASK 1
#define FSGD_MASK8(n) ((__mmask8)((1u << (n)) - 1u))
#define FSGD_MASK16(n) ((__mmask16)((1u << (n)) - 1u))
#define FSGD_MASKLOAD_d(p, n) _mm512_maskz_loadu_pd(FSGD_MASK8(n), (p))
#define FSGD_MASKSTORE_d(p, v, n) _mm512_mask_storeu_pd((p), FSGD_MASK8(n), (__m512d)(v))
#define FSGD_MASKLOAD_f(p, n) _mm512_maskz_loadu_ps(FSGD_MASK16(n), (p))
#define FSGD_MASKSTORE_f(p, v, n) _mm512_mask_storeu_ps((p), FSGD_MASK16(n), (__m512)(v))
#elif defined(__AVX2__) && !defined(FSGD_NO_MASK)
#define FSGD_HAVE_MASK 1
/* Whole, or by halves with the SSE moves above. */
#define FSGD_DEFINE_FIRST(load, store, T, V, half, LOADU, LOADU_HALF, STOREU, HIGH,   \
                          LOW, JOIN, WIDEN, LOAD_HALF, STORE_HALF)                   \
    FSGD_INLINE V load(const T *p, ptrdiff_t n)                                      \
    {                                                                                \
        if (n >= 2 * (half))                                                         \
            return LOADU(p);                                                         \
        if (n > (half))                                                              \
            return JOIN(LOAD_HALF(p + (half), n - (half)), LOADU_HALF(p));           \
        return WIDEN(LOAD_HALF(p, n));                                               \
    }                                                                                \
    FSGD_INLINE void store(T *p, V v, ptrdiff_t n)                                   \
    {                                                                                \
        if (n >= 2 * (half)) {                                                       \
            STOREU(p, v);                                                            \
            return;                                                                  \
        }                                                                            \
        if (n > (half))                                                              \
            STORE_HALF(p + (half), HIGH(v, 1), n - (half));                          \
        STORE_HALF(p, LOW(v), n);                                                    \
    }
#define FSGD_JOIN_PD(hi, lo) _mm256_set_m128d((hi), (lo))
#define FSGD_JOIN_PS(hi, lo) _mm256_set_m128((hi), (lo))
FSGD_DEFINE_FIRST(fsgd_load_first_pd4, fsgd_store_first_pd4, double, __m256d, 2,
                  _mm256_loadu_pd, _mm_loadu_pd, _mm256_storeu_pd, _mm256_extractf128_pd,
                  _mm256_castpd256_pd128, FSGD_JOIN_PD, _mm256_zextpd128_pd256,
                  fsgd_load_first_pd, fsgd_store_first_pd)
FSGD_DEFINE_FIRST(fsgd_load_first_ps8, fsgd_store_first_ps8, float, __m256, 4,
                  _mm256_loadu_ps, _mm_loadu_ps, _mm256_storeu_ps, _mm256_extractf128_ps,
                  _mm256_castps256_ps128, FSGD_JOIN_PS, _mm256_zextps128_ps256,
                  fsgd_load_first_ps, fsgd_store_first_ps)
#undef FSGD_DEFINE_FIRST
#undef FSGD_JOIN_PD
#undef FSGD_JOIN_PS
#define FSGD_MASKLOAD_d(p, n) fsgd_load_first_pd4((p), (n))
#define FSGD_MASKSTORE_d(p, v, n) fsgd_store_first_pd4((p), (__m256d)(v), (n))
#define FSGD_MASKLOAD_f(p, n) fsgd_load_first_ps8((p), (n))
#define FSGD_MASKSTORE_f(p, v, n) fsgd_store_first_ps8((p), (__m256)(v), (n))
#elif defined(__SSE2__) && FSGD_VBYTES == 16 && !defined(FSGD_NO_MASK)
#define FSGD_HAVE_MASK 1
#define FSGD_MASKLOAD_d(p, n) fsgd_load_first_pd((p), (n))
#define FSGD_MASKSTORE_d(p, v, n) fsgd_store_first_pd((p), (__m128d)(v), (n))
#define FSGD_MASKLOAD_f(p, n) fsgd_load_first_ps((p), (n))
#define FSGD_MASKSTORE_f(p, v, n) fsgd_store_first_ps((p), (__m128)(v), (n))
#else
#define FSGD_HAVE_MASK 0
#endif

/* Horizontal sums as a tree of shuffles and additions in registers. */
#if defined(__AVX512F__)
#define FSGD_HAVE_HSUM 1
#define FSGD_HSUM_d(v) _mm512_reduce_add_pd((__m512d)(v))
#define FSGD_HSUM_f(v) _mm512_reduce_add_ps((__m512)(v))
#elif defined(__AVX__)
#include <immintrin.h>
#define FSGD_HAVE_HSUM 1
FSGD_INLINE double fsgd_hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
FSGD_INLINE float fsgd_hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
#define FSGD_HSUM_d(v) fsgd_hsum_pd((__m256d)(v))
#define FSGD_HSUM_f(v) fsgd_hsum_ps((__m256)(v))
#elif defined(__SSE2__)
#include <immintrin.h>
#define FSGD_HAVE_HSUM 1
FSGD_INLINE double fsgd_hsum_pd(__m128d s)
{
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
FSGD_INLINE float fsgd_hsum_ps(__m128 s)
{
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
#define FSGD_HSUM_d(v) fsgd_hsum_pd((__m128d)(v))
#define FSGD_HSUM_f(v) fsgd_hsum_ps((__m128)(v))
#else
#define FSGD_HAVE_HSUM 0
#endif

/* The instruction sets' own square roots (fsgd_vsqrt). */
#if defined(__SSE2__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/* Keep a vector in a register: GCC would otherwise fold its load into every
 * multiply-add that uses it, loading it once per use. */
#if defined(__GNUC__) && defined(__AVX512F__)
#define FSGD_IN_REGISTER(v) __asm__("" : "+v"(v))
#elif defined(__GNUC__) && defined(__SSE2__)
#define FSGD_IN_REGISTER(v) __asm__("" : "+x"(v))
#elif defined(__GNUC__) && defined(__aarch64__)
#define FSGD_IN_REGISTER(v) __asm__("" : "+w"(v))
#else
#define FSGD_IN_REGISTER(v) ((void)0)
#endif

/* Rows handled per pass of the loops that first list a layer's active rows (the
 * non-zero inputs of a ReLU layer): the list lives on the stack. */
#define FSGD_ROW_CHUNK 256


/* A state row, keeping an absent state (NULL) NULL. */
#define FSGD_ROW_STATE(base, off) ((base) != NULL ? (base) + (off) : (base))

#define FSGD_CAT2(a, b) a##_##b
#define FSGD_CAT(a, b) FSGD_CAT2(a, b)

/* Conventions of the loops: a weight matrix is row-major (n_in, n_out), W + i * n_out is row i;
 * S1/S2 are the update rule's state laid out like W (NULL when the rule has none);
 * the gradient of a weight is g = gs * d[j] (+ a * w with decay), gs being the
 * row's input activation over the sample weight, a alpha over the sample weight.
 * Sums of squares of the weights before the step (for the loss's L2 term) are
 * accumulated in T over a row or a block and in double across them.
 */

/* FSGD_NV: elements in one vector of FSGD_VBYTES, a constant (for simdlen). */
#define T double
#define S d
#define FSGD_NV (FSGD_VBYTES / 8)
#define FSGD_SQRT sqrt
#define FSGD_FMAF fma
#define FSGD_EXPF exp
#define FSGD_LOGF log
#define FSGD_TANHF tanh
#include "each_type.h"

#define T float
#define S f
#define FSGD_NV (FSGD_VBYTES / 4)
#define FSGD_SQRT sqrtf
#define FSGD_FMAF fmaf
#define FSGD_EXPF expf
#define FSGD_LOGF logf
#define FSGD_TANHF tanhf
#include "each_type.h"

#endif
