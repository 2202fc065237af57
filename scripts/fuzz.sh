#!/usr/bin/env bash
# Fuzzes every parser that reads outside input with libFuzzer (coverage
# guided, AddressSanitizer on), through the targets of kernelbench-fuzz:
#   mtx          Matrix Market as CSR and dense
#   idx          IDX, gzipped or plain
#   safetensors  safetensors header and every tensor
#   compare      kernelbench / Google Benchmark JSON, compared and rendered
#   report       kernelbench result JSON, rendered as md/csv/html
#   paper        paper study results.json, rendered
# Each input must end in a value or a typed error (InputError/MatrixError).
# Anything else is a finding: an untyped error, a trap (overflow, bounds), a
# sanitizer report, an input slower than --timeout seconds, or an
# allocation above 600 MB (size fields are held to a 256 MiB budget by
# KERNELBENCH_MEMORY_LIMIT, so a file claiming gigabytes must be refused by
# the memory check first). Findings go to reports/local/fuzz/artifacts/;
# replay one with: .build/debug/kernelbench-fuzz TARGET FILE
#
# Starts from the committed seeds (Tests/fuzz/seeds/<target>) and the
# committed minimised corpus (Tests/fuzz/corpus/<target>); the working corpus
# grows in reports/local/fuzz/corpus/<target>.
#
# Usage: bash scripts/fuzz.sh [--runs N] [--seconds S] [--jobs J] [--merge] [TARGET...]
#        bash scripts/fuzz.sh --replay [TARGET...]
#   --runs N     inputs per target (default 1000000)
#   --seconds S  stop a target after S seconds even if N is not reached (default: no limit)
#   --jobs J     targets fuzzed at the same time (default: CPUs, at most 4)
#   --merge      afterwards, minimise each working corpus into Tests/fuzz/corpus/<target>
#                (inputs that add coverage; commit them so CI replays them)
#   --replay     no fuzzing: replay the committed seeds and corpus of each target
#                through the ordinary debug build (make fuzz-replay, part of make test)
# Exit status: 0 no findings, 1 a finding or a failure to build or run.
#
# Environment: KERNELBENCH_FUZZ_SCRATCH  SwiftPM scratch folder (default .build-fuzz)
#              SWIFT                     swift executable (default swift)
set -euo pipefail
# This script's own path, for --help: "$0" may be relative to the caller's directory.
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
cd "$(dirname "$self")/.."

all_targets=(mtx idx safetensors compare report paper)
runs=1000000
seconds=0
merge=0
replay=0
jobs="$(nproc 2>/dev/null || echo 2)"
[ "$jobs" -gt 4 ] && jobs=4
targets=()
fail() { echo "fuzz: FAIL: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) [ $# -ge 2 ] || fail "--runs needs a number"; runs="$2"; shift ;;
    --seconds) [ $# -ge 2 ] || fail "--seconds needs a number"; seconds="$2"; shift ;;
    --jobs) [ $# -ge 2 ] || fail "--jobs needs a number"; jobs="$2"; shift ;;
    --merge) merge=1 ;;
    --replay) replay=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) fail "unknown option '$1' (see --help)" ;;
    *)
      [[ " ${all_targets[*]} " == *" $1 "* ]] || fail "unknown target '$1' (targets: ${all_targets[*]})"
      targets+=("$1") ;;
  esac
  shift
done
[[ "$runs" =~ ^[0-9]+$ ]] && [ "$runs" -gt 0 ] || fail "--runs must be a positive number (got '$runs')"
[[ "$seconds" =~ ^[0-9]+$ ]] || fail "--seconds must be a number (got '$seconds')"
[[ "$jobs" =~ ^[0-9]+$ ]] && [ "$jobs" -gt 0 ] || fail "--jobs must be a positive number (got '$jobs')"
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

swift="${SWIFT:-swift}"

committed_inputs() {  # TARGET: the committed seed folder, and the corpus folder when there is one
  echo "Tests/fuzz/seeds/$1"
  [ -d "Tests/fuzz/corpus/$1" ] && echo "Tests/fuzz/corpus/$1"
  return 0
}

if [ "$replay" = 1 ]; then
  "$swift" build --product kernelbench-fuzz >&2 || fail "swift build failed"
  bin="$("$swift" build --show-bin-path)/kernelbench-fuzz"
  for t in "${targets[@]}"; do
    mapfile -t dirs < <(committed_inputs "$t")
    "$bin" "$t" "${dirs[@]}" || fail "replay of $t found an input that breaks the contract"
  done
  exit 0
fi

scratch="${KERNELBENCH_FUZZ_SCRATCH:-.build-fuzz}"
echo "fuzz: building kernelbench-fuzz with -sanitize=fuzzer,address (release, scratch path $scratch)"
"$swift" build -c release --scratch-path "$scratch" --product kernelbench-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >&2 || fail "swift build failed"
exe="$("$swift" build -c release --scratch-path "$scratch" --show-bin-path)/kernelbench-fuzz"
[ -x "$exe" ] || fail "no fuzzer executable at $exe"

out=reports/local/fuzz
mkdir -p "$out/artifacts"

fuzz_one() {  # TARGET
  local t="$1" corpus="$out/corpus/$1" log="$out/$1.log"
  mkdir -p "$corpus"
  local seeds
  mapfile -t seeds < <(committed_inputs "$t")
  local limit=()
  [ "$seconds" -gt 0 ] && limit=(-max_total_time="$seconds")
  local start status
  start=$(date +%s)
  set +e
  KERNELBENCH_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=0 "$exe" "$corpus" "${seeds[@]}" \
    -runs="$runs" "${limit[@]}" -timeout=10 -malloc_limit_mb=600 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$out/artifacts/$t-" -print_final_stats=1 > "$log" 2>&1
  status=$?
  set -e
  local done_runs
  done_runs="$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")"
  if [ "$status" = 0 ]; then
    echo "fuzz: $t: ${done_runs:-?} inputs in $(( $(date +%s) - start )) s, no findings; corpus $(ls "$corpus" | wc -l) files (log $log)"
  else
    echo "fuzz: $t: FINDING after ${done_runs:-?} inputs (status $status); log $log ends:" >&2
    grep -E "ERROR|SUMMARY|kernelbench-fuzz:|Fatal error|Test unit written|deadly signal|timeout|malloc" "$log" | head -n 12 >&2
    return 1
  fi
}
export -f fuzz_one committed_inputs
export out exe runs seconds

echo "fuzz: ${targets[*]}: $runs inputs each, $jobs at a time (logs in $out)"
status=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one "$@"' _ {} || status=1

if [ "$merge" = 1 ] && [ "$status" = 0 ]; then
  for t in "${targets[@]}"; do
    mkdir -p "Tests/fuzz/corpus/$t"
    KERNELBENCH_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=0 "$exe" -merge=1 -max_len=65536 \
      "Tests/fuzz/corpus/$t" "$out/corpus/$t" > "$out/$t.merge.log" 2>&1 || fail "merge of $t failed (see $out/$t.merge.log)"
    echo "fuzz: $t: committed corpus now $(ls "Tests/fuzz/corpus/$t" | wc -l) files"
  done
fi
[ "$status" = 0 ] && echo "fuzz: PASS" || echo "fuzz: FAIL: findings above (reproducers in $out/artifacts)" >&2
exit "$status"
