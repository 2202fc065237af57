import Foundation
import BlockSparse
import Benchmarking

/// A labelled classification dataset: `count` samples of `features` floats
/// each (row-major, one sample per row) and an integer label in `0..<classes`.
public struct Dataset: Sendable {
    public let count: Int
    public let features: Int
    public let classes: Int
    /// `count * features` values, sample-major.
    public let x: [Float]
    public let y: [Int32]

    /// - Throws: ``MatrixError`` when the arrays do not match the sizes or a label is out of range.
    public init(features: Int, classes: Int, x: [Float], y: [Int32]) throws {
        guard features > 0, classes > 0 else {
            throw MatrixError.invalidDimension(field: features > 0 ? "classes" : "features", value: min(features, classes))
        }
        guard x.count == y.count * features else {
            throw MatrixError.countMismatch(field: "x", expected: y.count * features, actual: x.count)
        }
        if let bad = y.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw MatrixError.shapeMismatch("label \(y[bad]) of sample \(bad) is outside 0..<\(classes)")
        }
        count = y.count
        self.features = features
        self.classes = classes
        self.x = x
        self.y = y
    }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: some Collection<Int>) -> Dataset {
        var xs = [Float]()
        xs.reserveCapacity(indices.count * features)
        var ys = [Int32]()
        ys.reserveCapacity(indices.count)
        for i in indices {
            xs.append(contentsOf: x[i * features ..< (i + 1) * features])
            ys.append(y[i])
        }
        return try! Dataset(features: features, classes: classes, x: xs, y: ys)
    }

    /// The first `n` samples (all when `n >= count`).
    public func prefix(_ n: Int) -> Dataset { n >= count ? self : subset(0..<n) }

    /// A seeded random split: `validation` samples held out, the rest for training.
    public func split(validation: Int, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        var order = Array(0..<count)
        var rng = SplitMix64(seed: seed)
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextIndex(below: i + 1)) }
        let v = min(max(0, validation), count)
        return (subset(order[v...].sorted()), subset(order[..<v].sorted()))
    }

    /// Samples `range` as a (features x range.count) column-major-by-sample
    /// dense matrix: column j is sample `range.lowerBound + j` (the layout the
    /// sparse kernels take as B).
    public func columns(_ range: Range<Int>) -> DenseMatrix {
        let n = range.count
        var values = [Float](repeating: 0, count: features * n)
        for (j, s) in range.enumerated() {
            for f in 0..<features { values[f * n + j] = x[s * features + f] }
        }
        return try! DenseMatrix(rows: features, cols: n, values: values)
    }

    /// A small synthetic problem for tests: `classes` Gaussian clusters in
    /// `features` dimensions (centres uniform in [0, 1), noise `spread`), seeded.
    public static func synthetic(count: Int, features: Int, classes: Int, spread: Float = 0.15,
                                 seed: UInt64) -> Dataset {
        var rng = SplitMix64(seed: seed)
        let centres = (0..<(classes * features)).map { _ in rng.nextUnitFloat() }
        var x = [Float](repeating: 0, count: count * features)
        var y = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let c = rng.nextIndex(below: classes)
            y[i] = Int32(c)
            for f in 0..<features { x[i * features + f] = centres[c * features + f] + spread * rng.nextGaussian() }
        }
        return try! Dataset(features: features, classes: classes, x: x, y: y)
    }
}

extension SplitMix64 {
    /// A standard normal deviate (Box–Muller on two 53-bit uniforms).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUnitDouble(), 0x1p-60), u2 = nextUnitDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

/// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017) from its four gzipped IDX files.
public enum FashionMNIST {
    /// Where Debian's `dataset-fashion-mnist` package installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                    "Sneaker", "Bag", "Ankle boot"]

    /// Loads the training (60,000) and test (10,000) sets with pixels scaled to [0, 1].
    /// - Throws: ``InputError`` for a missing folder or file, or a malformed,
    ///   truncated or inconsistent IDX file.
    public static func load(directory: String) throws -> (train: Dataset, test: Dataset) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputError(source: directory,
                             "no such data folder (install Debian's dataset-fashion-mnist package or pass --data DIR)")
        }
        return (try loadSplit(directory: directory, prefix: "train"), try loadSplit(directory: directory, prefix: "t10k"))
    }

    /// One split: `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]`.
    public static func loadSplit(directory: String, prefix: String) throws -> Dataset {
        func locate(_ name: String) throws -> String {
            let base = (directory as NSString).appendingPathComponent(name)
            for candidate in [base + ".gz", base] where FileManager.default.fileExists(atPath: candidate) {
                return candidate
            }
            throw InputError(source: base + ".gz", "missing Fashion-MNIST file")
        }
        let imagePath = try locate("\(prefix)-images-idx3-ubyte")
        let labelPath = try locate("\(prefix)-labels-idx1-ubyte")
        let images = try IDX.read(path: imagePath, expectedRank: 3)
        let labels = try IDX.read(path: labelPath, expectedRank: 1)
        return try dataset(images: images, imagePath: imagePath, labels: labels, labelPath: labelPath)
    }

    /// Checks an image array against a label array and scales pixels to [0, 1].
    public static func dataset(images: IDXArray, imagePath: String, labels: IDXArray, labelPath: String,
                               classes: Int = 10) throws -> Dataset {
        let count = images.dimensions[0]
        guard labels.dimensions[0] == count else {
            throw InputError(source: labelPath, offset: 4,
                             "\(labels.dimensions[0]) labels for the \(count) images of \(imagePath)")
        }
        if let bad = labels.data.firstIndex(where: { Int($0) >= classes }) {
            throw InputError(source: labelPath, offset: 8 + bad, "label \(labels.data[bad]) is outside 0..<\(classes)")
        }
        let features = images.dimensions.dropFirst().reduce(1, *)
        // As floats the pixels take four times their bytes (the bytes are still held): check first.
        do {
            try checkMemory(images.data.count * MemoryLayout<Float>.stride + labels.data.count * MemoryLayout<Int32>.stride,
                            what: "the \(count) images of \(imagePath) as floats")
        } catch let error as MatrixError {
            throw InputError(source: imagePath, error.description)
        }
        let x = images.data.map { Float($0) / 255 }
        return try Dataset(features: features, classes: classes, x: x, y: labels.data.map { Int32($0) })
    }
}
