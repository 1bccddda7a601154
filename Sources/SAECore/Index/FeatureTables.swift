/// Everything an index records per feature, in flat feature-major tables (O(F * k) memory,
/// independent of the number of tokens), exactly as the index file stores them. The builder
/// produces it (`FeatureAccumulator`), merge combines two, and a reopened index views the file.
///
/// Per feature j:
/// - `count`, `sum`, `maxValue`: nonzero activations (those at or above the minimum activation);
/// - `rangeExponent`: the histogram and intervals cover [0, 2^e), e the smallest with max < 2^e
///   (`Int32.min` while the feature has not fired);
/// - `histogram[j, bins]`: exact counts per bin;
/// - top exemplars `top*[j, k]`, best first, ranked by value then lower row (`topCount` filled);
/// - interval exemplars `sample*[j, intervals, perInterval]` (in no particular order) with their
///   keys, and `intervalCount[j, intervals]`;
/// - for every exemplar, the feature's activation on each context position (`*Context[..., 2c+1]`,
///   NaN outside the exemplar's sequence) and the context's token ids (`*Tokens`, -1 outside).
///
/// The per-feature summaries are arrays; the exemplar tables (contexts, tokens, interval samples:
/// most of an index) are `TableColumn`s, which a reopened index leaves in the memory-mapped file.
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
    public var topContext: TableColumn<Float>
    public var topTokens: TableColumn<Int32>

    public var intervalCount: [Int64]
    public var sampleCount: [Int32]
    public var sampleKey: TableColumn<UInt64>
    public var sampleRow: TableColumn<Int64>
    public var sampleValue: TableColumn<Float>
    public var sampleContext: TableColumn<Float>
    public var sampleTokens: TableColumn<Int32>
}

extension FeatureTables {
    /// Tables of features that have not fired. (An extension, to keep the memberwise initialiser
    /// that the accumulator and the file reader use.)
    public init(featureCount f: Int, options: FeatureIndexOptions) {
        let k = options.topK, w = options.contextWidth, cells = f * options.intervals
        let slots = cells * options.perInterval
        self.init(
            featureCount: f, options: options,
            count: .init(repeating: 0, count: f), sum: .init(repeating: 0, count: f),
            maxValue: .init(repeating: 0, count: f), rangeExponent: .init(repeating: Int32.min, count: f),
            histogram: .init(repeating: 0, count: f * options.bins),
            topCount: .init(repeating: 0, count: f), topValue: .init(repeating: 0, count: f * k),
            topRow: .init(repeating: -1, count: f * k), topContext: .init(repeating: .nan, count: f * k * w),
            topTokens: .init(repeating: -1, count: f * k * w),
            intervalCount: .init(repeating: 0, count: cells), sampleCount: .init(repeating: 0, count: cells),
            sampleKey: .init(repeating: 0, count: slots), sampleRow: .init(repeating: -1, count: slots),
            sampleValue: .init(repeating: 0, count: slots), sampleContext: .init(repeating: .nan, count: slots * w),
            sampleTokens: .init(repeating: -1, count: slots * w))
    }

    /// True when (a, rowA) ranks below (b, rowB): a smaller value, or the same value at a later row.
    @inline(__always)
    static func ranksBelow(_ a: Float, _ rowA: Int64, _ b: Float, _ rowB: Int64) -> Bool {
        a < b || (a == b && rowA > rowB)
    }

    /// Writable pointers to every table, for the duration of `body` (mapped tables are copied first).
    struct Pointers {
        let count: UnsafeMutablePointer<Int64>
        let sum: UnsafeMutablePointer<Double>
        let maxValue: UnsafeMutablePointer<Float>
        let rangeExponent: UnsafeMutablePointer<Int32>
        let topCount: UnsafeMutablePointer<Int32>
        let topValue: UnsafeMutablePointer<Float>
        let topRow: UnsafeMutablePointer<Int64>
        let topContext: UnsafeMutablePointer<Float>
        let topTokens: UnsafeMutablePointer<Int32>
        let cells: BinnedCells
    }

    mutating func withPointers<R>(_ body: (Pointers) throws -> R) rethrows -> R {
        let o = options
        let topContext = topContext.uniqueBaseAddress(), topTokens = topTokens.uniqueBaseAddress()
        let sampleKey = sampleKey.uniqueBaseAddress(), sampleRow = sampleRow.uniqueBaseAddress()
        let sampleValue = sampleValue.uniqueBaseAddress(), sampleContext = sampleContext.uniqueBaseAddress()
        let sampleTokens = sampleTokens.uniqueBaseAddress()
        return try count.withUnsafeMutableBufferPointer { count in
        try sum.withUnsafeMutableBufferPointer { sum in
        try maxValue.withUnsafeMutableBufferPointer { maxValue in
        try rangeExponent.withUnsafeMutableBufferPointer { rangeExponent in
        try histogram.withUnsafeMutableBufferPointer { histogram in
        try topCount.withUnsafeMutableBufferPointer { topCount in
        try topValue.withUnsafeMutableBufferPointer { topValue in
        try topRow.withUnsafeMutableBufferPointer { topRow in
        try intervalCount.withUnsafeMutableBufferPointer { intervalCount in
        try sampleCount.withUnsafeMutableBufferPointer { sampleCount in
            try body(Pointers(
                count: count.baseAddress!, sum: sum.baseAddress!, maxValue: maxValue.baseAddress!,
                rangeExponent: rangeExponent.baseAddress!, topCount: topCount.baseAddress!,
                topValue: topValue.baseAddress!, topRow: topRow.baseAddress!, topContext: topContext, topTokens: topTokens,
                cells: BinnedCells(
                    bins: o.bins, intervals: o.intervals, perInterval: o.perInterval, width: o.contextWidth, seed: o.seed,
                    histogram: histogram.baseAddress!, intervalCount: intervalCount.baseAddress!,
                    sampleCount: sampleCount.baseAddress!, sampleKey: sampleKey, sampleRow: sampleRow,
                    sampleValue: sampleValue, sampleContext: sampleContext, sampleTokens: sampleTokens)))
        }}}}}}}}}}
    }
}
