// swift-tools-version:6.1
import PackageDescription

// The microkernels are compiled optimised in every build configuration: a
// debug build of the kernels would make every number a lie. (The Swift side
// still follows -c debug/release; `kernelbench` warns in a debug build.)
let kernelCFlags: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-math-errno", "-Wall", "-Wextra"]),
]

let package = Package(
    name: "KernelBench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kernelbench", targets: ["kernelbench"]),
        .executable(name: "microbench", targets: ["microbench"]),
        .library(name: "BlockSparse", targets: ["BlockSparse"]),
        .library(name: "Benchmarking", targets: ["Benchmarking"]),
        .library(name: "PaperStudy", targets: ["PaperStudy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "CKernels",
            path: "CKernels",
            cSettings: kernelCFlags
        ),
        // Vendor libraries measured beside the kernels (`run --peers`), loaded
        // at run time with dlopen: no build or link dependency on them.
        .target(
            name: "CPeers",
            path: "Sources/CPeers",
            cSettings: [.unsafeFlags(["-O2", "-Wall", "-Wextra"])],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .systemLibrary(
            name: "CNuma", path: "Sources/CNuma", pkgConfig: "numa",
            providers: [.apt(["libnuma-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CBenchmark", path: "Sources/CBenchmark", pkgConfig: "benchmark",
            providers: [.apt(["libbenchmark-dev"])]),
        // The library in three layers that follow the data flow; each depends
        // only on the layers below it.
        // Matrices and the machinery that multiplies them: formats, generation,
        // file readers, pruning, the reference, the kernel bridge, the parallel driver.
        .target(
            name: "BlockSparse",
            dependencies: ["CKernels", "CNuma", "COpenBLAS", "CZlib"],
            path: "Sources/BlockSparse"
        ),
        // Measuring and reporting it: machine probes, timing, the suite and its
        // break-even search, peers, the result schema, compare, the renderers.
        .target(
            name: "Benchmarking",
            dependencies: ["BlockSparse", "CKernels", "CPeers", "COpenBLAS"],
            path: "Sources/Benchmarking"
        ),
        // The paper's study on top of both: LeNet-300-100, Fashion-MNIST, the
        // prune/retrain rounds and their report.
        .target(
            name: "PaperStudy",
            dependencies: ["BlockSparse", "Benchmarking", "CKernels", "COpenBLAS", "CZlib"],
            path: "Sources/PaperStudy"
        ),
        .executableTarget(
            name: "kernelbench",
            dependencies: [
                "BlockSparse", "Benchmarking", "PaperStudy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/kernelbench"
        ),
        .executableTarget(
            name: "microbench",
            dependencies: ["CKernels", "COpenBLAS", "CBenchmark"],
            path: "Benchmarks",
            exclude: ["shapes", "paired"],
            cxxSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("benchmark"), .linkedLibrary("pthread")]
        ),
        // Parser fuzz targets: replays files in an ordinary build; scripts/fuzz.sh
        // builds it with -sanitize=fuzzer for libFuzzer.
        // libFuzzer's driver declaration (header only; the library comes with -sanitize=fuzzer).
        .systemLibrary(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
        .executableTarget(
            name: "kernelbench-fuzz",
            dependencies: ["BlockSparse", "Benchmarking", "PaperStudy", "CLibFuzzer"],
            path: "Sources/kernelbench-fuzz"
        ),
        // One test target per module, and the command line end to end; the
        // helpers they share (matrices, the CLI runner) in TestSupport.
        .target(
            name: "TestSupport",
            dependencies: ["BlockSparse", "Benchmarking"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "BlockSparseTests",
            dependencies: ["BlockSparse", "TestSupport", "CKernels"],
            path: "Tests/BlockSparseTests"
        ),
        .testTarget(
            name: "BenchmarkingTests",
            dependencies: ["Benchmarking", "BlockSparse", "TestSupport", "CKernels"],
            path: "Tests/BenchmarkingTests"
        ),
        .testTarget(
            name: "PaperStudyTests",
            dependencies: ["PaperStudy", "Benchmarking", "BlockSparse", "TestSupport"],
            path: "Tests/PaperStudyTests"
        ),
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["Benchmarking", "BlockSparse", "TestSupport"],
            path: "Tests/CommandLineTests"
        ),
    ],
    cxxLanguageStandard: .cxx17
)
