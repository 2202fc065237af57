import CPeers
import Foundation
import BlockSparse

/// A vendor library measured beside KernelBench's kernels (`run --peers`),
/// loaded at run time: no build or link dependency.
public enum Peer: String, CaseIterable, Sendable {
    /// Intel MKL through `libmkl_rt`: BSR and CSR through its
    /// inspector-executor API, dense through its CBLAS.
    case mkl

    /// The environment variable that names the library file.
    public var environmentVariable: String { "KERNELBENCH_MKL" }

    public var displayName: String { "Intel MKL" }

    /// The peer's case format standing in for one of KernelBench's (`bsr` ->
    /// `mkl-bsr`, ...).
    public func format(for builtIn: CaseFormat) -> CaseFormat {
        switch builtIn.base {
        case .bsr: return .mklBSR
        case .csr: return .mklCSR
        default: return .mklDense
        }
    }

    /// Loads the library (once per process; later calls return the loaded
    /// one): the file named by ``environmentVariable`` when it is set, else
    /// the loader's usual search for `libmkl_rt.so.3`, `.so.2`, `.so`.
    /// - Returns: The library's version string.
    /// - Throws: ``InputError`` (one line, naming what was tried and how to
    ///   install it) for a missing, unloadable, foreign or too old library.
    @discardableResult
    public func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let path = environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        var error = [CChar](repeating: 0, count: 1024)
        let status = path.map { p in kb_mkl_load(p, &error, error.count) } ?? kb_mkl_load(nil, &error, error.count)
        guard status == 0 else {
            let why = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let tried = path.map { "\(environmentVariable)=\($0)" } ?? "the loader's search (\(environmentVariable) is not set)"
            throw InputError(source: "--peers \(rawValue)",
                             "cannot use \(displayName) from \(tried): \(why); `make peers` installs it and prints "
                                 + "the \(environmentVariable)=... to set")
        }
        return version
    }

    /// Whether the library is loaded in this process.
    public var isLoaded: Bool { !version.isEmpty }
    /// The loaded library's version string ("" when not loaded).
    public var version: String { String(cString: kb_mkl_version()) }
    /// The file it was loaded from (a path, or the soname the loader found).
    public var libraryPath: String { String(cString: kb_mkl_path()) }

    /// Sets the library's thread count for calls from this thread; returns
    /// the count it then reports (less than asked: the setting is not honoured,
    /// e.g. `MKL_THREADING_LAYER=SEQUENTIAL`).
    @discardableResult
    public func setThreads(_ threads: Int) -> Int { Int(kb_mkl_set_threads(Int32(threads))) }
}

extension CaseFormat {
    /// KernelBench's own formats (the default of a suite).
    public static let builtIn: [CaseFormat] = [.bsr, .csr, .dense]

    /// The vendor library a peer format runs (nil for KernelBench's own).
    public var peer: Peer? {
        switch self {
        case .bsr, .csr, .dense: return nil
        case .mklBSR, .mklCSR, .mklDense: return .mkl
        }
    }

    /// The storage a format multiplies: `bsr`, `csr` or `dense` (a peer's too).
    public var base: CaseFormat {
        switch self {
        case .bsr, .mklBSR: return .bsr
        case .csr, .mklCSR: return .csr
        case .dense, .mklDense: return .dense
        }
    }
}

/// One operand of an MKL product: a sparse handle (with the arrays it
/// points into, which MKL does not copy) or the dense matrix. Built, hinted
/// and optimised outside the timed region; ``setupSeconds`` and
/// ``optimizeStatus`` say what that took and what MKL answered.
final class MKLOperand: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var rowPointers: [Int32] = [], columnIndices: [Int32] = [], values: [Float] = []
    private let dense: DenseMatrix?
    let rows: Int, cols: Int
    let kernelName: String
    private(set) var setupSeconds = 0.0
    private(set) var optimizeStatus = ""

    /// - Parameters:
    ///   - format: `.mklBSR` (square blocks dividing both sides of A), `.mklCSR` or `.mklDense`.
    ///   - n: columns of B, for the hint (1: the mv hint, and `mkl_sparse_s_mv` is called).
    init(_ format: CaseFormat, bsr: BSRMatrix, csr: CSRMatrix?, dense: DenseMatrix?, n: Int) throws {
        rows = bsr.rows
        cols = bsr.cols
        let routine = n == 1 ? "mv" : "mm"
        let start = monotonicNanoseconds()
        var status: Int32 = 0
        switch format {
        case .mklDense:
            guard let dense else { throw MatrixError.shapeMismatch("mkl-dense needs the dense form of A") }
            self.dense = dense
            kernelName = "cblas_s\(n == 1 ? "gemv" : "gemm")__mkl"
        case .mklBSR:
            guard bsr.block.rows == bsr.block.cols, bsr.rows % bsr.block.rows == 0, bsr.cols % bsr.block.cols == 0 else {
                throw MatrixError.shapeMismatch("mkl-bsr needs square blocks that divide both sides of A (got \(bsr.block) blocks on \(bsr.rows)x\(bsr.cols))")
            }
            self.dense = nil
            (rowPointers, columnIndices, values) = (bsr.rowPointers, bsr.columnIndices, bsr.values)
            kernelName = "mkl_sparse_s_\(routine)__bsr"
            if !columnIndices.isEmpty { status = rowPointers.withUnsafeMutableBufferPointer { rp in
                columnIndices.withUnsafeMutableBufferPointer { ci in
                    values.withUnsafeMutableBufferPointer { v in
                        kb_mkl_create_bsr(&handle, Int32(bsr.blockRowCount), Int32(bsr.blockColCount),
                                          Int32(bsr.block.rows), rp.baseAddress, ci.baseAddress, v.baseAddress)
                    }
                }
            } }
        default:
            guard let csr else { throw MatrixError.shapeMismatch("mkl-csr needs the CSR form of A") }
            self.dense = nil
            (rowPointers, columnIndices, values) = (csr.rowPointers, csr.columnIndices, csr.values)
            kernelName = "mkl_sparse_s_\(routine)__csr"
            if !columnIndices.isEmpty { status = rowPointers.withUnsafeMutableBufferPointer { rp in
                columnIndices.withUnsafeMutableBufferPointer { ci in
                    values.withUnsafeMutableBufferPointer { v in
                        kb_mkl_create_csr(&handle, Int32(csr.rows), Int32(csr.cols), rp.baseAddress, ci.baseAddress,
                                          v.baseAddress)
                    }
                }
            } }
        }
        guard status == 0 else {
            throw MatrixError.shapeMismatch("\(format.rawValue): MKL's create call returned \(String(cString: kb_mkl_status_name(status)))")
        }
        if let handle {
                        var hint: Int32 = 0, optimize: Int32 = 0
            kb_mkl_optimize(handle, Int32(n), 1000, &hint, &optimize)
            optimizeStatus = "\(routine) hint (1000 calls): \(Self.statusText(hint)), mkl_sparse_optimize: \(Self.statusText(optimize))"
        } else if format != .mklDense {
            optimizeStatus = "no handle: A stores no element (C is zero)"
        }
        setupSeconds = Double(monotonicNanoseconds() - start) * 1e-9
    }

    deinit { kb_mkl_destroy(handle) }

    private static func statusText(_ s: Int32) -> String {
        String(cString: kb_mkl_status_name(s)).replacingOccurrences(of: "SPARSE_STATUS_", with: "").lowercased()
    }

    /// C = A·B on `threads` of MKL's threads (set on every call, as OpenBLAS's).
    func multiply(_ b: DenseMatrix, into c: inout DenseMatrix, threads: Int) {
        Peer.mkl.setThreads(threads)
        let n = Int32(b.cols)
        b.values.withUnsafeBufferPointer { bp in
            c.values.withUnsafeMutableBufferPointer { cp in
                if let dense {
                    dense.values.withUnsafeBufferPointer { ap in
                        kb_mkl_dense_multiply(Int32(rows), Int32(cols), n, ap.baseAddress, Int32(max(dense.ld, 1)),
                                              bp.baseAddress, Int32(max(b.ld, 1)), cp.baseAddress, Int32(max(c.ld, 1)))
                    }
                } else if let handle {
                    _ = kb_mkl_sparse_multiply(handle, bp.baseAddress, n, Int32(max(b.ld, 1)), cp.baseAddress,
                                               Int32(max(c.ld, 1)))
                } else {
                    for i in cp.indices { cp[i] = 0 }  // A without a stored element
                }
            }
        }
    }
}
