"""What machine a measurement ran on, for the reports that print figures."""

import platform


def cpu_model():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def kernel_path():
    """The instruction-set path fastsgd's kernels run on, as a report names it."""
    from fastsgd import _kernels

    return f"fastsgd kernels: {_kernels.isa_in_use()} path (FASTSGD_ISA chooses)"
