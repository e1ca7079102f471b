"""Build and run-time configuration: the kernels' instruction-set paths and
``fastsgd.show_config()``.

The extension holds one variant of the compiled loops per instruction set
(``isa_paths``) and runs the best one the CPU supports, chosen once at import;
``FASTSGD_ISA=sse2|avx2|avx512`` forces another (``neon`` on aarch64, ``native``
in a ``FASTSGD_NATIVE=1`` build).
"""

import os
import platform
import sys
from contextlib import contextmanager

from fastsgd import _kernels


def runnable_isas():
    """The names of the instruction-set paths built that this CPU runs, baseline
    first (the last one is what the kernels use unless ``FASTSGD_ISA`` says)."""
    return [name for name, _, _, runs in _kernels.isa_paths() if runs]


@contextmanager
def using_isa(name):
    """Run the kernels on the path ``name`` inside the block (tests, benchmarks)."""
    previous = _kernels.isa_in_use()
    _kernels.use_isa(name)
    try:
        yield name
    finally:
        _kernels.use_isa(previous)


def _blas_pools():
    from threadpoolctl import threadpool_info

    return [
        f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}), "
        f"{p.get('num_threads')} threads, {p.get('filepath')}"
        for p in threadpool_info()
        if p.get("user_api") == "blas"
    ]


def show_config(file=None):
    """Print how fastsgd was built and what its kernels run on.

    The version, the compiler and its flags, the instruction-set paths built (by
    the names ``FASTSGD_ISA`` takes) with the one in use, glibc's vector math, and
    the BLAS libraries loaded with their thread limits (threadpoolctl).

    Parameters
    ----------
    file : file-like, default=None
        Where to print; ``sys.stdout`` when None.

    See Also
    --------
    show_versions : The versions of Python, fastsgd and its dependencies.

    Examples
    --------
    >>> import fastsgd
    >>> fastsgd.show_config()  # doctest: +ELLIPSIS
    fastsgd ...
    """
    from fastsgd import __version__

    out = file if file is not None else sys.stdout
    build = _kernels.BUILD
    in_use = _kernels.isa_in_use()
    flavour = "debug (bounds checks)" if _kernels.DEBUG else "release"
    lines = [
        f"fastsgd {__version__} ({flavour} build), Python {platform.python_version()}"
        f" on {platform.machine()}",
        f"compiler: {build['compiler']}",
        f"flags: {build['flags']}"
        + (" (FASTSGD_NATIVE=1: this CPU only)" if build["native"] else ""),
        "kernel paths (FASTSGD_ISA):",
    ]
    forced = os.environ.get("FASTSGD_ISA")
    for name, flags, vbytes, runs in _kernels.isa_paths():
        mark = "*" if name == in_use else " "
        state = "runs" if runs else "CPU lacks it"
        if name == in_use:
            state = "in use (FASTSGD_ISA)" if forced else "in use"
        lines.append(
            f"  {mark} {name:<8} {vbytes * 8:>3}-bit vectors  {state:<20} {flags}"
        )
    math = ", ".join(_kernels.VECTOR_MATH) or "none (scalar libm)"
    lines.append(f"vector math (glibc libmvec): {math}")
    pools = _blas_pools()
    lines.append("BLAS (threadpoolctl):" + ("" if pools else " none loaded yet"))
    lines += [f"  {pool}" for pool in pools]
    print("\n".join(lines), file=out)
