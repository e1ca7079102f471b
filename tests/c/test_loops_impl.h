/* The checks of test_loops.c for one element type: included once per type with T
 * (double or float), S (the library's suffix: d or f), TSTR (S as a string), TOL
 * (relative tolerance), T_EPS and T_MIN (the type's epsilon and smallest normal). */

#define TF(name) FSGD_CAT(name, S)

/* ---- buffers ---------------------------------------------------------------------- */

/* n elements of T between guards of SENTINEL, zeroed. */
static T *TF(buf)(ptrdiff_t n)
{
    T *b = arena_alloc((size_t)(n + 2 * GUARD) * sizeof(T));
    ptrdiff_t i;
    for (i = 0; i < GUARD; i++)
        b[i] = b[GUARD + n + i] = (T)SENTINEL;
    memset(b + GUARD, 0, (size_t)n * sizeof(T));
    return b + GUARD;
}

/* n values uniform in [lo, hi), a fraction `zeros` of them 0. */
static T *TF(rnd)(ptrdiff_t n, double lo, double hi, double zeros)
{
    T *b = TF(buf)(n);
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        double u = urand();
        b[i] = (T)(u < zeros ? 0 : unif(lo, hi));
    }
    return b;
}

static T *TF(copy)(const T *src, ptrdiff_t n)
{
    T *b = TF(buf)(n);
    memcpy(b, src, (size_t)n * sizeof(T));
    return b;
}

/* A double copy, for the reference (NULL stays NULL... as a zeroed buffer). */
static double *TF(dcopy)(const T *src, ptrdiff_t n)
{
    double *d = dbuf(n);
    ptrdiff_t i;
    if (src != NULL)
        for (i = 0; i < n; i++)
            d[i] = src[i];
    return d;
}

static int TF(guards_ok)(const T *b, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 1; i <= GUARD; i++)
        if (b[-i] != (T)SENTINEL || b[n - 1 + i] != (T)SENTINEL)
            return 0;
    return 1;
}

/* ---- comparisons ---------------------------------------------------------------- */

/* got[0:n] against ref: max |got - ref| over max |ref| (the rounding of a sum is
 * relative to its terms, not to a small result), non-finite values matched
 * exactly. `guarded`: got is a whole buffer of TF(buf), and a write into its
 * guards fails too. floor_: a least denominator, the size of the values a step
 * starts from when it may cancel them. */
static void TF(cmp_norm)(const char *what, const T *got, const double *ref,
                         ptrdiff_t n, double tol, int guarded, double floor_)
{
    double den = floor_, err = 0, e;
    ptrdiff_t i, worst = -1;
    char w[160];
    if (guarded && !TF(guards_ok)(got, n)) {
        snprintf(w, sizeof w, "%s: wrote outside its %ld elements", what, (long)n);
        record(0, w, INFINITY, tol, -1, 0, 0);
        return;
    }
    for (i = 0; i < n; i++)
        if (isfinite(ref[i]) && fabs(ref[i]) > den)
            den = fabs(ref[i]);
    den = den > DBL_MIN ? den : DBL_MIN;
    for (i = 0; i < n; i++) {
        if (!nonfinite_err(ref[i], got[i], &e))
            e = fabs((double)got[i] - ref[i]) / den;
        if (worst < 0 || e > err) {
            err = e;
            worst = i;
        }
    }
    record(err <= tol, what, err, tol, (long)worst, worst >= 0 ? ref[worst] : 0,
           worst >= 0 ? (double)got[worst] : 0);
}

static void TF(check_norm)(const char *what, const T *got, const double *ref,
                           ptrdiff_t n, double tol)
{
    TF(cmp_norm)(what, got, ref, n, tol, 1, 0);
}

/* A sum against its reference, relative to at least mag: the largest sum of its
 * terms' absolute values (a sum that cancels is still exact to the rounding of
 * its terms, not of its result). */
static void TF(check_sum)(const char *what, const T *got, const double *ref,
                          ptrdiff_t n, double mag)
{
    TF(cmp_norm)(what, got, ref, n, TOL, 1, mag);
}

static double TF(maxabs)(const T *a, ptrdiff_t n)
{
    double m = 0;
    ptrdiff_t i;
    for (i = 0; i < n; i++)
        m = fabs((double)a[i]) > m ? fabs((double)a[i]) : m;
    return m;
}

/* The same, element by element relative to |ref| rounded to T (for functions
 * of one value: exp, log, tanh, logistic, softmax). */
static void TF(check_elem)(const char *what, const T *got, const double *ref,
                           ptrdiff_t n, double tol)
{
    double err = 0, e;
    ptrdiff_t i, worst = -1;
    char w[160];
    if (!TF(guards_ok)(got, n)) {
        snprintf(w, sizeof w, "%s: wrote outside its %ld elements", what, (long)n);
        record(0, w, INFINITY, tol, -1, 0, 0);
        return;
    }
    for (i = 0; i < n; i++) {
        double r = (T)ref[i], g = got[i];
        if (!nonfinite_err(r, g, &e)) {
            e = fabs(g - r) / (fabs(r) > T_MIN ? fabs(r) : T_MIN);
            if (r == 0 && g == 0)
                e = signbit(r) == signbit(g) ? 0 : INFINITY;
        }
        if (worst < 0 || e > err) {
            err = e;
            worst = i;
        }
    }
    record(err <= tol, what, err, tol, (long)worst,
           worst >= 0 ? (double)(T)ref[worst] : 0, worst >= 0 ? (double)got[worst] : 0);
}

/* A buffer the call must leave as it was. */
static void TF(check_same)(const char *what, const T *got, const T *before,
                           ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++)
        if (memcmp(&got[i], &before[i], sizeof(T)) != 0) {
            record(0, what, INFINITY, 0, (long)i, before[i], got[i]);
            return;
        }
    record(TF(guards_ok)(got, n), what, 0, 0, -1, 0, 0);
}

/* The rule's state buffers, as the Cython module passes them: NULL when the rule
 * has none (plain SGD: none; momentum, Nesterov: a velocity; Adam: m and v). */
static void TF(make_state)(int rule, ptrdiff_t n, T **S1, T **S2)
{
    *S1 = rule == FSGD_SGD ? NULL : TF(rnd)(n, -0.1, 0.1, 0);
    *S2 = rule == FSGD_ADAM ? TF(rnd)(n, 1e-3, 1e-2, 0) : NULL;
}

/* The sizes of W and its state before a step: a step may cancel a value (in a
 * row of one element), so errors are relative to at least these. */
typedef struct {
    double w, s1, s2;
} TF(sizes);

static TF(sizes) TF(sizes_of)(const T *W, const T *S1, const T *S2, ptrdiff_t n)
{
    TF(sizes) z;
    z.w = TF(maxabs)(W, n);
    z.s1 = S1 != NULL ? TF(maxabs)(S1, n) : 0;
    z.s2 = S2 != NULL ? TF(maxabs)(S2, n) : 0;
    return z;
}

/* W, S1, S2 against the reference's; the returned sum of squares against sq. */
static void TF(check_step)(int rule, TF(sizes) z, const T *W, const T *S1,
                           const T *S2, const double *rW, const double *rS1,
                           const double *rS2, ptrdiff_t n, double ret, double sq)
{
    TF(cmp_norm)("W", W, rW, n, TOL, 1, z.w);
    if (S1 != NULL)
        TF(cmp_norm)(rule == FSGD_ADAM ? "m (S1)" : "velocity (S1)", S1, rS1, n, TOL,
                     1, z.s1);
    if (S2 != NULL)
        TF(cmp_norm)("v (S2)", S2, rS2, n, TOL, 1, z.s2);
    check_scalar("returned sum of squares", ret, sq, TOL);
}

/* ---- fsgd_sumsq ------------------------------------------------------------------ */

static void TF(test_sumsq)(void)
{
    static const ptrdiff_t extra[] = {0, 1000, 4097};
    int k;
    for (k = 0; k < N_WIDTHS + 3; k++) {
        ptrdiff_t n = k < N_WIDTHS ? WIDTHS[k] : extra[k - N_WIDTHS], i;
        T *a;
        double s = 0;
        arena_reset();
        snprintf(ctx, sizeof ctx, "fsgd_sumsq_" TSTR " n=%ld", (long)n);
        a = TF(rnd)(n, -2, 2, 0.1);
        for (i = 0; i < n; i++)
            s += (double)a[i] * a[i];
        check_scalar("sum of squares", TF(fsgd_sumsq)(a, n), s, TOL);
    }
}

/* ---- fsgd_update ----------------------------------------------------------------- */

static void TF(test_update)(void)
{
    static const ptrdiff_t extra[] = {0, 4096, 4097, 9000};
    int rule, di, k;
    for (rule = 0; rule < 4; rule++)
        for (di = 0; di < 2; di++)
            for (k = 0; k < N_WIDTHS + 4; k++) {
                const ptrdiff_t n = k < N_WIDTHS ? WIDTHS[k] : extra[k - N_WIDTHS];
                const fsgd_opt o = make_opt(rule, ALPHAS[di]);
                const T gs = (T)0.37, a = (T)(ALPHAS[di] / 1.7);
                T *w, *s1, *s2, *d;
                double *rw, *rs1, *rs2, sq = 0, ret;
                TF(sizes) z;
                ptrdiff_t j;
                arena_reset();
                snprintf(ctx, sizeof ctx, "fsgd_update_" TSTR " rule=%s alpha=%g n=%ld",
                         RULE_NAMES[rule], ALPHAS[di], (long)n);
                w = TF(rnd)(n, -1, 1, 0);
                d = TF(rnd)(n, -1, 1, 0.1);
                TF(make_state)(rule, n, &s1, &s2);
                rw = TF(dcopy)(w, n);
                rs1 = TF(dcopy)(s1, n);
                rs2 = TF(dcopy)(s2, n);
                for (j = 0; j < n; j++) {
                    if (a != 0)
                        sq += rw[j] * rw[j];
                    rw[j] = ref_step(&o, rw[j], (double)gs * d[j] + (double)a * rw[j],
                                     &rs1[j], &rs2[j]);
                }
                z = TF(sizes_of)(w, s1, s2, n);
                ret = TF(fsgd_update)(&o, w, s1, s2, d, n, gs, a);
                TF(check_step)(rule, z, w, s1, s2, rw, rs1, rs2, n, ret, sq);
            }
}

/* ---- the reference of a layer's step: row i with gradient gs[i] * d + a * W[i] --- */

static double TF(ref_layer_step)(const fsgd_opt *o, double *rW, double *rS1,
                                 double *rS2, ptrdiff_t n_in, ptrdiff_t n_out,
                                 const double *gs, const double *d, double a)
{
    double sq = 0;
    ptrdiff_t i, j, k;
    for (i = 0; i < n_in; i++)
        for (j = 0; j < n_out; j++) {
            k = i * n_out + j;
            if (a != 0)
                sq += rW[k] * rW[k];
            rW[k] = ref_step(o, rW[k], gs[i] * d[j] + a * rW[k], &rS1[k], &rS2[k]);
        }
    return sq;
}

/* ---- fsgd_sweep_hidden ------------------------------------------------------------ */

/* transposed: the same step through fsgd_sweep_transposed, on the layer and its
 * state transposed (and transposed back for the checks). */
static void TF(sweep_hidden_case)(int rule, int di, ptrdiff_t n_in, ptrdiff_t n_out,
                                  int relu_input, int transposed)
{
    const fsgd_opt o = make_opt(rule, ALPHAS[di]);
    const T inv_sw = (T)(1 / 1.7), a = (T)(ALPHAS[di] / 1.7);
    const ptrdiff_t n = n_in * n_out;
    T *W, *S1, *S2, *d_out, *a_in, *d_in;
    double *rW, *rS1, *rS2, *rd_in, *gs, sq, ret, mag = 0;
    TF(sizes) z;
    ptrdiff_t i, j;
    arena_reset();
    snprintf(ctx, sizeof ctx,
             "fsgd_sweep_%s_" TSTR " rule=%s alpha=%g n_in=%ld n_out=%ld "
             "relu_input=%d",
             transposed ? "transposed" : "hidden", RULE_NAMES[rule], ALPHAS[di],
             (long)n_in, (long)n_out, relu_input);
    W = TF(rnd)(n, -1, 1, 0);
    TF(make_state)(rule, n, &S1, &S2);
    d_out = TF(rnd)(n_out, -1, 1, 0.1);
    a_in = TF(rnd)(n_in, -1, 1, 0.3);   /* zeros: a ReLU layer's inactive units */
    d_in = TF(rnd)(n_in, -9, 9, 0);     /* garbage the call must overwrite */
    rW = TF(dcopy)(W, n);
    rS1 = TF(dcopy)(S1, n);
    rS2 = TF(dcopy)(S2, n);
    rd_in = dbuf(n_in);
    gs = dbuf(n_in);
    /* d_in with the weights BEFORE the step */
    for (i = 0; i < n_in; i++) {
        double m = 0;
        for (j = 0; j < n_out; j++) {
            rd_in[i] += rW[i * n_out + j] * d_out[j];
            m += fabs(rW[i * n_out + j] * d_out[j]);
        }
        mag = dmax(mag, m);
        gs[i] = (double)a_in[i] * inv_sw;
    }
    sq = TF(ref_layer_step)(&o, rW, rS1, rS2, n_in, n_out, gs, TF(dcopy)(d_out, n_out),
                            a);
    z = TF(sizes_of)(W, S1, S2, n);
    if (transposed) {
        T *parts[3] = {W, S1, S2};
        T *tparts[3] = {NULL, NULL, NULL};
        int p;
        for (p = 0; p < 3; p++)
            if (parts[p] != NULL) {
                tparts[p] = TF(rnd)(n, -1, 1, 0);
                TF(fsgd_transpose)(tparts[p], parts[p], n_in, n_out);
            }
        ret = TF(fsgd_sweep_transposed)(&o, tparts[0], tparts[1], tparts[2], n_in, n_out,
                                        d_out, a_in, d_in, inv_sw, a);
        for (p = 0; p < 3; p++)
            if (parts[p] != NULL)
                TF(fsgd_transpose)(parts[p], tparts[p], n_out, n_in);
    } else {
        ret = TF(fsgd_sweep_hidden)(&o, W, S1, S2, n_in, n_out, d_out, a_in, d_in,
                                    inv_sw, a, relu_input);
    }
    if (relu_input) {
        /* an inactive row's delta is 0 or unspecified (the ReLU's derivative zeroes
         * it) */
        for (i = 0; i < n_in; i++)
            if (a_in[i] == 0)
                rd_in[i] = d_in[i];
    }
    TF(check_sum)("d_in (weights before the step)", d_in, rd_in, n_in, mag);
    TF(check_step)(rule, z, W, S1, S2, rW, rS1, rS2, n, ret, sq);
}

static void TF(test_sweep_hidden)(void)
{
    static const ptrdiff_t n_ins[] = {1, 2, 3, 5, 9};
    static const ptrdiff_t narrow[] = {1, 2, 3, 8, 17};
    int rule, di, k, r, t;
    for (t = 0; t < 2; t++)
        for (rule = 0; rule < 4; rule++)
            for (di = 0; di < 2; di++) {
                for (k = 0; k < N_WIDTHS; k++)
                    for (r = 0; r < 5; r++)
                        TF(sweep_hidden_case)(rule, di, n_ins[r], WIDTHS[k], 0, t);
                /* more rows than one chunk of the row list (FSGD_ROW_CHUNK) */
                for (r = 0; r < 5; r++)
                    TF(sweep_hidden_case)(rule, di, FSGD_ROW_CHUNK + 44, narrow[r], 0,
                                          t);
                /* transposed: inputs in whole tiles, and in a part tile */
                for (k = 0; t && k < N_WIDTHS; k++)
                    for (r = 0; r < 5; r++)
                        TF(sweep_hidden_case)(rule, di, WIDTHS[k], narrow[r], 0, t);
            }
    /* relu_input: what the Cython module passes below a ReLU layer (inactive rows
     * get no dot; plain SGD without decay leaves them alone) */
    for (rule = 0; rule < 4; rule++)
        for (di = 0; di < 2; di++) {
            for (k = 0; k < N_WIDTHS; k++)
                for (r = 0; r < 5; r++)
                    TF(sweep_hidden_case)(rule, di, n_ins[r], WIDTHS[k], 1, 0);
            for (r = 0; r < 5; r++)
                TF(sweep_hidden_case)(rule, di, FSGD_ROW_CHUNK + 44, narrow[r], 1, 0);
        }
}

/* ---- fsgd_sweep_first, fsgd_floor_sweep, and fsgd_gemv_rows in order --------------- */

static void TF(sweep_first_case)(int rule, int di, ptrdiff_t n_in, ptrdiff_t n_out,
                                 int fwd)
{
    const fsgd_opt o = make_opt(rule, ALPHAS[di]);
    const T inv_sw = (T)(1 / 1.7), a = (T)(ALPHAS[di] / 1.7);
    const ptrdiff_t n = n_in * n_out;
    T *W, *S1, *S2, *d, *x, *xn, *out, *out0, *out2;
    double *rW, *rS1, *rS2, *rout, *aout, *gs, sq, ret;
    TF(sizes) z;
    ptrdiff_t i, j;
    arena_reset();
    snprintf(ctx, sizeof ctx,
             "fsgd_sweep_first_" TSTR " rule=%s alpha=%g n_in=%ld n_out=%ld xn=%s "
             "buffers %s",
             RULE_NAMES[rule], ALPHAS[di], (long)n_in, (long)n_out,
             fwd ? "given" : "NULL", GUARD == ODD_GUARD ? "unaligned" : "aligned");
    W = TF(rnd)(n, -1, 1, 0);
    TF(make_state)(rule, n, &S1, &S2);
    d = TF(rnd)(n_out, -1, 1, 0.1);
    x = TF(rnd)(n_in, -1, 1, 0.3);
    xn = fwd ? TF(rnd)(n_in, -1, 1, 0.3) : NULL;
    out = TF(rnd)(n_out, -1, 1, 0);     /* the next sample's bias */
    out0 = TF(copy)(out, n_out);
    rW = TF(dcopy)(W, n);
    rS1 = TF(dcopy)(S1, n);
    rS2 = TF(dcopy)(S2, n);
    rout = TF(dcopy)(out, n_out);
    aout = dbuf(n_out);
    gs = dbuf(n_in);
    for (i = 0; i < n_in; i++)
        gs[i] = (double)x[i] * inv_sw;
    sq = TF(ref_layer_step)(&o, rW, rS1, rS2, n_in, n_out, gs, TF(dcopy)(d, n_out), a);
    for (j = 0; j < n_out; j++)
        aout[j] = fabs(rout[j]);
    if (fwd)    /* out += xn @ W after the step */
        for (i = 0; i < n_in; i++)
            for (j = 0; j < n_out; j++) {
                rout[j] += (double)xn[i] * rW[i * n_out + j];
                aout[j] += fabs((double)xn[i] * rW[i * n_out + j]);
            }
    z = TF(sizes_of)(W, S1, S2, n);
    ret = TF(fsgd_sweep_first)(&o, W, S1, S2, n_in, n_out, d, x, xn, out, inv_sw, a);
    TF(check_step)(rule, z, W, S1, S2, rW, rS1, rS2, n, ret, sq);
    if (fwd) {
        TF(check_sum)("out (forward with the updated W)", out, rout, n_out,
                      dmaxabs(aout, n_out));
        /* _kernels.pyx relies on gemv_rows(in_order=1) rounding as the sweep's
         * fused forward does (bit for bit across partial_fit chunks) */
        out2 = TF(copy)(out0, n_out);
        TF(fsgd_gemv_rows)(out2, xn, W, n_in, n_out, 1);
        TF(check_same)("out bitwise equal to fsgd_gemv_rows(in_order=1) on the "
                       "updated W", out, out2, n_out);
    } else {
        TF(check_same)("out untouched when xn is NULL", out, out0, n_out);
    }
}

static void TF(test_sweep_first)(void)
{
    static const ptrdiff_t n_ins[] = {1, 2, 3, 4, 5, 7, 9};
    static const ptrdiff_t guards[] = {ODD_GUARD, ALIGNED_GUARD};
    int rule, di, k, r, fwd, g;
    for (g = 0; g < 2; g++) {
        GUARD = guards[g];
        for (rule = 0; rule < 4; rule++)
            for (di = 0; di < 2; di++)
                for (fwd = 0; fwd < 2; fwd++)
                    for (k = 0; k < N_WIDTHS; k++)
                        for (r = 0; r < 7; r++)
                            TF(sweep_first_case)(rule, di, n_ins[r], WIDTHS[k], fwd);
    }
    GUARD = ODD_GUARD;
}

static void TF(test_floor_sweep)(void)
{
    static const ptrdiff_t n_ins[] = {1, 3, 5};
    int rule, di, k, r, tiled;
    for (rule = 0; rule < 4; rule++)
        for (di = 0; di < 2; di++)
            for (tiled = 0; tiled < 2; tiled++)
                for (k = 0; k < N_WIDTHS; k++)
                    for (r = 0; r < 3; r++) {
                        const fsgd_opt o = make_opt(rule, ALPHAS[di]);
                        const T inv_sw = (T)(1 / 1.7), a = (T)(ALPHAS[di] / 1.7);
                        const ptrdiff_t n_in = n_ins[r], n_out = WIDTHS[k];
                        const ptrdiff_t n = n_in * n_out;
                        T *W, *S1, *S2, *d, *x;
                        double *rW, *rS1, *rS2, *gs, sq, ret;
                        TF(sizes) z;
                        ptrdiff_t i;
                        arena_reset();
                        snprintf(ctx, sizeof ctx,
                                 "fsgd_floor_sweep_" TSTR " rule=%s alpha=%g n_in=%ld "
                                 "n_out=%ld tiled=%d",
                                 RULE_NAMES[rule], ALPHAS[di], (long)n_in, (long)n_out,
                                 tiled);
                        W = TF(rnd)(n, -1, 1, 0);
                        TF(make_state)(rule, n, &S1, &S2);
                        d = TF(rnd)(n_out, -1, 1, 0.1);
                        x = TF(rnd)(n_in, -1, 1, 0.3);
                        rW = TF(dcopy)(W, n);
                        rS1 = TF(dcopy)(S1, n);
                        rS2 = TF(dcopy)(S2, n);
                        gs = dbuf(n_in);
                        for (i = 0; i < n_in; i++)
                            gs[i] = (double)x[i] * inv_sw;
                        sq = TF(ref_layer_step)(&o, rW, rS1, rS2, n_in, n_out, gs,
                                                TF(dcopy)(d, n_out), a);
                        z = TF(sizes_of)(W, S1, S2, n);
                        ret = TF(fsgd_floor_sweep)(&o, W, S1, S2, n_in, n_out, d, x,
                                                   inv_sw, a, tiled);
                        TF(check_step)(rule, z, W, S1, S2, rW, rS1, rS2, n, ret, sq);
                    }
}

/* ---- fsgd_grad_step_first (never called for Adam) --------------------------------- */

static void TF(test_grad_step_first)(void)
{
    static const ptrdiff_t n_ins[] = {1, 3, 4, 5, 9};
    static const ptrdiff_t cs[] = {1, 3};
    int rule, di, k, r, ci;
    for (rule = 0; rule < 3; rule++)
        for (di = 0; di < 2; di++)
            for (k = 0; k < N_WIDTHS; k++)
                for (r = 0; r < 5; r++)
                    for (ci = 0; ci < 2; ci++) {
                        const fsgd_opt o = make_opt(rule, ALPHAS[di]);
                        const T inv_sw = (T)(1 / 2.3), a = (T)(ALPHAS[di] / 2.3);
                        const ptrdiff_t n_in = n_ins[r], n_out = WIDTHS[k], c = cs[ci];
                        const ptrdiff_t n = n_in * n_out, ldx = n_in + 2;
                        T *W, *S1, *S2, *X0, *d0;
                        double *rW, *rS1, *rS2, sq = 0, ret, grad;
                        TF(sizes) z;
                        ptrdiff_t i, j, q, m;
                        arena_reset();
                        snprintf(ctx, sizeof ctx,
                                 "fsgd_grad_step_first_" TSTR " rule=%s alpha=%g "
                                 "n_in=%ld n_out=%ld c=%ld ldx=%ld",
                                 RULE_NAMES[rule], ALPHAS[di], (long)n_in, (long)n_out,
                                 (long)c, (long)ldx);
                        W = TF(rnd)(n, -1, 1, 0);
                        TF(make_state)(rule, n, &S1, &S2);
                        X0 = TF(rnd)(c * ldx, -1, 1, 0.2);
                        d0 = TF(rnd)(c * n_out, -1, 1, 0.1);
                        rW = TF(dcopy)(W, n);
                        rS1 = TF(dcopy)(S1, n);
                        rS2 = TF(dcopy)(S2, n);
                        for (i = 0; i < n_in; i++)
                            for (j = 0; j < n_out; j++) {
                                m = i * n_out + j;
                                grad = 0;
                                for (q = 0; q < c; q++)
                                    grad += (double)X0[q * ldx + i] * d0[q * n_out + j];
                                if (a != 0)
                                    sq += rW[m] * rW[m];
                                rW[m] = ref_step(&o, rW[m],
                                                 (double)inv_sw * grad + (double)a * rW[m],
                                                 &rS1[m], &rS2[m]);
                            }
                        z = TF(sizes_of)(W, S1, S2, n);
                        ret = TF(fsgd_grad_step_first)(&o, W, S1, n_in, n_out, X0, ldx,
                                                       c, d0, inv_sw, a);
                        TF(check_step)(rule, z, W, S1, NULL, rW, rS1, rS2, n, ret, sq);
                    }
}

/* ---- forward passes ------------------------------------------------------------- */

static void TF(test_gemv_rows)(void)
{
    static const ptrdiff_t n_ins[] = {1, 3, 5, 9, FSGD_ROW_CHUNK + 44};
    int k, r, in_order;
    for (in_order = 0; in_order < 2; in_order++)
        for (k = 0; k < N_WIDTHS; k++)
            for (r = 0; r < 5; r++) {
                const ptrdiff_t n_in = n_ins[r], n_out = WIDTHS[k];
                T *out, *x, *W;
                double *rout, *aout;
                ptrdiff_t i, j;
                arena_reset();
                snprintf(ctx, sizeof ctx,
                         "fsgd_gemv_rows_" TSTR " n_in=%ld n_out=%ld in_order=%d",
                         (long)n_in, (long)n_out, in_order);
                x = TF(rnd)(n_in, -1, 1, 0.4);
                W = TF(rnd)(n_in * n_out, -1, 1, 0);
                out = TF(rnd)(n_out, -1, 1, 0);
                rout = TF(dcopy)(out, n_out);
                aout = dbuf(n_out);
                for (j = 0; j < n_out; j++)
                    aout[j] = fabs(rout[j]);
                for (i = 0; i < n_in; i++)
                    for (j = 0; j < n_out; j++) {
                        rout[j] += (double)x[i] * W[i * n_out + j];
                        aout[j] += fabs((double)x[i] * W[i * n_out + j]);
                    }
                TF(fsgd_gemv_rows)(out, x, W, n_in, n_out, in_order);
                TF(check_sum)("out += x @ W", out, rout, n_out, dmaxabs(aout, n_out));
            }
}

static void TF(test_gather_rows)(void)
{
    static const ptrdiff_t nnzs[] = {0, 1, 3, 4, 5, 9, 13};
    const ptrdiff_t n_rows = 20;
    int k, r;
    for (k = 0; k < N_WIDTHS; k++)
        for (r = 0; r < 7; r++) {
            const ptrdiff_t nnz = nnzs[r], n_out = WIDTHS[k];
            T *out, *vals, *W;
            ptrdiff_t *idx;
            double *rout, *aout;
            ptrdiff_t p, j;
            arena_reset();
            snprintf(ctx, sizeof ctx, "fsgd_gather_rows_" TSTR " nnz=%ld n_out=%ld",
                     (long)nnz, (long)n_out);
            vals = TF(rnd)(nnz, -1, 1, 0);
            idx = arena_alloc((size_t)(nnz + 1) * sizeof(ptrdiff_t));
            for (p = 0; p < nnz; p++)   /* a CSR row's columns, in order */
                idx[p] = (p ? idx[p - 1] : 0) + (ptrdiff_t)(urand() * 2.5);
            W = TF(rnd)((n_rows + 2 * 13) * n_out, -1, 1, 0);
            out = TF(rnd)(n_out, -1, 1, 0);
            rout = TF(dcopy)(out, n_out);
            aout = dbuf(n_out);
            for (j = 0; j < n_out; j++)
                aout[j] = fabs(rout[j]);
            for (p = 0; p < nnz; p++)
                for (j = 0; j < n_out; j++) {
                    rout[j] += (double)vals[p] * W[idx[p] * n_out + j];
                    aout[j] += fabs((double)vals[p] * W[idx[p] * n_out + j]);
                }
            TF(fsgd_gather_rows)(out, vals, idx, nnz, W, n_out);
            TF(check_sum)("out += vals @ W[idx]", out, rout, n_out, dmaxabs(aout, n_out));
        }
}

/* ---- activations, derivatives, vector maths, losses --------------------------------- */

static void TF(test_activate)(void)
{
    static const ptrdiff_t rowss[] = {1, 3};
    int kind, k, r, special;
    for (kind = 0; kind <= FSGD_SOFTMAX; kind++)
        for (k = 0; k < N_WIDTHS; k++)
            for (r = 0; r < 2; r++)
                for (special = 0; special < 2; special++) {
                    const ptrdiff_t rows = rowss[r], cols = WIDTHS[k], n = rows * cols;
                    T *z;
                    double *rz;
                    arena_reset();
                    snprintf(ctx, sizeof ctx,
                             "fsgd_activate_" TSTR " kind=%s rows=%ld cols=%ld%s",
                             ACT_NAMES[kind], (long)rows, (long)cols,
                             special ? " (with NaN, inf, -0, overflow)" : "");
                    z = TF(rnd)(n, -6, 6, 0.05);
                    if (special) {
                        static const double sp[] = {NAN, INFINITY, -INFINITY, -0.0,
                                                    1000, -1000, 50, -50};
                        ptrdiff_t i;
                        for (i = 0; i < 8; i++)
                            z[(i * 7 + 3) % n] = (T)sp[i];
                    }
                    rz = TF(dcopy)(z, n);
                    ref_activate(rz, rows, cols, kind);
                    TF(fsgd_activate)(z, rows, cols, kind);
                    TF(check_elem)("z", z, rz, n, TOL);
                }
}

static void TF(test_backprop_activation)(void)
{
    int kind, k;
    for (kind = 0; kind <= FSGD_RELU; kind++)
        for (k = 0; k < N_WIDTHS; k++) {
            const ptrdiff_t n = WIDTHS[k];
            T *delta, *a;
            double *rdelta, *ra;
            arena_reset();
            snprintf(ctx, sizeof ctx, "fsgd_backprop_activation_" TSTR " kind=%s n=%ld",
                     ACT_NAMES[kind], (long)n);
            delta = TF(rnd)(n, -2, 2, 0);
            a = kind == FSGD_LOGISTIC ? TF(rnd)(n, 0, 1, 0)
                : kind == FSGD_TANH   ? TF(rnd)(n, -1, 1, 0)
                : kind == FSGD_RELU   ? TF(rnd)(n, 0, 3, 0.4)
                                      : TF(rnd)(n, -3, 3, 0);
            rdelta = TF(dcopy)(delta, n);
            ra = TF(dcopy)(a, n);
            ref_backprop(rdelta, ra, n, kind);
            TF(fsgd_backprop_activation)(delta, a, n, kind);
            TF(check_norm)("delta", delta, rdelta, n, TOL);
        }
}

static void TF(test_math)(void)
{
    static const char *const names[] = {"exp", "log", "tanh"};
    int fn, k, special;
    for (fn = 0; fn < 3; fn++)
        for (k = 0; k < N_WIDTHS; k++)
            for (special = 0; special < 2; special++) {
                const ptrdiff_t n = WIDTHS[k];
                T *z;
                double *rz;
                ptrdiff_t i;
                arena_reset();
                snprintf(ctx, sizeof ctx, "fsgd_math_" TSTR " fn=%s n=%ld%s", names[fn],
                         (long)n, special ? " (special values)" : "");
                z = fn == 0   ? TF(rnd)(n, -20, 20, 0)
                    : fn == 1 ? TF(rnd)(n, 1e-3, 100, 0)
                              : TF(rnd)(n, -5, 5, 0);
                if (special) {
                    /* NaN stays NaN; exp overflows to inf and underflows to 0;
                     * log(0) = -inf, log(-1) NaN; tanh(-0) = -0 */
                    static const double sp[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0,
                                                1000, -1000, -1};
                    for (i = 0; i < 8; i++)
                        z[(i * 5 + 1) % n] = (T)sp[i];
                }
                rz = TF(dcopy)(z, n);
                for (i = 0; i < n; i++)
                    rz[i] = fn == 0 ? exp(rz[i]) : fn == 1 ? log(rz[i]) : tanh(rz[i]);
                TF(fsgd_math)(z, n, fn);
                TF(check_elem)(names[fn], z, rz, n, TOL);
            }
}

/* Targets and predictions for output activation `output`. */
static void TF(loss_data)(T *p, T *y, ptrdiff_t k, int output)
{
    ptrdiff_t j, hot;
    double s = 0;
    switch (output) {
    case FSGD_IDENTITY:
        for (j = 0; j < k; j++) {
            p[j] = (T)unif(-3, 3);
            y[j] = (T)unif(-3, 3);
        }
        break;
    case FSGD_EXP:     /* counts, zeros among them; a p that underflowed to 0 */
        for (j = 0; j < k; j++) {
            p[j] = (T)unif(0.05, 5);
            y[j] = (T)floor(unif(0, 4));
        }
        if (k > 2) {
            p[k / 2] = 0;
            y[k / 2] = 0;
        }
        break;
    case FSGD_LOGISTIC:    /* labels and soft labels; p at and beyond the clip */
        for (j = 0; j < k; j++) {
            p[j] = (T)unif(0.01, 0.99);
            y[j] = (T)(urand() < 0.3 ? unif(0, 1) : urand() < 0.5);
        }
        p[0] = 0;
        if (k > 1)
            p[1] = 1;
        break;
    default:           /* softmax: a one-hot target, probabilities summing to 1 */
        for (j = 0; j < k; j++) {
            p[j] = (T)unif(0, 1);
            s += p[j];
        }
        for (j = 0; j < k; j++)
            p[j] = (T)(p[j] / s);
        hot = (ptrdiff_t)(urand() * k);
        for (j = 0; j < k; j++)
            y[j] = j == hot;
        if (k > 2)
            p[(hot + 1) % k] = 0;
        break;
    }
}

static void TF(test_row_loss)(void)
{
    static const ptrdiff_t ks[] = {1, 2, 3, 7, 10, 17, FSGD_ROW_CHUNK + 44};
    static const int outputs[] = {FSGD_IDENTITY, FSGD_LOGISTIC, FSGD_EXP,
                                  FSGD_SOFTMAX};
    int oi, r;
    for (oi = 0; oi < 4; oi++)
        for (r = 0; r < 7; r++) {
            const ptrdiff_t k = ks[r];
            const int output = outputs[oi];
            T *p, *y;
            double rloss, mag;
            arena_reset();
            snprintf(ctx, sizeof ctx, "fsgd_row_loss_" TSTR " output=%s k=%ld",
                     ACT_NAMES[output], (long)k);
            p = TF(buf)(k);
            y = TF(buf)(k);
            TF(loss_data)(p, y, k, output);
            rloss = ref_row_loss(TF(dcopy)(p, k), TF(dcopy)(y, k), k, output, T_EPS,
                                 &mag);
            check_scalar_mag("loss", TF(fsgd_row_loss)(p, y, k, output), rloss, mag,
                             TOL);
        }
}

/* ---- on-line plain SGD: the windowed first layer, the transposed last layer -------- */

/* W[i] -= sum over p < np of XT[i, p] U[p], in order; F[q] = XTn[:, q] @ W. */
static void TF(test_window_sweep)(void)
{
    static const ptrdiff_t n_ins[] = {1, 3, 5};
    static const ptrdiff_t nps[] = {0, 1, 3, FSGD_WIN};
    int k, r, pi, fwd;
    for (fwd = 0; fwd < 2; fwd++)
        for (k = 0; k < N_WIDTHS; k++)
            for (r = 0; r < 3; r++)
                for (pi = 0; pi < 4; pi++) {
                    const ptrdiff_t n_in = n_ins[r], n_out = WIDTHS[k], np = nps[pi];
                    const ptrdiff_t n = n_in * n_out;
                    T *W, *XT, *U, *XTn, *F, *F0;
                    double *rW, *rF, *aW, *aF;
                    ptrdiff_t i, j, p, q;
                    arena_reset();
                    snprintf(ctx, sizeof ctx,
                             "fsgd_window_sweep_" TSTR " n_in=%ld n_out=%ld "
                             "n_pending=%ld XTn=%s",
                             (long)n_in, (long)n_out, (long)np, fwd ? "given" : "NULL");
                    W = TF(rnd)(n, -1, 1, 0);
                    XT = TF(rnd)(n_in * FSGD_WIN, -1, 1, 0.2);
                    U = TF(rnd)(FSGD_WIN * n_out, -0.3, 0.3, 0);
                    XTn = fwd ? TF(rnd)(n_in * FSGD_WIN, -1, 1, 0.2) : NULL;
                    F = TF(rnd)(FSGD_WIN * n_out, -9, 9, 0);
                    F0 = TF(copy)(F, FSGD_WIN * n_out);
                    rW = TF(dcopy)(W, n);
                    rF = dbuf(FSGD_WIN * n_out);
                    aW = dbuf(n);
                    aF = dbuf(FSGD_WIN * n_out);
                    for (i = 0; i < n_in * n_out; i++)
                        aW[i] = fabs(rW[i]);
                    for (i = 0; i < n_in; i++)
                        for (p = 0; p < np; p++)
                            for (j = 0; j < n_out; j++) {
                                const double t =
                                    (double)XT[i * FSGD_WIN + p] * U[p * n_out + j];
                                rW[i * n_out + j] -= t;
                                aW[i * n_out + j] += fabs(t);
                            }
                    if (fwd)
                        for (q = 0; q < FSGD_WIN; q++)
                            for (i = 0; i < n_in; i++)
                                for (j = 0; j < n_out; j++) {
                                    const double t = (double)XTn[i * FSGD_WIN + q] *
                                                     rW[i * n_out + j];
                                    rF[q * n_out + j] += t;
                                    aF[q * n_out + j] += fabs(t);
                                }
                    TF(fsgd_window_sweep)(W, n_in, n_out, XT, U, np, XTn, F);
                    TF(check_sum)("W", W, rW, n, dmaxabs(aW, n));
                    if (fwd)
                        TF(check_sum)("F (forward with the updated W)", F, rF,
                                      FSGD_WIN * n_out, dmaxabs(aF, FSGD_WIN * n_out));
                    else
                        TF(check_same)("F untouched when XTn is NULL", F, F0,
                                       FSGD_WIN * n_out);
                }
}

static void TF(test_window_gram)(void)
{
    static const ptrdiff_t nfs[] = {0, 1, 3, 8, 17, 100};
    int r;
    for (r = 0; r < 6; r++) {
        const ptrdiff_t nf = nfs[r];
        T *XT, *G;
        double *rG;
        ptrdiff_t i, p, q;
        arena_reset();
        snprintf(ctx, sizeof ctx, "fsgd_window_gram_" TSTR " nf=%ld", (long)nf);
        XT = TF(rnd)(nf * FSGD_WIN, -1, 1, 0.2);
        G = TF(rnd)(FSGD_WIN * FSGD_WIN, -9, 9, 0);
        rG = dbuf(FSGD_WIN * FSGD_WIN);
        for (p = 0; p < FSGD_WIN; p++)
            for (q = 0; q < FSGD_WIN; q++)
                for (i = 0; i < nf; i++)
                    rG[p * FSGD_WIN + q] +=
                        (double)XT[i * FSGD_WIN + p] * XT[i * FSGD_WIN + q];
        TF(fsgd_window_gram)(XT, nf, G);
        TF(check_norm)("G", G, rG, FSGD_WIN * FSGD_WIN, TOL);
    }
}

/* out = b + F[q] - sum over p < q of G[q, p] U[p]. */
static double TF(ref_window_forward)(double *out, const T *b, const T *F,
                                     const T *G, ptrdiff_t q, const T *U,
                                     ptrdiff_t n_out)
{
    double mag = 0, m;
    ptrdiff_t j, p;
    for (j = 0; j < n_out; j++) {
        out[j] = (double)b[j] + F[q * n_out + j];
        m = fabs((double)b[j]) + fabs((double)F[q * n_out + j]);
        for (p = 0; p < q; p++) {
            out[j] -= (double)G[q * FSGD_WIN + p] * U[p * n_out + j];
            m += fabs((double)G[q * FSGD_WIN + p] * U[p * n_out + j]);
        }
        mag = dmax(mag, m);
    }
    return mag;   /* the largest sum of the terms' sizes */
}

static void TF(test_window_forward)(void)
{
    int k, q;
    for (k = 0; k < N_WIDTHS; k++)
        for (q = 0; q < FSGD_WIN; q++) {
            const ptrdiff_t n_out = WIDTHS[k];
            T *out, *b, *F, *G, *U;
            double *rout, mag;
            arena_reset();
            snprintf(ctx, sizeof ctx, "fsgd_window_forward_" TSTR " n_out=%ld q=%d",
                     (long)n_out, q);
            b = TF(rnd)(n_out, -1, 1, 0);
            F = TF(rnd)(FSGD_WIN * n_out, -1, 1, 0);
            G = TF(rnd)(FSGD_WIN * FSGD_WIN, -2, 2, 0);
            U = TF(rnd)(FSGD_WIN * n_out, -0.5, 0.5, 0);
            out = TF(rnd)(n_out, -9, 9, 0);
            rout = dbuf(n_out);
            mag = TF(ref_window_forward)(rout, b, F, G, q, U, n_out);
            TF(fsgd_window_forward)(out, b, F, G, q, U, n_out);
            TF(check_sum)("out", out, rout, n_out, mag);
        }
}

static void TF(test_tforward)(void)
{
    int k, r;
    for (k = 0; k < N_WIDTHS + 1; k++)
        for (r = 0; r < 4; r++) {
            const ptrdiff_t n_in = k < N_WIDTHS ? WIDTHS[k] : 257, n_out = K_OUTS[r];
            T *out, *b, *WT, *h;
            double *rout, mag = 0;
            ptrdiff_t i, j;
            arena_reset();
            snprintf(ctx, sizeof ctx, "fsgd_tforward_" TSTR " n_in=%ld n_out=%ld",
                     (long)n_in, (long)n_out);
            b = TF(rnd)(n_out, -1, 1, 0);
            WT = TF(rnd)(n_out * n_in, -1, 1, 0);
            h = TF(rnd)(n_in, -1, 1, 0.3);
            out = TF(rnd)(n_out, -9, 9, 0);
            rout = TF(dcopy)(b, n_out);
            for (j = 0; j < n_out; j++) {
                double m = fabs(rout[j]);
                for (i = 0; i < n_in; i++) {
                    rout[j] += (double)WT[j * n_in + i] * h[i];
                    m += fabs((double)WT[j * n_in + i] * h[i]);
                }
                mag = dmax(mag, m);
            }
            TF(fsgd_tforward)(out, b, WT, h, n_in, n_out);
            TF(check_sum)("out = b + WT @ h", out, rout, n_out, mag);
        }
}

/* d_in = d @ WT before the step; then WT[j] -= (s d[j]) h. */
static double TF(ref_tsweep)(double *rWT, const double *d, const double *h,
                             double *d_in, ptrdiff_t n_in, ptrdiff_t n_out, double s)
{
    double mag = 0, m;
    ptrdiff_t i, j;
    for (i = 0; i < n_in; i++) {
        d_in[i] = m = 0;
        for (j = 0; j < n_out; j++) {
            d_in[i] += d[j] * rWT[j * n_in + i];
            m += fabs(d[j] * rWT[j * n_in + i]);
        }
        mag = dmax(mag, m);
    }
    for (j = 0; j < n_out; j++)
        for (i = 0; i < n_in; i++)
            rWT[j * n_in + i] -= s * d[j] * h[i];
    return mag;   /* the largest sum of the sizes of d_in's terms */
}

static void TF(test_transpose)(void)
{
    static const ptrdiff_t sizes[] = {1, 3, 8, 17};
    int r, c;
    for (r = 0; r < 4; r++)
        for (c = 0; c < 4; c++) {
            const ptrdiff_t rows = sizes[r], cols = sizes[c];
            T *src, *dst;
            double *rdst;
            ptrdiff_t i, j;
            arena_reset();
            snprintf(ctx, sizeof ctx, "fsgd_transpose_" TSTR " rows=%ld cols=%ld",
                     (long)rows, (long)cols);
            src = TF(rnd)(rows * cols, -1, 1, 0);
            dst = TF(buf)(rows * cols);
            rdst = dbuf(rows * cols);
            for (i = 0; i < rows; i++)
                for (j = 0; j < cols; j++)
                    rdst[j * rows + i] = src[i * cols + j];
            TF(fsgd_transpose)(dst, src, rows, cols);
            TF(check_norm)("dst", dst, rdst, rows * cols, 0);
        }
}

/* ---- fsgd_online_step2: one sample's whole step, one hidden layer ----------------- */

static void TF(online_step2_case)(ptrdiff_t u1, ptrdiff_t K, int hidden, int output,
                                  double w, ptrdiff_t q)
{
    const T lr = (T)0.2, wt = (T)w;
    T *acts, *deltas, *b0, *b1, *WT, *F, *G, *U, *y, *deltas0;
    double *racts, *rdeltas, *rb0, *rb1, *rWT, *rU, *h, *out, *d1, *d2, rloss, loss;
    double inv_sw = 0, s = 0, b0_size, b1_size, wt_size, mag;
    double hmag, hsize = 0, zscale, outscale = 0, dloss = 0, d2scale = 0, d1scale = 0;
    ptrdiff_t i, j;
    arena_reset();
    snprintf(ctx, sizeof ctx,
             "fsgd_online_step2_" TSTR " u1=%ld K=%ld hidden=%s output=%s w=%g q=%ld",
             (long)u1, (long)K, ACT_NAMES[hidden], ACT_NAMES[output], w, (long)q);
    acts = TF(rnd)(u1 + K, -9, 9, 0);
    deltas = TF(rnd)(u1 + K, -9, 9, 0);
    deltas0 = TF(copy)(deltas, u1 + K);
    b0 = TF(rnd)(u1, -0.5, 0.5, 0);
    b1 = TF(rnd)(K, -0.5, 0.5, 0);
    WT = TF(rnd)(K * u1, -1.5 / sqrt((double)u1), 1.5 / sqrt((double)u1), 0);
    F = TF(rnd)(FSGD_WIN * u1, -1, 1, 0);
    G = TF(rnd)(FSGD_WIN * FSGD_WIN, -0.5, 0.5, 0);
    U = TF(rnd)(FSGD_WIN * u1, -0.2, 0.2, 0);
    y = TF(buf)(K);
    {   /* targets that suit the output (predictions are discarded) */
        T *p = TF(buf)(K);
        TF(loss_data)(p, y, K, output);
    }
    racts = TF(dcopy)(acts, u1 + 2 * K);
    rdeltas = TF(dcopy)(deltas, u1 + K);
    rb0 = TF(dcopy)(b0, u1);
    rb1 = TF(dcopy)(b1, K);
    b0_size = TF(maxabs)(b0, u1);
    b1_size = TF(maxabs)(b1, K);
    wt_size = TF(maxabs)(WT, K * u1);
    rWT = TF(dcopy)(WT, K * u1);
    rU = TF(dcopy)(U, FSGD_WIN * u1);
    h = racts;
    out = racts + u1;
    d1 = rdeltas;
    d2 = rdeltas + u1;

    /* Each result is compared relative to at least the size of what its error
     * is made of, propagated to first order: rounding relative to the size of
     * the terms of each sum (hmag: the hidden pre-activations'; zscale: the
     * outputs'), through activations whose derivative is at most 1 (exp: p). */

    /* forward: the window's first layer, the transposed last layer */
    hmag = TF(ref_window_forward)(h, b0, F, G, q, U, u1);
    ref_activate(h, 1, u1, hidden);
    for (i = 0; i < u1; i++)
        hsize = dmax(hsize, fabs(h[i]) + hmag);
    for (j = 0; j < K; j++) {
        out[j] = b1[j];
        zscale = fabs((double)b1[j]);
        for (i = 0; i < u1; i++) {
            out[j] += rWT[j * u1 + i] * h[i];
            zscale += fabs(rWT[j * u1 + i]) * (fabs(h[i]) + hmag);
        }
        racts[u1 + K + j] = zscale;    /* kept past the activations, for below */
    }
    ref_activate(out, 1, K, output);
    rloss = w * ref_row_loss(out, TF(dcopy)(y, K), K, output, T_EPS, &mag);
    for (j = 0; j < K; j++) {
        zscale = racts[u1 + K + j] * (output == FSGD_EXP ? out[j] : 1);
        outscale = dmax(outscale, zscale);
        dloss += fabs(out[j] - y[j]) * racts[u1 + K + j];
        d2scale = dmax(d2scale, w * (fabs(out[j]) + fabs((double)y[j]) + zscale));
    }
    if (w > 0) {
        for (j = 0; j < K; j++)
            d2[j] = (out[j] - y[j]) * w;
        inv_sw = 1 / w;
        s = (double)lr * inv_sw;
        TF(ref_tsweep)(rWT, d2, h, d1, u1, K, s);
        for (i = 0; i < u1; i++) {
            double m = 0;
            for (j = 0; j < K; j++)
                m += (fabs(d2[j]) + d2scale) * fabs((double)WT[j * u1 + i]);
            d1scale = dmax(d1scale, (1 + 2 * hmag) * m);
        }
        ref_backprop(d1, h, u1, hidden);
        for (j = 0; j < K; j++)
            rb1[j] -= (double)lr * inv_sw * d2[j];
        for (j = 0; j < u1; j++) {
            rb0[j] -= (double)lr * inv_sw * d1[j];
            rU[q * u1 + j] = s * d1[j];
        }
    } else {
        for (j = 0; j < u1; j++)
            rU[q * u1 + j] = 0;
    }

    loss = TF(fsgd_online_step2)(acts, deltas, u1, K, hidden, output, b0, b1, WT, F, G,
                                 U, q, y, wt, lr);
    check_scalar_mag("returned loss times w", loss, rloss, w * (mag + dloss), TOL);
    TF(cmp_norm)("hidden activations", acts, racts, u1, TOL, 0, hmag);
    TF(cmp_norm)("output activations", acts + u1, racts + u1, K, TOL, 0, outscale);
    TF(check_norm)("activations (guards)", acts, racts, u1 + K, INFINITY);
    if (w > 0) {
        TF(cmp_norm)("hidden deltas", deltas, rdeltas, u1, TOL, 0, d1scale);
        TF(cmp_norm)("output deltas", deltas + u1, rdeltas + u1, K, TOL, 0, d2scale);
        TF(check_norm)("deltas (guards)", deltas, rdeltas, u1 + K, INFINITY);
    } else {
        TF(check_same)("deltas untouched at zero weight", deltas, deltas0, u1 + K);
    }
    TF(check_sum)("b0", b0, rb0, u1, dmax(b0_size, (double)lr * inv_sw * d1scale));
    TF(check_sum)("b1", b1, rb1, K, dmax(b1_size, (double)lr * inv_sw * d2scale));
    TF(check_sum)("WT", WT, rWT, K * u1, wt_size + s * d2scale * hsize);
    TF(check_sum)("U (pending steps)", U, rU, FSGD_WIN * u1, s * d1scale);
}

static void TF(test_online_step2)(void)
{
    static const ptrdiff_t u1s[] = {1, 3, 8, 17, 33, 100};
    static const int hiddens[] = {FSGD_IDENTITY, FSGD_LOGISTIC, FSGD_TANH, FSGD_RELU};
    static const int outputs[] = {FSGD_IDENTITY, FSGD_LOGISTIC, FSGD_EXP,
                                  FSGD_SOFTMAX};
    static const double ws[] = {0, 0.7, 1.6};
    static const ptrdiff_t qs[] = {0, 3, FSGD_WIN - 1};
    int a, b, c, d, e, f;
    for (a = 0; a < 6; a++)
        for (b = 0; b < 4; b++)
            for (c = 0; c < 4; c++)
                for (d = 0; d < 4; d++)
                    for (e = 0; e < 3; e++)
                        for (f = 0; f < 3; f++)
                            TF(online_step2_case)(u1s[a], K_OUTS[b], hiddens[c],
                                                  outputs[d], ws[e], qs[f]);
}

static void TF(run_all)(void)
{
    TF(test_sumsq)();
    TF(test_update)();
    TF(test_sweep_hidden)();
    TF(test_sweep_first)();
    TF(test_floor_sweep)();
    TF(test_grad_step_first)();
    TF(test_gemv_rows)();
    TF(test_gather_rows)();
    TF(test_activate)();
    TF(test_backprop_activation)();
    TF(test_math)();
    TF(test_row_loss)();
    TF(test_window_sweep)();
    TF(test_window_gram)();
    TF(test_window_forward)();
    TF(test_tforward)();
    TF(test_transpose)();
    TF(test_online_step2)();
}

#undef TF
