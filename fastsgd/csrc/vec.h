/* Vector primitives of the register-blocked loops: the vector type of the target
 * (FSGD_VBYTES), whole and masked loads and stores, horizontal sums, square roots.
 *
 * Included by simd.h once per element type, with T, S, FN and VLEN defined (see
 * simd.h for the conventions).
 */
/* ---- vectors ------------------------------------------------------------------ */

/* The loops below that keep accumulators in registers use GCC/Clang vector
 * extensions, which keep them portable (the compiler splits the vectors on
 * narrower machines). They serve every rule, Adam included (its square root:
 * fsgd_vsqrt). */
typedef T FN(fsgd_vec) __attribute__((vector_size(FSGD_VBYTES)));

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

/* The same, for p on a multiple of the vector's size: a load the compiler may fold
 * into the instruction that uses it (see FSGD_ALIGNED_OPERANDS). */
typedef T FN(fsgd_avec) __attribute__((vector_size(FSGD_VBYTES), may_alias));

FSGD_INLINE FN(fsgd_vec) FN(fsgd_vload_a)(const T *p)
{
    return *(const FN(fsgd_avec) *)p;
}

FSGD_INLINE void FN(fsgd_vstore_a)(T *p, FN(fsgd_vec) v)
{
    *(FN(fsgd_avec) *)p = v;
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

/* The elements of vector k among the last n elements of a row (a part tile):
 * VLEN, fewer, or none. */
FSGD_INLINE ptrdiff_t FN(fsgd_part)(ptrdiff_t n, ptrdiff_t k)
{
    const ptrdiff_t r = n - k * VLEN;
    return r <= 0 ? 0 : r < VLEN ? r : VLEN;
}

/* A whole vector where `full` (no mask needed), else its first n elements: the
 * last tile of a row whose width is not a multiple of the tile's. */
FSGD_INLINE FN(fsgd_vec) FN(fsgd_vload_if)(int full, const T *p, ptrdiff_t n)
{
    return full ? FN(fsgd_vload)(p) : FN(fsgd_vload_n)(p, n);
}

FSGD_INLINE void FN(fsgd_vstore_if)(int full, T *p, FN(fsgd_vec) v, ptrdiff_t n)
{
    if (full)
        FN(fsgd_vstore)(p, v);
    else
        FN(fsgd_vstore_n)(p, v, n);
}

/* The sum of a vector's elements: a tree of additions in registers (halves
 * added together until one element is left), not a chain of VLEN - 1. */
FSGD_INLINE T FN(fsgd_hsum)(FN(fsgd_vec) v)
{
#if FSGD_HAVE_HSUM
    return FSGD_CAT(FSGD_HSUM, S)(v);
#else
    T lanes[VLEN];
    ptrdiff_t n, l;
    memcpy(lanes, &v, sizeof v);
#pragma GCC unroll 16
    for (n = VLEN / 2; n >= 1; n /= 2)
#pragma GCC unroll 16
        for (l = 0; l < n; l++)
            lanes[l] += lanes[l + n];
    return lanes[0];
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

/* a * b + c, rounded once (a fused multiply-add) where the target has FMA and
 * twice where it has not: on scalars (fsgd_muladd), or the scalar a times each
 * element of b (fsgd_vmuladd). The next sample's forward pass in the
 * first-layer sweeps and fsgd_gemv_rows(in_order) must round alike, bit for bit:
 * written out here, not left to the compiler's contraction, which depends on the
 * code around it (a branch after the addition can keep it from fusing). */
FSGD_INLINE T FN(fsgd_muladd)(T a, T b, T c)
{
#if FSGD_HAVE_FMA
    return FSGD_FMAF(a, b, c);
#else
    return a * b + c;
#endif
}

FSGD_INLINE FN(fsgd_vec) FN(fsgd_vmuladd)(T a, FN(fsgd_vec) b, FN(fsgd_vec) c)
{
#if defined(__AVX512F__) && FSGD_VBYTES == 64
    return sizeof(T) == 8
               ? (FN(fsgd_vec))_mm512_fmadd_pd(_mm512_set1_pd(a), (__m512d)b, (__m512d)c)
               : (FN(fsgd_vec))_mm512_fmadd_ps(_mm512_set1_ps(a), (__m512)b, (__m512)c);
#elif defined(__FMA__) && FSGD_VBYTES == 32
    return sizeof(T) == 8
               ? (FN(fsgd_vec))_mm256_fmadd_pd(_mm256_set1_pd(a), (__m256d)b, (__m256d)c)
               : (FN(fsgd_vec))_mm256_fmadd_ps(_mm256_set1_ps(a), (__m256)b, (__m256)c);
#elif defined(__aarch64__) && FSGD_VBYTES == 16
    return sizeof(T) == 8
               ? (FN(fsgd_vec))vfmaq_f64((float64x2_t)c, vdupq_n_f64(a), (float64x2_t)b)
               : (FN(fsgd_vec))vfmaq_f32((float32x4_t)c, vdupq_n_f32(a), (float32x4_t)b);
#elif FSGD_HAVE_FMA
    ptrdiff_t l;
    for (l = 0; l < VLEN; l++)
        c[l] = FN(fsgd_muladd)(a, b[l], c[l]);
    return c;
#else
    return a * b + c;
#endif
}
