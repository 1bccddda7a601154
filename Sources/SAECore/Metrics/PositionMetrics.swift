import Foundation

/// Reconstruction and sparsity by token position in the sequence (position 0 = a sequence's
/// first row per the cache's `seq_offsets`), streamed row by row in Float64.
///
/// Two layouts: one slot per position (`eval --by-position`, with per-position explained
/// variance: Welford moments of x per position, O(positions x D)), or log-spaced buckets
/// (`PositionBucket`: positions 0-31 one each, then [32, 64), [64, 128), ...) with MSE and L0
/// only, which the index stores for the overview's plot.
public struct PositionMetrics: Sendable {
    public let bucketed: Bool
    public let dimension: Int
    /// Per slot: rows, sum of ||x - x_hat||^2, sum of active features.
    public private(set) var count: [Int64] = []
    public private(set) var squaredError: [Double] = []
    public private(set) var active: [Double] = []
    // Per slot and dimension (unbucketed only): running mean and sum of squared deviations of x.
    private var mean: [Double] = []
    private var m2: [Double] = []

    /// Most positions x D an unbucketed set may hold (16M: 256 MiB of moments).
    public static let maximumCells = 1 << 24

    public init(bucketed: Bool, dimension: Int) {
        self.bucketed = bucketed
        self.dimension = dimension
    }

    /// Restores bucketed sums read from an index file.
    public init(buckets count: [Int64], squaredError: [Double], active: [Double]) {
        bucketed = true
        dimension = 0
        self.count = count
        self.squaredError = squaredError
        self.active = active
    }

    public var slotCount: Int { count.count }

    private mutating func grow(to slots: Int) {
        guard slots > count.count else { return }
        let extra = slots - count.count
        count += [Int64](repeating: 0, count: extra)
        squaredError += [Double](repeating: 0, count: extra)
        active += [Double](repeating: 0, count: extra)
        if !bucketed {
            mean += [Double](repeating: 0, count: extra * dimension)
            m2 += [Double](repeating: 0, count: extra * dimension)
        }
    }

    /// Adds one row to per-position moments: its position, x and x_hat (`dimension` values each),
    /// and its active count. (Bucketed sums take the row's squared error instead, below.)
    public mutating func add(position: Int, x: UnsafePointer<Float>, reconstruction: UnsafePointer<Float>, activeCount: Int) {
        precondition(!bucketed, "bucketed sums take the row's squared error")
        let slot = position
        grow(to: slot + 1)
        count[slot] += 1
        active[slot] += Double(activeCount)
        var error = 0.0
        let d = dimension, n = Double(count[slot]), base = slot * d
        for i in 0..<d {
            let a = Double(x[i]), r = a - Double(reconstruction[i])
            error += r * r
            let delta = a - mean[base + i]
            mean[base + i] += delta / n
            m2[base + i] += delta * (a - mean[base + i])
        }
        squaredError[slot] += error
    }

    /// Adds one row to bucketed sums given its squared error ||x - x_hat||^2 (summed in Float64
    /// in index order, as the dictionary metrics sum it).
    public mutating func add(position: Int, squaredError: Double, activeCount: Int) {
        precondition(bucketed, "per-position moments need the row itself")
        let slot = PositionBucket.of(position)
        grow(to: slot + 1)
        count[slot] += 1
        active[slot] += Double(activeCount)
        self.squaredError[slot] += squaredError
    }

    /// Folds in another bucketed set of rows (another shard of the cache).
    public mutating func merge(_ other: PositionMetrics) {
        precondition(bucketed && other.bucketed, "only bucketed position metrics merge")
        grow(to: other.slotCount)
        for s in 0..<other.slotCount {
            count[s] += other.count[s]
            squaredError[s] += other.squaredError[s]
            active[s] += other.active[s]
        }
    }

    public struct Row: Sendable, Equatable {
        /// The position (unbucketed) or the bucket's first position.
        public var position: Int
        /// The bucket's last position (== position when unbucketed).
        public var lastPosition: Int
        public var mse: Double
        /// NaN when bucketed, or with fewer than two rows, or no variance.
        public var explainedVariance: Double
        public var l0: Double
        public var count: Int
    }

    /// One row per slot from position 0 (slots no row reached have n = 0 and NaN figures).
    public var rows: [Row] {
        (0..<slotCount).map { s in
            let n = Double(count[s])
            var ev = Double.nan
            if !bucketed, count[s] > 1 {
                let total = m2[s * dimension..<(s + 1) * dimension].reduce(0, +)
                if total > 0 { ev = 1 - squaredError[s] / total }
            }
            let range = bucketed ? PositionBucket.positions(s) : s...s
            return Row(position: range.lowerBound, lastPosition: range.upperBound,
                       mse: n > 0 ? squaredError[s] / n : .nan, explainedVariance: ev,
                       l0: n > 0 ? active[s] / n : .nan, count: Int(count[s]))
        }
    }
}

/// The index's position buckets: positions 0...31 one each, then powers of two ([32, 63],
/// [64, 127], ...), so a long context takes a few slots and the start stays sharp.
public enum PositionBucket {
    public static let exactPositions = 32

    public static func of(_ position: Int) -> Int {
        guard position >= exactPositions else { return position }
        // floor(log2(position / 32)) for position >= 32
        return exactPositions + (Int.bitWidth - 1 - (position / exactPositions).leadingZeroBitCount)
    }

    public static func positions(_ bucket: Int) -> ClosedRange<Int> {
        guard bucket >= exactPositions else { return bucket...bucket }
        let low = exactPositions << (bucket - exactPositions)
        return low...(2 * low - 1)
    }
}
