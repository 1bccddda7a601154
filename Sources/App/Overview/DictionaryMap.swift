import Foundation
import SAECore
import Widgets

/// The per-feature figure the dictionary map plots against log10 density (`f` cycles it).
public enum MapFigure: String, CaseIterable, Sendable {
    case maxActivation, encoderDecoderCosine, maxDecoderCosine

    public var label: String {
        switch self {
        case .maxActivation: return "max activation"
        case .encoderDecoderCosine: return "encoder-decoder cosine"
        case .maxDecoderCosine: return "max decoder cosine"
        }
    }

    /// Whether the figure comes from the weight cosines (a background job) rather than the index.
    public var needsWeights: Bool { self != .maxActivation }

    /// The figure per feature, or nil while the weight cosines it needs are not computed yet.
    func values(index: FeatureIndex, weights: WeightMetrics?) -> [Double]? {
        switch self {
        case .maxActivation: return (0..<index.featureCount).map { Double(index.maxActivation($0)) }
        case .encoderDecoderCosine: return weights.map { $0.encoderDecoderCosine.map(Double.init) }
        case .maxDecoderCosine: return weights.map { $0.maxDecoderCosine.map(Double.init) }
        }
    }
}

/// The overview's panes: the metrics table and the dictionary map (Tab moves between them).
public enum OverviewPane: String, CaseIterable, Sendable {
    case metrics, map
}

/// The overview's state beyond the metrics cursor: the focused pane, the map's figure and cursor,
/// and the dictionary's weight cosines (the map's two cosine figures and the core metrics' three
/// cosine rows), computed once per session in the background.
public struct OverviewState {
    public var pane: OverviewPane = .metrics
    public var figure: MapFigure = .maxActivation
    /// The feature under the map's cursor (nil: not placed yet; it starts on the largest figure).
    public var mapFeature: Int?
    public var weights: WeightMetrics?
    public var weightsJob: JobCenter.ID?
}

/// The map's features in plot coordinates, and the cursor's moves between them.
public struct DictionaryMapPoints {
    public let points: [FeatureMapPoint]

    /// Every feature of `index` (its log10 density, nil when it never fired) against `figure`.
    public init(index: FeatureIndex, figure: [Double]) {
        points = (0..<index.featureCount).map { j in
            let density = index.density(j)
            return FeatureMapPoint(logDensity: density > 0 ? log10(density) : nil, figure: figure[j])
        }
    }

    public init(points: [FeatureMapPoint]) { self.points = points }

    public enum Direction: Sendable { case left, right, up, down }

    /// Where feature `i` sits with both axes scaled to [0, 1] (up is +y); dead features sit right
    /// of the plot, spread as the map's strip spreads them, so the cursor reaches them too.
    func position(_ i: Int, ranges: (x: ClosedRange<Double>, y: ClosedRange<Double>)) -> (x: Double, y: Double)? {
        let p = points[i]
        guard p.figure.isFinite else { return nil }
        let y = (p.figure - ranges.y.lowerBound) / (ranges.y.upperBound - ranges.y.lowerBound)
        guard let d = p.logDensity else { return (1.05 + 0.1 * Double(i % 8) / 8, y) }
        guard d.isFinite else { return nil }
        return ((d - ranges.x.lowerBound) / (ranges.x.upperBound - ranges.x.lowerBound), y)
    }

    /// The feature with the largest figure (ties to the lower id): where the cursor starts.
    public var largest: Int? {
        points.indices.filter { points[$0].figure.isFinite }.max { (points[$0].figure, -$0) < (points[$1].figure, -$1) }
    }

    /// The nearest feature from `i` in `direction`: among those strictly that way, the closest
    /// within 45 degrees of it (Euclidean, in the scaled plot), else the one with the smallest
    /// distance along it plus twice the distance across; ties to the lower id. Nil when none.
    public func nearest(from i: Int, _ direction: Direction) -> Int? {
        let ranges = FeatureMap.ranges(points)
        guard let here = position(i, ranges: ranges) else { return largest }
        var bestInCone: (Double, Int)?, bestOutside: (Double, Int)?
        for j in points.indices where j != i {
            guard let there = position(j, ranges: ranges) else { continue }
            let dx = there.x - here.x, dy = there.y - here.y
            let (along, across): (Double, Double)
            switch direction {
            case .right: (along, across) = (dx, dy)
            case .left: (along, across) = (-dx, dy)
            case .up: (along, across) = (dy, dx)
            case .down: (along, across) = (-dy, dx)
            }
            guard along > 0 else { continue }
            if abs(across) <= along {
                let distance = (along * along + across * across).squareRoot()
                if bestInCone.map({ distance < $0.0 }) ?? true { bestInCone = (distance, j) }
            } else {
                let cost = along + 2 * abs(across)
                if bestOutside.map({ cost < $0.0 }) ?? true { bestOutside = (cost, j) }
            }
        }
        return (bestInCone ?? bestOutside)?.1
    }
}
