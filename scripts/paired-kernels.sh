#!/usr/bin/env bash
# Old-versus-new timing of one kernel, both builds in one process: the method
# behind the paired speedups in kernel commit messages and reports/kernels.md.
#
# Builds CKernels twice as shared libraries with the package's kernel flags
# (-O3 -fno-math-errno): "base" from a git revision (default HEAD) and "new"
# from the working tree, plus any extra builds of the working tree with
# compiler flags of your choice (--variant 'NAME=-DKB_PANEL_BYTES=131072';
# each NAME once, and neither base nor new).
# Then Benchmarks/paired/paired.cpp loads them all, checks that their results
# agree, and alternates single calls of each (order swapped every round, a
# short FMA probe before each round). It prints per build the median time,
# useful GFLOP/s and the median per-round speedup over base with quartiles.
#
#   bash scripts/paired-kernels.sh [--base REV] [--pairs P] [--offset BYTES]
#        [--variant NAME=FLAGS]... KERNEL M K BLOCK SPARSITY N
#   e.g. bash scripts/paired-kernels.sh --base HEAD~1 bsr_f32_spmm_b8x8_n24__avx2_fma 4096 4096 8x8 0.9 64
#
# KERNEL may also name one kernel per build, comma-separated (base, new,
# then the variants): two kernels side by side, e.g. AVX2 (base = HEAD)
# against AVX-512 (the working tree) in one process:
#   bash scripts/paired-kernels.sh bsr_f32_spmm_b8x8_n24__avx2_fma,bsr_f32_spmm_b8x8_n64__avx512 4096 4096 8x8 0.9 64
#
# BLOCK is RxC (or one number for square blocks; 1 for a CSR kernel). P
# defaults to 40 rounds. --offset starts A, B and C that many bytes past a
# page (default 0, as kernelbench's driver; 16 puts B rows off cache lines).
# Builds go to .build-paired/. Timings on a shared
# machine move with its load; read the paired ratios, and repeat the run.
# Environment: CC, CXX (default clang, clang++ when found).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build-paired"
# The package's kernels are compiled by the Swift toolchain's clang: use clang too.
CC="${CC:-$(command -v clang || echo cc)}"
CXX="${CXX:-$(command -v clang++ || echo c++)}"

# usage STATUS: the header above; on stdout for --help (0), on stderr for a bad command line (2).
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' | if [ "$1" = 0 ]; then cat; else cat >&2; fi
    exit "$1"
}
die() { echo "paired-kernels: $*" >&2; exit 2; }

base_rev=HEAD pairs=40 offset=0 variants=()
while [ $# -gt 0 ]; do
    case "$1" in
        --base) [ $# -ge 2 ] || die "--base needs a revision"; base_rev="$2"; shift 2 ;;
        --pairs) [ $# -ge 2 ] || die "--pairs needs a number"; pairs="$2"; shift 2 ;;
        --offset) [ $# -ge 2 ] || die "--offset needs a number of bytes"; offset="$2"; shift 2 ;;
        --variant) [ $# -ge 2 ] || die "--variant needs NAME=FLAGS"; variants+=("$2"); shift 2 ;;
        -h|--help) usage 0 ;;
        --*) die "unknown option $1 (see --help)" ;;
        *) break ;;
    esac
done
[ $# -eq 6 ] || usage 2
kernel="$1" m="$2" k="$3" block="$4" sparsity="$5" n="$6"
# Every argument is checked here, before anything is built (paired itself
# checks the ranges again, but only after the builds).
# whole NAME VALUE LO HI: VALUE is a whole number in [LO, HI] (paired.cpp's ranges).
whole() {
    [[ "$2" =~ ^[0-9]{1,9}$ ]] && [ $((10#$2)) -ge "$3" ] && [ $((10#$2)) -le "$4" ] \
        || die "$1 must be a whole number in [$3, $4] (got '$2')"
}
whole M "$m" 1 1048576
whole K "$k" 1 1048576
whole N "$n" 1 65536
whole --pairs "$pairs" 1 100000
page="$(getconf PAGESIZE 2>/dev/null || echo 4096)"
whole --offset "$offset" 0 $((page - 4))
[ $((10#$offset % 4)) -eq 0 ] || die "--offset must be a multiple of 4 (floats stay aligned; got '$offset')"
[[ "$sparsity" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]] && awk -v s="$sparsity" 'BEGIN { exit !(s + 0 <= 1) }' \
    || die "SPARSITY must be a number in [0, 1] (got '$sparsity')"
case "$block" in
    *x*) r="${block%x*}" c="${block#*x}" ;;
    *) r="$block" c="$block" ;;
esac
[[ "$r" =~ ^[0-9]+$ && "$c" =~ ^[0-9]+$ ]] || die "BLOCK must be R, or RxC with whole numbers (got '$block')"
whole "BLOCK's R" "$r" 1 256
whole "BLOCK's C" "$c" 1 256
git -C "$ROOT" rev-parse --verify --quiet "$base_rev^{commit}" >/dev/null || die "no such revision: $base_rev"
# A variant is built to .build-paired/NAME.so: "base" or "new" would overwrite
# one of the two compared builds (and report a speedup of the variant over
# itself), and a repeated name would replace the earlier variant.
variant_names=()
for v in "${variants[@]}"; do
    name="${v%%=*}"
    [[ "$v" == *=* && "$name" =~ ^[A-Za-z0-9_-]+$ ]] || die "--variant takes NAME=FLAGS (got '$v')"
    case "$name" in
        base|new) die "--variant name '$name' is reserved for the compared builds; choose another name" ;;
    esac
    for seen in "${variant_names[@]}"; do
        [ "$seen" != "$name" ] || die "--variant name '$name' given twice; each variant needs its own name"
    done
    variant_names+=("$name")
done

mkdir -p "$OUT"
rm -rf "$OUT/base-src"
mkdir -p "$OUT/base-src"
git -C "$ROOT" archive "$base_rev" CKernels | tar -x -C "$OUT/base-src"

build_lib() { # src-dir out.so [flags...]
    local src="$1" lib="$2"
    shift 2
    "$CC" -O3 -fno-math-errno -fPIC -shared -I "$src/include" "$@" -o "$lib" "$src"/*.c
}
echo "paired-kernels: building base ($base_rev) and new (working tree)"
# (side by side: each build compiles the ISA files one after another, about 50 s here)
build_lib "$OUT/base-src/CKernels" "$OUT/base.so" &
base_build=$!
build_lib "$ROOT/CKernels" "$OUT/new.so"
wait "$base_build"
libs=("$OUT/base.so" "$OUT/new.so")
for v in "${variants[@]}"; do
    name="${v%%=*}" flags="${v#*=}"
    # shellcheck disable=SC2086 # flags are meant to split into words
    build_lib "$ROOT/CKernels" "$OUT/$name.so" $flags
    libs+=("$OUT/$name.so")
done
"$CXX" -O2 -std=c++17 -I "$ROOT/CKernels/include" -o "$OUT/paired" \
    "$ROOT/Benchmarks/paired/paired.cpp" "$ROOT/Benchmarks/matrices.cpp" -ldl
cd "$OUT"
./paired --offset="$offset" "$kernel" "$m" "$k" "$r" "$c" "$sparsity" "$n" "$pairs" "${libs[@]/#$OUT\//./}"
