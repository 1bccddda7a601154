import Foundation
import TUI

/// The histogram of log10 feature density (fraction of tokens on which a feature fires), with
/// dead features (density 0) counted apart: a separate "dead" bar right of the bins and the
/// count in the title row.
public struct DensityHistogram {
    /// Per-feature density in [0, 1]; 0 is dead. NaN entries are ignored.
    public var densities: [Double]
    public var bins: Int
    /// The log10 range binned; nil: from the floor of the smallest live log10 density to 0.
    public var range: ClosedRange<Double>?
    public var title: String
    public var logScale: Bool
    /// What features of density 0 are called: "dead", or what density 0 means under a threshold.
    public var zeroLabel = "dead"

    public init(densities: [Double], bins: Int = 40, range: ClosedRange<Double>? = nil,
                title: String = "log10 feature density", logScale: Bool = false) {
        self.densities = densities
        self.bins = max(1, bins)
        self.range = range
        self.title = title
        self.logScale = logScale
    }

    /// Counts per log10 bin, the bin edges (log10 values) and the dead count. Densities below
    /// the range go to the first bin, above it to the last.
    public static func bin(_ densities: [Double], bins: Int, range: ClosedRange<Double>?)
        -> (counts: [Int], edges: [Double], dead: Int)
    {
        let live = densities.filter { $0 > 0 && $0.isFinite }
        let dead = densities.filter { $0 == 0 }.count
        let lo: Double
        let hi: Double
        if let range {
            lo = range.lowerBound
            hi = range.upperBound > range.lowerBound ? range.upperBound : range.lowerBound + 1
        } else {
            let mn = live.min().map { floor(log10($0)) } ?? -6
            lo = min(mn, -1)
            hi = 0
        }
        let n = max(1, bins)
        var counts = [Int](repeating: 0, count: n)
        for d in live {
            let f = (log10(d) - lo) / (hi - lo)
            counts[max(0, min(n - 1, Int(floor(f * Double(n)))))] += 1
        }
        let edges = (0...n).map { lo + (hi - lo) * Double($0) / Double(n) }
        return (counts, edges, dead)
    }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        let b = DensityHistogram.bin(densities, bins: bins, range: range)
        var h = Histogram(counts: b.counts, edges: b.edges, title: title, logScale: logScale)
        let total = densities.filter { !$0.isNaN }.count
        let pct = total > 0 ? Double(b.dead) / Double(total) * 100 : 0
        h.info = "\(zeroLabel) \(NumberFormat.count(b.dead)) (\(NumberFormat.fixed(pct, decimals: 1))%)"
        h.extraBars = [Histogram.ExtraBar(label: zeroLabel, count: Double(b.dead))]
        h.edgeFormat = { v in
            let r = v.rounded()
            return abs(v - r) < 1e-9 ? String(Int(r)) : NumberFormat.compact(v)
        }
        // Label whole decades.
        if let lo = b.edges.first, let hi = b.edges.last {
            h.xTicks = Array(stride(from: ceil(lo), through: floor(hi), by: 1))
        }
        h.draw(into: &buffer, rect: rect)
    }
}
