/* Mini-batch: layer 0's gradient summed in registers and stepped at once, a
 * register block at a time (32-register targets; see apply_update in
 * _kernels.pyx).
 *
 * Included by simd.h once per element type, with T, S, FN and VLEN defined (see
 * simd.h for the conventions).
 */
/* ---- mini-batch: layer 0's gradient and step, one register block at a time ------- */

/* Rows i..i+R-1 (R = 4 or 1) by NV = 4 vectors of columns from j0 of layer 0: the
 * block's gradient X0[:, rows].T @ d0[:, cols] summed over the batch's c rows in
 * registers, then the block's step, while it is still there. n0..n3: elements of
 * each vector (VLEN but for the last tile of a layer whose width is not a
 * multiple of 4 VLEN; `full` when all are VLEN, so that no load needs a mask). */
#define FSGD_GB_LD(p) FN(fsgd_vload_if)(full, (p), nk)
#define FSGD_GB_ST(p, v) FN(fsgd_vstore_if)(full, (p), (v), nk)
#define FSGD_GB_STEP(acc, wp, sp, n)                                                 \
    do {                                                                             \
        const ptrdiff_t nk = (n);                                                    \
        FN(fsgd_vec) wk = FSGD_GB_LD(wp), lg = lgs * (acc);                          \
        FSGD_VSTEP(wk, lg, q, sp, sp, FSGD_GB_LD, FSGD_GB_ST); /* never Adam */      \
        FSGD_GB_ST(wp, wk);                                                          \
    } while (0)

FSGD_INLINE void FN(fsgd_grad_block)(
    const int rule, const int decay, const int full, const int R,
    const FN(fsgd_hyper) h, T *W, T *S1, ptrdiff_t n_out, ptrdiff_t i, ptrdiff_t j0,
    const T *X0, ptrdiff_t ldx, ptrdiff_t c, const T *d0, T lgs, T la,
    ptrdiff_t n0, ptrdiff_t n1, ptrdiff_t n2, ptrdiff_t n3, FN(fsgd_vec) *qsum)
{
    const FN(fsgd_vec) zero = {0};
    FN(fsgd_vec) a00 = zero, a01 = zero, a02 = zero, a03 = zero;
    FN(fsgd_vec) a10 = zero, a11 = zero, a12 = zero, a13 = zero;
    FN(fsgd_vec) a20 = zero, a21 = zero, a22 = zero, a23 = zero;
    FN(fsgd_vec) a30 = zero, a31 = zero, a32 = zero, a33 = zero;
    FN(fsgd_vec) q = *qsum;
    ptrdiff_t r, k;
    for (r = 0; r < c; r++) {
        const T *xr = X0 + r * ldx + i;
        const T *dr = d0 + r * n_out + j0;
        FN(fsgd_vec) v0 = FN(fsgd_vload_if)(full, dr, n0);
        FN(fsgd_vec) v1 = FN(fsgd_vload_if)(full, dr + VLEN, n1);
        FN(fsgd_vec) v2 = FN(fsgd_vload_if)(full, dr + 2 * VLEN, n2);
        FN(fsgd_vec) v3 = FN(fsgd_vload_if)(full, dr + 3 * VLEN, n3);
        const T x0 = xr[0];
        FSGD_IN_REGISTER(v0);
        FSGD_IN_REGISTER(v1);
        FSGD_IN_REGISTER(v2);
        FSGD_IN_REGISTER(v3);
        a00 += x0 * v0;
        a01 += x0 * v1;
        a02 += x0 * v2;
        a03 += x0 * v3;
        if (R == 4) {
            const T x1 = xr[1], x2 = xr[2], x3 = xr[3];
            a10 += x1 * v0;
            a11 += x1 * v1;
            a12 += x1 * v2;
            a13 += x1 * v3;
            a20 += x2 * v0;
            a21 += x2 * v1;
            a22 += x2 * v2;
            a23 += x2 * v3;
            a30 += x3 * v0;
            a31 += x3 * v1;
            a32 += x3 * v2;
            a33 += x3 * v3;
        }
    }
    for (k = 0; k < R; k++) {
        T *w = W + (i + k) * n_out + j0;
        T *s = FSGD_ROW_STATE(S1, (i + k) * n_out + j0);
        const FN(fsgd_vec) g0 = k == 0 ? a00 : k == 1 ? a10 : k == 2 ? a20 : a30;
        const FN(fsgd_vec) g1 = k == 0 ? a01 : k == 1 ? a11 : k == 2 ? a21 : a31;
        const FN(fsgd_vec) g2 = k == 0 ? a02 : k == 1 ? a12 : k == 2 ? a22 : a32;
        const FN(fsgd_vec) g3 = k == 0 ? a03 : k == 1 ? a13 : k == 2 ? a23 : a33;
        FSGD_GB_STEP(g0, w, s, n0);
        FSGD_GB_STEP(g1, w + VLEN, s + VLEN, n1);
        FSGD_GB_STEP(g2, w + 2 * VLEN, s + 2 * VLEN, n2);
        FSGD_GB_STEP(g3, w + 3 * VLEN, s + 3 * VLEN, n3);
    }
    *qsum = q;
}

#undef FSGD_GB_STEP
#undef FSGD_GB_LD
#undef FSGD_GB_ST

FSGD_INLINE double FN(fsgd_grad_step_first_body)(
    const int rule, const int decay, const FN(fsgd_hyper) h, T *W, T *S1,
    ptrdiff_t n_in, ptrdiff_t n_out, const T *X0, ptrdiff_t ldx, ptrdiff_t c,
    const T *d0, T inv_sw, T a)
{
    const FN(fsgd_vec) zero = {0};
    const T lgs = h.lr * inv_sw, la = h.lr * a;
    double total = 0;
    ptrdiff_t j0, i, n, n0, n1, n2, n3;
    for (j0 = 0; j0 < n_out; j0 += 4 * VLEN) {
        FN(fsgd_vec) q = zero;
        n = n_out - j0;
        if (n >= 4 * VLEN) {
            for (i = 0; i + 4 <= n_in; i += 4)
                FN(fsgd_grad_block)(rule, decay, 1, 4, h, W, S1, n_out, i, j0, X0, ldx,
                                    c, d0, lgs, la, VLEN, VLEN, VLEN, VLEN, &q);
            for (; i < n_in; i++)
                FN(fsgd_grad_block)(rule, decay, 1, 1, h, W, S1, n_out, i, j0, X0, ldx,
                                    c, d0, lgs, la, VLEN, VLEN, VLEN, VLEN, &q);
        } else {
            n0 = FN(fsgd_part)(n, 0);
            n1 = FN(fsgd_part)(n, 1);
            n2 = FN(fsgd_part)(n, 2);
            n3 = FN(fsgd_part)(n, 3);
            for (i = 0; i + 4 <= n_in; i += 4)
                FN(fsgd_grad_block)(rule, decay, 0, 4, h, W, S1, n_out, i, j0, X0, ldx,
                                    c, d0, lgs, la, n0, n1, n2, n3, &q);
            for (; i < n_in; i++)
                FN(fsgd_grad_block)(rule, decay, 0, 1, h, W, S1, n_out, i, j0, X0, ldx,
                                    c, d0, lgs, la, n0, n1, n2, n3, &q);
        }
        if (decay)
            total += FN(fsgd_hsum)(q);
    }
    return total;
}

/* A mini-batch step of layer 0 (n_in, n_out) for the rules without Adam, used
 * where there are 32 vector registers (see apply_update in _kernels.pyx), from the
 * batch's c dense input rows X0 (row stride ldx) and layer 0's deltas d0 (c,
 * n_out): each weight's gradient sum_r X0[r, i] * d0[r, j] is summed in registers
 * and the weight stepped with gradient inv_sw * that + a * w at once, so the
 * gradient is never stored. Returns sum(W**2) before the step when a != 0. */
static double FN(fsgd_grad_step_first)(const fsgd_opt *o, T *W, T *S1,
                                       ptrdiff_t n_in, ptrdiff_t n_out, const T *X0,
                                       ptrdiff_t ldx, ptrdiff_t c, const T *d0,
                                       T inv_sw, T a)
{
    const FN(fsgd_hyper) h = FN(fsgd_hyper_of)(o);
    double sq = 0;
    /* Never called for Adam (its mini-batch step is gemm and fsgd_update): NaN
     * says so loudly if it were. */
#define FSGD_CALL(R, D)                                                              \
    sq = (R) == FSGD_ADAM ? NAN                                                      \
                          : FN(fsgd_grad_step_first_body)(R, D, h, W, S1, n_in,      \
                                                          n_out, X0, ldx, c, d0,     \
                                                          inv_sw, a)
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
    return sq;
}
