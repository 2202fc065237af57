import COpenBLAS
import Foundation
import BlockSparse
import Benchmarking

/// One fully-connected layer y = W·x + b, W stored out x in, row-major.
public struct DenseLayer: Sendable, Equatable {
    public let inputs: Int
    public let outputs: Int
    /// `outputs * inputs` weights, row-major (row = output unit).
    public var weights: [Float]
    public var bias: [Float]

    public var weightMatrix: DenseMatrix { try! DenseMatrix(rows: outputs, cols: inputs, values: weights) }
}

/// A multilayer perceptron with ReLU hidden layers and a softmax output
/// (LeNet-300-100 is `MLP(sizes: [784, 300, 100, 10], ...)`).
public struct MLP: Sendable, Equatable {
    public var layers: [DenseLayer]

    /// He-initialised weights (normal, std sqrt(2 / fan-in), drawn from
    /// SplitMix64 with `seed`) and zero biases.
    public init(sizes: [Int], seed: UInt64) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "an MLP needs at least two positive layer sizes")
        var rng = SplitMix64(seed: seed)
        layers = (1..<sizes.count).map { l in
            let fanIn = sizes[l - 1], out = sizes[l]
            let std = Float((2 / Double(fanIn)).squareRoot())
            let w = (0..<(out * fanIn)).map { _ in std * rng.nextGaussian() }
            return DenseLayer(inputs: fanIn, outputs: out, weights: w, bias: [Float](repeating: 0, count: out))
        }
    }

    /// LeNet-300-100: 784 → 300 → 100 → 10.
    public static func leNet300100(seed: UInt64) -> MLP { MLP(sizes: [784, 300, 100, 10], seed: seed) }

    public var sizes: [Int] { [layers[0].inputs] + layers.map(\.outputs) }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weights.count + $1.bias.count } }

    /// Mean softmax cross-entropy and accuracy over `data`, forward passes
    /// with `cblas_sgemm` in batches of `batch` samples.
    public func evaluate(_ data: Dataset, batch: Int = 1000) -> (loss: Double, accuracy: Double) {
        precondition(data.features == layers[0].inputs, "dataset features do not match the input layer")
        guard data.count > 0 else { return (0, 0) }
        let classes = layers.last!.outputs
        var totalLoss = 0.0
        var correct = 0
        data.x.withUnsafeBufferPointer { xp in
            var start = 0
            while start < data.count {
                let n = min(batch, data.count - start)
                let logits = self.logits(xp.baseAddress! + start * data.features, count: n)
                for i in 0..<n {
                    let row = logits[(i * classes)..<((i + 1) * classes)]
                    let label = Int(data.y[start + i])
                    totalLoss += softmaxCrossEntropy(row, label: label)
                    if argmax(row) == label { correct += 1 }
                }
                start += n
            }
        }
        return (totalLoss / Double(data.count), Double(correct) / Double(data.count))
    }

    /// Logits (count x classes, row-major) of `count` samples stored row-major at `x`.
    public func logits(_ x: UnsafePointer<Float>, count: Int) -> [Float] {
        var input = Array(UnsafeBufferPointer(start: x, count: count * layers[0].inputs))
        for (l, layer) in layers.enumerated() {
            var output = [Float](repeating: 0, count: count * layer.outputs)
            input.withUnsafeBufferPointer { a in
                layer.weights.withUnsafeBufferPointer { w in
                    output.withUnsafeMutableBufferPointer { z in
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(layer.outputs),
                                    Int32(layer.inputs), 1, a.baseAddress, Int32(layer.inputs), w.baseAddress,
                                    Int32(layer.inputs), 0, z.baseAddress, Int32(layer.outputs))
                    }
                }
            }
            let relu = l < layers.count - 1
            for i in 0..<count {
                for j in 0..<layer.outputs {
                    let v = output[i * layer.outputs + j] + layer.bias[j]
                    output[i * layer.outputs + j] = relu ? max(v, 0) : v
                }
            }
            input = output
        }
        return input
    }
}

/// `-log softmax(row)[label]`, computed stably (log-sum-exp).
func softmaxCrossEntropy(_ row: ArraySlice<Float>, label: Int) -> Double {
    let peak = Double(row.max()!)
    var sum = 0.0
    for v in row { sum += Foundation.exp(Double(v) - peak) }
    return Foundation.log(sum) + peak - Double(row[row.startIndex + label])
}

/// Index (from 0) of the largest value; the first one on ties.
func argmax(_ row: ArraySlice<Float>) -> Int {
    var best = row.startIndex
    for i in row.indices where row[i] > row[best] { best = i }
    return best - row.startIndex
}

/// The optimiser of a ``Trainer``.
public enum Optimizer: Sendable, Equatable, Codable {
    /// Adam (Kingma & Ba) with β1 = 0.9, β2 = 0.999, ε = 1e-8.
    case adam(learningRate: Float)
    /// SGD with (heavy-ball) momentum.
    case sgd(learningRate: Float, momentum: Float)
}

/// Fixed-size float storage for the training loop's hot paths.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }
    convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    func zero() { pointer.update(repeating: 0, count: count) }
    deinit { pointer.deallocate() }
}

/// Minibatch training of an ``MLP`` with softmax cross-entropy (one softmax
/// on the logits, fused with the loss), every product through `cblas_sgemm`.
///
/// Masks (one per layer, 1 = trainable, 0 = pruned) zero the pruned weights
/// and their gradients; the optimiser state of pruned weights is zeroed too,
/// so pruned weights stay exactly zero through any number of steps.
public final class Trainer {
    public let sizes: [Int]
    public let batchSize: Int
    public var optimizer: Optimizer
    private var rng: SplitMix64
    private var step = 0

    private let weights: [FloatBuffer], biases: [FloatBuffer]
    private let gradW: [FloatBuffer], gradB: [FloatBuffer]
    private let moment1W: [FloatBuffer], moment2W: [FloatBuffer], moment1B: [FloatBuffer], moment2B: [FloatBuffer]
    private var masks: [FloatBuffer?]
    /// activations[0] is the input batch; activations[l + 1] is layer l's output (post-ReLU; logits for the last).
    private let activations: [FloatBuffer]
    /// deltas[l]: d loss / d pre-activation of layer l.
    private let deltas: [FloatBuffer]
    private let labels: UnsafeMutablePointer<Int32>

    public init(model: MLP, optimizer: Optimizer = .adam(learningRate: 1e-3), batchSize: Int = 128, seed: UInt64) {
        precondition(batchSize > 0, "batch size must be positive")
        sizes = model.sizes
        self.batchSize = batchSize
        self.optimizer = optimizer
        rng = SplitMix64(seed: seed)
        weights = model.layers.map { FloatBuffer($0.weights) }
        biases = model.layers.map { FloatBuffer($0.bias) }
        gradW = model.layers.map { FloatBuffer(count: $0.weights.count) }
        gradB = model.layers.map { FloatBuffer(count: $0.outputs) }
        moment1W = model.layers.map { FloatBuffer(count: $0.weights.count) }
        moment2W = model.layers.map { FloatBuffer(count: $0.weights.count) }
        moment1B = model.layers.map { FloatBuffer(count: $0.outputs) }
        moment2B = model.layers.map { FloatBuffer(count: $0.outputs) }
        masks = Array(repeating: nil, count: model.layers.count)
        activations = model.sizes.map { FloatBuffer(count: batchSize * $0) }
        deltas = model.layers.map { FloatBuffer(count: batchSize * $0.outputs) }
        labels = .allocate(capacity: batchSize)
    }

    deinit { labels.deallocate() }

    /// The current parameters.
    public var model: MLP {
        var m = MLP(sizes: [1, 1], seed: 0)
        m.layers = (0..<weights.count).map {
            DenseLayer(inputs: sizes[$0], outputs: sizes[$0 + 1], weights: weights[$0].array, bias: biases[$0].array)
        }
        return m
    }

    /// Replaces the parameters (e.g. with a snapshot), re-applying the masks.
    public func load(_ model: MLP) {
        precondition(model.sizes == sizes, "model shape differs")
        for (l, layer) in model.layers.enumerated() {
            layer.weights.withUnsafeBufferPointer { weights[l].pointer.update(from: $0.baseAddress!, count: $0.count) }
            layer.bias.withUnsafeBufferPointer { biases[l].pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        applyMasks()
    }

    /// Sets the per-layer masks (nil: dense layer), zeroes the pruned weights
    /// and their optimiser state.
    public func setMasks(_ newMasks: [[Float]?]) {
        precondition(newMasks.count == weights.count, "one mask per layer")
        masks = newMasks.enumerated().map { l, mask in
            mask.map {
                precondition($0.count == weights[l].count, "mask \(l) has the wrong size")
                return FloatBuffer($0)
            }
        }
        applyMasks()
    }

    private func applyMasks() {
        for l in weights.indices {
            guard let mask = masks[l] else { continue }
            for buffer in [weights[l], moment1W[l], moment2W[l]] {
                let p = buffer.pointer, m = mask.pointer
                for i in 0..<buffer.count { p[i] *= m[i] }
            }
        }
    }

    /// Forgets the optimiser state (moments and step count).
    public func resetOptimizer() {
        step = 0
        for b in moment1W + moment2W + moment1B + moment2B { b.zero() }
    }

    /// One epoch over `data` in a seeded random order; returns the mean training loss.
    @discardableResult
    public func trainEpoch(_ data: Dataset) -> Double {
        precondition(data.features == sizes[0], "dataset features do not match the input layer")
        var order = Array(0..<data.count)
        for i in stride(from: data.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextIndex(below: i + 1)) }
        var total = 0.0
        var start = 0
        data.x.withUnsafeBufferPointer { xp in
            while start < data.count {
                let n = min(batchSize, data.count - start)
                let input = activations[0].pointer
                for i in 0..<n {
                    let s = order[start + i]
                    (input + i * data.features).update(from: xp.baseAddress! + s * data.features, count: data.features)
                    labels[i] = data.y[s]
                }
                total += trainBatch(count: n) * Double(n)
                start += n
            }
        }
        return total / Double(max(data.count, 1))
    }

    /// One step on `count` samples at `x` (row-major) with labels `y`; returns the batch's mean loss.
    @discardableResult
    public func trainStep(x: [Float], y: [Int32]) -> Double {
        let n = y.count
        precondition(n > 0 && n <= batchSize && x.count == n * sizes[0], "batch does not fit")
        x.withUnsafeBufferPointer { activations[0].pointer.update(from: $0.baseAddress!, count: x.count) }
        for i in 0..<n { labels[i] = y[i] }
        return trainBatch(count: n)
    }

    private func trainBatch(count n: Int) -> Double {
        let layerCount = weights.count
        // Forward.
        for l in 0..<layerCount {
            let fanIn = sizes[l], out = sizes[l + 1]
            let a = activations[l].pointer, z = activations[l + 1].pointer, b = biases[l].pointer
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(out), Int32(fanIn), 1,
                        a, Int32(fanIn), weights[l].pointer, Int32(fanIn), 0, z, Int32(out))
            let relu = l < layerCount - 1
            for i in 0..<n {
                let row = z + i * out
                for j in 0..<out {
                    let v = row[j] + b[j]
                    row[j] = relu ? max(v, 0) : v
                }
            }
        }
        // Softmax cross-entropy; delta = (softmax - onehot) / n.
        let classes = sizes[layerCount]
        let logits = activations[layerCount].pointer, top = deltas[layerCount - 1].pointer
        var loss = 0.0
        let scale = 1 / Float(n)
        for i in 0..<n {
            let row = logits + i * classes, d = top + i * classes
            var peak = row[0]
            for j in 1..<max(classes, 1) { peak = max(peak, row[j]) }
            var sum: Float = 0
            for j in 0..<classes {
                d[j] = Foundation.exp(row[j] - peak)
                sum += d[j]
            }
            let label = Int(labels[i])
            loss += Double(Foundation.log(sum) + peak - row[label])
            for j in 0..<classes { d[j] = d[j] / sum * scale }
            d[label] -= scale
        }
        // Backward.
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
            let fanIn = sizes[l], out = sizes[l + 1]
            let delta = deltas[l].pointer
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(out), Int32(fanIn), Int32(n), 1,
                        delta, Int32(out), activations[l].pointer, Int32(fanIn), 0, gradW[l].pointer, Int32(fanIn))
            let gb = gradB[l].pointer
            for j in 0..<out { gb[j] = 0 }
            for i in 0..<n { for j in 0..<out { gb[j] += delta[i * out + j] } }
            if l > 0 {
                let below = deltas[l - 1].pointer
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(fanIn), Int32(out), 1,
                            delta, Int32(out), weights[l].pointer, Int32(fanIn), 0, below, Int32(fanIn))
                let a = activations[l].pointer  // post-ReLU output of layer l - 1
                for i in 0..<(n * fanIn) where a[i] <= 0 { below[i] = 0 }
            }
            if let mask = masks[l] {
                let g = gradW[l].pointer, m = mask.pointer
                for i in 0..<gradW[l].count { g[i] *= m[i] }
            }
        }
        update()
        return loss / Double(n)
    }

    private func update() {
        step += 1
        switch optimizer {
        case let .adam(lr):
            let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
            let t = Float(step)
            let rate = lr * (1 - Foundation.pow(beta2, t)).squareRoot() / (1 - Foundation.pow(beta1, t))
            // Eight lanes at a time: the scalar loop was a fifth of a training epoch. Each
            // lane does the scalar loop's operations in its order, so the result is the same.
            func adam(_ w: FloatBuffer, _ g: FloatBuffer, _ m1: FloatBuffer, _ m2: FloatBuffer) {
                typealias Lanes = SIMD8<Float>
                let w = w.pointer, g = g.pointer, m = m1.pointer, v = m2.pointer
                func lanes(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> Lanes {
                    UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self)
                }
                func store(_ x: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
                    UnsafeMutableRawPointer(p + i).storeBytes(of: x, as: Lanes.self)
                }
                let whole = m1.count - m1.count % Lanes.scalarCount
                for i in stride(from: 0, to: whole, by: Lanes.scalarCount) {
                    let gi = lanes(g, i)
                    let mi = beta1 * lanes(m, i) + (1 - beta1) * gi
                    let vi = beta2 * lanes(v, i) + (1 - beta2) * gi * gi
                    store(mi, m, i)
                    store(vi, v, i)
                    store(lanes(w, i) - rate * mi / (vi.squareRoot() + eps), w, i)
                }
                for i in whole..<m1.count {
                    let gi = g[i]
                    m[i] = beta1 * m[i] + (1 - beta1) * gi
                    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
                    w[i] -= rate * m[i] / (v[i].squareRoot() + eps)
                }
            }
            for l in weights.indices {
                adam(weights[l], gradW[l], moment1W[l], moment2W[l])
                adam(biases[l], gradB[l], moment1B[l], moment2B[l])
            }
        case let .sgd(lr, momentum):
            func sgd(_ w: FloatBuffer, _ g: FloatBuffer, _ velocity: FloatBuffer) {
                let w = w.pointer, g = g.pointer, v = velocity.pointer
                for i in 0..<velocity.count {
                    v[i] = momentum * v[i] + g[i]
                    w[i] -= lr * v[i]
                }
            }
            for l in weights.indices {
                sgd(weights[l], gradW[l], moment1W[l])
                sgd(biases[l], gradB[l], moment1B[l])
            }
        }
    }
}

// MARK: - Sparse inference

/// A pruned network in BSR form: inference through the project's BSR kernels
/// and the parallel driver (``ParallelSpMM``). Activations are (features x
/// batch) dense matrices, so each layer is the product W·X with W sparse.
public struct SparseNetwork: Sendable {
    /// The Matrix Market file of one layer (0-based) of the network pruned with b x b blocks.
    public static func exportPath(_ folder: String, block: Int, layer: Int) -> String {
        (folder as NSString).appendingPathComponent("lenet300100_b\(block)_fc\(layer + 1).mtx")
    }

    /// Writes each layer as a Matrix Market coordinate file (``exportPath(_:block:layer:)``).
    public func export(block: Int, to folder: String) throws {
        for (l, layer) in layers.enumerated() {
            let pruned = 1 - Double(layer.storedLogicalElements) / Double(max(layer.rows * layer.cols, 1))
            try MatrixMarket.write(layer, to: Self.exportPath(folder, block: block, layer: l), comment: String(
                format: "LeNet-300-100 layer %d (%dx%d) after %dx%d block pruning: %.2f%% of the weights pruned, %d blocks kept",
                l + 1, layer.rows, layer.cols, block, block, pruned * 100, layer.blockCount))
        }
    }

    public let layers: [BSRMatrix]
    public let biases: [[Float]]

    /// Each layer's weights under its mask, exported as BSR.
    public init(model: MLP, masks: [BlockMask]) throws {
        guard masks.count == model.layers.count else {
            throw MatrixError.countMismatch(field: "masks", expected: model.layers.count, actual: masks.count)
        }
        layers = try zip(model.layers, masks).map { layer, mask in
            guard mask.rows == layer.outputs, mask.cols == layer.inputs else {
                throw MatrixError.shapeMismatch("mask \(mask.rows)x\(mask.cols) does not fit layer \(layer.outputs)x\(layer.inputs)")
            }
            return try mask.bsr(weights: layer.weights)
        }
        biases = model.layers.map(\.bias)
    }

    /// Logits (classes x batch) of the inputs `x` (features x batch).
    public func logits(_ x: DenseMatrix, threads: Int) throws -> DenseMatrix {
        var input = x
        for (l, w) in layers.enumerated() {
            let kernel = try Kernel.select(.bsr, block: w.block, n: input.cols)
            let driver = try ParallelSpMM(.bsr(w), input, kernel: kernel, options: DriverOptions(threads: threads))
            driver.run()
            var output = driver.result()
            let relu = l < layers.count - 1
            for i in 0..<output.rows {
                for j in 0..<output.cols {
                    let v = output.values[i * output.ld + j] + biases[l][i]
                    output.values[i * output.ld + j] = relu ? max(v, 0) : v
                }
            }
            input = output
        }
        return input
    }

    /// Classification accuracy over `data`, in chunks of `chunk` samples.
    public func accuracy(on data: Dataset, threads: Int, chunk: Int = 2000) throws -> Double {
        guard data.count > 0 else { return 0 }
        var correct = 0
        var start = 0
        while start < data.count {
            let range = start..<min(start + chunk, data.count)
            let out = try logits(data.columns(range), threads: threads)
            for (j, s) in range.enumerated() {
                var best = 0
                for c in 1..<out.rows where out.values[c * out.ld + j] > out.values[best * out.ld + j] { best = c }
                if best == Int(data.y[s]) { correct += 1 }
            }
            start = range.upperBound
        }
        return Double(correct) / Double(data.count)
    }
}
