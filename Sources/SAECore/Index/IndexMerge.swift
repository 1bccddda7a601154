/// Combines indexes of disjoint shards of one cache into what a single pass over all of them
/// gives: counts and histograms add (after bringing both to the larger power-of-two range),
/// top exemplars keep the best k of the union, interval samples keep the smallest keys.
public enum IndexMerger {
    /// Errors name the file of the part they concern when `paths` (one per part) are given.
    public static func merge(_ parts: [FeatureIndex], paths: [String] = []) throws -> FeatureIndex {
        guard var merged = parts.first else { throw SaescopeError("nothing to merge") }
        var seenShards = Set(merged.provenance.shards)
        var tokens = merged.tokenCount
        for (position, part) in parts.enumerated().dropFirst() {
            try attributingErrors(to: position < paths.count ? paths[position] : "shard \(position)") {
                try fold(part, into: &merged, seenShards: &seenShards, tokens: &tokens)
            }
        }
        merged.provenance.shards = seenShards.sorted()
        return merged
    }

    private static func fold(_ part: FeatureIndex, into merged: inout FeatureIndex, seenShards: inout Set<Int>, tokens: inout Int) throws {
        guard part.featureCount == merged.featureCount, part.inputDimension == merged.inputDimension else {
            throw SaescopeError("indexes are of different dictionaries (F=\(merged.featureCount) vs \(part.featureCount))")
        }
        guard part.options.isCompatible(with: merged.options) else {
            throw SaescopeError("indexes were built with different settings (top-k, context, intervals, bins, min-act or seed)")
        }
        guard FileFingerprint.same(part.provenance.saeFingerprint, merged.provenance.saeFingerprint),
              FileFingerprint.same(part.provenance.cacheFingerprint, merged.provenance.cacheFingerprint),
              part.provenance.shardCount == merged.provenance.shardCount else {
            throw SaescopeError("indexes are of different dictionaries, caches or shard counts")
        }
        guard seenShards.isDisjoint(with: part.provenance.shards) else {
            throw SaescopeError("shard \(part.provenance.shards.prefix(8).map(String.init).joined(separator: ",")) is given twice")
        }
        // Every count of a feature is at most the tokens, so one check keeps every sum in range.
        let (total, overflow) = tokens.addingReportingOverflow(part.tokenCount)
        guard !overflow, total < 1 << 62 else { throw SaescopeError("the shards together count more tokens than an index can hold") }
        tokens = total
        seenShards.formUnion(part.provenance.shards)
        merged.tables.merge(part.tables)
        merged.metrics.merge(part.metrics)
        // Core statistics only when both sides have them (an older file has none).
        if let other = part.coreStatistics, merged.coreStatistics != nil { merged.coreStatistics!.merge(other) } else { merged.coreStatistics = nil }
        merged.provenance.firstRow = min(merged.provenance.firstRow, part.provenance.firstRow)
        merged.provenance.endRow = max(merged.provenance.endRow, part.provenance.endRow)
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
        let bins = options.bins, n = options.intervals
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
            mergeTop(feature: j, b, into: a, options: options)
            for cell in j * n..<(j + 1) * n { mergeSamples(cell: cell, b.cells, into: a.cells) }
        }
    }

    /// Top exemplars: the best k of the union, best first.
    private static func mergeTop(feature j: Int, _ b: Pointers, into a: Pointers, options: FeatureIndexOptions) {
        let k = options.topK, w = options.contextWidth
        var pool: [(value: Float, row: Int64, from: Pointers, slot: Int)] = []
        for tables in [a, b] {
            for slot in j * k..<j * k + Int(tables.topCount[j]) { pool.append((tables.topValue[slot], tables.topRow[slot], tables, slot)) }
        }
        pool.sort { ranksBelow($1.value, $1.row, $0.value, $0.row) }
        // Our own slots are sources too: stage the winners before writing.
        let kept = pool.prefix(k).map { entry in
            (entry.value, entry.row, Array(UnsafeBufferPointer(start: entry.from.topContext + entry.slot * w, count: w)),
             Array(UnsafeBufferPointer(start: entry.from.topTokens + entry.slot * w, count: w)))
        }
        for (s, (value, row, context, tokens)) in kept.enumerated() {
            let slot = j * k + s
            a.topValue[slot] = value
            a.topRow[slot] = row
            (a.topContext + slot * w).update(from: context, count: w)
            (a.topTokens + slot * w).update(from: tokens, count: w)
        }
        a.topCount[j] = Int32(kept.count)
    }

    /// Interval samples: the m smallest keys of the union.
    private static func mergeSamples(cell: Int, _ b: BinnedCells, into a: BinnedCells) {
        let m = a.perInterval, w = a.width
        a.intervalCount[cell] += b.intervalCount[cell]
        var pool: [(key: UInt64, row: Int64, from: BinnedCells, slot: Int)] = []
        for cells in [a, b] {
            for slot in cell * m..<cell * m + Int(cells.sampleCount[cell]) { pool.append((cells.sampleKey[slot], cells.sampleRow[slot], cells, slot)) }
        }
        pool.sort { ($0.key, $0.row) < ($1.key, $1.row) }
        let kept = pool.prefix(m).map { entry in
            (entry.key, entry.row, entry.from.sampleValue[entry.slot],
             Array(UnsafeBufferPointer(start: entry.from.sampleContext + entry.slot * w, count: w)),
             Array(UnsafeBufferPointer(start: entry.from.sampleTokens! + entry.slot * w, count: w)))
        }
        for (s, (key, row, value, context, tokens)) in kept.enumerated() {
            let slot = cell * m + s
            a.sampleKey[slot] = key
            a.sampleRow[slot] = row
            a.sampleValue[slot] = value
            (a.sampleContext + slot * w).update(from: context, count: w)
            (a.sampleTokens! + slot * w).update(from: tokens, count: w)
        }
        a.sampleCount[cell] = Int32(kept.count)
    }
}
