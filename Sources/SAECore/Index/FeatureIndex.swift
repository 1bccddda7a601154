import Foundation

/// Where an index came from, to detect a stale index and to label screens.
public struct IndexProvenance: Sendable, Equatable, Codable {
    public var saePath: String
    public var saeFingerprint: String
    public var cachePath: String
    public var cacheFingerprint: String
    /// Global cache rows this index covers (a shard covers part of the cache).
    public var firstRow: Int
    public var endRow: Int
    public var shards: [Int]
    public var shardCount: Int
    /// The cache's metadata (model, hook, layer, tokenizer, ...).
    public var cacheMetadata: [String: String]
    /// Set when the file recorded relative paths (saescope before canonical paths) and they were
    /// resolved on reading: what was resolved against what, for the user. Not stored.
    public var resolutionNote: String?

    private enum CodingKeys: String, CodingKey {
        case saePath, saeFingerprint, cachePath, cacheFingerprint, firstRow, endRow, shards, shardCount, cacheMetadata
    }

    public init(saePath: String, saeFingerprint: String, cachePath: String, cacheFingerprint: String,
                firstRow: Int, endRow: Int, shards: [Int], shardCount: Int, cacheMetadata: [String: String]) {
        self.saePath = saePath
        self.saeFingerprint = saeFingerprint
        self.cachePath = cachePath
        self.cacheFingerprint = cacheFingerprint
        self.firstRow = firstRow
        self.endRow = endRow
        self.shards = shards
        self.shardCount = shardCount
        self.cacheMetadata = cacheMetadata
    }
}

/// One exemplar: a row of the cache where the feature fired, with its context.
public struct Exemplar: Sendable, Equatable {
    public var row: Int
    public var value: Float
    /// Token ids of rows row-c ... row+c (-1 outside the sequence).
    public var contextTokens: [Int32]
    /// The feature's activation on each of those rows (NaN outside the sequence).
    public var contextActivations: [Float]
}

/// A finished index: per-feature statistics and exemplars for one dictionary over one cache,
/// plus the dictionary metrics from the same pass. Reopening never reads the cache.
public struct FeatureIndex: Sendable {
    public var tables: FeatureTables
    public var metrics: MetricsAccumulator
    public var provenance: IndexProvenance
    public var inputDimension: Int
    /// SAEBench core statistics and position buckets from the same pass (`IndexCoreStatistics`;
    /// nil in index files written before them). `coreMetrics` summarises them.
    public var coreStatistics: IndexCoreStatistics?

    public var options: FeatureIndexOptions { tables.options }
    public var featureCount: Int { tables.featureCount }
    /// Tokens this index evaluated (finite rows).
    public var tokenCount: Int { metrics.tokenCount }

    public init(tables: FeatureTables, metrics: MetricsAccumulator, provenance: IndexProvenance, inputDimension: Int,
                coreStatistics: IndexCoreStatistics? = nil) {
        self.tables = tables
        self.metrics = metrics
        self.provenance = provenance
        self.inputDimension = inputDimension
        self.coreStatistics = coreStatistics
    }

    // MARK: Per-feature views

    public func density(_ j: Int) -> Double { tokenCount > 0 ? Double(tables.count[j]) / Double(tokenCount) : 0 }
    public func maxActivation(_ j: Int) -> Float { tables.maxValue[j] }
    public func meanActivation(_ j: Int) -> Double { tables.count[j] > 0 ? tables.sum[j] / Double(tables.count[j]) : 0 }
    public func isDead(_ j: Int) -> Bool { tables.count[j] == 0 }

    /// Histogram counts and the upper edge of its range (bins cover [0, upper) equally).
    public func histogram(_ j: Int) -> (counts: ArraySlice<Int64>, upperEdge: Float) {
        let bins = options.bins
        let exponent = tables.rangeExponent[j]
        let upper: Float = exponent == Int32.min ? 0 : rangeUpperBound(exponent: exponent)
        return (tables.histogram[j * bins..<(j + 1) * bins], upper)
    }

    public func topExemplars(_ j: Int) -> [Exemplar] {
        (0..<Int(tables.topCount[j])).map { topExemplar(j, rank: $0) }
    }

    /// One top exemplar (rank 0 is the highest), without building the others: list rows show one.
    public func topExemplar(_ j: Int, rank: Int) -> Exemplar {
        let slot = j * options.topK + rank
        return exemplar(row: tables.topRow[slot], value: tables.topValue[slot], slot: slot,
                        context: tables.topContext, tokens: tables.topTokens)
    }

    /// How many top exemplars feature `j` has (fewer than top-k when it fired less often).
    public func topExemplarCount(_ j: Int) -> Int { Int(tables.topCount[j]) }

    /// The activating token id of feature `j`'s `rank`-th top exemplar, read without building the
    /// exemplar (search and sorting touch every feature).
    public func topActivatingToken(_ j: Int, rank: Int) -> Int32 {
        let w = options.contextWidth
        return tables.topTokens[(j * options.topK + rank) * w + options.context]
    }

    /// Interval exemplars: for each interval, its bounds, its share of the feature's activations, and samples (highest first).
    public func intervalExemplars(_ j: Int) -> [(lower: Float, upper: Float, share: Double, exemplars: [Exemplar])] {
        let n = options.intervals, m = options.perInterval
        let upper = histogram(j).upperEdge
        let total = max(Double(tables.count[j]), 1)
        return (0..<n).map { i in
            let cell = j * n + i
            let samples = (0..<Int(tables.sampleCount[cell])).map {
                let slot = cell * m + $0
                return exemplar(row: tables.sampleRow[slot], value: tables.sampleValue[slot], slot: slot,
                                context: tables.sampleContext, tokens: tables.sampleTokens)
            }.sorted { ($0.value, -$0.row) > ($1.value, -$1.row) }
            return (upper * Float(i) / Float(n), upper * Float(i + 1) / Float(n), Double(tables.intervalCount[cell]) / total, samples)
        }
    }

    private func exemplar(row: Int64, value: Float, slot: Int, context: TableColumn<Float>, tokens: TableColumn<Int32>) -> Exemplar {
        let w = options.contextWidth
        return Exemplar(row: Int(row), value: value,
                        contextTokens: Array(tokens[slot * w..<(slot + 1) * w]),
                        contextActivations: Array(context[slot * w..<(slot + 1) * w]))
    }

    /// Dictionary-wide: log10 densities of the live features in `bins` bins over [low, 0], and the dead count.
    public func densityHistogram(bins: Int = 40, low: Double = -8) -> (counts: [Int], low: Double, dead: Int) {
        var counts = [Int](repeating: 0, count: bins)
        var dead = 0
        for j in 0..<featureCount {
            guard tables.count[j] > 0 else { dead += 1; continue }
            let value = max(low, log10(density(j)))
            counts[min(bins - 1, Int((value - low) / -low * Double(bins)))] += 1
        }
        return (counts, low, dead)
    }
}
