"""How many BLAS threads a kernel call's gemm gets.

On small matrices BLAS threads cost more than they bring, so kernel calls run on
one BLAS thread unless one gemm call is large enough to pay for more. Measured
side by side on a 2-core AMD EPYC (fit, float64, BLAS left at its 2 threads above
the threshold): full batch, whose gemms run on chunks of about 1,000 rows (68-200
MFLOP), went from 10.7 to 6.4 us a sample on mnist-like and 8.6 to 6.8 on deep
with the threshold at 5e7 instead of 1e9; at 2e7, batch 128's 26-MFLOP calls
became slower (9.6 -> 12.8 us).
"""

import threading
from contextlib import contextmanager, nullcontext

from threadpoolctl import ThreadpoolController

try:  # threadpoolctl >= 3.8
    from threadpoolctl import OpenBLASController
except ImportError:  # older releases have no controlling thread to release
    OpenBLASController = None

THREADED_GEMM_FLOPS = 5e7


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
