/* Run-time choice of the kernel variant, as numpy and OpenBLAS make it: every
 * variant setup.py built is listed here, baseline first, and the best one this
 * CPU runs is chosen at import (FASTSGD_ISA forces another; see _kernels.pyx).
 * Compiled for the baseline instruction set, like the Cython module.
 *
 * _build_config.h, which setup.py writes, lists the variants it built as
 * FSGD_VARIANTS, each as V(name), baseline first: V(sse2) V(avx2) V(avx512) on
 * x86-64.
 */
#include <string.h>

#include "_build_config.h"
#include "kernel_table.h"

#define FSGD_DECLARE(name) extern const fsgd_kernels fsgd_kernels_##name;
FSGD_VARIANTS(FSGD_DECLARE)

#define FSGD_LIST(name) &fsgd_kernels_##name,
const fsgd_kernels *const fsgd_variants[] = {FSGD_VARIANTS(FSGD_LIST)};
const int fsgd_n_variants = sizeof fsgd_variants / sizeof fsgd_variants[0];
const fsgd_kernels *fsgd_active = fsgd_variants[0];

/* The CPU features a variant's flags assume (setup.py's VARIANTS), checked with
 * the compiler's run-time CPU detection, which also asks the operating system
 * whether it saves the wide registers. */
int fsgd_cpu_runs(int i)
{
    const char *name;
    if (i < 0 || i >= fsgd_n_variants)
        return 0;
    name = fsgd_variants[i]->name;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#endif
    /* the baseline, or a native build's variant (built for this very machine) */
    return 1;
}

int fsgd_select(int i)
{
    if (!fsgd_cpu_runs(i))
        return -1;
    fsgd_active = fsgd_variants[i];
    return 0;
}
