/*
 * avx512_emulation.h — test builds only: the AVX-512 intrinsics
 * CKernels/avx512.c uses, in portable C, so its kernels' lane logic (tiles,
 * masked N tails, inserts, gathers, reductions) runs on a CPU without
 * AVX-512. scripts/test-ckernels.sh compiles avx512.c with
 * -DKB_AVX512_EMULATED, which includes this header in place of the target
 * attributes, and registry.c then reports AVX-512 as usable.
 *
 * What it proves: the kernels compute the right values and touch only the
 * memory they may (the tester's guard pages and canaries apply). What it
 * cannot: that the real instructions behave as modelled, or anything about
 * speed. A run on AVX-512 hardware stays the real test.
 *
 * Most intrinsics come from SIMDe (Debian libsimde-dev) through its native
 * aliases. SIMDe 0.7.4, Debian 12's, lacks the masked loads and stores, the
 * gathers and _mm512_reduce_add_ps; they are defined below one lane at a
 * time, reading and writing only the lanes the mask selects, as the
 * instructions do (a masked-off lane past the end of a buffer never faults).
 */
#ifndef KB_AVX512_EMULATION_H
#define KB_AVX512_EMULATION_H

/* immintrin.h first, so SIMDe's alias macros do not rewrite its declarations. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

static inline simde__m512 kb_emu_mm512_maskz_loadu_ps(simde__mmask16 k, const void *p) {
    simde__m512_private r;
    for (int i = 0; i < 16; i++)
        r.f32[i] = (k >> i) & 1 ? ((const float *)p)[i] : 0.0f;
    return simde__m512_from_private(r);
}

static inline simde__m512i kb_emu_mm512_maskz_loadu_epi32(simde__mmask16 k, const void *p) {
    simde__m512i_private r;
    for (int i = 0; i < 16; i++)
        r.i32[i] = (k >> i) & 1 ? ((const int32_t *)p)[i] : 0;
    return simde__m512i_from_private(r);
}

static inline simde__m256 kb_emu_mm256_maskz_loadu_ps(simde__mmask8 k, const void *p) {
    simde__m256_private r;
    for (int i = 0; i < 8; i++)
        r.f32[i] = (k >> i) & 1 ? ((const float *)p)[i] : 0.0f;
    return simde__m256_from_private(r);
}

static inline void kb_emu_mm512_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 a) {
    const simde__m512_private v = simde__m512_to_private(a);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) ((float *)p)[i] = v.f32[i];
}

/* Lane i reads the float at base + index[i] * scale bytes where k selects it
 * (the unmasked gather selects every lane); other lanes keep src. */
static inline simde__m512 kb_emu_mm512_mask_i32gather_ps(simde__m512 src, simde__mmask16 k,
                                                         simde__m512i index, const void *base,
                                                         int scale) {
    simde__m512_private r = simde__m512_to_private(src);
    const simde__m512i_private ix = simde__m512i_to_private(index);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) {
            float f;
            memcpy(&f, (const char *)base + (int64_t)ix.i32[i] * scale, sizeof f);
            r.f32[i] = f;
        }
    return simde__m512_from_private(r);
}

/* The pairwise order of the compilers' expansion: halves, then quarters, ... */
static inline float kb_emu_mm512_reduce_add_ps(simde__m512 a) {
    simde__m512_private v = simde__m512_to_private(a);
    for (int width = 8; width >= 1; width /= 2)
        for (int i = 0; i < width; i++) v.f32[i] += v.f32[i + width];
    return v.f32[0];
}

#define _mm512_maskz_loadu_ps(k, p) kb_emu_mm512_maskz_loadu_ps((k), (p))
#define _mm512_maskz_loadu_epi32(k, p) kb_emu_mm512_maskz_loadu_epi32((k), (p))
#define _mm256_maskz_loadu_ps(k, p) kb_emu_mm256_maskz_loadu_ps((k), (p))
#define _mm512_mask_storeu_ps(p, k, a) kb_emu_mm512_mask_storeu_ps((p), (k), (a))
#undef _mm512_mask_i32gather_ps
#undef _mm512_i32gather_ps
#define _mm512_mask_i32gather_ps(src, k, index, base, scale) \
    kb_emu_mm512_mask_i32gather_ps((src), (k), (index), (base), (scale))
#define _mm512_i32gather_ps(index, base, scale) \
    kb_emu_mm512_mask_i32gather_ps(simde_mm512_setzero_ps(), 0xffff, (index), (base), (scale))
#define _mm512_reduce_add_ps(a) kb_emu_mm512_reduce_add_ps(a)

#endif
