/* Activations, their derivatives and the losses: exp, log and tanh a vector at
 * a time (glibc's vector math where setup.py found it).
 *
 * Included by simd.h once per element type, with T, S, FN and VLEN defined (see
 * simd.h for the conventions).
 */
/* ---- activations, their derivatives, losses ------------------------------------ */

/* The transcendental functions a vector (FSGD_NV elements) at a time, in place: a
 * loop of fixed length that "omp simd" vectorises whole, calling libmvec's vector
 * variant once (FSGD_LIBMVEC; see simd.h) or libm once per element. */
#define FSGD_LOGISTIC(x) (1 / (1 + FSGD_EXPF(-(x))))
#define FSGD_DEFINE_BLOCK(name, f)                                                   \
    FSGD_INLINE void FN(name)(T *restrict a)                                         \
    {                                                                                \
        ptrdiff_t l;                                                                 \
        _Pragma("omp simd simdlen(FSGD_NV)") for (l = 0; l < FSGD_NV; l++)           \
            a[l] = f(a[l]);                                                          \
    }
FSGD_DEFINE_BLOCK(fsgd_exp_block, FSGD_EXPF)
FSGD_DEFINE_BLOCK(fsgd_log_block, FSGD_LOGF)
FSGD_DEFINE_BLOCK(fsgd_tanh_block, FSGD_TANHF)
FSGD_DEFINE_BLOCK(fsgd_logistic_block, FSGD_LOGISTIC)
#undef FSGD_DEFINE_BLOCK
#undef FSGD_LOGISTIC

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


#undef FSGD_MAP
