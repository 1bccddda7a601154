import Foundation

/// What a cosine ranking reaches by chance: the expected largest cosine between a fixed unit
/// vector and `count` independent uniformly random unit vectors in `dimension` dimensions. A
/// feature's best decoder cosine (with a probe direction, a neighbour, a match in another
/// dictionary) means something only above it: at D=384 the best of 2048 random directions is
/// already about 0.17.
///
/// Computed, not simulated: the cosine of a random unit vector with a fixed one is cos θ with θ
/// distributed as sin^(D-2) θ on [0, π]; its CDF G comes from that density on a fine grid
/// (32768 midpoints, in log space so large D does not underflow), the largest of F such
/// cosines has CDF G^F, and the expectation sums t·dG^F over the grid. Checked against a numpy
/// Monte-Carlo simulation (Tests/SaescopeCLITests/ChanceLevelTests). Cached per (D, F).
public enum ChanceLevel {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Pair: Double] = [:]
    private struct Pair: Hashable { let d: Int, f: Int }
    static let gridPoints = 32768

    /// The expected maximum cosine (signed, as rankings sort: largest first) of `count` random
    /// directions with a fixed one in `dimension` dimensions; 0 without directions.
    public static func expectedMaxCosine(dimension: Int, count: Int) -> Double {
        guard dimension >= 1, count >= 1 else { return 0 }
        lock.lock()
        if let known = cache[Pair(d: dimension, f: count)] { lock.unlock(); return known }
        lock.unlock()
        let value = compute(dimension: dimension, count: count)
        lock.lock()
        cache[Pair(d: dimension, f: count)] = value
        lock.unlock()
        return value
    }

    /// The line screens and reports print beside a ranking.
    public static func caption(dimension: Int, count: Int) -> String {
        String(format: "chance %.2f for D=%d, F=%d", expectedMaxCosine(dimension: dimension, count: count), dimension, count)
    }

    private static func compute(dimension d: Int, count f: Int) -> Double {
        // D=1: the cosine is +1 or -1, each with probability 1/2.
        if d == 1 { return 1 - 2 * pow(0.5, Double(f)) }
        let n = gridPoints, step = Double.pi / Double(n)
        // Bin k is θ in [π - (k+1)·step, π - k·step]: ascending cosine.
        var logWeights = [Double](repeating: 0, count: n)
        for k in 0..<n {
            let theta = Double.pi - (Double(k) + 0.5) * step
            logWeights[k] = Double(d - 2) * log(sin(theta))
        }
        let top = logWeights.max()!
        var weights = logWeights.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        for k in 0..<n { weights[k] /= total }
        var below = 0.0, expectation = 0.0
        var previous = 0.0  // G^F at the lower edge of the bin
        for k in 0..<n {
            below += weights[k]
            let upper = below >= 1 ? 1 : exp(Double(f) * log(below))
            let cosine = cos(Double.pi - (Double(k) + 0.5) * step)
            expectation += cosine * (upper - previous)
            previous = upper
        }
        return expectation
    }
}
