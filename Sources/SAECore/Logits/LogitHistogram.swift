/// Equal-width histogram of one feature's logit effects over the whole vocabulary, binned as
/// SAEDashboard bins them (`torch.histc(logits, bins)` between the lowest and highest effect, in
/// float32; bar values at the bin centres of `linspace(lowest, highest, bins + 1)`), so that
/// exports carry the `logits_hist_data_bar_heights/values` its Neuronpedia runner writes.
public struct LogitHistogram: Sendable, Equatable {
    public let lowest: Float
    public let highest: Float
    public private(set) var counts: [Int]

    public init(lowest: Float, highest: Float, bins: Int) {
        self.lowest = lowest
        self.highest = highest
        counts = [Int](repeating: 0, count: max(1, bins))
    }

    /// histc widens an empty range by one on each side.
    private var range: (low: Float, high: Float) { lowest == highest ? (lowest - 1, highest + 1) : (lowest, highest) }

    mutating func add(_ values: UnsafeBufferPointer<Float>) {
        let (low, high) = range, bins = counts.count, span = high - low
        for x in values where x >= low && x <= high {
            let bin = Int((x - low) / span * Float(bins))
            counts[min(bin, bins - 1)] += 1
        }
    }

    /// The bar centres: edges `linspace(lowest, highest, bins + 1)` in float32 plus half a bin.
    public var centers: [Float] {
        let bins = counts.count
        let step = (highest - lowest) / Float(bins)
        let half = Float((Double(highest) - Double(lowest)) / Double(bins) / 2)
        return (0..<bins).map { i in
            // linspace fills the first half from the start and the second half back from the end.
            let edge = i < (bins + 1) / 2 ? lowest + Float(i) * step : highest - Float(bins - i) * step
            return edge + half
        }
    }
}
