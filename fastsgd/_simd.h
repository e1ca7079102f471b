/* Vectorised reductions for the Cython kernels.
 *
 * A float sum can only be vectorised if the compiler may reorder it, and Cython has
 * no way to grant that for a single loop. "#pragma omp simd reduction" grants it for
 * exactly these loops (compiled with -fopenmp-simd: no OpenMP runtime), where
 * -ffast-math would grant it everywhere and also assume that no value is ever NaN or
 * infinite, which would break divergence detection.
 */
#ifndef FASTSGD_SIMD_H
#define FASTSGD_SIMD_H

#include <stddef.h>

#ifndef FASTSGD_DEBUG
#define FASTSGD_DEBUG 0
#endif

static inline double fsgd_dot_d(const double *a, const double *b, ptrdiff_t n)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (ptrdiff_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static inline float fsgd_dot_f(const float *a, const float *b, ptrdiff_t n)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (ptrdiff_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static inline double fsgd_sumsq_d(const double *a, ptrdiff_t n)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (ptrdiff_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return s;
}

static inline double fsgd_sumsq_f(const float *a, ptrdiff_t n)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (ptrdiff_t i = 0; i < n; i++)
        s += (double)a[i] * (double)a[i];
    return s;
}

#endif
