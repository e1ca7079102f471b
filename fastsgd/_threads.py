"""How many BLAS threads a kernel call's gemm gets.

On small matrices BLAS threads cost more than they bring, so kernel calls run on
one BLAS thread unless one gemm call is large enough to pay for more. Measured on
a 2-core AMD EPYC (fit, float64, AVX2 path, BLAS left at its 2 threads above the
threshold), the thresholds taking turns in one run (best of 4): at 2e6 FLOP
instead of 5e7, mnist-like batch 128 (26-MFLOP calls) went from 10.5 to 7.2 us a
sample, deep batch 128 from 8.6 to 6.0 and deep batch 32 from 9.2 to 8.7;
mnist-like batch 32 (11.0 against 11.4) and full batch (5.9 against 5.8) stayed
within noise. (An earlier session, with buffers not yet aligned, measured batch
128 slower with threads; the machine is shared, so rerun before changing this.)
"""

import threading
from contextlib import contextmanager, nullcontext

from threadpoolctl import ThreadpoolController

try:  # threadpoolctl >= 3.8
    from threadpoolctl import OpenBLASController
except ImportError:  # older releases have no controlling thread to release
    OpenBLASController = None

THREADED_GEMM_FLOPS = 2e6


class _SharedBlasLimit:
    """One BLAS thread while any fit that wants it is running.

    threadpoolctl's limits are process-wide, so fits running in parallel threads
    (joblib's threading backend) must not each save and restore them: the first to
    enter sets the limit, the last to leave restores what was there before. For
    OpenBLAS without OpenMP, threadpoolctl (>= 3.8) lets only the thread that set a
    limit change it again while that thread lives; the last fit out may run in
    another thread of a pool, so the controlling thread is released first (every
    change made here is serialised by the lock). The loaded libraries are scanned
    once, not on every fit.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._limiter = None
        self._controller = None

    @staticmethod
    def _release_control():
        release = getattr(OpenBLASController, "clear_controlling_thread", None)
        if release is not None:
            release(force=True)

    @contextmanager
    def __call__(self):
        with self._lock:
            if self._users == 0:
                if self._controller is None:
                    self._controller = ThreadpoolController()
                self._release_control()
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._release_control()
                    self._limiter.restore_original_limits()
                    self._release_control()


_one_blas_thread = _SharedBlasLimit()


def blas_threads_for(layout, chunk):
    """The BLAS-thread context for kernel calls on ``chunk`` rows at a time: one
    thread unless the largest layer's gemm over a chunk does at least
    ``THREADED_GEMM_FLOPS``."""
    units = layout.units
    gemm_flops = 2 * chunk * max(units[:-1] * units[1:])
    return _one_blas_thread() if gemm_flops < THREADED_GEMM_FLOPS else nullcontext()
