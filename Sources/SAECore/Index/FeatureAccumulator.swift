import Foundation

/// The builder's working form of `FeatureTables`, laid out for recording millions of activations:
/// - each feature's running scalars sit in one 32-byte record, with the worst kept top value,
///   so most activations are rejected from the top exemplars without touching the heap;
/// - the top exemplars are a min-heap of 16-byte entries that point at their context slot, so a
///   sift moves entries, not contexts (they are put in order once, at the end);
/// - histogram and interval tables are already in their final layout (`BinnedCells`).
/// Everything is written through raw pointers: threads record disjoint feature ranges at once.
final class FeatureAccumulator: @unchecked Sendable {
    let featureCount: Int
    let options: FeatureIndexOptions

    struct Summary {
        var count: Int64 = 0
        var sum: Double = 0
        var maxValue: Float = 0
        var exponent = Int32.min
        var topCount: Int32 = 0
        /// The heap root's value once the heap is full: anything smaller cannot enter.
        var topFloor: Float = 0
    }

    struct TopEntry {
        var value: Float
        /// Context slot of this exemplar, 0..<k within the feature.
        var slot: Int32
        var row: Int64
    }

    let summaries: UnsafeMutablePointer<Summary>
    let heap: UnsafeMutablePointer<TopEntry>
    // Tables already in their final layout, written through the pointers below; at the end the
    // columns are handed over as they are and the rest copied into arrays.
    private var topContext: TableColumn<Float>
    private var histogram: TableColumn<Int64>
    private var intervalCount: TableColumn<Int64>
    private var sampleCount: TableColumn<Int32>
    private var sampleKey: TableColumn<UInt64>
    private var sampleRow: TableColumn<Int64>
    private var sampleValue: TableColumn<Float>
    private var sampleContext: TableColumn<Float>
    /// The exemplars' token ids, all -1 until `fillContextTokens` (made here rather than in
    /// `makeTables`: their first touch then happens beside the pass, not after it).
    private var topTokens: TableColumn<Int32>
    private var sampleTokens: TableColumn<Int32>
    let topContextBase: UnsafeMutablePointer<Float>
    let cells: BinnedCells
    private let sampleCeiling: UnsafeMutablePointer<UInt64>

    init(featureCount f: Int, options: FeatureIndexOptions) {
        featureCount = f
        self.options = options
        let k = options.topK, w = options.contextWidth, cellCount = f * options.intervals
        let slots = cellCount * options.perInterval
        summaries = .allocate(capacity: f)
        summaries.initialize(repeating: Summary(), count: f)
        heap = .allocate(capacity: f * k)
        heap.initialize(repeating: TopEntry(value: 0, slot: 0, row: -1), count: f * k)
        topContext = TableColumn(repeating: .nan, count: f * k * w)
        histogram = TableColumn(repeating: 0, count: f * options.bins)
        intervalCount = TableColumn(repeating: 0, count: cellCount)
        sampleCount = TableColumn(repeating: 0, count: cellCount)
        sampleKey = TableColumn(repeating: 0, count: slots)
        sampleRow = TableColumn(repeating: -1, count: slots)
        sampleValue = TableColumn(repeating: 0, count: slots)
        sampleContext = TableColumn(repeating: .nan, count: slots * w)
        topTokens = TableColumn(repeating: -1, count: f * k * w)
        sampleTokens = TableColumn(repeating: -1, count: slots * w)
        topContextBase = topContext.uniqueBaseAddress()
        sampleCeiling = .allocate(capacity: max(1, cellCount))
        sampleCeiling.initialize(repeating: .max, count: max(1, cellCount))
        cells = BinnedCells(
            bins: options.bins, intervals: options.intervals, perInterval: options.perInterval, width: w, seed: options.seed,
            histogram: histogram.uniqueBaseAddress(), intervalCount: intervalCount.uniqueBaseAddress(),
            sampleCount: sampleCount.uniqueBaseAddress(), sampleKey: sampleKey.uniqueBaseAddress(),
            sampleRow: sampleRow.uniqueBaseAddress(), sampleValue: sampleValue.uniqueBaseAddress(),
            sampleContext: sampleContext.uniqueBaseAddress(), sampleTokens: nil, sampleCeiling: sampleCeiling)
    }

    deinit {
        summaries.deallocate()
        heap.deallocate()
        sampleCeiling.deallocate()
    }

    // MARK: Recording

    /// Records the batch's activations (those on recorded rows, finite and at least `minimum`),
    /// blocks of features in parallel.
    func record(_ batch: ActivationBatch, minimum: Float) {
        // More blocks than cores, so that a core taken by another process does not hold the rest up.
        let f = featureCount, blocks = max(1, min(f, 4 * ProcessInfo.activeCores))
        parallelFor(blocks) { b in
            record(batch, features: (b * f / blocks)..<((b + 1) * f / blocks), minimum: minimum)
        }
    }

    /// Records the batch's activations of `features`; calls for disjoint ranges may run concurrently.
    private func record(_ batch: ActivationBatch, features: Range<Int>, minimum: Float) {
        let k = options.topK, w = options.contextWidth
        let start = batch.featureStart, rows = batch.rows, values = batch.values, recorded = batch.recorded
        let firstRow = batch.firstRow
        for j in features {
            let listStart = Int(start[j]), listEnd = Int(start[j + 1])
            guard listStart < listEnd else { continue }
            var summary = summaries[j]
            var scale = BinScale(exponent: summary.exponent)
            for e in listStart..<listEnd {
                let local = Int(rows[e]), value = values[e]
                guard recorded[local], value >= minimum, value.isFinite else { continue }
                let row = firstRow + local
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
                // Contexts are written only for the exemplars kept.
                if let slot = offerTop(feature: j, summary: &summary, value: value, row: Int64(row), k: k, width: w) {
                    batch.fillContext(slot, entry: e, listStart: listStart, listEnd: listEnd)
                }
                if let slot = cells.add(feature: j, value: value, scale: scale, row: row) {
                    batch.fillContext(slot, entry: e, listStart: listStart, listEnd: listEnd)
                }
            }
            summaries[j] = summary
        }
    }

    // MARK: Top exemplars: a min-heap per feature, the worst kept exemplar at the root

    /// Returns the context slot to fill when the exemplar is kept.
    @inline(__always)
    func offerTop(feature j: Int, summary: inout Summary, value: Float, row: Int64, k: Int, width w: Int) -> UnsafeMutablePointer<Float>? {
        let base = j * k
        if summary.topCount < k {
            let position = Int(summary.topCount)
            heap[base + position] = TopEntry(value: value, slot: summary.topCount, row: row)
            summary.topCount += 1
            siftUp(base: base, from: position)
            if summary.topCount == k { summary.topFloor = heap[base].value }
            return topContextBase + (base + position) * w
        }
        guard value >= summary.topFloor else { return nil }
        let root = heap[base]
        guard FeatureTables.ranksBelow(root.value, root.row, value, row) else { return nil }
        heap[base] = TopEntry(value: value, slot: root.slot, row: row)
        siftDown(base: base, count: k, from: 0)
        summary.topFloor = heap[base].value
        return topContextBase + (base + Int(root.slot)) * w
    }

    @inline(__always)
    private func below(_ a: Int, _ b: Int) -> Bool {
        FeatureTables.ranksBelow(heap[a].value, heap[a].row, heap[b].value, heap[b].row)
    }

    private func siftUp(base: Int, from start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard below(base + child, base + parent) else { return }
            swap(&heap[base + child], &heap[base + parent])
            child = parent
        }
    }

    private func siftDown(base: Int, count: Int, from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var lowest = parent
            if left < count, below(base + left, base + lowest) { lowest = left }
            if right < count, below(base + right, base + lowest) { lowest = right }
            if lowest == parent { return }
            swap(&heap[base + parent], &heap[base + lowest])
            parent = lowest
        }
    }

    // MARK: Handing over

    /// The finished tables, top exemplars best first (token tables still -1). The accumulator
    /// is spent afterwards.
    func makeTables() -> FeatureTables {
        let f = featureCount, k = options.topK, w = options.contextWidth
        var count = [Int64](repeating: 0, count: f), sum = [Double](repeating: 0, count: f)
        var maxValue = [Float](repeating: 0, count: f), rangeExponent = [Int32](repeating: 0, count: f)
        var topCount = [Int32](repeating: 0, count: f)
        var topValue = [Float](repeating: 0, count: f * k), topRow = [Int64](repeating: -1, count: f * k)
        for j in 0..<f {
            let summary = summaries[j]
            count[j] = summary.count
            sum[j] = summary.sum
            maxValue[j] = summary.maxValue
            rangeExponent[j] = summary.exponent
            topCount[j] = summary.topCount
        }
        // Each feature's heap best first, and its contexts moved into that order (feature blocks in parallel).
        let blocks = max(1, min(f, 4 * ProcessInfo.activeCores))
        topValue.withUnsafeMutableBufferPointer { topValue in
            topRow.withUnsafeMutableBufferPointer { topRow in
                parallelFor(blocks) { b in
                    let contexts = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k * w))
                    defer { contexts.deallocate() }
                    for j in (b * f / blocks)..<((b + 1) * f / blocks) {
                        let n = Int(summaries[j].topCount), base = j * k
                        var entries = UnsafeMutableBufferPointer(start: heap + base, count: n)
                        entries.sort { FeatureTables.ranksBelow($1.value, $1.row, $0.value, $0.row) }
                        for (i, entry) in entries.enumerated() {
                            topValue[base + i] = entry.value
                            topRow[base + i] = entry.row
                            (contexts + i * w).update(from: topContextBase + (base + Int(entry.slot)) * w, count: w)
                        }
                        (topContextBase + base * w).update(from: contexts, count: n * w)
                    }
                }
            }
        }
        // Moved out, not shared: `fillContextTokens` writes them in place (a shared column would
        // be copied first).
        let topTokens = self.topTokens, sampleTokens = self.sampleTokens
        self.topTokens = TableColumn(repeating: -1, count: 0)
        self.sampleTokens = TableColumn(repeating: -1, count: 0)
        return FeatureTables(
            featureCount: f, options: options, count: count, sum: sum, maxValue: maxValue, rangeExponent: rangeExponent,
            histogram: histogram.array, topCount: topCount, topValue: topValue, topRow: topRow, topContext: topContext,
            topTokens: topTokens, intervalCount: intervalCount.array, sampleCount: sampleCount.array,
            sampleKey: sampleKey, sampleRow: sampleRow, sampleValue: sampleValue, sampleContext: sampleContext,
            sampleTokens: sampleTokens)
    }
}
