#!/usr/bin/env bash
# C-level kernel tests (Tests/ckernels/kernel_test.c) against every kernel in
# the registry: natively, natively again under AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run: over-reads in tail
# loops, misaligned or out-of-range accesses, signed overflow), then
# cross-compiled for aarch64 and run under qemu-aarch64 so the NEON kernels
# really execute. (The tester also puts guard pages after every buffer.)
# The sanitized build uses tiny K panels so the panel path is tested too.
#
#   scripts/test-ckernels.sh [name-substring]   # optional kernel-name filter
#
# Needs a C compiler (cc) and, for the aarch64 half, the Debian packages
# gcc-aarch64-linux-gnu and qemu-user. Build output: .build-ckernels/.
# Environment: CC (native compiler, default cc), CROSS_CC (default
# aarch64-linux-gnu-gcc), QEMU_AARCH64 (default qemu-aarch64).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build-ckernels"
mkdir -p "$OUT"

CC="${CC:-cc}"
CROSS_CC="${CROSS_CC:-aarch64-linux-gnu-gcc}"
QEMU="${QEMU_AARCH64:-qemu-aarch64}"
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

fail=0

echo "== native build ($CC)"
"$CC" "${CFLAGS[@]}" -o "$OUT/kernel_test-native" "${SOURCES[@]}" -lm
echo "== native run"
run_timed "native run" "$OUT/kernel_test-native" "$@" || fail=1

# The sanitized build also shrinks the AVX2 kernels' L2 panels, BSR and CSR
# (and turns off the short-segment exemptions), so the K-panel paths with
# their per-row cursors run on the sweep's small matrices too (at the default
# sizes they need K x N x 4 bytes > 256 KiB, which no sweep case reaches).
echo "== native build with -fsanitize=address,undefined and small K panels ($CC)"
"$CC" "${CFLAGS[@]}" -DKB_PANEL_BYTES=2048 -DKB_CSR_PANEL_BYTES=2048 -DKB_CGROUP_BYTES=1024 \
    -DKB_MIN_SEGMENT_BYTES=0 -DKB_CSR_MIN_SEGMENT=0 \
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -o "$OUT/kernel_test-sanitized" "${SOURCES[@]}" -lm
echo "== native run under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    run_timed "sanitized native run" "$OUT/kernel_test-sanitized" "$@" || fail=1

if ! command -v "$CROSS_CC" >/dev/null 2>&1 || ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "error: the aarch64 half needs $CROSS_CC and $QEMU;" >&2
    echo "       install the Debian packages: apt-get install gcc-aarch64-linux-gnu qemu-user" >&2
    exit 1
fi

echo "== aarch64 build ($CROSS_CC, static)"
"$CROSS_CC" "${CFLAGS[@]}" -static -o "$OUT/kernel_test-aarch64" "${SOURCES[@]}" -lm
echo "== aarch64 run ($QEMU)"
run_timed "aarch64 run under qemu" "$QEMU" "$OUT/kernel_test-aarch64" "$@" || fail=1

if [ "$fail" -ne 0 ]; then
    echo "test-ckernels: FAILED" >&2
    exit 1
fi
echo "test-ckernels: all passed"
