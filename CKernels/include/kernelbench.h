/*
 * kernelbench.h — the one contract between the microkernels, the registry,
 * the dispatcher, the Swift drivers, the tests and the benchmarks.
 *
 * Operation
 * ---------
 *   C[m x n]  = A[m x k] * B[k x n]     (accumulate == 0: C is write-only;
 *                                         its previous contents, NaN included,
 *                                         are never read)
 *   C[m x n] += A[m x k] * B[k x n]     (accumulate != 0)
 *
 * A is sparse (BSR or CSR), B and C are dense, row-major fp32 with leading
 * dimensions ldb >= n and ldc >= n, in ELEMENTS (never bytes).
 *
 * BSR layout (block shape r x c, here r = c = 2, m = 5, k = 6)
 * -----------------------------------------------------------
 *
 *        block col:   0     1     2          mb = ceil(m / r) = 3 block rows
 *                  +-----+-----+-----+       kb = ceil(k / c) = 3 block cols
 *   block row 0    | a b |     | e f |       row_ptr = { 0, 2, 3, 4 }
 *                  | c d |     | g h |       col_idx = { 0, 2,  1,  2 }
 *                  +-----+-----+-----+       values  = { a b c d,  e f g h,
 *   block row 1    |     | i j |     |                   i j k l,  m n 0 0 }
 *                  |     | k l |     |
 *                  +-----+-----+-----+       Each block is stored row-major
 *   block row 2    |     |     | m n |       (r*c floats), blocks one after
 *                  +  -  +  -  +  -  +       another in row_ptr/col_idx order.
 *                    (row 5 is padding)
 *
 * - Indices are int32 and count blocks: row_ptr has mb + 1 entries starting at
 *   0 and non-decreasing; col_idx[j] in [0, kb), strictly increasing within a
 *   block row (sorted, no duplicates). nnzb = row_ptr[mb].
 * - Edge blocks: when r does not divide m (or c does not divide k) the last
 *   block row (column) is padded. Padded entries of `values` are exactly 0.
 *
 * What a kernel may assume
 * ------------------------
 * - The matrix satisfies the invariants above (the Swift layer validates).
 * - 0 <= row_begin <= row_end <= mb; n >= 0; ldb, ldc >= n.
 * - b, c point at column 0 of the column range this call computes; callers
 *   split along N by offsetting b and c and passing a smaller n.
 * - No alignment beyond that of float.
 *
 * What a kernel owns
 * ------------------
 * - Edge tiles: it must never read B rows >= k (the padded columns of the
 *   last block column) nor write C rows >= m (the padded rows of the last
 *   block row). Padding is zero in A, but B beyond k need not exist.
 * - N tails: any n, including 0 and values that are not multiples of the
 *   vector width or the register tile; it must not touch columns >= n.
 * - It writes exactly C rows [row_begin * r, min(row_end * r, m)), columns
 *   [0, n). Block rows without blocks produce zero rows (or leave C as is
 *   when accumulating).
 */
#ifndef KERNELBENCH_H
#define KERNELBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A BSR matrix as the kernels see it (borrowed pointers). */
typedef struct kb_bsr {
    int32_t m, k;           /* logical shape, elements */
    int32_t r, c;           /* block shape */
    int32_t mb, kb;         /* ceil(m / r), ceil(k / c) */
    const int32_t *row_ptr; /* mb + 1 entries, in blocks */
    const int32_t *col_idx; /* nnzb entries, block column indices */
    const float *values;    /* nnzb * r * c, each block row-major */
} kb_bsr;

/** A CSR matrix as the kernels see it (borrowed pointers). */
typedef struct kb_csr {
    int32_t m, k;
    const int32_t *row_ptr; /* m + 1 entries */
    const int32_t *col_idx; /* nnz entries, sorted within a row */
    const float *values;    /* nnz entries */
} kb_csr;

/** BSR SpMM over block rows [row_begin, row_end). */
typedef void (*kb_bsr_fn)(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                          const float *b, int64_t ldb, float *c, int64_t ldc,
                          int32_t n, int32_t accumulate);

/** CSR SpMM over rows [row_begin, row_end). */
typedef void (*kb_csr_fn)(const kb_csr *a, int32_t row_begin, int32_t row_end,
                          const float *b, int64_t ldb, float *c, int64_t ldc,
                          int32_t n, int32_t accumulate);

typedef enum kb_isa {
    KB_ISA_SCALAR = 0,
    KB_ISA_AVX2_FMA = 1,
    KB_ISA_NEON = 2,
    KB_ISA_AVX512 = 3, /* AVX-512 F + VL (x86-64), with the OS saving ZMM state */
} kb_isa;

typedef enum kb_format {
    KB_FORMAT_BSR = 0,
    KB_FORMAT_CSR = 1,
} kb_format;

/** Which N a kernel is specialised for. */
typedef enum kb_nclass {
    KB_N_ANY = 0, /* any n >= 0 */
    KB_N_ONE = 1, /* SpMV path: selected only for n == 1 (still correct for any n) */
} kb_nclass;

/**
 * One row of the kernel registry. block_rows/block_cols are 0 for a generic
 * kernel that handles every block shape. tile_n is the register tile along N
 * (columns computed per inner iteration).
 */
typedef struct kb_kernel_info {
    const char *name; /* op, block, tile, "__", ISA: bsr_f32_spmm_b8x8_n24__avx2_fma */
    kb_format format;
    kb_isa isa;
    int32_t block_rows, block_cols;
    int32_t tile_n;
    kb_nclass n_class;
    kb_bsr_fn bsr; /* set when format == KB_FORMAT_BSR */
    kb_csr_fn csr; /* set when format == KB_FORMAT_CSR */
} kb_kernel_info;

/** The registry: every kernel compiled for this architecture. */
const kb_kernel_info *kb_kernels(int32_t *count);

/** Name of an ISA: "scalar", "avx2_fma", "neon", "avx512". */
const char *kb_isa_name(kb_isa isa);

/**
 * Whether this CPU (and build) can run kernels of this ISA. AVX-512 needs
 * CPUID's AVX-512 F and VL and an OS that saves the opmask and ZMM state
 * (XCR0 bits 1, 2, 5, 6 and 7, read with XGETBV).
 */
int kb_isa_supported(kb_isa isa);

/** The best ISA this CPU runs: avx512, else avx2_fma, else neon, else scalar. */
kb_isa kb_best_isa(void);

/**
 * The ISA dispatch may use: the best supported one, or the one named by the
 * environment variable KERNELBENCH_ISA ("scalar", "avx2_fma", "avx512", "neon") when it
 * is set and supported. Returns -1 when KERNELBENCH_ISA names an ISA that is
 * unknown or unsupported here (the caller reports it).
 */
int kb_dispatch_isa(void);

/**
 * Dispatch: the best registered kernel for this format, block shape and n at
 * ISA `isa` or below (scalar is always available). Preference: exact block
 * shape over generic; for n == 1 a KB_N_ONE kernel; otherwise KB_N_ANY.
 * Returns NULL only for an unknown format.
 */
const kb_kernel_info *kb_select(kb_format format, int32_t block_rows,
                                int32_t block_cols, int32_t n, kb_isa isa);

/** Look a kernel up by its registered name; NULL if absent. */
const kb_kernel_info *kb_find(const char *name);

/** CPU model string ("unknown" when unreadable); static storage. */
const char *kb_cpu_model(void);

/**
 * Measure the FMA throughput of one core: runs `iterations` rounds of
 * independent FMA chains at the best ISA this CPU runs (kb_best_isa(),
 * whatever KERNELBENCH_ISA says) and returns the FLOPs executed (2 per lane
 * per FMA). The caller times it.
 */
double kb_fma_probe(int64_t iterations, float *sink);

/** kb_fma_probe at ISA `isa`; 0 (nothing run) when this CPU lacks it. */
double kb_fma_probe_isa(kb_isa isa, int64_t iterations, float *sink);

/**
 * Load probe: sums the first floats - floats % 32 floats of buf (32-byte
 * aligned) `passes` times at the bandwidth of the cache that holds them (at
 * the best ISA: AVX-512, else AVX2, else scalar) and returns the bytes read. The
 * caller times it; a buffer that fits in L2 makes it a probe of the core's
 * own load bandwidth, which a workload sharing the core slows down.
 */
double kb_load_probe(const float *buf, int64_t floats, int64_t passes, float *sink);

/** STREAM triad a[i] = b[i] + s*c[i] (moves 12 bytes per element). */
void kb_triad(float *a, const float *b, const float *c, float s, int64_t n);

/**
 * One spin-wait step: the CPU's pause hint (x86 `pause`, Arm `yield`), so a
 * thread polling a flag yields its core's resources to the other hardware
 * thread and leaves the loop without a memory-order mis-speculation.
 */
void kb_spin_pause(void);

/** The CPU the calling thread runs on now (-1 where the OS does not say). */
int kb_current_cpu(void);

/** Compiler and flags the kernels were built with; static storage. */
const char *kb_compiler_info(void);

/** Scalar reference kernels, also used by the C-level tests. */
void bsr_f32_spmm_generic__scalar(const kb_bsr *a, int32_t row_begin, int32_t row_end,
                                  const float *b, int64_t ldb, float *c, int64_t ldc,
                                  int32_t n, int32_t accumulate);
void csr_f32_spmm__scalar(const kb_csr *a, int32_t row_begin, int32_t row_end,
                          const float *b, int64_t ldb, float *c, int64_t ldc,
                          int32_t n, int32_t accumulate);

#ifdef __cplusplus
}
#endif

#endif /* KERNELBENCH_H */
