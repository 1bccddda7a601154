import Foundation

/// One latent's codes over a range of rows, rows ascending (what a delphi split gives once its
/// entries are grouped by latent): `rows` are offsets from `baseRow`.
struct LatentList {
    let rows: UnsafePointer<UInt32>
    let values: UnsafePointer<Float>
    let count: Int
    let baseRow: Int

    /// First entry whose row is at least `row`.
    @inline(__always)
    func firstEntry(atOrAfter row: Int) -> Int {
        let target = row - baseRow
        if target <= 0 { return 0 }
        if target > Int(UInt32.max) { return count }
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if Int(rows[middle]) < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension FeatureAccumulator {
    /// Records feature j from its whole list at once (every row of the pass, in row order):
    /// the same tables `record(_:minimum:)` gives for these codes fed batch by batch, since a
    /// feature's state only depends on its own values in row order. What differs is the work:
    /// one tight loop over the list with no regrouping, and the contexts of the exemplars that
    /// are finally kept are read from the list once at the end, instead of on every change.
    ///
    /// `core` are the recorded rows (global); the list may hold entries around them (context
    /// only). Contexts span each row's sequence, sequences being `sequenceLength` rows. Call it
    /// once per feature; calls for different features may run concurrently.
    func record(feature j: Int, list: LatentList, core: Range<Int>, sequenceLength: Int, minimum: Float) {
        let k = options.topK, w = options.contextWidth
        let first = list.firstEntry(atOrAfter: core.lowerBound), end = list.firstEntry(atOrAfter: core.upperBound)
        let rows = list.rows, values = list.values, baseRow = list.baseRow
        var summary = summaries[j]
        var scale = BinScale(exponent: summary.exponent)
        var e = first
        while e < end {
            let value = values[e]
            // A zero code is no activation (delphi drops |f| <= 1e-5; rangeExponent needs value > 0).
            guard value >= minimum, value.isFinite, value != 0 else { e += 1; continue }
            let row = baseRow + Int(rows[e])
            summary.count += 1
            summary.sum += Double(value)
            if value > summary.maxValue { summary.maxValue = value }
            if summary.exponent == Int32.min {
                summary.exponent = rangeExponent(above: value)
                scale = BinScale(exponent: summary.exponent)
            } else if value >= scale.upper {
                repeat {
                    summary.exponent += 1
                    cells.coarsen(feature: j)
                } while value >= rangeUpperBound(exponent: summary.exponent)
                scale = BinScale(exponent: summary.exponent)
            }
            _ = offerTop(feature: j, summary: &summary, value: value, row: Int64(row), k: k, width: w)
            _ = cells.add(feature: j, value: value, scale: scale, row: row)
            e += 1
        }
        summaries[j] = summary

        // Contexts of what was kept, read from the list.
        let base = j * k
        for i in 0..<Int(summary.topCount) {
            let entry = heap[base + i]
            fillContext(topContextBase + (base + Int(entry.slot)) * w, around: Int(entry.row), list: list, sequenceLength: sequenceLength)
        }
        // Every slot that ever held a sample, as recording does: a coarsening can leave evicted
        // samples (row and context) past a cell's count, and the file keeps them.
        let slots = cells.intervals * cells.perInterval
        for slot in j * slots..<(j + 1) * slots where cells.sampleRow[slot] >= 0 {
            fillContext(cells.sampleContext + slot * w, around: Int(cells.sampleRow[slot]), list: list, sequenceLength: sequenceLength)
        }
    }

    /// The feature's activations on rows row-c ... row+c: NaN outside the row's sequence, 0
    /// where it did not fire (as `ActivationBatch.fillContext`).
    private func fillContext(_ slot: UnsafeMutablePointer<Float>, around row: Int, list: LatentList, sequenceLength: Int) {
        let c = options.context
        let sequenceStart = row / sequenceLength * sequenceLength
        let windowStart = max(sequenceStart, row - c), windowEnd = min(sequenceStart + sequenceLength, row + c + 1)
        for p in 0...(2 * c) {
            let neighbour = row - c + p
            slot[p] = (neighbour >= windowStart && neighbour < windowEnd) ? 0 : .nan
        }
        var e = list.firstEntry(atOrAfter: windowStart)
        while e < list.count {
            let neighbour = list.baseRow + Int(list.rows[e])
            if neighbour >= windowEnd { break }
            slot[neighbour - row + c] = list.values[e]
            e += 1
        }
    }
}
