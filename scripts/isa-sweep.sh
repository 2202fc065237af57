#!/usr/bin/env bash
# Two ISAs' kernels side by side for every block shape, one case at a time in
# the paired harness of scripts/paired-kernels.sh (both kernels from one
# build of the working tree, alternated in one process, order swapped every
# round): the AVX2-against-AVX-512 table of reports/kernels.md.
#
#   bash scripts/isa-sweep.sh [--pairs P] [--size M] [--sparsity S]
#        [--ns N,...] [--shapes RxC,...] [--geomean RxC,...] ISA_A ISA_B
#   e.g. bash scripts/isa-sweep.sh avx2_fma avx512 > sweep.md
#
# For each shape and N, each side runs the kernel dispatch would pick at its
# ISA (registry rows in CKernels/table_<isa>.h): the shape's SpMV row at
# N = 1, else its SpMM row, else the ISA's generic kernel. The CSR kernels of
# both ISAs are compared on the same matrix read as CSR (block 1x1).
# Defaults: ISA_B's specialised shapes, N = 64 and 1, M = K = 4096, 90% block
# sparsity, 20 rounds, geometric mean also over 1x4, 2x2, 3x3, 4x1 and 4x4.
# Prints a Markdown table (median µs and GFLOP/s of each side, the median
# per-round speedup B / A with quartiles), then per N the geometric mean of
# the speedups, the named shapes' geometric mean, and the shapes where B is
# more than 2% slower than A. Both ISAs must run on this CPU. On 2 cores
# the build takes about a minute, then each case under a second at the
# defaults (AVX2). Environment: CC, CXX as paired-kernels.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build-paired"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' | if [ "$1" = 0 ]; then cat; else cat >&2; fi
    exit "$1"
}
die() { echo "isa-sweep: $*" >&2; exit 2; }

pairs=20 size=4096 sparsity=0.9 ns=64,1 shapes="" geomean=1x4,2x2,3x3,4x1,4x4
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs|--size|--sparsity|--ns|--shapes|--geomean)
            [ $# -ge 2 ] || die "$1 needs a value"
            v="$2"
            case "$1" in
                --pairs) pairs="$v" ;; --size) size="$v" ;; --sparsity) sparsity="$v" ;;
                --ns) ns="$v" ;; --shapes) shapes="$v" ;; --geomean) geomean="$v" ;;
            esac
            shift 2 ;;
        -h|--help) usage 0 ;;
        --*) die "unknown option $1 (see --help)" ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || usage 2
isa_a="$1" isa_b="$2"
for isa in "$isa_a" "$isa_b"; do
    [ -f "$ROOT/CKernels/table_$isa.h" ] \
        || die "unknown ISA '$isa' (one of: $(cd "$ROOT/CKernels" && ls table_*.h | sed 's/table_//; s/\.h$//' | paste -sd ' ' -))"
done
shape_list() { # the RxC list of $1 (comma-separated), each checked
    local s
    for s in ${1//,/ }; do
        [[ "$s" =~ ^[1-9][0-9]{0,2}x[1-9][0-9]{0,2}$ ]] || die "a shape is RxC with whole numbers (got '$s')"
        echo "$s"
    done
}
for n in ${ns//,/ }; do [[ "$n" =~ ^[1-9][0-9]{0,4}$ ]] || die "--ns takes whole numbers >= 1 (got '$n')"; done

# rows ISA: "function rows cols n_class" for every BSR row of the ISA's table, then "csr" rows.
rows() {
    sed -n 's/^KB_BSR(\([a-z0-9_]*\), *[A-Z0-9_]*, *\([0-9]*\), *\([0-9]*\), *[0-9]*, *\(KB_N_[A-Z]*\)).*/\1 \2 \3 \4/p' \
        "$ROOT/CKernels/table_$1.h"
    sed -n 's/^KB_CSR(\([a-z0-9_]*\), *[A-Z0-9_]*, *[0-9]*, *\(KB_N_[A-Z]*\)).*/\1 csr csr \2/p' "$ROOT/CKernels/table_$1.h"
}
# pick ISA R C N: the kernel kb_select would take (R = C = csr for CSR).
pick() {
    local table
    table="$(rows "$1")"
    awk -v r="$2" -v c="$3" -v n="$4" '
        { key = $2 "x" $3; cls = $4 }
        n == 1 && key == r "x" c && cls == "KB_N_ONE" { one = $1 }
        key == r "x" c && cls == "KB_N_ANY" && any == "" { any = $1 }
        r != "csr" && $2 == 0 && $3 == 0 && cls == "KB_N_ONE" && n == 1 { gone = $1 }
        r != "csr" && $2 == 0 && $3 == 0 && cls == "KB_N_ANY" && gany == "" { gany = $1 }
        END { k = one != "" ? one : any != "" ? any : gone != "" ? gone : gany; if (k == "") exit 1; print k }
    ' <<<"$table"
}
if [ -z "$shapes" ]; then
    shapes="$(rows "$isa_b" | awk '$2 != "csr" && $2 != 0 && $4 == "KB_N_ANY" { print $2 "x" $3 }' | paste -sd, -)"
fi
shape_list "$shapes" >/dev/null
shape_list "$geomean" >/dev/null

# One build of the working tree (paired-kernels.sh builds base from HEAD too,
# and checks M, K, N, pairs and sparsity before it builds anything).
first="$(shape_list "$shapes" | head -n 1)"
bash "$ROOT/scripts/paired-kernels.sh" --pairs 1 \
    "$(pick "$isa_a" "${first%x*}" "${first#*x}" 64),$(pick "$isa_b" "${first%x*}" "${first#*x}" 64)" \
    "$size" "$size" "$first" "$sparsity" 64 >"$OUT/isa-sweep-check.txt" 2>&1 \
    || { cat "$OUT/isa-sweep-check.txt" >&2; die "the first case did not run (above); nothing was measured"; }

results="$OUT/isa-sweep-results.txt"
: >"$results"
echo "| block | N | $isa_a kernel | $isa_a median µs (GFLOP/s) | $isa_b kernel | $isa_b median µs (GFLOP/s) | $isa_b / $isa_a, median per-round speedup [quartiles] |"
echo "|---|---:|---|---:|---|---:|---:|"
for n in ${ns//,/ }; do
    for shape in $(shape_list "$shapes") csr; do
        if [ "$shape" = csr ]; then r=csr c=csr shown=CSR; else r="${shape%x*}" c="${shape#*x}" shown="$shape"; fi
        ka="$(pick "$isa_a" "$r" "$c" "$n")" || die "no $isa_a kernel for $shown"
        kb="$(pick "$isa_b" "$r" "$c" "$n")" || die "no $isa_b kernel for $shown"
        [ "$r" = csr ] && { r=1 c=1; }
        echo "isa-sweep: $shown N = $n: $ka against $kb" >&2
        out="$(cd "$OUT" && ./paired "$ka,$kb" "$size" "$size" "$r" "$c" "$sparsity" "$n" "$pairs" ./new.so ./new.so)" \
            || { echo "$out" >&2; die "paired failed for $shown at N = $n"; }
        echo "$out" | awk -v shape="$shown" -v n="$n" -v ka="$ka" -v kb="$kb" -v res="$results" '
            /^  build 0 / { ta = $(NF - 10); ga = $(NF - 8) }
            /^  build 1 / { tb = $(NF - 10); gb = $(NF - 8); sp = $(NF - 2); q = $(NF - 1) " " $NF }
            END {
                if (sp == "") { print "isa-sweep: unreadable paired output for " shape > "/dev/stderr"; exit 1 }
                fmt = "| %s | %s | `%s` | %." (ta < 100 ? 1 : 0) "f (%s) | `%s` | %." (tb < 100 ? 1 : 0) "f (%s) | **%s** %s |\n"
                printf fmt, shape, n, ka, ta, ga, kb, tb, gb, sp, q
                print shape, n, sp >> res
            }'
    done
done

echo
awk -v named="$geomean" -v a="$isa_a" -v b="$isa_b" '
    BEGIN { split(named, list, ","); for (i in list) want[list[i]] = 1 }
    { if (!($2 in seen)) { seen[$2] = 1; order[++nn] = $2 }
      if ($1 == "CSR") csr[$2] = $3; else { sum[$2] += log($3); cnt[$2]++ }
      if ($1 in want) { nsum[$2] += log($3); ncnt[$2]++ }
      if ($3 < 0.98) slow[$2] = slow[$2] " " $1 " (" $3 "x)" }
    END {
        for (i = 1; i <= nn; i++) {
            n = order[i]
            printf "- N = %s: %s / %s, geometric mean over %d block shapes %.3fx", n, b, a, cnt[n], exp(sum[n] / cnt[n])
            if (ncnt[n] > 0) printf "; over %s %.3fx", named, exp(nsum[n] / ncnt[n])
            printf "; CSR %sx; more than 2%% slower:%s\n", csr[n], slow[n] == "" ? " none" : slow[n]
        }
    }' "$results"
