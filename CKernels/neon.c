/* NEON kernels (aarch64 only). Registry rows: table_neon.h.
 *
 * Every kernel here is one register-tiled loop, instantiated with
 * compile-time constants through always-inline helpers (no near-copies):
 *
 *   for each block row, for each group of RG rows of it,
 *     for each column tile of NV float32x4 vectors (the last one W wide):
 *       acc[RG][NV] = accumulate ? C : 0
 *       for each block of the block row: acc += A_block[rows, :] * B[cols, tile]
 *       store the rows that exist
 *
 * - Square blocks whose width is a multiple of 4 read A in quads and use
 *   vfmaq_laneq_f32 (QUAD = 1); other squares, the generic kernel and the
 *   last, partial block column use vfmaq_n_f32 over the columns that exist,
 *   so B rows >= k are never read.
 * - Only real rows are stored. In the last block row the quad kernels
 *   compute the zero padding rows of the block; the other kernels, whose row
 *   groups may stick out of the block, compute duplicates of the group's
 *   last real row instead, which keeps every load in bounds without branches.
 * - N tails: full tiles, then 8- and 4-column tiles, then one partial vector
 *   loaded and stored lane by lane; columns >= n are never touched.
 * - accumulate == 0 never reads C (it may hold NaN).
 */
#include "kernelbench.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define KB_INLINE static inline __attribute__((always_inline))
#if defined(__clang__)
#define KB_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define KB_UNROLL _Pragma("GCC unroll 16")
#else
#define KB_UNROLL
#endif

#define KB_MAX_RG 8 /* rows per register tile */
#define KB_MAX_NV 4 /* float32x4 vectors per row of a register tile */

KB_INLINE int32_t kb_min_i32(int32_t x, int32_t y) { return x < y ? x : y; }

/* The first w (1..4) floats at p; the other lanes are 0 and not read. */
KB_INLINE float32x4_t kb_load(const float *p, int w) {
    if (w == 4) return vld1q_f32(p);
    float32x4_t v = vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
    if (w > 1) v = vld1q_lane_f32(p + 1, v, 1);
    if (w > 2) v = vld1q_lane_f32(p + 2, v, 2);
    return v;
}

/* Store the first w (1..4) lanes of v at p; memory past them is untouched. */
KB_INLINE void kb_store(float *p, float32x4_t v, int w) {
    if (w == 4) {
        vst1q_f32(p, v);
        return;
    }
    vst1q_lane_f32(p, v, 0);
    if (w > 1) vst1q_lane_f32(p + 1, v, 1);
    if (w > 2) vst1q_lane_f32(p + 2, v, 2);
}

/* NV vectors of one row starting at p, the last one w wide. */
KB_INLINE void kb_load_row(float32x4_t *dst, const float *p, int nv, int w) {
    KB_UNROLL for (int v = 0; v < nv; v++) dst[v] = kb_load(p + 4 * v, v == nv - 1 ? w : 4);
}

KB_INLINE void kb_store_row(float *p, const float32x4_t *src, int nv, int w) {
    KB_UNROLL for (int v = 0; v < nv; v++) kb_store(p + 4 * v, src[v], v == nv - 1 ? w : 4);
}

/*
 * Cover columns [0, n) with register tiles: TILE(nv, w, j) computes the
 * 4 * nv columns starting at j, the last vector w wide. Full NV-vector tiles
 * first, then 2- and 1-vector tiles, then one partial vector.
 */
#define KB_FOR_COLUMN_TILES(n, NV, TILE)                                         \
    do {                                                                         \
        int32_t j_ = 0;                                                          \
        for (; j_ + 4 * (NV) <= (n); j_ += 4 * (NV)) TILE(NV, 4, j_);            \
        if ((NV) > 2)                                                            \
            for (; j_ + 8 <= (n); j_ += 8) TILE(2, 4, j_);                       \
        if ((NV) > 1)                                                            \
            for (; j_ + 4 <= (n); j_ += 4) TILE(1, 4, j_);                       \
        switch ((n) - j_) {                                                      \
        case 3: TILE(1, 3, j_); break;                                           \
        case 2: TILE(1, 2, j_); break;                                           \
        case 1: TILE(1, 1, j_); break;                                           \
        default: break;                                                          \
        }                                                                        \
    } while (0)

/* ------------------------------------------------------------------ BSR -- */

/* acc[i][v] += B row (kq + l) * A[i][kq + l], A read as quads aq[i]. */
#define KB_QUAD_STEP(l)                                                          \
    do {                                                                         \
        float32x4_t bv_[KB_MAX_NV];                                              \
        kb_load_row(bv_, bp + (int64_t)(kq + (l)) * ldb, NV, W);                 \
        KB_UNROLL for (int i = 0; i < RG; i++)                                   \
            KB_UNROLL for (int v = 0; v < NV; v++)                               \
                acc[i][v] = vfmaq_laneq_f32(acc[i][v], bv_[v], aq[i], (l));      \
    } while (0)

/*
 * One register tile: rows [g, g + RG) of block row br (the first nrows of
 * them real), columns [0, 4 * NV) of b/c (which point at the tile's first
 * column; c also at row br * R + g). R x CC is the block shape.
 */
KB_INLINE void kb_bsr_tile(const kb_bsr *a, int32_t br, int32_t g, int32_t nrows,
                           const float *b, int64_t ldb, float *c, int64_t ldc,
                           int32_t accumulate, const int32_t R, const int32_t CC,
                           const int RG, const int NV, const int W, const int QUAD) {
    float32x4_t acc[KB_MAX_RG][KB_MAX_NV];
    float *crow[KB_MAX_RG];
    KB_UNROLL for (int i = 0; i < RG; i++) {
        crow[i] = c + (int64_t)kb_min_i32(i, nrows - 1) * ldc;
        if (accumulate) {
            kb_load_row(acc[i], crow[i], NV, W);
        } else {
            KB_UNROLL for (int v = 0; v < NV; v++) acc[i][v] = vdupq_n_f32(0.0f);
        }
    }
    const int32_t p_end = a->row_ptr[br + 1];
    for (int32_t p = a->row_ptr[br]; p < p_end; p++) {
        const int32_t col0 = a->col_idx[p] * CC;
        const int32_t cols = kb_min_i32(CC, a->k - col0);
        const float *blk = a->values + ((int64_t)p * R + g) * CC;
        const float *arow[KB_MAX_RG];
        /* Square kernels: RG divides R, so the group's rows (padding rows
         * included) lie inside the block and need no clamping. */
        KB_UNROLL for (int i = 0; i < RG; i++)
            arow[i] = blk + (int64_t)(QUAD ? i : kb_min_i32(i, nrows - 1)) * CC;
        const float *bp = b + (int64_t)col0 * ldb;
        if (QUAD && cols == CC) {
            KB_UNROLL for (int32_t kq = 0; kq < CC; kq += 4) {
                float32x4_t aq[KB_MAX_RG];
                KB_UNROLL for (int i = 0; i < RG; i++) aq[i] = vld1q_f32(arow[i] + kq);
                KB_QUAD_STEP(0);
                KB_QUAD_STEP(1);
                KB_QUAD_STEP(2);
                KB_QUAD_STEP(3);
            }
        } else {
            /* Generic blocks and the partial last block column. */
            for (int32_t kk = 0; kk < cols; kk++) {
                float32x4_t bv[KB_MAX_NV];
                kb_load_row(bv, bp + (int64_t)kk * ldb, NV, W);
                KB_UNROLL for (int i = 0; i < RG; i++) {
                    const float s = arow[i][kk];
                    KB_UNROLL for (int v = 0; v < NV; v++) acc[i][v] = vfmaq_n_f32(acc[i][v], bv[v], s);
                }
            }
        }
    }
    KB_UNROLL for (int i = 0; i < RG; i++)
        if (i < nrows) kb_store_row(crow[i], acc[i], NV, W);
}

/* All columns of one row group. */
KB_INLINE void kb_bsr_row_group(const kb_bsr *a, int32_t br, int32_t g, int32_t nrows,
                                const float *b, int64_t ldb, float *c, int64_t ldc,
                                int32_t n, int32_t accumulate, const int32_t R,
                                const int32_t CC, const int RG, const int NV, const int QUAD) {
#define KB_BSR_TILE(nv, w, j)                                                             \
    kb_bsr_tile(a, br, g, nrows, b + (j), ldb, c + (j), ldc, accumulate, R, CC, RG, nv, w, \
                QUAD)
    KB_FOR_COLUMN_TILES(n, NV, KB_BSR_TILE);
#undef KB_BSR_TILE
}

/* Square RC x RC blocks, RG rows x NV vectors per register tile. Widths
 * that are a multiple of 4 read A in quads (QUAD = 1, RG must divide RC);
 * the others (2, 3, 5, 6, 7) run the per-column loop, whose row groups are
 * clamped to the block's real rows. */
KB_INLINE void kb_bsr_square(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                             const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n,
                             int32_t accumulate, const int32_t RC, const int RG,
                             const int NV) {
    if (n <= 0) return;
    for (int32_t br = row_begin; br < row_end; br++) {
        if (accumulate && a->row_ptr[br] == a->row_ptr[br + 1]) continue;
        const int32_t row0 = br * RC;
        const int32_t rows = kb_min_i32(RC, a->m - row0);
        for (int32_t g = 0; g < rows; g += RG)
            kb_bsr_row_group(a, br, g, kb_min_i32(RG, rows - g), b, ldb,
                             c + (int64_t)(row0 + g) * ldc, ldc, n, accumulate, RC, RC, RG, NV,
                             RC % 4 == 0);
    }
}

#define KB_NEON_BSR_SQUARE(RC, TILE, RG, NV)                                              \
    void bsr_f32_spmm_b##RC##x##RC##_n##TILE##__neon(                                     \
        const kb_bsr *a, int32_t row_begin, int32_t row_end, const float *b, int64_t ldb, \
        float *c, int64_t ldc, int32_t n, int32_t accumulate) {                           \
        kb_bsr_square(a, row_begin, row_end, b, ldb, c, ldc, n, accumulate, RC, RG, NV);  \
    }

/* Registers: RG * NV accumulators + RG A quads + NV B vectors <= 32. */
KB_NEON_BSR_SQUARE(4, 16, 4, 4)
KB_NEON_BSR_SQUARE(8, 8, 8, 2)
KB_NEON_BSR_SQUARE(8, 16, 4, 4)
KB_NEON_BSR_SQUARE(16, 8, 8, 2)
KB_NEON_BSR_SQUARE(16, 16, 4, 4)
/* Squares 2, 3, 5, 6 and 7 (per-column loop: RG * NV accumulators + NV B
 * vectors + an A scalar <= 32): one row group of the whole block, 16 columns
 * per tile (RG * 4 + 5 <= 29 registers); 7x7 8 columns (7 * 2 + 3 = 17),
 * as 16 would need 7 * 4 + 5 = 33. */
KB_NEON_BSR_SQUARE(2, 16, 2, 4)
KB_NEON_BSR_SQUARE(3, 16, 3, 4)
KB_NEON_BSR_SQUARE(5, 16, 5, 4)
KB_NEON_BSR_SQUARE(6, 16, 6, 4)
KB_NEON_BSR_SQUARE(7, 8, 7, 2)

/* Any r x c: row groups of 4, 2 or 1 rows, 8 columns per tile. */
void bsr_f32_spmm_generic_n8__neon(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                                   const float *b, int64_t ldb, float *c, int64_t ldc,
                                   int32_t n, int32_t accumulate) {
    if (n <= 0) return;
    const int32_t r = a->r, bc = a->c;
    for (int32_t br = row_begin; br < row_end; br++) {
        if (accumulate && a->row_ptr[br] == a->row_ptr[br + 1]) continue;
        const int32_t row0 = br * r;
        const int32_t rows = kb_min_i32(r, a->m - row0);
        for (int32_t g = 0; g < rows;) {
            const int32_t left = rows - g;
            float *cg = c + (int64_t)(row0 + g) * ldc;
            if (left >= 3) {
                kb_bsr_row_group(a, br, g, kb_min_i32(4, left), b, ldb, cg, ldc, n, accumulate,
                                 r, bc, 4, 2, 0);
                g += 4;
            } else if (left == 2) {
                kb_bsr_row_group(a, br, g, 2, b, ldb, cg, ldc, n, accumulate, r, bc, 2, 2, 0);
                g += 2;
            } else {
                kb_bsr_row_group(a, br, g, 1, b, ldb, cg, ldc, n, accumulate, r, bc, 1, 2, 0);
                g += 1;
            }
        }
    }
}

/* ------------------------------------------------------------------ CSR -- */

/* One row, 4 * NV columns: two accumulator sets over alternate nonzeros. */
KB_INLINE void kb_csr_tile(const kb_csr *a, int32_t i, const float *b, int64_t ldb, float *crow,
                           int32_t accumulate, const int NV, const int W) {
    float32x4_t s0[KB_MAX_NV], s1[KB_MAX_NV];
    if (accumulate) {
        kb_load_row(s0, crow, NV, W);
    } else {
        KB_UNROLL for (int v = 0; v < NV; v++) s0[v] = vdupq_n_f32(0.0f);
    }
    KB_UNROLL for (int v = 0; v < NV; v++) s1[v] = vdupq_n_f32(0.0f);
    int32_t p = a->row_ptr[i];
    const int32_t p_end = a->row_ptr[i + 1];
    for (; p + 1 < p_end; p += 2) {
        float32x4_t x0[KB_MAX_NV], x1[KB_MAX_NV];
        kb_load_row(x0, b + (int64_t)a->col_idx[p] * ldb, NV, W);
        kb_load_row(x1, b + (int64_t)a->col_idx[p + 1] * ldb, NV, W);
        const float w0 = a->values[p], w1 = a->values[p + 1];
        KB_UNROLL for (int v = 0; v < NV; v++) {
            s0[v] = vfmaq_n_f32(s0[v], x0[v], w0);
            s1[v] = vfmaq_n_f32(s1[v], x1[v], w1);
        }
    }
    if (p < p_end) {
        float32x4_t x0[KB_MAX_NV];
        kb_load_row(x0, b + (int64_t)a->col_idx[p] * ldb, NV, W);
        const float w0 = a->values[p];
        KB_UNROLL for (int v = 0; v < NV; v++) s0[v] = vfmaq_n_f32(s0[v], x0[v], w0);
    }
    KB_UNROLL for (int v = 0; v < NV; v++) s0[v] = vaddq_f32(s0[v], s1[v]);
    kb_store_row(crow, s0, NV, W);
}

KB_INLINE void kb_csr_rows(const kb_csr *a, int32_t row_begin, int32_t row_end, const float *b,
                           int64_t ldb, float *c, int64_t ldc, int32_t n, int32_t accumulate,
                           const int NV) {
    if (n <= 0) return;
    for (int32_t i = row_begin; i < row_end; i++) {
        if (accumulate && a->row_ptr[i] == a->row_ptr[i + 1]) continue;
        float *crow = c + (int64_t)i * ldc;
#define KB_CSR_TILE(nv, w, j) kb_csr_tile(a, i, b + (j), ldb, crow + (j), accumulate, nv, w)
        KB_FOR_COLUMN_TILES(n, NV, KB_CSR_TILE);
#undef KB_CSR_TILE
    }
}

#define KB_NEON_CSR(TILE, NV)                                                             \
    void csr_f32_spmm_n##TILE##__neon(const kb_csr *a, int32_t row_begin, int32_t row_end, \
                                      const float *b, int64_t ldb, float *c, int64_t ldc,  \
                                      int32_t n, int32_t accumulate) {                     \
        kb_csr_rows(a, row_begin, row_end, b, ldb, c, ldc, n, accumulate, NV);            \
    }

KB_NEON_CSR(8, 2)
KB_NEON_CSR(16, 4)

#endif /* __aarch64__ */
