/* FMA peak probe: enough independent accumulator chains to cover the FMA
 * latency on every port, so the loop runs at the machine's FMA throughput. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getcpu */
#endif
#include <sched.h>

#include "kernelbench.h"

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static double kb_fma_probe_avx2(int64_t iterations,
                                                                  float *sink) {
    __m256 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]),
                         "+x"(acc[4]), "+x"(acc[5]), "+x"(acc[6]), "+x"(acc[7]),
                         "+x"(acc[8]), "+x"(acc[9]), "+x"(acc[10]), "+x"(acc[11]));
    }
    __m256 s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    *sink = out[0];
    return (double)iterations * 12.0 * 8.0 * 2.0;
}

/* 24 zmm chains: enough for two 512-bit FMA pipes of 4-cycle latency. */
__attribute__((target("avx512f"))) static double kb_fma_probe_avx512(int64_t iterations,
                                                                   float *sink) {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
        /* (two statements: 24 read-write operands exceed GCC's limit of 30) */
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                         "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]),
                         "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));
        __asm__ volatile("" : "+v"(acc[12]), "+v"(acc[13]), "+v"(acc[14]), "+v"(acc[15]),
                         "+v"(acc[16]), "+v"(acc[17]), "+v"(acc[18]), "+v"(acc[19]),
                         "+v"(acc[20]), "+v"(acc[21]), "+v"(acc[22]), "+v"(acc[23]));
    }
    __m512 s = acc[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iterations * 24.0 * 16.0 * 2.0;
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>
static double kb_fma_probe_neon(int64_t iterations, float *sink) {
    float32x4_t acc[16];
    for (int i = 0; i < 16; i++) acc[i] = vdupq_n_f32((float)i * 1e-3f);
    const float32x4_t x = vdupq_n_f32(0.999999f), y = vdupq_n_f32(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        for (int i = 0; i < 16; i++) acc[i] = vfmaq_f32(y, acc[i], x);
        __asm__ volatile("" : "+w"(acc[0]), "+w"(acc[1]), "+w"(acc[2]), "+w"(acc[3]),
                         "+w"(acc[4]), "+w"(acc[5]), "+w"(acc[6]), "+w"(acc[7]));
        __asm__ volatile("" : "+w"(acc[8]), "+w"(acc[9]), "+w"(acc[10]), "+w"(acc[11]),
                         "+w"(acc[12]), "+w"(acc[13]), "+w"(acc[14]), "+w"(acc[15]));
    }
    float32x4_t s = acc[0];
    for (int i = 1; i < 16; i++) s = vaddq_f32(s, acc[i]);
    *sink = vgetq_lane_f32(s, 0);
    return (double)iterations * 16.0 * 4.0 * 2.0;
}
#endif

static double kb_fma_probe_scalar(int64_t iterations, float *sink) {
    float acc[8];
    for (int i = 0; i < 8; i++) acc[i] = (float)i * 1e-3f;
    for (int64_t it = 0; it < iterations; it++)
        for (int i = 0; i < 8; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < 8; i++) s += acc[i];
    *sink = s;
    return (double)iterations * 8.0 * 2.0;
}

double kb_fma_probe_isa(kb_isa isa, int64_t iterations, float *sink) {
    if (!kb_isa_supported(isa)) return 0;
    switch (isa) {
#if defined(__x86_64__)
    case KB_ISA_AVX512: return kb_fma_probe_avx512(iterations, sink);
    case KB_ISA_AVX2_FMA: return kb_fma_probe_avx2(iterations, sink);
#endif
#if defined(__aarch64__)
    case KB_ISA_NEON: return kb_fma_probe_neon(iterations, sink);
#endif
    default: return kb_fma_probe_scalar(iterations, sink);
    }
}

double kb_fma_probe(int64_t iterations, float *sink) {
    return kb_fma_probe_isa(kb_best_isa(), iterations, sink);
}

/* Load probe: sums `floats` floats (a multiple of 32, 32-byte aligned) `passes`
 * times with four independent accumulators, at the best ISA: at the bandwidth of whichever
 * cache holds the buffer (L2 for 128 KiB: 117 GB/s on Zen 4, well under what
 * four add chains allow). */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void kb_load_probe_avx512(const float *buf, int64_t floats,
                                                                   int64_t passes, float *sink) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t p = 0; p < passes; p++) {
        int64_t i = 0;
        for (; i + 64 <= floats; i += 64) {
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(buf + i));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(buf + i + 16));
            a2 = _mm512_add_ps(a2, _mm512_loadu_ps(buf + i + 32));
            a3 = _mm512_add_ps(a3, _mm512_loadu_ps(buf + i + 48));
        }
        if (i < floats) { /* 32 left */
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(buf + i));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(buf + i + 16));
        }
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3));
    }
    *sink = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx2"))) static void kb_load_probe_avx2(const float *buf, int64_t floats,
                                                               int64_t passes, float *sink) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t p = 0; p < passes; p++) {
        for (int64_t i = 0; i < floats; i += 32) {
            a0 = _mm256_add_ps(a0, _mm256_load_ps(buf + i));
            a1 = _mm256_add_ps(a1, _mm256_load_ps(buf + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_load_ps(buf + i + 16));
            a3 = _mm256_add_ps(a3, _mm256_load_ps(buf + i + 24));
        }
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    *sink = out[0];
}
#endif

double kb_load_probe(const float *buf, int64_t floats, int64_t passes, float *sink) {
    floats -= floats % 32;
#if defined(__x86_64__)
    const kb_isa best = kb_best_isa();
    if (best == KB_ISA_AVX512) {
        kb_load_probe_avx512(buf, floats, passes, sink);
        return (double)floats * (double)passes * sizeof(float);
    }
    if (best == KB_ISA_AVX2_FMA) {
        kb_load_probe_avx2(buf, floats, passes, sink);
        return (double)floats * (double)passes * sizeof(float);
    }
#endif
    float acc[8] = {0};
    for (int64_t p = 0; p < passes; p++) {
        for (int64_t i = 0; i < floats; i += 8)
            for (int j = 0; j < 8; j++) acc[j] += buf[i + j];
        __asm__ volatile("" ::: "memory");
    }
    *sink = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    return (double)floats * (double)passes * sizeof(float);
}

/* STREAM-style triad a[i] = b[i] + s * c[i]: the streaming-bandwidth probe. */
void kb_triad(float *a, const float *b, const float *c, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

void kb_spin_pause(void) {
#if defined(__x86_64__)
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

int kb_current_cpu(void) {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

const char *kb_compiler_info(void) {
#if defined(__clang__)
    return "clang " __clang_version__ "; -O3 -fno-math-errno; AVX2 and AVX-512 per function via target(\"avx2,fma\"), target(\"avx512f,avx512vl,fma\")";
#elif defined(__GNUC__)
    return "gcc " __VERSION__ "; -O3 -fno-math-errno; AVX2 and AVX-512 per function via target(\"avx2,fma\"), target(\"avx512f,avx512vl,fma\")";
#else
    return "unknown compiler; -O3";
#endif
}
