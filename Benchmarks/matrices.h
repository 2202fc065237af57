// matrices.h — seeded test matrices for the microbench harness, and the
// small byte-budgeted cache that keeps them between benchmark runs.
//
// The canonical generator of KernelBench is the Swift one
// (Sources/BlockSparse/Generators.swift, `BSRMatrix.random` with the
// `.uniform` distribution, and `DenseMatrix.random`). This harness needs only
// the uniform distribution and re-implements exactly that algorithm with the
// same PRNG (SplitMix64), the same partial Fisher–Yates block choice, the same
// Lemire index mapping and the same value stream, so a given seed gives the
// same matrix in both (checked once against the pinned checksum of Swift's
// GeneratorTests: 64x48, 4x4 blocks, sparsity 0.75, seed 2021). Should they ever disagree, the Swift one is
// right and this file is the one to fix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernelbench.h"

namespace mb {

/// SplitMix64 (Steele, Lea & Flood, 2014), bit for bit the Swift `SplitMix64`.
struct SplitMix64 {
    uint64_t state;
    explicit SplitMix64(uint64_t seed) : state(seed) {}

    uint64_t next() {
        state += 0x9E3779B97F4A7C15ULL;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, 1) with 24 random bits (exact in float).
    float unit_float() { return (float)(next() >> 40) * 0x1p-24f; }
    /// Uniform integer in [0, bound): Lemire's multiply-shift (high 64 bits).
    uint64_t index_below(uint64_t bound) {
        return (uint64_t)(((unsigned __int128)bound * next()) >> 64);
    }
    /// A value in [-1, -1/64] U [1/64, 1), never zero. Separate statements so
    /// the compiler cannot contract the multiply-add into an FMA (Swift does
    /// not either): the values stay bit-identical to the Swift generator's.
    float weight() {
        const float u = unit_float();
        const float scaled = u * 0.984375f;
        const float magnitude = 0.015625f + scaled;
        return (next() & 1) == 0 ? magnitude : -magnitude;
    }
};

/// An owned BSR matrix (block 1x1 doubles as CSR: same three arrays).
struct BsrData {
    int32_t m = 0, k = 0, r = 1, c = 1, mb = 0, kb = 0;
    std::vector<int32_t> row_ptr, col_idx;
    std::vector<float> values;
    int64_t stored_logical = 0;  // logical elements in stored blocks, padding excluded
    int64_t b_rows_touched = 0;  // distinct rows of B any stored block reads
    double block_sparsity = 0;   // achieved: 1 - nnzb / (mb * kb)

    int64_t nnzb() const { return (int64_t)col_idx.size(); }
    kb_bsr bsr_view() const;
    kb_csr csr_view() const;  // only for r == c == 1
    size_t bytes() const;     // values + indices, as stored
};

/// Uniform block sparsity: exactly round((1 - sparsity) * mb * kb) blocks,
/// chosen uniformly; values uniform in ±[1/64, 1); padded edge entries 0.
BsrData generate_uniform_bsr(int32_t m, int32_t k, int32_t r, int32_t c,
                             double sparsity, uint64_t seed);

/// A dense rows x cols row-major matrix, entries uniform in ±[1/64, 1).
std::vector<float> generate_dense(int32_t rows, int32_t cols, uint64_t seed);

/// Dense row-major copy of a BSR matrix (m x k, ld = k).
std::vector<float> densify(const BsrData &a);

/// A process-wide LRU cache of shared, immutable objects with a byte budget.
/// Objects handed out stay alive while used even if evicted meanwhile.
class Cache {
public:
    static Cache &shared();
    void set_budget(size_t bytes) { budget_ = bytes; }

    template <class T>
    std::shared_ptr<const T> get(const std::string &key,
                                 const std::function<std::shared_ptr<T>()> &make,
                                 const std::function<size_t(const T &)> &size) {
        if (auto hit = lookup(key)) return std::static_pointer_cast<const T>(hit);
        std::shared_ptr<T> made = make();
        insert(key, made, size(*made));
        return made;
    }

private:
    struct Entry {
        std::string key;
        std::shared_ptr<const void> object;
        size_t bytes;
        uint64_t last_use;
    };
    std::shared_ptr<const void> lookup(const std::string &key);
    void insert(const std::string &key, std::shared_ptr<const void> object, size_t bytes);

    std::vector<Entry> entries_;
    size_t budget_ = (size_t)1 << 30;
    size_t total_ = 0;
    uint64_t clock_ = 0;
};

}  // namespace mb
