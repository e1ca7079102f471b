/* Forward passes: dense rows with their zeros skipped, and CSR rows.
 *
 * Included by simd.h once per element type, with T, S, FN and VLEN defined (see
 * simd.h for the conventions).
 */
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

/* out[0:8 VLEN] += sum over p < k of c[p] * W[rows[p]] (row stride ld): eight
 * whole vectors of accumulators in registers, the rows added in order. Fewer
 * passes over the listed rows than 4-vector tiles. (AVX2 on AMD Zen 1, deep
 * on-line fit: 85.0 -> 69.6 us a sample with this, the halved loads of simd.h and
 * the ReLU-input sweeps of online.h together, in alternating processes.) */
FSGD_INLINE void FN(fsgd_gemv_wide)(T *out, const T *c, const ptrdiff_t *rows,
                                    ptrdiff_t k, const T *W, ptrdiff_t ld)
{
    FN(fsgd_vec) acc[8];
    ptrdiff_t p, l;
#pragma GCC unroll 8
    for (l = 0; l < 8; l++)
        acc[l] = FN(fsgd_vload)(out + l * VLEN);
    for (p = 0; p < k; p++) {
        const T *w = W + rows[p] * ld;
        const T cp = c[p];
#pragma GCC unroll 8
        for (l = 0; l < 8; l++)
            acc[l] = FN(fsgd_vmuladd)(cp, FN(fsgd_vload)(w + l * VLEN), acc[l]);
    }
#pragma GCC unroll 8
    for (l = 0; l < 8; l++)
        FN(fsgd_vstore)(out + l * VLEN, acc[l]);
}

/* out[0:n] += sum over p < k of c[p] * W[rows[p]] (row stride ld), n <= 4 VLEN:
 * the columns' accumulators stay in registers while the rows stream by. */
FSGD_INLINE void FN(fsgd_gemv_tile)(T *out, const T *c, const ptrdiff_t *rows,
                                    ptrdiff_t k, const T *W, ptrdiff_t ld,
                                    ptrdiff_t n)
{
    const ptrdiff_t n0 = FN(fsgd_part)(n, 0), n1 = FN(fsgd_part)(n, 1);
    const ptrdiff_t n2 = FN(fsgd_part)(n, 2), n3 = FN(fsgd_part)(n, 3);
    FN(fsgd_vec) a0 = FN(fsgd_vload_n)(out, n0);
    FN(fsgd_vec) a1 = FN(fsgd_vload_n)(out + VLEN, n1);
    FN(fsgd_vec) a2 = FN(fsgd_vload_n)(out + 2 * VLEN, n2);
    FN(fsgd_vec) a3 = FN(fsgd_vload_n)(out + 3 * VLEN, n3);
    ptrdiff_t p;
    for (p = 0; p < k; p++) {
        const T *w = W + rows[p] * ld;
        const T cp = c[p];
        a0 = FN(fsgd_vmuladd)(cp, FN(fsgd_vload_n)(w, n0), a0);
        a1 = FN(fsgd_vmuladd)(cp, FN(fsgd_vload_n)(w + VLEN, n1), a1);
        a2 = FN(fsgd_vmuladd)(cp, FN(fsgd_vload_n)(w + 2 * VLEN, n2), a2);
        a3 = FN(fsgd_vmuladd)(cp, FN(fsgd_vload_n)(w + 3 * VLEN, n3), a3);
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
        for (j = 0; j + 8 * VLEN <= n_out; j += 8 * VLEN)
            FN(fsgd_gemv_wide)(out + j, c, rows, k, W + j, n_out);
        for (; j < n_out; j += 4 * VLEN)
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
