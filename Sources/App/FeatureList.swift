import SAECore

/// Columns the feature list sorts by.
public enum FeatureSortKey: String, CaseIterable, Sendable {
    case id, density, max, mean, token

    /// Ascending first for ids and token text, descending first for the statistics.
    var defaultAscending: Bool { self == .id || self == .token }
}

/// Which features the list shows.
public struct FeatureFilter: Equatable, Sendable {
    public enum Liveness: String, CaseIterable, Sendable { case all, alive, dead }
    public var liveness: Liveness = .all
    /// Inclusive density range; nil: unbounded.
    public var minDensity: Double?
    public var maxDensity: Double?
    /// Only marked features.
    public var markedOnly = false
    /// Only features with this review status / this tag (`:status`, `:tag`).
    public var status: LabelStatus?
    public var tag: String?

    public init() {}

    public var summary: String {
        var parts: [String] = []
        if liveness != .all { parts.append(liveness.rawValue) }
        if minDensity != nil || maxDensity != nil {
            parts.append("density \(minDensity.map { formatDensity($0) } ?? "0")..\(maxDensity.map { formatDensity($0) } ?? "1")")
        }
        if markedOnly { parts.append("marked") }
        if let status { parts.append(status.rawValue) }
        if let tag { parts.append("#" + tag) }
        return parts.isEmpty ? "all" : parts.joined(separator: ", ")
    }

    func accepts(_ j: Int, index: FeatureIndex, marks: Set<Int>, labels: LabelBook) -> Bool {
        if markedOnly, !marks.contains(j) { return false }
        if let status, (labels[j]?.status ?? .unreviewed) != status { return false }
        if let tag, !(labels[j]?.tags.contains(tag) ?? false) { return false }
        let dead = index.isDead(j)
        switch liveness {
        case .all: break
        case .alive: if dead { return false }
        case .dead: if !dead { return false }
        }
        let density = index.density(j)
        if let minDensity, density < minDensity { return false }
        if let maxDensity, density > maxDensity { return false }
        return true
    }
}

func formatDensity(_ d: Double) -> String {
    if d == 0 { return "0" }
    if d >= 0.01 { return String(format: "%.3f", d) }
    return String(format: "%.1e", d)
}

/// The rows of the feature list: the ids that pass the filter, in sort order.
public enum FeatureListBuilder {
    public static func rows(index: FeatureIndex, session: DictionarySession, filter: FeatureFilter, marks: Set<Int>,
                            labels: LabelBook = LabelBook(), sort: FeatureSortKey, ascending: Bool) -> [Int] {
        var ids = (0..<index.featureCount).filter { filter.accepts($0, index: index, marks: marks, labels: labels) }
        switch sort {
        case .id:
            break
        case .density:
            ids.sort { orderedByValue(index.density($0), index.density($1), $0, $1, ascending) }
            return ids
        case .max:
            ids.sort { orderedByValue(Double(index.maxActivation($0)), Double(index.maxActivation($1)), $0, $1, ascending) }
            return ids
        case .mean:
            ids.sort { orderedByValue(index.meanActivation($0), index.meanActivation($1), $0, $1, ascending) }
            return ids
        case .token:
            // Features without exemplars sort last either way.
            let text: [Int: String] = Dictionary(uniqueKeysWithValues: ids.map { j in
                (j, index.topExemplarCount(j) > 0 ? session.tokenText(index.topActivatingToken(j, rank: 0)).lowercased() : "\u{10FFFF}")
            })
            ids.sort { a, b in
                let ta = text[a]!, tb = text[b]!
                if ta != tb { return ascending ? ta < tb : ta > tb }
                return a < b
            }
            return ids
        }
        return ascending ? ids : ids.reversed()
    }

    /// Ties keep id order in both directions, so the list is stable under a sort flip.
    private static func orderedByValue(_ a: Double, _ b: Double, _ ia: Int, _ ib: Int, _ ascending: Bool) -> Bool {
        if a != b { return ascending ? a < b : a > b }
        return ia < ib
    }
}
