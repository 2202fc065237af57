// bench_case.cpp — the body of every microbench benchmark.
//
// Per case, outside the timed region:
//   1. skip (SkipWithError) when the kernel's ISA is not supported here;
//   2. fetch A (seeded uniform BSR, cached per shape/block/sparsity/seed) and
//      B (dense k x n, seed + 1), lazily: nothing is built at registration;
//   3. once per benchmark name, run the kernel on a NaN-filled C and compare
//      with the scalar C reference (cached per matrix and n); a mismatch is
//      SkipWithError("verification failed: ...") and nothing is timed;
//   4. cold variants build (and keep for their own later calls) enough copies of A and B to exceed the
//      last-level cache and cycle through them, one copy per iteration.
// Then the timed loop calls the kernel once per iteration (accumulate = 0).
//
// Counters (all plain top-level numbers in Google Benchmark's JSON):
//   useful_flops     2 * (stored logical nonzeros of A) * N / s  (rate)
//   effective_flops  2 * m * k * N / s, the dense-equivalent rate   (rate)
//   bytes_per_second (SetBytesProcessed) an approximation of the traffic per
//                    call: A as stored (values + row_ptr + col_idx), every row
//                    of B that some stored block references read once
//                    (b_rows_touched * N * 4), and C written once (m * N * 4).
//                    Dense baseline: (m*k + k*N + m*N) * 4.
//   nnz, nnz_blocks, block_rows, block_cols, sparsity (achieved block
//   sparsity, fraction), m, k, n: plain values describing the problem.
//
// Timing is single-threaded (OpenBLAS is pinned to one thread in main), so
// CPU time and wall time agree and UseRealTime() is unnecessary.
#include <cblas.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "harness.h"
#include "matrices.h"

namespace mb {

RunSettings g_settings;

namespace {

std::string fmt_double(double x) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", x);
    return buf;
}

std::string matrix_key(const Case &cs) {
    return "A/" + std::to_string(cs.m) + "/" + std::to_string(cs.k) + "/" + std::to_string(cs.r) +
           "x" + std::to_string(cs.c) + "/" + fmt_double(cs.sparsity) + "/" +
           std::to_string(g_settings.seed);
}

std::shared_ptr<const BsrData> matrix_a(const Case &cs) {
    return Cache::shared().get<BsrData>(
        matrix_key(cs),
        [&] {
            return std::make_shared<BsrData>(
                generate_uniform_bsr(cs.m, cs.k, cs.r, cs.c, cs.sparsity, g_settings.seed));
        },
        [](const BsrData &a) { return a.bytes(); });
}

using Floats = std::vector<float>;

std::shared_ptr<const Floats> matrix_b(int32_t k, int32_t n) {
    const std::string key = "B/" + std::to_string(k) + "/" + std::to_string(n) + "/" +
                            std::to_string(g_settings.seed + 1);
    return Cache::shared().get<Floats>(
        key, [&] { return std::make_shared<Floats>(generate_dense(k, n, g_settings.seed + 1)); },
        [](const Floats &v) { return v.size() * sizeof(float); });
}

std::shared_ptr<const Floats> dense_a(const Case &cs, const BsrData &a) {
    return Cache::shared().get<Floats>(
        "D/" + matrix_key(cs), [&] { return std::make_shared<Floats>(densify(a)); },
        [](const Floats &v) { return v.size() * sizeof(float); });
}

/// The scalar reference output and, per element, sum_k |a_ik| |b_kj| (the
/// scale of the rounding error any summation order can make).
struct Reference {
    Floats c, magnitude;
};

enum class RefKind { Bsr, Csr };

Floats run_reference(RefKind kind, const BsrData &a, const float *b, int32_t n) {
    Floats c((size_t)a.m * n, 0.0f);
    if (kind == RefKind::Bsr) {
        const kb_bsr v = a.bsr_view();
        bsr_f32_spmm_generic__scalar(&v, 0, a.mb, b, n, c.data(), n, n, 0);
    } else {
        const kb_csr v = a.csr_view();
        csr_f32_spmm__scalar(&v, 0, a.m, b, n, c.data(), n, n, 0);
    }
    return c;
}

std::shared_ptr<const Reference> reference(const Case &cs, RefKind kind, const BsrData &a,
                                           const Floats &b) {
    const std::string key = "ref/" + matrix_key(cs) + "/n" + std::to_string(cs.n) +
                            (kind == RefKind::Bsr ? "/bsr" : "/csr");
    return Cache::shared().get<Reference>(
        key,
        [&] {
            auto ref = std::make_shared<Reference>();
            ref->c = run_reference(kind, a, b.data(), cs.n);
            BsrData abs_a = a;
            for (float &x : abs_a.values) x = std::fabs(x);
            Floats abs_b = b;
            for (float &x : abs_b) x = std::fabs(x);
            ref->magnitude = run_reference(kind, abs_a, abs_b.data(), cs.n);
            return ref;
        },
        [](const Reference &r) { return (r.c.size() + r.magnitude.size()) * sizeof(float); });
}

/// Empty when `got` matches; otherwise the SkipWithError message.
std::string compare(const float *got, const Reference &ref, int32_t m, int32_t n) {
    const double rel = 1e-4, tiny = 1e-30;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < (int64_t)m * n; i++) {
        const double tol = rel * ref.magnitude[(size_t)i] + tiny;
        const double diff = std::fabs((double)got[i] - (double)ref.c[(size_t)i]);
        if (!(diff <= tol)) {  // NaN counts as a mismatch
            if (first < 0) first = i;
            bad++;
        }
    }
    if (bad == 0) return "";
    char buf[256];
    snprintf(buf, sizeof buf,
             "verification failed: %lld of %lld outputs differ; C[%lld][%lld] = %.9g, "
             "reference %.9g (tolerance %.3g)",
             (long long)bad, (long long)m * n, (long long)(first / n), (long long)(first % n),
             (double)got[first], (double)ref.c[(size_t)first],
             rel * ref.magnitude[(size_t)first] + tiny);
    return buf;
}

/// 64-byte aligned storage.
struct AlignedFree {
    void operator()(void *p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<unsigned char[], AlignedFree>;

size_t round64(size_t x) { return (x + 63) & ~(size_t)63; }

AlignedBytes aligned_bytes(size_t bytes) {
    void *p = std::aligned_alloc(64, round64(bytes ? bytes : 64));
    if (!p) throw std::bad_alloc();
    return AlignedBytes(static_cast<unsigned char *>(p));
}

/// Cold-cache operands: `copies` independent copies of A and B, laid out one
/// after another, together at least g_settings.cold_bytes.
struct ColdSlab {
    AlignedBytes memory;
    size_t bytes = 0, copies = 0;
    std::vector<kb_bsr> bsr;
    std::vector<kb_csr> csr;
    std::vector<const float *> a_dense, b;
};

size_t copies_for(size_t per_copy) {
    const size_t want = (g_settings.cold_bytes + per_copy - 1) / (per_copy ? per_copy : 1);
    return std::min<size_t>(std::max<size_t>(want, 2), (size_t)1 << 20);
}

std::shared_ptr<ColdSlab> build_cold_sparse(const BsrData &a, const Floats &b) {
    const size_t rp = round64(a.row_ptr.size() * 4), ci = round64(a.col_idx.size() * 4),
                 va = round64(a.values.size() * 4), bb = round64(b.size() * 4);
    const size_t per_copy = rp + ci + va + bb;
    auto slab = std::make_shared<ColdSlab>();
    slab->copies = copies_for(per_copy);
    slab->bytes = per_copy * slab->copies;
    slab->memory = aligned_bytes(slab->bytes);
    for (size_t i = 0; i < slab->copies; i++) {
        unsigned char *base = slab->memory.get() + i * per_copy;
        auto *row_ptr = reinterpret_cast<int32_t *>(base);
        auto *col_idx = reinterpret_cast<int32_t *>(base + rp);
        auto *values = reinterpret_cast<float *>(base + rp + ci);
        auto *bcopy = reinterpret_cast<float *>(base + rp + ci + va);
        std::memcpy(row_ptr, a.row_ptr.data(), a.row_ptr.size() * 4);
        std::memcpy(col_idx, a.col_idx.data(), a.col_idx.size() * 4);
        std::memcpy(values, a.values.data(), a.values.size() * 4);
        std::memcpy(bcopy, b.data(), b.size() * 4);
        kb_bsr v = a.bsr_view();
        v.row_ptr = row_ptr; v.col_idx = col_idx; v.values = values;
        slab->bsr.push_back(v);
        kb_csr w = a.csr_view();
        w.row_ptr = row_ptr; w.col_idx = col_idx; w.values = values;
        slab->csr.push_back(w);
        slab->b.push_back(bcopy);
    }
    return slab;
}

std::shared_ptr<ColdSlab> build_cold_dense(const Floats &a, const Floats &b) {
    const size_t aa = round64(a.size() * 4), bb = round64(b.size() * 4);
    const size_t per_copy = aa + bb;
    auto slab = std::make_shared<ColdSlab>();
    slab->copies = copies_for(per_copy);
    slab->bytes = per_copy * slab->copies;
    slab->memory = aligned_bytes(slab->bytes);
    for (size_t i = 0; i < slab->copies; i++) {
        unsigned char *base = slab->memory.get() + i * per_copy;
        auto *acopy = reinterpret_cast<float *>(base);
        auto *bcopy = reinterpret_cast<float *>(base + aa);
        std::memcpy(acopy, a.data(), a.size() * 4);
        std::memcpy(bcopy, b.data(), b.size() * 4);
        slab->a_dense.push_back(acopy);
        slab->b.push_back(bcopy);
    }
    return slab;
}

/// The dense baseline (see dense_name): sgemv for one column, sgemm otherwise.
void dense_gemm(const float *a, const float *b, float *c, int32_t m, int32_t k, int32_t n) {
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, a, k, b, 1, 0.0f, c, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}

/// Verification verdicts per benchmark name: Google Benchmark calls the
/// body several times while it sizes the iteration count; verify once.
std::unordered_map<std::string, std::string> &verdicts() {
    static std::unordered_map<std::string, std::string> v;
    return v;
}

}  // namespace

void run_case(benchmark::State &state, const Case &cs) {
    const kb_kernel_info *kern = cs.kernel;
    if (kern && !kb_isa_supported(kern->isa)) {
        const std::string msg =
            std::string("ISA ") + kb_isa_name(kern->isa) + " not supported on this CPU";
        state.SkipWithError(msg.c_str());
        return;
    }
    const bool dense = kern == nullptr;
    const bool csr = kern && kern->format == KB_FORMAT_CSR;

    auto a = matrix_a(cs);
    auto b = matrix_b(cs.k, cs.n);
    std::shared_ptr<const Floats> ad;
    if (dense) ad = dense_a(cs, *a);
    Floats c((size_t)cs.m * cs.n);

    // One call on the canonical operands, C poisoned with NaN (accumulate = 0
    // must never read C).
    auto call_once = [&] {
        std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
        if (dense) {
            dense_gemm(ad->data(), b->data(), c.data(), cs.m, cs.k, cs.n);
        } else if (csr) {
            const kb_csr v = a->csr_view();
            kern->csr(&v, 0, a->m, b->data(), cs.n, c.data(), cs.n, cs.n, 0);
        } else {
            const kb_bsr v = a->bsr_view();
            kern->bsr(&v, 0, a->mb, b->data(), cs.n, c.data(), cs.n, cs.n, 0);
        }
    };

    auto &verdict = verdicts();
    auto found = verdict.find(cs.name);
    if (found == verdict.end()) {
        call_once();
        auto ref = reference(cs, csr ? RefKind::Csr : RefKind::Bsr, *a, *b);
        found = verdict.emplace(cs.name, compare(c.data(), *ref, cs.m, cs.n)).first;
    }
    if (!found->second.empty()) {
        state.SkipWithError(found->second.c_str());
        return;
    }

    // Operands the timed loop cycles through: one copy (warm) or many (cold).
    std::shared_ptr<const ColdSlab> slab;
    if (cs.cold) {
        // Only the latest slab is kept: Google Benchmark calls the body a few
        // times for one benchmark, then moves on and never comes back.
        static std::string slab_key;
        static std::shared_ptr<const ColdSlab> last_slab;
        const std::string key = cs.name + "/" + std::to_string(g_settings.cold_bytes);
        if (slab_key != key || !last_slab) {
            last_slab.reset();  // free the old one before building the next
            last_slab = dense ? build_cold_dense(*ad, *b) : build_cold_sparse(*a, *b);
            slab_key = key;
        }
        slab = last_slab;
    }
    const size_t copies = slab ? slab->copies : 1;
    const int32_t m = cs.m, k = cs.k, n = cs.n, mb_rows = a->mb;
    float *cp = c.data();

    size_t i = 0;
    if (dense) {
        for (auto _ : state) {
            const float *ap = slab ? slab->a_dense[i] : ad->data();
            const float *bp = slab ? slab->b[i] : b->data();
            dense_gemm(ap, bp, cp, m, k, n);
            benchmark::ClobberMemory();
            if (++i == copies) i = 0;
        }
    } else if (csr) {
        const kb_csr warm = a->csr_view();
        for (auto _ : state) {
            const kb_csr *ap = slab ? &slab->csr[i] : &warm;
            const float *bp = slab ? slab->b[i] : b->data();
            kern->csr(ap, 0, m, bp, n, cp, n, n, 0);
            benchmark::ClobberMemory();
            if (++i == copies) i = 0;
        }
    } else {
        const kb_bsr warm = a->bsr_view();
        for (auto _ : state) {
            const kb_bsr *ap = slab ? &slab->bsr[i] : &warm;
            const float *bp = slab ? slab->b[i] : b->data();
            kern->bsr(ap, 0, mb_rows, bp, n, cp, n, n, 0);
            benchmark::ClobberMemory();
            if (++i == copies) i = 0;
        }
    }

    using benchmark::Counter;
    const double useful = 2.0 * (double)a->stored_logical * n;
    const double effective = 2.0 * (double)m * k * n;
    const double bytes =
        dense ? 4.0 * ((double)m * k + (double)k * n + (double)m * n)
              : (double)a->bytes() + 4.0 * (double)a->b_rows_touched * n + 4.0 * (double)m * n;
    state.counters["useful_flops"] = Counter(useful, Counter::kIsIterationInvariantRate);
    state.counters["effective_flops"] = Counter(effective, Counter::kIsIterationInvariantRate);
    state.SetBytesProcessed((int64_t)(bytes * (double)state.iterations()));
    state.counters["nnz"] = Counter((double)a->stored_logical);
    state.counters["nnz_blocks"] = Counter((double)a->nnzb());
    state.counters["block_rows"] = Counter((double)a->r);
    state.counters["block_cols"] = Counter((double)a->c);
    state.counters["sparsity"] = Counter(a->block_sparsity);
    state.counters["m"] = Counter((double)m);
    state.counters["k"] = Counter((double)k);
    state.counters["n"] = Counter((double)n);
    if (slab) state.counters["cold_copies"] = Counter((double)copies);

    std::string label;
    if (dense) {
        label = std::string("openblas ") + (n == 1 ? "sgemv" : "sgemm") + " 1 thread";
    } else {
        label = kb_isa_name(kern->isa);
        if (csr) label += " csr";
        else label += " b" + std::to_string(cs.r) + "x" + std::to_string(cs.c) +
                      (kern->block_rows == 0 ? " generic" : "");
    }
    state.SetLabel(label);
}

}  // namespace mb
