/* One variant of the kernels: the loops of simd.h compiled for the instruction
 * set that the compiler's flags select, as the table fsgd_kernels_<FSGD_VARIANT>.
 * setup.py compiles this file once per instruction set, with
 * FSGD_VARIANT (sse2, avx2, avx512, ...) and FSGD_VARIANT_FLAGS (those flags,
 * for show_config) defined.
 */
#include "simd.h"
#include "kernel_table.h"

#define FSGD_STR2(x) #x
#define FSGD_STR(x) FSGD_STR2(x)
#define FSGD_KERNEL_ENTRY(ret, name, params) .name = fsgd_##name,

const fsgd_kernels FSGD_CAT(fsgd_kernels, FSGD_VARIANT) = {
    .name = FSGD_STR(FSGD_VARIANT),
    .flags = FSGD_VARIANT_FLAGS,
    .vbytes = FSGD_VBYTES,
    .nreg = FSGD_NREG,
    FSGD_KERNELS(FSGD_KERNEL_ENTRY)
};
