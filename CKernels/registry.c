/* The one kernel registry and the dispatcher that reads it.
 * Adding a kernel is one row in table_<isa>.h plus its function. */
#include "kernelbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* Declarations, generated from the tables. */
#define KB_BSR(fn, isa, br, bc, tile, ncls)                                           \
    void fn(const kb_bsr *, int32_t, int32_t, const float *, int64_t, float *, int64_t, \
            int32_t, int32_t);
#define KB_CSR(fn, isa, tile, ncls)                                                   \
    void fn(const kb_csr *, int32_t, int32_t, const float *, int64_t, float *, int64_t, \
            int32_t, int32_t);
#include "table_scalar.h"
#if defined(__x86_64__)
#include "table_avx2_fma.h"
#include "table_avx512.h"
#endif
#if defined(__aarch64__)
#include "table_neon.h"
#endif
#undef KB_BSR
#undef KB_CSR

#define KB_BSR(fn, isa, br, bc, tile, ncls) {#fn, KB_FORMAT_BSR, isa, br, bc, tile, ncls, fn, NULL},
#define KB_CSR(fn, isa, tile, ncls) {#fn, KB_FORMAT_CSR, isa, 1, 1, tile, ncls, NULL, fn},
static const kb_kernel_info kb_registry[] = {
#include "table_scalar.h"
#if defined(__x86_64__)
#include "table_avx2_fma.h"
#include "table_avx512.h"
#endif
#if defined(__aarch64__)
#include "table_neon.h"
#endif
};
#undef KB_BSR
#undef KB_CSR

const kb_kernel_info *kb_kernels(int32_t *count) {
    *count = (int32_t)(sizeof(kb_registry) / sizeof(kb_registry[0]));
    return kb_registry;
}

const char *kb_isa_name(kb_isa isa) {
    switch (isa) {
    case KB_ISA_SCALAR: return "scalar";
    case KB_ISA_AVX2_FMA: return "avx2_fma";
    case KB_ISA_NEON: return "neon";
    case KB_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

#if defined(__x86_64__)
#if defined(KB_AVX512_EMULATED)
/* Test builds whose avx512.c runs in portable C (avx512.c): usable anywhere. */
static int kb_avx512_usable(void) { return 1; }
#else
/* AVX-512 F and VL in CPUID leaf 7, and XCR0 (XGETBV, allowed once CPUID
 * reports OSXSAVE) with the SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM state
 * (bits 1, 2, 5, 6, 7) enabled: an OS that does not save the ZMM registers
 * on a context switch makes the instructions fault, whatever CPUID says. */
static int kb_avx512_usable(void) {
    unsigned a, b, c, d;
    /* OSXSAVE, and FMA (every AVX-512 CPU has it; the kernels' ymm code uses it) */
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || !(c & (1u << 12))) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b & (1u << 16)) || !(b & (1u << 31))) return 0; /* AVX512F, AVX512VL */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xe6u) == 0xe6u;
}
#endif
#endif

int kb_isa_supported(kb_isa isa) {
    switch (isa) {
    case KB_ISA_SCALAR: return 1;
    case KB_ISA_AVX2_FMA:
#if defined(__x86_64__)
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
        return 0;
#endif
    case KB_ISA_NEON:
#if defined(__aarch64__)
        return 1; /* Advanced SIMD is mandatory on AArch64 */
#else
        return 0;
#endif
    case KB_ISA_AVX512:
#if defined(__x86_64__)
        {
            /* CPUID and XGETBV once (each CPUID exits a VM); relaxed
             * atomics: threads that race compute the same value */
            static int usable = -1;
            int u = __atomic_load_n(&usable, __ATOMIC_RELAXED);
            if (u < 0) {
                u = kb_avx512_usable();
                __atomic_store_n(&usable, u, __ATOMIC_RELAXED);
            }
            return u;
        }
#else
        return 0;
#endif
    }
    return 0;
}

kb_isa kb_best_isa(void) {
    if (kb_isa_supported(KB_ISA_AVX512)) return KB_ISA_AVX512;
    if (kb_isa_supported(KB_ISA_AVX2_FMA)) return KB_ISA_AVX2_FMA;
    if (kb_isa_supported(KB_ISA_NEON)) return KB_ISA_NEON;
    return KB_ISA_SCALAR;
}

int kb_dispatch_isa(void) {
    const char *forced = getenv("KERNELBENCH_ISA");
    if (forced == NULL || forced[0] == '\0') return (int)kb_best_isa();
    for (int isa = KB_ISA_SCALAR; isa <= KB_ISA_AVX512; isa++) {
        if (strcmp(forced, kb_isa_name((kb_isa)isa)) == 0)
            return kb_isa_supported((kb_isa)isa) ? isa : -1;
    }
    return -1;
}

/* Score a candidate: ISA match beats exact block shape beats N class. */
static int kb_score(const kb_kernel_info *k, int32_t r, int32_t c, int32_t n, kb_isa isa) {
    if (k->isa != isa && k->isa != KB_ISA_SCALAR) return -1;
    if (!kb_isa_supported(k->isa)) return -1;
    int exact = k->block_rows == r && k->block_cols == c;
    int generic = k->block_rows == 0 && k->block_cols == 0;
    if (!exact && !generic) return -1;
    if (k->n_class == KB_N_ONE && n != 1) return -1;
    return (k->isa == isa) * 8 + exact * 4 + (k->n_class == KB_N_ONE) * 2;
}

const kb_kernel_info *kb_select(kb_format format, int32_t block_rows, int32_t block_cols,
                                int32_t n, kb_isa isa) {
    if (format == KB_FORMAT_CSR) block_rows = block_cols = 1;
    else if (format != KB_FORMAT_BSR) return NULL;
    const kb_kernel_info *best = NULL;
    int best_score = -1;
    int32_t count;
    const kb_kernel_info *all = kb_kernels(&count);
    for (int32_t i = 0; i < count; i++) {
        const kb_kernel_info *k = &all[i];
        if (k->format != format) continue;
        int s = kb_score(k, block_rows, block_cols, n, isa);
        if (s < 0) continue;
        /* Equal scores: prefer the widest register tile that n fills. */
        if (s > best_score ||
            (s == best_score && k->tile_n <= (n > 0 ? n : 1) && k->tile_n > best->tile_n)) {
            best = k;
            best_score = s;
        }
    }
    return best;
}

const kb_kernel_info *kb_find(const char *name) {
    int32_t count;
    const kb_kernel_info *all = kb_kernels(&count);
    for (int32_t i = 0; i < count; i++)
        if (strcmp(all[i].name, name) == 0) return &all[i];
    return NULL;
}

const char *kb_cpu_model(void) {
    static char model[256];
    static int done = 0;
    if (done) return model;
    snprintf(model, sizeof model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Model", 5) == 0) {
                char *colon = strchr(line, ':');
                if (colon) {
                    colon++;
                    while (*colon == ' ' || *colon == '\t') colon++;
                    size_t len = strcspn(colon, "\n");
                    if (len >= sizeof model) len = sizeof model - 1;
                    memcpy(model, colon, len);
                    model[len] = '\0';
                    break;
                }
            }
        }
        fclose(f);
    }
    done = 1;
    return model;
}
