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
        var other = other  // coarsened to match, on its own copy
        let options = options, featureCount = featureCount
        withPointers { a in other.withPointers { b in Self.merge(b, into: a, featureCount: featureCount, options: options) } }
    }

    private static func merge(_ b: Pointers, into a: Pointers, featureCount: Int, options: FeatureIndexOptions) {
        let k = options.topK, w = options.contextWidth, n = options.intervals, m = options.perInterval, bins = options.bins
        do {
            for j in 0..<featureCount where b.count[j] > 0 {
                if a.count[j] == 0 {
                    a.rangeExponent[j] = b.rangeExponent[j]
                } else {
                    while a.rangeExponent[j] < b.rangeExponent[j] { a.rangeExponent[j] += 1; a.cells.coarsen(feature: j) }
                    while b.rangeExponent[j] < a.rangeExponent[j] { b.rangeExponent[j] += 1; b.cells.coarsen(feature: j) }
                }
                a.count[j] += b.count[j]
                a.sum[j] += b.sum[j]
                a.maxValue[j] = max(a.maxValue[j], b.maxValue[j])
                for bin in j * bins..<(j + 1) * bins { a.cells.histogram[bin] += b.cells.histogram[bin] }

                // Top exemplars: the best k of the union, best first.
                var pool: [(value: Float, row: Int64, from: Pointers, slot: Int)] = []
                for (tables, filled) in [(a, Int(a.topCount[j])), (b, Int(b.topCount[j]))] {
                    for s in 0..<filled { pool.append((tables.topValue[j * k + s], tables.topRow[j * k + s], tables, j * k + s)) }
                }
                pool.sort { Self.ranksBelow($1.value, $1.row, $0.value, $0.row) }
                let topKept = Array(pool.prefix(k))
                // Our own slots are sources too: stage the winners' contexts before writing.
                let contexts = topKept.flatMap { Array(UnsafeBufferPointer(start: $0.from.topContext + $0.slot * w, count: w)) }
                let tokens = topKept.flatMap { Array(UnsafeBufferPointer(start: $0.from.topTokens + $0.slot * w, count: w)) }
                for (s, entry) in topKept.enumerated() {
                    let slot = j * k + s
                    a.topValue[slot] = entry.value
                    a.topRow[slot] = entry.row
                    for p in 0..<w {
                        a.topContext[slot * w + p] = contexts[s * w + p]
                        a.topTokens[slot * w + p] = tokens[s * w + p]
                    }
                }
                a.topCount[j] = Int32(topKept.count)

                // Interval samples: the m smallest keys of the union, per interval.
                for i in 0..<n {
                    let cell = j * n + i
                    a.cells.intervalCount[cell] += b.cells.intervalCount[cell]
                    var samples: [(key: UInt64, row: Int64, from: BinnedCells, slot: Int)] = []
                    for cells in [a.cells, b.cells] {
                        for s in 0..<Int(cells.sampleCount[cell]) {
                            let slot = cell * m + s
                            samples.append((cells.sampleKey[slot], cells.sampleRow[slot], cells, slot))
                        }
                    }
                    samples.sort { ($0.key, $0.row) < ($1.key, $1.row) }
                    let kept = Array(samples.prefix(m))
                    let staged = kept.map { ($0.key, $0.row, $0.from.sampleValue[$0.slot],
                                             Array(UnsafeBufferPointer(start: $0.from.sampleContext + $0.slot * w, count: w)),
                                             Array(UnsafeBufferPointer(start: $0.from.sampleTokens! + $0.slot * w, count: w))) }
                    for (s, entry) in staged.enumerated() {
                        let slot = cell * m + s
                        a.cells.sampleKey[slot] = entry.0
                        a.cells.sampleRow[slot] = entry.1
                        a.cells.sampleValue[slot] = entry.2
                        for p in 0..<w {
                            a.cells.sampleContext[slot * w + p] = entry.3[p]
                            a.cells.sampleTokens![slot * w + p] = entry.4[p]
                        }
                    }
                    a.cells.sampleCount[cell] = Int32(kept.count)
                }
            }
        }
    }
}
