// paired.cpp — old-versus-new timing of one kernel, both builds in one
// process (scripts/paired-kernels.sh builds them and runs this).
//
// Each build of CKernels is a shared library loaded with dlopen(RTLD_LOCAL),
// so the same kernel name resolves to a different function per build. The
// matrix comes from the microbench generator (the Swift generator's
// algorithm), the buffers are page-aligned as in kernelbench's driver, and
// every build's output is compared with the first's before anything is timed
// (a difference is printed; correctness itself is `make test`'s job). Then `pairs` rounds: a short
// FMA probe, and one call of each build, in forward order on even rounds and
// backward on odd ones. A slow phase of a shared machine hits both sides of
// a round, so the per-round ratio is the number to read.
//
// Usage: paired [--offset=BYTES] KERNEL M K R C SPARSITY N PAIRS LIB.so [LIB.so ...]
// KERNEL is one registered name for every build, or NAME,NAME,... with one
// name per build (two kernels of one build side by side: the same LIB.so
// twice, e.g. an AVX2 and an AVX-512 kernel).
// A kernel of an ISA this CPU does not support is refused (exit 2), not run.
// --offset starts every array that many bytes past a page boundary (a multiple
// of 4 below the page size), e.g. 16 for B rows that do not start on a cache line.
// Prints per build: median time, useful GFLOP/s, and the median per-round
// speedup over the first build with its quartiles.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../matrices.h"

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

size_t offset_bytes = 0;

// A copy of v starting offset_bytes past a page boundary (kernelbench's
// NodeBuffer is page-aligned: offset 0).
template <class T> T *aligned_copy(const std::vector<T> &v) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t bytes = std::max<size_t>(page, (offset_bytes + v.size() * sizeof(T) + page - 1) / page * page);
    void *p = nullptr;
    if (posix_memalign(&p, page, bytes) != 0) {
        fprintf(stderr, "paired: out of memory\n");
        exit(1);
    }
    T *data = (T *)((char *)p + offset_bytes);
    if (!v.empty()) memcpy(data, v.data(), v.size() * sizeof(T));
    return data;
}

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[(size_t)(q * (double)(v.size() - 1) + 0.5)];
}

long parse(const char *s, const char *what, long lo, long hi) {
    char *end = nullptr;
    const long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "paired: %s must be an integer in [%ld, %ld] (got '%s')\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

typedef const kb_kernel_info *(*find_fn)(const char *);
typedef int (*isa_supported_fn)(kb_isa);
typedef const char *(*isa_name_fn)(kb_isa);
typedef double (*probe_fn)(int64_t, float *);

}  // namespace

int main(int argc, char **argv) {
    if (argc > 1 && strncmp(argv[1], "--offset=", 9) == 0) {
        const long page = sysconf(_SC_PAGESIZE);
        offset_bytes = (size_t)parse(argv[1] + 9, "--offset", 0, page - 4);
        if (offset_bytes % 4 != 0) {
            fprintf(stderr, "paired: --offset must be a multiple of 4 (floats stay aligned)\n");
            return 2;
        }
        argv++;
        argc--;
    }
    if (argc < 10) {
        fprintf(stderr, "usage: paired [--offset=BYTES] KERNEL M K R C SPARSITY N PAIRS LIB.so [LIB.so ...]\n");
        return 2;
    }
    std::vector<std::string> names;
    for (const char *p = argv[1];; p++) {
        const char *comma = strchr(p, ',');
        names.emplace_back(p, comma ? (size_t)(comma - p) : strlen(p));
        if (!comma) break;
        p = comma;
    }
    const int m = (int)parse(argv[2], "M", 1, 1 << 20), k = (int)parse(argv[3], "K", 1, 1 << 20);
    const int r = (int)parse(argv[4], "R", 1, 256), c = (int)parse(argv[5], "C", 1, 256);
    char *end = nullptr;
    const double s = strtod(argv[6], &end);
    if (end == argv[6] || *end != '\0' || !(s >= 0 && s <= 1)) {
        fprintf(stderr, "paired: SPARSITY must be in [0, 1] (got '%s')\n", argv[6]);
        return 2;
    }
    const int n = (int)parse(argv[7], "N", 1, 1 << 16);
    const int pairs = (int)parse(argv[8], "PAIRS", 1, 100000);
    const int builds = argc - 9;
    if (names.size() != 1 && names.size() != (size_t)builds) {
        fprintf(stderr, "paired: %zu kernel names for %d builds (give one, or one per build)\n", names.size(), builds);
        return 2;
    }

    std::vector<const kb_kernel_info *> kernels;
    probe_fn probe = nullptr;
    for (int i = 0; i < builds; i++) {
        void *h = dlopen(argv[9 + i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "paired: %s\n", dlerror());
            return 1;
        }
        const char *name = names[names.size() == 1 ? 0 : i].c_str();
        const find_fn find = (find_fn)dlsym(h, "kb_find");
        const kb_kernel_info *ki = find ? find(name) : nullptr;
        if (!ki) {
            fprintf(stderr, "paired: no kernel %s in %s\n", name, argv[9 + i]);
            return 1;
        }
        // A kernel of an ISA this CPU lacks would die of SIGILL at its first call.
        const isa_supported_fn supported = (isa_supported_fn)dlsym(h, "kb_isa_supported");
        if (!supported) {
            fprintf(stderr, "paired: %s has no kb_isa_supported\n", argv[9 + i]);
            return 1;
        }
        if (!supported(ki->isa)) {
            const isa_name_fn isa_name = (isa_name_fn)dlsym(h, "kb_isa_name");
            fprintf(stderr, "paired: %s needs ISA %s, which this CPU does not support (see kernelbench list)\n", name,
                    isa_name ? isa_name(ki->isa) : "?");
            return 2;
        }
        if (ki->format == KB_FORMAT_CSR && (r != 1 || c != 1)) {
            fprintf(stderr, "paired: %s is a CSR kernel: use R = C = 1\n", name);
            return 2;
        }
        if (ki->format == KB_FORMAT_BSR && ki->block_rows != 0 && (ki->block_rows != r || ki->block_cols != c)) {
            fprintf(stderr, "paired: %s takes %dx%d blocks, not %dx%d\n", name, ki->block_rows, ki->block_cols, r, c);
            return 2;
        }
        kernels.push_back(ki);
        if (i == 0) probe = (probe_fn)dlsym(h, "kb_fma_probe");
    }

    const mb::BsrData a = mb::generate_uniform_bsr(m, k, r, c, s, 42);
    kb_bsr bsr = a.bsr_view();
    bsr.values = aligned_copy(a.values);
    bsr.col_idx = aligned_copy(a.col_idx);
    bsr.row_ptr = aligned_copy(a.row_ptr);
    const kb_csr csr = {bsr.m, bsr.k, bsr.row_ptr, bsr.col_idx, bsr.values};
    const float *b = aligned_copy(mb::generate_dense(k, n, 7));
    std::vector<float *> out;
    for (int i = 0; i < builds; i++) out.push_back(aligned_copy(std::vector<float>((size_t)m * n, NAN)));

    auto call = [&](int i) {
        const kb_kernel_info *ki = kernels[i];
        if (ki->format == KB_FORMAT_BSR) ki->bsr(&bsr, 0, bsr.mb, b, n, out[i], n, n, 0);
        else ki->csr(&csr, 0, m, b, n, out[i], n, n, 0);
    };
    for (int i = 0; i < builds; i++) call(i);
    for (int i = 1; i < builds; i++) {
        const size_t count = (size_t)m * n;
        if (memcmp(out[0], out[i], count * sizeof(float)) == 0) continue;
        double worst = 0;
        for (size_t j = 0; j < count; j++) worst = std::max(worst, (double)std::fabs(out[0][j] - out[i][j]));
        printf("note: build %d's result differs from build 0's: largest |difference| %g%s\n", i, worst,
               std::isnan(worst) ? " (NaN: a broken kernel; run make test)" : " (summation order?)");
    }
    for (int w = 0; w < 3; w++)
        for (int i = 0; i < builds; i++) call(i);

    const double flops = 2.0 * (double)a.stored_logical * n;
    std::vector<std::vector<double>> times(builds), ratios(builds);
    std::vector<double> probes;
    float sink = 0;
    for (int p = 0; p < pairs; p++) {
        const double t0 = now();
        const double probe_flops = probe(200000, &sink);
        probes.push_back(probe_flops / (now() - t0) * 1e-9);
        std::vector<double> t(builds);
        for (int j = 0; j < builds; j++) {
            const int i = p % 2 == 0 ? j : builds - 1 - j;
            const double s0 = now();
            call(i);
            t[i] = now() - s0;
        }
        for (int i = 0; i < builds; i++) {
            times[i].push_back(t[i]);
            ratios[i].push_back(t[0] / t[i]);
        }
    }
    printf("%s  M=%d K=%d block %dx%d sparsity %g N=%d  offset %zu  %d pairs  FMA probe %.1f GFLOP/s (median)\n", argv[1],
           m, k, r, c, s, n, offset_bytes, pairs, quantile(probes, 0.5));
    for (int i = 0; i < builds; i++)
        printf("  build %d %-40s median %10.1f us  %6.1f GFLOP/s  speedup over build 0: %.3f [%.3f, %.3f]\n", i,
               names.size() == 1 ? argv[9 + i] : (std::string(argv[9 + i]) + " " + kernels[i]->name).c_str(), quantile(times[i], 0.5) * 1e6, flops / quantile(times[i], 0.5) * 1e-9,
               quantile(ratios[i], 0.5), quantile(ratios[i], 0.25), quantile(ratios[i], 0.75));
    return 0;
}
