import SAECore

/// A second dictionary (B) compared with the one being browsed (A): B itself over A's cache and
/// tokenizer, B's index, the decoder matching of A against B, and where the compare screen's
/// cursor is. Owned by the model; the jobs that fill it in report through `startJob` handlers.
public struct ComparisonState {
    /// B, sharing A's cache and tokenizer (so exemplars of both read the same tokens).
    public let other: DictionarySession
    /// B's index over A's cache (partial while its progressive build runs).
    public var index: FeatureIndex?
    public var partial: (done: Int, of: Int)?
    public var indexJob: JobCenter.ID?
    /// The settings of B's launch file (`other.indexPath`); other settings go to variants.
    public var launchIndexOptions = FeatureIndexOptions()
    /// B's complete index from before the running rebuild: put back if A's re-index is cancelled.
    var indexBeforeRebuild: FeatureIndex?
    /// Why B's index must be built, until its job is started (with the compare screen).
    public var pendingIndexBuild: String?
    /// The matching and one-to-one assignment, once the compare job is done.
    public var result: DictionaryComparison? {
        didSet { assignedPair = Self.pairLookup(result) }
    }
    public var compareJob: JobCenter.ID?
    /// B's weight cosines (its SAEBench cosine metrics), from a background job.
    public var weights: WeightMetrics?
    public var weightsJob: JobCenter.ID?
    public var view = CompareViewState()
    /// For each feature of A, the position of its pair in `result.assignment.pairs` (-1: none).
    public private(set) var assignedPair: [Int] = []
    /// Top-exemplar agreement of the assigned pairs, once both indexes are complete, and which
    /// pair of indexes it was computed from (see `ComparisonState.agreementKey`).
    var agreement: ActivationAgreement?
    var agreementKey: String?

    public init(other: DictionarySession) {
        self.other = other
    }

    /// A row of the right pane: one of B's best matches for an A feature, or A's assigned partner
    /// when it is not among them.
    public struct MatchRow: Equatable, Sendable {
        public var feature: Int
        public var cosine: Float
        public var assigned: Bool
        /// 1-based rank among the best matches; nil for an assigned partner further down.
        public var rank: Int?
    }

    /// B's best `top` matches of A's feature `j`, then its one-to-one partner if not among them.
    public func matchRows(for j: Int) -> [MatchRow] {
        guard let result, j >= 0, j < result.matching.aToB.featureCount else { return [] }
        let partner = assignment(of: j)
        var rows = result.matching.aToB.matches(j, limit: result.options.top).enumerated().map { n, match in
            MatchRow(feature: match.feature, cosine: match.cosine, assigned: match.feature == partner?.b, rank: n + 1)
        }
        if let partner, !rows.contains(where: { $0.assigned }) {
            rows.append(MatchRow(feature: partner.b, cosine: partner.cosine, assigned: true, rank: nil))
        }
        return rows
    }

    /// A's feature `j`'s partner in the one-to-one assignment (none for the larger side's leftovers).
    public func assignment(of j: Int) -> FeatureAssignment.Pair? {
        guard let result, j >= 0, j < assignedPair.count, assignedPair[j] >= 0 else { return nil }
        return result.assignment.pairs[assignedPair[j]]
    }

    /// Jaccard overlap of the top-exemplar rows of `j` and its assigned partner, when known.
    public func agreement(of j: Int) -> Double? {
        guard let agreement, j >= 0, j < assignedPair.count, assignedPair[j] >= 0 else { return nil }
        return agreement.perPair[assignedPair[j]]
    }

    private static func pairLookup(_ result: DictionaryComparison?) -> [Int] {
        guard let result else { return [] }
        var lookup = [Int](repeating: -1, count: result.a.featureCount)
        for (position, pair) in result.assignment.pairs.enumerated() { lookup[pair.a] = position }
        return lookup
    }
}
