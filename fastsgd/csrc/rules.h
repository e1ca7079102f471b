/* Update rules: what scikit-learn's SGDOptimizer and AdamOptimizer do to a
 * parameter, for one element and for a vector, and one step over a span of
 * parameters (fsgd_update).
 *
 * Included by simd.h once per element type, with T, S, FN and VLEN defined (see
 * simd.h for the conventions).
 */
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



/* fsgd_step with the rate folded in, on one element (fsgd_step_lg) or a vector
 * (fsgd_vstep_lg), with the rule's state in *v (the velocity; Adam's m) and *v2
 * (Adam's v), untouched by the rules without them. lg is the learning rate
 * times the gradient, but for Adam the gradient itself (Adam's rate divides m
 * by sqrt(v) + eps, after it). The callers form lg as (rate * gs) * d +
 * (rate * a) * w with rate = lr (1 for Adam): the gradient's products with the
 * rate folded into per-row scalars, one multiplication fewer per weight than
 * lr * (gs * d + a * w), equal to it but for rounding. Both forms are written
 * once, here, for an element type V and its square root. */
#define FSGD_DEFINE_STEP_LG(name, V, SQRT)                                           \
    FSGD_INLINE V name(const int rule, const FN(fsgd_hyper) h, V w, V lg, V *v,      \
                       V *v2)                                                        \
    {                                                                                \
        if (rule == FSGD_SGD)                                                        \
            return w - lg;                                                           \
        if (rule == FSGD_ADAM) { /* as fsgd_step */                                  \
            *v = h.b1 * *v + h.omb1 * lg;                                            \
            *v2 = h.b2 * *v2 + h.omb2 * (lg * lg);                                   \
            return w + -h.lr * *v / (SQRT(*v2) + h.eps);                             \
        }                                                                            \
        *v = h.mu * *v - lg;                                                         \
        if (rule == FSGD_MOMENTUM)                                                   \
            return w + *v;                                                           \
        return w + (h.mu * *v - lg);                                                 \
    }
FSGD_DEFINE_STEP_LG(FN(fsgd_vstep_lg), FN(fsgd_vec), FN(fsgd_vsqrt))
FSGD_DEFINE_STEP_LG(FN(fsgd_step_lg), T, FSGD_SQRT)
#undef FSGD_DEFINE_STEP_LG

/* One vector's step in the register-blocked loops: adds the decay to lg (and
 * wk * wk to the sum of squares q), loads the rule's state from sp (and Adam's
 * from sp2) with LOAD, steps wk and stores the state back with STORE; wk is left
 * for the caller to store. Needs rule, decay, h, la and zero in scope. */
#define FSGD_VSTEP(wk, lg, q, sp, sp2, LOAD, STORE)                                  \
    do {                                                                             \
        FN(fsgd_vec) vk_ = zero, vk2_ = zero;                                        \
        if (decay) {                                                                 \
            (lg) += la * (wk);                                                       \
            (q) += (wk) * (wk);                                                      \
        }                                                                            \
        if (rule != FSGD_SGD)                                                        \
            vk_ = LOAD(sp);                                                          \
        if (rule == FSGD_ADAM)                                                       \
            vk2_ = LOAD(sp2);                                                        \
        (wk) = FN(fsgd_vstep_lg)(rule, h, (wk), (lg), &vk_, &vk2_);                  \
        if (rule != FSGD_SGD)                                                        \
            STORE((sp), vk_);                                                        \
        if (rule == FSGD_ADAM)                                                       \
            STORE((sp2), vk2_);                                                      \
    } while (0)

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
