// matrices.cpp — see matrices.h. The algorithm mirrors the Swift
// `BSRMatrix.random(.uniform)` step for step; keep them in sync.
#include "matrices.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace mb {

kb_bsr BsrData::bsr_view() const {
    kb_bsr v;
    v.m = m; v.k = k; v.r = r; v.c = c; v.mb = mb; v.kb = kb;
    v.row_ptr = row_ptr.data();
    v.col_idx = col_idx.data();
    v.values = values.data();
    return v;
}

kb_csr BsrData::csr_view() const {
    kb_csr v;
    v.m = m; v.k = k;
    v.row_ptr = row_ptr.data();
    v.col_idx = col_idx.data();
    v.values = values.data();
    return v;
}

size_t BsrData::bytes() const {
    return values.size() * sizeof(float) + (row_ptr.size() + col_idx.size()) * sizeof(int32_t);
}

// Exactly `keep` distinct cells of the mb x kb grid: a partial Fisher–Yates
// over the identity permutation (the Swift code keeps the displaced cells in
// a dictionary; an explicit permutation gives the same picks).
static std::vector<std::vector<int32_t>> uniform_blocks(int64_t mb, int64_t kb, int64_t keep,
                                                        SplitMix64 &rng) {
    const uint64_t total = (uint64_t)mb * (uint64_t)kb;
    std::vector<std::vector<int32_t>> rows((size_t)mb);
    auto take = [&](uint64_t picked) {
        rows[(size_t)(picked / (uint64_t)kb)].push_back((int32_t)(picked % (uint64_t)kb));
    };
    if (total <= ((uint64_t)1 << 28)) {
        std::vector<uint32_t> perm((size_t)total);
        std::iota(perm.begin(), perm.end(), 0u);
        for (int64_t i = 0; i < keep; i++) {
            const uint64_t j = (uint64_t)i + rng.index_below(total - (uint64_t)i);
            const uint32_t picked = perm[j];
            perm[j] = perm[(size_t)i];
            take(picked);
        }
    } else {
        std::unordered_map<uint64_t, uint64_t> swapped;
        for (int64_t i = 0; i < keep; i++) {
            const uint64_t j = (uint64_t)i + rng.index_below(total - (uint64_t)i);
            auto sj = swapped.find(j);
            const uint64_t picked = sj == swapped.end() ? j : sj->second;
            auto si = swapped.find((uint64_t)i);
            swapped[j] = si == swapped.end() ? (uint64_t)i : si->second;
            take(picked);
        }
    }
    for (auto &row : rows) std::sort(row.begin(), row.end());
    return rows;
}

BsrData generate_uniform_bsr(int32_t m, int32_t k, int32_t r, int32_t c, double sparsity,
                             uint64_t seed) {
    BsrData a;
    a.m = m; a.k = k; a.r = r; a.c = c;
    a.mb = (m + r - 1) / r;
    a.kb = (k + c - 1) / c;
    const int64_t total = (int64_t)a.mb * a.kb;
    // round-half-away-from-zero (Swift's `.rounded()`) of a value >= 0,
    // spelled out so the harness needs no libm.
    const double want = (1.0 - sparsity) * (double)total;
    int64_t keep = (int64_t)want;
    if (want - (double)keep >= 0.5) keep++;
    SplitMix64 rng(seed);
    const auto per_row = uniform_blocks(a.mb, a.kb, keep, rng);

    a.row_ptr.assign((size_t)a.mb + 1, 0);
    a.col_idx.reserve((size_t)keep);
    a.values.reserve((size_t)keep * r * c);
    std::vector<char> col_used((size_t)a.kb, 0);
    for (int32_t br = 0; br < a.mb; br++) {
        const int32_t h = std::min(r, m - br * r);
        for (int32_t bc : per_row[(size_t)br]) {
            a.col_idx.push_back(bc);
            col_used[(size_t)bc] = 1;
            const int32_t w = std::min(c, k - bc * c);
            for (int32_t ii = 0; ii < r; ii++)
                for (int32_t jj = 0; jj < c; jj++)
                    a.values.push_back(ii < h && jj < w ? rng.weight() : 0.0f);
            a.stored_logical += (int64_t)h * w;
        }
        a.row_ptr[(size_t)br + 1] = (int32_t)a.col_idx.size();
    }
    for (int32_t bc = 0; bc < a.kb; bc++)
        if (col_used[(size_t)bc]) a.b_rows_touched += std::min(c, k - bc * c);
    a.block_sparsity = total == 0 ? 0.0 : 1.0 - (double)a.nnzb() / (double)total;
    return a;
}

std::vector<float> generate_dense(int32_t rows, int32_t cols, uint64_t seed) {
    std::vector<float> out((size_t)rows * cols);
    SplitMix64 rng(seed);
    for (float &x : out) x = rng.weight();
    return out;
}

std::vector<float> densify(const BsrData &a) {
    std::vector<float> d((size_t)a.m * a.k, 0.0f);
    for (int32_t br = 0; br < a.mb; br++) {
        const int32_t h = std::min(a.r, a.m - br * a.r);
        for (int32_t p = a.row_ptr[(size_t)br]; p < a.row_ptr[(size_t)br + 1]; p++) {
            const int32_t col0 = a.col_idx[(size_t)p] * a.c;
            const int32_t w = std::min(a.c, a.k - col0);
            const float *blk = a.values.data() + (size_t)p * a.r * a.c;
            for (int32_t i = 0; i < h; i++)
                for (int32_t j = 0; j < w; j++)
                    d[(size_t)(br * a.r + i) * a.k + col0 + j] = blk[i * a.c + j];
        }
    }
    return d;
}

Cache &Cache::shared() {
    static Cache cache;
    return cache;
}

std::shared_ptr<const void> Cache::lookup(const std::string &key) {
    for (auto &e : entries_) {
        if (e.key == key) {
            e.last_use = ++clock_;
            return e.object;
        }
    }
    return nullptr;
}

void Cache::insert(const std::string &key, std::shared_ptr<const void> object, size_t bytes) {
    // Evict least recently used entries until the newcomer fits (it always
    // goes in, even alone over budget).
    while (!entries_.empty() && total_ + bytes > budget_) {
        auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                       [](const Entry &a, const Entry &b) {
                                           return a.last_use < b.last_use;
                                       });
        total_ -= oldest->bytes;
        entries_.erase(oldest);
    }
    entries_.push_back(Entry{key, std::move(object), bytes, ++clock_});
    total_ += bytes;
}

}  // namespace mb
