/* The loops of _simd.h for one element type. _simd.h includes this file once per
 * type with T (the type), S (the name suffix: d or f) and FSGD_SQRT defined.
 *
 * Conventions: a weight matrix is row-major (n_in, n_out), W + i * n_out is row i;
 * S1/S2 are the update rule's state laid out like W (NULL when the rule has none);
 * the gradient of a weight is g = gs * d[j] (+ a * w with decay), gs being the
 * row's input activation over the sample weight, a alpha over the sample weight.
 * Sums of squares of the weights before the step (for the loss's L2 term) are
 * accumulated in T over a row or a block and in double across them.
 */
#define FN(name) FSGD_CAT(name, S)

static inline double FN(fsgd_sumsq)(const T *a, ptrdiff_t n)
{
    double s = 0;
    ptrdiff_t i;
#pragma omp simd reduction(+ : s)
    for (i = 0; i < n; i++)
        s += (double)a[i] * (double)a[i];
    return s;
}

/* The rule's constants in T, copied to locals so that the compiler keeps them in
 * registers (a store to a T array could otherwise alias them). */
typedef struct {
    T lr, mu, b1, b2, omb1, omb2, eps;
} FN(fsgd_hyper);

FSGD_INLINE FN(fsgd_hyper) FN(fsgd_hyper_of)(const fsgd_opt *o)
{
    FN(fsgd_hyper) h;
    h.lr = (T)o->step_lr;
    h.mu = (T)o->momentum;
    h.b1 = (T)o->beta1;
    h.b2 = (T)o->beta2;
    h.omb1 = (T)(1 - o->beta1);
    h.omb2 = (T)(1 - o->beta2);
    h.eps = (T)o->epsilon;
    return h;
}

/* One parameter's step under `rule` (a constant wherever this is inlined): the new
 * value of w, given its gradient g; updates the state s1[j], s2[j]. These are
 * scikit-learn's SGDOptimizer and AdamOptimizer updates. */
FSGD_INLINE T FN(fsgd_step)(const int rule, const FN(fsgd_hyper) h, T w, T g,
                            T *s1, T *s2, ptrdiff_t j)
{
    T v, m;
    if (rule == FSGD_SGD)
        return w - h.lr * g;
    if (rule == FSGD_MOMENTUM) {
        v = h.mu * s1[j] - h.lr * g;
        s1[j] = v;
        return w + v;
    }
    if (rule == FSGD_NESTEROV) {
        v = h.mu * s1[j] - h.lr * g;
        s1[j] = v;
        return w + (h.mu * v - h.lr * g);
    }
    m = h.b1 * s1[j] + h.omb1 * g;
    v = h.b2 * s2[j] + h.omb2 * (g * g);
    s1[j] = m;
    s2[j] = v;
    return w + -h.lr * m / (FSGD_SQRT(v) + h.eps);
}

/* ---- vectors ------------------------------------------------------------------ */

/* The loops below that keep accumulators in registers use GCC/Clang vector
 * extensions, which keep them portable (the compiler splits the vectors on
 * narrower machines). They serve every rule, Adam included (its square root:
 * fsgd_vsqrt). */
typedef T FN(fsgd_vec) __attribute__((vector_size(FSGD_VBYTES)));
#define VLEN ((ptrdiff_t)(FSGD_VBYTES / sizeof(T)))

FSGD_INLINE FN(fsgd_vec) FN(fsgd_vload)(const T *p)
{
    FN(fsgd_vec) v;
    memcpy(&v, p, sizeof v);
    return v;
}

FSGD_INLINE void FN(fsgd_vstore)(T *p, FN(fsgd_vec) v)
{
    memcpy(p, &v, sizeof v);
}

/* The first n <= VLEN elements of p; the others are 0. */
FSGD_INLINE FN(fsgd_vec) FN(fsgd_vload_n)(const T *p, ptrdiff_t n)
{
#if FSGD_HAVE_MASK
    return (FN(fsgd_vec))FSGD_CAT(FSGD_MASKLOAD, S)(p, n);
#else
    FN(fsgd_vec) v = {0};
    ptrdiff_t l;
    if (n == VLEN)
        return FN(fsgd_vload)(p);
    for (l = 0; l < n; l++)
        v[l] = p[l];
    return v;
#endif
}

/* Store the first n <= VLEN elements of v to p. */
FSGD_INLINE void FN(fsgd_vstore_n)(T *p, FN(fsgd_vec) v, ptrdiff_t n)
{
#if FSGD_HAVE_MASK
    FSGD_CAT(FSGD_MASKSTORE, S)(p, v, n);
#else
    ptrdiff_t l;
    if (n == VLEN) {
        FN(fsgd_vstore)(p, v);
        return;
    }
    for (l = 0; l < n; l++)
        p[l] = v[l];
#endif
}

/* The sum of a vector's elements (a tree of additions in registers). */
FSGD_INLINE T FN(fsgd_hsum)(FN(fsgd_vec) v)
{
#if FSGD_HAVE_HSUM
    return FSGD_CAT(FSGD_HSUM, S)(v);
#else
    T s = 0;
    ptrdiff_t l;
    for (l = 0; l < VLEN; l++)
        s += v[l];
    return s;
#endif
}

/* The square root of each element. Vector extensions have no square root: the
 * instruction set's own where there is one, else a loop over the lanes (which
 * GCC vectorises only under -fno-math-errno, as setup.py builds). */
FSGD_INLINE FN(fsgd_vec) FN(fsgd_vsqrt)(FN(fsgd_vec) v)
{
#if defined(__AVX512F__) && FSGD_VBYTES == 64
    return sizeof(T) == 8 ? (FN(fsgd_vec))_mm512_sqrt_pd((__m512d)v)
                          : (FN(fsgd_vec))_mm512_sqrt_ps((__m512)v);
#elif defined(__AVX__) && FSGD_VBYTES == 32
    return sizeof(T) == 8 ? (FN(fsgd_vec))_mm256_sqrt_pd((__m256d)v)
                          : (FN(fsgd_vec))_mm256_sqrt_ps((__m256)v);
#elif defined(__SSE2__) && FSGD_VBYTES == 16
    return sizeof(T) == 8 ? (FN(fsgd_vec))_mm_sqrt_pd((__m128d)v)
                          : (FN(fsgd_vec))_mm_sqrt_ps((__m128)v);
#elif defined(__aarch64__) && FSGD_VBYTES == 16
    return sizeof(T) == 8 ? (FN(fsgd_vec))vsqrtq_f64((float64x2_t)v)
                          : (FN(fsgd_vec))vsqrtq_f32((float32x4_t)v);
#else
    FN(fsgd_vec) r;
    ptrdiff_t l;
    for (l = 0; l < VLEN; l++)
        r[l] = FSGD_SQRT(v[l]);
    return r;
#endif
}

/* fsgd_step on a vector, with the rule's state in *v (the velocity; Adam's m) and
 * *v2 (Adam's v), untouched by the rules without them. lg is the learning rate
 * times the gradient, but for Adam the gradient itself (Adam's rate divides m
 * by sqrt(v) + eps, after it). The callers form lg as (rate * gs) * d +
 * (rate * a) * w with rate = lr (1 for Adam): the gradient's products with the
 * rate folded into per-row scalars, one multiplication fewer per weight than
 * lr * (gs * d + a * w), equal to it but for rounding. */
FSGD_INLINE FN(fsgd_vec) FN(fsgd_vstep_lg)(const int rule, const FN(fsgd_hyper) h,
                                           FN(fsgd_vec) w, FN(fsgd_vec) lg,
                                           FN(fsgd_vec) *v, FN(fsgd_vec) *v2)
{
    if (rule == FSGD_SGD)
        return w - lg;
    if (rule == FSGD_ADAM) { /* as fsgd_step */
        *v = h.b1 * *v + h.omb1 * lg;
        *v2 = h.b2 * *v2 + h.omb2 * (lg * lg);
        return w + -h.lr * *v / (FN(fsgd_vsqrt)(*v2) + h.eps);
    }
    *v = h.mu * *v - lg;
    if (rule == FSGD_MOMENTUM)
        return w + *v;
    return w + (h.mu * *v - lg);
}

/* ---- one step on a span of parameters ------------------------------------------ */

FSGD_INLINE double FN(fsgd_update_body)(const int rule, const int decay,
                                        const FN(fsgd_hyper) h, T *restrict w,
                                        T *restrict s1, T *restrict s2,
                                        const T *restrict d, ptrdiff_t n, T gs, T a)
{
    double total = 0;
    ptrdiff_t s, c, j;
    for (s = 0; s < n; s += 4096) {
        T sq = 0;
        T *wb = w + s;
        T *s1b = FSGD_ROW_STATE(s1, s);
        T *s2b = FSGD_ROW_STATE(s2, s);
        const T *db = d + s;
        c = n - s < 4096 ? n - s : 4096;
#pragma omp simd reduction(+ : sq)
        for (j = 0; j < c; j++) {
            T wj = wb[j];
            T g = gs * db[j];
            if (decay) {
                g += a * wj;
                sq += wj * wj;
            }
            wb[j] = FN(fsgd_step)(rule, h, wj, g, s1b, s2b, j);
        }
        total += sq;
    }
    return total;
}

/* w[j] steps with gradient gs * d[j] + a * w[j], j < n. Returns sum(w**2) before
 * the step when a != 0 (else 0). */
static double FN(fsgd_update)(const fsgd_opt *o, T *w, T *s1, T *s2, const T *d,
                              ptrdiff_t n, T gs, T a)
{
    const FN(fsgd_hyper) h = FN(fsgd_hyper_of)(o);
    double sq = 0;
#define FSGD_CALL(R, D) sq = FN(fsgd_update_body)(R, D, h, w, s1, s2, d, n, gs, a)
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
    return sq;
}

/* ---- on-line: backward through a hidden layer and its step, one sweep ------------ */

FSGD_INLINE double FN(fsgd_sweep_hidden_body)(
    const int rule, const int decay, const FN(fsgd_hyper) h, T *W, T *S1, T *S2,
    ptrdiff_t n_in, ptrdiff_t n_out, const T *restrict d_out, const T *a_in,
    T *d_in, T inv_sw, T a, int skip_inactive)
{
    double total = 0;
    ptrdiff_t i, j;
    for (i = 0; i < n_in; i++) {
        if (skip_inactive && a_in[i] == 0) {
            d_in[i] = 0;
            continue;
        }
        T *restrict w = W + i * n_out;
        T *restrict s1 = FSGD_ROW_STATE(S1, i * n_out);
        T *restrict s2 = FSGD_ROW_STATE(S2, i * n_out);
        const T gs = a_in[i] * inv_sw;
        T dot = 0, sq = 0;
#pragma omp simd reduction(+ : dot, sq)
        for (j = 0; j < n_out; j++) {
            T wj = w[j];
            T g = gs * d_out[j];
            dot += wj * d_out[j];
            if (decay) {
                g += a * wj;
                sq += wj * wj;
            }
            w[j] = FN(fsgd_step)(rule, h, wj, g, s1, s2, j);
        }
        d_in[i] = dot;
        total += sq;
    }
    return total;
}

/* One vector of a hidden row's sweep: the dot with the delta, the sum of squares
 * and the step. LOAD/STORE load and store it (whole or the first n elements);
 * sp, sp2: the state rows (read only by the rules that have them). */
#define FSGD_HID_VEC(acc, q, wp, sp, sp2, dv, LOAD, STORE)                           \
    do {                                                                             \
        FN(fsgd_vec) wk = LOAD(wp), vk = zero, vk2 = zero, lg = lgs * (dv);          \
        acc += wk * (dv);                                                            \
        if (decay) {                                                                 \
            lg += la * wk;                                                           \
            q += wk * wk;                                                            \
        }                                                                            \
        if (rule != FSGD_SGD)                                                        \
            vk = LOAD(sp);                                                           \
        if (rule == FSGD_ADAM)                                                       \
            vk2 = LOAD(sp2);                                                         \
        wk = FN(fsgd_vstep_lg)(rule, h, wk, lg, &vk, &vk2);                          \
        STORE(wp, wk);                                                               \
        if (rule != FSGD_SGD)                                                        \
            STORE(sp, vk);                                                           \
        if (rule == FSGD_ADAM)                                                       \
            STORE(sp2, vk2);                                                         \
    } while (0)
#define FSGD_LD(p) FN(fsgd_vload)(p)
#define FSGD_ST(p, v) FN(fsgd_vstore)((p), (v))
#define FSGD_LDN(p) FN(fsgd_vload_n)((p), tail)
#define FSGD_STN(p, v) FN(fsgd_vstore_n)((p), (v), tail)

/* The sweep of fsgd_sweep_hidden over the rows listed in rows[0:k]: each row's
 * dot and sum of squares are accumulated in registers, two vectors at a time, the
 * tail of the row (n_out % VLEN elements) masked. A layer at most two vectors
 * wide (the output layer) keeps its delta in registers. */
FSGD_INLINE double FN(fsgd_hidden_rows)(
    const int rule, const int decay, const FN(fsgd_hyper) h, T *W, T *S1, T *S2,
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
 * of one vector of weights, swept in one vectorised loop. An inactive row's step
 * is zero (its gradient is 0), as fsgd_hidden_rows would skip it. */
FSGD_INLINE double FN(fsgd_sweep_column)(const int rule, const int decay,
                                         const FN(fsgd_hyper) h, T *restrict w,
                                         T *restrict s1, T *restrict s2, ptrdiff_t n_in,
                                         const T d0, const T *restrict a_in,
                                         T *restrict d_in, T inv_sw, T a,
                                         int skip_inactive)
{
    T sq = 0;
    ptrdiff_t i;
#pragma omp simd reduction(+ : sq)
    for (i = 0; i < n_in; i++) {
        T wi = w[i];
        T g = (a_in[i] * inv_sw) * d0;
        T dot = wi * d0;
        d_in[i] = skip_inactive && a_in[i] == 0 ? 0 : dot;
        if (decay) {
            g += a * wi;
            sq += wi * wi;
        }
        w[i] = FN(fsgd_step)(rule, h, wi, g, s1, s2, i);
    }
    return sq;
}

/* fsgd_hidden_rows over every row, or only over the rows whose input is not 0
 * (skip_inactive), listed FSGD_ROW_CHUNK at a time without a branch. When a row
 * ends in a part vector, the rows are taken in `stride` interleaved passes such
 * that rows swept one after the other never share a vector's span: a load over
 * the span of a store still in flight (the masked tail of the row before) would
 * wait for the store to complete. */
FSGD_INLINE double FN(fsgd_sweep_hidden_vec)(
    const int rule, const int decay, const FN(fsgd_hyper) h, T *W, T *S1, T *S2,
    ptrdiff_t n_in, ptrdiff_t n_out, const T *d_out, const T *a_in, T *d_in,
    T inv_sw, T a, int skip_inactive)
{
    const ptrdiff_t span = (n_out + VLEN - 1) / VLEN * VLEN;
    const ptrdiff_t stride = n_out % VLEN ? (span + n_out - 1) / n_out : 1;
    ptrdiff_t rows[FSGD_ROW_CHUNK];
    ptrdiff_t i0, r0, r, m, k;
    double total = 0;
    if (n_out == 1)
        return FN(fsgd_sweep_column)(rule, decay, h, W, S1, S2, n_in, d_out[0],
                                     a_in, d_in, inv_sw, a, skip_inactive);
    for (i0 = 0; i0 < n_in; i0 += FSGD_ROW_CHUNK) {
        m = n_in - i0 < FSGD_ROW_CHUNK ? n_in - i0 : FSGD_ROW_CHUNK;
        k = 0;
        for (r0 = 0; r0 < stride; r0++) {
            for (r = r0; r < m; r += stride) {
                rows[k] = i0 + r;
                k += !skip_inactive || a_in[i0 + r] != 0;
                d_in[i0 + r] = 0;
            }
        }
        total += FN(fsgd_hidden_rows)(rule, decay, h, W, S1, S2, n_out, d_out, a_in,
                                      d_in, inv_sw, a, rows, k);
    }
    return total;
}

/* For each row i of the (n_in, n_out) layer W: d_in[i] = W[i] . d_out with the
 * weights before the step (scikit-learn computes every gradient before any
 * update), then the row's step with gs = a_in[i] * inv_sw. Returns sum(W**2)
 * before the step when a != 0. d_in is not yet multiplied by the activation's
 * derivative. With skip_inactive (a ReLU layer under plain SGD), a row whose
 * input is 0 is left alone: its step is zero and its delta is zeroed by the
 * ReLU's derivative anyway. */
static double FN(fsgd_sweep_hidden)(const fsgd_opt *o, T *W, T *S1, T *S2,
                                    ptrdiff_t n_in, ptrdiff_t n_out, const T *d_out,
                                    const T *a_in, T *d_in, T inv_sw, T a,
                                    int skip_inactive)
{
    const FN(fsgd_hyper) h = FN(fsgd_hyper_of)(o);
    double sq = 0;
#define FSGD_CALL(R, D)                                                              \
    sq = FN(fsgd_sweep_hidden_vec)(R, D, h, W, S1, S2, n_in, n_out, d_out, a_in,     \
                                   d_in, inv_sw, a, skip_inactive)
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
    return sq;
}

/* ---- on-line: the first layer's step fused with the next sample's forward pass ---- */

/* One row's element j inside the first-layer sweep: step, then add the updated
 * weight times the next sample's input to the forward accumulator. */
#define FSGD_FIRST_ROW(w, s1, s2, gs, c)                                             \
    do {                                                                             \
        T wj = (w)[j];                                                               \
        T g = (gs) * dj;                                                             \
        if (decay) {                                                                 \
            g += a * wj;                                                             \
            sq += wj * wj;                                                           \
        }                                                                            \
        wj = FN(fsgd_step)(rule, h, wj, g, (s1), (s2), j);                           \
        (w)[j] = wj;                                                                 \
        if (fwd)                                                                     \
            acc += (c) * wj;                                                         \
    } while (0)

FSGD_INLINE double FN(fsgd_sweep_first_rows)(
    const int rule, const int decay, const int fwd, const FN(fsgd_hyper) h, T *W,
    T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out, ptrdiff_t ld,
    const T *restrict d, const T *x, const T *xn, T *restrict out, T inv_sw, T a)
{
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
        const T g0 = x[i] * inv_sw, g1 = x[i + 1] * inv_sw;
        const T g2 = x[i + 2] * inv_sw, g3 = x[i + 3] * inv_sw;
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
        const T g0 = x[i] * inv_sw;
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

#define FSGD_TILE_COL(k)                                                             \
    do {                                                                             \
        FN(fsgd_vec) wk = FN(fsgd_vload)(w + (k) * VLEN), vk = zero, vk2 = zero;     \
        FN(fsgd_vec) lg = lgs * d##k;                                                \
        if (decay) {                                                                 \
            lg += la * wk;                                                           \
            q##k += wk * wk;                                                         \
        }                                                                            \
        if (rule != FSGD_SGD)                                                        \
            vk = FN(fsgd_vload)(s + (k) * VLEN);                                     \
        if (rule == FSGD_ADAM)                                                       \
            vk2 = FN(fsgd_vload)(s2 + (k) * VLEN);                                   \
        wk = FN(fsgd_vstep_lg)(rule, h, wk, lg, &vk, &vk2);                          \
        if (rule != FSGD_SGD)                                                        \
            FN(fsgd_vstore)(s + (k) * VLEN, vk);                                     \
        if (rule == FSGD_ADAM)                                                       \
            FN(fsgd_vstore)(s2 + (k) * VLEN, vk2);                                   \
        FN(fsgd_vstore)(w + (k) * VLEN, wk);                                         \
        if (fwd)                                                                     \
            acc##k += c * wk;                                                        \
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
    const int rule, const int decay, const int fwd, const FN(fsgd_hyper) h, T *W,
    T *S1, T *S2, ptrdiff_t n_in, ptrdiff_t n_out, const T *d, const T *x,
    const T *xn, T *out, T inv_sw, T a)
{
    double sq = 0;
    ptrdiff_t j0 = 0;
    /* Tiles of 4 vectors need 32 registers; with 16, four rows a pass (which
     * keep nothing in registers across rows) are faster. */
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
    double sq = 0;
#define FSGD_CALL(R, D)                                                              \
    sq = (xn != NULL                                                                 \
          ? FN(fsgd_sweep_first_body)(R, D, 1, h, W, S1, S2, n_in, n_out, d, x, xn,  \
                                      out, inv_sw, a)                                \
          : FN(fsgd_sweep_first_body)(R, D, 0, h, W, S1, S2, n_in, n_out, d, x, xn,  \
                                      out, inv_sw, a))
    FSGD_DISPATCH(o->rule, a != 0, FSGD_CALL)
#undef FSGD_CALL
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

/* ---- mini-batch: layer 0's gradient and step, one register block at a time ------- */

/* Rows i..i+R-1 (R = 4 or 1) by NV = 4 vectors of columns from j0 of layer 0: the
 * block's gradient X0[:, rows].T @ d0[:, cols] summed over the batch's c rows in
 * registers, then the block's step, while it is still there. n0..n3: elements of
 * each vector (VLEN but for the last tile of a layer whose width is not a
 * multiple of 4 VLEN; `full` when all are VLEN, so that no load needs a mask). */
#define FSGD_GB_LD(p, n) (full ? FN(fsgd_vload)(p) : FN(fsgd_vload_n)((p), (n)))
#define FSGD_GB_ST(p, v, n)                                                          \
    do {                                                                             \
        if (full)                                                                    \
            FN(fsgd_vstore)((p), (v));                                               \
        else                                                                         \
            FN(fsgd_vstore_n)((p), (v), (n));                                        \
    } while (0)
#define FSGD_GB_STEP(acc, wp, sp, n)                                                 \
    do {                                                                             \
        FN(fsgd_vec) wk = FSGD_GB_LD(wp, n), vk = zero;                              \
        FN(fsgd_vec) lg = lgs * (acc);                                               \
        if (decay) {                                                                 \
            lg += la * wk;                                                           \
            q += wk * wk;                                                            \
        }                                                                            \
        if (rule != FSGD_SGD)                                                        \
            vk = FSGD_GB_LD(sp, n);                                                  \
        wk = FN(fsgd_vstep_lg)(rule, h, wk, lg, &vk, NULL); /* never Adam */         \
        if (rule != FSGD_SGD)                                                        \
            FSGD_GB_ST(sp, vk, n);                                                   \
        FSGD_GB_ST(wp, wk, n);                                                       \
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
        FN(fsgd_vec) v0 = FSGD_GB_LD(dr, n0);
        FN(fsgd_vec) v1 = FSGD_GB_LD(dr + VLEN, n1);
        FN(fsgd_vec) v2 = FSGD_GB_LD(dr + 2 * VLEN, n2);
        FN(fsgd_vec) v3 = FSGD_GB_LD(dr + 3 * VLEN, n3);
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
            n0 = n < VLEN ? n : VLEN;
            n1 = n - VLEN <= 0 ? 0 : (n - VLEN < VLEN ? n - VLEN : VLEN);
            n2 = n - 2 * VLEN <= 0 ? 0 : (n - 2 * VLEN < VLEN ? n - 2 * VLEN : VLEN);
            n3 = n - 3 * VLEN <= 0 ? 0 : n - 3 * VLEN;
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
#define FSGD_CALL(R, D)                                                              \
    sq = FN(fsgd_grad_step_first_body)(R, D, h, W, S1, n_in, n_out, X0, ldx, c, d0,  \
                                       inv_sw, a)
    switch (o->rule * 2 + (a != 0)) {    /* never called for Adam */
    case 0: FSGD_CALL(FSGD_SGD, 0); break;
    case 1: FSGD_CALL(FSGD_SGD, 1); break;
    case 2: FSGD_CALL(FSGD_MOMENTUM, 0); break;
    case 3: FSGD_CALL(FSGD_MOMENTUM, 1); break;
    case 4: FSGD_CALL(FSGD_NESTEROV, 0); break;
    case 5: FSGD_CALL(FSGD_NESTEROV, 1); break;
    default: sq = NAN;
    }
#undef FSGD_CALL
    return sq;
}

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
        FN(fsgd_vec) w0 = full ? FN(fsgd_vload)(w) : FN(fsgd_vload_n)(w, n0);
        FN(fsgd_vec) w1 = full ? FN(fsgd_vload)(w + VLEN) : FN(fsgd_vload_n)(w + VLEN, n1);
        for (p = 0; p < np; p++) {
            const T *u = U + p * n_out + j;
            const T xp = xt[p];
            w0 -= xp * (full ? FN(fsgd_vload)(u) : FN(fsgd_vload_n)(u, n0));
            w1 -= xp * (full ? FN(fsgd_vload)(u + VLEN) : FN(fsgd_vload_n)(u + VLEN, n1));
        }
        if (full) {
            FN(fsgd_vstore)(w, w0);
            FN(fsgd_vstore)(w + VLEN, w1);
        } else {
            FN(fsgd_vstore_n)(w, w0, n0);
            FN(fsgd_vstore_n)(w + VLEN, w1, n1);
        }
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
            if (full) {
                FN(fsgd_vstore)(fq, f0[q]);
                FN(fsgd_vstore)(fq + VLEN, f1[q]);
            } else {
                FN(fsgd_vstore_n)(fq, f0[q], n0);
                FN(fsgd_vstore_n)(fq + VLEN, f1[q], n1);
            }
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

/* ---- on-line plain SGD: a narrow last layer, transposed ---------------------------- */

/* A last layer only a few units wide (a classifier's output) has rows shorter
 * than two vectors: row by row, its sweeps would be mostly masked tails and
 * horizontal sums. The windowed on-line kernel keeps a transposed copy WT
 * (n_out rows of n_in) for the length of a call instead, whose rows are long. */

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

/* One tile of fsgd_tsweep: columns [i0, i0 + FSGD_TILE VLEN) of WT, as n0..n3
 * elements of FSGD_TILE vectors (`full`: all whole, no masks). */
#define FSGD_TLD(p, n) (full ? FN(fsgd_vload)(p) : FN(fsgd_vload_n)((p), (n)))
#define FSGD_TST(p, v, n)                                                            \
    do {                                                                             \
        if (full)                                                                    \
            FN(fsgd_vstore)((p), (v));                                               \
        else                                                                         \
            FN(fsgd_vstore_n)((p), (v), (n));                                        \
    } while (0)

FSGD_INLINE void FN(fsgd_tsweep_tile)(const int full, T *WT, const T *d, const T *h,
                                      T *d_in, ptrdiff_t n_in, ptrdiff_t n_out,
                                      T s, ptrdiff_t i0, ptrdiff_t n0, ptrdiff_t n1,
                                      ptrdiff_t n2, ptrdiff_t n3)
{
    const FN(fsgd_vec) zero = {0};
    const FN(fsgd_vec) h0 = FSGD_TLD(h + i0, n0);
    const FN(fsgd_vec) h1 = FSGD_TLD(h + i0 + VLEN, n1);
    const FN(fsgd_vec) h2 = FSGD_TILE > 2 ? FSGD_TLD(h + i0 + 2 * VLEN, n2) : zero;
    const FN(fsgd_vec) h3 = FSGD_TILE > 2 ? FSGD_TLD(h + i0 + 3 * VLEN, n3) : zero;
    FN(fsgd_vec) a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    ptrdiff_t j;
    for (j = 0; j < n_out; j++) {
        T *w = WT + j * n_in + i0;
        const T dj = d[j], uj = s * d[j];
        FN(fsgd_vec) w0 = FSGD_TLD(w, n0);
        FN(fsgd_vec) w1 = FSGD_TLD(w + VLEN, n1);
        a0 += dj * w0;
        a1 += dj * w1;
        FSGD_TST(w, w0 - uj * h0, n0);
        FSGD_TST(w + VLEN, w1 - uj * h1, n1);
        if (FSGD_TILE > 2) {
            FN(fsgd_vec) w2 = FSGD_TLD(w + 2 * VLEN, n2);
            FN(fsgd_vec) w3 = FSGD_TLD(w + 3 * VLEN, n3);
            a2 += dj * w2;
            a3 += dj * w3;
            FSGD_TST(w + 2 * VLEN, w2 - uj * h2, n2);
            FSGD_TST(w + 3 * VLEN, w3 - uj * h3, n3);
        }
    }
    FSGD_TST(d_in + i0, a0, n0);
    FSGD_TST(d_in + i0 + VLEN, a1, n1);
    if (FSGD_TILE > 2) {
        FSGD_TST(d_in + i0 + 2 * VLEN, a2, n2);
        FSGD_TST(d_in + i0 + 3 * VLEN, a3, n3);
    }
}

#undef FSGD_TLD
#undef FSGD_TST

/* Backward through the transposed layer and its plain SGD step, in one sweep:
 * d_in[i] = sum over j of d[j] WT[j, i] with the weights before the step, then
 * WT[j] -= (s d[j]) h (s: the learning rate over the sample weight). */
FSGD_INLINE void FN(fsgd_tsweep)(T *WT, const T *d, const T *h, T *d_in,
                            ptrdiff_t n_in, ptrdiff_t n_out, T s)
{
    ptrdiff_t i0, n, n0, n1, n2, n3;
    for (i0 = 0; i0 + FSGD_TILE * VLEN <= n_in; i0 += FSGD_TILE * VLEN)
        FN(fsgd_tsweep_tile)(1, WT, d, h, d_in, n_in, n_out, s, i0, VLEN, VLEN, VLEN,
                             VLEN);
    if (i0 < n_in) {
        n = n_in - i0;
        n0 = n < VLEN ? n : VLEN;
        n1 = n - VLEN <= 0 ? 0 : (n - VLEN < VLEN ? n - VLEN : VLEN);
        n2 = n - 2 * VLEN <= 0 ? 0 : (n - 2 * VLEN < VLEN ? n - 2 * VLEN : VLEN);
        n3 = n - 3 * VLEN <= 0 ? 0 : n - 3 * VLEN;
        FN(fsgd_tsweep_tile)(0, WT, d, h, d_in, n_in, n_out, s, i0, n0, n1, n2, n3);
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

/* ---- forward passes: out += sum of c * row, four rows per pass over out ---------- */

FSGD_INLINE void FN(fsgd_axpy4)(T *restrict out, T c0, const T *restrict w0, T c1,
                                const T *restrict w1, T c2, const T *restrict w2,
                                T c3, const T *restrict w3, ptrdiff_t n)
{
    ptrdiff_t j;
#pragma omp simd
    for (j = 0; j < n; j++)
        out[j] = out[j] + c0 * w0[j] + c1 * w1[j] + c2 * w2[j] + c3 * w3[j];
}

FSGD_INLINE void FN(fsgd_axpy1)(T *restrict out, T c0, const T *restrict w0,
                                ptrdiff_t n)
{
    ptrdiff_t j;
#pragma omp simd
    for (j = 0; j < n; j++)
        out[j] += c0 * w0[j];
}

/* out[0:n] += sum over p < k of c[p] * W[rows[p]] (row stride ld), n <= 4 VLEN:
 * the columns' accumulators stay in registers while the rows stream by. */
FSGD_INLINE void FN(fsgd_gemv_tile)(T *out, const T *c, const ptrdiff_t *rows,
                                    ptrdiff_t k, const T *W, ptrdiff_t ld,
                                    ptrdiff_t n)
{
    const ptrdiff_t n0 = n < VLEN ? n : VLEN;
    const ptrdiff_t n1 = n - VLEN < 0 ? 0 : (n - VLEN < VLEN ? n - VLEN : VLEN);
    const ptrdiff_t n2 = n - 2 * VLEN < 0 ? 0 : (n - 2 * VLEN < VLEN ? n - 2 * VLEN : VLEN);
    const ptrdiff_t n3 = n - 3 * VLEN < 0 ? 0 : n - 3 * VLEN;
    FN(fsgd_vec) a0 = FN(fsgd_vload_n)(out, n0);
    FN(fsgd_vec) a1 = FN(fsgd_vload_n)(out + VLEN, n1);
    FN(fsgd_vec) a2 = FN(fsgd_vload_n)(out + 2 * VLEN, n2);
    FN(fsgd_vec) a3 = FN(fsgd_vload_n)(out + 3 * VLEN, n3);
    ptrdiff_t p;
    for (p = 0; p < k; p++) {
        const T *w = W + rows[p] * ld;
        const T cp = c[p];
        a0 += cp * FN(fsgd_vload_n)(w, n0);
        a1 += cp * FN(fsgd_vload_n)(w + VLEN, n1);
        a2 += cp * FN(fsgd_vload_n)(w + 2 * VLEN, n2);
        a3 += cp * FN(fsgd_vload_n)(w + 3 * VLEN, n3);
    }
    FN(fsgd_vstore_n)(out, a0, n0);
    FN(fsgd_vstore_n)(out + VLEN, a1, n1);
    FN(fsgd_vstore_n)(out + 2 * VLEN, a2, n2);
    FN(fsgd_vstore_n)(out + 3 * VLEN, a3, n3);
}

/* The same for n <= 2 VLEN (a narrow layer, such as the output layer): two rows
 * per step into two sets of accumulators, for twice the independent additions. */
FSGD_INLINE void FN(fsgd_gemv_narrow)(T *out, const T *c, const ptrdiff_t *rows,
                                      ptrdiff_t k, const T *W, ptrdiff_t ld,
                                      ptrdiff_t n)
{
    const ptrdiff_t n0 = n < VLEN ? n : VLEN, n1 = n - n0;
    FN(fsgd_vec) a0 = FN(fsgd_vload_n)(out, n0);
    FN(fsgd_vec) a1 = FN(fsgd_vload_n)(out + VLEN, n1);
    FN(fsgd_vec) b0 = {0}, b1 = {0};
    ptrdiff_t p;
    for (p = 0; p + 2 <= k; p += 2) {
        const T *w = W + rows[p] * ld;
        const T *v = W + rows[p + 1] * ld;
        a0 += c[p] * FN(fsgd_vload_n)(w, n0);
        a1 += c[p] * FN(fsgd_vload_n)(w + VLEN, n1);
        b0 += c[p + 1] * FN(fsgd_vload_n)(v, n0);
        b1 += c[p + 1] * FN(fsgd_vload_n)(v + VLEN, n1);
    }
    if (p < k) {
        const T *w = W + rows[p] * ld;
        a0 += c[p] * FN(fsgd_vload_n)(w, n0);
        a1 += c[p] * FN(fsgd_vload_n)(w + VLEN, n1);
    }
    FN(fsgd_vstore_n)(out, a0 + b0, n0);
    FN(fsgd_vstore_n)(out + VLEN, a1 + b1, n1);
}

/* out += x @ W for a dense x of n_in values, skipping its zeros (half of a ReLU
 * layer's activations): only the rows of non-zeros are read. The non-zeros are
 * listed FSGD_ROW_CHUNK at a time without a branch, then their rows summed a
 * column tile at a time. `in_order` adds the rows strictly one after another, in
 * the order of the forward pass fused into fsgd_sweep_first, so that both give
 * the same rounding (narrow layers otherwise sum two rows at a time). */
static void FN(fsgd_gemv_rows)(T *out, const T *x, const T *W, ptrdiff_t n_in,
                               ptrdiff_t n_out, int in_order)
{
    ptrdiff_t rows[FSGD_ROW_CHUNK];
    T c[FSGD_ROW_CHUNK];
    ptrdiff_t i0, r, m, k, j;
    for (i0 = 0; i0 < n_in; i0 += FSGD_ROW_CHUNK) {
        m = n_in - i0 < FSGD_ROW_CHUNK ? n_in - i0 : FSGD_ROW_CHUNK;
        k = 0;
        for (r = 0; r < m; r++) {
            rows[k] = i0 + r;
            c[k] = x[i0 + r];
            k += x[i0 + r] != 0;
        }
        if (n_out <= 2 * VLEN && !in_order) {
            FN(fsgd_gemv_narrow)(out, c, rows, k, W, n_out, n_out);
            continue;
        }
        for (j = 0; j < n_out; j += 4 * VLEN)
            FN(fsgd_gemv_tile)(out + j, c, rows, k, W + j, n_out,
                               n_out - j < 4 * VLEN ? n_out - j : 4 * VLEN);
    }
}

/* out += sum over p < nnz of vals[p] * W[idx[p]]: a CSR row times W. */
static void FN(fsgd_gather_rows)(T *out, const T *vals, const ptrdiff_t *idx,
                                 ptrdiff_t nnz, const T *W, ptrdiff_t n_out)
{
    ptrdiff_t p = 0;
    for (; p + 4 <= nnz; p += 4)
        FN(fsgd_axpy4)(out, vals[p], W + idx[p] * n_out, vals[p + 1],
                       W + idx[p + 1] * n_out, vals[p + 2], W + idx[p + 2] * n_out,
                       vals[p + 3], W + idx[p + 3] * n_out, n_out);
    for (; p < nnz; p++)
        FN(fsgd_axpy1)(out, vals[p], W + idx[p] * n_out, n_out);
}

/* ---- activations, their derivatives, losses ------------------------------------ */

/* The transcendental functions a vector (FSGD_NV elements) at a time, in place: a
 * loop of fixed length that "omp simd" vectorises whole, calling libmvec's vector
 * variant once (FSGD_LIBMVEC; see _simd.h) or libm once per element. */
FSGD_INLINE void FN(fsgd_exp_block)(T *restrict a)
{
    ptrdiff_t l;
#pragma omp simd simdlen(FSGD_NV)
    for (l = 0; l < FSGD_NV; l++)
        a[l] = FSGD_EXPF(a[l]);
}

FSGD_INLINE void FN(fsgd_log_block)(T *restrict a)
{
    ptrdiff_t l;
#pragma omp simd simdlen(FSGD_NV)
    for (l = 0; l < FSGD_NV; l++)
        a[l] = FSGD_LOGF(a[l]);
}

FSGD_INLINE void FN(fsgd_tanh_block)(T *restrict a)
{
    ptrdiff_t l;
#pragma omp simd simdlen(FSGD_NV)
    for (l = 0; l < FSGD_NV; l++)
        a[l] = FSGD_TANHF(a[l]);
}

FSGD_INLINE void FN(fsgd_logistic_block)(T *restrict a)
{
    ptrdiff_t l;
#pragma omp simd simdlen(FSGD_NV)
    for (l = 0; l < FSGD_NV; l++)
        a[l] = 1 / (1 + FSGD_EXPF(-a[l]));
}

/* Apply a block function to z[0:n] in place: whole vectors where they are, the
 * last part vector through a zero-padded copy. Every element goes through the
 * same vector code whatever its position, so a value is the same in a row of the
 * on-line kernel and in a chunk of the gemm path. */
#define FSGD_MAP(BLOCK, z, n)                                                        \
    do {                                                                             \
        T buf_[FSGD_NV];                                                             \
        ptrdiff_t i_ = 0, r_;                                                        \
        for (; i_ + FSGD_NV <= (n); i_ += FSGD_NV)                                   \
            BLOCK((z) + i_);                                                         \
        r_ = (n) - i_;                                                               \
        if (r_ > 0) {                                                                \
            memset(buf_, 0, sizeof buf_);                                            \
            memcpy(buf_, (z) + i_, r_ * sizeof(T));                                  \
            BLOCK(buf_);                                                             \
            memcpy((z) + i_, buf_, r_ * sizeof(T));                                  \
        }                                                                            \
    } while (0)

/* exp (0), log (1) or tanh (2) of z[0:n] in place, as the loops above take them
 * (what the tests compare with libm). */
static void FN(fsgd_math)(T *z, ptrdiff_t n, int fn)
{
    if (fn == 0)
        FSGD_MAP(FN(fsgd_exp_block), z, n);
    else if (fn == 1)
        FSGD_MAP(FN(fsgd_log_block), z, n);
    else
        FSGD_MAP(FN(fsgd_tanh_block), z, n);
}

/* softmax of one row of n values, in place: exp(z - max z) / its sum. A NaN
 * anywhere makes the row NaN. */
FSGD_INLINE void FN(fsgd_softmax_row)(T *z, ptrdiff_t n)
{
    T m = z[0], s = 0;
    ptrdiff_t j;
    for (j = 1; j < n; j++)
        m = z[j] > m ? z[j] : m;
#pragma omp simd
    for (j = 0; j < n; j++)
        z[j] -= m;
    FSGD_MAP(FN(fsgd_exp_block), z, n);
    for (j = 0; j < n; j++)
        s += z[j];
#pragma omp simd
    for (j = 0; j < n; j++)
        z[j] /= s;
}

/* Apply activation `kind` in place to a row-major (rows, cols) block. */
static void FN(fsgd_activate)(T *z, ptrdiff_t rows, ptrdiff_t cols, int kind)
{
    const ptrdiff_t n = rows * cols;
    ptrdiff_t i;
    switch (kind) {
    case FSGD_LOGISTIC:
        FSGD_MAP(FN(fsgd_logistic_block), z, n);
        break;
    case FSGD_TANH:
        FSGD_MAP(FN(fsgd_tanh_block), z, n);
        break;
    case FSGD_RELU:
#pragma omp simd
        for (i = 0; i < n; i++)
            z[i] = z[i] < 0 ? 0 : z[i];
        break;
    case FSGD_EXP:
        FSGD_MAP(FN(fsgd_exp_block), z, n);
        break;
    case FSGD_SOFTMAX:
        for (i = 0; i < rows; i++)
            FN(fsgd_softmax_row)(z + i * cols, cols);
        break;
    default: /* identity */
        break;
    }
}

/* Multiply delta[0:n] by the derivative of hidden activation `kind`, written in
 * terms of its output a. */
static void FN(fsgd_backprop_activation)(T *restrict delta, const T *restrict a,
                                         ptrdiff_t n, int kind)
{
    ptrdiff_t i;
    switch (kind) {
    case FSGD_LOGISTIC:
#pragma omp simd
        for (i = 0; i < n; i++)
            delta[i] = (delta[i] * a[i]) * (1 - a[i]);
        break;
    case FSGD_TANH:
#pragma omp simd
        for (i = 0; i < n; i++)
            delta[i] *= 1 - a[i] * a[i];
        break;
    case FSGD_RELU:
#pragma omp simd
        for (i = 0; i < n; i++)
            delta[i] = a[i] == 0 ? 0 : delta[i];
        break;
    default: /* identity */
        break;
    }
}

/* The sum over the listed j of c[j] * log(v[j]) (v in T, the logarithm and the
 * sum in double, as scikit-learn's losses take them): the values gathered a
 * vector at a time, so that only the listed ones cost a logarithm. */
FSGD_INLINE double FN(fsgd_sum_clogv)(const T *c, const T *v, const ptrdiff_t *idx,
                                      ptrdiff_t m)
{
    double buf[FSGD_VBYTES / sizeof(double)], s = 0;
    const ptrdiff_t nb = FSGD_VBYTES / sizeof(double); /* one vector of double */
    ptrdiff_t p0, l, cnt;
    for (p0 = 0; p0 < m; p0 += nb) {
        cnt = m - p0 < nb ? m - p0 : nb;
        for (l = 0; l < nb; l++)
            buf[l] = 1.0;
        for (l = 0; l < cnt; l++)
            buf[l] = v[idx[p0 + l]];
        fsgd_log_block_d(buf);
        for (l = 0; l < cnt; l++)
            s += c[idx[p0 + l]] * buf[l];
    }
    return s;
}

/* One sample's loss for output activation `output`, as scikit-learn's
 * LOSS_FUNCTIONS compute it: half squared error averaged over the k outputs
 * (identity), half Poisson deviance (exp), log loss on probabilities clipped to
 * [eps, 1 - eps] (softmax, logistic). Terms with a zero factor (y = 0 in
 * y log p; 1 - y = 0 for logistic) are left out, as scikit-learn's xlogy leaves
 * them out: only the others cost a logarithm. */
static double FN(fsgd_row_loss)(const T *p, const T *y, ptrdiff_t k, int output)
{
    const T eps = sizeof(T) == sizeof(float) ? (T)FLT_EPSILON : (T)DBL_EPSILON;
    const T one = 1;
    ptrdiff_t idx[FSGD_ROW_CHUNK];
    T pc[FSGD_ROW_CHUNK], c[FSGD_ROW_CHUNK];
    double loss = 0;
    ptrdiff_t j0, j, m, cnt;
    if (output == FSGD_IDENTITY) {
        for (j = 0; j < k; j++) {
            double diff = y[j] - p[j];
            loss += diff * diff;
        }
        return 0.5 * loss / k;
    }
    for (j0 = 0; j0 < k; j0 += FSGD_ROW_CHUNK) {
        cnt = k - j0 < FSGD_ROW_CHUNK ? k - j0 : FSGD_ROW_CHUNK;
        const T *pj = p + j0, *yj = y + j0;
        if (output == FSGD_EXP) {
            /* y log(y / p) as y log y - y log p, without dividing by an
             * underflowed p; then p - y. */
            m = 0;
            for (j = 0; j < cnt; j++) {
                idx[m] = j;
                m += yj[j] != 0;
            }
            loss += FN(fsgd_sum_clogv)(yj, yj, idx, m);
            loss -= FN(fsgd_sum_clogv)(yj, pj, idx, m);
            for (j = 0; j < cnt; j++)
                loss += (double)(pj[j] - yj[j]);
            continue;
        }
        for (j = 0; j < cnt; j++) {
            T v = pj[j];
            v = v < eps ? eps : v;
            pc[j] = v > one - eps ? one - eps : v;
        }
        m = 0;
        for (j = 0; j < cnt; j++) {
            idx[m] = j;
            m += yj[j] != 0;
        }
        loss -= FN(fsgd_sum_clogv)(yj, pc, idx, m);
        if (output == FSGD_LOGISTIC) {
            m = 0;
            for (j = 0; j < cnt; j++) {
                idx[m] = j;
                c[j] = 1 - yj[j];
                pc[j] = 1 - pc[j];
                m += yj[j] != 1;
            }
            loss -= FN(fsgd_sum_clogv)(c, pc, idx, m);
        }
    }
    return loss;
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
    FN(fsgd_tsweep)(WT, d2, h, d1, u1, K, s);
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

#undef FSGD_MAP
#undef FSGD_FIRST_ROW
#undef VLEN
#undef FN
