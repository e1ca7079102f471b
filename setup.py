"""Build the compiled kernels.

``FASTSGD_DEBUG=1 pip install .`` builds with bounds and wrap-around checks on,
so that an out-of-bounds access raises ``IndexError`` instead of corrupting memory.
``FASTSGD_NATIVE=0`` leaves out ``-march=native`` (for a binary that must run on
other CPUs than the one it was built on). ``FASTSGD_LIBMVEC=0`` leaves out glibc's
vector math even where it is found (see ``vector_math``).
"""

import os
import subprocess
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTSGD_DEBUG", "0") == "1"
NATIVE = os.environ.get("FASTSGD_NATIVE", "1") == "1"
LIBMVEC = os.environ.get("FASTSGD_LIBMVEC", "1") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    # IEEE division in both builds: divergence detection relies on inf and NaN, and
    # Cython's zero-division check would only print from a noexcept function.
    "cdivision": True,
}
# Never -ffast-math: it lets the compiler assume every value is finite, which breaks
# divergence detection. Reductions are vectorised loop by loop in _simd.h instead.
compile_args = ["-O1", "-g", "-fopenmp-simd"] if DEBUG else ["-O3", "-fopenmp-simd"]
if NATIVE and not DEBUG:
    compile_args.append("-march=native")

# A program that runs the kernels' activation and loss loops (_simd.h) for both
# element types on values whose results libm gives, and exits 0 only if they agree
# to a few ulp: built with the extension's own flags, it calls exactly the vector
# variants the extension will call.
VECTOR_MATH_CHECK = r"""
#include "_simd.h"
#include <stdio.h>

static int close_d(double a, double b) { return fabs(a - b) <= 1e-14 * fabs(b); }
static int close_f(float a, float b) { return fabsf(a - b) <= 1e-6f * fabsf(b); }

int main(void)
{
    double d[19], e[19], p[3] = {0.2, 0.3, 0.5}, y[3] = {0, 1, 0};
    float f[19], g[19], pf[3] = {0.2f, 0.3f, 0.5f}, yf[3] = {0, 1, 0};
    int i, bad = 0;
    for (i = 0; i < 19; i++) {
        d[i] = e[i] = 0.37 * (i - 9);
        f[i] = g[i] = 0.37f * (i - 9);
    }
    fsgd_activate_d(d, 1, 19, FSGD_TANH);
    fsgd_activate_d(e, 1, 19, FSGD_EXP);
    fsgd_activate_f(f, 1, 19, FSGD_TANH);
    fsgd_activate_f(g, 1, 19, FSGD_EXP);
    for (i = 0; i < 19; i++) {
        double x = 0.37 * (i - 9);
        float xf = 0.37f * (i - 9);
        bad |= !close_d(d[i], tanh(x)) || !close_d(e[i], exp(x));
        bad |= !close_f(f[i], tanhf(xf)) || !close_f(g[i], expf(xf));
    }
    bad |= !close_d(fsgd_row_loss_d(p, y, 3, FSGD_SOFTMAX), -log(0.3));
    bad |= !close_f((float)fsgd_row_loss_f(pf, yf, 3, FSGD_SOFTMAX), -logf(0.3f));
    if (bad)
        printf("vector math disagrees with libm\n");
    return bad;
}
"""


def vector_math(compiler, args, include_dirs):
    """The macros and libraries for glibc's vector math (libmvec), or none.

    Compiles, links against libmvec and runs ``VECTOR_MATH_CHECK`` with exp and
    log declared vectorisable, with tanh too (glibc 2.35 and later) and without;
    the first that builds and runs decides. Elsewhere (no libmvec: macOS, musl,
    other CPUs, an older glibc, another compiler) the loops call libm one element
    at a time.
    """
    if not LIBMVEC:
        print("fastsgd: FASTSGD_LIBMVEC=0: scalar libm", file=sys.stderr)
        return [], []
    attempts = [
        [("FSGD_LIBMVEC", "1"), ("FSGD_LIBMVEC_TANH", "1")],
        [("FSGD_LIBMVEC", "1")],
    ]
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "check_libmvec.c")
        with open(source, "w") as f:
            f.write(VECTOR_MATH_CHECK)
        for n, macros in enumerate(attempts):
            exe = f"check_libmvec{n}"
            try:
                objects = compiler.compile(
                    [source],
                    output_dir=os.path.join(tmp, str(n)),
                    macros=macros,
                    include_dirs=include_dirs,
                    extra_postargs=[*args, "-Wno-unused-function"],
                )
                compiler.link_executable(
                    objects, exe, output_dir=tmp, libraries=["mvec", "m"]
                )
                subprocess.run(
                    [os.path.join(tmp, exe)], check=True, capture_output=True,
                    timeout=60,
                )  # fmt: skip
            except Exception:  # noqa: BLE001 - any failure means "not available"
                continue
            names = "exp, log, tanh" if len(macros) == 2 else "exp, log"
            print(f"fastsgd: glibc vector math (libmvec) for {names}", file=sys.stderr)
            return macros, ["mvec", "m"]
    print("fastsgd: no glibc vector math (libmvec): scalar libm", file=sys.stderr)
    return [], []


class BuildExt(build_ext):
    """build_ext that first finds out whether libmvec is there (``vector_math``)."""

    def build_extensions(self):
        for ext in self.extensions:
            macros, libraries = vector_math(
                self.compiler, ext.extra_compile_args, ext.include_dirs
            )
            ext.define_macros = ext.define_macros + macros
            ext.libraries = ext.libraries + libraries
        super().build_extensions()


extensions = [
    Extension(
        "fastsgd._kernels",
        ["fastsgd/_kernels.pyx"],
        include_dirs=[numpy.get_include(), os.path.join(HERE, "fastsgd")],
        # the vectorised loops: a change there must rebuild the extension
        depends=["fastsgd/_simd.h", "fastsgd/_simd_impl.h", "fastsgd/_blas.pxd"],
        define_macros=[
            ("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
            ("FASTSGD_DEBUG", "1" if DEBUG else "0"),
        ],
        extra_compile_args=compile_args,
    ),
]

# Generated C goes to a folder per build flavour: Cython and setuptools decide what to
# rebuild by file times, and would otherwise reuse a release build's C in a debug one.
setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        build_dir="build/cython-debug" if DEBUG else "build/cython",
    ),
)
