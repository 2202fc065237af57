/* The block-row driver shared by the SIMD BSR kernels (avx2_fma.c,
 * avx512.c): L2 blocking of K into panels, and the choice of range worker.
 * Internal to CKernels (not part of the contract, include/kernelbench.h).
 * Plain C with no ISA extensions: it is inlined into each ISA's kernels,
 * which pass their own range workers. */
#ifndef KB_BSR_DRIVE_H
#define KB_BSR_DRIVE_H

#include "kernelbench.h"

/* The B prefetches of a range worker with PB != 0 (avx2_fma.c, kb_bpf) pay
 * only when B (K x N floats) is larger than this (the kernel then drives
 * the range worker compiled with the prefetches): B that stays in L2 gains
 * nothing, and the prefetches cost 5-7% (8x8, LeNet's 300 x 784 and 100 x
 * 300 at N = 64) and 9-14% (4096 x 4096 at N = 16, 256 KiB of B). */
#ifndef KB_BPF_MIN_B
#define KB_BPF_MIN_B (256 * 1024)
#endif

/* L2 blocking. When the rows of B that the matrix can touch do not fit in
 * KB_PANEL_BYTES, K is cut into panels that do: block rows are taken in
 * groups (their C rows, about KB_CGROUP_BYTES, stay in L2 too), and each group
 * is swept once per panel, each block row resuming at a saved cursor.
 * Each (block row, panel) segment restarts the A stream and the C tiles, so
 * panels are used only when a segment holds on average at least
 * KB_MIN_SEGMENT_BYTES of A values; sparser rows read B from L3 instead
 * (Zen 3, M = K = 4096, N = 64, one thread: without panels 8x8 blocks run
 * 1.16x faster at 90% sparsity and 1.28x at 95%, while 4x4 at 50% runs
 * 1.13x faster with them; 2x2 at 50% sits at the threshold and keeps them). */
#ifndef KB_PANEL_BYTES
#define KB_PANEL_BYTES (256 * 1024)
#endif
#ifndef KB_MIN_SEGMENT_BYTES
#define KB_MIN_SEGMENT_BYTES 3584
#endif
#ifndef KB_CGROUP_BYTES
#define KB_CGROUP_BYTES (128 * 1024)
#endif
#define KB_MAX_GROUP 256

typedef void (*kb_range_fn)(const kb_bsr *a, int32_t br, int32_t q, int32_t q_end,
                            int32_t tail, const float *b, int64_t ldb, float *c, int64_t ldc,
                            int32_t n, int32_t acc0, int32_t qnext);

/* Block columns per K panel for block rows [rb, re) of r x cc blocks and N =
 * n: panel_bytes of B rows each, or a->kb (no panels) when one panel covers
 * all of K, when the range is empty, or when a (block row, panel) segment
 * holds on average under min_segment bytes of A values. */
static inline int64_t kb_panel_cols(const kb_bsr *a, int32_t r, int32_t cc, int32_t rb, int32_t re,
                                    int32_t n, int64_t panel_bytes, int64_t min_segment) {
    int64_t panel = panel_bytes / ((int64_t)n * (int64_t)sizeof(float) * cc);
    if (panel < 1) panel = 1;
    if (panel >= a->kb || re <= rb) return a->kb;
    const double blocks = (double)(a->row_ptr[re] - a->row_ptr[rb]) / (double)(re - rb);
    const double seg = blocks * (double)panel / (double)a->kb * (double)r * cc * sizeof(float);
    return seg < (double)min_segment ? a->kb : panel;
}

static inline __attribute__((always_inline)) void kb_bsr_drive(const int BR, const int BC, const int64_t PANEL_BYTES,
                            const int MIN_SEGMENT, kb_range_fn range, kb_range_fn range_pb,
                            const int PB, const kb_bsr *a, int32_t rb, int32_t re,
                            const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n,
                            int32_t accumulate) {
    const int32_t r = BR ? BR : a->r;
    const int32_t cc = BC ? BC : a->c;
    if (n <= 0) return;
    int32_t kpart = a->k - (a->kb - 1) * cc;
    if (kpart == cc) kpart = 0;
    const int32_t *row_ptr = a->row_ptr, *col_idx = a->col_idx;
    const int64_t rowbytes = (int64_t)n * (int64_t)sizeof(float);
    const int64_t panel = kb_panel_cols(a, r, cc, rb, re, n, PANEL_BYTES, MIN_SEGMENT);
    /* the worker with the B prefetches (kb_bpf): B larger than KB_BPF_MIN_B,
     * its rows packed, and with PB = 2 only where B streams from beyond L2
     * (no K panels) */
    if (PB && (PB == 1 || panel >= a->kb) && (int64_t)a->k * rowbytes > KB_BPF_MIN_B
        && ldb <= 16 * (int64_t)((n + 15) / 16))
        range = range_pb;
    if (panel >= a->kb) {
        for (int32_t br = rb; br < re; br++) {
            const int32_t p0 = row_ptr[br];
            int32_t p1 = row_ptr[br + 1], tail = 0;
            if (kpart && p1 > p0 && col_idx[p1 - 1] == a->kb - 1) {
                p1--;
                tail = kpart;
            }
            if (accumulate && p1 == p0 && tail == 0) continue; /* C += 0 */
            range(a, br, p0, p1, tail, b, ldb, c, ldc, n, accumulate, row_ptr[br + 1]);
        }
        return;
    }
    int64_t group = KB_CGROUP_BYTES / (rowbytes * r);
    if (group < 1) group = 1;
    if (group > KB_MAX_GROUP) group = KB_MAX_GROUP;
    int32_t cursor[KB_MAX_GROUP];
    for (int32_t g0 = rb; g0 < re; g0 += (int32_t)group) {
        const int32_t g1 = (int32_t)(re - g0 > group ? g0 + group : re);
        for (int32_t br = g0; br < g1; br++) cursor[br - g0] = row_ptr[br];
        for (int64_t pc0 = 0; pc0 < a->kb; pc0 += panel) {
            const int64_t pc1 = pc0 + panel;
            const int32_t first = pc0 == 0;
            for (int32_t br = g0; br < g1; br++) {
                const int32_t q = cursor[br - g0], pend = row_ptr[br + 1];
                int32_t qe = q;
                while (qe < pend && col_idx[qe] < pc1) qe++;
                cursor[br - g0] = qe;
                int32_t tail = 0, qf = qe;
                if (kpart && qe == pend && qe > q && col_idx[qe - 1] == a->kb - 1) {
                    qf--;
                    tail = kpart;
                }
                const int32_t acc0 = accumulate || !first;
                if (acc0 && qe == q) continue; /* C += 0 */
                const int32_t qnext = br + 1 < g1   ? cursor[br + 1 - g0]
                                      : pc1 < a->kb ? cursor[0]
                                                    : row_ptr[g1];
                range(a, br, q, qf, tail, b, ldb, c, ldc, n, acc0, qnext);
            }
        }
    }
}

/* CSR SpMM runs as BSR with 1 x 1 blocks (the same three arrays) through
 * these K panels when B outgrows L2 and the rows are long enough: each
 * nonzero reads a whole row of B for 2 * N flops, so B must stay close.
 * Panels are KB_CSR_PANEL_BYTES of B, used when a row's panel segment holds
 * on average at least KB_CSR_MIN_SEGMENT nonzeros (each segment restarts
 * the C row), and N is a multiple of 64.
 * Zen 3, AVX2, M = K = 4096, N = 64, paired against whole rows: 1.58x at 50%
 * sparsity, 1.61x at 70%, 1.10x at 90%; 0.84x at 95% (25 nonzeros per
 * segment), hence the threshold. */
#ifndef KB_CSR_PANEL_BYTES
#define KB_CSR_PANEL_BYTES (128 * 1024)
#endif
#ifndef KB_CSR_MIN_SEGMENT
#define KB_CSR_MIN_SEGMENT 40
#endif

#endif /* KB_BSR_DRIVE_H */
