/* On-line plain SGD: the first layer stepped a window of samples at a time, and
 * one sample's whole step through one hidden layer (with its narrow last layer
 * transposed, as online.h sweeps it).
 *
 * Included by simd.h once per element type, with T, S, FN and VLEN defined (see
 * simd.h for the conventions).
 */
/* ---- on-line plain SGD: the first layer stepped a window of samples at a time ---- */

/* Plain SGD's on-line step of the first layer is a rank-one update, and the next
 * sample's forward pass through it needs only that sample's dot product with the
 * updated weights. So the first layer's steps can wait for a window of FSGD_WIN
 * samples: sample q of a window sums its forward pass as
 *     x_q . W + sum over the window's earlier samples p of -(x_q . x_p) u_p,
 * from the weights W as they were when the window began, where the pending step
 * of sample p is W -= x_p (outer) u_p (u_p being the learning rate over the sample
 * weight times its delta). That is the same number as x_q . (W after the steps of
 * the samples before q), but for rounding. At the end of the window one sweep
 * makes the window's steps, in the samples' order, and sums the next window's
 * forward passes (from the updated weights) while each weight is in a register:
 * one load and one store of each weight per FSGD_WIN samples instead of per
 * sample, which on-line steps would otherwise be bound by. */

/* One tile of that sweep: columns [j, j + n0 + n1) of every row, two vectors of
 * n0 and n1 elements (`full`: both whole). XT holds the window's inputs
 * transposed (XT[i * FSGD_WIN + p] is x_p[i]), U its np pending steps (rows of
 * n_out); XTn and F (fwd): the next window's inputs, and their forward passes,
 * written to F (FSGD_WIN rows of n_out). */
FSGD_INLINE void FN(fsgd_window_tile)(const int full, const int fwd, T *W,
                                      ptrdiff_t n_in, ptrdiff_t n_out, ptrdiff_t j,
                                      const T *XT, const T *U, ptrdiff_t np,
                                      const T *XTn, T *F, ptrdiff_t n0, ptrdiff_t n1)
{
    const FN(fsgd_vec) zero = {0};
    FN(fsgd_vec) f0[FSGD_WIN], f1[FSGD_WIN];
    ptrdiff_t i, p, q;
#pragma GCC unroll 8
    for (q = 0; q < FSGD_WIN; q++)
        f0[q] = f1[q] = zero;
    for (i = 0; i < n_in; i++) {
        T *w = W + i * n_out + j;
        const T *xt = XT + i * FSGD_WIN;
        FN(fsgd_vec) w0 = FN(fsgd_vload_if)(full, w, n0);
        FN(fsgd_vec) w1 = FN(fsgd_vload_if)(full, w + VLEN, n1);
        for (p = 0; p < np; p++) {
            const T *u = U + p * n_out + j;
            const T xp = xt[p];
            w0 -= xp * FN(fsgd_vload_if)(full, u, n0);
            w1 -= xp * FN(fsgd_vload_if)(full, u + VLEN, n1);
        }
        FN(fsgd_vstore_if)(full, w, w0, n0);
        FN(fsgd_vstore_if)(full, w + VLEN, w1, n1);
        if (fwd) {
            const T *xn = XTn + i * FSGD_WIN;
#pragma GCC unroll 8
            for (q = 0; q < FSGD_WIN; q++) {
                f0[q] += xn[q] * w0;
                f1[q] += xn[q] * w1;
            }
        }
    }
    if (fwd) {
#pragma GCC unroll 8
        for (q = 0; q < FSGD_WIN; q++) {
            T *fq = F + q * n_out + j;
            FN(fsgd_vstore_if)(full, fq, f0[q], n0);
            FN(fsgd_vstore_if)(full, fq + VLEN, f1[q], n1);
        }
    }
}

FSGD_INLINE void FN(fsgd_window_sweep_body)(const int fwd, T *W, ptrdiff_t n_in,
                                            ptrdiff_t n_out, const T *XT,
                                            const T *U, ptrdiff_t np, const T *XTn,
                                            T *F)
{
    ptrdiff_t j = 0, n;
    for (; j + 2 * VLEN <= n_out; j += 2 * VLEN)
        FN(fsgd_window_tile)(1, fwd, W, n_in, n_out, j, XT, U, np, XTn, F, VLEN,
                             VLEN);
    n = n_out - j;
    if (n > 0)
        FN(fsgd_window_tile)(0, fwd, W, n_in, n_out, j, XT, U, np, XTn, F,
                             n < VLEN ? n : VLEN, n < VLEN ? 0 : n - VLEN);
}

/* The window's sweep of the first layer W (n_in, n_out): W[i] -= sum over p < np
 * of XT[i * FSGD_WIN + p] * U[p], in that order; then, when XTn is not NULL,
 * F[q] = sum over i of XTn[i * FSGD_WIN + q] * W[i] (updated) for q < FSGD_WIN. */
static void FN(fsgd_window_sweep)(T *W, ptrdiff_t n_in, ptrdiff_t n_out,
                                  const T *XT, const T *U, ptrdiff_t np,
                                  const T *XTn, T *F)
{
    if (XTn != NULL)
        FN(fsgd_window_sweep_body)(1, W, n_in, n_out, XT, U, np, XTn, F);
    else
        FN(fsgd_window_sweep_body)(0, W, n_in, n_out, XT, U, np, XTn, F);
}

/* The window's Gram matrix from its transposed inputs XT (nf rows of FSGD_WIN):
 * G[p * FSGD_WIN + q] = x_p . x_q, a column of FSGD_WIN sums in one vector. */
typedef T FN(fsgd_wvec) __attribute__((vector_size(FSGD_WIN * sizeof(T))));

static void FN(fsgd_window_gram)(const T *XT, ptrdiff_t nf, T *G)
{
    FN(fsgd_wvec) g[FSGD_WIN], v;
    ptrdiff_t i, p;
#pragma GCC unroll 8
    for (p = 0; p < FSGD_WIN; p++)
        g[p] = (FN(fsgd_wvec)){0};
    for (i = 0; i < nf; i++) {
        memcpy(&v, XT + i * FSGD_WIN, sizeof v);
#pragma GCC unroll 8
        for (p = 0; p < FSGD_WIN; p++)
            g[p] += XT[i * FSGD_WIN + p] * v;
    }
#pragma GCC unroll 8
    for (p = 0; p < FSGD_WIN; p++)
        memcpy(G + p * FSGD_WIN, &g[p], sizeof v);
}

/* Sample q's first-layer output within a window (see above):
 * out = b + F[q] - sum over p < q of G[q * FSGD_WIN + p] U[p]. */
FSGD_INLINE void FN(fsgd_window_forward)(T *out, const T *b, const T *F, const T *G,
                                    ptrdiff_t q, const T *U, ptrdiff_t n_out)
{
    const T *fq = F + q * n_out, *gq = G + q * FSGD_WIN;
    ptrdiff_t p, j, n;
    for (j = 0; j < n_out; j += VLEN) {
        n = n_out - j < VLEN ? n_out - j : VLEN;
        FN(fsgd_vec) acc = FN(fsgd_vload_n)(b + j, n) + FN(fsgd_vload_n)(fq + j, n);
        for (p = 0; p < q; p++)
            acc -= gq[p] * FN(fsgd_vload_n)(U + p * n_out + j, n);
        FN(fsgd_vstore_n)(out + j, acc, n);
    }
}

/* ---- on-line plain SGD, one hidden layer: a sample's whole step ------------------ */

/* Sample q of a window (see fsgd_window_sweep) through a network of one hidden
 * layer (u1 units) whose output layer (K units) is kept transposed in WT: its
 * forward pass, loss and output delta, then, when its weight w > 0, the output
 * layer's step, both intercepts' steps and its pending first-layer step
 * U[q] = (lr / w) delta_1 (zero when w is not > 0). Returns the sample's loss
 * times w, as loss_and_output_delta sums it.
 * One function, so that the short steps of a sample follow one another without
 * calls in between. */
static double FN(fsgd_online_step2)(T *acts, T *deltas, ptrdiff_t u1, ptrdiff_t K,
                                    int hidden, int output, T *b0, T *b1, T *WT,
                                    const T *F, const T *G, T *U, ptrdiff_t q,
                                    const T *y, T w, T lr)
{
    T *h = acts, *out = acts + u1, *d1 = deltas, *d2 = deltas + u1;
    T *u = U + q * u1;
    const FN(fsgd_hyper) plain = {0}; /* plain SGD reads none of it */
    T inv_sw, s;
    double loss;
    ptrdiff_t j;
    FN(fsgd_window_forward)(h, b0, F, G, q, U, u1);
    FN(fsgd_activate)(h, 1, u1, hidden);
    FN(fsgd_tforward)(out, b1, WT, h, u1, K);
    FN(fsgd_activate)(out, 1, K, output);
    loss = w * FN(fsgd_row_loss)(out, y, K, output);
    if (!(w > 0)) { /* zero weight: no gradient, no step */
        memset(u, 0, u1 * sizeof(T));
        return loss;
    }
#pragma omp simd
    for (j = 0; j < K; j++)
        d2[j] = (out[j] - y[j]) * w;
    inv_sw = 1 / w;
    s = lr * inv_sw;
    FN(fsgd_sweep_transposed_body)(FSGD_SGD, 0, plain, WT, NULL, NULL, u1, K, d2, h, d1,
                                   s, 0);
    FN(fsgd_backprop_activation)(d1, h, u1, hidden);
#pragma omp simd
    for (j = 0; j < K; j++)
        b1[j] = b1[j] - lr * (inv_sw * d2[j]);
#pragma omp simd
    for (j = 0; j < u1; j++) {
        b0[j] = b0[j] - lr * (inv_sw * d1[j]);
        u[j] = s * d1[j];
    }
    return loss;
}
