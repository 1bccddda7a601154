import CKernels
import Foundation

/// One latent's codes over a range of rows, rows ascending (what a delphi split gives once its
/// entries are grouped by latent): rows are offsets from `baseRow`.
struct LatentList {
    let codes: UnsafePointer<ck_code>
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
            if Int(codes[middle].row) < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// A list's recorded codes on core rows, in one pass (`ck_code_sums`): how many, their sum in
/// row order (in double) and their max.
struct CoreSums {
    var valid: Int64 = 0
    var sum: Double = 0
    var max: Float = 0
}

extension FeatureAccumulator {
    /// Records feature j from its whole list at once (every row of the pass, in row order):
    /// the same tables `record(_:minimum:)` gives for these codes fed batch by batch, since a
    /// feature's state only depends on its own values in row order. What differs is the work:
    /// one tight loop over the list with no regrouping, and the contexts of the exemplars that
    /// are finally kept are read from the list once at the end, instead of on every change.
    ///
    /// `core` are the list's entries on the recorded rows (the list may hold entries around them,
    /// for context only), `sums` their `CoreSums`. Contexts span each row's sequence, sequences
    /// being `sequenceLength` rows. Call it once per feature; calls for different features may
    /// run concurrently.
    func record(feature j: Int, list: LatentList, core: Range<Int>, sums: CoreSums, sequenceLength: Int, minimum: Float) {
        // The recorded values: usually all of them, and the passes then read the list itself.
        if sums.valid == core.count {
            record(feature: j, codes: list.codes + core.lowerBound, count: core.count, sums: sums, baseRow: list.baseRow)
        } else {
            let codes = UnsafeMutablePointer<ck_code>.allocate(capacity: max(1, Int(sums.valid)))
            defer { codes.deallocate() }
            var at = 0
            for e in core where isRecorded(list.codes[e].value, minimum) {
                codes[at] = list.codes[e]
                at += 1
            }
            record(feature: j, codes: codes, count: at, sums: sums, baseRow: list.baseRow)
        }
        fillContexts(feature: j, list: list, sequenceLength: sequenceLength)
    }

    @inline(__always)
    private func isRecorded(_ value: Float, _ minimum: Float) -> Bool { value >= minimum && value.isFinite && value != 0 }

    /// The recorded values of feature j (rows ascending, each row baseRow + codes[e].row), in passes
    /// that each do one thing (the running sums are `sums`): the histogram, intervals and samples in
    /// segments of one range (a value at or above the range ends a segment and doubles it, as
    /// recording value by value does at that value); then the top exemplars.
    private func record(feature j: Int, codes: UnsafePointer<ck_code>, count n: Int, sums: CoreSums, baseRow: Int) {
        guard n > 0 else { return }
        var summary = summaries[j]
        // The feature's only call: its sum and max start from nothing, as `sums` does.
        summary.count += Int64(n)
        summary.sum = sums.sum
        summary.maxValue = sums.max

        if summary.exponent == Int32.min { summary.exponent = rangeExponent(above: codes[0].value) }
        let scratch = ListScratch(entries: n, counts: cells.bins + cells.intervals)
        defer { scratch.deallocate() }
        var segmentStart = 0
        while true {
            let segmentEnd = recordBins(feature: j, codes: codes, segmentStart..<n, exponent: summary.exponent,
                                        baseRow: baseRow, scratch: scratch)
            guard segmentEnd < n else { break }
            let value = codes[segmentEnd].value
            repeat {
                summary.exponent += 1
                cells.coarsen(feature: j)
            } while value >= rangeUpperBound(exponent: summary.exponent)
            segmentStart = segmentEnd
        }

        let k = options.topK, w = options.contextWidth
        // Once the heap is full, only values at or above its floor can enter: a C scan finds them.
        var e = 0
        while e < n {
            if summary.topCount == k {
                e = Int(ck_next_at_least(codes, Int64(e), Int64(n), summary.topFloor))
                guard e < n else { break }
            }
            _ = offerTop(feature: j, summary: &summary, value: codes[e].value, row: Int64(baseRow + Int(codes[e].row)), k: k, width: w)
            e += 1
        }
        summaries[j] = summary
    }

    /// Histogram, interval counts and samples for entries from `range.lowerBound` until the first
    /// value at or above the scale's range (returned; `range.upperBound` when there is none).
    /// The counting (which finds that value) and the sampling keys are C loops (delphi_splits.c); samples are offered
    /// only for the few entries that could be kept, in row order.
    private func recordBins(feature j: Int, codes: UnsafePointer<ck_code>, _ range: Range<Int>,
                            exponent: Int32, baseRow: Int, scratch: ListScratch) -> Int {
        let scale = BinScale(exponent: exponent)
        let bins = cells.bins, intervals = cells.intervals, m = cells.perInterval
        let start = range.lowerBound
        let n = Int(ck_count_bins(codes + start, Int64(range.count), exponent, scale.upper, Int32(bins), Int32(intervals),
                                  cells.histogram + j * bins, cells.intervalCount + j * intervals, scratch.intervals, scratch.counts))
        let end = start + n
        guard m > 0 else { return end }
        ck_exemplar_keys(codes + start, Int64(n), Int64(baseRow), cells.seed, Int64(j), scratch.keys)
        let sampleCount = cells.sampleCount + j * intervals, ceiling = cells.sampleCeiling! + j * intervals
        var e = 0
        while true {
            e = Int(ck_next_sample_candidate(scratch.intervals, scratch.keys, Int64(e), Int64(n), sampleCount, Int32(m), ceiling))
            guard e < n else { break }
            _ = cells.offerSample(cell: j * intervals + Int(scratch.intervals[e]), key: scratch.keys[e],
                                  row: Int64(baseRow + Int(codes[start + e].row)), value: codes[start + e].value)
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
        ck_fill_context(list.codes, Int64(list.count), Int64(list.baseRow), Int64(row), Int64(options.context), Int64(sequenceLength), slot)
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
