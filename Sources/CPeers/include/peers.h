/*
 * peers.h — vendor libraries measured beside KernelBench's kernels, loaded at
 * run time with dlopen (no build or link dependency).
 *
 * Intel MKL through its single dynamic library libmkl_rt: BSR and CSR
 * through the inspector-executor API (mkl_sparse_s_create_bsr / _csr,
 * mkl_sparse_s_mm, mkl_sparse_s_mv at N = 1) and dense through
 * cblas_sgemm / cblas_sgemv. The LP64 interface is selected before any other
 * call, so MKL_INT is int32_t here. Not thread-safe: load and call from one
 * thread (the suite's timing thread).
 */
#ifndef KERNELBENCH_PEERS_H
#define KERNELBENCH_PEERS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loads MKL from `path` (a file) or, when `path` is NULL, through the
 * loader's search for libmkl_rt.so.3, .so.2, .so. Returns 0 on success;
 * otherwise writes one line into `error` (naming what was tried and why it
 * failed) and returns -1. Loading twice keeps the first library. */
int kb_mkl_load(const char *path, char *error, size_t error_size);
/* The loaded library's file (as passed or found) and MKL's version string. */
const char *kb_mkl_path(void);
const char *kb_mkl_version(void);
/* The MKL major version (e.g. 2026), or 0 when it could not be read. */
int kb_mkl_major_version(void);
/* Sets MKL's thread count for calls from this thread
 * (mkl_set_num_threads_local, dynamic adjustment off) and returns what MKL
 * then reports as its thread count (mkl_get_max_threads). */
int kb_mkl_set_threads(int threads);

/* A sparse matrix handle of MKL's inspector-executor API; the arrays passed
 * at creation must outlive it (MKL does not copy them). */
typedef struct kb_mkl_sparse kb_mkl_sparse;

/* sparse_status_t values are returned as int: 0 success. */
/* BSR with square blocks of side `block`, row-major blocks, zero-based:
 * `block_rows` x `block_cols` blocks; row_ptr has block_rows + 1 entries. */
int kb_mkl_create_bsr(kb_mkl_sparse **out, int block_rows, int block_cols, int block, int32_t *row_ptr,
                      int32_t *col_idx, float *values);
int kb_mkl_create_csr(kb_mkl_sparse **out, int rows, int cols, int32_t *row_ptr, int32_t *col_idx, float *values);
/* The mm hint (n columns of B, row-major) or, for n == 1, the mv hint, for
 * `expected_calls` products; then mkl_sparse_optimize. Writes the hint's and
 * optimize's statuses. */
void kb_mkl_optimize(kb_mkl_sparse *a, int n, int expected_calls, int *hint_status, int *optimize_status);
/* C = A * B (row-major, n columns): mkl_sparse_s_mv for n == 1 (x is column 0
 * of B with stride ldb, y column 0 of C with stride ldc: both must be 1
 * then), mkl_sparse_s_mm otherwise. Returns the sparse_status_t. */
int kb_mkl_sparse_multiply(const kb_mkl_sparse *a, const float *b, int n, int ldb, float *c, int ldc);
void kb_mkl_destroy(kb_mkl_sparse *a);
/* C = A * B with dense row-major A (m x k, lda): cblas_sgemv for n == 1,
 * cblas_sgemm otherwise. */
void kb_mkl_dense_multiply(int m, int k, int n, const float *a, int lda, const float *b, int ldb, float *c, int ldc);
/* Text of a sparse_status_t ("SPARSE_STATUS_NOT_SUPPORTED"). */
const char *kb_mkl_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif
