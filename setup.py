"""Build the compiled kernels.

``FASTSGD_DEBUG=1 pip install .`` builds with bounds and wrap-around checks on,
so that an out-of-bounds access raises ``IndexError`` instead of corrupting memory.
``FASTSGD_NATIVE=0`` leaves out ``-march=native`` (for a binary that must run on
other CPUs than the one it was built on).
"""

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTSGD_DEBUG", "0") == "1"
NATIVE = os.environ.get("FASTSGD_NATIVE", "1") == "1"

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

extensions = [
    Extension(
        "fastsgd._kernels",
        ["fastsgd/_kernels.pyx"],
        include_dirs=[numpy.get_include(), "fastsgd"],
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
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        build_dir="build/cython-debug" if DEBUG else "build/cython",
    )
)
