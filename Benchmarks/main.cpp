// microbench — Google Benchmark harness for the KernelBench kernels.
//
//   swift run -c release microbench [own flags] [--benchmark_* flags]
//
// Registration happens at run time from the C kernel registry (kb_kernels()),
// so every kernel added to a table_<isa>.h shows up here without edits:
//   - BSR kernels with a fixed block shape: that shape;
//   - generic BSR kernels (block 0x0): each shape of --generic_blocks
//     (default 2x2, 4x4, 8x8, 16x16);
//   - CSR kernels: the 1x1 matrix at the same (element) sparsity;
//   - the dense baseline on the densified 1x1 matrix, what a user would
//     call: dense_f32_gemv__openblas (cblas_sgemv) at N = 1 and
//     dense_f32_gemm__openblas (cblas_sgemm) otherwise; OpenBLAS pinned to
//     one thread with openblas_set_num_threads(1) so every number is single-core;
// times every shape in the shape files x sparsities x N (KB_N_ONE kernels,
// the SpMV paths, only at N = 1), each warm and, with a /cold suffix, cold.
//
// Names: KERNEL[/bRxC]/mM/kK/nN/sS[/cold], e.g.
//   bsr_f32_spmm_b8x8_n24__avx2_fma/m4096/k4096/n64/s90
//   bsr_f32_spmm_generic__scalar/b4x4/m300/k784/n1/s95/cold
// (/bRxC only for generic kernels, whose name carries no block shape; S is
// the sparsity in percent). Pick subsets with --benchmark_filter=REGEX, or
// register fewer with the flags below. Own flags (all --flag=value) are
// removed from argv before benchmark::Initialize:
//   --shapes_dir=DIR       shape files (else $KERNELBENCH_SHAPES_DIR, else the
//                          first Benchmarks/shapes above the current directory
//                          or above the executable)
//   --shapes=a,b           only these shape files (by stem: lenet300100, ...)
//   --sparsities=50,70,90,95   sparsity percents
//   --ns=1,64              N values (columns of B and C)
//   --generic_blocks=2,4,8,16  block shapes for generic kernels (S or RxC)
//   --cache=both|warm|cold     which variants to register (default both);
//   --cold                 same as --cache=cold
//   --cold_bytes=BYTES     cold working set (default max(64 MiB, 2 x LLC),
//                          at most 512 MiB; LLC from /sys, else sysconf, else 32 MiB)
//   --seed=N               generator seed for A (B uses N + 1); default 42
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "harness.h"
#include "kernelbench.h"
#include "matrices.h"

namespace {

struct Shape {
    std::string name;  // from the file, for humans
    int32_t m, k;
};

struct Options {
    std::string shapes_dir;
    std::vector<std::string> shape_files;  // empty: all *.txt
    std::vector<double> sparsities{50, 70, 90, 95};
    std::vector<int32_t> ns{1, 64};
    std::vector<std::pair<int32_t, int32_t>> generic_blocks{{2, 2}, {4, 4}, {8, 8}, {16, 16}};
    bool warm = true, cold = true;
    size_t cold_bytes = 0;  // 0: derived from the LLC
    uint64_t seed = 42;
    bool help = false;
};

[[noreturn]] void die(const std::string &msg, int code = 2) {
    fprintf(stderr, "microbench: %s\n", msg.c_str());
    exit(code);
}

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(s);
    while (std::getline(in, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

double parse_number(const std::string &flag, const std::string &text) {
    char *end = nullptr;
    errno = 0;
    const double v = strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v))
        die("bad value '" + text + "' for " + flag);
    return v;
}

int32_t parse_int(const std::string &flag, const std::string &text, long lo, long hi) {
    const double v = parse_number(flag, text);
    if (v < lo || v > hi || v != (double)(long long)v)
        die("bad value '" + text + "' for " + flag + " (integer in [" + std::to_string(lo) +
            ", " + std::to_string(hi) + "] expected)");
    return (int32_t)v;
}

const char *kUsage =
    "microbench own flags (--flag=value; Google Benchmark's flags follow below):\n"
    "  --shapes_dir=DIR            shape files directory (else $KERNELBENCH_SHAPES_DIR,\n"
    "                              else Benchmarks/shapes above the cwd or the executable)\n"
    "  --shapes=a,b                only these shape files, by stem (e.g. lenet300100)\n"
    "  --sparsities=50,70,90,95    sparsities in percent\n"
    "  --ns=1,64                   N values (columns of B and C)\n"
    "  --generic_blocks=2,4,8,16   block shapes for generic kernels (S or RxC)\n"
    "  --cache=both|warm|cold      variants to register (default both; cold ones end in /cold)\n"
    "  --cold                      same as --cache=cold\n"
    "  --cold_bytes=BYTES          cold-cache working set (default max(64 MiB, 2 x LLC) <= 512 MiB)\n"
    "  --seed=N                    seed of A (B uses N + 1), default 42\n"
    "Names: KERNEL[/bRxC]/mM/kK/nN/sS[/cold]; filter with --benchmark_filter=REGEX.\n\n";

/// Takes our flags out of argv (in place); returns the options.
Options parse_own_flags(int *argc, char **argv) {
    Options o;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const std::string arg = argv[i];
        auto value_of = [&](const char *flag) -> const char * {
            const size_t len = strlen(flag);
            if (arg.compare(0, len, flag) == 0 && arg.size() > len && arg[len] == '=')
                return argv[i] + len + 1;
            return nullptr;
        };
        const char *v;
        if ((v = value_of("--shapes_dir"))) {
            o.shapes_dir = v;
            if (o.shapes_dir.empty()) die("--shapes_dir needs a directory");
        } else if ((v = value_of("--shapes"))) {
            o.shape_files = split(v, ',');
        } else if ((v = value_of("--sparsities"))) {
            o.sparsities.clear();
            for (auto &s : split(v, ',')) {
                const double p = parse_number("--sparsities", s);
                if (p < 0 || p > 100) die("sparsity " + s + " is outside [0, 100] percent");
                o.sparsities.push_back(p);
            }
        } else if ((v = value_of("--ns"))) {
            o.ns.clear();
            for (auto &s : split(v, ',')) o.ns.push_back(parse_int("--ns", s, 1, 1 << 20));
        } else if ((v = value_of("--generic_blocks"))) {
            o.generic_blocks.clear();
            for (auto &s : split(v, ',')) {
                const size_t x = s.find('x');
                const int32_t r = parse_int("--generic_blocks", s.substr(0, x), 1, 4096);
                const int32_t c =
                    x == std::string::npos ? r : parse_int("--generic_blocks", s.substr(x + 1), 1, 4096);
                o.generic_blocks.emplace_back(r, c);
            }
        } else if ((v = value_of("--cache"))) {
            const std::string mode = v;
            if (mode == "both") o.warm = o.cold = true;
            else if (mode == "warm") { o.warm = true; o.cold = false; }
            else if (mode == "cold") { o.warm = false; o.cold = true; }
            else die("--cache must be both, warm or cold (got '" + mode + "')");
        } else if (arg == "--cold") {
            o.warm = false;
            o.cold = true;
        } else if ((v = value_of("--cold_bytes"))) {
            const double b = parse_number("--cold_bytes", v);
            if (b < 1 || b > 1e15 || b != (double)(long long)b) die("--cold_bytes must be a positive integer");
            o.cold_bytes = (size_t)b;
        } else if ((v = value_of("--seed"))) {
            o.seed = strtoull(v, nullptr, 0);
        } else {
            if (arg == "--help" || arg == "-h") o.help = true;
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = nullptr;
    return o;
}

bool is_dir(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string parent_of(const std::string &p) {
    const size_t slash = p.find_last_of('/');
    if (slash == std::string::npos) return "";
    return slash == 0 ? "/" : p.substr(0, slash);
}

/// First `Benchmarks/shapes` in `dir` or above it; "" when none.
std::string search_upward(std::string dir) {
    while (!dir.empty()) {
        const std::string candidate = (dir == "/" ? "" : dir) + "/Benchmarks/shapes";
        if (is_dir(candidate)) return candidate;
        if (dir == "/") break;
        dir = parent_of(dir);
    }
    return "";
}

std::string locate_shapes_dir(const Options &o) {
    if (!o.shapes_dir.empty()) {
        if (!is_dir(o.shapes_dir)) die("shapes directory '" + o.shapes_dir + "' (--shapes_dir) does not exist");
        return o.shapes_dir;
    }
    if (const char *env = getenv("KERNELBENCH_SHAPES_DIR"); env && *env) {
        if (!is_dir(env)) die(std::string("shapes directory '") + env + "' ($KERNELBENCH_SHAPES_DIR) does not exist");
        return env;
    }
    char buf[4096];
    if (getcwd(buf, sizeof buf)) {
        const std::string found = search_upward(buf);
        if (!found.empty()) return found;
    }
    const ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (len > 0) {
        buf[len] = '\0';
        const std::string found = search_upward(parent_of(buf));
        if (!found.empty()) return found;
    }
    die("shapes directory not found: pass --shapes_dir=DIR, set KERNELBENCH_SHAPES_DIR, "
        "or run inside the KernelBench checkout (Benchmarks/shapes)");
}

/// A shape file: one `name m k` per line (A is m x k); '#' starts a comment.
std::vector<Shape> read_shape_file(const std::string &path) {
    std::ifstream in(path);
    if (!in) die("cannot read shape file " + path);
    std::vector<Shape> shapes;
    std::string line;
    for (int lineno = 1; std::getline(in, line); lineno++) {
        const size_t hash = line.find('#');
        if (hash != std::string::npos) line.erase(hash);
        std::istringstream fields(line);
        std::string name, ms, ks, extra;
        if (!(fields >> name)) continue;  // blank or comment-only
        const std::string where = path + ":" + std::to_string(lineno);
        if (!(fields >> ms >> ks) || (fields >> extra))
            die(where + ": expected `name m k`");
        Shape s{name, parse_int(where + " m", ms, 1, 1 << 24), parse_int(where + " k", ks, 1, 1 << 24)};
        shapes.push_back(s);
    }
    return shapes;
}

std::vector<Shape> load_shapes(const std::string &dir, const Options &o) {
    std::vector<std::string> stems = o.shape_files;
    if (stems.empty()) {
        // Every *.txt in the directory, sorted by name.
        if (auto *d = opendir(dir.c_str())) {
            while (auto *e = readdir(d)) {
                const std::string f = e->d_name;
                if (f.size() > 4 && f.compare(f.size() - 4, 4, ".txt") == 0)
                    stems.push_back(f.substr(0, f.size() - 4));
            }
            closedir(d);
        }
        std::sort(stems.begin(), stems.end());
        if (stems.empty()) die("no *.txt shape files in " + dir);
    }
    std::vector<Shape> all;
    std::set<std::pair<int32_t, int32_t>> seen;
    for (const auto &stem : stems) {
        const std::string path = dir + "/" + stem + ".txt";
        if (access(path.c_str(), R_OK) != 0) die("shape file " + path + " not found");
        for (const Shape &s : read_shape_file(path))
            if (seen.insert({s.m, s.k}).second) all.push_back(s);
    }
    return all;
}

/// Last-level cache size seen by this core: the highest-level data/unified
/// cache of cpu0 in /sys (what the core actually shares; sysconf may report
/// the sum over a whole package), else sysconf, else 32 MiB.
size_t llc_bytes() {
    size_t best = 0;
    int best_level = 0;
    for (int index = 0; index < 8; index++) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
        std::ifstream lf(dir + "/level"), tf(dir + "/type"), sf(dir + "/size");
        int level = 0;
        std::string type, text;
        if (!(lf >> level) || !(tf >> type) || !(sf >> text) || type == "Instruction") continue;
        size_t v = strtoull(text.c_str(), nullptr, 10);
        const char unit = text.back();
        if (unit == 'K') v <<= 10;
        else if (unit == 'M') v <<= 20;
        else if (unit == 'G') v <<= 30;
        if (v > 0 && level >= best_level) {
            best = v;
            best_level = level;
        }
    }
    if (best > 0) return best;
#ifdef _SC_LEVEL3_CACHE_SIZE
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (l3 > 0) return (size_t)l3;
#endif
    return (size_t)32 << 20;
}

std::string git_revision(const std::string &shapes_dir) {
    if (const char *env = getenv("KERNELBENCH_GIT_REVISION"); env && *env) return env;
    const std::string cmd = "git -C '" + shapes_dir + "' rev-parse --short HEAD 2>/dev/null";
    std::string out;
    if (FILE *p = popen(cmd.c_str(), "r")) {
        char buf[128];
        while (fgets(buf, sizeof buf, p)) out += buf;
        if (pclose(p) != 0) out.clear();
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out.empty() ? "unknown" : out;
}

std::string percent_text(double p) {
    char buf[32];
    snprintf(buf, sizeof buf, "%g", p);
    return buf;
}

void register_case(const mb::Case &proto, const Options &o) {
    for (int variant = 0; variant < 2; variant++) {
        const bool cold = variant == 1;
        if ((cold && !o.cold) || (!cold && !o.warm)) continue;
        mb::Case cs = proto;
        cs.cold = cold;
        if (cold) cs.name += "/cold";
        // Single-threaded kernels: CPU time == wall time, so no UseRealTime().
        benchmark::RegisterBenchmark(cs.name.c_str(),
                                     [cs](benchmark::State &st) { mb::run_case(st, cs); })
            ->Unit(benchmark::kMicrosecond);
    }
}

void register_all(const std::vector<Shape> &shapes, const Options &o) {
    int32_t count = 0;
    const kb_kernel_info *kernels = kb_kernels(&count);
    for (const Shape &shape : shapes) {
        for (double pct : o.sparsities) {
            const std::string dims = "/m" + std::to_string(shape.m) + "/k" + std::to_string(shape.k);
            const std::string tail = "/s" + percent_text(pct);
            auto add = [&](const kb_kernel_info *kern, const std::string &prefix, int32_t r,
                           int32_t c) {
                for (int32_t n : o.ns) {
                    if (kern && kern->n_class == KB_N_ONE && n != 1) continue;
                    mb::Case cs;
                    // The dense baseline's name says its routine, which depends on N.
                    cs.name = (kern ? prefix : std::string(mb::dense_name(n))) + dims + "/n" +
                              std::to_string(n) + tail;
                    cs.kernel = kern;
                    cs.m = shape.m; cs.k = shape.k; cs.n = n;
                    cs.r = r; cs.c = c;
                    cs.sparsity = pct / 100.0;
                    register_case(cs, o);
                }
            };
            for (int32_t i = 0; i < count; i++) {
                const kb_kernel_info *kern = &kernels[i];
                if (kern->format == KB_FORMAT_CSR) {
                    add(kern, kern->name, 1, 1);
                } else if (kern->block_rows > 0 && kern->block_cols > 0) {
                    add(kern, kern->name, kern->block_rows, kern->block_cols);
                } else {
                    for (auto [r, c] : o.generic_blocks)
                        add(kern,
                            std::string(kern->name) + "/b" + std::to_string(r) + "x" + std::to_string(c),
                            r, c);
                }
            }
            add(nullptr, "", 1, 1);
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    Options o = parse_own_flags(&argc, argv);
    if (o.help) fputs(kUsage, stdout);

    // The dense baseline is single-threaded like every kernel here.
    openblas_set_num_threads(1);

    const size_t llc = llc_bytes();
    std::string shapes_dir;
    if (!o.help) {
        shapes_dir = locate_shapes_dir(o);
        const auto shapes = load_shapes(shapes_dir, o);
        mb::g_settings.seed = o.seed;
        mb::g_settings.cold_bytes =
            o.cold_bytes ? o.cold_bytes
                         : std::min<size_t>(std::max<size_t>((size_t)64 << 20, 2 * llc), (size_t)512 << 20);
        // Matrices, dense copies and references share one LRU budget.
        mb::Cache::shared().set_budget((size_t)1 << 30);
        register_all(shapes, o);
    }

    benchmark::Initialize(&argc, argv);  // exits after printing help for --help
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const int isa = kb_dispatch_isa();
    benchmark::AddCustomContext("cpu_model", kb_cpu_model());
    benchmark::AddCustomContext(
        "isa", isa < 0 ? std::string("invalid KERNELBENCH_ISA=") + getenv("KERNELBENCH_ISA")
                       : kb_isa_name((kb_isa)isa));
#ifdef __VERSION__
    benchmark::AddCustomContext("compiler", __VERSION__);
#else
    benchmark::AddCustomContext("compiler", "unknown");
#endif
    benchmark::AddCustomContext("harness_flags", "-std=c++17 -O2 (Package.swift microbench)"
#ifdef __OPTIMIZE__
                                                 ", optimised"
#else
                                                 ", NOT optimised"
#endif
    );
    benchmark::AddCustomContext("kernel_flags", "-O3 -fno-math-errno (Package.swift CKernels, every configuration)");
    benchmark::AddCustomContext("git_revision", git_revision(shapes_dir));
    benchmark::AddCustomContext("openblas", std::string(openblas_get_config()) + ", 1 thread");
    benchmark::AddCustomContext("generator",
                                "uniform block sparsity, SplitMix64 seed " + std::to_string(o.seed) +
                                    " (A), " + std::to_string(o.seed + 1) +
                                    " (B); Swift BlockSparse generator is canonical");
    benchmark::AddCustomContext("llc_bytes", std::to_string(llc));
    benchmark::AddCustomContext("cold_working_set_bytes", std::to_string(mb::g_settings.cold_bytes));

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
