import Testing
@testable import BlockSparse
import TestSupport

/// Every registered kernel against the Swift reference, over a sweep derived
/// from the kernel's own block shape and register tile (after XNNPACK's
/// spmm tester): M and K not multiples of the block, N around the tile,
/// leading dimensions larger than N, empty block rows, sparsity 0 and 1,
/// beta 0 over a NaN-filled C and beta 1.
@Suite struct KernelTests {
    static func nValues(tile: Int) -> [Int] {
        var seen = Set<Int>()
        return [1, 3, 7, tile - 1, tile, tile + 1, 2 * tile + 5, 64, 100].filter { $0 > 0 && seen.insert($0).inserted }
    }

    static func blockShapes(for kernel: Kernel) -> [BlockShape] {
        if kernel.format == .csr { return [shape(1, 1)] }
        if let b = kernel.block { return [b] }
        // 12x12 and up: the AVX2 SpMV reads blocks of more than 8 rows slice by
        // slice (12x12) or block by block (20x13: a partial last slice; 72x4: two bands).
        return [shape(1, 1), shape(2, 3), shape(3, 5), shape(4, 4), shape(7, 2), shape(8, 1),
                shape(12, 12), shape(20, 13), shape(72, 4)]
    }

    /// Every kernel but the AVX-512 rows (avx512MatchesReference).
    @Test(arguments: Kernel.all.filter { $0.isa != .avx512 })
    func matchesReference(_ kernel: Kernel) throws {
        guard kernel.isSupported else {
            print("SKIP \(kernel.name): ISA \(kernel.isa.rawValue) not supported on this CPU")
            return
        }
        try sweep(kernel)
    }

    /// The AVX-512 rows, reported as a skipped test (never a passed one) on a
    /// CPU or OS without AVX-512.
    @Test(.enabled(if: ISA.avx512.isSupported,
                   "this CPU or OS lacks AVX-512 F+VL (or XCR0 does not enable the ZMM state): the avx512 kernels are NOT tested here"),
          arguments: Kernel.all.filter { $0.isa == .avx512 })
    func avx512MatchesReference(_ kernel: Kernel) throws {
        try sweep(kernel)
    }

    func sweep(_ kernel: Kernel) throws {
        var cases = 0
        for block in KernelTests.blockShapes(for: kernel) {
            let r = block.rows, c = block.cols
            let dims = [(2 * r + 1, 3 * c + 2), (3 * r, 2 * c), (r == 1 ? 5 : r - 1, c == 1 ? 3 : c + 1)]
            let ns = kernel.isSpMV ? [1] : KernelTests.nValues(tile: kernel.tileN)
            for (m, k) in dims {
                for (sparsity, distribution) in [(0.0, BlockDistribution.uniform), (0.5, .powerlaw), (0.7, .uniform), (1.0, .uniform)] {
                    let a = randomBSR(m, k, r, c, sparsity: sparsity, distribution, seed: UInt64(m * 1000 + k))
                    for n in ns {
                        try check(kernel, a, n: n)
                        cases += 1
                    }
                }
            }
        }
        #expect(cases > 0)
    }

    func check(_ kernel: Kernel, _ a: BSRMatrix, n: Int) throws {
        let ld = n + 3
        let b = try DenseMatrix.random(rows: a.cols, cols: n, ld: ld, seed: UInt64(n))
        let ref = try Reference(a, b)
        let csr = CSRMatrix(bsr: a)
        for accumulate in [false, true] {
            var c = try DenseMatrix(zeros: a.rows, n, ld: ld)
            let initial = try DenseMatrix.random(rows: a.rows, cols: n, ld: ld, seed: 99)
            // beta 0: C starts as NaN, which must never leak; beta 1: random C.
            c.values = accumulate ? initial.values : [Float](repeating: .nan, count: c.values.count)
            // The padding columns between n and ld must never be written.
            for i in 0..<a.rows { for j in n..<ld { c.values[i * ld + j] = 12345 } }
            if kernel.format == .csr {
                try kernel.multiply(csr, b, into: &c, accumulate: accumulate)
            } else {
                try kernel.multiply(a, b, into: &c, accumulate: accumulate)
            }
            let v = c.values.withUnsafeBufferPointer { ref.verify($0, ld: ld, initial: accumulate ? initial : nil) }
            #expect(v.passed, "\(kernel.name) m=\(a.rows) k=\(a.cols) block=\(a.block) n=\(n) sparsity=\(a.blockSparsity) accumulate=\(accumulate): \(v)")
            var padOK = true
            for i in 0..<a.rows { for j in n..<ld where c.values[i * ld + j] != 12345 { padOK = false } }
            #expect(padOK, "\(kernel.name) wrote past column n=\(n)")
        }
    }

    @Test func dispatchPicksSupportedKernels() throws {
        let isa = try Kernel.dispatchISA()
        #expect(isa.isSupported)
        for block in [shape(1, 1), shape(2, 2), shape(3, 5), shape(8, 8), shape(16, 1), shape(32, 32)] {
            for n in [1, 5, 64] {
                let k = try Kernel.select(.bsr, block: block, n: n)
                #expect(k.isSupported && k.accepts(block), "\(k.name) for \(block) n=\(n)")
                #expect(!k.isSpMV || n == 1)
            }
        }
        #expect(try Kernel.select(.csr, block: shape(1, 1), n: 64).format == .csr)
        let forcedScalar = try Kernel.select(.bsr, block: shape(8, 8), n: 64, isa: .scalar)
        #expect(forcedScalar.isa == .scalar)
        #expect(ISA.best.isSupported)
        #expect(ISA.allCases.filter(\.isSupported).allSatisfy { $0 == .scalar || $0 == ISA.best || $0 == .avx2_fma })
        if ISA.avx512.isSupported {
            // Dispatch prefers AVX-512, and every AVX2 row's shape has an AVX-512 row.
            #expect(ISA.best == .avx512 && ISA.avx2_fma.isSupported)
            for k in Kernel.all where k.isa == .avx2_fma {
                let n = k.isSpMV ? 1 : 64
                let picked = try Kernel.select(k.format, block: k.block ?? shape(9, 9), n: n, isa: .avx512)  // 9x9: no specialised kernel
                #expect(picked.isa == .avx512 && picked.isSpMV == k.isSpMV && picked.block == k.block,
                        "\(k.name): \(picked.name)")
            }
        }
    }

    @Test func registryNamesAreUniqueAndEncodeISA() {
        let names = Kernel.all.map(\.name)
        #expect(Set(names).count == names.count)
        for k in Kernel.all {
            #expect(k.name.hasSuffix("__" + k.isa.rawValue), "\(k.name)")
            #expect(k.name.hasPrefix(k.format.rawValue + "_f32_"), "\(k.name)")
            #expect(Kernel.named(k.name) == k)
        }
        #expect(Kernel.all.contains { $0.isa == .scalar && $0.format == .bsr })
        #expect(Kernel.all.contains { $0.isa == .scalar && $0.format == .csr })
    }

    @Test func kernelRejectsWrongShapes() throws {
        let a = randomBSR(8, 8, 4, 4, sparsity: 0.5)
        let b = try DenseMatrix.random(rows: 7, cols: 2, seed: 1)
        var c = try DenseMatrix(zeros: 8, 2)
        let k = try Kernel.select(.bsr, block: a.block, n: 2)
        #expect(throws: MatrixError.self) { try k.multiply(a, b, into: &c) }
    }

    @Test func denseBaselineMatchesReference() throws {
        DenseBaseline.setThreads(1)
        let a = randomBSR(37, 53, 4, 4, sparsity: 0.3)
        let dense = DenseMatrix(bsr: a)
        let b = try DenseMatrix.random(rows: 53, cols: 19, seed: 5)
        let ref = try Reference(a, b)
        var c = try DenseMatrix(zeros: 37, 19)
        c.values = [Float](repeating: .nan, count: c.values.count)
        try DenseBaseline.multiply(dense, b, into: &c)
        #expect(c.values.withUnsafeBufferPointer { ref.verify($0, ld: 19) }.passed)
        #expect(DenseBaseline.threads == 1)
        #expect(!DenseBaseline.configuration.isEmpty)
    }

    /// Batch 1 is sgemv (what a user calls for a vector), batch > 1 sgemm,
    /// each named by its routine; both verify, also with strided B and C.
    @Test func denseBaselineIsGemvForOneColumn() throws {
        #expect(DenseBaseline.routine(n: 1) == .gemv && DenseBaseline.routine(n: 2) == .gemm)
        #expect(DenseBaseline.Routine.gemv.kernelName == "dense_f32_gemv__openblas")
        #expect(DenseBaseline.Routine.gemm.kernelName == "dense_f32_gemm__openblas")
        for threads in [1, 2] {
            DenseBaseline.setThreads(threads)
            let a = randomBSR(67, 45, 4, 4, sparsity: 0.3)
            let dense = DenseMatrix(bsr: a)
            let wide = try DenseMatrix.random(rows: 45, cols: 3, seed: 5)
            // Column 0 of a 3-column B as a 1-column matrix with ld 3.
            let b = try DenseMatrix(rows: 45, cols: 1, ld: 3, values: wide.values)
            let ref = try Reference(a, b)
            for routine in [nil, DenseBaseline.Routine.gemv, .gemm] {
                var c = try DenseMatrix(rows: 67, cols: 1, ld: 2, values: [Float](repeating: .nan, count: 134))
                try DenseBaseline.multiply(dense, b, into: &c, routine: routine)
                #expect(c.values.withUnsafeBufferPointer { ref.verify($0, ld: 2) }.passed, "\(String(describing: routine))")
                #expect((0..<67).allSatisfy { c.values[2 * $0 + 1].isNaN }, "only column 0 of C is written")
            }
            var c3 = try DenseMatrix(zeros: 67, 3)
            #expect(throws: MatrixError.self) { try DenseBaseline.multiply(dense, wide, into: &c3, routine: .gemv) }
        }
        DenseBaseline.setThreads(1)
    }
}
