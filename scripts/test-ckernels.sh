#!/usr/bin/env bash
# C-level kernel tests (Tests/ckernels/kernel_test.c) against every kernel in
# the registry: natively, natively again under AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run: over-reads in tail
# loops, misaligned or out-of-range accesses, signed overflow), then
# cross-compiled for aarch64 and run under qemu-aarch64 so the NEON kernels
# really execute. (The tester also puts guard pages after every buffer.)
# On x86-64 the native tester also runs under qemu-x86_64 as a Haswell (AVX2,
# no AVX-512), which must list every AVX-512 row as skipped: a CPU without
# AVX-512 never counts those rows as passed. On such a CPU (with AVX2) the
# AVX-512 rows then run in a build whose intrinsics are portable C (SIMDe,
# Tests/ckernels/avx512_emulation.h): their values, masks and tails are
# checked, never their instructions or speed, and they are reported as
# emulated, not as passed. Kernels a run skips (their ISA missing on this
# CPU) are named again in a warning at the end.
# The sanitized build uses tiny K panels and turns the B prefetch of 4x4, 8x8
# and 16x16 on for any B, so the panel path and the prefetching range workers
# are tested too.
#
#   scripts/test-ckernels.sh [name-substring]   # optional kernel-name filter
#   (a filter that no kernel name contains, native or aarch64, is an error)
#
# Needs a C compiler (cc) and the Debian packages gcc-aarch64-linux-gnu and
# qemu-user (the aarch64 half) and libsimde-dev (the emulated AVX-512 rows).
# Build output: .build-ckernels/.
# Environment: CC (native compiler, default cc), CROSS_CC (default
# aarch64-linux-gnu-gcc), QEMU_AARCH64 (default qemu-aarch64), QEMU_X86_64
# (default qemu-x86_64).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build-ckernels"

# usage STATUS: the header above; on stdout for --help (0), on stderr otherwise.
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' | if [ "$1" = 0 ]; then cat; else cat >&2; fi
    exit "$1"
}
case "${1:-}" in
    -h|--help) usage 0 ;;
    -*) echo "test-ckernels: unknown option '$1' (a kernel-name filter never starts with '-')" >&2; usage 2 ;;
esac
[ $# -le 1 ] || { echo "test-ckernels: give at most one kernel-name filter (got $#)" >&2; usage 2; }
mkdir -p "$OUT"

CC="${CC:-cc}"
CROSS_CC="${CROSS_CC:-aarch64-linux-gnu-gcc}"
QEMU="${QEMU_AARCH64:-qemu-aarch64}"
QEMU_X86="${QEMU_X86_64:-qemu-x86_64}"

# The aarch64 half's tools are checked first, so a missing one is reported at
# once rather than after the native builds and runs.
if ! command -v "$CROSS_CC" >/dev/null 2>&1 || ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "error: the aarch64 half needs $CROSS_CC and $QEMU;" >&2
    echo "       install the Debian packages: apt-get install gcc-aarch64-linux-gnu qemu-user" >&2
    exit 1
fi
if [ "$(uname -m)" = x86_64 ] && ! echo '#include <simde/x86/avx512.h>' | "$CC" -E -x c - >/dev/null 2>&1; then
    echo "error: the emulated AVX-512 rows need SIMDe; install the Debian package: apt-get install libsimde-dev" >&2
    exit 1
fi
CFLAGS=(-O2 -std=gnu11 -Wall -Wextra -Werror -fno-math-errno -I "$ROOT/CKernels/include")
SOURCES=("$ROOT"/CKernels/*.c "$ROOT/Tests/ckernels/kernel_test.c")

run_timed() { # label, command...
    local label="$1" start end status=0
    shift
    start=$(date +%s.%N)
    "$@" || status=$?
    end=$(date +%s.%N)
    awk -v l="$label" -v s="$start" -v e="$end" 'BEGIN { printf "== %s: %.1f s\n", l, e - s }'
    return "$status"
}

# build OUTPUT COMPILER FLAGS...: each source to its own object, all at once,
# then one link. The ISA files are the slow ones (minutes each under the
# sanitizers), so they compile side by side instead of one after the other.
build() {
    local out="$1" compiler="$2" objects="$1.objects" pids=() pid src status=0
    shift 2
    rm -rf "$objects" && mkdir -p "$objects"
    for src in "${SOURCES[@]}"; do
        "$compiler" "$@" -c -o "$objects/$(basename "$src" .c).o" "$src" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    [ "$status" -eq 0 ] || { echo "test-ckernels: FAILED: $out did not compile" >&2; exit 1; }
    "$compiler" "$@" -o "$out" "$objects"/*.o -lm
}

fail=0
# Each run's standard output is also kept, to count the kernels the filter matched.
rm -f "$OUT"/run-*.log

echo "== native build ($CC)"
run_timed "native build" build "$OUT/kernel_test-native" "$CC" "${CFLAGS[@]}"
echo "== native run"
run_timed "native run" "$OUT/kernel_test-native" "$@" | tee "$OUT/run-native.log" || fail=1

# The sanitized build also shrinks the AVX2 kernels' L2 panels, BSR and CSR
# (and turns off the short-segment exemptions), so the K-panel paths with
# their per-row cursors run on the sweep's small matrices too (at the default
# sizes they need K x N x 4 bytes > 256 KiB, which no sweep case reaches);
# KB_BPF_MIN_B=0 likewise runs the B-prefetching workers (4x4: only where its
# K is too short for a panel), which by default wait for more than 256 KiB of B.
# It is optimised at -O1, the level AddressSanitizer's documentation suggests: at -O2
# gcc 12 took about 7 minutes for avx2_fma.c and over 11 for avx512.c (every
# specialised block shape inlines its unrolled tile), at -O1 under 2 and 2.5.
echo "== native build with -fsanitize=address,undefined and small K panels ($CC)"
SMALL_PANELS=(-DKB_PANEL_BYTES=2048 -DKB_CSR_PANEL_BYTES=2048 -DKB_CGROUP_BYTES=1024
    -DKB_MIN_SEGMENT_BYTES=0 -DKB_CSR_MIN_SEGMENT=0 -DKB_BPF_MIN_B=0)
run_timed "sanitized build" build "$OUT/kernel_test-sanitized" "$CC" "${CFLAGS[@]}" -O1 "${SMALL_PANELS[@]}" \
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
echo "== native run under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run_timed "sanitized native run" "$OUT/kernel_test-sanitized" "$@" | tee "$OUT/run-sanitized.log" || fail=1

if [ "$(uname -m)" = x86_64 ]; then
    # Only the AVX-512 rows (all skipped there): QEMU's AVX2 masked loads
    # fault on the tester's guard pages, so the other rows are not run.
    command -v "$QEMU_X86" >/dev/null 2>&1 \
        || { echo "error: $QEMU_X86 not found (apt-get install qemu-user)" >&2; exit 1; }
    echo "== native tester under $QEMU_X86 -cpu Haswell (AVX2, no AVX-512): the AVX-512 rows must be skipped"
    rows=$(grep -c '^KB_BSR\|^KB_CSR' "$ROOT/CKernels/table_avx512.h")
    "$QEMU_X86" -cpu Haswell "$OUT/kernel_test-native" __avx512 2>/dev/null > "$OUT/noavx512.log" || fail=1
    skipped=$(grep -c '^SKIP .*__avx512: ISA avx512 not supported' "$OUT/noavx512.log" || true)
    if grep -q "^kernel tests: 0 passed, 0 failed, $rows skipped$" "$OUT/noavx512.log" && [ "$skipped" -eq "$rows" ]; then
        echo "== without AVX-512: all $rows avx512 rows listed as skipped"
    else
        echo "test-ckernels: FAILED: without AVX-512 the $rows avx512 rows were not all skipped:" >&2
        tail -n 3 "$OUT/noavx512.log" >&2
        fail=1
    fi

    # The rows this CPU skipped, run with portable intrinsics, at the default
    # panel sizes and with the sanitized build's small ones (two builds side
    # by side). -mavx2 keeps SIMDe's code short enough to compile: gcc 12
    # took over 20 minutes for avx512.c at -O2 without it, 80 s at -O1 with it.
    if grep -q '^SKIP .*__avx512: ISA avx512 not supported' "$OUT/run-native.log"; then
        if grep -q '^SKIP .*__avx2_fma: ISA' "$OUT/run-native.log"; then
            echo "test-ckernels: WARNING: no AVX2 here either: the AVX-512 rows were not run emulated" >&2
        else
            echo "== builds with the AVX-512 intrinsics in portable C (SIMDe), default and small K panels ($CC)"
            emulated=("${CFLAGS[@]}" -O1 -mavx2 -mfma -Wno-psabi -DKB_AVX512_EMULATED -I "$ROOT/Tests/ckernels")
            build_emulated() {
                local p1 p2 status=0
                build "$OUT/kernel_test-avx512-emulated" "$CC" "${emulated[@]}" & p1=$!
                build "$OUT/kernel_test-avx512-emulated-panels" "$CC" "${emulated[@]}" "${SMALL_PANELS[@]}" & p2=$!
                wait "$p1" || status=1
                wait "$p2" || status=1
                return "$status"
            }
            run_timed "emulated AVX-512 builds" build_emulated || exit 1
            for variant in emulated emulated-panels; do
                echo "== AVX-512 rows, $variant (values, masks and tails; not the instructions, not speed)"
                run_timed "$variant AVX-512 run" "$OUT/kernel_test-avx512-$variant" "${1:-__avx512}" \
                    > "$OUT/run-avx512-$variant.log" || fail=1
                grep -v '^PASS' "$OUT/run-avx512-$variant.log" || true
                echo "== AVX-512 rows passed, $variant: $(grep -c '^PASS .*__avx512:' "$OUT/run-avx512-$variant.log" || true)"
            done
        fi
    fi
fi

echo "== aarch64 build ($CROSS_CC, static)"
run_timed "aarch64 build" build "$OUT/kernel_test-aarch64" "$CROSS_CC" "${CFLAGS[@]}" -static
echo "== aarch64 run ($QEMU)"
run_timed "aarch64 run under qemu" "$QEMU" "$OUT/kernel_test-aarch64" "$@" | tee "$OUT/run-aarch64.log" || fail=1

# "kernel tests: P passed, F failed, S skipped" per run: a filter that matched
# no kernel in any run tested nothing, which is no pass.
if [ $# -eq 1 ]; then
    matched=$(awk '/^kernel tests: / { n += $3 + $5 + $7 } END { print n + 0 }' "$OUT"/run-*.log)
    if [ "$matched" -eq 0 ]; then
        echo "test-ckernels: FAILED: no kernel name contains '$1' (natively or for aarch64); nothing was tested" >&2
        exit 1
    fi
fi
# Rows of an ISA this CPU lacks were not tested here: said again, loudly.
missing=$(sed -n 's/^SKIP \([^:]*\): ISA \(.*\) not supported.*/\1 (\2)/p' "$OUT/run-native.log")
if [ -n "$missing" ]; then
    echo "test-ckernels: WARNING: $(printf '%s\n' "$missing" | wc -l) kernel(s) NOT tested on their hardware: their ISA is missing on this CPU:" >&2
    printf '%s\n' "$missing" | sed 's/^/  /' >&2
    [ ! -s "$OUT/run-avx512-emulated.log" ] \
        || echo "  (the avx512 rows ran emulated above: values checked, instructions and speed not)" >&2
fi
if [ "$fail" -ne 0 ]; then
    echo "test-ckernels: FAILED" >&2
    exit 1
fi
echo "test-ckernels: all passed"
