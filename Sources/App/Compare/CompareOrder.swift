import SAECore

/// The orders `s` cycles through on the compare screen: A's features by how well B matches them.
public enum CompareOrder: String, CaseIterable, Sendable {
    case best, worst, unmatched, id

    /// Below this best-match cosine a feature counts as unmatched (the CLI's lowest default threshold).
    public static let unmatchedBelow: Float = 0.5

    public var label: String {
        switch self {
        case .best: return "best first"
        case .worst: return "worst first"
        case .unmatched: return "unmatched <0.5"
        case .id: return "by id"
        }
    }

    public var next: CompareOrder {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    /// A's features in this order, from their best-match cosines in B. Ties go to the lower id;
    /// unmatched features are listed worst first, since the worst are the ones to look at. The
    /// rankings (every order but by id) leave out `excluding` (dead features, which would
    /// otherwise fill the worst first list).
    public func rows(_ aToB: FeatureMatches, excluding: (Int) -> Bool = { _ in false }) -> [Int] {
        let ids = self == .id ? Array(0..<aToB.featureCount) : (0..<aToB.featureCount).filter { !excluding($0) }
        let best = aToB.bestCosines
        switch self {
        case .id:
            return ids
        case .best:
            return ids.sorted { best[$0] != best[$1] ? best[$0] > best[$1] : $0 < $1 }
        case .worst:
            return ids.sorted { best[$0] != best[$1] ? best[$0] < best[$1] : $0 < $1 }
        case .unmatched:
            return ids.filter { best[$0] < Self.unmatchedBelow }.sorted { best[$0] != best[$1] ? best[$0] < best[$1] : $0 < $1 }
        }
    }
}
