"""``fastsgd.show_versions()``: what to paste into a bug report, as scikit-learn's
``show_versions`` prints it."""

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from threadpoolctl import threadpool_info

from fastsgd._version import __version__

# Required first, then the optional extras that change what fastsgd does.
_DEPENDENCIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "threadpoolctl",
    "joblib",
    "pip",
    "setuptools",
    "Cython",
    "pandas",
    "matplotlib",
    "tqdm",
    "rich",
    "dask",
    "distributed",
    "dask-ml",
    "skl2onnx",
    "onnxruntime",
    "torch",
)


def _system_info():
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
    }


def _dependencies_info():
    """Installed versions, read from package metadata (nothing is imported);
    None for a package that is not installed."""
    info = {"fastsgd": __version__}
    for name in _DEPENDENCIES:
        try:
            info[name] = version(name)
        except PackageNotFoundError:
            info[name] = None
    return info


def show_versions():
    """Print the versions of Python, fastsgd and its dependencies, for bug reports.

    Python and the platform, fastsgd, its dependencies and optional extras (read
    from package metadata: nothing is imported), and the BLAS libraries in use.
    The BLAS section is threadpoolctl's: the libraries loaded in this process and
    their thread counts. It is what to paste into a bug report, as scikit-learn's
    ``show_versions`` is.

    See Also
    --------
    show_config : How fastsgd was built and which kernels it runs.

    Examples
    --------
    >>> import fastsgd
    >>> fastsgd.show_versions()  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    <BLANKLINE>
    System:
        python: ...
    Python dependencies:
          fastsgd: ...
    """
    print("\nSystem:")
    for name, value in _system_info().items():
        print(f"{name:>10}: {value}")

    print("\nPython dependencies:")
    for name, value in _dependencies_info().items():
        print(f"{name:>13}: {value}")

    libraries = threadpool_info()
    if libraries:
        print("\nthreadpoolctl info:")
        print("\n\n".join(_library_lines(library) for library in libraries))


def _library_lines(library):
    return "\n".join(f"{key:>15}: {value}" for key, value in library.items())
