/* The constants and the settings struct shared by the loops (simd.h), the kernel
 * table (kernel_table.h) and _kernels.pyx: what the Cython module and the
 * dispatcher see without compiling the loops themselves.
 */
#ifndef FASTSGD_SIMD_TYPES_H
#define FASTSGD_SIMD_TYPES_H

#ifndef FASTSGD_DEBUG
#define FASTSGD_DEBUG 0
#endif

/* Activation functions, as _kernels.pyx numbers them (scikit-learn's names). */
enum {
    FSGD_IDENTITY = 0,
    FSGD_LOGISTIC = 1,
    FSGD_TANH = 2,
    FSGD_RELU = 3,
    FSGD_EXP = 4,
    FSGD_SOFTMAX = 5
};

/* Update rules, as _kernels.pyx numbers them. */
enum { FSGD_SGD = 0, FSGD_MOMENTUM = 1, FSGD_NESTEROV = 2, FSGD_ADAM = 3 };

/* The optimizer's settings for one kernel call (the Cython struct Opt). */
typedef struct {
    int rule;
    double lr;          /* this epoch's learning rate (Adam: the initial one) */
    double momentum;
    double beta1;
    double beta2;
    double epsilon;
    double alpha;
    long long t;        /* Adam: updates so far */
    double step_lr;     /* learning rate of the current step */
} fsgd_opt;

/* Samples whose on-line first-layer steps wait to be made in one sweep (plain
 * SGD; see fsgd_window_sweep). */
#define FSGD_WIN 8

/* Whether setup.py found glibc's vector math (see simd.h). */
#ifndef FSGD_LIBMVEC
#define FSGD_LIBMVEC 0
#endif
#ifndef FSGD_LIBMVEC_TANH
#define FSGD_LIBMVEC_TANH 0
#endif

#endif
