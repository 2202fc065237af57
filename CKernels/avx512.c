/* AVX-512 kernels (x86-64; AVX-512 F + VL). Every function carries
 * __attribute__((target("avx512f,avx512vl,fma"))) so the rest of the target
 * stays baseline x86-64; registry.c runs them only where CPUID reports
 * AVX-512 F and VL and XCR0 enables the opmask and ZMM state. Registry rows:
 * table_avx512.h.
 *
 * SpMM (one template, kb5_bsr_range, driven by bsr_drive.h's kb_bsr_drive,
 * the K panels the AVX2 kernels use):
 *   - A block row's blocks go in ranges of G blocks (G = 0: all); each range
 *     is swept over all of N in chunks of NV zmm (tile_n = 16 * NV = 64),
 *     and each chunk over groups of R rows: an R x NV tile of C lives in zmm
 *     accumulators over the range. Per block column kk: NV loads of B, R
 *     broadcasts of A (folded into the FMAs as {1to16} memory operands),
 *     R * NV FMAs. With 32 zmm, a 4 x 4 tile (16 accumulators, 4 B vectors)
 *     leaves room, so no step needs assembly; 1 x c and 2 x 2 blocks split kk
 *     over S accumulator sets (>= 8 independent chains).
 *   - N tails: the last chunk has as many zmm as the tail needs, its last one
 *     under a mask (masked loads and stores never touch columns >= n).
 *   - Edges as in avx2_fma.c: the partial last block column runs a kk < cols
 *     loop (B rows >= k never read); rows >= m are never loaded or stored.
 *   - Short ranges (4x4, 8x8, 16x16) prefetch the next range's A values.
 * SpMV (N = 1): blocks of 1, 2, 4, 8 or 16 values are read 16 values per zmm
 * (several blocks per vector, x pieces assembled by broadcasts and inserts);
 * larger blocks whose rows are 1-16 columns wide, a power of 2, one zmm per
 * 16 values with one x broadcast per block; anything else (32x32, generic)
 * as row dot products, 16 rows at a time, masked where a row is not a
 * multiple of 16 wide. CSR: 1 x 64 tiles over whole rows (or K panels), SpMV
 * with 16-lane gathers. */
#include "kernelbench.h"

#if defined(__x86_64__)
#if defined(KB_AVX512_EMULATED)
/* Test builds only: the intrinsics in portable C (SIMDe), so the kernels run
 * on a CPU without AVX-512 (Tests/ckernels/avx512_emulation.h). */
#include "avx512_emulation.h"
#else
#include <immintrin.h>
#endif
#include <string.h>

#include "bsr_drive.h"

/* Declarations from the table (checks the registered names and signatures). */
#define KB_BSR(fn, isa, br, bc, tile, ncls)                                           \
    void fn(const kb_bsr *, int32_t, int32_t, const float *, int64_t, float *, int64_t, \
            int32_t, int32_t);
#define KB_CSR(fn, isa, tile, ncls)                                                   \
    void fn(const kb_csr *, int32_t, int32_t, const float *, int64_t, float *, int64_t, \
            int32_t, int32_t);
#include "table_avx512.h"
#undef KB_BSR
#undef KB_CSR

#if defined(KB_AVX512_EMULATED)
#define KB5
#define KB5_INLINE static inline __attribute__((always_inline))
#else
#define KB5 __attribute__((target("avx512f,avx512vl,fma")))
#define KB5_INLINE static inline __attribute__((always_inline, target("avx512f,avx512vl,fma")))
#endif

/* Upper bounds of the compile-time tile parameters (array sizes). */
#define KB5_MAX_S 4
#define KB5_MAX_R 6
#define KB5_MAX_NV 4
/* Ranges of at most this many bytes of A prefetch the next range's A. */
#define KB5_APF_BYTES 1024
/* The SpMV loops prefetch A this far ahead, one line per zmm of A they read
 * (as avx2_fma.c's kb_spmv_prefetch: their index and x work per vector
 * leaves the hardware prefetchers behind). */
#ifndef KB5_SPMV_PF_BYTES
#define KB5_SPMV_PF_BYTES 4096
#endif

static inline int32_t kb5_min(int32_t a, int32_t b) { return a < b ? a : b; }

/* Lanes [0, cnt) set; cnt is clamped to [0, 16]. */
static inline __mmask16 kb5_mask(int32_t cnt) {
    cnt = cnt < 0 ? 0 : (cnt > 16 ? 16 : cnt);
    return (__mmask16)((1u << cnt) - 1u);
}

/* A prefetch KB5_SPMV_PF_BYTES past p (formed as an integer: past the end
 * of A near its end, where a prefetch is harmless). */
static inline void kb5_spmv_prefetch(const float *p) {
    _mm_prefetch((const char *)((uintptr_t)p + KB5_SPMV_PF_BYTES), _MM_HINT_T0);
}

KB5_INLINE __m512 kb5_ld(const int masked, const float *p, __mmask16 m) {
    return masked ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
}

KB5_INLINE void kb5_st(const int masked, float *p, __m512 v, __mmask16 m) {
    if (masked) _mm512_mask_storeu_ps(p, m, v);
    else _mm512_storeu_ps(p, v);
}

/* ------------------------------------------------------------------------ */
/* BSR SpMM                                                                 */
/* ------------------------------------------------------------------------ */

/* One kk step of an R x (16*NV) tile: NV loads of B row kk (brow), R
 * broadcasts of A column kk (a: row 0, row stride cc), R * NV FMAs. */
KB5_INLINE void kb5_step(const int R, const int NV, const int MASKED,
                         __m512 acc[KB5_MAX_R][KB5_MAX_NV], const float *a, int32_t cc,
                         const float *brow, __mmask16 mask) {
    __m512 bv[KB5_MAX_NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) bv[v] = kb5_ld(MASKED && v == NV - 1, brow + 16 * v, mask);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        const __m512 av = _mm512_set1_ps(a[i * cc]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
}

/* One R x (16*NV) tile of C over the blocks of one block row: ap0, row 0
 * of this group inside the first block; bstride, floats per block; cc,
 * block columns; nfull full blocks, then one partial block of tail_cols
 * columns when tail_cols > 0. The last vector is masked when MASKED. */
KB5_INLINE void kb5_tile(const int R, const int NV, const int MASKED, const int S,
                         const float *ap0, int64_t bstride, const int32_t cc,
                         const int32_t *cidx, int32_t nfull, int32_t tail_cols,
                         const float *b, int64_t ldb, float *cp, int64_t ldc,
                         int32_t rows_valid, int32_t accumulate, __mmask16 mask) {
    __m512 acc[KB5_MAX_S][KB5_MAX_R][KB5_MAX_NV]; /* only [S][R][NV] used */
#pragma GCC unroll 4
    for (int s = 0; s < S; s++)
#pragma GCC unroll 8
        for (int i = 0; i < R; i++)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[s][i][v] = _mm512_setzero_ps();
    if (accumulate) {
#pragma GCC unroll 8
        for (int i = 0; i < R; i++)
            if (i < rows_valid)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[0][i][v] = kb5_ld(MASKED && v == NV - 1, cp + i * ldc + 16 * v, mask);
    }
    const int64_t bblk = (int64_t)cc * ldb;
    for (int32_t q = 0; q < nfull; q++) {
        const float *ap = ap0 + q * bstride;
        const float *bp = b + (int64_t)cidx[q] * bblk;
#pragma GCC unroll 8
        for (int32_t k0 = 0; k0 < cc; k0 += S)
#pragma GCC unroll 4
            for (int s = 0; s < S; s++)
                kb5_step(R, NV, MASKED, acc[s], ap + k0 + s, cc, bp + (k0 + s) * ldb, mask);
    }
    if (tail_cols > 0) {
        const float *ap = ap0 + nfull * bstride;
        const float *bp = b + (int64_t)cidx[nfull] * bblk;
        for (int32_t kk = 0; kk < tail_cols; kk++)
            kb5_step(R, NV, MASKED, acc[0], ap + kk, cc, bp + kk * ldb, mask);
    }
#pragma GCC unroll 4
    for (int s = 1; s < S; s++)
#pragma GCC unroll 8
        for (int i = 0; i < R; i++)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[0][i][v] = _mm512_add_ps(acc[0][i][v], acc[s][i][v]);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
        if (i < rows_valid)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                kb5_st(MASKED && v == NV - 1, cp + i * ldc + 16 * v, acc[0][i][v], mask);
}

#define KB5_TILE_ARGS \
    ap0, bstride, cc, cidx, nfull, tail_cols, b, ldb, cp, ldc, rows_valid, accumulate, mask

/* One column chunk (NV zmm, the last masked when MASKED) of one block row
 * over its range of blocks; row groups of R, then (for blocks whose rows are
 * not a multiple of R: BR % R != 0, or any generic shape) one shorter group.
 * BR: compile-time block rows, 0 = read r. */
KB5_INLINE void kb5_pass(const int BR, const int R, const int NV, const int MASKED,
                         const int S, int32_t r, int32_t rows, const int32_t cc,
                         const float *ablk, int64_t bstride, const int32_t *cidx,
                         int32_t nfull, int32_t tail_cols, const float *b, int64_t ldb,
                         float *c, int64_t ldc, int32_t accumulate, __mmask16 mask) {
    int32_t i0 = 0;
    for (; i0 + R <= r && i0 < rows; i0 += R) {
        const float *ap0 = ablk + (int64_t)i0 * cc;
        float *cp = c + (int64_t)i0 * ldc;
        const int32_t rows_valid = kb5_min(R, rows - i0);
        kb5_tile(R, NV, MASKED, S, KB5_TILE_ARGS);
    }
    if ((BR == 0 || BR % R != 0) && i0 < rows && i0 < r) {
        const float *ap0 = ablk + (int64_t)i0 * cc;
        float *cp = c + (int64_t)i0 * ldc;
        const int32_t rows_valid = rows - i0;
        switch (BR ? BR % R : r - i0) { /* rows of the block left: 1 to R - 1 */
        case 1: kb5_tile(1, NV, MASKED, 1, KB5_TILE_ARGS); break;
        case 2: kb5_tile(2, NV, MASKED, 1, KB5_TILE_ARGS); break;
        case 3: kb5_tile(3, NV, MASKED, 1, KB5_TILE_ARGS); break;
        case 4: kb5_tile(R > 4 ? 4 : 1, NV, MASKED, 1, KB5_TILE_ARGS); break;
        default: kb5_tile(R > 5 ? 5 : 1, NV, MASKED, 1, KB5_TILE_ARGS); break;
        }
    }
}
_Static_assert(KB5_MAX_R == 6, "kb5_pass's short row groups cover R <= 6 (1 to 5 rows left)");

/* All columns of one block row over one range of its blocks: chunks of
 * 16 * NV columns, then the N tail as one chunk of as many zmm as it needs,
 * the last one masked. */
#define KB5_PASS_ARGS(bj, cj, msk) \
    r, rows, cc, ablk, bstride, cidx, nfull, tail_cols, bj, ldb, cj, ldc, accumulate, msk
KB5_INLINE void kb5_cols(const int BR, const int R, const int NV, const int S, int32_t r,
                         int32_t rows, const int32_t cc, const float *ablk, int64_t bstride,
                         const int32_t *cidx, int32_t nfull, int32_t tail_cols,
                         const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n,
                         int32_t accumulate) {
    int32_t j = 0;
    for (; j + 16 * NV <= n; j += 16 * NV)
        kb5_pass(BR, R, NV, 0, S, KB5_PASS_ARGS(b + j, c + j, (__mmask16)0xffff));
    if (j >= n) return;
    const int32_t vecs = (n - j + 15) / 16;
    const __mmask16 mask = kb5_mask(n - j - 16 * (vecs - 1));
    if (NV >= 4 && vecs == 4) kb5_pass(BR, R, 4, 1, S, KB5_PASS_ARGS(b + j, c + j, mask));
    else if (NV >= 3 && vecs == 3) kb5_pass(BR, R, 3, 1, S, KB5_PASS_ARGS(b + j, c + j, mask));
    else if (NV >= 2 && vecs == 2) kb5_pass(BR, R, 2, 1, S, KB5_PASS_ARGS(b + j, c + j, mask));
    else kb5_pass(BR, R, 1, 1, S, KB5_PASS_ARGS(b + j, c + j, mask));
}

/* The blocks [q, q_end) of block row br (plus the partial tail block when
 * tail > 0), in ranges of G blocks (G = 0: all at once), each swept over
 * all columns while its B rows are in L1. The accumulators start from C for
 * every range but the first when acc0 == 0. qnext: the first block of the
 * segment the drive runs next (the last range's A prefetch target). */
KB5_INLINE void kb5_bsr_range(const int BR, const int BC, const int R, const int NV,
                              const int S, const int G, const kb_bsr *a, int32_t br, int32_t q,
                              int32_t q_end, int32_t tail, const float *b, int64_t ldb,
                              float *c, int64_t ldc, int32_t n, int32_t acc0, int32_t qnext) {
    const int32_t r = BR ? BR : a->r;
    const int32_t cc = BC ? BC : a->c;
    const int64_t bstride = (int64_t)r * cc;
    const int32_t row0 = br * r;
    const int32_t rows = kb5_min(r, a->m - row0);
    float *cb = c + (int64_t)row0 * ldc;
    int32_t q0 = q;
    do {
        const int32_t nfull = G ? kb5_min(G, q_end - q0) : q_end - q0;
        const int32_t tail_cols = q0 + nfull == q_end ? tail : 0;
        if (BR && G && G * BR * BC * (int)sizeof(float) <= KB5_APF_BYTES) {
            /* The next range's A (as in avx2_fma.c; formed as an integer:
             * past the end of A after the last range, where a prefetch is
             * harmless). */
            const int64_t qn = q0 + nfull >= q_end ? qnext : q0 + nfull;
            const uintptr_t next =
                (uintptr_t)a->values + (uintptr_t)qn * (uintptr_t)bstride * sizeof(float);
            for (int off = 0; off < G * BR * BC * (int)sizeof(float); off += 64)
                _mm_prefetch((const char *)(next + (uintptr_t)off), _MM_HINT_T0);
        }
        kb5_cols(BR, R, NV, S, r, rows, cc, a->values + (int64_t)q0 * bstride, bstride,
                 a->col_idx + q0, nfull, tail_cols, b, ldb, cb, ldc, n, acc0 || q0 > q);
        q0 += nfull;
    } while (q0 < q_end);
}

/* The range worker of one tile configuration (not inlined: both drive paths
 * share it) and the kernel that drives it. */
#define KB5_DEF_BSR_RANGE(name, BR, BC, R, NV, S, G)                                      \
    static KB5 __attribute__((noinline)) void name(                                       \
        const kb_bsr *a, int32_t br, int32_t q, int32_t q_end, int32_t tail,              \
        const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t acc0,      \
        int32_t qnext) {                                                                  \
        kb5_bsr_range(BR, BC, R, NV, S, G, a, br, q, q_end, tail, b, ldb, c, ldc, n,      \
                      acc0, qnext);                                                       \
    }
#define KB5_DEF_BSR_SPMM(fn, BR, BC, R, NV, S, G)                                        \
    KB5_DEF_BSR_RANGE(fn##_range, BR, BC, R, NV, S, G)                                   \
    KB5 void fn(const kb_bsr *a, int32_t row_begin, int32_t row_end, const float *b,     \
                int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t accumulate) {     \
        kb_bsr_drive(BR, BC, KB_PANEL_BYTES, KB_MIN_SEGMENT_BYTES, fn##_range, NULL, 0, \
                     a, row_begin, row_end, b, ldb, c, ldc, n, accumulate);              \
    }

/* Register tile R x 16*NV, S accumulator sets along kk, G blocks per range
 * (0 = the whole block row); ranges as the AVX2 kernels take them. Blocks of
 * 3, 5 and 6 rows take one row group of that height (at most 24
 * accumulators and 4 B vectors: 28 of the 32 zmm), 7 rows a group of 4 and
 * one of 3.
 *                 name                                 BR  BC  R  NV  S  G */
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x2_n64__avx512,           2,  2, 2, 4, 2, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x4_n64__avx512,           4,  4, 4, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x8_n64__avx512,           8,  8, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b16x16_n64__avx512,        16, 16, 4, 4, 1, 1)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b32x32_n64__avx512,        32, 32, 4, 4, 1, 1)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b1x4_n64__avx512,           1,  4, 1, 4, 4, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x1_n64__avx512,           4,  1, 4, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x1_n64__avx512,           8,  1, 4, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b16x1_n64__avx512,         16,  1, 4, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x3_n64__avx512,           3,  3, 3, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x5_n64__avx512,           5,  5, 5, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x6_n64__avx512,           6,  6, 6, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x7_n64__avx512,           7,  7, 4, 4, 1, 4)
/* Every other block r x c with r, c in 1..8 (1x1 has no BSR row: block size
 * 1 is unstructured sparsity, which runs the CSR kernels), as the rows above:
 * R = the block's rows up to 6 (one row group, as 3x3, 5x5, 6x6), 4 for 7
 * and 8 rows (as 7x7, 8x8); S as in avx2_fma.c (a divisor of c: 1 x c 4, 3
 * or 2 sets where c allows, 2 x even c 2 as 2x2, 2 x odd c 1, already 8
 * chains of 4 zmm); G: whole block rows for blocks of one row or one column
 * (as 1x4, 4x1, 8x1), else 16 blocks of up to 4 rows, 8 of 5 or 6 rows (as
 * 5x5, 6x6), 4 of 7 or 8 rows (as 7x7, 8x8). */
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b1x2_n64__avx512,           1,  2, 1, 4, 2, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b1x3_n64__avx512,           1,  3, 1, 4, 3, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b1x5_n64__avx512,           1,  5, 1, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b1x6_n64__avx512,           1,  6, 1, 4, 3, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b1x7_n64__avx512,           1,  7, 1, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b1x8_n64__avx512,           1,  8, 1, 4, 4, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x1_n64__avx512,           2,  1, 2, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x3_n64__avx512,           2,  3, 2, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x4_n64__avx512,           2,  4, 2, 4, 2, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x5_n64__avx512,           2,  5, 2, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x6_n64__avx512,           2,  6, 2, 4, 2, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x7_n64__avx512,           2,  7, 2, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b2x8_n64__avx512,           2,  8, 2, 4, 2, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x1_n64__avx512,           3,  1, 3, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x2_n64__avx512,           3,  2, 3, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x4_n64__avx512,           3,  4, 3, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x5_n64__avx512,           3,  5, 3, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x6_n64__avx512,           3,  6, 3, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x7_n64__avx512,           3,  7, 3, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b3x8_n64__avx512,           3,  8, 3, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x2_n64__avx512,           4,  2, 4, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x3_n64__avx512,           4,  3, 4, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x5_n64__avx512,           4,  5, 4, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x6_n64__avx512,           4,  6, 4, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x7_n64__avx512,           4,  7, 4, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b4x8_n64__avx512,           4,  8, 4, 4, 1, 16)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x1_n64__avx512,           5,  1, 5, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x2_n64__avx512,           5,  2, 5, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x3_n64__avx512,           5,  3, 5, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x4_n64__avx512,           5,  4, 5, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x6_n64__avx512,           5,  6, 5, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x7_n64__avx512,           5,  7, 5, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b5x8_n64__avx512,           5,  8, 5, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x1_n64__avx512,           6,  1, 6, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x2_n64__avx512,           6,  2, 6, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x3_n64__avx512,           6,  3, 6, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x4_n64__avx512,           6,  4, 6, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x5_n64__avx512,           6,  5, 6, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x7_n64__avx512,           6,  7, 6, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b6x8_n64__avx512,           6,  8, 6, 4, 1, 8)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x1_n64__avx512,           7,  1, 4, 4, 1, 0)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x2_n64__avx512,           7,  2, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x3_n64__avx512,           7,  3, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x4_n64__avx512,           7,  4, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x5_n64__avx512,           7,  5, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x6_n64__avx512,           7,  6, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b7x8_n64__avx512,           7,  8, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x2_n64__avx512,           8,  2, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x3_n64__avx512,           8,  3, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x4_n64__avx512,           8,  4, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x5_n64__avx512,           8,  5, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x6_n64__avx512,           8,  6, 4, 4, 1, 4)
KB5_DEF_BSR_SPMM(bsr_f32_spmm_b8x7_n64__avx512,           8,  7, 4, 4, 1, 4)

/* Any block shape: 16 blocks per range for blocks of up to 4 rows (one row
 * group), 4 for taller ones. */
KB5_DEF_BSR_RANGE(kb5_generic_short_range,                 0,  0, 4, 4, 1, 16)
KB5_DEF_BSR_RANGE(kb5_generic_range,                       0,  0, 4, 4, 1, 4)
KB5 void bsr_f32_spmm_generic_n64__avx512(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                                          const float *b, int64_t ldb, float *c, int64_t ldc,
                                          int32_t n, int32_t accumulate) {
    kb_bsr_drive(0, 0, KB_PANEL_BYTES, KB_MIN_SEGMENT_BYTES,
                 a->r <= 4 ? kb5_generic_short_range : kb5_generic_range, NULL, 0, a, row_begin,
                 row_end, b, ldb, c, ldc, n, accumulate);
}

/* ------------------------------------------------------------------------ */
/* BSR SpMV (n == 1)                                                        */
/* ------------------------------------------------------------------------ */

/* x[0..w) of block column j replicated over 4, 8 or 16 lanes (w = BC, a
 * power of 2 dividing the lane count; x is only float-aligned). */
KB5_INLINE __m128 kb5_x4(const int BC, const float *x, int32_t j) {
    if (BC == 4) return _mm_loadu_ps(x + 4 * (int64_t)j);
    if (BC == 2) {
        double pair;
        memcpy(&pair, x + 2 * (int64_t)j, sizeof pair);
        return _mm_castpd_ps(_mm_set1_pd(pair));
    }
    return _mm_set1_ps(x[j]);
}

KB5_INLINE __m256 kb5_x8(const int BC, const float *x, int32_t j) {
    if (BC == 8) return _mm256_loadu_ps(x + 8 * (int64_t)j);
    if (BC == 4) {
        const __m128 v = _mm_loadu_ps(x + 4 * (int64_t)j);
        return _mm256_set_m128(v, v);
    }
    if (BC == 2) {
        double pair;
        memcpy(&pair, x + 2 * (int64_t)j, sizeof pair);
        return _mm256_castpd_ps(_mm256_set1_pd(pair));
    }
    return _mm256_set1_ps(x[j]);
}

KB5_INLINE __m512 kb5_x16(const int BC, const float *x, int32_t j) {
    if (BC == 16) return _mm512_loadu_ps(x + 16 * (int64_t)j);
    if (BC == 8) return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(kb5_x8(8, x, j))));
    if (BC == 4) return _mm512_broadcast_f32x4(_mm_loadu_ps(x + 4 * (int64_t)j));
    if (BC == 2) {
        double pair;
        memcpy(&pair, x + 2 * (int64_t)j, sizeof pair);
        return _mm512_castpd_ps(_mm512_set1_pd(pair));
    }
    return _mm512_set1_ps(x[j]);
}

/* The x vector for the 16 values of A starting at block p (RC = BR * BC
 * values per block, 16 / RC blocks per vector). */
KB5_INLINE __m512 kb5_xvec(const int BR, const int BC, const float *x, const int32_t *cidx,
                           int32_t p) {
    const int RC = BR * BC;
    if (RC >= 16) return kb5_x16(BC, x, cidx[p]);
    if (RC == 8) {
        const __m512 lo = _mm512_castps256_ps512(kb5_x8(BC, x, cidx[p]));
        return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(lo),
                                                   _mm256_castps_pd(kb5_x8(BC, x, cidx[p + 1])), 1));
    }
    __m512 v = _mm512_castps128_ps512(kb5_x4(BC, x, cidx[p]));
    v = _mm512_insertf32x4(v, kb5_x4(BC, x, cidx[p + 1]), 1);
    v = _mm512_insertf32x4(v, kb5_x4(BC, x, cidx[p + 2]), 2);
    return _mm512_insertf32x4(v, kb5_x4(BC, x, cidx[p + 3]), 3);
}

/* Lane i of the result = the sum of the 8 lanes of v[i]. */
KB5_INLINE __m256 kb5_hsum8(const __m256 v[8]) {
    const __m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

KB5_INLINE __m256 kb5_lo(__m512 v) { return _mm512_castps512_ps256(v); }
KB5_INLINE __m256 kb5_hi(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

/* out[i] = the sum of the 16 lanes of v[i], i < 16 (a tree: halves added,
 * then two 8-way horizontal sums, instead of 16 separate reductions). */
KB5_INLINE void kb5_rowsums16(const __m512 v[16], float out[16]) {
    __m256 h[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) h[i] = _mm256_add_ps(kb5_lo(v[i]), kb5_hi(v[i]));
    _mm256_storeu_ps(out, kb5_hsum8(h));
    _mm256_storeu_ps(out + 8, kb5_hsum8(h + 8));
}

/* Writes y[i * ldy] for the first `cnt` rows of a block row. */
static inline void kb5_spmv_out(const float *sums, int32_t cnt, float *y, int64_t ldy,
                                int32_t accumulate) {
    for (int32_t i = 0; i < cnt; i++) {
        float *o = y + (int64_t)i * ldy;
        *o = accumulate ? *o + sums[i] : sums[i];
    }
}

/* Adds the partial last block column's block p (cols of its BC columns
 * exist) to sums, in scalar code (at most once per block row; x beyond k
 * need not exist). */
static inline void kb5_spmv_edge(const float *blk, int32_t r, int32_t cc, int32_t cols,
                                 const float *xb, float *sums) {
    for (int32_t i = 0; i < r; i++)
        for (int32_t kk = 0; kk < cols; kk++) sums[i] += blk[i * cc + kk] * xb[kk];
}

/* Blocks whose BR * BC values divide 16 (1x4, 2x2, 4x1, 8x1, 16x1, 4x4) or
 * are a multiple of 16 with rows of 1-16 columns, a power of 2 (8x8, 16x16):
 * A is read 16 values per zmm against x pieces replicated per block row
 * (kb5_xvec), VPB = RC / 16 vectors per block (1 for small blocks, which
 * share a vector), in 8 independent chains; lane l of vector v belongs to
 * row (16 v + l) % RC / BC. */
KB5_INLINE void kb5_spmv_packed(const int BR, const int BC, const kb_bsr *a, int32_t br,
                                const float *x, float *y, int64_t ldy, int32_t accumulate) {
    const int RC = BR * BC, BPV = RC < 16 ? 16 / RC : 1, VPB = RC < 16 ? 1 : RC / 16;
    const int SETS = VPB >= 8 ? 1 : 8 / VPB;
    const int32_t row0 = br * BR;
    const int32_t rows = kb5_min(BR, a->m - row0);
    const int32_t p0 = a->row_ptr[br], p1 = a->row_ptr[br + 1];
    const int32_t *cidx = a->col_idx;
    const float *vals = a->values;
    int32_t pe = p1; /* the partial last block column goes to kb5_spmv_edge */
    if (pe > p0 && (int64_t)(cidx[pe - 1] + 1) * BC > a->k) pe--;
    __m512 acc[8][16]; /* fixed sizes (no VLA); only [SETS][VPB] used */
#pragma GCC unroll 8
    for (int s = 0; s < SETS; s++)
#pragma GCC unroll 16
        for (int v = 0; v < VPB; v++) acc[s][v] = _mm512_setzero_ps();
    int32_t p = p0;
    for (; p + SETS * BPV <= pe; p += SETS * BPV) {
#pragma GCC unroll 8
        for (int s = 0; s < SETS; s++) {
            const int32_t ps = p + s * BPV;
            const __m512 xv = kb5_xvec(BR, BC, x, cidx, ps);
#pragma GCC unroll 16
            for (int v = 0; v < VPB; v++) {
                const float *av = vals + (int64_t)ps * RC + 16 * v;
                kb5_spmv_prefetch(av);
                acc[s][v] = _mm512_fmadd_ps(_mm512_loadu_ps(av), xv, acc[s][v]);
            }
        }
    }
    for (; p + BPV <= pe; p += BPV) {
        const __m512 xv = kb5_xvec(BR, BC, x, cidx, p);
#pragma GCC unroll 16
        for (int v = 0; v < VPB; v++)
            acc[0][v] = _mm512_fmadd_ps(_mm512_loadu_ps(vals + (int64_t)p * RC + 16 * v), xv, acc[0][v]);
    }
#pragma GCC unroll 8
    for (int s = 1; s < SETS; s++)
#pragma GCC unroll 16
        for (int v = 0; v < VPB; v++) acc[0][v] = _mm512_add_ps(acc[0][v], acc[s][v]);
    float sums[16];
    if (BC == 16 && VPB == 16) { /* a vector per row */
        kb5_rowsums16(acc[0], sums);
    } else if (BC == 8 && VPB == 4) { /* a vector per two rows */
        __m256 h[8];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            h[2 * v] = kb5_lo(acc[0][v]);
            h[2 * v + 1] = kb5_hi(acc[0][v]);
        }
        _mm256_storeu_ps(sums, kb5_hsum8(h));
    } else { /* rows of 1-4 lanes, or blocks sharing a vector */
        float lanes[256] __attribute__((aligned(64))); /* 16 * VPB used */
#pragma GCC unroll 16
        for (int v = 0; v < VPB; v++) _mm512_store_ps(lanes + 16 * v, acc[0][v]);
        for (int i = 0; i < BR; i++) sums[i] = 0.0f;
        for (int l = 0; l < 16 * VPB; l++) sums[l % RC / BC] += lanes[l];
    }
    for (; p < pe; p++) /* fewer blocks than a vector holds */
        kb5_spmv_edge(vals + (int64_t)p * RC, BR, BC, BC, x + (int64_t)cidx[p] * BC, sums);
    if (pe < p1)
        kb5_spmv_edge(vals + (int64_t)pe * RC, BR, BC, (int32_t)(a->k - (int64_t)cidx[pe] * BC),
                      x + (int64_t)cidx[pe] * BC, sums);
    kb5_spmv_out(sums, rows, y + (int64_t)row0 * ldy, ldy, accumulate);
}

/* Other shapes (32x32, generic with rows over 8 wide): row dot products, 16 rows of the block
 * row at a time, each block's row read in zmm pieces (the last one masked
 * where the row is not a multiple of 16 wide, and where the partial last
 * block column stops at k). BR/BC: compile-time shape, 0 = runtime. */
KB5_INLINE void kb5_spmv_rows(const int BR, const int BC, const kb_bsr *a, int32_t br,
                              const float *x, float *y, int64_t ldy, int32_t accumulate) {
    const int32_t r = BR ? BR : a->r;
    const int32_t cc = BC ? BC : a->c;
    const int64_t bstride = (int64_t)r * cc;
    const int32_t row0 = br * r;
    const int32_t rows = kb5_min(r, a->m - row0);
    const int32_t p0 = a->row_ptr[br], p1 = a->row_ptr[br + 1];
    const int32_t *cidx = a->col_idx;
    const int32_t nv = (cc + 15) / 16;
    for (int32_t i0 = 0; i0 < rows; i0 += 16) {
        const int32_t band = kb5_min(16, rows - i0);
        __m512 acc[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
        for (int32_t p = p0; p < p1; p++) {
            const float *ab = a->values + (int64_t)p * bstride + (int64_t)i0 * cc;
            const float *xb = x + (int64_t)cidx[p] * cc;
            const int64_t left_k = (int64_t)a->k - (int64_t)cidx[p] * cc;
            const int32_t cols = left_k < cc ? (int32_t)left_k : cc;
            for (int32_t v = 0; v < nv; v++) {
                const int32_t left = cols - 16 * v;
                if (left <= 0) break;
                const __mmask16 m = kb5_mask(left);
                const int full = left >= 16;
                const __m512 xv = full ? _mm512_loadu_ps(xb + 16 * v) : _mm512_maskz_loadu_ps(m, xb + 16 * v);
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                    if ((BR == 0 || BR % 16 != 0) && i >= band) break;
                    const float *ar = ab + (int64_t)i * cc + 16 * v;
                    const __m512 av = full ? _mm512_loadu_ps(ar) : _mm512_maskz_loadu_ps(m, ar);
                    acc[i] = _mm512_fmadd_ps(av, xv, acc[i]);
                }
            }
        }
        float sums[16];
        if (band > 8) {
            kb5_rowsums16(acc, sums);
        } else { /* up to 8 rows: their halves added, one 8-way horizontal sum */
            __m256 h[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) h[i] = _mm256_add_ps(kb5_lo(acc[i]), kb5_hi(acc[i]));
            _mm256_storeu_ps(sums, kb5_hsum8(h));
        }
        kb5_spmv_out(sums, band, y + (int64_t)(row0 + i0) * ldy, ldy, accumulate);
    }
}

/* Rows of at most 8 columns (generic shapes): row dot products in ymm (VL
 * masks), 8 rows of the block row at a time. A zmm load of a row this
 * narrow almost always spans two cache lines: 3x3 and 5x5 ran 0.66-0.71x of
 * AVX2 that way (M = K = 4096, 90%, paired). */
KB5_INLINE void kb5_spmv_narrow(const int BR, const int BC, const kb_bsr *a, int32_t br,
                                const float *x, float *y, int64_t ldy, int32_t accumulate) {
    const int32_t r = BR ? BR : a->r;
    const int32_t cc = BC ? BC : a->c;
    const int64_t bstride = (int64_t)r * cc;
    const int32_t row0 = br * r;
    const int32_t rows = kb5_min(r, a->m - row0);
    const int32_t p0 = a->row_ptr[br], p1 = a->row_ptr[br + 1];
    const int32_t *cidx = a->col_idx;
    const __mmask8 rowmask = (__mmask8)kb5_mask(cc);
    for (int32_t i0 = 0; i0 < rows; i0 += 8) {
        const int32_t band = kb5_min(8, rows - i0);
        __m256 acc[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_ps();
        for (int32_t p = p0; p < p1; p++) {
            const float *ab = a->values + (int64_t)p * bstride + (int64_t)i0 * cc;
            const int64_t left_k = (int64_t)a->k - (int64_t)cidx[p] * cc;
            const __mmask8 xm = left_k < cc ? (__mmask8)kb5_mask((int32_t)left_k) : rowmask;
            const __m256 xv = _mm256_maskz_loadu_ps(xm, x + (int64_t)cidx[p] * cc);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                if ((BR == 0 || BR % 8 != 0) && i >= band) break;
                acc[i] = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(rowmask, ab + (int64_t)i * cc), xv, acc[i]);
            }
        }
        float sums[8];
        _mm256_storeu_ps(sums, kb5_hsum8(acc));
        kb5_spmv_out(sums, band, y + (int64_t)(row0 + i0) * ldy, ldy, accumulate);
    }
}

/* Any shape at run time (the generic kernel): narrow rows in ymm, others in zmm. */
KB5_INLINE void kb5_spmv_any(const int BR, const int BC, const kb_bsr *a, int32_t br,
                             const float *x, float *y, int64_t ldy, int32_t accumulate) {
    if (a->c <= 8) kb5_spmv_narrow(BR, BC, a, br, x, y, ldy, accumulate);
    else kb5_spmv_rows(BR, BC, a, br, x, y, ldy, accumulate);
}

#define KB5_DEF_BSR_SPMV(fn, spmm, BR, BC, path)                                           \
    KB5 void fn(const kb_bsr *a, int32_t row_begin, int32_t row_end, const float *b,       \
                int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t accumulate) {       \
        if (n != 1 || ldb != 1 || (BR != 0 && (a->r != BR || a->c != BC))) {             \
            spmm(a, row_begin, row_end, b, ldb, c, ldc, n, accumulate);                    \
            return;                                                                        \
        }                                                                                  \
        for (int32_t br = row_begin; br < row_end; br++)                                   \
            path(BR, BC, a, br, b, c, ldc, accumulate);                                    \
    }

KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x2__avx512, bsr_f32_spmm_b2x2_n64__avx512, 2, 2, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x4__avx512, bsr_f32_spmm_b4x4_n64__avx512, 4, 4, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x8__avx512, bsr_f32_spmm_b8x8_n64__avx512, 8, 8, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b16x16__avx512, bsr_f32_spmm_b16x16_n64__avx512, 16, 16, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b32x32__avx512, bsr_f32_spmm_b32x32_n64__avx512, 32, 32, kb5_spmv_rows)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b1x4__avx512, bsr_f32_spmm_b1x4_n64__avx512, 1, 4, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x1__avx512, bsr_f32_spmm_b4x1_n64__avx512, 4, 1, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x1__avx512, bsr_f32_spmm_b8x1_n64__avx512, 8, 1, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b16x1__avx512, bsr_f32_spmm_b16x1_n64__avx512, 16, 1, kb5_spmv_packed)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x3__avx512, bsr_f32_spmm_b3x3_n64__avx512, 3, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x5__avx512, bsr_f32_spmm_b5x5_n64__avx512, 5, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x6__avx512, bsr_f32_spmm_b6x6_n64__avx512, 6, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x7__avx512, bsr_f32_spmm_b7x7_n64__avx512, 7, 7, kb5_spmv_narrow)
/* The other shapes up to 8x8 (see the SpMM rows): rows of at most 8 columns,
 * kb5_spmv_narrow, the path the generic kernel takes for them and 3x3-7x7
 * use, with the shape known at compile time. kb5_spmv_packed might serve the
 * power-of-2 shapes (1x8, 2x4, 4x2, 2x8, 8x2, 4x8, 8x4) better, but its x
 * pieces for them (kb5_x8 of 2- and 4-wide blocks, kb5_x16 of 2-wide ones)
 * have never run: that is a change to measure on an AVX-512 machine. */
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b1x2__avx512, bsr_f32_spmm_b1x2_n64__avx512, 1, 2, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b1x3__avx512, bsr_f32_spmm_b1x3_n64__avx512, 1, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b1x5__avx512, bsr_f32_spmm_b1x5_n64__avx512, 1, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b1x6__avx512, bsr_f32_spmm_b1x6_n64__avx512, 1, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b1x7__avx512, bsr_f32_spmm_b1x7_n64__avx512, 1, 7, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b1x8__avx512, bsr_f32_spmm_b1x8_n64__avx512, 1, 8, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x1__avx512, bsr_f32_spmm_b2x1_n64__avx512, 2, 1, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x3__avx512, bsr_f32_spmm_b2x3_n64__avx512, 2, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x4__avx512, bsr_f32_spmm_b2x4_n64__avx512, 2, 4, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x5__avx512, bsr_f32_spmm_b2x5_n64__avx512, 2, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x6__avx512, bsr_f32_spmm_b2x6_n64__avx512, 2, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x7__avx512, bsr_f32_spmm_b2x7_n64__avx512, 2, 7, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b2x8__avx512, bsr_f32_spmm_b2x8_n64__avx512, 2, 8, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x1__avx512, bsr_f32_spmm_b3x1_n64__avx512, 3, 1, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x2__avx512, bsr_f32_spmm_b3x2_n64__avx512, 3, 2, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x4__avx512, bsr_f32_spmm_b3x4_n64__avx512, 3, 4, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x5__avx512, bsr_f32_spmm_b3x5_n64__avx512, 3, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x6__avx512, bsr_f32_spmm_b3x6_n64__avx512, 3, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x7__avx512, bsr_f32_spmm_b3x7_n64__avx512, 3, 7, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b3x8__avx512, bsr_f32_spmm_b3x8_n64__avx512, 3, 8, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x2__avx512, bsr_f32_spmm_b4x2_n64__avx512, 4, 2, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x3__avx512, bsr_f32_spmm_b4x3_n64__avx512, 4, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x5__avx512, bsr_f32_spmm_b4x5_n64__avx512, 4, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x6__avx512, bsr_f32_spmm_b4x6_n64__avx512, 4, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x7__avx512, bsr_f32_spmm_b4x7_n64__avx512, 4, 7, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b4x8__avx512, bsr_f32_spmm_b4x8_n64__avx512, 4, 8, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x1__avx512, bsr_f32_spmm_b5x1_n64__avx512, 5, 1, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x2__avx512, bsr_f32_spmm_b5x2_n64__avx512, 5, 2, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x3__avx512, bsr_f32_spmm_b5x3_n64__avx512, 5, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x4__avx512, bsr_f32_spmm_b5x4_n64__avx512, 5, 4, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x6__avx512, bsr_f32_spmm_b5x6_n64__avx512, 5, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x7__avx512, bsr_f32_spmm_b5x7_n64__avx512, 5, 7, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b5x8__avx512, bsr_f32_spmm_b5x8_n64__avx512, 5, 8, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x1__avx512, bsr_f32_spmm_b6x1_n64__avx512, 6, 1, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x2__avx512, bsr_f32_spmm_b6x2_n64__avx512, 6, 2, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x3__avx512, bsr_f32_spmm_b6x3_n64__avx512, 6, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x4__avx512, bsr_f32_spmm_b6x4_n64__avx512, 6, 4, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x5__avx512, bsr_f32_spmm_b6x5_n64__avx512, 6, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x7__avx512, bsr_f32_spmm_b6x7_n64__avx512, 6, 7, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b6x8__avx512, bsr_f32_spmm_b6x8_n64__avx512, 6, 8, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x1__avx512, bsr_f32_spmm_b7x1_n64__avx512, 7, 1, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x2__avx512, bsr_f32_spmm_b7x2_n64__avx512, 7, 2, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x3__avx512, bsr_f32_spmm_b7x3_n64__avx512, 7, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x4__avx512, bsr_f32_spmm_b7x4_n64__avx512, 7, 4, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x5__avx512, bsr_f32_spmm_b7x5_n64__avx512, 7, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x6__avx512, bsr_f32_spmm_b7x6_n64__avx512, 7, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b7x8__avx512, bsr_f32_spmm_b7x8_n64__avx512, 7, 8, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x2__avx512, bsr_f32_spmm_b8x2_n64__avx512, 8, 2, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x3__avx512, bsr_f32_spmm_b8x3_n64__avx512, 8, 3, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x4__avx512, bsr_f32_spmm_b8x4_n64__avx512, 8, 4, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x5__avx512, bsr_f32_spmm_b8x5_n64__avx512, 8, 5, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x6__avx512, bsr_f32_spmm_b8x6_n64__avx512, 8, 6, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_b8x7__avx512, bsr_f32_spmm_b8x7_n64__avx512, 8, 7, kb5_spmv_narrow)
KB5_DEF_BSR_SPMV(bsr_f32_spmv_generic__avx512, bsr_f32_spmm_generic_n64__avx512, 0, 0, kb5_spmv_any)

/* ------------------------------------------------------------------------ */
/* CSR                                                                      */
/* ------------------------------------------------------------------------ */

/* One row x (16 * NV) columns; nonzeros round-robin over SS accumulator
 * sets (NV * SS >= 8 independent FMA chains). */
KB5_INLINE void kb5_csr_tile(const int NV, const int SS, const int MASKED, const float *vals,
                             const int32_t *cidx, int32_t nnz, const float *b, int64_t ldb,
                             float *cp, int32_t accumulate, __mmask16 mask) {
    __m512 acc[8][KB5_MAX_NV]; /* [SS][NV] */
#pragma GCC unroll 8
    for (int s = 0; s < SS; s++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[s][v] = _mm512_setzero_ps();
    if (accumulate)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[0][v] = kb5_ld(MASKED && v == NV - 1, cp + 16 * v, mask);
    int32_t p = 0;
    for (; p + SS <= nnz; p += SS) {
#pragma GCC unroll 8
        for (int s = 0; s < SS; s++) {
            const __m512 w = _mm512_set1_ps(vals[p + s]);
            const float *bp = b + (int64_t)cidx[p + s] * ldb;
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[s][v] = _mm512_fmadd_ps(w, kb5_ld(MASKED && v == NV - 1, bp + 16 * v, mask), acc[s][v]);
        }
    }
    for (; p < nnz; p++) {
        const __m512 w = _mm512_set1_ps(vals[p]);
        const float *bp = b + (int64_t)cidx[p] * ldb;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[0][v] = _mm512_fmadd_ps(w, kb5_ld(MASKED && v == NV - 1, bp + 16 * v, mask), acc[0][v]);
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        __m512 t = acc[0][v];
#pragma GCC unroll 8
        for (int s = 1; s < SS; s++) t = _mm512_add_ps(t, acc[s][v]);
        kb5_st(MASKED && v == NV - 1, cp + 16 * v, t, mask);
    }
}

KB5_INLINE void kb5_csr_pass(const int NV, const int SS, const int MASKED, const kb_csr *a,
                             int32_t rb, int32_t re, const float *b, int64_t ldb, float *c,
                             int64_t ldc, int32_t accumulate, __mmask16 mask) {
    for (int32_t i = rb; i < re; i++) {
        const int32_t p0 = a->row_ptr[i], p1 = a->row_ptr[i + 1];
        if (accumulate && p1 == p0) continue;
        kb5_csr_tile(NV, SS, MASKED, a->values + p0, a->col_idx + p0, p1 - p0, b, ldb,
                     c + (int64_t)i * ldc, accumulate, mask);
    }
}

/* K-panel worker of CSR as BSR with 1 x 1 blocks (bsr_drive.h). */
static KB5 __attribute__((noinline)) void kb5_csr_panel_range(
    const kb_bsr *a, int32_t br, int32_t q, int32_t q_end, int32_t tail, const float *b,
    int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t acc0, int32_t qnext) {
    kb5_bsr_range(1, 1, 1, 4, 1, 0, a, br, q, q_end, tail, b, ldb, c, ldc, n, acc0, qnext);
}

/* Column chunks of 64 outermost (for N = 64: one chunk, so A streams once),
 * then the N tail as one chunk of 1-4 zmm, the last one masked; or, when B
 * outgrows L2 and rows are long, K panels (bsr_drive.h). */
KB5 void csr_f32_spmm_n64__avx512(const kb_csr *a, int32_t row_begin, int32_t row_end,
                                  const float *b, int64_t ldb, float *c, int64_t ldc,
                                  int32_t n, int32_t accumulate) {
    const int64_t bbytes = (int64_t)a->k * n * (int64_t)sizeof(float);
    if (n % 64 == 0 && bbytes > KB_PANEL_BYTES) {
        const kb_bsr v = {a->m, a->k, 1, 1, a->m, a->k, a->row_ptr, a->col_idx, a->values};
        const int64_t min_segment = KB_CSR_MIN_SEGMENT * (int64_t)sizeof(float);
        if (kb_panel_cols(&v, 1, 1, row_begin, row_end, n, KB_CSR_PANEL_BYTES, min_segment) < v.kb) {
            kb_bsr_drive(1, 1, KB_CSR_PANEL_BYTES, min_segment, kb5_csr_panel_range, NULL, 0, &v,
                         row_begin, row_end, b, ldb, c, ldc, n, accumulate);
            return;
        }
    }
    int32_t j = 0;
    for (; j + 64 <= n; j += 64)
        kb5_csr_pass(4, 2, 0, a, row_begin, row_end, b + j, ldb, c + j, ldc, accumulate, 0xffff);
    if (j >= n) return;
    const int32_t vecs = (n - j + 15) / 16;
    const __mmask16 mask = kb5_mask(n - j - 16 * (vecs - 1));
    if (vecs == 4) kb5_csr_pass(4, 2, 1, a, row_begin, row_end, b + j, ldb, c + j, ldc, accumulate, mask);
    else if (vecs == 3) kb5_csr_pass(3, 3, 1, a, row_begin, row_end, b + j, ldb, c + j, ldc, accumulate, mask);
    else if (vecs == 2) kb5_csr_pass(2, 4, 1, a, row_begin, row_end, b + j, ldb, c + j, ldc, accumulate, mask);
    else kb5_csr_pass(1, 8, 1, a, row_begin, row_end, b + j, ldb, c + j, ldc, accumulate, mask);
}

/* CSR SpMV: 16 nonzeros at a time with a gather of x, two chains; the row's
 * tail under a mask. */
KB5 void csr_f32_spmv__avx512(const kb_csr *a, int32_t row_begin, int32_t row_end,
                              const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n,
                              int32_t accumulate) {
    if (n != 1 || ldb != 1) {
        csr_f32_spmm_n64__avx512(a, row_begin, row_end, b, ldb, c, ldc, n, accumulate);
        return;
    }
    for (int32_t i = row_begin; i < row_end; i++) {
        const int32_t p0 = a->row_ptr[i], p1 = a->row_ptr[i + 1];
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
        int32_t p = p0;
        for (; p + 32 <= p1; p += 32) {
            kb5_spmv_prefetch(a->values + p);
            kb5_spmv_prefetch(a->values + p + 16);
            kb5_spmv_prefetch((const float *)(a->col_idx + p));
            kb5_spmv_prefetch((const float *)(a->col_idx + p + 16));
            const __m512i i0 = _mm512_loadu_si512(a->col_idx + p);
            const __m512i i1 = _mm512_loadu_si512(a->col_idx + p + 16);
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a->values + p), _mm512_i32gather_ps(i0, b, 4), s0);
            s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a->values + p + 16), _mm512_i32gather_ps(i1, b, 4), s1);
        }
        for (; p < p1; p += 16) {
            const __mmask16 m = kb5_mask(p1 - p);
            const __m512i idx = _mm512_maskz_loadu_epi32(m, a->col_idx + p);
            const __m512 xv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, b, 4);
            s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a->values + p), xv, s0);
        }
        const float sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
        float *o = c + (int64_t)i * ldc;
        *o = accumulate ? *o + sum : sum;
    }
}

#endif /* __x86_64__ */
