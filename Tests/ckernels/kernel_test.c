/*
 * kernel_test.c — C-level tests of every kernel in the registry.
 *
 * Self-contained: link with every CKernels .c file (scripts/test-ckernels.sh).
 * For each registered kernel it either prints
 *     SKIP <name>: ISA <isa> not supported on this CPU
 * or runs a sweep derived from the kernel's block shape and register tile
 * against a double-precision dense reference computed here:
 *   - M and K not multiples of the block (partial last block row/column),
 *     block (or element) density 0, 1 and in between, empty block rows;
 *   - n in {1..7, tile-1, tile, tile+1, tile+2, tile+3, 2*tile+5, 64, 100}
 *     (deduplicated) and n = 0;
 *   - ldb and ldc larger than n, b/c offset into their rows (as callers that
 *     split along N do), and tight layouts;
 *   - accumulate 0 with C pre-filled with NaN, accumulate 1 with finite C;
 *   - full and strict sub-ranges of the block rows.
 * Every array the kernel sees lives in an mmap'ed region whose end touches a
 * PROT_NONE guard page (a read or write past the end faults; the fault is
 * caught and reported), with canary bytes before the start; A and B are
 * read-only during the call. B columns outside [0, n) hold NaN, so a kernel
 * that uses them poisons C. Every C element outside the rows and columns the
 * call owns must be bit-for-bit unchanged.
 * Tolerance: |err| <= 4 eps_f32 (terms + 1) (sum_k |a_ik b_kj| + |c0_ij|) + tiny.
 *
 * Also checks the registry (unique names, naming convention) and dispatch
 * (kb_select, kb_dispatch_isa with KERNELBENCH_ISA, kb_find).
 *
 * Usage: kernel_test [name-substring]   (only kernels whose name contains it;
 *                                         registry/dispatch checks then skipped)
 * Last line: "kernel tests: N passed, M failed, K skipped"; exit 1 on failure.
 */
#define _GNU_SOURCE
#include "kernelbench.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------ PRNG -------- */

static uint64_t rng_state;

static uint64_t splitmix64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rnd_unit(void) { return (double)(splitmix64() >> 11) * 0x1.0p-53; } /* [0, 1) */
static float rnd_val(void) { return (float)(2.0 * rnd_unit() - 1.0); }              /* [-1, 1) */

/* ------------------------------------------------- guarded buffers -------- */

#define CANARY_BYTE 0xA5
static const uint32_t C_CANARY = 0x7fa5a5a5u; /* signalling NaN: C cells the call must not touch */
static const uint32_t C_NAN = 0x7fc00000u;    /* quiet NaN: C before an accumulate == 0 call */
static const uint32_t B_POISON = 0x7fc0beefu; /* quiet NaN: B columns outside [0, n) */

static size_t page_size;

typedef struct gbuf {
    unsigned char *map; /* guard page, data pages, guard page */
    size_t data_len;    /* bytes of data pages */
    size_t bytes;       /* requested size; data ends where the last guard begins */
    void *data;
} gbuf;

static void *gbuf_alloc(gbuf *g, size_t bytes) {
    g->bytes = bytes;
    g->data_len = (bytes + page_size - 1) / page_size * page_size;
    if (g->data_len == 0) g->data_len = page_size;
    size_t map_len = g->data_len + 2 * page_size;
    void *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    g->map = map;
    if (mprotect(g->map, page_size, PROT_NONE) != 0 ||
        mprotect(g->map + page_size + g->data_len, page_size, PROT_NONE) != 0) {
        perror("mprotect");
        exit(2);
    }
    unsigned char *data_pages = g->map + page_size;
    g->data = data_pages + g->data_len - bytes;
    memset(data_pages, CANARY_BYTE, g->data_len - bytes);
    return g->data;
}

/* Make the data read-only (A and B while a kernel runs). */
static void gbuf_seal(gbuf *g) {
    if (mprotect(g->map + page_size, g->data_len, PROT_READ) != 0) {
        perror("mprotect");
        exit(2);
    }
}

/* The canary bytes in front of the data are intact. */
static int gbuf_prefix_ok(const gbuf *g) {
    const unsigned char *p = g->map + page_size;
    size_t n = g->data_len - g->bytes;
    for (size_t i = 0; i < n; i++)
        if (p[i] != CANARY_BYTE) return 0;
    return 1;
}

static void gbuf_free(gbuf *g) {
    if (g->map) munmap(g->map, g->data_len + 2 * page_size);
    g->map = NULL;
}

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ------------------------------------------------ fault catching ---------- */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t in_kernel;
static volatile sig_atomic_t fault_signal;

static void on_fault(int sig) {
    if (in_kernel) {
        in_kernel = 0;
        fault_signal = sig;
        siglongjmp(fault_jmp, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_fault_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* ------------------------------------------------- test matrices ---------- */

/* A sparse matrix in the kernel's format plus its dense copy. */
typedef struct mcase {
    kb_format format;
    int32_t m, k, r, c, mb, kb;
    float *dense;     /* m * k, the reference's A */
    int32_t *terms;   /* per row: stored entries (terms of its sums) */
    gbuf g_rp, g_ci, g_val;
    kb_bsr bsr;
    kb_csr csr;
} mcase;

static void mcase_free(mcase *mc) {
    free(mc->dense);
    free(mc->terms);
    gbuf_free(&mc->g_rp);
    gbuf_free(&mc->g_ci);
    gbuf_free(&mc->g_val);
}

/*
 * BSR: each block present with probability `density`. For 0 < density < 1,
 * block row 1 is empty and block (0, kb - 1), the partial last block column,
 * is present. Padded entries are 0.
 */
static void make_bsr(mcase *mc, int32_t m, int32_t k, int32_t r, int32_t c, double density) {
    memset(mc, 0, sizeof *mc);
    mc->format = KB_FORMAT_BSR;
    mc->m = m, mc->k = k, mc->r = r, mc->c = c;
    mc->mb = (m + r - 1) / r;
    mc->kb = (k + c - 1) / c;
    const int32_t mb = mc->mb, kb = mc->kb;
    unsigned char *mask = calloc((size_t)mb * kb + 1, 1);
    int32_t nnzb = 0;
    for (int32_t bi = 0; bi < mb; bi++)
        for (int32_t bj = 0; bj < kb; bj++) {
            int on = density >= 1.0 ? 1 : density <= 0.0 ? 0 : rnd_unit() < density;
            if (density > 0.0 && density < 1.0) {
                if (bi == 1) on = 0;
                if (bi == 0 && bj == kb - 1) on = 1;
            }
            mask[(size_t)bi * kb + bj] = (unsigned char)on;
            nnzb += on;
        }
    mc->dense = calloc((size_t)m * k + 1, sizeof(float));
    mc->terms = calloc((size_t)m + 1, sizeof(int32_t));
    int32_t *rp = gbuf_alloc(&mc->g_rp, (size_t)(mb + 1) * sizeof(int32_t));
    int32_t *ci = gbuf_alloc(&mc->g_ci, (size_t)nnzb * sizeof(int32_t));
    float *val = gbuf_alloc(&mc->g_val, (size_t)nnzb * r * c * sizeof(float));
    int32_t p = 0;
    rp[0] = 0;
    for (int32_t bi = 0; bi < mb; bi++) {
        for (int32_t bj = 0; bj < kb; bj++) {
            if (!mask[(size_t)bi * kb + bj]) continue;
            ci[p] = bj;
            float *blk = val + (size_t)p * r * c;
            for (int32_t i = 0; i < r; i++)
                for (int32_t j = 0; j < c; j++) {
                    const int32_t gi = bi * r + i, gj = bj * c + j;
                    float v = 0.0f;
                    if (gi < m && gj < k) {
                        v = rnd_val();
                        mc->dense[(size_t)gi * k + gj] = v;
                        mc->terms[gi]++;
                    }
                    blk[i * c + j] = v;
                }
            p++;
        }
        rp[bi + 1] = p;
    }
    free(mask);
    gbuf_seal(&mc->g_rp);
    gbuf_seal(&mc->g_ci);
    gbuf_seal(&mc->g_val);
    mc->bsr = (kb_bsr){m, k, r, c, mb, kb, rp, ci, val};
}

/* CSR: each entry present with probability `density`; for 0 < density < 1
 * row 1 is empty and row 0 holds column k - 1. */
static void make_csr(mcase *mc, int32_t m, int32_t k, double density) {
    memset(mc, 0, sizeof *mc);
    mc->format = KB_FORMAT_CSR;
    mc->m = m, mc->k = k, mc->r = 1, mc->c = 1, mc->mb = m, mc->kb = k;
    mc->dense = calloc((size_t)m * k + 1, sizeof(float));
    mc->terms = calloc((size_t)m + 1, sizeof(int32_t));
    unsigned char *mask = calloc((size_t)m * k + 1, 1);
    int32_t nnz = 0;
    for (int32_t i = 0; i < m; i++)
        for (int32_t j = 0; j < k; j++) {
            int on = density >= 1.0 ? 1 : density <= 0.0 ? 0 : rnd_unit() < density;
            if (density > 0.0 && density < 1.0) {
                if (i == 1) on = 0;
                if (i == 0 && j == k - 1) on = 1;
            }
            mask[(size_t)i * k + j] = (unsigned char)on;
            nnz += on;
        }
    int32_t *rp = gbuf_alloc(&mc->g_rp, (size_t)(m + 1) * sizeof(int32_t));
    int32_t *ci = gbuf_alloc(&mc->g_ci, (size_t)nnz * sizeof(int32_t));
    float *val = gbuf_alloc(&mc->g_val, (size_t)nnz * sizeof(float));
    int32_t p = 0;
    rp[0] = 0;
    for (int32_t i = 0; i < m; i++) {
        for (int32_t j = 0; j < k; j++) {
            if (!mask[(size_t)i * k + j]) continue;
            const float v = rnd_val();
            ci[p] = j;
            val[p] = v;
            mc->dense[(size_t)i * k + j] = v;
            mc->terms[i]++;
            p++;
        }
        rp[i + 1] = p;
    }
    free(mask);
    gbuf_seal(&mc->g_rp);
    gbuf_seal(&mc->g_ci);
    gbuf_seal(&mc->g_val);
    mc->csr = (kb_csr){m, k, rp, ci, val};
}

/* ------------------------------------------------------ one call ---------- */

typedef struct tally {
    int cases, failed;
} tally;

#define MAX_REPORTS 3

__attribute__((format(printf, 3, 4)))
static void report(const kb_kernel_info *ki, tally *t, const char *fmt, ...) {
    t->failed++;
    if (t->failed > MAX_REPORTS) return;
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL %s: ", ki->name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* Runs the kernel under the fault handler; 0, or the signal it raised. */
static int call_kernel(const kb_kernel_info *ki, const mcase *mc, int32_t rb, int32_t re,
                       const float *b, int64_t ldb, float *c, int64_t ldc, int32_t n,
                       int32_t acc) {
    fault_signal = 0;
    if (sigsetjmp(fault_jmp, 1) != 0) return fault_signal ? fault_signal : -1;
    in_kernel = 1;
    if (ki->format == KB_FORMAT_BSR)
        ki->bsr(&mc->bsr, rb, re, b, ldb, c, ldc, n, acc);
    else
        ki->csr(&mc->csr, rb, re, b, ldb, c, ldc, n, acc);
    in_kernel = 0;
    return 0;
}

typedef struct layout {
    int off, padb, padc; /* b, c start `off` columns into their rows; ld = off + n + pad */
} layout;

static const layout LAYOUTS[] = {{0, 0, 0}, {3, 5, 1}, {1, 17, 0}, {0, 2, 9}};
#define N_LAYOUTS ((int)(sizeof LAYOUTS / sizeof LAYOUTS[0]))

/*
 * One call on rows [rb, re) with n columns. bv (k x n) is B, p/s (m x n) the
 * exact product and sum of |terms| (ignored when n == 0). Returns 1 if it passed.
 */
static int run_case(const kb_kernel_info *ki, const mcase *mc, int32_t n, const float *bv,
                    const double *p, const double *s, int32_t acc, int32_t rb, int32_t re,
                    layout lay, tally *t) {
    const int32_t m = mc->m, k = mc->k;
    const int64_t ldb = lay.off + n + lay.padb, ldc = lay.off + n + lay.padc;
    const size_t b_elems = (size_t)k * ldb, c_elems = (size_t)m * ldc;
    gbuf gb = {0}, gc = {0};
    uint32_t *bu = gbuf_alloc(&gb, b_elems * sizeof(float));
    uint32_t *cu = gbuf_alloc(&gc, c_elems * sizeof(float));
    for (size_t i = 0; i < b_elems; i++) bu[i] = B_POISON;
    for (int32_t i = 0; i < k; i++)
        for (int32_t j = 0; j < n; j++) bu[(size_t)i * ldb + lay.off + j] = f2u(bv[(size_t)i * n + j]);
    gbuf_seal(&gb);
    for (size_t i = 0; i < c_elems; i++) cu[i] = C_CANARY;
    const int32_t row_lo = rb * mc->r;
    const int32_t row_hi = re * mc->r < m ? re * mc->r : m;
    for (int32_t i = row_lo; i < row_hi; i++)
        for (int32_t j = 0; j < n; j++)
            cu[(size_t)i * ldc + lay.off + j] = acc ? f2u(rnd_val() * 4.0f) : C_NAN;
    uint32_t *before = malloc(c_elems * sizeof(uint32_t) + 1);
    memcpy(before, cu, c_elems * sizeof(uint32_t));

    t->cases++;
    const int failed_before = t->failed;
    const int sig = call_kernel(ki, mc, rb, re, (const float *)gb.data + lay.off, ldb,
                                (float *)gc.data + lay.off, ldc, n, acc);
    char where[160];
    snprintf(where, sizeof where,
             "m=%d k=%d block=%dx%d n=%d acc=%d rows=[%d,%d) of %d ldb=%lld ldc=%lld off=%d", m, k,
             mc->r, mc->c, n, acc, rb, re, mc->mb, (long long)ldb, (long long)ldc, lay.off);
    if (sig != 0) {
        report(ki, t, "signal %d (out-of-bounds access or write to read-only A/B); %s", sig,
               where);
    } else {
        if (!gbuf_prefix_ok(&gb) || !gbuf_prefix_ok(&gc) || !gbuf_prefix_ok(&mc->g_rp) ||
            !gbuf_prefix_ok(&mc->g_ci) || !gbuf_prefix_ok(&mc->g_val))
            report(ki, t, "canary in front of A, B or C overwritten; %s", where);
        int bad = 0;
        for (int32_t i = 0; i < m && !bad; i++)
            for (int64_t jj = 0; jj < ldc && !bad; jj++) {
                const size_t at = (size_t)i * ldc + jj;
                const int64_t j = jj - lay.off;
                const int owned = i >= row_lo && i < row_hi && j >= 0 && j < n;
                if (!owned) {
                    if (cu[at] != before[at]) {
                        report(ki, t, "C[%d][%lld] outside the call's rows/columns changed "
                                      "(0x%08x -> 0x%08x); %s",
                               i, (long long)j, before[at], cu[at], where);
                        bad = 1;
                    }
                    continue;
                }
                const double c0 = acc ? (double)u2f(before[at]) : 0.0;
                const double want = c0 + p[(size_t)i * n + j];
                const double got = (double)u2f(cu[at]);
                const double tol =
                    4.0 * FLT_EPSILON * (mc->terms[i] + 1) * (s[(size_t)i * n + j] + fabs(c0)) +
                    1e-30;
                if (!(fabs(got - want) <= tol)) {
                    report(ki, t, "C[%d][%lld] = %.9g, want %.9g (tol %.3g); %s", i,
                           (long long)j, got, want, tol, where);
                    bad = 1;
                }
            }
    }
    free(before);
    gbuf_free(&gb);
    gbuf_free(&gc);
    return t->failed == failed_before;
}

/* All calls on one matrix: n = 0, then each n with 4 row-range/accumulate runs. */
static void run_matrix(const kb_kernel_info *ki, const mcase *mc, const int32_t *ns, int nn,
                       tally *t) {
    const int32_t m = mc->m, k = mc->k, mb = mc->mb;
    /* n = 0: must neither crash nor write. */
    run_case(ki, mc, 0, NULL, NULL, NULL, 0, 0, mb, LAYOUTS[1], t);
    run_case(ki, mc, 0, NULL, NULL, NULL, 1, 0, mb, LAYOUTS[3], t);
    for (int ni = 0; ni < nn; ni++) {
        const int32_t n = ns[ni];
        float *bv = malloc((size_t)k * n * sizeof(float) + 1);
        double *p = calloc((size_t)m * n + 1, sizeof(double));
        double *s = calloc((size_t)m * n + 1, sizeof(double));
        for (size_t i = 0; i < (size_t)k * n; i++) bv[i] = rnd_val();
        for (int32_t i = 0; i < m; i++)
            for (int32_t kk = 0; kk < k; kk++) {
                const double a = mc->dense[(size_t)i * k + kk];
                if (a == 0.0) continue;
                for (int32_t j = 0; j < n; j++) {
                    const double prod = a * (double)bv[(size_t)kk * n + j];
                    p[(size_t)i * n + j] += prod;
                    s[(size_t)i * n + j] += fabs(prod);
                }
            }
        /* Row ranges: full, from 1 to the end (the partial last block row),
         * the middle (or all but the last). With mb == 1 the last two are empty. */
        const int32_t sub_a = mb > 1 ? 1 : mb;
        const int32_t mid_b = mb >= 3 ? 1 : 0, mid_e = mb >= 1 ? mb - 1 : 0;
        const struct {
            int32_t acc, rb, re;
        } runs[4] = {{0, 0, mb}, {1, 0, mb}, {0, sub_a, mb}, {1, mid_b, mid_e}};
        for (int ri = 0; ri < 4; ri++)
            run_case(ki, mc, n, bv, p, s, runs[ri].acc, runs[ri].rb, runs[ri].re,
                     LAYOUTS[(ni + ri) % N_LAYOUTS], t);
        free(bv);
        free(p);
        free(s);
    }
}

/* ------------------------------------------------------- sweeps ----------- */

static int add_n(int32_t *ns, int nn, int32_t n) {
    if (n <= 0) return nn;
    for (int i = 0; i < nn; i++)
        if (ns[i] == n) return nn;
    ns[nn] = n;
    return nn + 1;
}

static int n_sweep(int32_t tile, int32_t *ns) {
    /* 1..7 hit every tail of 4- and 8-wide vectors; tile + 2, tile + 3 the
     * tails after a full tile. */
    const int32_t cand[] = {1,        2,        3,        4,        5,  6,  7,
                            tile - 1, tile,     tile + 1, tile + 2, tile + 3,
                            2 * tile + 5, 64, 100};
    int nn = 0;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) nn = add_n(ns, nn, cand[i]);
    return nn;
}

/* Matrix configurations in blocks: mb x kb blocks, trimmed by dm rows and dk
 * columns (so the last block row/column is partial), at a block density. */
typedef struct bcfg {
    int32_t mb, kb;
    int dm_num, dm_den; /* trim rows: r * dm_num / dm_den, clamped to r - 1 */
    int dk_num, dk_den;
    double density;
} bcfg;

static const bcfg BSR_CFGS[] = {
    {3, 4, 1, 1, 1, 1, 0.5},  /* last block row and column one wide */
    {5, 3, 0, 1, 0, 1, 1.0},  /* exact multiples, every block present */
    {4, 5, 1, 2, 1, 2, 0.0},  /* no blocks at all */
    {6, 2, 1, 3, 2, 3, 0.35}, /* block row 1 empty, edge column present */
    {1, 1, 1, 1, 1, 1, 1.0},  /* 1 x 1 matrix inside one block */
    {2, 7, 1, 4, 1, 5, 0.6},
    {2, 9, 0, 1, 1, 1, 1.0},  /* 8 full blocks per row (unrolled SpMV loops), then a one-wide one */
};

static int32_t trim(int32_t blocks, int32_t size, int num, int den) {
    int32_t t = size * num / den;
    if (t > size - 1) t = size - 1;
    return blocks * size - t;
}

typedef struct ccfg {
    int32_t m, k;
    double density;
} ccfg;

static const ccfg CSR_CFGS[] = {
    {1, 1, 1.0}, {37, 53, 0.3}, {20, 9, 1.0}, {13, 17, 0.0}, {64, 100, 0.1}, {5, 300, 0.5},
};

/* 12x12: taller than 8 rows, read slice by slice; 16x16, 20x13 (a partial
 * last slice) and 72x4 (two bands): read block by block by the AVX2 SpMV. */
static const int32_t GENERIC_SHAPES[][2] = {{1, 1}, {2, 3},   {3, 5},   {4, 4},  {7, 2},
                                            {8, 8}, {12, 12}, {16, 16}, {20, 13}, {72, 4}};

static void test_kernel(const kb_kernel_info *ki, tally *t) {
    int32_t ns[32];
    const int nn = n_sweep(ki->tile_n, ns);
    mcase mc;
    if (ki->format == KB_FORMAT_CSR) {
        for (size_t ci = 0; ci < sizeof CSR_CFGS / sizeof CSR_CFGS[0]; ci++) {
            make_csr(&mc, CSR_CFGS[ci].m, CSR_CFGS[ci].k, CSR_CFGS[ci].density);
            run_matrix(ki, &mc, ns, nn, t);
            mcase_free(&mc);
        }
        return;
    }
    const int generic = ki->block_rows == 0 && ki->block_cols == 0;
    const int nshapes = generic ? (int)(sizeof GENERIC_SHAPES / sizeof GENERIC_SHAPES[0]) : 1;
    for (int si = 0; si < nshapes; si++) {
        const int32_t r = generic ? GENERIC_SHAPES[si][0] : ki->block_rows;
        const int32_t c = generic ? GENERIC_SHAPES[si][1] : ki->block_cols;
        for (size_t ci = 0; ci < sizeof BSR_CFGS / sizeof BSR_CFGS[0]; ci++) {
            const bcfg *cf = &BSR_CFGS[ci];
            const int32_t m = trim(cf->mb, r, cf->dm_num, cf->dm_den);
            const int32_t k = trim(cf->kb, c, cf->dk_num, cf->dk_den);
            make_bsr(&mc, m, k, r, c, cf->density);
            run_matrix(ki, &mc, ns, nn, t);
            mcase_free(&mc);
        }
    }
}

/* ------------------------------------------- registry and dispatch -------- */

static int checks, check_failures;

__attribute__((format(printf, 2, 3)))
static void check(int ok, const char *fmt, ...) {
    checks++;
    if (ok) return;
    check_failures++;
    if (check_failures > 10) return;
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL dispatch: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static int ends_with(const char *s, const char *suffix) {
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static void check_registry(void) {
    int32_t count;
    const kb_kernel_info *all = kb_kernels(&count);
    check(count > 0, "empty registry");
    for (int32_t i = 0; i < count; i++) {
        const kb_kernel_info *k = &all[i];
        char buf[96];
        check(k->name != NULL && k->name[0] != '\0', "kernel %d has no name", i);
        if (k->name == NULL) continue;
        for (int32_t j = 0; j < i; j++)
            check(strcmp(all[j].name, k->name) != 0, "duplicate name %s", k->name);
        snprintf(buf, sizeof buf, "__%s", kb_isa_name(k->isa));
        check(ends_with(k->name, buf), "%s: name does not end with %s", k->name, buf);
        const char *prefix = k->format == KB_FORMAT_BSR ? "bsr_f32_" : "csr_f32_";
        check(strncmp(k->name, prefix, strlen(prefix)) == 0, "%s: name does not start with %s",
              k->name, prefix);
        check(k->format == KB_FORMAT_BSR ? k->bsr != NULL && k->csr == NULL
                                         : k->csr != NULL && k->bsr == NULL,
              "%s: function pointer does not match the format", k->name);
        check(k->tile_n >= 1, "%s: tile_n %d < 1", k->name, k->tile_n);
        if (k->format == KB_FORMAT_BSR && k->block_rows > 0) {
            snprintf(buf, sizeof buf, "_b%dx%d_", k->block_rows, k->block_cols);
            check(strstr(k->name, buf) != NULL, "%s: name lacks %s", k->name, buf);
        }
        if (k->format == KB_FORMAT_BSR)
            check((k->block_rows == 0) == (k->block_cols == 0),
                  "%s: half-generic block %dx%d", k->name, k->block_rows, k->block_cols);
        check(kb_find(k->name) == k, "kb_find(%s) does not return its row", k->name);
    }
    check(kb_find("no_such_kernel__scalar") == NULL, "kb_find of an unknown name is not NULL");
}

/* Is there a kernel kb_select may take at exactly this ISA (exact or generic)? */
static int candidate_at(kb_format f, int32_t r, int32_t c, int32_t n, kb_isa isa,
                        int need_exact) {
    int32_t count;
    const kb_kernel_info *all = kb_kernels(&count);
    for (int32_t i = 0; i < count; i++) {
        const kb_kernel_info *k = &all[i];
        if (k->format != f || k->isa != isa || !kb_isa_supported(isa)) continue;
        if (k->n_class == KB_N_ONE && n != 1) continue;
        const int exact = f == KB_FORMAT_CSR || (k->block_rows == r && k->block_cols == c);
        const int generic = k->block_rows == 0 && k->block_cols == 0;
        if (exact || (!need_exact && generic)) return 1;
    }
    return 0;
}

static void check_select(kb_isa isa) {
    static const int32_t shapes[][2] = {{1, 1}, {2, 3}, {3, 5},   {4, 4},   {7, 2},
                                        {8, 8}, {16, 16}, {32, 32}, {4, 8}, {1, 16}};
    static const int32_t ns[] = {0, 1, 2, 7, 8, 16, 100};
    for (int f = KB_FORMAT_BSR; f <= KB_FORMAT_CSR; f++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                const int32_t r = shapes[si][0], c = shapes[si][1], n = ns[ni];
                const kb_kernel_info *k = kb_select((kb_format)f, r, c, n, isa);
                check(k != NULL, "kb_select(fmt %d, %dx%d, n %d, %s) = NULL", f, r, c, n,
                      kb_isa_name(isa));
                if (k == NULL) continue;
                const char *nm = k->name;
                check(k->format == (kb_format)f, "%s: wrong format", nm);
                check(kb_isa_supported(k->isa), "%s selected but ISA unsupported", nm);
                check(k->isa == isa || k->isa == KB_ISA_SCALAR,
                      "%s selected for ISA %s", nm, kb_isa_name(isa));
                if (f == KB_FORMAT_BSR) {
                    const int exact = k->block_rows == r && k->block_cols == c;
                    const int generic = k->block_rows == 0 && k->block_cols == 0;
                    check(exact || generic, "%s selected for block %dx%d", nm, r, c);
                    if (!exact && candidate_at(KB_FORMAT_BSR, r, c, n, k->isa, 1))
                        check(0, "%s selected for %dx%d though an exact kernel exists", nm, r,
                              c);
                }
                if (n != 1)
                    check(k->n_class != KB_N_ONE, "%s (an n == 1 kernel) selected for n = %d",
                          nm, n);
                if (candidate_at((kb_format)f, r, c, n, isa, 0))
                    check(k->isa == isa, "%s selected though a %s kernel exists for %dx%d n %d",
                          nm, kb_isa_name(isa), r, c, n);
            }
    check(kb_select((kb_format)7, 4, 4, 16, isa) == NULL, "kb_select of an unknown format");
}

static void check_dispatch(void) {
    const char *saved = getenv("KERNELBENCH_ISA");
    char *saved_copy = saved ? strdup(saved) : NULL;

    /* KERNELBENCH_ISA=scalar set before the first dispatch call. */
    setenv("KERNELBENCH_ISA", "scalar", 1);
    int d = kb_dispatch_isa();
    check(d == KB_ISA_SCALAR, "KERNELBENCH_ISA=scalar: kb_dispatch_isa() = %d", d);
    if (d == KB_ISA_SCALAR) {
        check_select(KB_ISA_SCALAR);
        for (int f = KB_FORMAT_BSR; f <= KB_FORMAT_CSR; f++) {
            const kb_kernel_info *k = kb_select((kb_format)f, 8, 8, 64, (kb_isa)d);
            check(k && k->isa == KB_ISA_SCALAR, "KERNELBENCH_ISA=scalar selected %s",
                  k ? k->name : "NULL");
        }
    }
    setenv("KERNELBENCH_ISA", "bogus", 1);
    check(kb_dispatch_isa() == -1, "KERNELBENCH_ISA=bogus is not rejected");
    for (int isa = KB_ISA_SCALAR; isa <= KB_ISA_AVX512; isa++) {
        setenv("KERNELBENCH_ISA", kb_isa_name((kb_isa)isa), 1);
        const int want = kb_isa_supported((kb_isa)isa) ? isa : -1;
        check(kb_dispatch_isa() == want, "KERNELBENCH_ISA=%s: kb_dispatch_isa() = %d, want %d",
              kb_isa_name((kb_isa)isa), kb_dispatch_isa(), want);
    }
    unsetenv("KERNELBENCH_ISA");
    d = kb_dispatch_isa();
    check(d >= 0 && kb_isa_supported((kb_isa)d), "kb_dispatch_isa() = %d unsupported", d);
    int best = KB_ISA_SCALAR;
    for (int isa = KB_ISA_SCALAR; isa <= KB_ISA_AVX512; isa++)
        if (kb_isa_supported((kb_isa)isa)) best = isa;
    check(d == best, "kb_dispatch_isa() = %d, best supported is %d", d, best);
    check(kb_best_isa() == (kb_isa)best, "kb_best_isa() = %d, best supported is %d", kb_best_isa(), best);
    check(!kb_isa_supported(KB_ISA_AVX512) || kb_isa_supported(KB_ISA_AVX2_FMA),
          "AVX-512 supported without AVX2/FMA");
    setenv("KERNELBENCH_ISA", "", 1);
    check(kb_dispatch_isa() == d, "KERNELBENCH_ISA empty is not the default");

    for (int isa = KB_ISA_SCALAR; isa <= KB_ISA_AVX512; isa++) check_select((kb_isa)isa);

    if (saved_copy) {
        setenv("KERNELBENCH_ISA", saved_copy, 1);
        free(saved_copy);
    } else {
        unsetenv("KERNELBENCH_ISA");
    }
}

/* ---------------------------------------------------------- main ---------- */

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    install_fault_handler();
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;

#if defined(__x86_64__)
    const char *arch = "x86_64";
#elif defined(__aarch64__)
    const char *arch = "aarch64";
#else
    const char *arch = "other";
#endif
    printf("kernel_test: %s, CPU: %s\n", arch, kb_cpu_model());

    if (filter == NULL) {
        check_dispatch();
        check_registry();
        if (check_failures == 0) {
            printf("PASS registry/dispatch: %d checks\n", checks);
            passed++;
        } else {
            printf("FAIL registry/dispatch: %d of %d checks failed\n", check_failures, checks);
            failed++;
        }
    }

    int32_t count;
    const kb_kernel_info *all = kb_kernels(&count);
    for (int32_t i = 0; i < count; i++) {
        const kb_kernel_info *ki = &all[i];
        if (filter && strstr(ki->name, filter) == NULL) continue;
        if (!kb_isa_supported(ki->isa)) {
            printf("SKIP %s: ISA %s not supported on this CPU\n", ki->name, kb_isa_name(ki->isa));
            skipped++;
            continue;
        }
        /* Fixed seed per kernel (from its name, so adding kernels changes nothing). */
        rng_state = 0x5EEDC0DEull;
        for (const char *q = ki->name; *q; q++) rng_state = (rng_state ^ (uint8_t)*q) * 0x100000001B3ull;
        tally t = {0, 0};
        test_kernel(ki, &t);
        if (t.failed == 0) {
            printf("PASS %s: %d cases\n", ki->name, t.cases);
            passed++;
        } else {
            printf("FAIL %s: %d of %d cases failed\n", ki->name, t.failed, t.cases);
            failed++;
        }
    }
    printf("kernel tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
}
