import Foundation
import BlockSparse
import Benchmarking

/// Inference time of one layer product W·X (W: out x in, X: in x batch) in
/// three formats, each verified against ``Reference`` before it is timed.
public struct LayerTiming: Codable, Sendable, Equatable {
    public var layer: Int
    public var m: Int
    public var k: Int
    public var n: Int
    public var stored_blocks: Int
    public var nonzeros: Int
    public var bsr_kernel: String
    public var csr_kernel: String
    /// Median seconds per product.
    public var dense_seconds: Double
    public var bsr_seconds: Double
    public var csr_seconds: Double
    /// At batch 1 only: dense matrix-vector product `cblas_sgemv`, the
    /// fairer dense baseline for a single sample (sgemm with N = 1 is slower).
    public var dense_gemv_seconds: Double?
    public var max_rel_error: Double
    /// Threads the BSR and CSR products ran on (the parallel driver), after
    /// the serial fallback for products too small to split; nil in results
    /// written before threaded timings existed (= 1).
    public var bsr_threads: Int?
    public var csr_threads: Int?
}

/// The three layer products of a network at one batch size.
public struct NetworkTiming: Codable, Sendable, Equatable {
    public var batch: Int
    /// Threads asked for (OpenBLAS for dense; the parallel driver for BSR
    /// and CSR); nil in results written before threaded timings existed (= 1).
    public var threads: Int?
    public var threadCount: Int { threads ?? 1 }
    public var layers: [LayerTiming]
    /// Sums over the layers of the median times.
    public var dense_seconds: Double
    public var bsr_seconds: Double
    public var csr_seconds: Double
    public var speedup_bsr_vs_dense: Double
    public var speedup_csr_vs_dense: Double
    public var speedup_bsr_vs_csr: Double
    /// At batch 1: Σ sgemv time and sgemv / BSR.
    public var dense_gemv_seconds: Double?
    public var speedup_bsr_vs_gemv: Double?
    /// Every format's output of every layer matched the reference.
    public var verified: Bool
}

public enum InferenceTimer {
    /// Times the layer products W_l·X_l of the pruned network (the weights
    /// under `masks`) at batch size `batch`: dense (OpenBLAS `cblas_sgemm` on
    /// the masked dense weights), BSR (the mask's block shape, every alive
    /// block stored) and CSR (the non-zeros), each with the kernel that
    /// dispatch picks for that N. X_0 holds the first `batch` samples of
    /// `inputs`; X_{l+1} = ReLU(W_l·X_l + b_l) are the real activations.
    /// Each format's output is verified against ``Reference`` before timing.
    ///
    /// With `threads` = 1 every format runs on one thread. With more, dense
    /// runs OpenBLAS on that many threads and BSR/CSR run through the
    /// parallel driver (``ParallelSpMM``) on a worker team kept for each
    /// product's timed calls, except a product whose one-thread time is under
    /// 10x `forkJoinOverhead` (the team's cost beyond the work; the serial
    /// fallback of ``ParallelSpMM/threadsWorthUsing(_:serialSeconds:forkJoinOverhead:runtime:)``),
    /// which stays on one thread; the threads each product used are recorded.
    /// OpenBLAS is set to `threads` here; the caller restores its own setting.
    /// - Throws: ``VerificationFailure`` on a mismatch, ``MatrixError`` on bad shapes.
    public static func time(model: MLP, masks: [BlockMask], inputs: Dataset, batch: Int,
                            policy: TimingPolicy, threads: Int = 1,
                            forkJoinOverhead: Double = 0) throws -> NetworkTiming {
        DenseBaseline.setThreads(threads)
        var x = inputs.columns(0..<min(batch, inputs.count))
        var layers: [LayerTiming] = []
        var verified = true
        for (l, layer) in model.layers.enumerated() {
            let mask = masks[l]
            let bsr = try mask.bsr(weights: layer.weights)
            var maskedWeights = layer.weights
            mask.apply(to: &maskedWeights)
            let dense = try DenseMatrix(rows: layer.outputs, cols: layer.inputs, values: maskedWeights)
            let csr = CSRMatrix(bsr: bsr)
            let n = x.cols
            let bsrKernel = try Kernel.select(.bsr, block: bsr.block, n: n)
            let csrKernel = try Kernel.select(.csr, block: try BlockShape(square: 1), n: n)

            var cDense = try DenseMatrix(zeros: layer.outputs, n)
            // The paper reports sgemm at every batch (its "dense"), and at batch 1 sgemv beside it.
            try DenseBaseline.multiply(dense, x, into: &cDense, routine: .gemm)
            let bsrProduct = try SparseProduct(.bsr(bsr), x, kernel: bsrKernel, threads: threads,
                                               forkJoinOverhead: forkJoinOverhead)
            let csrProduct = try SparseProduct(.csr(csr), x, kernel: csrKernel, threads: threads,
                                               forkJoinOverhead: forkJoinOverhead)
            bsrProduct.run()
            csrProduct.run()
            let cBSR = bsrProduct.output(), cCSR = csrProduct.output()
            var maxRel = 0.0
            var cGemv = cDense
            var checks = [("dense", cDense, try Reference(dense, x)),
                                         ("BSR \(bsr.block) (\(bsrKernel.name))", cBSR, try Reference(bsr, x)),
                                         ("CSR (\(csrKernel.name))", cCSR, try Reference(csr, x))]
            if n == 1 {
                try DenseBaseline.multiply(dense, x, into: &cGemv, routine: .gemv)
                checks.append(("dense sgemv", cGemv, checks[0].2))
            }
            for (name, c, reference) in checks {
                let v = c.values.withUnsafeBufferPointer { reference.verify($0, ld: c.ld) }
                guard v.passed else {
                    verified = false
                    throw VerificationFailure(description: "layer \(l + 1) \(name) at batch \(n): \(v)")
                }
                maxRel = max(maxRel, v.maxRelativeError)
            }

            let tDense = measure(policy) { try! DenseBaseline.multiply(dense, x, into: &cDense, routine: .gemm) }.summary.median
            let tBSR = measure(policy, session: bsrProduct.session) { bsrProduct.run() }.summary.median
            let tCSR = measure(policy, session: csrProduct.session) { csrProduct.run() }.summary.median
            let tGemv = n == 1 ? measure(policy) { try! DenseBaseline.multiply(dense, x, into: &cGemv, routine: .gemv) }.summary.median : nil
            layers.append(LayerTiming(layer: l + 1, m: layer.outputs, k: layer.inputs, n: n,
                                      stored_blocks: bsr.blockCount, nonzeros: csr.nonzeros,
                                      bsr_kernel: bsrKernel.name, csr_kernel: csrKernel.name,
                                      dense_seconds: tDense, bsr_seconds: tBSR, csr_seconds: tCSR,
                                      dense_gemv_seconds: tGemv, max_rel_error: maxRel,
                                      bsr_threads: bsrProduct.threads, csr_threads: csrProduct.threads))
            // Next layer's input: ReLU(W·X + b) from the dense product.
            if l < model.layers.count - 1 {
                for i in 0..<cDense.rows {
                    for j in 0..<cDense.cols {
                        cDense.values[i * cDense.ld + j] = max(cDense.values[i * cDense.ld + j] + layer.bias[i], 0)
                    }
                }
                x = cDense
            }
        }
        let d = layers.reduce(0) { $0 + $1.dense_seconds }
        let b = layers.reduce(0) { $0 + $1.bsr_seconds }
        let c = layers.reduce(0) { $0 + $1.csr_seconds }
        let g: Double? = layers.allSatisfy({ $0.dense_gemv_seconds != nil })
            ? layers.reduce(0) { $0 + $1.dense_gemv_seconds! } : nil
        return NetworkTiming(batch: min(batch, inputs.count), threads: threads, layers: layers, dense_seconds: d, bsr_seconds: b,
                             csr_seconds: c, speedup_bsr_vs_dense: d / b, speedup_csr_vs_dense: d / c,
                             speedup_bsr_vs_csr: c / b, dense_gemv_seconds: g, speedup_bsr_vs_gemv: g.map { $0 / b },
                             verified: verified)
    }
}

/// One timed sparse product at a thread count: the kernel on the calling
/// thread, or the parallel driver when more threads are asked for and the
/// product is large enough to be worth splitting.
private final class SparseProduct: @unchecked Sendable {
    let threads: Int
    private let call: () -> Void
    let output: () -> DenseMatrix
    /// The parallel driver's worker team, kept while a timing's calls run.
    private(set) var session: Session?

    init(_ a: SparseOperand, _ x: DenseMatrix, kernel: Kernel, threads asked: Int, forkJoinOverhead: Double) throws {
        var c = try DenseMatrix(zeros: a.rows, x.cols)
        c.values = [Float](repeating: .nan, count: c.values.count)
        nonisolated(unsafe) var out = c
        let serial: () -> Void = {
            switch a {
            case .bsr(let m): try! kernel.multiply(m, x, into: &out)
            case .csr(let m): try! kernel.multiply(m, x, into: &out)
            }
        }
        var threads = 1
        if asked > 1 {
            serial()
            let t1 = measure(TimingPolicy(minRepetitions: 3, minTime: 0.002, warmup: 0.001), serial).summary.median
            threads = ParallelSpMM.threadsWorthUsing(asked, serialSeconds: t1, forkJoinOverhead: forkJoinOverhead,
                                                     runtime: .team).threads
        }
        self.threads = threads
        if threads > 1 {
            let driver = try ParallelSpMM(a, x, kernel: kernel, options: DriverOptions(threads: threads))
            call = { driver.run() }
            output = { driver.result() }
            session = { calls in driver.withSession(calls) }
        } else {
            call = serial
            output = { out }
        }
    }

    func run() { call() }
}
