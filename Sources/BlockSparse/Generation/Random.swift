/// SplitMix64 (Steele, Lea & Flood, 2014): a tiny, fast, fully specified
/// PRNG. The same seed yields the same stream on every machine and Swift
/// version, which `SystemRandomNumberGenerator` does not promise.
///
/// Stream: `state += 0x9E3779B97F4A7C15`, then the output mix
/// `z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^ (z >> 31)`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Skips `draws` outputs at once: the state only ever moves by the constant,
    /// so the stream can be split among threads and still give the same values.
    public mutating func skip(_ draws: Int) {
        state &+= UInt64(truncatingIfNeeded: draws) &* 0x9E37_79B9_7F4A_7C15
    }

    /// Uniform in [0, 1) with 24 random bits (exactly representable as Float).
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<bound (Lemire's multiply-shift; bias below 2^-32
    /// for the bounds used here, and — unlike `Int.random(in:using:)` —
    /// independent of the standard library's algorithm).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int((UInt64(bound).multipliedFullWidth(by: next())).high)
    }

    /// A value in [-1, -1/64] ∪ [1/64, 1): never zero, so a stored block is
    /// never accidentally empty and "achieved sparsity" is what was asked.
    public mutating func nextWeight() -> Float {
        let magnitude = 0.015625 + nextUnitFloat() * 0.984375
        return (next() & 1) == 0 ? magnitude : -magnitude
    }
}
