/* The kernel table: every loop of simd.h that _kernels.pyx calls, compiled once
 * per instruction set (variant.c) and chosen once at import (dispatch.c).
 *
 * FSGD_KERNELS lists the loops once, with their signatures: the table's type,
 * each variant's table and the compiler's check that every variant's loops have
 * these signatures all follow from it. _kernels.pyx calls them through the table
 * of the variant in use, fsgd_active.
 */
#ifndef FASTSGD_KERNEL_TABLE_H
#define FASTSGD_KERNEL_TABLE_H

#include <stddef.h>

#include "types.h"

/* X(return type, name, parameters) for the element type T, name suffix S. */
#define FSGD_KERNELS_OF(X, T, S)                                                     \
    X(double, sumsq_##S, (const T *a, ptrdiff_t n))                                  \
    X(double, update_##S, (const fsgd_opt *o, T *w, T *s1, T *s2, const T *d,        \
                           ptrdiff_t n, T gs, T a))                                  \
    X(double, sweep_hidden_##S, (const fsgd_opt *o, T *W, T *S1, T *S2,              \
                                 ptrdiff_t n_in, ptrdiff_t n_out, const T *d_out,    \
                                 const T *a_in, T *d_in, T inv_sw, T a,              \
                                 int relu_input))                                    \
    X(double, sweep_first_##S, (const fsgd_opt *o, T *W, T *S1, T *S2,               \
                                ptrdiff_t n_in, ptrdiff_t n_out, const T *d,         \
                                const T *x, const T *xn, T *out, T inv_sw, T a))     \
    X(double, floor_sweep_##S, (const fsgd_opt *o, T *W, T *S1, T *S2,               \
                                ptrdiff_t n_in, ptrdiff_t n_out, const T *d,         \
                                const T *x, T inv_sw, T a, int tiled))               \
    X(double, grad_step_first_##S, (const fsgd_opt *o, T *W, T *S1, ptrdiff_t n_in,  \
                                    ptrdiff_t n_out, const T *X0, ptrdiff_t ldx,     \
                                    ptrdiff_t c, const T *d0, T inv_sw, T a))        \
    X(void, gemv_rows_##S, (T *out, const T *x, const T *W, ptrdiff_t n_in,          \
                            ptrdiff_t n_out, int in_order))                          \
    X(void, gather_rows_##S, (T *out, const T *vals, const ptrdiff_t *idx,           \
                              ptrdiff_t nnz, const T *W, ptrdiff_t n_out))           \
    X(void, activate_##S, (T *z, ptrdiff_t rows, ptrdiff_t cols, int kind))          \
    X(void, backprop_activation_##S, (T *delta, const T *a, ptrdiff_t n, int kind))  \
    X(void, window_sweep_##S, (T *W, ptrdiff_t n_in, ptrdiff_t n_out, const T *XT,   \
                               const T *U, ptrdiff_t np, const T *XTn, T *F))        \
    X(void, window_gram_##S, (const T *XT, ptrdiff_t nf, T *G))                      \
    X(void, window_forward_##S, (T *out, const T *b, const T *F, const T *G,         \
                                 ptrdiff_t q, const T *U, ptrdiff_t n_out))          \
    X(void, tforward_##S, (T *out, const T *b, const T *WT, const T *h,              \
                           ptrdiff_t n_in, ptrdiff_t n_out))                         \
    X(double, sweep_transposed_##S, (const fsgd_opt *o, T *WT, T *S1, T *S2,         \
                                     ptrdiff_t n_in, ptrdiff_t n_out,                \
                                     const T *d_out, const T *a_in, T *d_in,         \
                                     T inv_sw, T a))                                 \
    X(void, transpose_##S, (T *dst, const T *src, ptrdiff_t rows, ptrdiff_t cols))   \
    X(double, online_step2_##S, (T *acts, T *deltas, ptrdiff_t u1, ptrdiff_t K,      \
                                 int hidden, int output, T *b0, T *b1, T *WT,        \
                                 const T *F, const T *G, T *U, ptrdiff_t q,          \
                                 const T *y, T w, T lr))                             \
    X(void, math_##S, (T *z, ptrdiff_t n, int fn))                                   \
    X(double, row_loss_##S, (const T *p, const T *y, ptrdiff_t k, int output))

#define FSGD_KERNELS(X) FSGD_KERNELS_OF(X, double, d) FSGD_KERNELS_OF(X, float, f)

#define FSGD_KERNEL_FIELD(ret, name, params) ret(*name) params;

typedef struct {
    const char *name;   /* as FASTSGD_ISA names it: sse2, avx2, avx512, ... */
    const char *flags;  /* the compiler flags that select its instruction set */
    int vbytes;         /* bytes in one vector of its tiled loops */
    int nreg;           /* vector registers its register blocks are sized for */
    FSGD_KERNELS(FSGD_KERNEL_FIELD)
} fsgd_kernels;

/* The variant in use; never NULL (the baseline until fsgd_select). */
extern const fsgd_kernels *fsgd_active;

/* Every variant built, baseline first; the count is fsgd_n_variants. */
extern const fsgd_kernels *const fsgd_variants[];
extern const int fsgd_n_variants;

/* Whether this CPU (and its operating system) can run variant i. */
int fsgd_cpu_runs(int i);

/* Makes variant i the one in use; returns 0, or -1 when the CPU cannot run it. */
int fsgd_select(int i);

#endif
