/// Writable raw views of the tables whose bins follow each feature's power-of-two range: the
/// histogram `[F, bins]`, interval counts `[F, intervals]` and interval samples
/// `[F, intervals, perInterval]` with their contexts. The builder's accumulator and merge share
/// it, so recording and coarsening are one piece of code. Plain pointers, because the builder
/// writes disjoint features from several threads.
struct BinnedCells {
    let bins: Int
    let intervals: Int
    let perInterval: Int
    let width: Int
    let seed: UInt64
    let histogram: UnsafeMutablePointer<Int64>
    let intervalCount: UnsafeMutablePointer<Int64>
    let sampleCount: UnsafeMutablePointer<Int32>
    let sampleKey: UnsafeMutablePointer<UInt64>
    let sampleRow: UnsafeMutablePointer<Int64>
    let sampleValue: UnsafeMutablePointer<Float>
    let sampleContext: UnsafeMutablePointer<Float>
    /// Nil while building (tokens are filled in at the end).
    let sampleTokens: UnsafeMutablePointer<Int32>?
    /// Per cell, the largest kept key once the cell is full (the builder's, nil in a merge): a
    /// rejected sample, by far the most common case, is then one compare instead of a scan.
    var sampleCeiling: UnsafeMutablePointer<UInt64>? = nil

    /// Counts `value` (within feature j's range 2^exponent) in its histogram bin and interval,
    /// and offers it as an interval sample. Returns the context slot to fill when it is kept.
    /// `scale` is `BinScale(exponent:)` of the feature's current range.
    @inline(__always)
    func add(feature j: Int, value: Float, scale: BinScale, row: Int) -> UnsafeMutablePointer<Float>? {
        histogram[j * bins + scale.index(of: value, bins: bins)] += 1
        let cell = j * intervals + scale.index(of: value, bins: intervals)
        intervalCount[cell] += 1
        guard perInterval > 0 else { return nil }
        return offerSample(cell: cell, key: exemplarKey(seed: seed, feature: j, row: row), row: Int64(row), value: value)
    }

    /// Each interval keeps the `perInterval` smallest keys.
    @inline(__always)
    func offerSample(cell: Int, key: UInt64, row: Int64, value: Float) -> UnsafeMutablePointer<Float>? {
        let m = perInterval, base = cell * m
        let filled = Int(sampleCount[cell])
        var slot = base + filled
        if filled < m {
            sampleCount[cell] += 1
        } else {
            if let sampleCeiling, key >= sampleCeiling[cell] { return nil }
            slot = base
            for s in base + 1..<base + m where sampleKey[s] > sampleKey[slot] { slot = s }
            guard key < sampleKey[slot] else { return nil }
        }
        sampleKey[slot] = key
        sampleRow[slot] = row
        sampleValue[slot] = value
        if filled + 1 >= m { updateCeiling(cell: cell) }
        return sampleContext + slot * width
    }

    /// Recomputes a full cell's largest key (no-op without a ceiling table or below full).
    @inline(__always)
    private func updateCeiling(cell: Int) {
        guard let sampleCeiling, perInterval > 0, Int(sampleCount[cell]) == perInterval else { return }
        let base = cell * perInterval
        var ceiling = sampleKey[base]
        for s in base + 1..<base + perInterval where sampleKey[s] > ceiling { ceiling = sampleKey[s] }
        sampleCeiling[cell] = ceiling
    }

    /// Doubles feature j's range: histogram bins and intervals merge in pairs (exact, since the
    /// bin edges of [0, 2R) are every other edge of [0, R)); each merged interval keeps the
    /// smallest keys of both.
    func coarsen(feature j: Int) {
        let hBase = j * bins
        for i in 0..<bins / 2 { histogram[hBase + i] = histogram[hBase + 2 * i] + histogram[hBase + 2 * i + 1] }
        for i in bins / 2..<bins { histogram[hBase + i] = 0 }

        let n = intervals, m = perInterval, w = width
        let cellBase = j * n
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * m + 1) { pool in
            withUnsafeTemporaryAllocation(of: (key: UInt64, row: Int64, value: Float).self, capacity: m + 1) { staged in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: m * w + 1) { contexts in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: m * w + 1) { tokens in
                        for i in 0..<n / 2 {
                            let target = cellBase + i
                            intervalCount[target] = intervalCount[cellBase + 2 * i] + intervalCount[cellBase + 2 * i + 1]
                            // The slots of both source cells, smallest (key, row) first.
                            var pooled = 0
                            for source in cellBase + 2 * i...cellBase + 2 * i + 1 {
                                for s in 0..<Int(sampleCount[source]) {
                                    pool[pooled] = source * m + s
                                    pooled += 1
                                }
                            }
                            sortSlots(pool.baseAddress!, pooled)
                            let kept = min(m, pooled)
                            // Cell 0 is also a source: stage the kept entries before writing.
                            for s in 0..<kept {
                                let slot = pool[s]
                                staged[s] = (sampleKey[slot], sampleRow[slot], sampleValue[slot])
                                (contexts.baseAddress! + s * w).update(from: sampleContext + slot * w, count: w)
                                if let sampleTokens { (tokens.baseAddress! + s * w).update(from: sampleTokens + slot * w, count: w) }
                            }
                            for s in 0..<kept {
                                let slot = target * m + s
                                (sampleKey[slot], sampleRow[slot], sampleValue[slot]) = staged[s]
                                (sampleContext + slot * w).update(from: contexts.baseAddress! + s * w, count: w)
                                if let sampleTokens { (sampleTokens + slot * w).update(from: tokens.baseAddress! + s * w, count: w) }
                            }
                            sampleCount[target] = Int32(kept)
                            updateCeiling(cell: target)
                        }
                    }
                }
            }
        }
        for i in n / 2..<n {
            intervalCount[cellBase + i] = 0
            sampleCount[cellBase + i] = 0
        }
    }

    /// Insertion sort of a few sample slots by (key, row).
    private func sortSlots(_ slots: UnsafeMutablePointer<Int>, _ count: Int) {
        guard count > 1 else { return }
        for a in 1..<count {
            let slot = slots[a]
            var b = a
            while b > 0, (sampleKey[slots[b - 1]], sampleRow[slots[b - 1]]) > (sampleKey[slot], sampleRow[slot]) {
                slots[b] = slots[b - 1]
                b -= 1
            }
            slots[b] = slot
        }
    }
}
