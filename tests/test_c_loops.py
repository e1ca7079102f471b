"""The C loops of ``fastsgd/csrc/`` against a plain scalar reference, per
instruction set.

``tests/c/test_loops.c`` checks every function that ``_kernels.pyx`` calls from
the kernels (each update rule with and without decay, every sweep, forward pass,
activation and loss, in double and float) on shapes with whole vectors, tails and
several tiles. ``tests/c/run.sh`` compiles it for each instruction set: ``sse2``,
``avx2`` and ``avx512`` when the CPU has them, and ``aarch64`` (NEON) with Debian's
cross compiler run under qemu (``apt-get install gcc-aarch64-linux-gnu
qemu-user``). This needs only the source tree and a C compiler, not the installed
package. A target this machine cannot build or run is skipped with the reason.

``FASTSGD_TEST_C_LOOPS=0`` skips these tests (a second run of the suite against
another build of the package compiles the same C); ``FASTSGD_TEST_C_LOOPS=strict``
fails a target that would be skipped for want of a tool (a CI that installed the
cross tools); a path the CPU lacks is still skipped, with the reason.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = ROOT / "fastsgd" / "csrc"
RUN_SH = ROOT / "tests" / "c" / "run.sh"
TARGETS = ["sse2", "avx2", "avx512", "aarch64"]
MODE = os.environ.get("FASTSGD_TEST_C_LOOPS", "1")

# Readable skip reasons for what run.sh reports.
REASONS = {
    "avx512": ("CPU lacks avx512", "CPU lacks AVX-512"),
    "avx2": ("CPU lacks", "CPU lacks AVX2/FMA"),
}


def _selected_targets(request):
    """The targets of this module's tests that the session will run."""
    chosen = [
        item.callspec.params["target"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    ]
    return [t for t in TARGETS if t in chosen] or TARGETS


@pytest.fixture(scope="module")
def c_loops(request, tmp_path_factory):
    """Build every selected target at once (in parallel) and run them.

    Returns the output directory (``<target>.status``, ``<target>.log``) and
    run.sh's output.
    """
    if MODE == "0":
        pytest.skip("FASTSGD_TEST_C_LOOPS=0")
    if not (SOURCES / "simd.h").is_file() or not RUN_SH.is_file():
        pytest.skip(
            f"the C sources are not here ({SOURCES / 'simd.h'}): this test needs "
            "a source checkout, not only the installed package"
        )
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no POSIX shell to run tests/c/run.sh")
    out = tmp_path_factory.mktemp("c_loops")
    args = [sh, str(RUN_SH), "--out", str(out), *_selected_targets(request)]
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=1200, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"tests/c/run.sh took over {exc.timeout} s")
    return out, proc.stdout + proc.stderr


def _section(output, target, head=40):
    """run.sh's lines about one target: the first `head` and the last two."""
    lines, inside = [], False
    for line in output.splitlines():
        if line.startswith("== "):
            inside = line == f"== {target}"
        elif inside:
            lines.append(line)
    if len(lines) > head + 2:
        lines[head:-2] = [f"... ({len(lines) - head - 2} more lines)"]
    return "\n".join(lines)


@pytest.mark.parametrize("target", TARGETS)
def test_c_loops(c_loops, target):
    out, output = c_loops
    status_file = out / f"{target}.status"
    if not status_file.is_file():
        pytest.fail(f"tests/c/run.sh gave no result for {target}:\n{output}")
    status = status_file.read_text().strip()
    if status.startswith("skip: "):
        reason = status[len("skip: ") :]
        prefix, readable = REASONS.get(target, (None, None))
        cpu_lacks_it = prefix is not None and reason.startswith(prefix)
        if cpu_lacks_it:
            reason = f"{readable} (no {reason.removeprefix('CPU lacks ')})"
        if MODE == "strict" and not cpu_lacks_it:
            pytest.fail(f"{target} skipped under FASTSGD_TEST_C_LOOPS=strict: {reason}")
        pytest.skip(reason)
    assert status == "pass", (
        f"the C loops failed on {target}:\n{_section(output, target)}"
    )
    log = (out / f"{target}.log").read_text()
    assert log.rstrip().endswith(" 0 failed"), log
