import Foundation
import BlockSparse

/// The two-sided Mann–Whitney U test (Wilcoxon rank-sum test), computed the
/// way `scipy.stats.mannwhitneyu(x, y, alternative="two-sided",
/// use_continuity=True, method="auto")` computes it (which is also what
/// Google Benchmark's `tools/compare.py` calls):
///
/// - `auto` uses the exact null distribution of U when at least one sample
///   has 8 or fewer values and there are no ties, and the normal
///   approximation otherwise (also when the other sample has more than
///   ``exactLimit`` values: the exact count costs time quadratic in it, and
///   the approximation is then close);
/// - the normal approximation uses the tie-corrected variance and a
///   continuity correction of 0.5;
/// - the two-sided p-value is twice the upper tail at max(U1, U2), clipped to 1.
public enum MannWhitney {
    public enum Method: String, Sendable {
        /// Exact when min(n1, n2) <= 8, max(n1, n2) <= ``exactLimit`` and there are no ties, else asymptotic.
        case auto
        /// The exact distribution of U under the null (no tie handling).
        case exact
        /// The normal approximation with tie and continuity corrections.
        case asymptotic
    }

    /// The largest sample `auto` still tests exactly beside one of at most 8 values.
    public static let exactLimit = 1000

    public struct Result: Sendable, Equatable {
        /// U of the first sample: the number of (x, y) pairs with x > y, ties counting 1/2.
        public var u1: Double
        public var pValue: Double
        /// The method actually used (never `.auto`).
        public var method: Method
    }

    /// The two-sided test of `x` against `y`.
    /// - Precondition: both samples are non-empty and contain no NaN.
    public static func test(_ x: [Double], _ y: [Double], method: Method = .auto) -> Result {
        precondition(!x.isEmpty && !y.isEmpty, "Mann-Whitney U test of an empty sample")
        precondition(!x.contains(where: \.isNaN) && !y.contains(where: \.isNaN), "Mann-Whitney U test of NaN")
        let n1 = x.count, n2 = y.count
        let (ranks, tieSizes) = averageRanks(x + y)
        let r1 = ranks[0..<n1].reduce(0, +)
        let u1 = r1 - Double(n1 * (n1 + 1)) / 2
        let u2 = Double(n1 * n2) - u1
        let u = max(u1, u2)
        let hasTies = tieSizes.contains { $0 > 1 }
        var resolved = method
        if method == .auto {
            resolved = (n1 > 8 && n2 > 8) || max(n1, n2) > exactLimit || hasTies ? .asymptotic : .exact
        }
        var p: Double
        switch resolved {
        case .exact:
            p = 2 * exactUpperTail(Int(u), n1, n2)  // integral without ties; truncated like scipy otherwise
        default:
            let n = Double(n1 + n2)
            let tieTerm = tieSizes.reduce(0.0) { $0 + Double($1) * Double($1) * Double($1) - Double($1) }
            let variance = Double(n1) * Double(n2) / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
            let numerator = u - Double(n1) * Double(n2) / 2 - 0.5
            if variance <= 0 {
                p = numerator > 0 ? 0 : 1  // every value tied: no evidence of a difference
            } else {
                let z = numerator / variance.squareRoot()
                p = erfc(z / 2.0.squareRoot())  // 2 * (1 - Φ(z))
            }
        }
        p = min(max(p, 0), 1)
        return Result(u1: u1, pValue: p, method: resolved)
    }

    /// Ranks 1...n with ties given their average rank, and the size of each group of ties.
    static func averageRanks(_ values: [Double]) -> (ranks: [Double], tieSizes: [Int]) {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var tieSizes: [Int] = []
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let average = Double(i + j + 2) / 2  // ranks i+1 ... j+1
            for k in i...j { ranks[order[k]] = average }
            tieSizes.append(j - i + 1)
            i = j + 1
        }
        return (ranks, tieSizes)
    }

    /// P(U >= u) under the null for samples of n1 and n2 values without ties:
    /// the number of arrangements with U = k, by the recurrence
    /// f(m, n, k) = f(m - 1, n, k - n) + f(m, n - 1, k), over C(n1 + n2, n1).
    /// Counts are Doubles: exact up to 2^53, relative error ~1e-16 beyond.
    /// U's distribution is the same for (n1, n2) and (n2, n1): the smaller
    /// sample is the inner index, so memory grows with its square, not the larger's.
    static func exactUpperTail(_ u: Int, _ n1: Int, _ n2: Int) -> Double {
        if n2 > n1 { return exactUpperTail(u, n2, n1) }
        let maxU = n1 * n2
        if u <= 0 { return 1 }
        if u > maxU { return 0 }
        // counts[n][k] for the current m, over n = 0...n2.
        var counts = [[Double]](repeating: [1], count: n2 + 1)  // m = 0: U = 0 only
        if n1 > 0 {
            for m in 1...n1 {
                var next = [[Double]](repeating: [], count: n2 + 1)
                next[0] = [1]  // n = 0: U = 0 only
                for n in 0...n2 where n > 0 {
                    var row = [Double](repeating: 0, count: m * n + 1)
                    let left = counts[n]  // f(m - 1, n, ·), shifted by n
                    for k in left.indices { row[k + n] += left[k] }
                    let down = next[n - 1]  // f(m, n - 1, ·)
                    for k in down.indices { row[k] += down[k] }
                    next[n] = row
                }
                counts = next
            }
        }
        let distribution = counts[n2]
        let total = distribution.reduce(0, +)
        let tail = distribution[u...].reduce(0, +)
        return tail / total
    }
}
