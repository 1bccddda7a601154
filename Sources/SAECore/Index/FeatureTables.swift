/// Everything an index records per feature, in flat feature-major arrays (O(F * k) memory,
/// independent of the number of tokens). The builder fills it, merge combines two, and the
/// index file stores it as is.
///
/// Per feature j:
/// - `count`, `sum`, `maxValue`: nonzero activations (those at or above the minimum activation);
/// - `rangeExponent`: the histogram and intervals cover [0, 2^e), e the smallest with max < 2^e
///   (`Int32.min` while the feature has not fired);
/// - `histogram[j, bins]`: exact counts per bin;
/// - top exemplars `top*[j, k]`, best first after `finalizeOrder()`, ranked by value then lower row;
/// - interval exemplars `sample*[j, intervals, perInterval]` with their keys, and `intervalCount[j, intervals]`;
/// - for every exemplar, the feature's activation on each context position (`*Context[..., 2c+1]`,
///   NaN outside the exemplar's sequence).
public struct FeatureTables: Sendable {
    public let featureCount: Int
    public let options: FeatureIndexOptions

    public var count: [Int64]
    public var sum: [Double]
    public var maxValue: [Float]
    public var rangeExponent: [Int32]
    public var histogram: [Int64]

    public var topCount: [Int32]
    public var topValue: [Float]
    public var topRow: [Int64]
    public var topContext: [Float]
    /// Token ids of each exemplar's context window (-1 outside its sequence), filled by the builder at the end.
    public var topTokens: [Int32]

    public var intervalCount: [Int64]
    public var sampleCount: [Int32]
    public var sampleKey: [UInt64]
    public var sampleRow: [Int64]
    public var sampleValue: [Float]
    public var sampleContext: [Float]
    public var sampleTokens: [Int32]

    public init(featureCount: Int, options: FeatureIndexOptions) {
        let f = featureCount, k = options.topK, w = options.contextWidth
        let slots = options.intervals * options.perInterval
        self.featureCount = f
        self.options = options
        count = [Int64](repeating: 0, count: f)
        sum = [Double](repeating: 0, count: f)
        maxValue = [Float](repeating: 0, count: f)
        rangeExponent = [Int32](repeating: Int32.min, count: f)
        histogram = [Int64](repeating: 0, count: f * options.bins)
        topCount = [Int32](repeating: 0, count: f)
        topValue = [Float](repeating: 0, count: f * k)
        topRow = [Int64](repeating: -1, count: f * k)
        topContext = [Float](repeating: .nan, count: f * k * w)
        topTokens = [Int32](repeating: -1, count: f * k * w)
        intervalCount = [Int64](repeating: 0, count: f * options.intervals)
        sampleCount = [Int32](repeating: 0, count: f * options.intervals)
        sampleKey = [UInt64](repeating: 0, count: f * slots)
        sampleRow = [Int64](repeating: -1, count: f * slots)
        sampleValue = [Float](repeating: 0, count: f * slots)
        sampleContext = [Float](repeating: .nan, count: f * slots * w)
        sampleTokens = [Int32](repeating: -1, count: f * slots * w)
    }

    // MARK: Recording one activation

    /// Records activation `value` (> 0, finite) of `feature` at `row`; `context(slot)` writes
    /// the feature's activations around the row into a context slot when the row is kept.
    @inline(__always)
    public mutating func record(feature j: Int, row: Int, value: Float,
                                context: (UnsafeMutablePointer<Float>) -> Void) {
        count[j] += 1
        sum[j] += Double(value)
        if value > maxValue[j] { maxValue[j] = value }
        if rangeExponent[j] == Int32.min {
            rangeExponent[j] = SAECore.rangeExponent(above: value)
        } else {
            while value >= rangeUpperBound(exponent: rangeExponent[j]) { coarsen(feature: j) }
        }
        histogram[j * options.bins + binIndex(of: value, exponent: rangeExponent[j], bins: options.bins)] += 1
        offerTop(feature: j, row: row, value: value, context: context)
        if options.perInterval > 0 {
            offerSample(feature: j, interval: binIndex(of: value, exponent: rangeExponent[j], bins: options.intervals),
                        key: exemplarKey(seed: options.seed, feature: j, row: row), row: row, value: value, context: context)
        } else {
            intervalCount[j * options.intervals + binIndex(of: value, exponent: rangeExponent[j], bins: options.intervals)] += 1
        }
    }

    // MARK: Top exemplars: a min-heap per feature, the worst kept exemplar at the root

    /// True when (a, rowA) ranks below (b, rowB): a smaller value, or the same value at a later row.
    @inline(__always)
    static func ranksBelow(_ a: Float, _ rowA: Int64, _ b: Float, _ rowB: Int64) -> Bool {
        a < b || (a == b && rowA > rowB)
    }

    @inline(__always)
    mutating func offerTop(feature j: Int, row: Int, value: Float, context: (UnsafeMutablePointer<Float>) -> Void) {
        let k = options.topK, base = j * k
        let filled = Int(topCount[j])
        let row64 = Int64(row)
        if filled < k {
            topValue[base + filled] = value
            topRow[base + filled] = row64
            Self.writeContext(&topContext, slot: base + filled, width: options.contextWidth, context)
            topCount[j] += 1
            siftUpTop(base: base, from: filled)
        } else if Self.ranksBelow(topValue[base], topRow[base], value, row64) {
            topValue[base] = value
            topRow[base] = row64
            Self.writeContext(&topContext, slot: base, width: options.contextWidth, context)
            siftDownTop(base: base, count: k, from: 0)
        }
    }

    private mutating func swapTop(_ a: Int, _ b: Int) {
        topValue.swapAt(a, b)
        topRow.swapAt(a, b)
        let w = options.contextWidth
        for i in 0..<w {
            topContext.swapAt(a * w + i, b * w + i)
            topTokens.swapAt(a * w + i, b * w + i)
        }
    }

    private mutating func siftUpTop(base: Int, from start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.ranksBelow(topValue[base + child], topRow[base + child], topValue[base + parent], topRow[base + parent]) else { return }
            swapTop(base + child, base + parent)
            child = parent
        }
    }

    private mutating func siftDownTop(base: Int, count: Int, from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var lowest = parent
            if left < count, Self.ranksBelow(topValue[base + left], topRow[base + left], topValue[base + lowest], topRow[base + lowest]) { lowest = left }
            if right < count, Self.ranksBelow(topValue[base + right], topRow[base + right], topValue[base + lowest], topRow[base + lowest]) { lowest = right }
            if lowest == parent { return }
            swapTop(base + parent, base + lowest)
            parent = lowest
        }
    }

    /// Sorts every feature's top exemplars best first (the heap order is only partial).
    public mutating func finalizeOrder() {
        let k = options.topK, w = options.contextWidth
        for j in 0..<featureCount {
            let base = j * k, n = Int(topCount[j])
            guard n > 1 else { continue }
            let order = (0..<n).sorted { Self.ranksBelow(topValue[base + $1], topRow[base + $1], topValue[base + $0], topRow[base + $0]) }
            let values = order.map { topValue[base + $0] }
            let rows = order.map { topRow[base + $0] }
            let contexts = order.flatMap { Array(topContext[(base + $0) * w..<(base + $0 + 1) * w]) }
            let tokens = order.flatMap { Array(topTokens[(base + $0) * w..<(base + $0 + 1) * w]) }
            for i in 0..<n {
                topValue[base + i] = values[i]
                topRow[base + i] = rows[i]
            }
            topContext.replaceSubrange(base * w..<(base + n) * w, with: contexts)
            topTokens.replaceSubrange(base * w..<(base + n) * w, with: tokens)
        }
    }

    // MARK: Interval samples: per interval, the `perInterval` smallest keys

    @inline(__always)
    mutating func offerSample(feature j: Int, interval: Int, key: UInt64, row: Int, value: Float,
                              context: (UnsafeMutablePointer<Float>) -> Void) {
        let cell = j * options.intervals + interval
        intervalCount[cell] += 1
        let m = options.perInterval, base = cell * m
        let filled = Int(sampleCount[cell])
        if filled < m {
            setSample(base + filled, key: key, row: Int64(row), value: value)
            Self.writeContext(&sampleContext, slot: base + filled, width: options.contextWidth, context)
            sampleCount[cell] += 1
            return
        }
        var largest = base
        for slot in base + 1..<base + m where sampleKey[slot] > sampleKey[largest] { largest = slot }
        if key < sampleKey[largest] {
            setSample(largest, key: key, row: Int64(row), value: value)
            Self.writeContext(&sampleContext, slot: largest, width: options.contextWidth, context)
        }
    }

    private mutating func setSample(_ slot: Int, key: UInt64, row: Int64, value: Float) {
        sampleKey[slot] = key
        sampleRow[slot] = row
        sampleValue[slot] = value
    }

    /// Static on purpose: a method of self taking one of self's arrays inout would hold a second
    /// reference to it and copy the whole table on every write.
    @inline(__always)
    private static func writeContext(_ storage: inout [Float], slot: Int, width w: Int, _ context: (UnsafeMutablePointer<Float>) -> Void) {
        storage.withUnsafeMutableBufferPointer { context($0.baseAddress! + slot * w) }
    }

    // MARK: Doubling a feature's range

    /// Doubles feature j's range: histogram bins and intervals merge in pairs (exact, since
    /// the bin edges of [0, 2R) are every other edge of [0, R)).
    mutating func coarsen(feature j: Int) {
        rangeExponent[j] += 1
        let bins = options.bins, hBase = j * bins
        for i in 0..<bins / 2 { histogram[hBase + i] = histogram[hBase + 2 * i] + histogram[hBase + 2 * i + 1] }
        for i in bins / 2..<bins { histogram[hBase + i] = 0 }

        let n = options.intervals, m = options.perInterval, w = options.contextWidth
        let cellBase = j * n
        for i in 0..<n / 2 {
            intervalCount[cellBase + i] = intervalCount[cellBase + 2 * i] + intervalCount[cellBase + 2 * i + 1]
            // Gather both cells' samples, keep the m smallest keys in cell i.
            var pool: [(key: UInt64, row: Int64, value: Float, context: [Float], tokens: [Int32])] = []
            for source in [2 * i, 2 * i + 1] {
                let cell = cellBase + source
                for s in 0..<Int(sampleCount[cell]) {
                    let slot = cell * m + s
                    pool.append((sampleKey[slot], sampleRow[slot], sampleValue[slot],
                                 Array(sampleContext[slot * w..<(slot + 1) * w]), Array(sampleTokens[slot * w..<(slot + 1) * w])))
                }
            }
            pool.sort { ($0.key, $0.row) < ($1.key, $1.row) }
            let kept = pool.prefix(m)
            let cell = cellBase + i
            for (s, entry) in kept.enumerated() {
                let slot = cell * m + s
                setSample(slot, key: entry.key, row: entry.row, value: entry.value)
                sampleContext.replaceSubrange(slot * w..<(slot + 1) * w, with: entry.context)
                sampleTokens.replaceSubrange(slot * w..<(slot + 1) * w, with: entry.tokens)
            }
            sampleCount[cell] = Int32(kept.count)
        }
        for i in n / 2..<n {
            intervalCount[cellBase + i] = 0
            sampleCount[cellBase + i] = 0
        }
    }
}
