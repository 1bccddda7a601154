/// Combines indexes of disjoint shards of one cache into what a single pass over all of them
/// gives: counts and histograms add (after bringing both to the larger power-of-two range),
/// top exemplars keep the best k of the union, interval samples keep the smallest keys.
public enum IndexMerger {
    public static func merge(_ parts: [FeatureIndex]) throws -> FeatureIndex {
        guard var merged = parts.first else { throw SaescopeError("nothing to merge") }
        var seenShards = Set(merged.provenance.shards)
        for part in parts.dropFirst() {
            guard part.featureCount == merged.featureCount, part.inputDimension == merged.inputDimension else {
                throw SaescopeError("indexes are of different dictionaries (F=\(merged.featureCount) vs \(part.featureCount))")
            }
            guard part.options.isCompatible(with: merged.options) else {
                throw SaescopeError("indexes were built with different settings (top-k, context, intervals, bins, min-act or seed)")
            }
            guard part.provenance.saeFingerprint == merged.provenance.saeFingerprint,
                  part.provenance.cacheFingerprint == merged.provenance.cacheFingerprint,
                  part.provenance.shardCount == merged.provenance.shardCount else {
                throw SaescopeError("indexes are of different dictionaries, caches or shard counts")
            }
            guard seenShards.isDisjoint(with: part.provenance.shards) else {
                throw SaescopeError("shard \(part.provenance.shards.map(String.init).joined(separator: ",")) is given twice")
            }
            seenShards.formUnion(part.provenance.shards)
            merged.tables.merge(part.tables)
            merged.metrics.merge(part.metrics)
            merged.provenance.firstRow = min(merged.provenance.firstRow, part.provenance.firstRow)
            merged.provenance.endRow = max(merged.provenance.endRow, part.provenance.endRow)
        }
        merged.provenance.shards = seenShards.sorted()
        return merged
    }
}

extension FeatureTables {
    /// Folds `other` (a disjoint set of rows, same options) into these tables.
    mutating func merge(_ other: FeatureTables) {
        var other = other
        let k = options.topK, w = options.contextWidth, n = options.intervals, m = options.perInterval, bins = options.bins
        for j in 0..<featureCount where other.count[j] > 0 {
            if count[j] == 0 {
                rangeExponent[j] = other.rangeExponent[j]
            } else {
                while rangeExponent[j] < other.rangeExponent[j] { coarsen(feature: j) }
                while other.rangeExponent[j] < rangeExponent[j] { other.coarsen(feature: j) }
            }
            count[j] += other.count[j]
            sum[j] += other.sum[j]
            maxValue[j] = max(maxValue[j], other.maxValue[j])
            for b in 0..<bins { histogram[j * bins + b] += other.histogram[j * bins + b] }

            // Top exemplars: best k of the union, best first. (Entries are copied out as arrays:
            // holding slices of our own storage while writing it would copy the whole table.)
            var pool: [(value: Float, row: Int64, context: [Float], tokens: [Int32])] = []
            for (tables, filled) in [(self, Int(topCount[j])), (other, Int(other.topCount[j]))] {
                for s in 0..<filled {
                    let slot = j * k + s
                    pool.append((tables.topValue[slot], tables.topRow[slot],
                                 Array(tables.topContext[slot * w..<(slot + 1) * w]), Array(tables.topTokens[slot * w..<(slot + 1) * w])))
                }
            }
            pool.sort { Self.ranksBelow($1.value, $1.row, $0.value, $0.row) }
            for (s, entry) in pool.prefix(k).enumerated() {
                let slot = j * k + s
                topValue[slot] = entry.value
                topRow[slot] = entry.row
                topContext.replaceSubrange(slot * w..<(slot + 1) * w, with: entry.context)
                topTokens.replaceSubrange(slot * w..<(slot + 1) * w, with: entry.tokens)
            }
            topCount[j] = Int32(min(k, pool.count))

            // Interval samples: the m smallest keys of the union, per interval.
            for i in 0..<n {
                let cell = j * n + i
                intervalCount[cell] += other.intervalCount[cell]
                var samples: [(key: UInt64, row: Int64, value: Float, context: [Float], tokens: [Int32])] = []
                for tables in [self, other] {
                    for s in 0..<Int(tables.sampleCount[cell]) {
                        let slot = cell * m + s
                        samples.append((tables.sampleKey[slot], tables.sampleRow[slot], tables.sampleValue[slot],
                                        Array(tables.sampleContext[slot * w..<(slot + 1) * w]), Array(tables.sampleTokens[slot * w..<(slot + 1) * w])))
                    }
                }
                samples.sort { ($0.key, $0.row) < ($1.key, $1.row) }
                for (s, entry) in samples.prefix(m).enumerated() {
                    let slot = cell * m + s
                    sampleKey[slot] = entry.key
                    sampleRow[slot] = entry.row
                    sampleValue[slot] = entry.value
                    sampleContext.replaceSubrange(slot * w..<(slot + 1) * w, with: entry.context)
                    sampleTokens.replaceSubrange(slot * w..<(slot + 1) * w, with: entry.tokens)
                }
                sampleCount[cell] = Int32(min(m, samples.count))
            }
        }
    }
}
