#!/usr/bin/env bash
# Smoke test of the Google Benchmark harness (Benchmarks/, product microbench):
# builds it (release), runs a tiny filtered set over the LeNet-300-100 shapes
# with JSON output, and checks the JSON with python3 (stdlib only):
#   - it parses and has `context` and `benchmarks`;
#   - every entry has useful_flops, effective_flops and bytes_per_second;
#   - no entry has error_occurred (the one tolerated skip is "ISA ... not
#     supported on this CPU", for SIMD kernels this CPU cannot run);
#   - at least one BSR kernel, one CSR kernel and the dense baseline ran,
#     as sgemv at N = 1 (dense_f32_gemv__openblas) and sgemm at N = 64.
# Exits non-zero with a message on failure. After the build it takes a few
# seconds.
#
# Environment: KERNELBENCH_SCRATCH_PATH  SwiftPM scratch folder (default .build)
#              SWIFT                     swift executable (default swift)
set -euo pipefail

cd "$(dirname "$0")/.."
scratch="${KERNELBENCH_SCRATCH_PATH:-.build}"
swift="${SWIFT:-swift}"

fail() { echo "test-microbench: FAIL: $*" >&2; exit 1; }

echo "test-microbench: building microbench (release, scratch path $scratch)"
"$swift" build -c release --scratch-path "$scratch" --product microbench \
  || fail "swift build of microbench failed"
bin="$("$swift" build -c release --scratch-path "$scratch" --show-bin-path)/microbench"
[ -x "$bin" ] || fail "no microbench executable at $bin"

out="$(mktemp "${TMPDIR:-/tmp}/microbench.XXXXXX.json")"
trap 'rm -f "$out"' EXIT

# A specialised 8x8 BSR kernel of whatever SIMD ISA this build has, the scalar
# generic BSR and SpMV paths, every CSR kernel and the dense baseline, on two
# LeNet layers, N = 1 and 64, warm and cold (cold with a small working set).
filter='^(bsr_f32_spmm_b8x8_n[0-9]+__[a-z0-9_]+|bsr_f32_spmm_generic__scalar/b4x4|bsr_f32_spmv_generic__scalar/b4x4|csr_f32_spmm[a-z0-9_]*|dense_f32_gem[mv]__openblas)/m(300/k784|100/k300)/n(1|64)/s90(/cold)?$'

echo "test-microbench: running a filtered set"
timeout 120 "$bin" --shapes=lenet300100 --sparsities=90 --ns=1,64 --cold_bytes=8388608 \
  --benchmark_filter="$filter" --benchmark_min_time=0.01 \
  --benchmark_out="$out" --benchmark_out_format=json \
  || fail "microbench exited with status $?"

python3 - "$out" <<'PY' || fail "JSON checks failed (see above)"
import json
import sys

path = sys.argv[1]
try:
    with open(path) as f:
        doc = json.load(f)
except ValueError as e:
    sys.exit(f"JSON does not parse: {e}")

problems = []
for key in ("context", "benchmarks"):
    if key not in doc:
        problems.append(f"missing top-level key {key!r}")
if problems:
    sys.exit("; ".join(problems))

context = doc["context"]
for key in ("cpu_model", "isa", "compiler", "git_revision"):
    if key not in context:
        problems.append(f"context lacks {key!r}")

benchmarks = doc["benchmarks"]
if not benchmarks:
    sys.exit("no benchmarks ran (filter matched nothing?)")

ran = []
skipped = []
for b in benchmarks:
    name = b.get("name", "?")
    if b.get("error_occurred"):
        msg = b.get("error_message", "")
        if msg.startswith("ISA ") and msg.endswith("not supported on this CPU"):
            skipped.append(name)
            continue
        problems.append(f"{name}: error: {msg}")
        continue
    for counter in ("useful_flops", "effective_flops", "bytes_per_second"):
        value = b.get(counter)
        if not isinstance(value, (int, float)) or not value > 0:
            problems.append(f"{name}: counter {counter} missing or not positive ({value!r})")
    ran.append(name)

def any_ran(prefix):
    return any(n.startswith(prefix) for n in ran)

if not any_ran("bsr_"):
    problems.append("no BSR kernel ran")
if not any_ran("csr_"):
    problems.append("no CSR kernel ran")
if not any_ran("dense_f32_gemm__openblas/"):
    problems.append("the dense baseline did not run as sgemm (N = 64)")
if not any_ran("dense_f32_gemv__openblas/"):
    problems.append("the dense baseline did not run as sgemv (N = 1)")
if any(n.startswith("dense_f32_gemm__openblas/") and "/n1/" in n for n in ran):
    problems.append("N = 1 dense ran as sgemm, not sgemv")
if not any(n.endswith("/cold") for n in ran):
    problems.append("no cold-cache variant ran")

if problems:
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    sys.exit(1)
note = f", {len(skipped)} skipped for an unsupported ISA" if skipped else ""
print(f"test-microbench: JSON ok: {len(ran)} benchmarks ran{note}")
PY

echo "test-microbench: PASS"
