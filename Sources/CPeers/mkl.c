/*
 * mkl.c — Intel MKL loaded with dlopen; see include/peers.h.
 *
 * The prototypes below are MKL's own (mkl_spblas.h, mkl_cblas.h,
 * mkl_service.h) with MKL_INT = int (LP64, selected at load) and MKL's enum
 * values spelled out, so nothing of MKL is needed to build. The service
 * functions are looked up by their C names (mkl_service.h defines
 * mkl_set_dynamic as MKL_Set_Dynamic, and so on): the lower-case symbols of
 * libmkl_rt are the Fortran interface, which takes pointers.
 */
#define _GNU_SOURCE
#include "peers.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* MKL 2019 is the first release whose inspector-executor API has every call used here with these semantics. */
#define KB_MKL_OLDEST 2019

/* mkl_spblas.h */
enum {
    SPARSE_STATUS_SUCCESS = 0,
    SPARSE_OPERATION_NON_TRANSPOSE = 10,
    SPARSE_MATRIX_TYPE_GENERAL = 20,
    SPARSE_FILL_MODE_FULL = 42,
    SPARSE_DIAG_NON_UNIT = 50,
    SPARSE_INDEX_BASE_ZERO = 0,
    SPARSE_LAYOUT_ROW_MAJOR = 101,
};
struct matrix_descr {
    int type; /* sparse_matrix_type_t */
    int mode; /* sparse_fill_mode_t */
    int diag; /* sparse_diag_type_t */
};
/* mkl_cblas.h */
enum { CblasRowMajor = 101, CblasNoTrans = 111 };
/* mkl_service.h */
enum { MKL_INTERFACE_LP64 = 0, MKL_THREADING_INTEL = 0 };

typedef void *sparse_matrix_t;

static struct {
    void *handle;
    char path[4096];
    char version[256];
    int major;
    int (*create_bsr)(sparse_matrix_t *, int, int, int, int, int, int *, int *, int *, float *);
    int (*create_csr)(sparse_matrix_t *, int, int, int, int *, int *, int *, float *);
    int (*mm)(int, float, const sparse_matrix_t, struct matrix_descr, int, const float *, int, int, float, float *, int);
    int (*mv)(int, float, const sparse_matrix_t, struct matrix_descr, const float *, float, float *);
    int (*mm_hint)(const sparse_matrix_t, int, struct matrix_descr, int, int, int);
    int (*mv_hint)(const sparse_matrix_t, int, struct matrix_descr, int);
    int (*optimize)(sparse_matrix_t);
    int (*destroy)(sparse_matrix_t);
    void (*sgemm)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
    void (*sgemv)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
    int (*set_num_threads_local)(int);
    int (*get_max_threads)(void);
    void (*set_dynamic)(int);
    void (*get_version_string)(char *, int);
    int (*set_interface_layer)(int);
    int (*set_threading_layer)(int);
} mkl;

struct kb_mkl_sparse {
    sparse_matrix_t a;
};

static const struct matrix_descr general = {SPARSE_MATRIX_TYPE_GENERAL, SPARSE_FILL_MODE_FULL, SPARSE_DIAG_NON_UNIT};

/* Resolves every symbol; on a missing one writes its name and returns -1. */
static int resolve(void *h, const char **missing) {
#define SYM(field, name)                                                                                             \
    do {                                                                                                             \
        *(void **)(&mkl.field) = dlsym(h, name);                                                                     \
        if (!mkl.field) {                                                                                            \
            *missing = name;                                                                                         \
            return -1;                                                                                               \
        }                                                                                                            \
    } while (0)
    /* mkl_sparse_s_mm first: a library without it is not MKL at all. */
    SYM(mm, "mkl_sparse_s_mm");
    SYM(get_version_string, "MKL_Get_Version_String");
    SYM(create_bsr, "mkl_sparse_s_create_bsr");
    SYM(create_csr, "mkl_sparse_s_create_csr");
    SYM(mv, "mkl_sparse_s_mv");
    SYM(mm_hint, "mkl_sparse_set_mm_hint");
    SYM(mv_hint, "mkl_sparse_set_mv_hint");
    SYM(optimize, "mkl_sparse_optimize");
    SYM(destroy, "mkl_sparse_destroy");
    SYM(sgemm, "cblas_sgemm");
    SYM(sgemv, "cblas_sgemv");
    SYM(set_num_threads_local, "MKL_Set_Num_Threads_Local");
    SYM(get_max_threads, "MKL_Get_Max_Threads");
    SYM(set_dynamic, "MKL_Set_Dynamic");
    SYM(set_interface_layer, "MKL_Set_Interface_Layer");
    SYM(set_threading_layer, "MKL_Set_Threading_Layer");
#undef SYM
    return 0;
}

/* The first number after "Version " ("... Library Version 2026.2.1-Product ..."), or 0. */
static int major_of(const char *version) {
    const char *v = strstr(version, "Version ");
    return v ? atoi(v + 8) : 0;
}

/* Tries one file (or soname); 0 on success, else writes why into error. */
static int try_open(const char *name, int is_path, char *error, size_t size) {
    if (is_path) {
        struct stat st;
        if (stat(name, &st) != 0) {
            snprintf(error, size, "no such file");
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(error, size, "is a directory, not the libmkl_rt library file");
            return -1;
        }
    }
    dlerror();
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(error, size, "%s", why ? why : "dlopen failed");
        return -1;
    }
    const char *missing = NULL;
    if (resolve(h, &missing) != 0) {
        int first = strcmp(missing, "mkl_sparse_s_mm") == 0;
        snprintf(error, size, first ? "not Intel MKL's libmkl_rt (it has no %s)"
                                    : "Intel MKL too old: it has no %s (KernelBench needs MKL %d or later)",
                 missing, KB_MKL_OLDEST);
        memset(&mkl, 0, sizeof mkl);
        dlclose(h);
        return -1;
    }
    char version[sizeof mkl.version] = {0};
    mkl.get_version_string(version, (int)sizeof version - 1);
    int major = major_of(version);
    if (major < KB_MKL_OLDEST) {
        snprintf(error, size, "Intel MKL too old: %s (KernelBench needs MKL %d or later)",
                 version[0] ? version : "version unknown", KB_MKL_OLDEST);
        memset(&mkl, 0, sizeof mkl);
        dlclose(h);
        return -1;
    }
    /* Before any computation: 32-bit indices, and the OpenMP threading layer
     * (libiomp5), so each case's thread count is honoured per call. */
    mkl.set_interface_layer(MKL_INTERFACE_LP64);
    if (!getenv("MKL_THREADING_LAYER")) mkl.set_threading_layer(MKL_THREADING_INTEL);
    mkl.set_dynamic(0);
    mkl.handle = h;
    mkl.major = major;
    snprintf(mkl.version, sizeof mkl.version, "%s", version);
    snprintf(mkl.path, sizeof mkl.path, "%s", name);
    return 0;
}

int kb_mkl_load(const char *path, char *error, size_t error_size) {
    if (mkl.handle) return 0;
    if (path) return try_open(path, 1, error, error_size);
    static const char *names[] = {"libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"};
    char last[1024] = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (try_open(names[i], 0, last, sizeof last) == 0) return 0;
        /* A library that was found but refused says why; otherwise keep looking. */
        if (strstr(last, "too old") || strstr(last, "not Intel MKL")) {
            snprintf(error, error_size, "%s: %s", names[i], last);
            return -1;
        }
    }
    snprintf(error, error_size, "none of libmkl_rt.so.3, libmkl_rt.so.2, libmkl_rt.so found by the loader's search (%s)",
             last);
    return -1;
}

const char *kb_mkl_path(void) { return mkl.path; }
const char *kb_mkl_version(void) { return mkl.version; }
int kb_mkl_major_version(void) { return mkl.major; }

int kb_mkl_set_threads(int threads) {
    if (!mkl.handle) return 0;
    mkl.set_dynamic(0);
    mkl.set_num_threads_local(threads);
    return mkl.get_max_threads();
}

int kb_mkl_create_bsr(kb_mkl_sparse **out, int block_rows, int block_cols, int block, int32_t *row_ptr,
                      int32_t *col_idx, float *values) {
    *out = NULL;
    kb_mkl_sparse *s = calloc(1, sizeof *s);
    if (!s) return 2; /* SPARSE_STATUS_ALLOC_FAILED */
    int status = mkl.create_bsr(&s->a, SPARSE_INDEX_BASE_ZERO, SPARSE_LAYOUT_ROW_MAJOR, block_rows, block_cols, block,
                                row_ptr, row_ptr + 1, col_idx, values);
    if (status != SPARSE_STATUS_SUCCESS) {
        free(s);
        return status;
    }
    *out = s;
    return status;
}

int kb_mkl_create_csr(kb_mkl_sparse **out, int rows, int cols, int32_t *row_ptr, int32_t *col_idx, float *values) {
    *out = NULL;
    kb_mkl_sparse *s = calloc(1, sizeof *s);
    if (!s) return 2;
    int status = mkl.create_csr(&s->a, SPARSE_INDEX_BASE_ZERO, rows, cols, row_ptr, row_ptr + 1, col_idx, values);
    if (status != SPARSE_STATUS_SUCCESS) {
        free(s);
        return status;
    }
    *out = s;
    return status;
}

void kb_mkl_optimize(kb_mkl_sparse *a, int n, int expected_calls, int *hint_status, int *optimize_status) {
    *hint_status = n == 1 ? mkl.mv_hint(a->a, SPARSE_OPERATION_NON_TRANSPOSE, general, expected_calls)
                          : mkl.mm_hint(a->a, SPARSE_OPERATION_NON_TRANSPOSE, general, SPARSE_LAYOUT_ROW_MAJOR, n,
                                        expected_calls);
    *optimize_status = mkl.optimize(a->a);
}

int kb_mkl_sparse_multiply(const kb_mkl_sparse *a, const float *b, int n, int ldb, float *c, int ldc) {
    if (n == 1 && ldb == 1 && ldc == 1) return mkl.mv(SPARSE_OPERATION_NON_TRANSPOSE, 1.0f, a->a, general, b, 0.0f, c);
    return mkl.mm(SPARSE_OPERATION_NON_TRANSPOSE, 1.0f, a->a, general, SPARSE_LAYOUT_ROW_MAJOR, b, n, ldb, 0.0f, c, ldc);
}

void kb_mkl_destroy(kb_mkl_sparse *a) {
    if (!a) return;
    if (mkl.handle) mkl.destroy(a->a);
    free(a);
}

void kb_mkl_dense_multiply(int m, int k, int n, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    if (n == 1)
        mkl.sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    else
        mkl.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

const char *kb_mkl_status_name(int status) {
    static const char *names[] = {"SPARSE_STATUS_SUCCESS",          "SPARSE_STATUS_NOT_INITIALIZED",
                                  "SPARSE_STATUS_ALLOC_FAILED",     "SPARSE_STATUS_INVALID_VALUE",
                                  "SPARSE_STATUS_EXECUTION_FAILED", "SPARSE_STATUS_INTERNAL_ERROR",
                                  "SPARSE_STATUS_NOT_SUPPORTED"};
    return status >= 0 && status < 7 ? names[status] : "unknown sparse_status_t";
}
