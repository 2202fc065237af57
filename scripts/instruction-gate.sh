#!/usr/bin/env bash
# Deterministic performance gate: instruction counts of the kernels.
#
# Wall-clock timings on a shared 2-core machine are too noisy to gate a merge.
# This script counts instructions instead: it builds kernelbench (release),
# runs each fixed single-thread case of `kernelbench instructions --list`
# (128x128 block-sparse A, 75% of blocks empty, N = 32 and N = 1; the scalar
# generic BSR/SpMV and CSR kernels and, for each gated SIMD ISA this CPU runs
# (avx2_fma, neon), every specialised block shape, the generic kernel and any
# CSR kernel, each case pinned to its ISA whatever dispatch picks) under
# valgrind's callgrind, counting only instructions executed inside the kernel
# function (--toggle-collect=<the case's kernel symbol>), and writes the
# counts per kernel call as a kernelbench result file (one aggregate "median"
# entry per case, real_time = instructions per call, time_unit
# "instructions"). It then runs
#   kernelbench compare BASELINE RESULT --deterministic --threshold 0.02 --fail-on-missing
# against reports/baselines/instructions-<arch>.json (uname -m): a baseline
# case that this run lacks fails the gate (exit 1), unless its ISA (the third
# part of its name, instr/<kernel>/<isa>/n<N>) is one this CPU cannot run --
# those cases are left out of the comparison, with a notice.
#
# AVX-512 kernels are not gated: valgrind (3.19 in Debian 12, and 3.2x)
# cannot decode AVX-512 instructions and stops with SIGILL at the first one,
# so `instructions --list` leaves the avx512 ISA out (GateCase.ungated) even
# on a CPU that runs it (under valgrind, CPUID and XCR0 hide AVX-512 anyway,
# so nothing outside the kernels takes a 512-bit path). They are tested by
# the registry sweeps (scripts/test-ckernels.sh, KernelTests) and timed
# against AVX2 with scripts/paired-kernels.sh (reports/kernels.md).
#
# What instruction counts can see: any change in the work a kernel does per
# call -- extra or fewer loads, FMAs, branches, index arithmetic, a lost
# vectorisation or unrolling, a different kernel picked by dispatch, a change
# of compiler or flags that changes the code. They are exact and repeatable,
# so a 2% threshold is safe on any machine with the same binary.
# What they cannot see: memory bandwidth and latency, cache and TLB misses,
# prefetching, alignment and port pressure, frequency, SMT or NUMA effects,
# thread scaling, partitioning and dispatch overhead (the cases are
# single-thread and tiny, so everything fits in L1/L2) -- an instruction
# count can stay flat while the kernel gets slower, and an instruction-heavier
# kernel can be faster. Those need the timing comparison (`make perf-check`),
# which is report-only on shared machines.
#
# The counts depend on the compiled code, so they are tied to an architecture
# (the baseline file name) and, in practice, to the compiler version and the
# kernels' flags; `kernelbench compare` warns loudly when the compiler or the
# build configuration differ from the baseline's context.
#
# Usage: bash scripts/instruction-gate.sh [--update-baseline] [--baseline FILE]
#                                         [--threshold FRACTION] [--jobs N]
#   --update-baseline  rewrite the baseline with this run's counts (never done
#                      otherwise); commit it with the reason in the message.
#   --baseline FILE    compare against FILE instead of the committed baseline
#                      (relative to the current directory; it must exist,
#                      unless --update-baseline is to create it).
#   --threshold X      relative change that fails the gate (a non-negative
#                      fraction, default 0.02).
#   --jobs N           cases run in parallel (a positive whole number;
#                      default: number of CPUs, max 4).
# Exit status: 0 pass (or no committed baseline for this architecture: a
# notice, so a machine of another architecture does not fail CI), 2 an
# instruction-count regression beyond the threshold, 1 any other failure
# (bad option, a --baseline FILE that does not exist, build, valgrind,
# verification, malformed baseline).
# Output: reports/local/instruction-gate/ (counts, callgrind files, logs),
# reports/local/instructions-<arch>.json (this run) and
# reports/local/instruction-gate.md (the comparison report).
#
# Environment: KERNELBENCH_SCRATCH_PATH  SwiftPM scratch folder (default .build)
#              SWIFT                     swift executable (default swift)
#
# Notes: the Swift toolchain emits DWARF 5 that valgrind 3.19 cannot read, so
# the cases run on a copy of the binary with the debug sections stripped (the
# symbol table, which --toggle-collect needs, stays). The kernel symbol is
# toggled exactly rather than with 'bsr_f32_*'/'csr_f32_*' patterns: a pattern
# misses kernels with other names, and a kernel that calls another matching
# kernel would toggle collection off inside itself.
set -euo pipefail

# This script's own path, for --help: "$0" may be relative to the caller's directory.
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
caller="$PWD"  # a relative --baseline is the caller's, not the repository root's
cd "$(dirname "$self")/.."
scratch="${KERNELBENCH_SCRATCH_PATH:-.build}"
swift="${SWIFT:-swift}"
arch="$(uname -m)"
baseline="reports/baselines/instructions-$arch.json"
explicit_baseline=0
threshold=0.02
update=0
calls=10
jobs="$(nproc 2>/dev/null || echo 2)"
[ "$jobs" -gt 4 ] && jobs=4

fail() { echo "instruction-gate: FAIL: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --update-baseline) update=1 ;;
    --baseline)
      [ $# -ge 2 ] && [ -n "$2" ] || fail "--baseline needs a file"
      baseline="$2" explicit_baseline=1
      [[ "$baseline" == /* ]] || [ "$caller" = "$PWD" ] || baseline="$caller/$baseline"
      shift ;;
    --threshold) [ $# -ge 2 ] || fail "--threshold needs a fraction"; threshold="$2"; shift ;;
    --jobs) [ $# -ge 2 ] || fail "--jobs needs a number"; jobs="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

[[ "$threshold" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]] \
  || fail "--threshold must be a non-negative fraction such as 0.02 (got '$threshold')"
[[ "$jobs" =~ ^[0-9]+$ ]] && [[ "$jobs" =~ [1-9] ]] || fail "--jobs must be a positive whole number (got '$jobs')"

# A baseline named on the command line must exist (a typo must not pass the
# gate); only the committed default may be missing, on another architecture.
if [ "$update" = 0 ] && [ "$explicit_baseline" = 1 ] && [ ! -f "$baseline" ]; then
  [ -e "$baseline" ] && fail "--baseline $baseline: not a file"
  fail "--baseline $baseline: no such file (a baseline named on the command line must exist)"
fi
if [ "$update" = 0 ] && [ ! -f "$baseline" ]; then
  echo "instruction-gate: NOTICE: no instruction baseline for $arch ($baseline); nothing to compare, skipping (exit 0)."
  echo "instruction-gate: to create one: bash scripts/instruction-gate.sh --update-baseline"
  exit 0
fi

command -v valgrind >/dev/null || fail "valgrind not found (Debian: apt-get install valgrind; or make deps)"
strip_tool="$(command -v objcopy || command -v strip || true)"
[ -n "$strip_tool" ] || fail "neither objcopy nor strip found (Debian: apt-get install binutils)"

start=$(date +%s)
echo "instruction-gate: building kernelbench (release, scratch path $scratch)"
"$swift" build -c release --scratch-path "$scratch" --product kernelbench >&2 || fail "swift build failed"
bin="$("$swift" build -c release --scratch-path "$scratch" --show-bin-path)/kernelbench"
[ -x "$bin" ] || fail "no kernelbench executable at $bin"

work="reports/local/instruction-gate"
result="reports/local/instructions-$arch.json"
report="reports/local/instruction-gate.md"
rm -rf "$work"
mkdir -p "$work/callgrind" "$work/logs" "$work/counts"
exe="$work/kernelbench"
if [ "$(basename "$strip_tool")" = objcopy ]; then
  objcopy --strip-debug "$bin" "$exe"
else
  strip --strip-debug -o "$exe" "$bin"
fi

"$exe" instructions --list > "$work/cases.tsv" || fail "kernelbench instructions --list failed"
count=$(wc -l < "$work/cases.tsv")
[ "$count" -gt 0 ] || fail "no gate cases"
echo "instruction-gate: $count cases under callgrind, $jobs at a time"

run_case() {  # NAME KERNEL
  local name="$1" kernel="$2" safe
  safe="$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_')"
  local out="$work/callgrind/$safe.out" log="$work/logs/$safe.log"
  if ! timeout 600 valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$kernel" \
      "$exe" instructions --case "$name" --calls "$calls" > "$log" 2>&1; then
    echo "instruction-gate: case $name failed; its log ($log) ends:" >&2
    tail -n 5 "$log" >&2
    return 1
  fi
  local ir
  ir="$(awk '/^summary:/ { print $2; exit }' "$out")"
  [ -n "$ir" ] || ir="$(awk '/^totals:/ { print $2; exit }' "$out")"
  if [ -z "$ir" ] || [ "$ir" = 0 ]; then
    echo "instruction-gate: case $name: no instructions counted in $kernel (symbol missing from $out?)" >&2
    return 1
  fi
  printf '%s %s\n' "$name" "$ir" > "$work/counts/$safe.count"
}
export -f run_case
export work exe calls

tr '\t' ' ' < "$work/cases.tsv" | xargs -P "$jobs" -L 1 bash -c 'run_case "$@"' _ \
  || fail "a case failed under valgrind (see above and $work/logs)"

: > "$work/counts.txt"
while IFS=$'\t' read -r name _; do
  safe="$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_')"
  cat "$work/counts/$safe.count" >> "$work/counts.txt"
done < "$work/cases.tsv"
"$exe" instructions --counts "$work/counts.txt" --calls "$calls" --output "$result" --force \
  || fail "could not write $result"
echo "instruction-gate: counted in $(( $(date +%s) - start )) s (build included); result $result"

if [ "$update" = 1 ]; then
  mkdir -p "$(dirname "$baseline")"
  cp "$result" "$baseline.tmp.$$" && mv "$baseline.tmp.$$" "$baseline"
  echo "instruction-gate: baseline $baseline rewritten with this run's counts."
  echo "instruction-gate: commit it together with the change that moved the counts, with the reason in the message."
  exit 0
fi

# Cases exist only for the ISAs this CPU runs: a baseline case of an ISA
# missing here is not compared; any other missing case fails the gate.
"$exe" list --json > "$work/kernels.json" || fail "kernelbench list --json failed"
missing_isas="$(python3 -c 'import json, sys
print("|".join(sorted({k["isa"] for k in json.load(sys.stdin)["kernels"] if not k["runs_here"]})))' < "$work/kernels.json")" \
  || fail "cannot read the kernel list"
filter=()
if [ -n "$missing_isas" ]; then
  echo "instruction-gate: NOTICE: this CPU cannot run ISA ${missing_isas//|/, }: baseline cases of it are not compared."
  filter=(--filter "^(?!instr/[^/]+/($missing_isas)/)")
fi

set +e
"$exe" compare "$baseline" "$result" --deterministic --threshold "$threshold" --fail-on-missing "${filter[@]}" \
  --report "$report" --force
status=$?
set -e
case "$status" in
  0)
    echo "instruction-gate: PASS (no kernel's instruction count grew by more than $threshold; report $report)"
    if grep -q ' [1-9][0-9]* improved' "$report"; then
      echo "instruction-gate: some counts dropped beyond the threshold: if intended, update the baseline" \
           "(bash scripts/instruction-gate.sh --update-baseline) so later regressions are measured from there."
    fi
    ;;
  2)
    echo "instruction-gate: FAIL: instruction-count regression beyond $threshold (report $report)." >&2
    echo "instruction-gate: if the change is intended, run 'bash scripts/instruction-gate.sh --update-baseline'" \
         "and commit $baseline in the same commit, with the reason in the message." >&2
    ;;
  *)
    echo "instruction-gate: FAIL: kernelbench compare could not compare, or a baseline case is missing or" \
         "failed in this run (status $status; report $report)." >&2
    status=1
    ;;
esac
exit "$status"
