// harness.h — what one registered benchmark is, and the settings shared by
// all of them. main.cpp registers; bench_case.cpp runs one case.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernelbench.h"

namespace mb {

/// Settings that apply to every case (filled from the command line in main).
struct RunSettings {
    uint64_t seed = 42;              // A's seed; B uses seed + 1
    size_t cold_bytes = 64u << 20;   // cold-cache working set (A + B copies)
};
extern RunSettings g_settings;

/// One benchmark: a kernel (or the dense baseline) on one problem.
struct Case {
    std::string name;                       // the registered benchmark name
    const kb_kernel_info *kernel = nullptr; // nullptr: the dense baseline (dense_name(n))
    int32_t m = 0, k = 0, n = 0;
    int32_t r = 1, c = 1;                   // block shape of A (1x1 for CSR / dense)
    double sparsity = 0;                    // fraction in [0, 1]
    bool cold = false;
};

/// Names of the dense baseline: what a user would call, OpenBLAS on one
/// thread, cblas_sgemv for one column of B and cblas_sgemm otherwise (sgemm
/// with N = 1 is about 3x slower than sgemv at 4096x4096).
inline constexpr const char *kDenseGemvName = "dense_f32_gemv__openblas";
inline constexpr const char *kDenseGemmName = "dense_f32_gemm__openblas";
inline const char *dense_name(int32_t n) { return n == 1 ? kDenseGemvName : kDenseGemmName; }

/// The benchmark body: builds (or fetches) operands, verifies once against
/// the scalar reference, then times the kernel.
void run_case(benchmark::State &state, const Case &cs);

}  // namespace mb
