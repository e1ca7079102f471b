#!/bin/sh
# Build and run the C-level test of fastsgd's loops (tests/c/test_loops.c) for each
# instruction set given, or by default for every one this host can run:
#
#   sse2     cc -O2                      (the x86-64 baseline)
#   avx2     cc -O2 -mavx2 -mfma         (if /proc/cpuinfo has avx2 and fma)
#   avx512   cc -O2 -march=x86-64-v4     (if it has avx512f, bw, cd, dq and vl)
#   aarch64  aarch64-linux-gnu-gcc -O2 -static, run under qemu-aarch64 (NEON;
#            natively with cc on an aarch64 host). Debian/Ubuntu:
#            apt-get install -y gcc-aarch64-linux-gnu qemu-user
#
# Every build has -fopenmp-simd -Wall and never -ffast-math, as the package's.
# A target the host cannot build or run is skipped with a line saying why.
# The targets build in parallel, then run one after another.
#
#   tests/c/run.sh [--strict] [--out DIR] [target ...]
#
# --strict: a skipped target fails the run. --out DIR: keep the binaries, logs
# and one DIR/<target>.status per target ("pass", "fail", "skip: <reason>").
# Environment: CC (cc), CROSS_CC (aarch64-linux-gnu-gcc), QEMU (qemu-aarch64),
# OPT (-O2), EXTRA_CFLAGS, EXTRA_LIBS, CPUINFO (/proc/cpuinfo: where to read the
# CPU's flags). setup.py's glibc vector maths on x86-64, for instance:
#   EXTRA_CFLAGS="-DFSGD_LIBMVEC=1 -DFSGD_LIBMVEC_TANH=1" EXTRA_LIBS=-lmvec \
#       tests/c/run.sh sse2 avx2 avx512
# Exit status: 0 when every target passed or was skipped, 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../fastsgd/csrc" 2>/dev/null && pwd) || {
    echo "run.sh: fastsgd/ sources not found next to tests/" >&2
    exit 2
}
CC=${CC:-cc}
CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU:-qemu-aarch64}
OPT=${OPT:--O2}
LIBS="${EXTRA_LIBS:-} -lm"
CFLAGS="$OPT -fopenmp-simd -Wall ${EXTRA_CFLAGS:-} -I$src"

strict=0
out=
while [ $# -gt 0 ]; do
    case $1 in
    --strict) strict=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) break ;;
    esac
done
if [ -z "$out" ]; then
    out=$(mktemp -d "${TMPDIR:-/tmp}/fastsgd-ctest.XXXXXX") || exit 2
    trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out" || exit 2
targets=${*:-sse2 avx2 avx512 aarch64}

arch=$(uname -m)
flags=
CPUINFO=${CPUINFO:-/proc/cpuinfo}
[ -r "$CPUINFO" ] && flags=$(grep -m1 '^flags' "$CPUINFO")

have() { command -v "$1" >/dev/null 2>&1; }

# The CPU features a target needs that this host lacks (empty: none).
missing_flags() {
    m=
    for f in "$@"; do
        case " $flags " in *" $f "*) ;; *) m="$m $f" ;; esac
    done
    echo "${m# }"
}

now() { date +%s.%N 2>/dev/null || date +%s; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Decide, per target, how to build it and run it, or why it is skipped.
# Sets cc, tflags, runner, skip.
plan() {
    cc=$CC tflags= runner= skip=
    case $1 in
    sse2|avx2|avx512)
        case $arch in
        x86_64|amd64) ;;
        *) skip="host is $arch, not x86-64"; return ;;
        esac
        case $1 in
        sse2) need="sse2" ;;
        avx2) need="avx2 fma"; tflags="-mavx2 -mfma" ;;
        avx512) need="avx512f avx512bw avx512cd avx512dq avx512vl"
                tflags="-march=x86-64-v4" ;;
        esac
        if [ -z "$flags" ]; then
            skip="cannot read $CPUINFO to check for: $need"
        elif [ -n "$(missing_flags $need)" ]; then
            skip="CPU lacks $(missing_flags $need)"
        elif ! have "$CC"; then
            skip="no C compiler ($CC)"
        fi
        ;;
    aarch64)
        if [ "$arch" = aarch64 ] || [ "$arch" = arm64 ]; then
            have "$CC" || skip="no C compiler ($CC)"
        else
            cc=$CROSS_CC tflags="-static" runner=$QEMU
            if ! have "$CROSS_CC"; then
                skip="no aarch64 cross compiler $CROSS_CC (apt-get install gcc-aarch64-linux-gnu qemu-user)"
            elif ! have "$QEMU"; then
                skip="no $QEMU to run aarch64 binaries (apt-get install qemu-user)"
            fi
        fi
        ;;
    *)
        skip="unknown target (known: sse2 avx2 avx512 aarch64)"
        ;;
    esac
}

# Build every runnable target in the background.
for t in $targets; do
    plan "$t"
    rm -f "$out/$t.status" "$out/$t.bin"
    if [ -n "$skip" ]; then
        echo "skip: $skip" > "$out/$t.status"
        continue
    fi
    echo "$cc $CFLAGS $tflags $here/test_loops.c -o $out/$t.bin $LIBS" > "$out/$t.cmd"
    (
        start=$(now)
        # shellcheck disable=SC2086
        $cc $CFLAGS $tflags "$here/test_loops.c" -o "$out/$t.bin" $LIBS \
            > "$out/$t.build.log" 2>&1
        echo $? > "$out/$t.build.rc"
        elapsed "$start" "$(now)" > "$out/$t.build.time"
    ) &
done
wait

status=0
for t in $targets; do
    echo "== $t"
    if [ -f "$out/$t.status" ]; then
        reason=$(sed 's/^skip: //' "$out/$t.status")
        echo "skipped: $reason"
        [ "$strict" -eq 1 ] && status=1
        continue
    fi
    plan "$t"
    cat "$out/$t.cmd"
    if [ "$(cat "$out/$t.build.rc")" != 0 ]; then
        cat "$out/$t.build.log"
        echo "$t: FAILED to build ($(cat "$out/$t.build.time") s)"
        echo fail > "$out/$t.status"
        status=1
        continue
    fi
    # warnings, if any, stay visible
    grep -E 'warning|error' "$out/$t.build.log" | grep -v 'psabi' | head -20
    start=$(now)
    # shellcheck disable=SC2086
    $runner "$out/$t.bin" > "$out/$t.log" 2>&1
    rc=$?
    cat "$out/$t.log"
    t_run=$(elapsed "$start" "$(now)")
    if [ "$rc" -eq 0 ]; then
        echo "$t: passed (build $(cat "$out/$t.build.time") s, run $t_run s)"
        echo pass > "$out/$t.status"
    else
        echo "$t: FAILED, exit status $rc (build $(cat "$out/$t.build.time") s, run $t_run s)"
        echo fail > "$out/$t.status"
        status=1
    fi
done
exit $status
