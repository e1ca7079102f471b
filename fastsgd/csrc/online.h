/* On-line (batch 1) sweeps: backward through a hidden layer fused with its
 * step (row by row, or along the input of a narrow last layer kept transposed),
 * the first layer's step fused with the next sample's forward pass, and the
 * roofline floor of that sweep.
 *
 * Included by simd.h once per element type, with T, S, FN and VLEN defined (see
 * simd.h for the conventions).
 */
/* ---- on-line: backward through a hidden layer and its step, one sweep ------------ */

/* One vector of a hidden row's sweep: the dot with the delta, the sum of squares
 * and the step; an inactive row (`active` 0: its input is 0) has neither the dot
 * nor the gradient's product, only the decay and the rule's state. LOAD/STORE
 * load and store it (whole or the first n elements); sp, sp2: the state rows
 * (read only by the rules that have them). */
#define FSGD_HID_VEC(acc, q, wp, sp, sp2, dv, LOAD, STORE)                           \
    do {                                                                             \
        FN(fsgd_vec) wk = LOAD(wp), lg = active ? lgs * (dv) : zero;                 \
        if (active)                                                                  \
            acc += wk * (dv);                                                        \
        FSGD_VSTEP(wk, lg, q, sp, sp2, LOAD, STORE);                                 \
        STORE(wp, wk);                                                               \
    } while (0)
#define FSGD_LD(p) FN(fsgd_vload)(p)
#define FSGD_ST(p, v) FN(fsgd_vstore)((p), (v))
#define FSGD_LDN(p) FN(fsgd_vload_n)((p), tail)
#define FSGD_STN(p, v) FN(fsgd_vstore_n)((p), (v), tail)

/* The sweep of fsgd_sweep_hidden over the rows listed in rows[0:k]: each row's
 * dot and sum of squares are accumulated in registers, two vectors at a time, the
 * tail of the row (n_out % VLEN elements) masked. A layer at most two vectors
 * wide (the output layer) keeps its delta in registers. With `active` 0 the rows
 * are inactive ones (input 0): their d_in is left alone and their gradient is
 * the decay alone. */
FSGD_INLINE double FN(fsgd_hidden_rows)(
    const int active, const int rule, const int decay, const FN(fsgd_hyper) h, T *W,
    T *S1, T *S2,
    ptrdiff_t n_out, const T *d_out, const T *a_in, T *d_in, T inv_sw, T a,
    const ptrdiff_t *rows, ptrdiff_t k)
{
    const FN(fsgd_vec) zero = {0};
    const T rate = rule == FSGD_ADAM ? 1 : h.lr; /* see fsgd_vstep_lg */
    const T la = rate * a;
    const ptrdiff_t nfull = n_out / VLEN, tail = n_out - nfull * VLEN;
    double total = 0;
    ptrdiff_t p, j;
    FN(fsgd_vec) q0 = zero, q1 = zero;
    if (nfull <= 1) {
        /* Narrow: one whole vector or none, then the tail. */
        const FN(fsgd_vec) d0 = nfull ? FN(fsgd_vload)(d_out) : zero;
        const FN(fsgd_vec) d1 = FN(fsgd_vload_n)(d_out + nfull * VLEN, tail);
        for (p = 0; p < k; p++) {
            const ptrdiff_t i = rows[p];
            T *w = W + i * n_out;
            T *s = FSGD_ROW_STATE(S1, i * n_out);
            T *s2 = FSGD_ROW_STATE(S2, i * n_out);
            const T lgs = rate * (a_in[i] * inv_sw);
            FN(fsgd_vec) acc0 = zero, acc1 = zero;
            if (nfull)
                FSGD_HID_VEC(acc0, q0, w, s, s2, d0, FSGD_LD, FSGD_ST);
            FSGD_HID_VEC(acc1, q1, w + nfull * VLEN, s + nfull * VLEN,
                         s2 + nfull * VLEN, d1, FSGD_LDN, FSGD_STN);
            if (active)
                d_in[i] = FN(fsgd_hsum)(acc0 + acc1);
        }
        return (double)FN(fsgd_hsum)(q0) + FN(fsgd_hsum)(q1);
    }
    for (p = 0; p < k; p++) {
        const ptrdiff_t i = rows[p];
        T *w = W + i * n_out;
        T *s = FSGD_ROW_STATE(S1, i * n_out);
        T *s2 = FSGD_ROW_STATE(S2, i * n_out);
        const T lgs = rate * (a_in[i] * inv_sw);
        FN(fsgd_vec) acc0 = zero, acc1 = zero;
        for (j = 0; j + 2 * VLEN <= n_out; j += 2 * VLEN) {
            const FN(fsgd_vec) da = FN(fsgd_vload)(d_out + j);
            const FN(fsgd_vec) db = FN(fsgd_vload)(d_out + j + VLEN);
            FSGD_HID_VEC(acc0, q0, w + j, s + j, s2 + j, da, FSGD_LD, FSGD_ST);
            FSGD_HID_VEC(acc1, q1, w + j + VLEN, s + j + VLEN, s2 + j + VLEN, db,
                         FSGD_LD, FSGD_ST);
        }
        if (j + VLEN <= n_out) {
            const FN(fsgd_vec) da = FN(fsgd_vload)(d_out + j);
            FSGD_HID_VEC(acc0, q0, w + j, s + j, s2 + j, da, FSGD_LD, FSGD_ST);
            j += VLEN;
        }
        if (tail) {
            const FN(fsgd_vec) db = FN(fsgd_vload_n)(d_out + j, tail);
            FSGD_HID_VEC(acc1, q1, w + j, s + j, s2 + j, db, FSGD_LDN, FSGD_STN);
        }
        if (active)
            d_in[i] = FN(fsgd_hsum)(acc0 + acc1);
        if (decay) {
            /* in T over a row, in double across rows */
            total += FN(fsgd_hsum)(q0 + q1);
            q0 = q1 = zero;
        }
    }
    return total;
}

#undef FSGD_LD
#undef FSGD_ST
#undef FSGD_LDN
#undef FSGD_STN
#undef FSGD_HID_VEC

/* A layer one unit wide (a binary classifier's output): its rows are the elements
 * of one vector of weights, swept in one vectorised loop. An inactive row's
 * gradient is the decay alone, as fsgd_hidden_rows makes it. */
FSGD_INLINE double FN(fsgd_sweep_column)(const int rule, const int decay,
                                         const FN(fsgd_hyper) h, T *restrict w,
                                         T *restrict s1, T *restrict s2, ptrdiff_t n_in,
                                         const T d0, const T *restrict a_in,
                                         T *restrict d_in, T inv_sw, T a,
                                         int relu_input)
{
    T sq = 0;
    ptrdiff_t i;
#pragma omp simd reduction(+ : sq)
    for (i = 0; i < n_in; i++) {
        T wi = w[i];
        T g = (a_in[i] * inv_sw) * d0;
        T dot = wi * d0;
        d_in[i] = relu_input && a_in[i] == 0 ? 0 : dot;
        if (decay) {
            g += a * wi;
            sq += wi * wi;
        }
        w[i] = FN(fsgd_step)(rule, h, wi, g, s1, s2, i);
    }
    return sq;
}

/* fsgd_hidden_rows over every row, listed FSGD_ROW_CHUNK at a time without a
 * branch. With relu_input, the rows whose input is 0 (about half of a ReLU
 * layer's) are listed apart and swept without the dot and the gradient's
 * product, which their d_in (zeroed by the ReLU's derivative) and their
 * gradient (the decay alone) do not need; plain SGD without decay leaves them
 * alone. When a row ends in a part vector, the rows are taken in `stride`
 * interleaved passes such that rows swept one after the other never share a
 * vector's span: a load over the span of a store still in flight (the masked
 * tail of the row before) would wait for the store to complete. */
FSGD_INLINE double FN(fsgd_sweep_hidden_vec)(
    const int rule, const int decay, const FN(fsgd_hyper) h, T *W, T *S1, T *S2,
    ptrdiff_t n_in, ptrdiff_t n_out, const T *d_out, const T *a_in, T *d_in,
    T inv_sw, T a, int relu_input)
{
    const ptrdiff_t span = (n_out + VLEN - 1) / VLEN * VLEN;
    const ptrdiff_t stride = n_out % VLEN ? (span + n_out - 1) / n_out : 1;
    const int idle_steps = rule != FSGD_SGD || decay;
    ptrdiff_t rows[FSGD_ROW_CHUNK], idle[FSGD_ROW_CHUNK];
    ptrdiff_t i0, r0, r, m, k, ki;
    double total = 0;
    if (n_out == 1)
        return FN(fsgd_sweep_column)(rule, decay, h, W, S1, S2, n_in, d_out[0],
                                     a_in, d_in, inv_sw, a, relu_input);
    for (i0 = 0; i0 < n_in; i0 += FSGD_ROW_CHUNK) {
        m = n_in - i0 < FSGD_ROW_CHUNK ? n_in - i0 : FSGD_ROW_CHUNK;
        k = ki = 0;
        for (r0 = 0; r0 < stride; r0++) {
            for (r = r0; r < m; r += stride) {
                const int on = !relu_input || a_in[i0 + r] != 0;
                rows[k] = idle[ki] = i0 + r;
                k += on;
                ki += !on;
                d_in[i0 + r] = 0;
            }
        }
        total += FN(fsgd_hidden_rows)(1, rule, decay, h, W, S1, S2, n_out, d_out, a_in,
                                      d_in, inv_sw, a, rows, k);
        if (idle_steps && ki)
            total += FN(fsgd_hidden_rows)(0, rule, decay, h, W, S1, S2, n_out, d_out,
                                          a_in, d_in, inv_sw, a, idle, ki);
    }
    return total;
}

/* For each row i of the (n_in, n_out) layer W: d_in[i] = W[i] . d_out with the
 * weights before the step (scikit-learn computes every gradient before any
 * update), then the row's step with gs = a_in[i] * inv_sw. Returns sum(W**2)
 * before the step when a != 0. d_in is not yet multiplied by the activation's
 * derivative. With relu_input (a_in is a ReLU layer's output), a row whose
 * input is 0 gets d_in 0 (the ReLU's derivative zeroes it anyway) without its
 * dot being summed. */
static double FN(fsgd_sweep_hidden)(const fsgd_opt *o, T *W, T *S1, T *S2,
                                    ptrdiff_t n_in, ptrdiff_t n_out, const T *d_out,
                                    const T *a_in, T *d_in, T inv_sw, T a,
                                    int relu_input)
{
    const FN(fsgd_hyper) h = FN(fsgd_hyper_of)(o);
    double sq = 0;
#define FSGD_CALL(R, D)                                                              \
    sq = FN(fsgd_sweep_hidden_vec)(R, D, h, W, S1, S2, n_in, n_out, d_out, a_in,     \
                                   d_in, inv_sw, a, relu_input)
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
    return sq;
}

/* ---- on-line: a narrow last layer, swept transposed ------------------------------ */

/* A last layer only a few units wide (a classifier's output) has rows shorter
 * than a few vectors: row by row (fsgd_sweep_hidden), its sweeps would be mostly
 * part vectors and horizontal sums. The on-line kernels keep it transposed for
 * the length of a call instead: WT (n_out rows of n_in) and its state, whose rows
 * are long, swept along the layer's input a tile of FSGD_TILE vectors at a time
 * with d_in in registers. */

/* out[j] = b[j] + WT[j] . h for j < n_out. */
FSGD_INLINE void FN(fsgd_tforward)(T *out, const T *b, const T *WT, const T *h,
                              ptrdiff_t n_in, ptrdiff_t n_out)
{
    ptrdiff_t i, j;
    for (j = 0; j < n_out; j++) {
        const T *w = WT + j * n_in;
        FN(fsgd_vec) a0 = {0}, a1 = {0};
        for (i = 0; i + 2 * VLEN <= n_in; i += 2 * VLEN) {
            a0 += FN(fsgd_vload)(w + i) * FN(fsgd_vload)(h + i);
            a1 += FN(fsgd_vload)(w + i + VLEN) * FN(fsgd_vload)(h + i + VLEN);
        }
        for (; i < n_in; i += VLEN) {
            const ptrdiff_t n = n_in - i < VLEN ? n_in - i : VLEN;
            a0 += FN(fsgd_vload_n)(w + i, n) * FN(fsgd_vload_n)(h + i, n);
        }
        out[j] = b[j] + FN(fsgd_hsum)(a0 + a1);
    }
}

/* dst (cols, rows) = the transpose of src (rows, cols), both row-major. */
static void FN(fsgd_transpose)(T *restrict dst, const T *restrict src,
                               ptrdiff_t rows, ptrdiff_t cols)
{
    ptrdiff_t i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            dst[j * rows + i] = src[i * cols + j];
}

/* One vector k of a tile: the dot with d[j] into a##k, then the step with the
 * gradient lgs * x##k (+ the decay). LD/ST load and store n##k elements. */
#define FSGD_T_VEC(k)                                                                \
    do {                                                                             \
        const ptrdiff_t nk_ = n##k;                                                  \
        FN(fsgd_vec) wk = FSGD_T_LD(w + (k) * VLEN), lg = lgs * x##k;                \
        a##k += dj * wk;                                                             \
        FSGD_VSTEP(wk, lg, q##k, s + (k) * VLEN, s2 + (k) * VLEN, FSGD_T_LD,         \
                   FSGD_T_ST);                                                       \
        FSGD_T_ST(w + (k) * VLEN, wk);                                               \
    } while (0)
#define FSGD_T_LD(p) FN(fsgd_vload_if)(full, (p), nk_)
#define FSGD_T_ST(p, v) FN(fsgd_vstore_if)(full, (p), (v), nk_)

/* The columns [i0, i0 + FSGD_TILE VLEN) of WT, as n0..n3 elements of FSGD_TILE
 * vectors (`full`: all whole, no masks); returns their sum of squares. */
FSGD_INLINE double FN(fsgd_sweep_transposed_tile)(
    const int full, const int rule, const int decay, const FN(fsgd_hyper) h, T *WT,
    T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out, const T *d, const T *a_in,
    T *d_in, T gs, T la, ptrdiff_t i0, ptrdiff_t n0, ptrdiff_t n1, ptrdiff_t n2,
    ptrdiff_t n3)
{
    const FN(fsgd_vec) zero = {0};
    const FN(fsgd_vec) x0 = FN(fsgd_vload_if)(full, a_in + i0, n0);
    const FN(fsgd_vec) x1 = FN(fsgd_vload_if)(full, a_in + i0 + VLEN, n1);
    const FN(fsgd_vec) x2 =
        FSGD_TILE > 2 ? FN(fsgd_vload_if)(full, a_in + i0 + 2 * VLEN, n2) : zero;
    const FN(fsgd_vec) x3 =
        FSGD_TILE > 2 ? FN(fsgd_vload_if)(full, a_in + i0 + 3 * VLEN, n3) : zero;
    FN(fsgd_vec) a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    FN(fsgd_vec) q0 = zero, q1 = zero, q2 = zero, q3 = zero;
    ptrdiff_t j;
    for (j = 0; j < n_out; j++) {
        T *w = WT + j * n_in + i0;
        T *s = FSGD_ROW_STATE(S1, j * n_in + i0);
        T *s2 = FSGD_ROW_STATE(S2, j * n_in + i0);
        const T dj = d[j], lgs = gs * d[j];
        FSGD_T_VEC(0);
        FSGD_T_VEC(1);
        if (FSGD_TILE > 2) {
            FSGD_T_VEC(2);
            FSGD_T_VEC(3);
        }
    }
    FN(fsgd_vstore_if)(full, d_in + i0, a0, n0);
    FN(fsgd_vstore_if)(full, d_in + i0 + VLEN, a1, n1);
    if (FSGD_TILE > 2) {
        FN(fsgd_vstore_if)(full, d_in + i0 + 2 * VLEN, a2, n2);
        FN(fsgd_vstore_if)(full, d_in + i0 + 3 * VLEN, a3, n3);
    }
    return decay ? (double)FN(fsgd_hsum)((q0 + q1) + (q2 + q3)) : 0;
}

#undef FSGD_T_VEC
#undef FSGD_T_LD
#undef FSGD_T_ST

/* fsgd_sweep_transposed's loop, with the gradient's scales given: row j of WT
 * steps with lg = (gs * d[j]) * a_in + la * WT[j] (see fsgd_vstep_lg). */
FSGD_INLINE double FN(fsgd_sweep_transposed_body)(
    const int rule, const int decay, const FN(fsgd_hyper) h, T *WT, T *S1, T *S2,
    ptrdiff_t n_in, ptrdiff_t n_out, const T *d, const T *a_in, T *d_in, T gs, T la)
{
    double sq = 0;
    ptrdiff_t i0, n;
    for (i0 = 0; i0 + FSGD_TILE * VLEN <= n_in; i0 += FSGD_TILE * VLEN)
        sq += FN(fsgd_sweep_transposed_tile)(1, rule, decay, h, WT, S1, S2, n_in,
                                             n_out, d, a_in, d_in, gs, la, i0, VLEN,
                                             VLEN, VLEN, VLEN);
    if (i0 < n_in) {
        n = n_in - i0;
        sq += FN(fsgd_sweep_transposed_tile)(
            0, rule, decay, h, WT, S1, S2, n_in, n_out, d, a_in, d_in, gs, la, i0,
            FN(fsgd_part)(n, 0), FN(fsgd_part)(n, 1), FN(fsgd_part)(n, 2),
            FN(fsgd_part)(n, 3));
    }
    return sq;
}

/* fsgd_sweep_hidden on the layer transposed: WT (n_out, n_in) and its state S1, S2
 * laid out as WT. d_in[i] = WT[:, i] . d_out with the weights before the step, for
 * every i (below a ReLU layer the ReLU's derivative zeroes the inactive ones), then
 * each weight's step with gradient (a_in[i] * inv_sw) * d_out[j] + a * WT[j, i].
 * Returns sum(WT**2) before the step when a != 0. */
static double FN(fsgd_sweep_transposed)(const fsgd_opt *o, T *WT, T *S1, T *S2,
                                        ptrdiff_t n_in, ptrdiff_t n_out,
                                        const T *d_out, const T *a_in, T *d_in,
                                        T inv_sw, T a)
{
    const FN(fsgd_hyper) h = FN(fsgd_hyper_of)(o);
    const T rate = o->rule == FSGD_ADAM ? 1 : h.lr; /* see fsgd_vstep_lg */
    double sq = 0;
#define FSGD_CALL(R, D)                                                              \
    sq = FN(fsgd_sweep_transposed_body)(R, D, h, WT, S1, S2, n_in, n_out, d_out,     \
                                        a_in, d_in, rate * inv_sw, rate * a)
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
    return sq;
}

/* ---- on-line: the first layer's step fused with the next sample's forward pass ---- */

/* One row's element j inside the first-layer sweep: step (lgs: the row's rate
 * times its gs, as in the register tiles below), then add the updated weight
 * times the next sample's input to the forward accumulator. */
#define FSGD_FIRST_ROW(w, s1, s2, lgs, c)                                            \
    do {                                                                             \
        T wj = (w)[j];                                                               \
        T lg = (lgs) * dj;                                                           \
        T vj = rule != FSGD_SGD ? (s1)[j] : 0;                                       \
        T vj2 = rule == FSGD_ADAM ? (s2)[j] : 0;                                     \
        if (decay) {                                                                 \
            lg += la * wj;                                                           \
            sq += wj * wj;                                                           \
        }                                                                            \
        wj = FN(fsgd_step_lg)(rule, h, wj, lg, &vj, &vj2);                           \
        if (rule != FSGD_SGD)                                                        \
            (s1)[j] = vj;                                                            \
        if (rule == FSGD_ADAM)                                                       \
            (s2)[j] = vj2;                                                           \
        (w)[j] = wj;                                                                 \
        if (fwd)                                                                     \
            acc = FN(fsgd_muladd)((c), wj, acc);                                     \
    } while (0)

/* The first-layer sweep over the columns [0, n_out) of rows ld apart, four rows a
 * pass, in loops the compiler vectorises: the columns after the whole tiles
 * (32 registers) or after the whole vectors of plain SGD (16). */
FSGD_INLINE double FN(fsgd_sweep_first_rows)(
    const int rule, const int decay, const int fwd, const FN(fsgd_hyper) h, T *W,
    T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out, ptrdiff_t ld,
    const T *restrict d, const T *x, const T *xn, T *restrict out, T inv_sw, T a)
{
    const T rate = rule == FSGD_ADAM ? 1 : h.lr; /* see fsgd_vstep_lg */
    const T la = rate * a;
    double total = 0;
    ptrdiff_t i = 0, j;
    /* Four rows per pass over the output: the accumulator and the delta are loaded
     * and stored once per four rows instead of once per row. */
    for (; i + 4 <= n_in; i += 4) {
        T *restrict w0 = W + i * ld;
        T *restrict w1 = w0 + ld;
        T *restrict w2 = w1 + ld;
        T *restrict w3 = w2 + ld;
        T *restrict p0 = FSGD_ROW_STATE(S1, i * ld);
        T *restrict p1 = FSGD_ROW_STATE(S1, (i + 1) * ld);
        T *restrict p2 = FSGD_ROW_STATE(S1, (i + 2) * ld);
        T *restrict p3 = FSGD_ROW_STATE(S1, (i + 3) * ld);
        T *restrict q0 = FSGD_ROW_STATE(S2, i * ld);
        T *restrict q1 = FSGD_ROW_STATE(S2, (i + 1) * ld);
        T *restrict q2 = FSGD_ROW_STATE(S2, (i + 2) * ld);
        T *restrict q3 = FSGD_ROW_STATE(S2, (i + 3) * ld);
        const T g0 = rate * (x[i] * inv_sw), g1 = rate * (x[i + 1] * inv_sw);
        const T g2 = rate * (x[i + 2] * inv_sw), g3 = rate * (x[i + 3] * inv_sw);
        const T c0 = fwd ? xn[i] : 0, c1 = fwd ? xn[i + 1] : 0;
        const T c2 = fwd ? xn[i + 2] : 0, c3 = fwd ? xn[i + 3] : 0;
        T sq = 0;
#pragma omp simd reduction(+ : sq)
        for (j = 0; j < n_out; j++) {
            const T dj = d[j];
            T acc = fwd ? out[j] : 0;
            FSGD_FIRST_ROW(w0, p0, q0, g0, c0);
            FSGD_FIRST_ROW(w1, p1, q1, g1, c1);
            FSGD_FIRST_ROW(w2, p2, q2, g2, c2);
            FSGD_FIRST_ROW(w3, p3, q3, g3, c3);
            if (fwd)
                out[j] = acc;
        }
        total += sq;
    }
    for (; i < n_in; i++) {
        T *restrict w0 = W + i * ld;
        T *restrict p0 = FSGD_ROW_STATE(S1, i * ld);
        T *restrict q0 = FSGD_ROW_STATE(S2, i * ld);
        const T g0 = rate * (x[i] * inv_sw);
        const T c0 = fwd ? xn[i] : 0;
        T sq = 0;
#pragma omp simd reduction(+ : sq)
        for (j = 0; j < n_out; j++) {
            const T dj = d[j];
            T acc = fwd ? out[j] : 0;
            FSGD_FIRST_ROW(w0, p0, q0, g0, c0);
            if (fwd)
                out[j] = acc;
        }
        total += sq;
    }
    return total;
}

/* One vector k of a row's sweep in fsgd_sweep_first_row: the step, the sum of
 * squares into q##k, and the next sample's forward pass added to out. LOAD and
 * STORE load and store it (whole or the first n elements). */
#define FSGD_ROW_VEC(k, jk, LOAD, STORE)                                             \
    do {                                                                             \
        FN(fsgd_vec) wk = LOAD(w + (jk)), lg = lgs * LOAD(d + (jk));                 \
        FSGD_VSTEP(wk, lg, q##k, s + (jk), s2 + (jk), LOAD, STORE);                  \
        STORE(w + (jk), wk);                                                         \
        if (fwd)                                                                     \
            STORE(out + (jk), FN(fsgd_vmuladd)(c, wk, LOAD(out + (jk))));            \
    } while (0)
/* Whole vectors: on 16 bytes where `al` (FSGD_ALIGNED_OPERANDS). */
#define FSGD_LD(p) (al ? FN(fsgd_vload_a)(p) : FN(fsgd_vload)(p))
#define FSGD_ST(p, v) (al ? FN(fsgd_vstore_a)((p), (v)) : FN(fsgd_vstore)((p), (v)))
#define FSGD_LDN(p) FN(fsgd_vload_n)((p), tail)
#define FSGD_STN(p, v) FN(fsgd_vstore_n)((p), (v), tail)

/* The first-layer sweep one row at a time, four vectors a step, each with its own
 * sum of squares: a rule with a state or a decay sweeps two (or three) streams
 * of memory, as the floor does, and four independent sums keep the chain of
 * additions of w * w from bounding the sweep (with one, a chain of 4-cycle
 * additions a vector: AVX2 mnist-like Nesterov with decay took 32.9 us a sample
 * against 27.3 with four). The next sample's forward pass adds the rows in
 * order, as fsgd_sweep_first_rows does. */
FSGD_INLINE double FN(fsgd_sweep_first_row)(
    const int al, const int rule, const int decay, const int fwd,
    const FN(fsgd_hyper) h, T *W, T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out,
    const T *d, const T *x, const T *xn, T *out, T inv_sw, T a)
{
    const FN(fsgd_vec) zero = {0};
    const T rate = rule == FSGD_ADAM ? 1 : h.lr; /* see fsgd_vstep_lg */
    const T la = rate * a;
    const ptrdiff_t tail = n_out % VLEN;
    double total = 0;
    ptrdiff_t i, j;
    for (i = 0; i < n_in; i++) {
        T *w = W + i * n_out;
        T *s = FSGD_ROW_STATE(S1, i * n_out);
        T *s2 = FSGD_ROW_STATE(S2, i * n_out);
        const T lgs = rate * (x[i] * inv_sw);
        const T c = fwd ? xn[i] : 0;
        FN(fsgd_vec) q0 = zero, q1 = zero, q2 = zero, q3 = zero;
        for (j = 0; j + 4 * VLEN <= n_out; j += 4 * VLEN) {
            FSGD_ROW_VEC(0, j, FSGD_LD, FSGD_ST);
            FSGD_ROW_VEC(1, j + VLEN, FSGD_LD, FSGD_ST);
            FSGD_ROW_VEC(2, j + 2 * VLEN, FSGD_LD, FSGD_ST);
            FSGD_ROW_VEC(3, j + 3 * VLEN, FSGD_LD, FSGD_ST);
        }
        for (; j + VLEN <= n_out; j += VLEN)
            FSGD_ROW_VEC(0, j, FSGD_LD, FSGD_ST);
        if (tail)
            FSGD_ROW_VEC(1, j, FSGD_LDN, FSGD_STN);
        if (decay)
            total += FN(fsgd_hsum)((q0 + q1) + (q2 + q3));
    }
    return total;
}

/* out += c[0:m] @ W[0:m], the m rows of W in order: the forward pass
 * fsgd_sweep_first_row fuses into its sweep, added after the rows' steps instead
 * (the same sums, rounded the same). Four vectors of out stay in registers while
 * the rows stream by. */
FSGD_INLINE void FN(fsgd_forward_block)(const int al, T *out, const T *c,
                                        const T *W, ptrdiff_t m, ptrdiff_t n_out)
{
    const ptrdiff_t tail = n_out % VLEN;
    ptrdiff_t i, j;
    for (j = 0; j + 4 * VLEN <= n_out; j += 4 * VLEN) {
        FN(fsgd_vec) a0 = FSGD_LD(out + j), a1 = FSGD_LD(out + j + VLEN);
        FN(fsgd_vec) a2 = FSGD_LD(out + j + 2 * VLEN);
        FN(fsgd_vec) a3 = FSGD_LD(out + j + 3 * VLEN);
        for (i = 0; i < m; i++) {
            const T *w = W + i * n_out + j;
            a0 = FN(fsgd_vmuladd)(c[i], FSGD_LD(w), a0);
            a1 = FN(fsgd_vmuladd)(c[i], FSGD_LD(w + VLEN), a1);
            a2 = FN(fsgd_vmuladd)(c[i], FSGD_LD(w + 2 * VLEN), a2);
            a3 = FN(fsgd_vmuladd)(c[i], FSGD_LD(w + 3 * VLEN), a3);
        }
        FSGD_ST(out + j, a0);
        FSGD_ST(out + j + VLEN, a1);
        FSGD_ST(out + j + 2 * VLEN, a2);
        FSGD_ST(out + j + 3 * VLEN, a3);
    }
    for (; j + VLEN <= n_out; j += VLEN) {
        FN(fsgd_vec) a0 = FSGD_LD(out + j);
        for (i = 0; i < m; i++)
            a0 = FN(fsgd_vmuladd)(c[i], FSGD_LD(W + i * n_out + j), a0);
        FSGD_ST(out + j, a0);
    }
    if (tail) {
        FN(fsgd_vec) a0 = FSGD_LDN(out + j);
        for (i = 0; i < m; i++)
            a0 = FN(fsgd_vmuladd)(c[i], FSGD_LDN(W + i * n_out + j), a0);
        FSGD_STN(out + j, a0);
    }
}

/* fsgd_sweep_first_row with the forward pass taken out of the sweep: blocks of m
 * rows (FSGD_FORWARD_BLOCK bytes of weights, which stay in L1 with their state)
 * are stepped, then their forward pass added. Without FMA, the fused forward
 * pass adds a multiplication and an addition to the chain of dependent
 * operations of every vector of weights, which was the longest; here it is a
 * chain of its own (SSE2, mnist-like Nesterov with decay: float64 66.2 -> 62.0
 * us a sample, float32 35.0 -> 32.9). With FMA it is one operation on the chain,
 * and fusing measured faster (AVX2: float64 27.3 against 29.1). */
FSGD_INLINE double FN(fsgd_sweep_first_row_blocks)(
    const int al, const int rule, const int decay, const FN(fsgd_hyper) h, T *W,
    T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out, ptrdiff_t m, const T *d,
    const T *x, const T *xn, T *out, T inv_sw, T a)
{
    double total = 0;
    ptrdiff_t i0, k;
    for (i0 = 0; i0 < n_in; i0 += m) {
        k = n_in - i0 < m ? n_in - i0 : m;
        total += FN(fsgd_sweep_first_row)(
            al, rule, decay, 0, h, W + i0 * n_out, FSGD_ROW_STATE(S1, i0 * n_out),
            FSGD_ROW_STATE(S2, i0 * n_out), k, n_out, d, x + i0, NULL, NULL, inv_sw,
            a);
        FN(fsgd_forward_block)(al, out, xn + i0, W + i0 * n_out, k, n_out);
    }
    return total;
}

/* Row k of a pass of fsgd_sweep_first_sgd: its weights, the negated rate times
 * its gradient's scale, and its input in the next sample. */
#define FSGD_SGD_ROW(k)                                                              \
    T *w##k = W + (i + (k)) * ld;                                                    \
    const T nlg##k = -(h.lr * (x[i + (k)] * inv_sw));                                \
    const T c##k = fwd ? xn[i + (k)] : 0
/* One vector of row k: the step as w + d * (-lg), which is w - lg exactly and lets
 * SSE2 add the weights straight from memory, then the next sample's forward pass
 * added to acc. */
#define FSGD_SGD_VEC(k)                                                              \
    do {                                                                             \
        FN(fsgd_vec) wk = dv * nlg##k;                                               \
        wk += FSGD_LD(w##k + j);                                                     \
        FSGD_ST(w##k + j, wk);                                                       \
        if (fwd)                                                                     \
            acc = FN(fsgd_vmuladd)(c##k, wk, acc);                                   \
    } while (0)

/* fsgd_sweep_first_rows for plain SGD without decay over the columns [0, nv), a
 * whole number of vectors, in explicit vectors: four rows a pass, then one. */
FSGD_INLINE void FN(fsgd_sweep_first_sgd)(const int al, const int fwd,
                                          const FN(fsgd_hyper) h, T *W, ptrdiff_t n_in,
                                          ptrdiff_t nv, ptrdiff_t ld, const T *d,
                                          const T *x, const T *xn, T *out, T inv_sw)
{
    const FN(fsgd_vec) zero = {0};
    ptrdiff_t i = 0, j;
    for (; i + 4 <= n_in; i += 4) {
        FSGD_SGD_ROW(0);
        FSGD_SGD_ROW(1);
        FSGD_SGD_ROW(2);
        FSGD_SGD_ROW(3);
        for (j = 0; j < nv; j += VLEN) {
            const FN(fsgd_vec) dv = FSGD_LD(d + j);
            FN(fsgd_vec) acc = fwd ? FSGD_LD(out + j) : zero;
            FSGD_SGD_VEC(0);
            FSGD_SGD_VEC(1);
            FSGD_SGD_VEC(2);
            FSGD_SGD_VEC(3);
            if (fwd)
                FSGD_ST(out + j, acc);
        }
    }
    for (; i < n_in; i++) {
        FSGD_SGD_ROW(0);
        for (j = 0; j < nv; j += VLEN) {
            const FN(fsgd_vec) dv = FSGD_LD(d + j);
            FN(fsgd_vec) acc = fwd ? FSGD_LD(out + j) : zero;
            FSGD_SGD_VEC(0);
            if (fwd)
                FSGD_ST(out + j, acc);
        }
    }
}

#undef FSGD_SGD_ROW
#undef FSGD_SGD_VEC
#undef FSGD_LD
#undef FSGD_ST
#undef FSGD_LDN
#undef FSGD_STN
#undef FSGD_ROW_VEC

#define FSGD_TILE_COL(k)                                                             \
    do {                                                                             \
        FN(fsgd_vec) wk = FN(fsgd_vload)(w + (k) * VLEN), lg = lgs * d##k;           \
        FSGD_VSTEP(wk, lg, q##k, s + (k) * VLEN, s2 + (k) * VLEN, FN(fsgd_vload),    \
                   FN(fsgd_vstore));                                                 \
        FN(fsgd_vstore)(w + (k) * VLEN, wk);                                         \
        if (fwd)                                                                     \
            acc##k = FN(fsgd_vmuladd)(c, wk, acc##k);                                \
    } while (0)

/* The first-layer sweep (see fsgd_sweep_first) over the columns [0, *done) that
 * fill whole tiles; sets *done. */
FSGD_INLINE double FN(fsgd_sweep_first_tiles)(
    const int rule, const int decay, const int fwd, const FN(fsgd_hyper) h, T *W,
    T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out, const T *d, const T *x,
    const T *xn, T *out, T inv_sw, T a, ptrdiff_t *done)
{
    const FN(fsgd_vec) zero = {0};
    const T rate = rule == FSGD_ADAM ? 1 : h.lr; /* see fsgd_vstep_lg */
    const T la = rate * a;
    double total = 0;
    ptrdiff_t j0, i, l;
    for (j0 = 0; j0 + 4 * VLEN <= n_out; j0 += 4 * VLEN) {
        FN(fsgd_vec) acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
        FN(fsgd_vec) q0 = zero, q1 = zero, q2 = zero, q3 = zero;
        const FN(fsgd_vec) d0 = FN(fsgd_vload)(d + j0);
        const FN(fsgd_vec) d1 = FN(fsgd_vload)(d + j0 + VLEN);
        const FN(fsgd_vec) d2 = FN(fsgd_vload)(d + j0 + 2 * VLEN);
        const FN(fsgd_vec) d3 = FN(fsgd_vload)(d + j0 + 3 * VLEN);
        if (fwd) {
            acc0 = FN(fsgd_vload)(out + j0);
            acc1 = FN(fsgd_vload)(out + j0 + VLEN);
            acc2 = FN(fsgd_vload)(out + j0 + 2 * VLEN);
            acc3 = FN(fsgd_vload)(out + j0 + 3 * VLEN);
        }
        for (i = 0; i < n_in; i++) {
            T *w = W + i * n_out + j0;
            T *s = FSGD_ROW_STATE(S1, i * n_out + j0);
            T *s2 = FSGD_ROW_STATE(S2, i * n_out + j0);
            const T lgs = rate * (x[i] * inv_sw);
            const T c = fwd ? xn[i] : 0;
            FSGD_TILE_COL(0);
            FSGD_TILE_COL(1);
            FSGD_TILE_COL(2);
            FSGD_TILE_COL(3);
        }
        if (fwd) {
            FN(fsgd_vstore)(out + j0, acc0);
            FN(fsgd_vstore)(out + j0 + VLEN, acc1);
            FN(fsgd_vstore)(out + j0 + 2 * VLEN, acc2);
            FN(fsgd_vstore)(out + j0 + 3 * VLEN, acc3);
        }
        if (decay) {
            q0 += q1 + q2 + q3;
            for (l = 0; l < VLEN; l++)
                total += q0[l];
        }
    }
    *done = j0;
    return total;
}

#undef FSGD_TILE_COL

FSGD_INLINE double FN(fsgd_sweep_first_body)(
    const int al, const int rule, const int decay, const int fwd,
    const FN(fsgd_hyper) h, T *W, T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out,
    const T *d, const T *x, const T *xn, T *out, T inv_sw, T a)
{
    const ptrdiff_t block_rows = FSGD_FORWARD_BLOCK / (n_out * (ptrdiff_t)sizeof(T));
    double sq = 0;
    ptrdiff_t j0 = 0;
    /* Tiles of 4 vectors need 32 registers. With 16, which keep nothing in
     * registers across rows, a rule with a state or a decay sweeps one row at a
     * time and plain SGD four rows a pass: the faster of the two for each, as
     * measured on AVX2 (mnist-like, Nesterov with decay: 27.3 against 32.9 us a
     * sample; plain SGD: 12.2 against 16.7). On SSE2, `al` (every buffer on 16
     * bytes) lets both take their loads as memory operands: mnist-like on-line,
     * float32 plain SGD 12.5 -> 11.0 us a sample, float64 Nesterov with decay
     * 69.3 -> 66.0. Without FMA, the one-row sweep adds its forward pass block by
     * block, where a block holds a few rows (a row of 2 KB or less: 2000 units of
     * float64 measured 7% slower in blocks of one). */
    if (FSGD_NREG < 32 && (rule != FSGD_SGD || decay)) {
        if (!FSGD_HAVE_FMA && fwd && block_rows >= 4)
            return FN(fsgd_sweep_first_row_blocks)(al, rule, decay, h, W, S1, S2,
                                                   n_in, n_out, block_rows, d, x, xn,
                                                   out, inv_sw, a);
        return FN(fsgd_sweep_first_row)(al, rule, decay, fwd, h, W, S1, S2, n_in,
                                        n_out, d, x, xn, out, inv_sw, a);
    }
    if (FSGD_NREG < 32) {
        j0 = n_out / VLEN * VLEN;
        FN(fsgd_sweep_first_sgd)(al, fwd, h, W, n_in, j0, n_out, d, x, xn, out,
                                 inv_sw);
    }
    if (FSGD_NREG >= 32)
        sq = FN(fsgd_sweep_first_tiles)(rule, decay, fwd, h, W, S1, S2, n_in, n_out,
                                        d, x, xn, out, inv_sw, a, &j0);
    if (j0 < n_out)
        sq += FN(fsgd_sweep_first_rows)(rule, decay, fwd, h, W + j0,
                                        FSGD_ROW_STATE(S1, j0), FSGD_ROW_STATE(S2, j0),
                                        n_in, n_out - j0, n_out, d + j0, x, xn,
                                        fwd ? out + j0 : out, inv_sw, a);
    return sq;
}

/* Step every row i of the first layer W (n_in, n_out) with gradient
 * (x[i] * inv_sw) * d (+ a * W[i]) and, when xn is not NULL, add the next
 * sample's forward pass with the updated rows to out: out += xn @ W_new. Returns
 * sum(W**2) before the step when a != 0. */
static double FN(fsgd_sweep_first)(const fsgd_opt *o, T *W, T *S1, T *S2,
                                   ptrdiff_t n_in, ptrdiff_t n_out, const T *d,
                                   const T *x, const T *xn, T *out, T inv_sw, T a)
{
    const FN(fsgd_hyper) h = FN(fsgd_hyper_of)(o);
    const int al = FSGD_ALIGNED_OPERANDS &&
                   ((uintptr_t)W | (uintptr_t)S1 | (uintptr_t)S2 | (uintptr_t)d |
                    (uintptr_t)out | (uintptr_t)n_out * sizeof(T)) %
                           FSGD_VBYTES ==
                       0;
    double sq = 0;
#define FSGD_BODY(AL, FWD, R, D)                                                     \
    FN(fsgd_sweep_first_body)(AL, R, D, FWD, h, W, S1, S2, n_in, n_out, d, x, xn,    \
                              out, inv_sw, a)
#define FSGD_CALL(R, D)                                                              \
    sq = al ? (xn != NULL ? FSGD_BODY(1, 1, R, D) : FSGD_BODY(1, 0, R, D))           \
            : (xn != NULL ? FSGD_BODY(0, 1, R, D) : FSGD_BODY(0, 0, R, D))
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
#undef FSGD_BODY
    return sq;
}

/* The machine's floor for the on-line step: the first layer's step alone, one
 * read-modify-write sweep over W (and the rule's state), with nothing else fused
 * in. What the roofline benchmark times, in two forms whose faster one is the
 * floor: `tiled` 0 steps row by row (the loop mini-batches use), 1 runs the
 * on-line sweep's own loops without the forward pass. */
static double FN(fsgd_floor_sweep)(const fsgd_opt *o, T *W, T *S1, T *S2,
                                   ptrdiff_t n_in, ptrdiff_t n_out, const T *d,
                                   const T *x, T inv_sw, T a, int tiled)
{
    const FN(fsgd_hyper) h = FN(fsgd_hyper_of)(o);
    double sq = 0;
    ptrdiff_t i;
    if (tiled)
        return FN(fsgd_sweep_first)(o, W, S1, S2, n_in, n_out, d, x, NULL, NULL,
                                    inv_sw, a);
#define FSGD_CALL(R, D)                                                              \
    for (i = 0; i < n_in; i++)                                                       \
        sq += FN(fsgd_update_body)(R, D, h, W + i * n_out,                           \
                                   FSGD_ROW_STATE(S1, i * n_out),                    \
                                   FSGD_ROW_STATE(S2, i * n_out), d, n_out,          \
                                   x[i] * inv_sw, a)
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
    return sq;
}


#undef FSGD_FIRST_ROW
