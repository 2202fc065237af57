/* AVX2/FMA kernels (x86-64). Every function carries
 * __attribute__((target("avx2,fma"))) so the rest of the target stays
 * baseline x86-64. Registry rows: table_avx2_fma.h.
 *
 * SpMM structure (all BSR shapes come from one template, kb_bsr_drive):
 *   - Block rows one at a time. When the B rows the matrix can touch exceed
 *     KB_PANEL_BYTES, K is cut into L2-sized panels and groups of block rows
 *     are swept once per panel (cursor per block row).
 *   - A block row's blocks go in ranges of G blocks (G = 0: all); each range
 *     is swept over all of N in chunks of NV ymm (tile_n = 8 * NV), and each
 *     chunk over groups of R rows: an R x NV tile of C lives in ymm
 *     accumulators over the range (reloaded from C between ranges).
 *     Per block column kk: NV loads of B, R broadcasts of A, R * NV FMAs; the
 *     4 x 3 step is inline asm (16 ymm exactly; compilers spilled).
 *   - Small shapes (1 x c, 2 x c) split the kk loop over S independent
 *     accumulator sets, so there are >= 8 independent FMA chains (4-cycle
 *     latency x 2 FMA pipes) wherever c has a divisor that fits. Short
 *     ranges prefetch the next range's A values (kb_bsr_range). B is left
 *     to the hardware prefetchers (a blanket software prefetch of B once
 *     slowed every shape), except in 4x4, 8x8 and 16x16 with more than 256
 *     KiB of packed B rows, whose tiles fetch the next range's B rows spread
 *     over the range, and the next block row's C (kb_bpf; 4x4 only without
 *     K panels). The SpMV loops over small blocks prefetch A
 *     (kb_spmv_prefetch).
 *   - Edges: the partial last block column (k % c != 0) is always the last
 *     block of its block row (col_idx is sorted); it runs a kk < cols loop so
 *     B rows >= k are never read. Rows >= m are computed from the zero padding
 *     of A but never loaded or stored. N tails use masked loads/stores, so
 *     columns >= n are never touched.
 *   - accumulate == 0 starts the accumulators at zero: C is never read.
 *   - CSR SpMM is 1 x 64 tiles over whole rows, or, when B outgrows L2 and
 *     rows are long, BSR with 1 x 1 blocks through the same K panels.
 */
#include "kernelbench.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "bsr_drive.h"

/* Declarations from the table (checks the registered names and signatures). */
#define KB_BSR(fn, isa, br, bc, tile, ncls)                                           \
    void fn(const kb_bsr *, int32_t, int32_t, const float *, int64_t, float *, int64_t, \
            int32_t, int32_t);
#define KB_CSR(fn, isa, tile, ncls)                                                   \
    void fn(const kb_csr *, int32_t, int32_t, const float *, int64_t, float *, int64_t, \
            int32_t, int32_t);
#include "table_avx2_fma.h"
#undef KB_BSR
#undef KB_CSR

#define KB_AVX2 __attribute__((target("avx2,fma")))
#define KB_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* Ranges of at most this many bytes of A prefetch the next range's A. */
#define KB_APF_BYTES 1024

/* Upper bounds of the compile-time tile parameters (array sizes). */
#define KB_MAX_S 4
#define KB_MAX_R 8
#define KB_MAX_NV 8
/* SpMV: the loops over blocks of 4-16 values prefetch A KB_SPMV_PF_BYTES
 * ahead (kb_spmv_prefetch); in the row-dot path, blocks of at least
 * KB_SPMV_BLOCKWISE values and more than 8 rows are read block by block, in
 * bands of KB_SPMV_BAND rows (a multiple of 8). */
#ifndef KB_SPMV_PF_BYTES
#define KB_SPMV_PF_BYTES 4096
#endif
#ifndef KB_SPMV_BLOCKWISE
#define KB_SPMV_BLOCKWISE 256
#endif
#ifndef KB_SPMV_BAND
#define KB_SPMV_BAND 64
#endif
_Static_assert(KB_SPMV_BAND % 8 == 0 && KB_SPMV_BAND > 0, "KB_SPMV_BAND must be a positive multiple of 8");

/* A scheduling boundary between the kk steps of the inner loop: without it
 * the compiler interleaves the next step's loads with this step's FMAs and
 * spills accumulators (16 ymm registers are exactly enough for a 4 x 3 tile). */
#define KB_SCHED_BARRIER() __asm__ volatile("" ::: "memory")

static inline int32_t kb_avx_min(int32_t a, int32_t b) { return a < b ? a : b; }

static const int32_t kb_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                        0,  0,  0,  0,  0,  0,  0,  0};

/* Lanes [0, cnt) set; cnt is clamped to [0, 8]. */
KB_INLINE __m256i kb_mask(int32_t cnt) {
    cnt = cnt < 0 ? 0 : (cnt > 8 ? 8 : cnt);
    return _mm256_loadu_si256((const __m256i *)(kb_mask_src + 8 - cnt));
}

KB_INLINE __m256 kb_ld(const int masked, const float *p, __m256i mask) {
    return masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

KB_INLINE void kb_st(const int masked, float *p, __m256 v, __m256i mask) {
    if (masked) _mm256_maskstore_ps(p, mask, v);
    else _mm256_storeu_ps(p, v);
}

/* ------------------------------------------------------------------------ */
/* BSR SpMM                                                                 */
/* ------------------------------------------------------------------------ */

/* One kk step of a 4-row x 24-column tile, in assembly: 12 accumulators,
 * 3 B vectors and 1 broadcast use all 16 ymm registers, which compilers do
 * not allocate without spilling. a: A[row 0][kk]; lda: row stride of A. */
KB_INLINE void kb_step_4x3(__m256 acc[KB_MAX_R][KB_MAX_NV], const float *a, int32_t lda,
                           const float *b) {
    /* operands: 12 read-write accumulators (count twice against GCC's limit
     * of 30) + 4 address registers; the temporaries are fixed ymm12-15. */
    const int64_t l4 = (int64_t)lda * 4;
    const float *a2 = a + 2 * (int64_t)lda;
    __asm__("vmovups (%[b]), %%ymm12\n\t"
            "vmovups 32(%[b]), %%ymm13\n\t"
            "vmovups 64(%[b]), %%ymm14\n\t"
            "vbroadcastss (%[a]), %%ymm15\n\t"
            "vfmadd231ps %%ymm12, %%ymm15, %[c00]\n\t"
            "vfmadd231ps %%ymm13, %%ymm15, %[c01]\n\t"
            "vfmadd231ps %%ymm14, %%ymm15, %[c02]\n\t"
            "vbroadcastss (%[a],%[l4]), %%ymm15\n\t"
            "vfmadd231ps %%ymm12, %%ymm15, %[c10]\n\t"
            "vfmadd231ps %%ymm13, %%ymm15, %[c11]\n\t"
            "vfmadd231ps %%ymm14, %%ymm15, %[c12]\n\t"
            "vbroadcastss (%[a2]), %%ymm15\n\t"
            "vfmadd231ps %%ymm12, %%ymm15, %[c20]\n\t"
            "vfmadd231ps %%ymm13, %%ymm15, %[c21]\n\t"
            "vfmadd231ps %%ymm14, %%ymm15, %[c22]\n\t"
            "vbroadcastss (%[a2],%[l4]), %%ymm15\n\t"
            "vfmadd231ps %%ymm12, %%ymm15, %[c30]\n\t"
            "vfmadd231ps %%ymm13, %%ymm15, %[c31]\n\t"
            "vfmadd231ps %%ymm14, %%ymm15, %[c32]"
            : [c00] "+x"(acc[0][0]), [c01] "+x"(acc[0][1]), [c02] "+x"(acc[0][2]),
              [c10] "+x"(acc[1][0]), [c11] "+x"(acc[1][1]), [c12] "+x"(acc[1][2]),
              [c20] "+x"(acc[2][0]), [c21] "+x"(acc[2][1]), [c22] "+x"(acc[2][2]),
              [c30] "+x"(acc[3][0]), [c31] "+x"(acc[3][1]), [c32] "+x"(acc[3][2])
            : [b] "r"(b), [a] "r"(a), [a2] "r"(a2), [l4] "r"(l4)
            : "xmm12", "xmm13", "xmm14", "xmm15", "memory");
}

/* One kk step of an R x (8*NV) tile: NV loads of B row kk (brow), R
 * broadcasts of A column kk (a: row 0, row stride cc), R * NV FMAs. */
KB_INLINE void kb_step(const int R, const int NV, const int MASKED,
                       __m256 acc[KB_MAX_R][KB_MAX_NV], const float *a, int32_t cc,
                       const float *brow, __m256i mask) {
    __m256 bv[KB_MAX_NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) bv[v] = kb_ld(MASKED && v == NV - 1, brow + 8 * v, mask);
#pragma GCC unroll 32
    for (int i = 0; i < R; i++) {
        const __m256 av = _mm256_broadcast_ss(a + i * cc);
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
    }
}

/* The B rows the next range will read, fetched while this range computes
 * (kernels with PB = 1 or 2 in the table below), front to back. The kernel
 * drives this only when B's rows are packed (ldb <= 16 * lines: rows at
 * most the padding of a line apart; not so in the column slices of an
 * N-split threaded run, which go without), so the cc rows of a block column
 * span at most cc * lines cache lines from their start. slab[i]: address of
 * row 0 of B for the next range's block i (an integer: a partial last block
 * column's rows kk >= k lie past the end of B, and a prefetch may go there
 * but a pointer may not); lines: cache lines of one B row (N floats). Each
 * block's lines form `lines` groups of cc consecutive lines, and the
 * count x lines groups are dealt out in order to the range's tiles, one per block
 * of the tile: tile t, block q takes group j = t * nfull + q and prefetches
 * one of its lines per kk step. A range with fewer block-tiles than groups
 * leaves the last groups to the hardware: 4x4 at N = 64 (3 tiles of 8
 * blocks, 32 groups) covers 3/4 of the next range, as does any short last
 * range. (Fetching a block's lines in address order rather than one line of
 * each row at a time: Zen 4, M = K = 4096, N = 64, 90%, paired, 1.00-1.04x
 * between back-to-back calls, 1.02-1.09x on calls after 64 MiB of other
 * traffic, as in kernelbench's interleaved rounds; lines of two blocks at a
 * time or every other line lost 0.97-0.99x.) */
#define KB_BPF_MAX 16
/* (used only when B is larger than KB_BPF_MIN_B: bsr_drive.h) */
typedef struct {
    uintptr_t slab[KB_BPF_MAX];
    int32_t count, lines, tiles;
} kb_bpf;

/* One R x (8*NV) tile of C over the blocks of one block row.
 * ap0: row 0 of this group inside the first block; bstride: floats per block;
 * cc: block columns (compile-time when BC != 0); nfull full blocks, then one
 * partial block with tail_cols columns when tail_cols > 0. The last vector of
 * the tile is masked when MASKED. */
KB_INLINE void kb_bsr_tile(const int R, const int NV, const int MASKED, const int S,
                           const float *ap0, int64_t bstride, const int32_t cc,
                           const int32_t *cidx, int32_t nfull, int32_t tail_cols,
                           const float *b, int64_t ldb, float *cp, int64_t ldc,
                           int32_t rows_valid, int32_t accumulate, __m256i mask, kb_bpf *pf) {
    /* this tile's first group of lines: block js of the plan, group jl */
    int32_t js = 0, jl = 0;
    if (pf) {
        const int32_t j0 = pf->tiles++ * nfull;
        js = j0 / pf->lines;
        jl = j0 % pf->lines;
    }
    __m256 acc[KB_MAX_S][KB_MAX_R][KB_MAX_NV]; /* fixed sizes (no VLA); only [S][R][NV] used */
#pragma GCC unroll 8
    for (int s = 0; s < S; s++)
#pragma GCC unroll 32
        for (int i = 0; i < R; i++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[s][i][v] = _mm256_setzero_ps();
    if (accumulate) {
#pragma GCC unroll 32
        for (int i = 0; i < R; i++)
            if (i < rows_valid)
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++)
                    acc[0][i][v] = kb_ld(MASKED && v == NV - 1, cp + i * ldc + 8 * v, mask);
    }
    const int64_t bblk = (int64_t)cc * ldb;
    for (int32_t q = 0; q < nfull; q++) {
        const float *ap = ap0 + q * bstride;
        const float *bp = b + (int64_t)cidx[q] * bblk;
        const uintptr_t pq = pf && js < pf->count ? pf->slab[js] + 64 * (uintptr_t)(jl * cc) : 0;
        if (pf && ++jl == pf->lines) {
            jl = 0;
            js++;
        }
#pragma GCC unroll 8
        for (int32_t k0 = 0; k0 < cc; k0 += S) {
#pragma GCC unroll 8
            for (int s = 0; s < S; s++) {
                const int32_t kk = k0 + s;
                if (pq)
                    _mm_prefetch((const char *)(pq + 64 * (uintptr_t)kk), _MM_HINT_T0);
                if (R == 4 && NV == 3 && !MASKED) {
                    kb_step_4x3(acc[s], ap + kk, cc, bp + kk * ldb);
                    continue;
                }
                kb_step(R, NV, MASKED, acc[s], ap + kk, cc, bp + kk * ldb, mask);
                KB_SCHED_BARRIER();
            }
        }
    }
    if (tail_cols > 0) {
        const float *ap = ap0 + nfull * bstride;
        const float *bp = b + (int64_t)cidx[nfull] * bblk;
        for (int32_t kk = 0; kk < tail_cols; kk++)
            kb_step(R, NV, MASKED, acc[0], ap + kk, cc, bp + kk * ldb, mask);
    }
#pragma GCC unroll 8
    for (int s = 1; s < S; s++)
#pragma GCC unroll 32
        for (int i = 0; i < R; i++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[0][i][v] = _mm256_add_ps(acc[0][i][v], acc[s][i][v]);
#pragma GCC unroll 32
    for (int i = 0; i < R; i++)
        if (i < rows_valid)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                kb_st(MASKED && v == NV - 1, cp + i * ldc + 8 * v, acc[0][i][v], mask);
}

/* Row groups of a block with fewer than R rows left inside the block (generic
 * shapes only): dispatch to a compile-time tile height. */
#define KB_TILE_ARGS                                                                   \
    ap0, bstride, cc, cidx, nfull, tail_cols, b, ldb, cp, ldc, rows_valid, accumulate, \
        mask, pf
KB_INLINE void kb_bsr_tile_short(const int NV, const int MASKED, int32_t rr,
                                 const float *ap0, int64_t bstride, const int32_t cc,
                                 const int32_t *cidx, int32_t nfull, int32_t tail_cols,
                                 const float *b, int64_t ldb, float *cp, int64_t ldc,
                                 int32_t rows_valid, int32_t accumulate, __m256i mask,
                                 kb_bpf *pf) {
    switch (rr) {
    case 1: kb_bsr_tile(1, NV, MASKED, 1, KB_TILE_ARGS); break;
    case 2: kb_bsr_tile(2, NV, MASKED, 1, KB_TILE_ARGS); break;
    default: kb_bsr_tile(3, NV, MASKED, 1, KB_TILE_ARGS); break;
    }
}

/* One column chunk (8 * NV columns, the last vector masked when MASKED) of
 * one block row, over the blocks [cidx, cidx + nfull) plus the partial tail
 * block. BR: compile-time block rows, 0 = read from `a`. */
KB_INLINE void kb_bsr_pass(const int BR, const int R, const int NV, const int MASKED,
                           const int S, int32_t r, int32_t rows, const int32_t cc,
                           const float *ablk, int64_t bstride, const int32_t *cidx,
                           int32_t nfull, int32_t tail_cols, const float *b, int64_t ldb,
                           float *c, int64_t ldc, int32_t accumulate, __m256i mask,
                           kb_bpf *pf) {
    int32_t i0 = 0;
    for (; i0 + R <= r && i0 < rows; i0 += R) {
        const float *ap0 = ablk + (int64_t)i0 * cc;
        float *cp = c + (int64_t)i0 * ldc;
        const int32_t rows_valid = kb_avx_min(R, rows - i0);
        kb_bsr_tile(R, NV, MASKED, S, KB_TILE_ARGS);
    }
    if ((BR == 0 || BR % R != 0) && i0 < rows && i0 < r) {
        const float *ap0 = ablk + (int64_t)i0 * cc;
        float *cp = c + (int64_t)i0 * ldc;
        const int32_t rows_valid = rows - i0;
        kb_bsr_tile_short(NV, MASKED, r - i0, KB_TILE_ARGS);
    }
}

/* All columns of one block row over one range of its blocks: full chunks of
 * 8 * NV columns, then the N tail as full vectors plus one masked vector. */
#define KB_PASS_ARGS(bj, cj, msk) \
    r, rows, cc, ablk, bstride, cidx, nfull, tail_cols, bj, ldb, cj, ldc, accumulate, msk, pf
KB_INLINE void kb_bsr_cols(const int BR, const int R, const int NV, const int S, int32_t r,
                           int32_t rows, const int32_t cc, const float *ablk, int64_t bstride,
                           const int32_t *cidx, int32_t nfull, int32_t tail_cols,
                           const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n,
                           int32_t accumulate, kb_bpf *pf) {
    const __m256i full = _mm256_set1_epi32(-1);
    int32_t j = 0;
    for (; j + 8 * NV <= n; j += 8 * NV)
        kb_bsr_pass(BR, R, NV, 0, S, KB_PASS_ARGS(b + j, c + j, full));
    const int32_t vecs = (n - j) / 8;
    if (vecs > 0) {
        if (NV > 3 && vecs == 3)
            kb_bsr_pass(BR, R, 3, 0, S, KB_PASS_ARGS(b + j, c + j, full));
        else if (NV > 2 && vecs == 2)
            kb_bsr_pass(BR, R, 2, 0, S, KB_PASS_ARGS(b + j, c + j, full));
        else
            for (int32_t t = 0; t < vecs; t++)
                kb_bsr_pass(BR, R, 1, 0, S, KB_PASS_ARGS(b + j + 8 * t, c + j + 8 * t, full));
        j += 8 * vecs;
    }
    if (j < n) kb_bsr_pass(BR, R, 1, 1, S, KB_PASS_ARGS(b + j, c + j, kb_mask(n - j)));
}

/* The blocks [q, q_end) of block row br (plus the partial tail block when
 * tail > 0), in ranges of G blocks (G = 0: all at once); each range is swept
 * over all columns while its B rows are hot in L1. The accumulators start
 * from C for every range but the first when acc0 == 0. qnext: the first
 * block of the segment the drive runs next (the next block row's; with K
 * panels the next row's part of the panel, after a group's last row the
 * group's first row's part of the next panel), the last range's prefetch
 * target. */
KB_INLINE void kb_bsr_range(const int BR, const int BC, const int R, const int NV,
                            const int S, const int G, const int PB, const kb_bsr *a, int32_t br,
                            int32_t q, int32_t q_end, int32_t tail, const float *b,
                            int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t acc0,
                            int32_t qnext) {
    const int32_t r = BR ? BR : a->r;
    const int32_t cc = BC ? BC : a->c;
    const int64_t bstride = (int64_t)r * cc;
    const int32_t row0 = br * r;
    const int32_t rows = kb_avx_min(r, a->m - row0);
    float *cb = c + (int64_t)row0 * ldc;
    int32_t q0 = q;
    do {
        const int32_t nfull = G ? kb_avx_min(G, q_end - q0) : q_end - q0;
        const int32_t tail_cols = q0 + nfull == q_end ? tail : 0;
        /* the segment's last range; the first block of the range after this
         * one: of this segment, or of the segment the drive runs next */
        const int last = q0 + nfull >= q_end;
        const int64_t qn = last ? qnext : q0 + nfull;
        if (BR && G && G * BR * BC * (int)sizeof(float) <= KB_APF_BYTES) {
            /* Short ranges (4x4, 8x8, 16x16): fetch the next range's A values
             * (after the last range, those of the segment the drive runs next,
             * which starts at block qnext; a prefetch never
             * faults, so running past the last block is harmless) while this
             * one computes. A range reads its blocks in row groups, a stride
             * the hardware prefetchers follow late: M = K = 4096, N = 64,
             * paired, 8x8 1.09-1.16x at 90% and 1.16-1.22x at 50-70%, 16x16
             * 1.03-1.09x, 4x4 0.97-1.13x; LeNet's 300 x 784 (A in cache)
             * 0.98-1.00x. */
            /* (formed as an integer: the address may lie past the end of A) */
            const uintptr_t next =
                (uintptr_t)a->values + (uintptr_t)qn * (uintptr_t)bstride * sizeof(float);
            for (int off = 0; off < G * BR * BC * (int)sizeof(float); off += 64)
                _mm_prefetch((const char *)(next + (uintptr_t)off), _MM_HINT_T0);
        }
        kb_bpf plan, *pf = NULL;
        if (PB && G && G <= KB_BPF_MAX) {
            /* the next range: never past this segment's end (in K panels the
             * row's next panel), or the first G blocks of the next segment */
            const int64_t qe = last ? qn + G : (q_end < qn + G ? q_end : qn + G);
            const int64_t nnzb = a->row_ptr[a->mb];
            plan.count = plan.tiles = 0;
            plan.lines = (n + 15) / 16;
            for (int64_t t = qn; t < qe && t < nnzb; t++)
                plan.slab[plan.count++] = (uintptr_t)b + (uintptr_t)a->col_idx[t] * (uintptr_t)cc
                                                             * (uintptr_t)ldb * sizeof(float);
            pf = &plan;
            if (last) {
                /* The segment's last range: also fetch the C rows of the next
                 * block row, which its first range writes (past the end of C
                 * after the last block row: harmless, a prefetch never faults). */
                const uintptr_t cn = (uintptr_t)cb + (uintptr_t)r * (uintptr_t)ldc * sizeof(float);
                for (int32_t i = 0; i < r; i++)
                    for (int32_t l = 0; l < n; l += 16)
                        _mm_prefetch((const char *)(cn + ((uintptr_t)i * (uintptr_t)ldc + (uintptr_t)l)
                                                             * sizeof(float)), _MM_HINT_T0);
            }
        }
        kb_bsr_cols(BR, R, NV, S, r, rows, cc, a->values + (int64_t)q0 * bstride, bstride,
                    a->col_idx + q0, nfull, tail_cols, b, ldb, cb, ldc, n,
                    acc0 || q0 > q, pf);
        q0 += nfull;
    } while (q0 < q_end);
}

/* The range worker of one tile configuration (not inlined, so the two drive
 * paths share it), and a kernel that drives it: with PB = 1 or 2, a second
 * worker with the B prefetches, which kb_bsr_drive picks when B is larger
 * than KB_BPF_MIN_B and its rows are packed, and with PB = 2 only when it
 * uses no K panels (see kb_bpf; an unused worker is not emitted). */
#define KB_DEF_BSR_RANGE(name, BR, BC, R, NV, S, G, PB)                                   \
    static KB_AVX2 __attribute__((noinline)) void name(                                   \
        const kb_bsr *a, int32_t br, int32_t q, int32_t q_end, int32_t tail,              \
        const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t acc0,      \
        int32_t qnext) {                                                                  \
        kb_bsr_range(BR, BC, R, NV, S, G, PB, a, br, q, q_end, tail, b, ldb, c, ldc, n,   \
                     acc0, qnext);                                                        \
    }
#define KB_DEF_BSR_SPMM(fn, BR, BC, R, NV, S, G, PB)                                     \
    KB_DEF_BSR_RANGE(fn##_range, BR, BC, R, NV, S, G, 0)                                 \
    KB_DEF_BSR_RANGE(fn##_range_pb, BR, BC, R, NV, S, G, PB)                             \
    KB_AVX2 void fn(const kb_bsr *a, int32_t row_begin, int32_t row_end, const float *b, \
                    int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t accumulate) { \
        kb_bsr_drive(BR, BC, KB_PANEL_BYTES, KB_MIN_SEGMENT_BYTES, fn##_range,          \
                     fn##_range_pb, PB, a, row_begin, row_end, b, ldb, c, ldc, n,        \
                     accumulate);                                                        \
    }

/* Register tile R x 8*NV, S accumulator sets along kk, G blocks per range
 * (0 = the whole block row). Every C tile is stored and reloaded once per
 * range, and every column chunk and row group of R = 4 rows re-reads the
 * range's B rows, which should still be in L1: a longer range turns C over
 * less often, a shorter one keeps its B rows in L1 (more so when B rows do
 * not start on a cache line, so neighbouring chunks share more lines).
 * Zen 4, old and new ranges alternated in one process, B rows line-aligned
 * and 16 bytes off:
 * - 8x8 (G = 4): 8 blocks measured 0.96-1.07x; 32 blocks or whole rows
 *   gained up to 1.10x with aligned rows but lost 0.84-0.91x 16 bytes off.
 * - 4x4 (G = 8): whole rows lost 0.86-0.93x 16 bytes off; 16 was a wash.
 * - 16x16, 32x32 (G = 1, four and eight row groups): 2 lost 0.79-0.97x.
 * - The generic kernel takes 16 blocks per range for blocks of up to 4 rows
 *   (4 blocks of 2 or 3 columns made tiles of 8-12 kk steps: 16 blocks ran
 *   1.23-1.60x faster on 3x3 and 2x3 at both offsets), 4 otherwise.
 * PB = 1 (2: only where the drive uses no K panels): the tiles of each
 * range prefetch the B rows of the next range (kb_bpf), one line per kk
 * step in address order, so B arrives from L3 at the pace it is used
 * instead of in a burst when a range starts (only when B's rows are packed,
 * ldb at most N rounded up to a line, as kernelbench's are; otherwise the
 * kernel runs without them); and the last range of a segment (a block row,
 * or its part of a K panel) prefetches the C rows of the block row after it
 * (on top of the B prefetch, 8x8 at 90%: 1.02-1.06x). Zen 4, M = K = 4096,
 * N = 64, paired, B prefetch alone: 8x8 at 90% 1.03-1.07x (old at 55-76% of
 * the probe), 95% 1.04x, 50-70% 1.01x, and 0.96x without it in K panels at
 * 70%: PB = 1. 4x4 with the prefetch in address order: 90% 1.07-1.08x, 95%
 * 1.06-1.09x, N = 128 1.03x, N = 32 1.00-1.04x, but 70% (K panels, B in L2)
 * 0.97x: PB = 2, only without panels (there 1.00x at 50-70%). 16x16 in
 * address order (K panels at 50-90%): 90% 1.03-1.06x, and 1.02-1.06x on
 * calls after 64 MiB of other traffic; 95% 1.03-1.05x, 70% 1.01-1.02x, 50%
 * 0.98-1.02x, N = 32 1.00x: PB = 1. 32x32 0.98-1.01x: none.
 *                  name                                BR  BC  R  NV  S  G  PB */
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x2_n24__avx2_fma,         2,  2, 2, 3, 2, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x4_n24__avx2_fma,         4,  4, 4, 3, 1, 8, 2)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x8_n24__avx2_fma,         8,  8, 4, 3, 1, 4, 1)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b16x16_n24__avx2_fma,      16, 16, 4, 3, 1, 1, 1)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b32x32_n24__avx2_fma,      32, 32, 4, 3, 1, 1, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b1x4_n24__avx2_fma,         1,  4, 1, 3, 4, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x1_n24__avx2_fma,         4,  1, 4, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x1_n24__avx2_fma,         8,  1, 4, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b16x1_n24__avx2_fma,       16,  1, 4, 3, 1, 0, 0)
/* The paper's 3x3, 5x5 and 6x6 (and 7x7): row groups of 3 (9 accumulators,
 * 3 B vectors, 1 broadcast: 13 ymm) or of 4 (the 4 x 3 step), ranges as the
 * generic kernel takes them (16 blocks of up to 4 rows, else 4). */
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x3_n24__avx2_fma,         3,  3, 3, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x5_n24__avx2_fma,         5,  5, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x6_n24__avx2_fma,         6,  6, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x7_n24__avx2_fma,         7,  7, 4, 3, 1, 4, 0)
/* Every other block r x c with r, c in 1..8 (1x1 has no BSR row: block size
 * 1 is unstructured sparsity, which runs the CSR kernels), its parameters
 * chosen as for the rows above:
 * - R: the block's rows when 1-4; 5 and 6 rows in groups of 3 (as 5x5, 6x6),
 *   7 and 8 rows in groups of 4 (as 7x7, 8x8: the 4 x 3 asm step); NV = 3.
 * - S (a divisor of c; S * R * 3 accumulators + 3 B vectors + 1 broadcast
 *   <= 16 ymm), for >= 8 independent FMA chains where c allows it: 1 x c
 *   takes 4, 3 or 2 sets (12, 9 or 6 chains; 1x5 and 1x7 only 1, 3 chains),
 *   2 x c 2 sets for even c as 2x2 does (12 chains), 1 for odd c (6 chains,
 *   as many as the generic kernel has there); 3 or more rows have 9 or 12
 *   chains with S = 1.
 * - G: blocks of one row or one column sweep whole block rows, as 1x4, 4x1
 *   and 8x1 do; the others take ranges as the generic kernel does (16 blocks
 *   of up to 4 rows, else 4).
 * - PB = 0: the B prefetch paid only where measured (4x4, 8x8, 16x16). */
KB_DEF_BSR_SPMM(bsr_f32_spmm_b1x2_n24__avx2_fma,         1,  2, 1, 3, 2, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b1x3_n24__avx2_fma,         1,  3, 1, 3, 3, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b1x5_n24__avx2_fma,         1,  5, 1, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b1x6_n24__avx2_fma,         1,  6, 1, 3, 3, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b1x7_n24__avx2_fma,         1,  7, 1, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b1x8_n24__avx2_fma,         1,  8, 1, 3, 4, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x1_n24__avx2_fma,         2,  1, 2, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x3_n24__avx2_fma,         2,  3, 2, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x4_n24__avx2_fma,         2,  4, 2, 3, 2, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x5_n24__avx2_fma,         2,  5, 2, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x6_n24__avx2_fma,         2,  6, 2, 3, 2, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x7_n24__avx2_fma,         2,  7, 2, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b2x8_n24__avx2_fma,         2,  8, 2, 3, 2, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x1_n24__avx2_fma,         3,  1, 3, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x2_n24__avx2_fma,         3,  2, 3, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x4_n24__avx2_fma,         3,  4, 3, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x5_n24__avx2_fma,         3,  5, 3, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x6_n24__avx2_fma,         3,  6, 3, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x7_n24__avx2_fma,         3,  7, 3, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b3x8_n24__avx2_fma,         3,  8, 3, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x2_n24__avx2_fma,         4,  2, 4, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x3_n24__avx2_fma,         4,  3, 4, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x5_n24__avx2_fma,         4,  5, 4, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x6_n24__avx2_fma,         4,  6, 4, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x7_n24__avx2_fma,         4,  7, 4, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b4x8_n24__avx2_fma,         4,  8, 4, 3, 1, 16, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x1_n24__avx2_fma,         5,  1, 3, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x2_n24__avx2_fma,         5,  2, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x3_n24__avx2_fma,         5,  3, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x4_n24__avx2_fma,         5,  4, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x6_n24__avx2_fma,         5,  6, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x7_n24__avx2_fma,         5,  7, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b5x8_n24__avx2_fma,         5,  8, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x1_n24__avx2_fma,         6,  1, 3, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x2_n24__avx2_fma,         6,  2, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x3_n24__avx2_fma,         6,  3, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x4_n24__avx2_fma,         6,  4, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x5_n24__avx2_fma,         6,  5, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x7_n24__avx2_fma,         6,  7, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b6x8_n24__avx2_fma,         6,  8, 3, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x1_n24__avx2_fma,         7,  1, 4, 3, 1, 0, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x2_n24__avx2_fma,         7,  2, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x3_n24__avx2_fma,         7,  3, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x4_n24__avx2_fma,         7,  4, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x5_n24__avx2_fma,         7,  5, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x6_n24__avx2_fma,         7,  6, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b7x8_n24__avx2_fma,         7,  8, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x2_n24__avx2_fma,         8,  2, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x3_n24__avx2_fma,         8,  3, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x4_n24__avx2_fma,         8,  4, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x5_n24__avx2_fma,         8,  5, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x6_n24__avx2_fma,         8,  6, 4, 3, 1, 4, 0)
KB_DEF_BSR_SPMM(bsr_f32_spmm_b8x7_n24__avx2_fma,         8,  7, 4, 3, 1, 4, 0)

/* Any block shape: one range worker for blocks of up to 4 rows (a single
 * row group), one for taller blocks. */
KB_DEF_BSR_RANGE(kb_generic_short_range,                 0,  0, 4, 3, 1, 16, 0)
KB_DEF_BSR_RANGE(kb_generic_range,                       0,  0, 4, 3, 1, 4, 0)
KB_AVX2 void bsr_f32_spmm_generic_n24__avx2_fma(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                                                const float *b, int64_t ldb, float *c, int64_t ldc,
                                                int32_t n, int32_t accumulate) {
    kb_bsr_drive(0, 0, KB_PANEL_BYTES, KB_MIN_SEGMENT_BYTES,
                 a->r <= 4 ? kb_generic_short_range : kb_generic_range, NULL, 0, a, row_begin, row_end,
                 b, ldb, c, ldc, n, accumulate);
}

/* ------------------------------------------------------------------------ */
/* BSR SpMV (n == 1)                                                        */
/* ------------------------------------------------------------------------ */

/* Row sums of 8 vectors: lane i of the result = sum of the lanes of v[i]. */
KB_INLINE __m256 kb_hsum8(const __m256 v[8]) {
    const __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* Writes y[i * ldy] for the first `cnt` rows of a block-row slice. */
KB_INLINE void kb_spmv_out(const float *sums, int32_t cnt, float *y, int64_t ldy,
                           int32_t accumulate) {
    for (int32_t i = 0; i < cnt; i++) {
        float *o = y + (int64_t)i * ldy;
        *o = accumulate ? *o + sums[i] : sums[i];
    }
}

/* Prefetch `lines` cache lines of A KB_SPMV_PF_BYTES ahead of p, called once
 * per `lines` * 64 bytes of A consumed, in the SpMV loops over blocks of 4-16
 * values (the address is formed as an integer, and a prefetch never faults,
 * so running past the end of A is harmless). Their index and address work
 * per 16-64 bytes left the hardware prefetchers behind: from memory they ran
 * at 35-69% of the triad. Zen 4, M = K = 4096,
 * paired: at 50% sparsity (A 33.5 MB, from memory) 2x2 1.28x, 1x4 1.34x,
 * 4x4 1.18-1.21x, 4x1 1.36x, 8x1 1.18-1.27x, 16x1 1.11-1.15x; at 70% 1.17-1.50x;
 * at 90% (A 6.7 MB, served from L3 between calls) the extra loads cost
 * 0.96-0.99x (2x2, 1x4, 4x1, 16x1), 0.91-0.94x (4x4) and 0.85-0.87x (8x1).
 * 2 and 8 KB ahead ran 1.22-1.26x, 1 line per 128-256 bytes of 8x1 and
 * 16x1 blocks 0.99-1.06x, an index prefetch added nothing. */
KB_INLINE void kb_spmv_prefetch(const float *p, const int lines) {
#pragma GCC unroll 4
    for (int l = 0; l < lines; l++)
        _mm_prefetch((const char *)((uintptr_t)p + KB_SPMV_PF_BYTES + 64 * (uintptr_t)l), _MM_HINT_T0);
}

/* x[0], x[1], x[0], x[1] (x is only float-aligned: one 8-byte load). */
KB_INLINE __m128 kb_x2(const float *x) {
    double pair;
    memcpy(&pair, x, sizeof pair);
    return _mm_castpd_ps(_mm_set1_pd(pair));
}

/* x[0..4) in both halves (x is only float-aligned: an unaligned load). */
KB_INLINE __m256 kb_x4x2(const float *x) {
    const __m128 v = _mm_loadu_ps(x);
    return _mm256_set_m128(v, v);
}

/* The 4-lane sum over blocks [p0, p1) of 4-value blocks (2x2: BR = 2,
 * x pairs [x0 x1 x0 x1]; 1x4: BR = 1, x quads) against x, for a matrix of k
 * columns: only the row's last block can be short of columns. */
KB_INLINE __m128 kb_spmv_quads(const int BR, const float *vals, const int32_t *cidx, int32_t p0,
                               int32_t p1, const float *x, int32_t k) {
    const int32_t w = BR == 2 ? 2 : 4; /* block columns */
#define KB_XQ(j) (BR == 2 ? kb_x2(x + 2 * (j)) : _mm_loadu_ps(x + 4 * (j)))
    int32_t pe = p1;
    if (pe > p0 && k - cidx[pe - 1] * w < w) pe--;
    __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int32_t p = p0;
    for (; p + 4 <= pe; p += 4) {
        kb_spmv_prefetch(vals + p * 4, 1);
        s0 = _mm_fmadd_ps(_mm_loadu_ps(vals + p * 4), KB_XQ(cidx[p]), s0);
        s1 = _mm_fmadd_ps(_mm_loadu_ps(vals + (p + 1) * 4), KB_XQ(cidx[p + 1]), s1);
        s2 = _mm_fmadd_ps(_mm_loadu_ps(vals + (p + 2) * 4), KB_XQ(cidx[p + 2]), s2);
        s3 = _mm_fmadd_ps(_mm_loadu_ps(vals + (p + 3) * 4), KB_XQ(cidx[p + 3]), s3);
    }
    for (; p < pe; p++) s0 = _mm_fmadd_ps(_mm_loadu_ps(vals + p * 4), KB_XQ(cidx[p]), s0);
#undef KB_XQ
    if (pe < p1) { /* the short last block: its missing columns' x are 0 */
        const float *xb = x + (int64_t)cidx[pe] * w;
        const __m128 xv = BR == 2 ? _mm_set_ps(0.f, xb[0], 0.f, xb[0])
                                  : _mm_maskload_ps(xb, _mm256_castsi256_si128(kb_mask(k - cidx[pe] * w)));
        s1 = _mm_fmadd_ps(_mm_loadu_ps(vals + pe * 4), xv, s1);
    }
    return _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3));
}

/* One 8-row slice of one block (rr of its rows exist inside the block) times
 * the block's piece of x (cols of its cc columns exist), into t. */
KB_INLINE void kb_spmv_slice(const int BR, __m256 t[8], const float *ab, const float *xb,
                             int32_t cc, int32_t cols, int32_t nv, int32_t crem,
                             __m256i arow_mask, int32_t rr) {
    for (int32_t v = 0; v < nv; v++) {
        const int32_t lanes = cols - 8 * v;
        if (lanes <= 0) break;
        const __m256 xv = lanes >= 8 ? _mm256_loadu_ps(xb + 8 * v)
                                     : _mm256_maskload_ps(xb + 8 * v, kb_mask(lanes));
        const int lastv = v == nv - 1 && crem != 8;
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            if ((BR == 0 || BR % 8 != 0) && i >= rr) break;
            const float *ar = ab + (int64_t)i * cc + 8 * v;
            const __m256 av = lastv ? _mm256_maskload_ps(ar, arow_mask) : _mm256_loadu_ps(ar);
            t[i] = _mm256_fmadd_ps(av, xv, t[i]);
        }
    }
}

/* SpMV over block rows [rb, rb + 1) ... one block row at a time. x is B's
 * column 0 with unit stride (the caller checked ldb == 1); y is C's column 0
 * with stride ldy. BR/BC: compile-time shape, 0 = runtime (generic). */
KB_INLINE void kb_bsr_spmv_row(const int BR, const int BC, const kb_bsr *a, int32_t br,
                               const float *x, float *y, int64_t ldy, int32_t accumulate) {
    const int32_t r = BR ? BR : a->r;
    const int32_t cc = BC ? BC : a->c;
    const int64_t bstride = (int64_t)r * cc;
    const int32_t row0 = br * r;
    const int32_t rows = kb_avx_min(r, a->m - row0);
    const int32_t p0 = a->row_ptr[br], p1 = a->row_ptr[br + 1];
    const int32_t *cidx = a->col_idx;
    const float *vals = a->values;
    float *yb = y + (int64_t)row0 * ldy;
    /* columns of block column j that exist (the last one may be partial) */
#define KB_COLS(j) kb_avx_min(cc, a->k - (j) * cc)
    float sums[8] __attribute__((aligned(32)));
    if (BC == 1 && (BR == 4 || BR % 8 == 0)) {
        /* column blocks: y[0..r) += A column * x[col], 4 chains */
        for (int32_t i0 = 0; i0 < rows; i0 += 8) {
            if (BR == 4) {
                __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                int32_t p = p0;
                for (; p + 4 <= p1; p += 4) {
                    kb_spmv_prefetch(vals + p * 4, 1);
                    s0 = _mm_fmadd_ps(_mm_loadu_ps(vals + p * 4), _mm_broadcast_ss(x + cidx[p]), s0);
                    s1 = _mm_fmadd_ps(_mm_loadu_ps(vals + (p + 1) * 4), _mm_broadcast_ss(x + cidx[p + 1]), s1);
                    s2 = _mm_fmadd_ps(_mm_loadu_ps(vals + (p + 2) * 4), _mm_broadcast_ss(x + cidx[p + 2]), s2);
                    s3 = _mm_fmadd_ps(_mm_loadu_ps(vals + (p + 3) * 4), _mm_broadcast_ss(x + cidx[p + 3]), s3);
                }
                for (; p < p1; p++)
                    s0 = _mm_fmadd_ps(_mm_loadu_ps(vals + p * 4), _mm_broadcast_ss(x + cidx[p]), s0);
                _mm_store_ps(sums, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
            } else {
                __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                const float *v = vals + i0;
                int32_t p = p0;
                for (; p + 4 <= p1; p += 4) {
                    if (i0 == 0) kb_spmv_prefetch(vals + p * bstride, (int)bstride / 4);
                    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + p * bstride), _mm256_broadcast_ss(x + cidx[p]), s0);
                    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(v + (p + 1) * bstride), _mm256_broadcast_ss(x + cidx[p + 1]), s1);
                    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(v + (p + 2) * bstride), _mm256_broadcast_ss(x + cidx[p + 2]), s2);
                    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(v + (p + 3) * bstride), _mm256_broadcast_ss(x + cidx[p + 3]), s3);
                }
                for (; p < p1; p++)
                    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + p * bstride), _mm256_broadcast_ss(x + cidx[p]), s0);
                _mm256_store_ps(sums, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
            }
            kb_spmv_out(sums, kb_avx_min(8, rows - i0), yb + (int64_t)i0 * ldy, ldy, accumulate);
        }
    } else if ((BC == 2 && BR == 2) || (BC == 4 && BR == 1)) {
        /* Blocks of 4 values: 2x2 as [a00 a01 a10 a11] * [x0 x1 x0 x1], 1x4 as a
         * row piece * x[4j..4j+4), 4 chains in registers (a chain indexed by
         * p & 3 lived on the stack: a store-load round trip per block). */
        const __m128 t = kb_spmv_quads(BR, vals, cidx, p0, p1, x, a->k);
        const __m128 h = _mm_hadd_ps(t, t); /* 2x2: [y0 y1 y0 y1] */
        if (BR == 2) _mm_store_ps(sums, h);
        else sums[0] = _mm_cvtss_f32(_mm_hadd_ps(h, h));
        kb_spmv_out(sums, rows, yb, ldy, accumulate);
    } else if (BC == 4 && BR == 4) {
        /* 4x4 blocks: two block rows per ymm against [x x], 4 chains in
         * registers. Only the row's last block can be short of columns. */
        int32_t pe = p1;
        if (pe > p0 && KB_COLS(cidx[pe - 1]) < 4) pe--;
        const __m128 xlast = pe < p1 ? _mm_maskload_ps(x + 4 * cidx[pe], _mm256_castsi256_si128(
                                                                            kb_mask(KB_COLS(cidx[pe]))))
                                     : _mm_setzero_ps();
        __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00;
        int32_t p = p0;
        for (; p + 2 <= pe; p += 2) {
            kb_spmv_prefetch(vals + p * 16, 2);
            const __m256 x0 = kb_x4x2(x + 4 * cidx[p]);
            const __m256 x1 = kb_x4x2(x + 4 * cidx[p + 1]);
            s00 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + p * 16), x0, s00);
            s01 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + p * 16 + 8), x0, s01);
            s10 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + p * 16 + 16), x1, s10);
            s11 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + p * 16 + 24), x1, s11);
        }
        for (; p < pe || p < p1; p++) {
            const __m256 xx = p < pe ? kb_x4x2(x + 4 * cidx[p])
                                     : _mm256_set_m128(xlast, xlast);
            s00 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + p * 16), xx, s00);
            s01 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + p * 16 + 8), xx, s01);
        }
        const __m256 u0 = _mm256_add_ps(s00, s10); /* rows 0 | 1 */
        const __m256 u1 = _mm256_add_ps(s01, s11); /* rows 2 | 3 */
        const __m256 h = _mm256_hadd_ps(u0, u1); /* r0 r0 r2 r2 | r1 r1 r3 r3 */
        const __m256 h2 = _mm256_hadd_ps(h, h);  /* r0 r2 r0 r2 | r1 r3 r1 r3 */
        float t[8] __attribute__((aligned(32)));
        _mm256_store_ps(t, h2);
        sums[0] = t[0]; sums[1] = t[4]; sums[2] = t[1]; sums[3] = t[5];
        kb_spmv_out(sums, rows, yb, ldy, accumulate);
    } else {
        /* Row dot products (any shape), 8 rows per slice. Blocks of fewer
         * than KB_SPMV_BLOCKWISE values (or of up to 8 rows) are read slice by
         * slice across the block row, each slice's accumulators in registers.
         * Larger blocks would then be read in strided pieces (halves of 16x16
         * blocks, quarters of 32x32), which the hardware prefetchers follow
         * badly: they are taken block by block instead, all slices of a block
         * before the next block, the accumulators kept in L1 between blocks,
         * so A streams front to back (blocks of more than KB_SPMV_BAND rows:
         * once per band of that many rows, each band a contiguous piece of
         * every block). Zen 4, M = K = 4096, paired, median per-round speedup
         * at 50% sparsity (A from memory) and 90% (A in L3): 16x16 2.06x and
         * 1.18x, 32x32 2.18x and 0.93x, generic 24x24 2.34x and 1.11x, 40x40
         * 1.96x and 1.02x; 10x10 and 12x12 blocks ran 0.56-0.74x block by
         * block at 90% and stay on slices. */
        const int32_t nv = (cc + 7) / 8;
        const int32_t crem = cc - 8 * (nv - 1); /* lanes of the last vector of a row */
        const __m256i arow_mask = kb_mask(crem);
        if (r <= 8 || bstride < KB_SPMV_BLOCKWISE) {
            for (int32_t i0 = 0; i0 < rows; i0 += 8) {
                __m256 t[8];
                for (int i = 0; i < 8; i++) t[i] = _mm256_setzero_ps();
                for (int32_t p = p0; p < p1; p++)
                    kb_spmv_slice(BR, t, vals + p * bstride + (int64_t)i0 * cc,
                                  x + (int64_t)cidx[p] * cc, cc, KB_COLS(cidx[p]), nv, crem,
                                  arow_mask, kb_avx_min(8, r - i0));
                _mm256_store_ps(sums, kb_hsum8(t));
                kb_spmv_out(sums, kb_avx_min(8, rows - i0), yb + (int64_t)i0 * ldy, ldy, accumulate);
            }
        } else {
            for (int32_t i0 = 0; i0 < rows; i0 += KB_SPMV_BAND) {
                const int32_t slices = (kb_avx_min(KB_SPMV_BAND, r - i0) + 7) / 8;
                __m256 s[KB_SPMV_BAND];
                for (int i = 0; i < 8 * slices; i++) s[i] = _mm256_setzero_ps();
                for (int32_t p = p0; p < p1; p++) {
                    const float *xb = x + (int64_t)cidx[p] * cc;
                    const int32_t cols = KB_COLS(cidx[p]);
                    for (int32_t k = 0; k < slices; k++) {
                        const int32_t is = i0 + 8 * k;
                        __m256 t[8];
                        for (int i = 0; i < 8; i++) t[i] = s[8 * k + i];
                        kb_spmv_slice(BR, t, vals + p * bstride + (int64_t)is * cc, xb, cc, cols,
                                      nv, crem, arow_mask, kb_avx_min(8, r - is));
                        for (int i = 0; i < 8; i++) s[8 * k + i] = t[i];
                    }
                }
                for (int32_t k = 0; k < slices && i0 + 8 * k < rows; k++) {
                    _mm256_store_ps(sums, kb_hsum8(s + 8 * k));
                    kb_spmv_out(sums, kb_avx_min(8, rows - i0 - 8 * k),
                                yb + (int64_t)(i0 + 8 * k) * ldy, ldy, accumulate);
                }
            }
        }
    }
#undef KB_COLS
}

#define KB_DEF_BSR_SPMV(fn, spmm, BR, BC)                                                  \
    KB_AVX2 void fn(const kb_bsr *a, int32_t row_begin, int32_t row_end, const float *b,   \
                    int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t accumulate) {   \
        if (n != 1 || ldb != 1 || (BR != 0 && (a->r != BR || a->c != BC))) {             \
            spmm(a, row_begin, row_end, b, ldb, c, ldc, n, accumulate);                    \
            return;                                                                        \
        }                                                                                  \
        for (int32_t br = row_begin; br < row_end; br++)                                   \
            kb_bsr_spmv_row(BR, BC, a, br, b, c, ldc, accumulate);                         \
    }

KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x2__avx2_fma, bsr_f32_spmm_b2x2_n24__avx2_fma, 2, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x4__avx2_fma, bsr_f32_spmm_b4x4_n24__avx2_fma, 4, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x8__avx2_fma, bsr_f32_spmm_b8x8_n24__avx2_fma, 8, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b16x16__avx2_fma, bsr_f32_spmm_b16x16_n24__avx2_fma, 16, 16)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b32x32__avx2_fma, bsr_f32_spmm_b32x32_n24__avx2_fma, 32, 32)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b1x4__avx2_fma, bsr_f32_spmm_b1x4_n24__avx2_fma, 1, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x1__avx2_fma, bsr_f32_spmm_b4x1_n24__avx2_fma, 4, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x1__avx2_fma, bsr_f32_spmm_b8x1_n24__avx2_fma, 8, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b16x1__avx2_fma, bsr_f32_spmm_b16x1_n24__avx2_fma, 16, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x3__avx2_fma, bsr_f32_spmm_b3x3_n24__avx2_fma, 3, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x5__avx2_fma, bsr_f32_spmm_b5x5_n24__avx2_fma, 5, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x6__avx2_fma, bsr_f32_spmm_b6x6_n24__avx2_fma, 6, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x7__avx2_fma, bsr_f32_spmm_b7x7_n24__avx2_fma, 7, 7)
/* The other shapes up to 8x8 (see the SpMM rows): the row-dot path of
 * kb_bsr_spmv_row with the shape known at compile time, as 3x3-7x7. */
KB_DEF_BSR_SPMV(bsr_f32_spmv_b1x2__avx2_fma, bsr_f32_spmm_b1x2_n24__avx2_fma, 1, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b1x3__avx2_fma, bsr_f32_spmm_b1x3_n24__avx2_fma, 1, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b1x5__avx2_fma, bsr_f32_spmm_b1x5_n24__avx2_fma, 1, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b1x6__avx2_fma, bsr_f32_spmm_b1x6_n24__avx2_fma, 1, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b1x7__avx2_fma, bsr_f32_spmm_b1x7_n24__avx2_fma, 1, 7)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b1x8__avx2_fma, bsr_f32_spmm_b1x8_n24__avx2_fma, 1, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x1__avx2_fma, bsr_f32_spmm_b2x1_n24__avx2_fma, 2, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x3__avx2_fma, bsr_f32_spmm_b2x3_n24__avx2_fma, 2, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x4__avx2_fma, bsr_f32_spmm_b2x4_n24__avx2_fma, 2, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x5__avx2_fma, bsr_f32_spmm_b2x5_n24__avx2_fma, 2, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x6__avx2_fma, bsr_f32_spmm_b2x6_n24__avx2_fma, 2, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x7__avx2_fma, bsr_f32_spmm_b2x7_n24__avx2_fma, 2, 7)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b2x8__avx2_fma, bsr_f32_spmm_b2x8_n24__avx2_fma, 2, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x1__avx2_fma, bsr_f32_spmm_b3x1_n24__avx2_fma, 3, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x2__avx2_fma, bsr_f32_spmm_b3x2_n24__avx2_fma, 3, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x4__avx2_fma, bsr_f32_spmm_b3x4_n24__avx2_fma, 3, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x5__avx2_fma, bsr_f32_spmm_b3x5_n24__avx2_fma, 3, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x6__avx2_fma, bsr_f32_spmm_b3x6_n24__avx2_fma, 3, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x7__avx2_fma, bsr_f32_spmm_b3x7_n24__avx2_fma, 3, 7)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b3x8__avx2_fma, bsr_f32_spmm_b3x8_n24__avx2_fma, 3, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x2__avx2_fma, bsr_f32_spmm_b4x2_n24__avx2_fma, 4, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x3__avx2_fma, bsr_f32_spmm_b4x3_n24__avx2_fma, 4, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x5__avx2_fma, bsr_f32_spmm_b4x5_n24__avx2_fma, 4, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x6__avx2_fma, bsr_f32_spmm_b4x6_n24__avx2_fma, 4, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x7__avx2_fma, bsr_f32_spmm_b4x7_n24__avx2_fma, 4, 7)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b4x8__avx2_fma, bsr_f32_spmm_b4x8_n24__avx2_fma, 4, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x1__avx2_fma, bsr_f32_spmm_b5x1_n24__avx2_fma, 5, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x2__avx2_fma, bsr_f32_spmm_b5x2_n24__avx2_fma, 5, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x3__avx2_fma, bsr_f32_spmm_b5x3_n24__avx2_fma, 5, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x4__avx2_fma, bsr_f32_spmm_b5x4_n24__avx2_fma, 5, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x6__avx2_fma, bsr_f32_spmm_b5x6_n24__avx2_fma, 5, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x7__avx2_fma, bsr_f32_spmm_b5x7_n24__avx2_fma, 5, 7)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b5x8__avx2_fma, bsr_f32_spmm_b5x8_n24__avx2_fma, 5, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x1__avx2_fma, bsr_f32_spmm_b6x1_n24__avx2_fma, 6, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x2__avx2_fma, bsr_f32_spmm_b6x2_n24__avx2_fma, 6, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x3__avx2_fma, bsr_f32_spmm_b6x3_n24__avx2_fma, 6, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x4__avx2_fma, bsr_f32_spmm_b6x4_n24__avx2_fma, 6, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x5__avx2_fma, bsr_f32_spmm_b6x5_n24__avx2_fma, 6, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x7__avx2_fma, bsr_f32_spmm_b6x7_n24__avx2_fma, 6, 7)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b6x8__avx2_fma, bsr_f32_spmm_b6x8_n24__avx2_fma, 6, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x1__avx2_fma, bsr_f32_spmm_b7x1_n24__avx2_fma, 7, 1)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x2__avx2_fma, bsr_f32_spmm_b7x2_n24__avx2_fma, 7, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x3__avx2_fma, bsr_f32_spmm_b7x3_n24__avx2_fma, 7, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x4__avx2_fma, bsr_f32_spmm_b7x4_n24__avx2_fma, 7, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x5__avx2_fma, bsr_f32_spmm_b7x5_n24__avx2_fma, 7, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x6__avx2_fma, bsr_f32_spmm_b7x6_n24__avx2_fma, 7, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b7x8__avx2_fma, bsr_f32_spmm_b7x8_n24__avx2_fma, 7, 8)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x2__avx2_fma, bsr_f32_spmm_b8x2_n24__avx2_fma, 8, 2)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x3__avx2_fma, bsr_f32_spmm_b8x3_n24__avx2_fma, 8, 3)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x4__avx2_fma, bsr_f32_spmm_b8x4_n24__avx2_fma, 8, 4)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x5__avx2_fma, bsr_f32_spmm_b8x5_n24__avx2_fma, 8, 5)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x6__avx2_fma, bsr_f32_spmm_b8x6_n24__avx2_fma, 8, 6)
KB_DEF_BSR_SPMV(bsr_f32_spmv_b8x7__avx2_fma, bsr_f32_spmm_b8x7_n24__avx2_fma, 8, 7)
KB_DEF_BSR_SPMV(bsr_f32_spmv_generic__avx2_fma, bsr_f32_spmm_generic_n24__avx2_fma, 0, 0)

/* ------------------------------------------------------------------------ */
/* CSR                                                                      */
/* ------------------------------------------------------------------------ */

/* One row x (8 * NV) columns; nonzeros round-robin over SS accumulator sets
 * (NV * SS >= 8 independent FMA chains). */
KB_INLINE void kb_csr_tile(const int NV, const int SS, const int MASKED, const float *vals,
                           const int32_t *cidx, int32_t nnz, const float *b, int64_t ldb,
                           float *cp, int32_t accumulate, __m256i mask) {
    __m256 acc[8][8]; /* [SS][NV], SS * NV <= 8 used */
#pragma GCC unroll 8
    for (int s = 0; s < SS; s++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[s][v] = _mm256_setzero_ps();
    if (accumulate)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[0][v] = kb_ld(MASKED && v == NV - 1, cp + 8 * v, mask);
    int32_t p = 0;
    for (; p + SS <= nnz; p += SS) {
#pragma GCC unroll 8
        for (int s = 0; s < SS; s++) {
            const __m256 w = _mm256_broadcast_ss(vals + p + s);
            const float *bp = b + (int64_t)cidx[p + s] * ldb;
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[s][v] = _mm256_fmadd_ps(w, kb_ld(MASKED && v == NV - 1, bp + 8 * v, mask), acc[s][v]);
        }
    }
    for (; p < nnz; p++) {
        const __m256 w = _mm256_broadcast_ss(vals + p);
        const float *bp = b + (int64_t)cidx[p] * ldb;
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[0][v] = _mm256_fmadd_ps(w, kb_ld(MASKED && v == NV - 1, bp + 8 * v, mask), acc[0][v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
        __m256 t = acc[0][v];
#pragma GCC unroll 8
        for (int s = 1; s < SS; s++) t = _mm256_add_ps(t, acc[s][v]);
        kb_st(MASKED && v == NV - 1, cp + 8 * v, t, mask);
    }
}

KB_INLINE void kb_csr_pass(const int NV, const int SS, const int MASKED, const kb_csr *a, int32_t rb,
                           int32_t re, const float *b, int64_t ldb, float *c, int64_t ldc,
                           int32_t accumulate, __m256i mask) {
    for (int32_t i = rb; i < re; i++) {
        const int32_t p0 = a->row_ptr[i], p1 = a->row_ptr[i + 1];
        if (accumulate && p1 == p0) continue;
        kb_csr_tile(NV, SS, MASKED, a->values + p0, a->col_idx + p0, p1 - p0, b, ldb,
                    c + (int64_t)i * ldc, accumulate, mask);
    }
}

/* Column chunks of 8 * NV outermost (for N = 64: one chunk, so A streams
 * once); the N tail as single vectors with 8 accumulator sets. */
KB_INLINE void kb_csr_drive(const int NV, const int SS, const kb_csr *a, int32_t rb, int32_t re,
                            const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n,
                            int32_t accumulate) {
    const __m256i full = _mm256_set1_epi32(-1);
    int32_t j = 0;
    for (; j + 8 * NV <= n; j += 8 * NV)
        kb_csr_pass(NV, SS, 0, a, rb, re, b + j, ldb, c + j, ldc, accumulate, full);
    for (; j + 8 <= n; j += 8)
        kb_csr_pass(1, 8, 0, a, rb, re, b + j, ldb, c + j, ldc, accumulate, full);
    if (j < n) kb_csr_pass(1, 8, 1, a, rb, re, b + j, ldb, c + j, ldc, accumulate, kb_mask(n - j));
}

/* When B outgrows L2 and the rows are long enough, CSR runs as BSR with
 * 1 x 1 blocks (the same three arrays) through the BSR template's K panels
 * (KB_CSR_PANEL_BYTES, KB_CSR_MIN_SEGMENT: bsr_drive.h). Otherwise, and for
 * B that fits, whole rows as above. */
static KB_AVX2 __attribute__((noinline)) void kb_csr_panel_range(
    const kb_bsr *a, int32_t br, int32_t q, int32_t q_end, int32_t tail, const float *b,
    int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t acc0, int32_t qnext) {
    kb_bsr_range(1, 1, 1, 8, 1, 0, 0, a, br, q, q_end, tail, b, ldb, c, ldc, n, acc0, qnext);
}

KB_AVX2 void csr_f32_spmm_n64__avx2_fma(const kb_csr *a, int32_t row_begin, int32_t row_end,
                                        const float *b, int64_t ldb, float *c, int64_t ldc,
                                        int32_t n, int32_t accumulate) {
    const int64_t bbytes = (int64_t)a->k * n * (int64_t)sizeof(float);
    /* n % 64 == 0: the template's N tails for one-row tiles have too few FMA chains */
    if (n % 64 == 0 && bbytes > KB_PANEL_BYTES) {
        const kb_bsr v = {a->m, a->k, 1, 1, a->m, a->k, a->row_ptr, a->col_idx, a->values};
        const int64_t min_segment = KB_CSR_MIN_SEGMENT * (int64_t)sizeof(float);
        if (kb_panel_cols(&v, 1, 1, row_begin, row_end, n, KB_CSR_PANEL_BYTES, min_segment) < v.kb) {
            kb_bsr_drive(1, 1, KB_CSR_PANEL_BYTES, min_segment, kb_csr_panel_range, NULL, 0, &v,
                         row_begin, row_end, b, ldb, c, ldc, n, accumulate);
            return;
        }
    }
    kb_csr_drive(8, 1, a, row_begin, row_end, b, ldb, c, ldc, n, accumulate);
}

/* CSR SpMV: 8 nonzeros at a time with a gather of x. */
KB_AVX2 void csr_f32_spmv__avx2_fma(const kb_csr *a, int32_t row_begin, int32_t row_end,
                                    const float *b, int64_t ldb, float *c, int64_t ldc,
                                    int32_t n, int32_t accumulate) {
    if (n != 1 || ldb != 1) {
        csr_f32_spmm_n64__avx2_fma(a, row_begin, row_end, b, ldb, c, ldc, n, accumulate);
        return;
    }
    for (int32_t i = row_begin; i < row_end; i++) {
        const int32_t p0 = a->row_ptr[i], p1 = a->row_ptr[i + 1];
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        int32_t p = p0;
        for (; p + 16 <= p1; p += 16) {
            const __m256i i0 = _mm256_loadu_si256((const __m256i *)(a->col_idx + p));
            const __m256i i1 = _mm256_loadu_si256((const __m256i *)(a->col_idx + p + 8));
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a->values + p), _mm256_i32gather_ps(b, i0, 4), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a->values + p + 8), _mm256_i32gather_ps(b, i1, 4), s1);
        }
        for (; p < p1; p += 8) {
            const __m256i m = kb_mask(p1 - p);
            const __m256i idx = _mm256_maskload_epi32(a->col_idx + p, m);
            const __m256 x = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), b, idx, _mm256_castsi256_ps(m), 4);
            s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a->values + p, m), x, s0);
        }
        const __m256 t = _mm256_add_ps(s0, s1);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
        h = _mm_hadd_ps(h, h);
        h = _mm_hadd_ps(h, h);
        float *o = c + (int64_t)i * ldc;
        *o = accumulate ? *o + _mm_cvtss_f32(h) : _mm_cvtss_f32(h);
    }
}

#endif /* __x86_64__ */
