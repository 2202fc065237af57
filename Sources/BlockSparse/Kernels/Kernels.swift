import CKernels
import COpenBLAS

/// Instruction set a kernel is written for.
public enum ISA: String, CaseIterable, Sendable, Codable {
    case scalar
    case avx2_fma
    case avx512
    case neon

    init(_ raw: kb_isa) {
        switch raw {
        case KB_ISA_AVX2_FMA: self = .avx2_fma
        case KB_ISA_AVX512: self = .avx512
        case KB_ISA_NEON: self = .neon
        default: self = .scalar
        }
    }

    package var raw: kb_isa {
        switch self {
        case .scalar: return KB_ISA_SCALAR
        case .avx2_fma: return KB_ISA_AVX2_FMA
        case .avx512: return KB_ISA_AVX512
        case .neon: return KB_ISA_NEON
        }
    }

    /// Whether this CPU (and this build) runs kernels of this ISA (AVX-512:
    /// CPUID's F and VL, and an OS that saves the ZMM state).
    public var isSupported: Bool { kb_isa_supported(raw) != 0 }

    /// The best ISA this CPU runs, whatever `KERNELBENCH_ISA` says: the one
    /// the FMA and load probes use.
    public static var best: ISA { ISA(kb_best_isa()) }
}

/// Storage format of the sparse operand.
public enum SparseFormat: String, Sendable, Codable {
    case bsr, csr
}

/// One row of the C kernel registry (`CKernels/table_*.h`), as Swift sees it.
public struct Kernel: Sendable, Hashable, CustomStringConvertible {
    /// Points into the static, immutable C registry table.
    nonisolated(unsafe) let info: UnsafePointer<kb_kernel_info>

    public var name: String { String(cString: info.pointee.name) }
    public var format: SparseFormat { info.pointee.format == KB_FORMAT_CSR ? .csr : .bsr }
    public var isa: ISA { ISA(info.pointee.isa) }
    /// The block shape the kernel is specialised for; nil for a generic kernel.
    public var block: BlockShape? {
        let r = Int(info.pointee.block_rows), c = Int(info.pointee.block_cols)
        return r == 0 ? nil : try? BlockShape(rows: r, cols: c)
    }
    /// Register tile along N.
    public var tileN: Int { Int(info.pointee.tile_n) }
    /// True for an N = 1 (SpMV) specialisation.
    public var isSpMV: Bool { info.pointee.n_class == KB_N_ONE }
    public var isSupported: Bool { isa.isSupported }
    public var description: String { name }

    /// Every kernel compiled for this architecture, in registry order.
    public static var all: [Kernel] {
        var count: Int32 = 0
        guard let base = kb_kernels(&count) else { return [] }
        return (0..<Int(count)).map { Kernel(info: base + $0) }
    }

    /// A kernel by registered name.
    public static func named(_ name: String) -> Kernel? {
        kb_find(name).map { Kernel(info: $0) }
    }

    /// The ISA dispatch uses: the best this CPU supports, or the one forced by
    /// the environment variable `KERNELBENCH_ISA`.
    /// - Throws: ``MatrixError/shapeMismatch(_:)`` with an explanation when
    ///   `KERNELBENCH_ISA` names an unknown or unsupported ISA.
    public static func dispatchISA() throws -> ISA {
        let isa = kb_dispatch_isa()
        guard isa >= 0 else {
            let forced = ProcessInfoEnvironment.value("KERNELBENCH_ISA") ?? ""
            let supported = ISA.allCases.filter(\.isSupported).map(\.rawValue).joined(separator: ", ")
            throw MatrixError.shapeMismatch(
                "KERNELBENCH_ISA=\(forced) is not an ISA this CPU runs (supported here: \(supported))")
        }
        return ISA(kb_isa(UInt32(isa)))
    }

    /// Dispatch: the best registered kernel for this format, block shape and
    /// N at the dispatch ISA (or `isa` when given).
    public static func select(_ format: SparseFormat, block: BlockShape, n: Int, isa: ISA? = nil) throws -> Kernel {
        let target = try isa ?? dispatchISA()
        let raw = format == .csr ? KB_FORMAT_CSR : KB_FORMAT_BSR
        guard let info = kb_select(raw, Int32(block.rows), Int32(block.cols), Int32(clamping: n), target.raw) else {
            fatalError("kernel registry has no \(format) kernel at all")  // the scalar rows always exist
        }
        return Kernel(info: info)
    }

    /// Whether this kernel can compute a BSR product with this block shape.
    public func accepts(_ shape: BlockShape) -> Bool {
        format == .bsr && (block == nil || block == shape)
    }
}

/// Environment lookup without Foundation's ProcessInfo (which copies the whole environment).
enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Calling kernels

extension BSRMatrix {
    /// Runs `body` with the C view of this matrix (pointers valid only inside).
    public func withView<R>(_ body: (UnsafePointer<kb_bsr>) throws -> R) rethrows -> R {
        try rowPointers.withUnsafeBufferPointer { rp in
            try columnIndices.withUnsafeBufferPointer { ci in
                try values.withUnsafeBufferPointer { v in
                    var view = kb_bsr(m: Int32(rows), k: Int32(cols), r: Int32(block.rows), c: Int32(block.cols),
                                      mb: Int32(blockRowCount), kb: Int32(blockColCount),
                                      row_ptr: rp.baseAddress, col_idx: ci.baseAddress, values: v.baseAddress)
                    return try body(&view)
                }
            }
        }
    }
}

extension CSRMatrix {
    /// Runs `body` with the C view of this matrix (pointers valid only inside).
    public func withView<R>(_ body: (UnsafePointer<kb_csr>) throws -> R) rethrows -> R {
        try rowPointers.withUnsafeBufferPointer { rp in
            try columnIndices.withUnsafeBufferPointer { ci in
                try values.withUnsafeBufferPointer { v in
                    var view = kb_csr(m: Int32(rows), k: Int32(cols), row_ptr: rp.baseAddress,
                                      col_idx: ci.baseAddress, values: v.baseAddress)
                    return try body(&view)
                }
            }
        }
    }
}

extension Kernel {
    /// C = A·B (or C += A·B) for all rows, single-threaded: the simplest
    /// complete call, used by tests and by verification.
    /// - Throws: ``MatrixError`` when the shapes disagree or the kernel does
    ///   not take this block shape.
    public func multiply(_ a: BSRMatrix, _ b: DenseMatrix, into c: inout DenseMatrix, accumulate: Bool = false) throws {
        guard accepts(a.block) else {
            throw MatrixError.shapeMismatch("kernel \(name) does not take \(a.block) blocks")
        }
        try checkProduct(a.rows, a.cols, b, c)
        let bsr = info.pointee.bsr!
        a.withView { view in
            b.values.withUnsafeBufferPointer { bp in
                c.values.withUnsafeMutableBufferPointer { cp in
                    bsr(view, 0, view.pointee.mb, bp.baseAddress, Int64(b.ld), cp.baseAddress, Int64(c.ld),
                        Int32(b.cols), accumulate ? 1 : 0)
                }
            }
        }
    }

    /// C = A·B (or C += A·B) for a CSR kernel.
    public func multiply(_ a: CSRMatrix, _ b: DenseMatrix, into c: inout DenseMatrix, accumulate: Bool = false) throws {
        guard format == .csr else { throw MatrixError.shapeMismatch("kernel \(name) is not a CSR kernel") }
        try checkProduct(a.rows, a.cols, b, c)
        let csr = info.pointee.csr!
        a.withView { view in
            b.values.withUnsafeBufferPointer { bp in
                c.values.withUnsafeMutableBufferPointer { cp in
                    csr(view, 0, Int32(a.rows), bp.baseAddress, Int64(b.ld), cp.baseAddress, Int64(c.ld),
                        Int32(b.cols), accumulate ? 1 : 0)
                }
            }
        }
    }
}

func checkProduct(_ m: Int, _ k: Int, _ b: DenseMatrix, _ c: DenseMatrix) throws {
    guard b.rows == k, c.rows == m, c.cols == b.cols else {
        throw MatrixError.shapeMismatch(
            "cannot compute C (\(c.rows)x\(c.cols)) = A (\(m)x\(k)) x B (\(b.rows)x\(b.cols)): shapes differ")
    }
}

// MARK: - Dense baseline

/// The dense baseline: what a user would call on the dense form of A,
/// OpenBLAS `cblas_sgemv` for one column of B (N = 1) and `cblas_sgemm`
/// otherwise (`cblas_sgemm` with N = 1 is about 3x slower than `cblas_sgemv`
/// at 4096x4096, so it would flatter every batch-1 speedup).
public enum DenseBaseline {
    /// The BLAS routine of a dense product.
    public enum Routine: String, Sendable, CaseIterable {
        case gemv, gemm
        /// The entry's kernel name: `dense_f32_gemv__openblas`, `dense_f32_gemm__openblas`.
        public var kernelName: String { "dense_f32_\(rawValue)__openblas" }
    }

    /// The routine a user would call for N columns of B: `gemv` for N = 1, else `gemm`.
    public static func routine(n: Int) -> Routine { n == 1 ? .gemv : .gemm }

    /// Sets OpenBLAS's thread count (1 makes 1-thread comparisons fair).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    /// OpenBLAS's current thread count.
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// OpenBLAS's build configuration string (version, core, threading).
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// C = A·B (or C += A·B) with `routine`: by default ``routine(n:)`` of
    /// B's column count (`cblas_sgemv` for one column, `cblas_sgemm` otherwise).
    /// - Throws: ``MatrixError`` when the shapes differ, or `gemv` is asked
    ///   for a B with more than one column.
    public static func multiply(_ a: DenseMatrix, _ b: DenseMatrix, into c: inout DenseMatrix, accumulate: Bool = false,
                                routine: Routine? = nil) throws {
        try checkProduct(a.rows, a.cols, b, c)
        let routine = routine ?? Self.routine(n: b.cols)
        guard routine == .gemm || b.cols == 1 else {
            throw MatrixError.shapeMismatch("sgemv multiplies by one column, not \(b.cols)")
        }
        guard a.rows > 0, b.cols > 0 else { return }
        if !accumulate {  // beta = 0 must not read C: BLAS guarantees it, but NaN * 0 paranoia costs nothing here
            for i in 0..<c.rows { for j in 0..<c.cols { c.values[i * c.ld + j] = 0 } }
        }
        a.values.withUnsafeBufferPointer { ap in
            b.values.withUnsafeBufferPointer { bp in
                c.values.withUnsafeMutableBufferPointer { cp in
                    switch routine {
                    case .gemv:
                        // y = A·x with x a column of B (stride ld) and y a column of C.
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(a.rows), Int32(a.cols), 1, ap.baseAddress,
                                    Int32(max(a.ld, 1)), bp.baseAddress, Int32(max(b.ld, 1)), accumulate ? 1 : 0,
                                    cp.baseAddress, Int32(max(c.ld, 1)))
                    case .gemm:
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(a.rows), Int32(b.cols), Int32(a.cols),
                                    1, ap.baseAddress, Int32(max(a.ld, 1)), bp.baseAddress, Int32(max(b.ld, 1)),
                                    accumulate ? 1 : 0, cp.baseAddress, Int32(max(c.ld, 1)))
                    }
                }
            }
        }
    }
}
