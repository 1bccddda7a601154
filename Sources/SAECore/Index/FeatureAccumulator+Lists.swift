import CKernels
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
        let first = list.firstEntry(atOrAfter: core.lowerBound), end = list.firstEntry(atOrAfter: core.upperBound)
        // The recorded values: at least `minimum`, finite, and not zero (delphi drops |f| <= 1e-5;
        // a range needs value > 0). Usually all of them: the passes then read the list itself.
        var valid = 0
        for e in first..<end where isRecorded(list.values[e], minimum) { valid += 1 }
        if valid == end - first {
            record(feature: j, rows: list.rows + first, values: list.values + first, count: valid, baseRow: list.baseRow)
        } else {
            let rows = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, valid))
            let values = UnsafeMutablePointer<Float>.allocate(capacity: max(1, valid))
            defer { rows.deallocate(); values.deallocate() }
            var at = 0
            for e in first..<end where isRecorded(list.values[e], minimum) {
                rows[at] = list.rows[e]
                values[at] = list.values[e]
                at += 1
            }
            record(feature: j, rows: rows, values: values, count: valid, baseRow: list.baseRow)
        }
        fillContexts(feature: j, list: list, sequenceLength: sequenceLength)
    }

    @inline(__always)
    private func isRecorded(_ value: Float, _ minimum: Float) -> Bool { value >= minimum && value.isFinite && value != 0 }

    /// The recorded values of feature j (rows ascending, each row baseRow + rows[e]), in passes
    /// that each do one thing: the running sums; then the histogram, intervals and samples in
    /// segments of one range (a value at or above the range ends a segment and doubles it, as
    /// recording value by value does at that value); then the top exemplars.
    private func record(feature j: Int, rows: UnsafePointer<UInt32>, values: UnsafePointer<Float>, count n: Int, baseRow: Int) {
        guard n > 0 else { return }
        var summary = summaries[j]
        summary.count += Int64(n)
        var sum = summary.sum, maxValue = summary.maxValue
        for e in 0..<n {
            let value = values[e]
            sum += Double(value)
            maxValue = max(maxValue, value)
        }
        summary.sum = sum
        summary.maxValue = maxValue

        if summary.exponent == Int32.min { summary.exponent = rangeExponent(above: values[0]) }
        let scratch = ListScratch(entries: n, counts: cells.bins + cells.intervals)
        defer { scratch.deallocate() }
        var segmentStart = 0
        while true {
            let segmentEnd = recordBins(feature: j, rows: rows, values: values, segmentStart..<n, exponent: summary.exponent,
                                        baseRow: baseRow, scratch: scratch)
            guard segmentEnd < n else { break }
            let value = values[segmentEnd]
            repeat {
                summary.exponent += 1
                cells.coarsen(feature: j)
            } while value >= rangeUpperBound(exponent: summary.exponent)
            segmentStart = segmentEnd
        }

        let k = options.topK, w = options.contextWidth
        for e in 0..<n {
            let value = values[e]
            if summary.topCount == k && value < summary.topFloor { continue }
            _ = offerTop(feature: j, summary: &summary, value: value, row: Int64(baseRow + Int(rows[e])), k: k, width: w)
        }
        summaries[j] = summary
    }

    /// Histogram, interval counts and samples for entries from `range.lowerBound` until the first
    /// value at or above the scale's range (returned; `range.upperBound` when there is none).
    /// The counting and the sampling keys are C loops (delphi_splits.c); samples are offered
    /// only for the few entries that could be kept, in row order.
    private func recordBins(feature j: Int, rows: UnsafePointer<UInt32>, values: UnsafePointer<Float>, _ range: Range<Int>,
                            exponent: Int32, baseRow: Int, scratch: ListScratch) -> Int {
        let scale = BinScale(exponent: exponent)
        let bins = cells.bins, intervals = cells.intervals, m = cells.perInterval
        var end = range.lowerBound
        while end < range.upperBound, values[end] < scale.upper { end += 1 }
        let start = range.lowerBound, n = end - start
        ck_count_bins(values + start, Int64(n), exponent, Int32(bins), Int32(intervals), cells.histogram + j * bins,
                      cells.intervalCount + j * intervals, scratch.intervals, scratch.counts)
        guard m > 0 else { return end }
        ck_exemplar_keys(rows + start, Int64(n), Int64(baseRow), cells.seed, Int64(j), scratch.keys)
        let sampleCount = cells.sampleCount + j * intervals, ceiling = cells.sampleCeiling! + j * intervals
        var e = 0
        while true {
            e = Int(ck_next_sample_candidate(scratch.intervals, scratch.keys, Int64(e), Int64(n), sampleCount, Int32(m), ceiling))
            guard e < n else { break }
            _ = cells.offerSample(cell: j * intervals + Int(scratch.intervals[e]), key: scratch.keys[e],
                                  row: Int64(baseRow + Int(rows[start + e])), value: values[start + e])
            e += 1
        }
        return end
    }

    /// Contexts of what feature j kept, read from its list.
    private func fillContexts(feature j: Int, list: LatentList, sequenceLength: Int) {
        let k = options.topK, w = options.contextWidth
        let summary = summaries[j]
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

/// Per-list scratch of `recordBins`: each entry's interval and sampling key, and spare counts.
private struct ListScratch {
    let intervals: UnsafeMutablePointer<UInt16>
    let keys: UnsafeMutablePointer<UInt64>
    let counts: UnsafeMutablePointer<Int64>

    init(entries: Int, counts: Int) {
        intervals = .allocate(capacity: max(1, entries))
        keys = .allocate(capacity: max(1, entries))
        self.counts = .allocate(capacity: max(1, counts))
    }

    func deallocate() {
        intervals.deallocate()
        keys.deallocate()
        counts.deallocate()
    }
}
