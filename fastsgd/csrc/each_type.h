/* The loops of every role, compiled for one element type: simd.h includes this
 * file once per type, with T (the type), S (the suffix), FSGD_NV (elements in
 * one vector) and its libm functions (FSGD_SQRT, FSGD_FMAF, FSGD_EXPF, FSGD_LOGF,
 * FSGD_TANHF) defined, and gets them all undefined again.
 */
#define FN(name) FSGD_CAT(name, S)
#define VLEN ((ptrdiff_t)(FSGD_VBYTES / sizeof(T)))
#include "vec.h"
#include "rules.h"
#include "maths.h"
#include "forward.h"
#include "online.h"
#include "minibatch.h"
#include "window.h"
#undef VLEN
#undef FN
#undef T
#undef S
#undef FSGD_NV
#undef FSGD_SQRT
#undef FSGD_FMAF
#undef FSGD_EXPF
#undef FSGD_LOGF
#undef FSGD_TANHF
