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
        .target(
            name: "BlockSparse",
            dependencies: ["CKernels", "CPeers", "CNuma", "COpenBLAS", "CZlib"],
            path: "Sources/BlockSparse"
        ),
        .executableTarget(
            name: "kernelbench",
            dependencies: [
                "BlockSparse",
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
            dependencies: ["BlockSparse", "CLibFuzzer"],
            path: "Sources/kernelbench-fuzz"
        ),
        .testTarget(
            name: "BlockSparseTests",
            dependencies: ["BlockSparse", "CKernels"],
            path: "Tests/BlockSparseTests"
        ),
    ],
    cxxLanguageStandard: .cxx17
)
