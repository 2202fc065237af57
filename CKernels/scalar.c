/* Portable scalar kernels: the fallback for every slot and the C-level
 * reference the other ISAs are tested against. No ISA extensions. */
#include "kernelbench.h"

static inline int32_t kb_min32(int32_t a, int32_t b) { return a < b ? a : b; }

void bsr_f32_spmm_generic__scalar(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                                  const float *b, int64_t ldb, float *c, int64_t ldc,
                                  int32_t n, int32_t accumulate) {
    const int32_t r = a->r, bc = a->c;
    for (int32_t br = row_begin; br < row_end; br++) {
        const int32_t row0 = br * r;
        const int32_t rows = kb_min32(r, a->m - row0);
        if (!accumulate) {
            for (int32_t i = 0; i < rows; i++) {
                float *crow = c + (int64_t)(row0 + i) * ldc;
                for (int32_t j = 0; j < n; j++) crow[j] = 0.0f;
            }
        }
        for (int32_t p = a->row_ptr[br]; p < a->row_ptr[br + 1]; p++) {
            const int32_t col0 = a->col_idx[p] * bc;
            const int32_t cols = kb_min32(bc, a->k - col0);
            const float *blk = a->values + (int64_t)p * r * bc;
            for (int32_t i = 0; i < rows; i++) {
                float *crow = c + (int64_t)(row0 + i) * ldc;
                for (int32_t kk = 0; kk < cols; kk++) {
                    const float w = blk[i * bc + kk];
                    const float *brow = b + (int64_t)(col0 + kk) * ldb;
                    for (int32_t j = 0; j < n; j++) crow[j] += w * brow[j];
                }
            }
        }
    }
}

/* SpMV flavour of the generic kernel: one dot product per output row. */
void bsr_f32_spmv_generic__scalar(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                                  const float *b, int64_t ldb, float *c, int64_t ldc,
                                  int32_t n, int32_t accumulate) {
    if (n != 1) {
        bsr_f32_spmm_generic__scalar(a, row_begin, row_end, b, ldb, c, ldc, n, accumulate);
        return;
    }
    const int32_t r = a->r, bc = a->c;
    float acc[64];
    for (int32_t br = row_begin; br < row_end; br++) {
        const int32_t row0 = br * r;
        const int32_t rows = kb_min32(r, a->m - row0);
        for (int32_t i0 = 0; i0 < rows; i0 += 64) {
            const int32_t chunk = kb_min32(64, rows - i0);
            for (int32_t i = 0; i < chunk; i++) acc[i] = 0.0f;
            for (int32_t p = a->row_ptr[br]; p < a->row_ptr[br + 1]; p++) {
                const int32_t col0 = a->col_idx[p] * bc;
                const int32_t cols = kb_min32(bc, a->k - col0);
                const float *blk = a->values + (int64_t)p * r * bc;
                for (int32_t i = 0; i < chunk; i++) {
                    float s = 0.0f;
                    for (int32_t kk = 0; kk < cols; kk++)
                        s += blk[(i0 + i) * bc + kk] * b[(int64_t)(col0 + kk) * ldb];
                    acc[i] += s;
                }
            }
            for (int32_t i = 0; i < chunk; i++) {
                float *out = c + (int64_t)(row0 + i0 + i) * ldc;
                *out = accumulate ? *out + acc[i] : acc[i];
            }
        }
    }
}

void csr_f32_spmm__scalar(const kb_csr *a, int32_t row_begin, int32_t row_end,
                          const float *b, int64_t ldb, float *c, int64_t ldc,
                          int32_t n, int32_t accumulate) {
    for (int32_t i = row_begin; i < row_end; i++) {
        float *crow = c + (int64_t)i * ldc;
        if (!accumulate)
            for (int32_t j = 0; j < n; j++) crow[j] = 0.0f;
        for (int32_t p = a->row_ptr[i]; p < a->row_ptr[i + 1]; p++) {
            const float w = a->values[p];
            const float *brow = b + (int64_t)a->col_idx[p] * ldb;
            for (int32_t j = 0; j < n; j++) crow[j] += w * brow[j];
        }
    }
}
