/* C-level test of fastsgd's vectorised loops (fastsgd/csrc/).
 *
 * Every function that fastsgd/_kernels.pyx calls from csrc/, in double (_d) and
 * float (_f), is checked against a plain scalar reference written from the
 * semantics documented in the comments of csrc/, computed in double. The shapes
 * cover whole vectors, part vectors (tails) and several column tiles for every
 * vector width the loops may be compiled with (16, 32 or 64 bytes), every update
 * rule with and without weight decay, and NULL state buffers where a rule has
 * none (as the Cython module passes them). Every output buffer has guard
 * elements on both sides and starts at an address that is not vector-aligned:
 * a write outside it fails its check.
 *
 * Build (see run.sh): cc -O2 -fopenmp-simd -Wall -I fastsgd tests/c/test_loops.c -lm
 * plus the instruction-set flags (-mavx2 -mfma, -march=x86-64-v4) or a cross
 * compiler (aarch64-linux-gnu-gcc -static, run under qemu-aarch64).
 *
 * Output: one line per failing check (function, type, case, what, error, the
 * worst element's expected and actual values), then "N passed, M failed".
 * Exit status 1 on any failure.
 */
#include "simd.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bookkeeping ---------------------------------------------------------------- */

static long n_passed, n_failed;
static char ctx[256];           /* the current case, for failure lines */
static double closest;          /* the largest error / tolerance that passed */
static char closest_ctx[400];
#define MAX_PRINTED 500

static void record(int ok, const char *what, double err, double tol, long idx,
                   double expected, double got)
{
    if (ok) {
        n_passed++;
        if (tol > 0 && isfinite(tol) && err / tol > closest) {
            closest = err / tol;
            snprintf(closest_ctx, sizeof closest_ctx, "%s: %s", ctx, what);
        }
        return;
    }
    n_failed++;
    if (n_failed <= MAX_PRINTED) {
        if (idx >= 0)
            printf("FAIL %s: %s: max error %.3g (tol %.0e) at [%ld]: expected %.17g, "
                   "got %.17g\n", ctx, what, err, tol, idx, expected, got);
        else
            printf("FAIL %s: %s: error %.3g (tol %.0e): expected %.17g, got %.17g\n",
                   ctx, what, err, tol, expected, got);
    } else if (n_failed == MAX_PRINTED + 1) {
        printf("(further failures are counted but not printed)\n");
    }
}

/* Memory from one arena, reset per case. Each block starts 64-byte aligned; the
 * guarded buffers handed to the loops start GUARD elements later: an odd number,
 * so that no vector is aligned, unless a test sets it to ALIGNED_GUARD (a
 * multiple of 64 bytes for both types), for the loops that take another path
 * when every buffer is aligned (FSGD_ALIGNED_OPERANDS). */
#define ODD_GUARD 37
#define ALIGNED_GUARD 16
static ptrdiff_t GUARD = ODD_GUARD;
#define SENTINEL (-7777.25)     /* exact in float and double */
static unsigned char *arena;
static size_t arena_used, arena_size = (size_t)64 << 20;

static void *arena_alloc(size_t bytes)
{
    void *p;
    arena_used = (arena_used + 63) & ~(size_t)63;
    if (arena_used + bytes > arena_size) {
        fprintf(stderr, "test_loops: arena exhausted\n");
        exit(2);
    }
    p = arena + arena_used;
    arena_used += bytes;
    return p;
}

static void arena_reset(void)
{
    arena_used = 0;
}

static double *dbuf(ptrdiff_t n)
{
    double *p = arena_alloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    memset(p, 0, (size_t)(n > 0 ? n : 1) * sizeof(double));
    return p;
}

/* A small deterministic generator (xorshift64*), the same on every target. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double urand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static double unif(double lo, double hi)
{
    return lo + (hi - lo) * urand();
}

/* The error of got against ref, both finite or matching non-finite values;
 * NaN against a number (or a number against NaN) is an infinite error. */
static int nonfinite_err(double ref, double got, double *err)
{
    if (isnan(ref) || isnan(got)) {
        *err = isnan(ref) && isnan(got) ? 0 : INFINITY;
        return 1;
    }
    if (isinf(ref) || isinf(got)) {
        *err = ref == got ? 0 : INFINITY;
        return 1;
    }
    return 0;
}

/* A scalar, relative to the larger of |ref| and mag (the size of the terms it
 * sums, when they may cancel); 0 must be exactly 0. */
static void check_scalar_mag(const char *what, double got, double ref, double mag,
                             double tol)
{
    double err;
    if (!nonfinite_err(ref, got, &err)) {
        double den = fabs(ref) > mag ? fabs(ref) : mag;
        den = den > DBL_MIN ? den : DBL_MIN;
        err = fabs(got - ref) / den;
        if (ref == 0 && got == 0)
            err = 0;
    }
    record(err <= tol, what, err, tol, -1, ref, got);
}

static void check_scalar(const char *what, double got, double ref, double tol)
{
    check_scalar_mag(what, got, ref, 0, tol);
}

static double dmax(double a, double b)
{
    return a > b ? a : b;
}

static double dmaxabs(const double *a, ptrdiff_t n)
{
    double m = 0;
    ptrdiff_t i;
    for (i = 0; i < n; i++)
        m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

static const char *const RULE_NAMES[] = {"SGD", "MOMENTUM", "NESTEROV", "ADAM"};
static const char *const ACT_NAMES[] = {"identity", "logistic", "tanh",
                                        "relu",     "exp",      "softmax"};

/* Widths that give, for 16-, 32- and 64-byte vectors of double and float, rows
 * of one part vector, whole vectors, whole vectors and a tail, and several
 * column tiles (the loops tile by up to 4 vectors: 64 floats at 64 bytes). */
static const ptrdiff_t WIDTHS[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 100, 130};
#define N_WIDTHS ((int)(sizeof WIDTHS / sizeof WIDTHS[0]))

/* Weight decay: none, and alpha > 0 (large, so that a wrong decay term shows). */
static const double ALPHAS[] = {0, 0.05};

/* Widths of a transposed narrow last layer (a classifier's outputs). */
static const ptrdiff_t K_OUTS[] = {1, 2, 3, 10};

/* The optimizer's settings as _kernels.pyx's begin_step leaves them: step_lr is
 * the rate of the current step (Adam: bias-corrected, t = 3; lr differs). */
static fsgd_opt make_opt(int rule, double alpha)
{
    fsgd_opt o;
    o.rule = rule;
    o.lr = 0.3;
    o.momentum = 0.9;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.epsilon = 1e-8;
    o.alpha = alpha;
    o.t = 3;
    o.step_lr = rule == FSGD_ADAM
                    ? o.lr * sqrt(1 - pow(o.beta2, (double)o.t)) /
                          (1 - pow(o.beta1, (double)o.t))
                    : o.lr;
    return o;
}

/* One parameter's step, as scikit-learn's SGDOptimizer / AdamOptimizer take it,
 * in double. s1: velocity (momentum, Nesterov) or m (Adam); s2: Adam's v. */
static double ref_step(const fsgd_opt *o, double w, double g, double *s1, double *s2)
{
    double v, m;
    switch (o->rule) {
    case FSGD_SGD:
        return w - o->step_lr * g;
    case FSGD_MOMENTUM:
        v = o->momentum * *s1 - o->step_lr * g;
        *s1 = v;
        return w + v;
    case FSGD_NESTEROV:
        v = o->momentum * *s1 - o->step_lr * g;
        *s1 = v;
        return w + o->momentum * v - o->step_lr * g;
    default:
        m = o->beta1 * *s1 + (1 - o->beta1) * g;
        v = o->beta2 * *s2 + (1 - o->beta2) * g * g;
        *s1 = m;
        *s2 = v;
        return w - o->step_lr * m / (sqrt(v) + o->epsilon);
    }
}

static double ref_logistic(double z)
{
    return 1 / (1 + exp(-z));
}

/* Activation `kind` of a row-major (rows, cols) block, in place. */
static void ref_activate(double *z, ptrdiff_t rows, ptrdiff_t cols, int kind)
{
    ptrdiff_t i, j;
    for (i = 0; i < rows; i++) {
        double *r = z + i * cols, m = r[0], s = 0;
        int nan = 0;
        switch (kind) {
        case FSGD_LOGISTIC:
            for (j = 0; j < cols; j++)
                r[j] = ref_logistic(r[j]);
            break;
        case FSGD_TANH:
            for (j = 0; j < cols; j++)
                r[j] = tanh(r[j]);
            break;
        case FSGD_RELU:
            for (j = 0; j < cols; j++)
                r[j] = r[j] < 0 ? 0 : r[j];
            break;
        case FSGD_EXP:
            for (j = 0; j < cols; j++)
                r[j] = exp(r[j]);
            break;
        case FSGD_SOFTMAX:
            /* exp(z - max z) / its sum; a NaN anywhere makes the row NaN */
            for (j = 0; j < cols; j++) {
                nan |= isnan(r[j]);
                m = r[j] > m ? r[j] : m;
            }
            for (j = 0; j < cols; j++)
                s += r[j] = nan ? NAN : exp(r[j] - m);
            for (j = 0; j < cols; j++)
                r[j] /= s;
            break;
        default:
            break;
        }
    }
}

/* delta times the derivative of hidden activation `kind` at output a. */
static void ref_backprop(double *delta, const double *a, ptrdiff_t n, int kind)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        if (kind == FSGD_LOGISTIC)
            delta[i] *= a[i] * (1 - a[i]);
        else if (kind == FSGD_TANH)
            delta[i] *= 1 - a[i] * a[i];
        else if (kind == FSGD_RELU)
            delta[i] = a[i] == 0 ? 0 : delta[i];
    }
}

/* One sample's loss, as scikit-learn's LOSS_FUNCTIONS take it; eps: the clip of
 * probabilities (the element type's machine epsilon). Terms with a zero factor
 * are left out, as xlogy leaves them out. */
static double ref_row_loss(const double *p, const double *y, ptrdiff_t k, int output,
                           double eps, double *mag)
{
    double loss = 0, pc, m = 0;
    ptrdiff_t j;
    for (j = 0; j < k; j++) {
        switch (output) {
        case FSGD_IDENTITY:
            loss += 0.5 * (y[j] - p[j]) * (y[j] - p[j]) / k;
            break;
        case FSGD_EXP:
            /* terms that cancel near a perfect fit: mag sums their sizes */
            if (y[j] != 0) {
                loss += y[j] * log(y[j]) - y[j] * log(p[j]);
                m += fabs(y[j] * log(y[j])) + fabs(y[j] * log(p[j]));
            }
            loss += p[j] - y[j];
            m += fabs(p[j]) + fabs(y[j]);
            break;
        default:
            pc = p[j] < eps ? eps : p[j] > 1 - eps ? 1 - eps : p[j];
            if (y[j] != 0)
                loss -= y[j] * log(pc);
            if (output == FSGD_LOGISTIC && y[j] != 1)
                loss -= (1 - y[j]) * log(1 - pc);
            break;
        }
    }
    if (mag != NULL)
        *mag = output == FSGD_EXP ? m : fabs(loss);
    return loss;
}

/* ---- the checks, once per element type ------------------------------------------ */

#define T double
#define S d
#define TSTR "d"
#define TOL 1e-12
#define T_EPS DBL_EPSILON
#define T_MIN DBL_MIN
#include "test_loops_impl.h"
#undef T
#undef S
#undef TSTR
#undef TOL
#undef T_EPS
#undef T_MIN

#define T float
#define S f
#define TSTR "f"
#define TOL 1e-5
#define T_EPS FLT_EPSILON
#define T_MIN FLT_MIN
#include "test_loops_impl.h"
#undef T
#undef S
#undef TSTR
#undef TOL
#undef T_EPS
#undef T_MIN

int main(void)
{
    arena = malloc(arena_size);
    if (arena == NULL) {
        fprintf(stderr, "test_loops: out of memory\n");
        return 2;
    }
    printf("fastsgd C loops test: FSGD_VBYTES=%d FSGD_WIN=%d FSGD_HAVE_MASK=%d "
           "isa:%s%s%s%s%s\n",
           (int)FSGD_VBYTES, (int)FSGD_WIN, (int)FSGD_HAVE_MASK,
#if defined(__AVX512F__)
           " avx512f",
#else
           "",
#endif
#if defined(__AVX2__)
           " avx2",
#else
           "",
#endif
#if defined(__FMA__)
           " fma",
#else
           "",
#endif
#if defined(__SSE2__)
           " sse2",
#else
           "",
#endif
#if defined(__ARM_NEON) || defined(__aarch64__)
           " neon"
#else
           ""
#endif
    );
    run_all_d();
    run_all_f();
    printf("closest pass: %.2g of its tolerance (%s)\n", closest, closest_ctx);
    printf("%ld passed, %ld failed\n", n_passed, n_failed);
    free(arena);
    return n_failed ? 1 : 0;
}
