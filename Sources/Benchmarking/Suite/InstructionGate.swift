import BlockSparse
import Foundation

// The instruction-count gate (`kernelbench instructions`, `make
// instruction-gate`): fixed products whose instructions callgrind counts, so
// a kernel change that adds work shows whatever the machine's noise.

/// One gate case: a format, block shape, N and ISA, and the kernel dispatch picks for them.
public struct GateCase: Sendable {
    static let m = 128, k = 128
    static let sparsity = 0.75
    static let seedA: UInt64 = 0x6a7e, seedB: UInt64 = 0x6a7f

    public var format: SparseFormat
    public var block: BlockShape
    public var n: Int
    public var isa: ISA
    public var kernel: Kernel
    /// Whether the kernel is the generic (any block shape) one.
    public var generic: Bool

    public var name: String {
        let what = format == .csr ? "csr" : generic ? "bsr_generic_\(block)" : "bsr_b\(block)"
        return "instr/\(what)/\(isa.rawValue)/n\(n)"
    }

    /// ISAs the gate leaves out: valgrind (3.19 in Debian 12, and still 3.2x)
    /// cannot decode AVX-512 instructions, so their kernels cannot run under
    /// callgrind. The sweeps (kernel_test.c, KernelTests) test them; their
    /// speed is shown by the paired timings in reports/kernels.md.
    public static let ungated: Set<ISA> = [.avx512]

    /// Every case for this CPU, in a fixed order: scalar and each gated ISA,
    /// each case pinned to its ISA (never the dispatch ISA).
    public static func all() throws -> [GateCase] {
        var cases: [GateCase] = []
        let ns = [32, 1]
        func add(_ format: SparseFormat, _ block: BlockShape, _ isa: ISA, generic: Bool) throws {
            for n in ns {
                let kernel = try Kernel.select(format, block: block, n: n, isa: isa)
                cases.append(GateCase(format: format, block: block, n: n, isa: isa, kernel: kernel, generic: generic))
            }
        }
        let square4 = try BlockShape(square: 4), odd = try BlockShape(square: 9), one = try BlockShape(square: 1)
        try add(.bsr, square4, .scalar, generic: true)
        try add(.csr, one, .scalar, generic: false)
        for isa in ISA.allCases where isa != .scalar && !ungated.contains(isa) && isa.isSupported {
            let own = Kernel.all.filter { $0.isa == isa }
            var shapes: [BlockShape] = []
            for kernel in own where kernel.format == .bsr {
                if let b = kernel.block, !shapes.contains(b) { shapes.append(b) }
            }
            for b in shapes { try add(.bsr, b, isa, generic: false) }
            if own.contains(where: { $0.format == .bsr && $0.block == nil }) { try add(.bsr, odd, isa, generic: true) }
            if own.contains(where: { $0.format == .csr }) { try add(.csr, one, isa, generic: false) }
        }
        return cases
    }

    func matrices() throws -> (BSRMatrix, DenseMatrix) {
        let a = try BSRMatrix.random(GeneratorSpec(rows: GateCase.m, cols: GateCase.k, block: block,
                                                   sparsity: GateCase.sparsity, seed: GateCase.seedA))
        let b = try DenseMatrix.random(rows: GateCase.k, cols: n, seed: GateCase.seedB)
        return (a, b)
    }

    /// Verifies one product against the reference, then calls the kernel `calls` more times.
    /// - Throws: ``VerificationFailure`` on a mismatch.
    public func runVerified(calls: Int) throws -> Verification {
        let (a, b) = try matrices()
        var c = try DenseMatrix(zeros: GateCase.m, n)
        let csr = format == .csr ? CSRMatrix(bsr: a) : nil
        func call() throws {
            if let csr { try kernel.multiply(csr, b, into: &c) } else { try kernel.multiply(a, b, into: &c) }
        }
        try call()
        let reference = try Reference(a, b)
        let verification = c.values.withUnsafeBufferPointer { reference.verify($0, ld: c.ld) }
        guard verification.passed else {
            throw VerificationFailure(description: "\(name): kernel \(kernel.name) gives a wrong product: \(verification)")
        }
        for _ in 0..<calls { try call() }
        return verification
    }

    /// The result entry for this case.
    func entry(instructionsPerCall: Double, calls: Int) -> BenchmarkEntry {
        let a = try? matrices().0
        let stored = Double(a?.storedLogicalElements ?? 0)
        let achieved = 1 - stored / Double(GateCase.m * GateCase.k)
        return BenchmarkEntry.deterministicCount(
            name: name, count: instructionsPerCall, calls: calls, kernel: kernel.name, format: format,
            block: format == .csr ? nil : block, m: GateCase.m, k: GateCase.k, n: n, sparsity: GateCase.sparsity,
            achievedSparsity: achieved, distribution: BlockDistribution.uniform.rawValue,
            matrix: "random(seed \(GateCase.seedA))")
    }

    /// The result file of per-case totals: `countsPath` holds one "CASE
    /// TOTAL_INSTRUCTIONS" line per case, each total counted over `calls` + 1
    /// calls (the verified one and `calls` more).
    /// - Throws: ``InputError`` naming the line at fault.
    public static func report(countsPath: String, cases: [GateCase], calls: Int) throws -> BenchmarkReport {
        let data = try readInputFile(countsPath, expected: "a file of \"CASE TOTAL_INSTRUCTIONS\" lines")
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputError(source: countsPath, "cannot read: not UTF-8 text")
        }
        var report = BenchmarkReport(context: MachineContext.current())
        var firstLine: [String: Int] = [:]  // case -> line of its count
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw InputError(source: countsPath, line: index + 1, "expected \"CASE TOTAL_INSTRUCTIONS\"")
            }
            // An instruction count is a positive whole number: "1.5e6", "0" or
            // "-3" is a broken counter output, not a count to compare against.
            guard let total = Int(fields[1]), total > 0 else {
                throw InputError(source: countsPath, line: index + 1,
                                 "count '\(fields[1])' is not a positive whole number of instructions (expected \"CASE TOTAL_INSTRUCTIONS\")")
            }
            let name = String(fields[0])
            guard let c = cases.first(where: { $0.name == name }) else {
                throw InputError(source: countsPath, line: index + 1, "unknown gate case \"\(name)\"")
            }
            if let first = firstLine[name] {
                throw InputError(source: countsPath, line: index + 1,
                                 "a second count for \"\(name)\" (the first is on line \(first)); give each case once")
            }
            firstLine[name] = index + 1
            report.benchmarks.append(c.entry(instructionsPerCall: Double(total) / Double(calls + 1), calls: calls + 1))
        }
        guard !report.benchmarks.isEmpty else { throw InputError(source: countsPath, "no counts") }
        return report
    }
}
