"""Run-time dispatch of the kernels' instruction-set paths, FASTSGD_ISA and
fastsgd.show_config()."""

import io
import os
import platform
import subprocess
import sys

import pytest

import fastsgd
from fastsgd import _kernels
from fastsgd._config import runnable_isas, using_isa

BUILT = [name for name, *_ in _kernels.isa_paths()]
X86 = platform.machine().lower() in ("x86_64", "amd64")


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def _import_in_subprocess(isa):
    """Import the installed fastsgd with FASTSGD_ISA=isa (-I: a source checkout in
    the working directory must not shadow it)."""
    env = {**os.environ, "FASTSGD_ISA": isa}
    code = "import fastsgd._kernels as k; print(k.isa_in_use())"
    return subprocess.run(
        [sys.executable, "-I", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(
    not X86 or _kernels.BUILD["native"], reason="the portable x86-64 build only"
)
def test_the_portable_x86_build_has_every_path():
    assert BUILT == ["sse2", "avx2", "avx512"]
    assert "-march=native" not in _kernels.BUILD["flags"]


@pytest.mark.skipif(_cpu_flags() is None, reason="no /proc/cpuinfo to compare with")
@pytest.mark.skipif(
    not X86 or _kernels.BUILD["native"], reason="the portable x86-64 build only"
)
def test_import_picks_the_best_path_the_cpu_runs():
    flags = _cpu_flags()
    avx512 = {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= flags
    avx2 = {"avx2", "fma"} <= flags
    expected = "avx512" if avx512 and avx2 else "avx2" if avx2 else "sse2"
    assert runnable_isas()[-1] == expected
    if not os.environ.get("FASTSGD_ISA"):
        assert _kernels.isa_in_use() == expected


@pytest.mark.parametrize("isa", BUILT)
def test_fastsgd_isa_forces_a_path(isa):
    result = _import_in_subprocess(isa)
    if isa in runnable_isas():
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == isa
    else:
        assert result.returncode != 0
        assert "cannot run" in result.stderr
        for name in runnable_isas():
            assert name in result.stderr


def test_an_unknown_path_is_a_clear_error_naming_the_runnable_ones():
    result = _import_in_subprocess("avx9000")
    assert result.returncode != 0
    assert "FASTSGD_ISA='avx9000' is not a kernel path of this build" in result.stderr
    assert ", ".join(runnable_isas()) in result.stderr
    with pytest.raises(ValueError, match="not a kernel path"):
        _kernels.use_isa("avx9000")


def test_a_path_the_cpu_lacks_is_refused():
    lacking = [name for name in BUILT if name not in runnable_isas()]
    if not lacking:
        pytest.skip("this CPU runs every path built")
    before = _kernels.isa_in_use()
    with pytest.raises(ValueError, match="this CPU cannot run"):
        _kernels.use_isa(lacking[0])
    assert _kernels.isa_in_use() == before


def test_using_isa_switches_and_restores():
    before = _kernels.isa_in_use()
    for name in runnable_isas():
        with using_isa(name):
            assert _kernels.isa_in_use() == name
        assert _kernels.isa_in_use() == before


def test_every_path_trains_to_the_same_model_up_to_rounding(multiclass):
    X, y = multiclass
    coefs = {}
    for name in runnable_isas():
        with using_isa(name):
            clf = fastsgd.MLPClassifier(
                (7,), solver="sgd", batch_size=1, max_iter=3, random_state=0
            ).fit(X, y)
        coefs[name] = clf.coefs_[0]
    first = coefs[runnable_isas()[0]]
    for name, c in coefs.items():
        assert c == pytest.approx(first, rel=1e-9, abs=1e-12), name


def test_show_config_names_every_path_and_the_one_in_use():
    out = io.StringIO()
    fastsgd.show_config(file=out)
    text = out.getvalue()
    assert f"fastsgd {fastsgd.__version__}" in text
    assert _kernels.BUILD["compiler"] in text
    for name in BUILT:
        assert name in text
    in_use = [line for line in text.splitlines() if line.lstrip().startswith("*")]
    assert len(in_use) == 1 and _kernels.isa_in_use() in in_use[0]
    assert "BLAS" in text and "vector math" in text


@pytest.mark.parametrize("threads", [False, True])
def test_bench_header_says_which_threads_it_measures_on(threads):
    from fastsgd._benchmark import machine

    first = machine(threads)[0]
    assert ("measured on 1" in first) is not threads
    assert ("each library's own threads" in first) is threads
