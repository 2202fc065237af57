#!/usr/bin/env bash
# The sanitizer runs of `make sanitize` (all of them; CI runs only the C
# kernel tests under ASan + UBSan, part of `make test`):
#   1. the whole Swift test suite under AddressSanitizer (Swift and C code;
#      LeakSanitizer on, with the suppressions in Tests/sanitizers/lsan.supp),
#      with the C targets also built with -fsanitize=undefined. Swift's own
#      -sanitize=undefined is not supported on Linux; Swift code traps on
#      overflow and out-of-bounds access in every build anyway;
#   2. the parallel driver's, the worker team's and the suite's tests (every
#      threaded path: team and concurrentPerform partitions, 10^5 back-to-back
#      team products, NUMA first touch, N splits) under ThreadSanitizer;
#   3. the C kernel tests under ASan + UBSan (scripts/test-ckernels.sh).
# The CLI tests run the sanitized kernelbench binary, so its runs are
# checked too. Build folders: .build-asan, .build-tsan (several minutes each
# the first time).
#
# Usage: bash scripts/sanitize.sh [asan] [tsan] [ckernels]   (default: all three)
# Exit status: 0 clean, 1 a sanitizer report, a failing test or an unknown step.
set -euo pipefail
# This script's own path, for --help: "$0" may be relative to the caller's directory.
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
cd "$(dirname "$self")/.."
swift="${SWIFT:-swift}"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(asan tsan ckernels)
# Every step name is checked before the first step runs: a typo after "tsan"
# must not surface only after minutes of TSan.
for step in "${steps[@]}"; do
  case "$step" in
    -h|--help) sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    asan|tsan|ckernels) ;;
    *) echo "sanitize: unknown step '$step' (asan, tsan, ckernels; see --help)" >&2; exit 1 ;;
  esac
done
# Tests that cannot run on a sanitizer build (ulimit -v) are skipped, and say so.
export KERNELBENCH_SANITIZER=1
export LSAN_OPTIONS="suppressions=$PWD/Tests/sanitizers/lsan.supp:print_suppressions=0"
status=0

for step in "${steps[@]}"; do
  start=$(date +%s)
  case "$step" in
    asan)
      echo "sanitize: whole test suite under ASan (+ UBSan in C)"
      flags=(--scratch-path .build-asan --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined)
      if "$swift" build --build-tests "${flags[@]}" && "$swift" test --skip-build "${flags[@]}"; then
        echo "sanitize: asan: clean ($(( $(date +%s) - start )) s)"
      else
        echo "sanitize: asan: FAILED" >&2; status=1
      fi ;;
    tsan)
      echo "sanitize: driver and suite tests under TSan"
      flags=(--scratch-path .build-tsan --sanitize=thread)
      if "$swift" build --build-tests "${flags[@]}" &&
         TSAN_OPTIONS="halt_on_error=1" "$swift" test --skip-build "${flags[@]}" \
           --filter 'DriverTests|PartitionTests|SuiteTests|WorkerTeamTests'; then
        echo "sanitize: tsan: clean ($(( $(date +%s) - start )) s)"
      else
        echo "sanitize: tsan: FAILED" >&2; status=1
      fi ;;
    ckernels)
      if bash scripts/test-ckernels.sh; then
        echo "sanitize: ckernels: clean ($(( $(date +%s) - start )) s)"
      else
        echo "sanitize: ckernels: FAILED" >&2; status=1
      fi ;;
    *) echo "sanitize: unknown step '$step' (asan, tsan, ckernels)" >&2; exit 1 ;;
  esac
done
[ "$status" = 0 ] && echo "sanitize: PASS" || echo "sanitize: FAIL" >&2
exit "$status"
