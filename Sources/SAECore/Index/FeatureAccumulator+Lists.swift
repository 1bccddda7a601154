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

/// A list's recorded codes on core rows when some are not recorded (`ck_code_sums`): how many,
/// their sum in row order (in double) and their max.
private struct CoreSums {
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
    /// for context only). `absoluteSum` is the running sum of |f| over the core codes of the
    /// features recorded so far (one split's, in feature order, rows ascending), continued here.
    /// Contexts span each row's sequence, sequences being `sequenceLength` rows. Call it once per
    /// feature; calls for different features may run concurrently.
    func record(feature j: Int, list: LatentList, core: Range<Int>, sequenceLength: Int, minimum: Float, absoluteSum: inout Double) {
        let codes = list.codes + core.lowerBound, n = core.count
        // The recorded values: usually all of them, and the passes then read the list itself,
        // the sums taken in the loop that bins the values.
        if ck_all_recorded(codes, Int64(n), minimum) != 0 {
            record(feature: j, codes: codes, count: n, sums: nil, absoluteSum: &absoluteSum, baseRow: list.baseRow,
                   entries: ListEntries(first: core.lowerBound, of: nil))
        } else {
            var sums = CoreSums()
            ck_code_sums(codes, Int64(n), minimum, &absoluteSum, &sums.valid, &sums.sum, &sums.max)
            let recorded = UnsafeMutablePointer<ck_code>.allocate(capacity: max(1, Int(sums.valid)))
            let entries = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, Int(sums.valid)))
            defer {
                recorded.deallocate()
                entries.deallocate()
            }
            var at = 0
            for e in core where isRecorded(list.codes[e].value, minimum) {
                recorded[at] = list.codes[e]
                entries[at] = UInt32(e)
                at += 1
            }
            record(feature: j, codes: recorded, count: at, sums: sums, absoluteSum: &absoluteSum, baseRow: list.baseRow,
                   entries: ListEntries(first: 0, of: entries))
        }
        fillContexts(feature: j, list: list, sequenceLength: sequenceLength)
    }

    /// Where the recorded codes sit in the list: code e is entry `first + e`, or `of[e]` when
    /// the recorded codes are a subset.
    private struct ListEntries {
        let first: Int
        let of: UnsafePointer<UInt32>?

        @inline(__always)
        func entry(_ e: Int) -> UInt32 { of.map { $0[e] } ?? UInt32(first + e) }
    }

    /// Until `fillContexts`, a kept exemplar's context slot holds only its list entry (written
    /// where the slot is handed out, so it follows the exemplar when a coarsening moves it): its
    /// context is then read around that entry, with no search.
    @inline(__always)
    private func stash(_ slot: UnsafeMutablePointer<Float>?, entry: UInt32) {
        if let slot { UnsafeMutableRawPointer(slot).storeBytes(of: entry, as: UInt32.self) }
    }

    @inline(__always)
    private func stashedEntry(_ slot: UnsafePointer<Float>) -> Int { Int(UnsafeRawPointer(slot).load(as: UInt32.self)) }

    @inline(__always)
    private func isRecorded(_ value: Float, _ minimum: Float) -> Bool { value >= minimum && value.isFinite && value != 0 }

    /// The recorded values of feature j (rows ascending, each row baseRow + codes[e].row): the
    /// histogram, intervals, samples (and, without `sums`, the running sums) in one C loop per
    /// segment of one range (a value at or above the range ends a segment and doubles it, as
    /// recording value by value does at that value); then the top exemplars.
    private func record(feature j: Int, codes: UnsafePointer<ck_code>, count n: Int, sums: CoreSums?, absoluteSum: inout Double,
                        baseRow: Int, entries: ListEntries) {
        guard n > 0 else { return }
        var summary = summaries[j]
        if summary.exponent == Int32.min { summary.exponent = rangeExponent(above: codes[0].value) }
        let bins = cells.bins, intervals = cells.intervals, m = cells.perInterval, samples = j * intervals * m
        var feature = ck_binned_feature(
            histogram: cells.histogram + j * bins, interval_count: cells.intervalCount + j * intervals,
            sample_count: cells.sampleCount + j * intervals, sample_key: cells.sampleKey + samples,
            sample_row: cells.sampleRow + samples, sample_value: cells.sampleValue + samples,
            sample_context: cells.sampleContext + samples * cells.width, sample_ceiling: cells.sampleCeiling! + j * intervals,
            bins: Int32(bins), intervals: Int32(intervals), per_interval: Int32(m), width: Int32(cells.width),
            seed: cells.seed, feature: Int64(j))
        // The feature's only call: its sum and max start from nothing.
        var running = ck_running_sums(absolute_sum: absoluteSum, sum: 0, max: 0)
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: max(1, intervals)) { worst in
            var segmentStart = 0
            while true {
                let segmentEnd = withUnsafeMutablePointer(to: &running) { running in
                    Int(ck_record_bins(codes, Int64(segmentStart), Int64(n), Int64(baseRow), summary.exponent,
                                       rangeUpperBound(exponent: summary.exponent), &feature, entries.of, Int64(entries.first),
                                       sums == nil ? running : nil, worst.baseAddress!))
                }
                guard segmentEnd < n else { break }
                let value = codes[segmentEnd].value
                repeat {
                    summary.exponent += 1
                    cells.coarsen(feature: j)
                } while value >= rangeUpperBound(exponent: summary.exponent)
                segmentStart = segmentEnd
            }
        }
        summary.count += Int64(n)
        if let sums {
            summary.sum = sums.sum
            summary.maxValue = sums.max
        } else {
            summary.sum = running.sum
            summary.maxValue = running.max
            absoluteSum = running.absolute_sum
        }

        let k = options.topK, w = options.contextWidth
        // Only values at or above the threshold can be among the top (and, once the heap is
        // full, at or above its floor): a C scan finds them. The heap keeps the top k of what it
        // is offered, whatever else it is offered, so skipping the rest changes nothing.
        let threshold = topThreshold(feature: j, exponent: summary.exponent, k: k)
        var e = 0
        while e < n {
            let floor = summary.topCount == k ? max(summary.topFloor, threshold) : threshold
            e = Int(ck_next_at_least(codes, Int64(e), Int64(n), floor))
            guard e < n else { break }
            stash(offerTop(feature: j, summary: &summary, value: codes[e].value, row: Int64(baseRow + Int(codes[e].row)), k: k, width: w),
                  entry: entries.entry(e))
            e += 1
        }
        summaries[j] = summary
    }

    /// A value that each of feature j's top k recorded values reaches (-infinity when there are
    /// fewer): the lower edge of the highest histogram bins (the feature's finished histogram)
    /// that hold k values or more, lowered to cover the roundings of the bin index. Without it,
    /// values in random order enter the heap about k (1 + ln(n / k)) times; with it, a few more than k.
    private func topThreshold(feature j: Int, exponent: Int32, k: Int) -> Float {
        let bins = cells.bins, histogram = cells.histogram + j * bins
        var above = 0, b = bins
        while b > 0, above < k {
            b -= 1
            above += Int(histogram[b])
        }
        // Ranges far from 1 (subnormal or infinite edges) keep every value.
        guard above >= k, b > 0, exponent > -100, exponent < 100 else { return -.infinity }
        // Bin b or above: Float(value / 2^exponent * bins) >= b, so value >= 2^exponent * b / bins * (1 - 2^-24).
        return Float(Double(b) / Double(bins) * (1 - 1e-6) * Double(sign: .plus, exponent: Int(exponent), significand: 1))
    }

    /// Contexts of what feature j kept, read from its list.
    private func fillContexts(feature j: Int, list: LatentList, sequenceLength: Int) {
        let k = options.topK, w = options.contextWidth
        let summary = summaries[j]
        let base = j * k
        for i in 0..<Int(summary.topCount) {
            fillContext(topContextBase + (base + Int(heap[base + i].slot)) * w, list: list, sequenceLength: sequenceLength)
        }
        // Every slot that ever held a sample, as recording does: a coarsening can leave evicted
        // samples (row and context) past a cell's count, and the file keeps them.
        let slots = cells.intervals * cells.perInterval
        for slot in j * slots..<(j + 1) * slots where cells.sampleRow[slot] >= 0 {
            fillContext(cells.sampleContext + slot * w, list: list, sequenceLength: sequenceLength)
        }
    }

    /// The feature's activations on rows row-c ... row+c around the slot's stashed entry: NaN
    /// outside the row's sequence, 0 where it did not fire (as `ActivationBatch.fillContext`).
    private func fillContext(_ slot: UnsafeMutablePointer<Float>, list: LatentList, sequenceLength: Int) {
        ck_fill_context_at(list.codes, Int64(list.count), Int64(list.baseRow), Int64(stashedEntry(slot)), Int64(options.context),
                           Int64(sequenceLength), slot)
    }
}
