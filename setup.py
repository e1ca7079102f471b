"""Build the compiled kernels.

The loops of ``fastsgd/csrc/`` are compiled once per instruction set
(``kernel_variants``) into one extension, which picks the best variant the CPU runs
at import (``fastsgd/csrc/dispatch.c``): one portable build for every x86-64 CPU.

``FASTSGD_DEBUG=1 pip install .`` builds with bounds and wrap-around checks on,
so that an out-of-bounds access raises ``IndexError`` instead of corrupting memory.
``FASTSGD_NATIVE=1`` builds one variant for this machine alone (``-march=native``),
a binary that may not run on other CPUs. ``FASTSGD_LIBMVEC=0`` leaves out glibc's
vector math even where it is found (see ``vector_math``).
"""

import glob
import os
import platform
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTSGD_DEBUG", "0") == "1"
NATIVE = os.environ.get("FASTSGD_NATIVE", "0") == "1"
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
# divergence detection. Reductions are vectorised loop by loop in csrc/simd.h instead.
# -fno-math-errno (sqrt need not set errno; results and NaN/inf are unchanged) is
# what lets Adam's square roots vectorise: with errno, each one is a scalar sqrt
# and a branch (Adam on-line, mnist-like, avx2: 399 -> 107 us a sample).
# Release builds leave out debug information (-g0 overrides Python's own -g): it is
# about 40% of the compile time of the kernel variants (gcc 12, AVX2 variant
# 45.5 -> 30.3 s of CPU on an AMD EPYC host).
compile_args = ["-O1", "-g"] if DEBUG else ["-O3", "-g0"]
compile_args += ["-fopenmp-simd", "-fno-math-errno"]

# AVX-512 as x86-64-v4 has it (F, DQ, BW, VL: what csrc/dispatch.c checks), with GCC's
# preference for 256-bit vectors in loops it vectorises itself lifted.
AVX512 = ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl"]


def kernel_variants():
    """The instruction sets to compile the loops for, baseline first.

    Each is ``(name, flags)``; the name is what ``FASTSGD_ISA`` takes, and
    ``csrc/dispatch.c`` knows which CPU features each one's flags assume.
    """
    if NATIVE:
        return [("native", ["-march=native"])]
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return [
            ("sse2", []),
            ("avx2", ["-mavx2", "-mfma"]),
            ("avx512", ["-mavx2", "-mfma", *AVX512, "-mprefer-vector-width=512"]),
        ]
    if machine in ("aarch64", "arm64"):
        return [("neon", [])]  # NEON is aarch64's baseline
    return [("generic", [])]

# A program that runs the kernels' activation and loss loops (csrc/simd.h) for both
# element types on values whose results libm gives, and exits 0 only if they agree
# to a few ulp: built with the extension's own flags, it calls exactly the vector
# variants the extension will call.
VECTOR_MATH_CHECK = r"""
#include "simd.h"
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


def c_string(text):
    """``text`` as a C string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def compiler_version(compiler):
    """The first line the C compiler prints of its version, or its name."""
    name = getattr(compiler, "compiler_so", None) or ["cc"]
    try:
        out = subprocess.run(
            [name[0], "--version"], capture_output=True, text=True, timeout=30
        )
        return out.stdout.splitlines()[0].strip()
    except Exception:  # noqa: BLE001 - the version is only reported
        return name[0]


class BuildExt(build_ext):
    """build_ext that finds out whether libmvec is there (``vector_math``), then
    compiles the loops once per instruction set (``kernel_variants``), in parallel,
    and links them into the extension with the dispatcher."""

    def build_extension(self, ext):
        macros, libraries = vector_math(
            self.compiler, ext.extra_compile_args, ext.include_dirs
        )
        ext.define_macros = ext.define_macros + macros
        ext.libraries = ext.libraries + libraries
        variants = kernel_variants()
        config_dir = os.path.join(self.build_temp, "fastsgd-config")
        os.makedirs(config_dir, exist_ok=True)
        self.write_config(config_dir, variants)
        ext.include_dirs = ext.include_dirs + [config_dir]
        jobs = [
            ("dispatch", "fastsgd/csrc/dispatch.c", [], []),
            *(
                (name, "fastsgd/csrc/variant.c", flags, [
                    ("FSGD_VARIANT", name),
                    ("FSGD_VARIANT_FLAGS", c_string(" ".join(flags) or "baseline")),
                ])
                for name, flags in variants
            ),
        ]  # fmt: skip

        def compile_one(job):
            name, source, flags, extra_macros = job
            return self.compiler.compile(
                [source],
                output_dir=os.path.join(self.build_temp, "variants", name),
                macros=ext.define_macros + extra_macros,
                include_dirs=ext.include_dirs,
                extra_postargs=ext.extra_compile_args + flags,
                depends=ext.depends,
            )

        # The variants compile in threads while build_ext compiles the Cython
        # module; the link waits for them.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            pending = [pool.submit(compile_one, job) for job in jobs]
            link = self.compiler.link_shared_object

            def link_when_compiled(objects, *args, **kwargs):
                variants = [obj for job in pending for obj in job.result()]
                return link(objects + variants, *args, **kwargs)

            self.compiler.link_shared_object = link_when_compiled
            try:
                super().build_extension(ext)
            finally:
                del self.compiler.link_shared_object  # the class's method again

    def write_config(self, config_dir, variants):
        """``_build_config.h``: the variants built, and the compiler and flags, for
        the dispatcher and ``fastsgd.show_config()``."""
        names = " ".join(f"V({name})" for name, _ in variants)
        lines = [
            f"#define FSGD_VARIANTS(V) {names}",
            f"#define FSGD_BUILD_COMPILER {c_string(compiler_version(self.compiler))}",
            f"#define FSGD_BUILD_FLAGS {c_string(' '.join(compile_args))}",
            f"#define FSGD_BUILD_NATIVE {int(NATIVE)}",
        ]
        path = os.path.join(config_dir, "_build_config.h")
        text = "\n".join(lines) + "\n"
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, "w") as f:
                f.write(text)


extensions = [
    Extension(
        "fastsgd._kernels",
        ["fastsgd/_kernels.pyx"],
        include_dirs=[numpy.get_include(), os.path.join(HERE, "fastsgd", "csrc")],
        # the C loops: a change there must rebuild the extension
        depends=[
            *sorted(glob.glob("fastsgd/csrc/*.[ch]")),
            "fastsgd/_blas.pxd",
        ],
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
