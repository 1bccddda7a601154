import Foundation

/// What `compare` needs to know besides the two dictionaries.
public struct CompareOptions: Sendable, Equatable {
    /// Best matches reported per feature and direction.
    public var top = 5
    /// Best-match cosine thresholds to count features at or above (A->B and B->A).
    public var thresholds: [Float] = [0.9, 0.7, 0.5]
    /// Bins of the best-match cosine histograms, equal bins over [-1, 1].
    public var histogramBins = 20
    /// The assignment is optimal when F_A · F_B is at most this (the dense cosine matrix,
    /// 4 · F_A · F_B bytes, exists only then); greedy on the candidate lists above it.
    public var exactAssignmentLimit = 4096 * 4096
    /// Candidates per feature and direction for the greedy assignment (at least `top`).
    public var candidateDepth = 10
    public var rowBlock = DecoderMatcher.defaultRowBlock
    public var columnBlock = DecoderMatcher.defaultColumnBlock
    /// Also match A against a seeded random dictionary of B's shape (`RandomBaseline`): the
    /// chance level of every statistic, at the cost of a second matching.
    public var randomBaseline = true
    public var baselineSeed = RandomBaseline.defaultSeed

    public init() {}

    public func validate() throws {
        guard top >= 1 else { throw SaescopeError("--top must be at least 1") }
        guard !thresholds.isEmpty, thresholds.allSatisfy({ $0.isFinite && $0 >= -1 && $0 <= 1 }) else {
            throw SaescopeError("--thresholds must be cosines between -1 and 1, e.g. 0.9,0.7,0.5")
        }
        guard histogramBins >= 1 else { throw SaescopeError("the histogram needs at least one bin") }
        guard candidateDepth >= 1, rowBlock >= 1, columnBlock >= 1, exactAssignmentLimit >= 0 else {
            throw SaescopeError("block sizes and candidate depth must be positive")
        }
    }
}

/// Who a dictionary is, for reports and the JSON export.
public struct DictionaryIdentity: Sendable, Equatable {
    /// The path the user gave, canonical (absolute, symlinks resolved).
    public var path: String
    public var library: String
    public var kind: String
    public var weightsPath: String
    public var configPath: String?
    public var inputDimension: Int
    /// D_out: the width of the decoder rows that are matched (D_in except for transcoders).
    public var outputDimension: Int
    public var featureCount: Int
    /// Reconstructs another site than it reads: its metrics are measured against a cache's targets.
    public var isTranscoder: Bool
    /// Path, size and modification time of the weights file (`FeatureIndexBuilder.fileFingerprint`).
    public var fingerprint: String

    public init(path: String, sae: SparseAutoencoder) {
        self.path = CanonicalPath.of(path)
        library = sae.provenance.library
        kind = sae.provenance.kind
        weightsPath = CanonicalPath.of(sae.provenance.weightsPath)
        configPath = sae.provenance.configPath.map { CanonicalPath.of($0) }
        inputDimension = sae.inputDimension
        outputDimension = sae.outputDimension
        featureCount = sae.featureCount
        isTranscoder = sae.isTranscoder
        fingerprint = FeatureIndexBuilder.fileFingerprint(sae.provenance.weightsPath)
    }

    /// "D=16", or "D_in=16 D_out=12" for a transcoder of two widths (its decoder rows, the ones
    /// matched, are D_out wide), as `SparseAutoencoder.shapeSummary` spells it.
    public var shapeText: String {
        outputDimension == inputDimension ? "D=\(inputDimension)" : "D_in=\(inputDimension) D_out=\(outputDimension)"
    }
}

/// Counts of best-match cosines in equal bins over [lower, upper]; the last bin includes `upper`.
public struct CosineHistogram: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var counts: [Int]

    public init(values: [Float], bins: Int, lower: Double = -1, upper: Double = 1) {
        self.lower = lower
        self.upper = upper
        var counts = [Int](repeating: 0, count: bins)
        for value in values where value.isFinite {
            let position = (Double(value) - lower) / (upper - lower) * Double(bins)
            counts[min(bins - 1, max(0, Int(position.rounded(.down))))] += 1
        }
        self.counts = counts
    }

    /// The bounds of bin `i`.
    public func bin(_ i: Int) -> (lower: Double, upper: Double) {
        let width = (upper - lower) / Double(counts.count)
        return (lower + width * Double(i), lower + width * Double(i + 1))
    }
}

/// One direction's summary: how well each feature of one side is matched by the other.
public struct MatchSummary: Sendable, Equatable {
    public var meanBestCosine: Double
    public var medianBestCosine: Double
    /// For each threshold (in the order given), the features whose best match is at or above it.
    public var thresholdCounts: [(threshold: Float, count: Int)]
    public var histogram: CosineHistogram

    public static func == (l: MatchSummary, r: MatchSummary) -> Bool {
        l.meanBestCosine == r.meanBestCosine && l.medianBestCosine == r.medianBestCosine && l.histogram == r.histogram
            && l.thresholdCounts.map(\.threshold) == r.thresholdCounts.map(\.threshold)
            && l.thresholdCounts.map(\.count) == r.thresholdCounts.map(\.count)
    }

    init(matches: FeatureMatches, options: CompareOptions) {
        let best = matches.bestCosines
        meanBestCosine = best.reduce(0.0) { $0 + Double($1) } / Double(max(best.count, 1))
        let sorted = best.sorted()
        let n = sorted.count
        medianBestCosine = n == 0 ? 0 : (n % 2 == 1 ? Double(sorted[n / 2]) : (Double(sorted[n / 2 - 1]) + Double(sorted[n / 2])) / 2)
        thresholdCounts = options.thresholds.map { t in (t, best.filter { $0 >= t }.count) }
        histogram = CosineHistogram(values: best, bins: options.histogramBins)
    }
}

/// A one-to-one matching between the features of A and B.
public struct FeatureAssignment: Sendable, Equatable {
    public enum Method: String, Sendable {
        /// Maximal total cosine over all one-to-one matchings (Hungarian / Jonker-Volgenant on the dense matrix).
        case optimal
        /// Greedy on the per-feature candidate lists (see `LinearAssignment.greedy`).
        case greedy
    }

    public struct Pair: Sendable, Equatable {
        public var a: Int
        public var b: Int
        public var cosine: Float
    }

    public var method: Method
    /// Sorted by the A feature.
    public var pairs: [Pair]
    public var featureCountA: Int
    public var featureCountB: Int
    /// Greedy rounds (the last may be an optimal assignment of the remainder); 1 for `optimal`.
    public var rounds: Int = 1

    public var meanCosine: Double { pairs.isEmpty ? 0 : pairs.reduce(0.0) { $0 + Double($1.cosine) } / Double(pairs.count) }
    public var unmatchedA: Int { featureCountA - pairs.count }
    public var unmatchedB: Int { featureCountB - pairs.count }

    /// How the method is described to the user.
    public var methodDescription: String {
        switch method {
        case .optimal:
            "optimal (Hungarian / Jonker-Volgenant shortest augmenting paths on the dense cosine matrix)"
        case .greedy:
            "greedy (candidate pairs from every feature's best matches both ways, by cosine descending, each taken when both ends are free; "
                + "features left over are re-matched among themselves the same way, the last remainder optimally; not guaranteed optimal)"
        }
    }
}

/// Top-exemplar overlap of matched pairs, from two indexes over the same cache.
public struct ActivationAgreement: Sendable, Equatable {
    /// For each assignment pair (same order): |rows_a ∩ rows_b| / |rows_a ∪ rows_b| of the two
    /// features' top-exemplar cache rows; nil when neither feature has an exemplar.
    public var perPair: [Double?]
    public var cachePath: String
    public var topKA: Int
    public var topKB: Int
    /// Mean over the pairs that have a value.
    public var mean: Double?
    /// Pairs with a value.
    public var evaluatedPairs: Int
    /// Mean agreement of the evaluated pairs whose cosine is at or above each threshold (nil when none).
    public var meanAboveThreshold: [(threshold: Float, mean: Double?, pairs: Int)]

    public static func == (l: ActivationAgreement, r: ActivationAgreement) -> Bool {
        l.perPair == r.perPair && l.cachePath == r.cachePath && l.topKA == r.topKA && l.topKB == r.topKB && l.mean == r.mean
    }

    /// Agreement of `assignment`'s pairs; the indexes must cover the same rows of the same cache.
    public static func compute(assignment: FeatureAssignment, indexA: FeatureIndex, pathA: String, indexB: FeatureIndex, pathB: String,
                               thresholds: [Float]) throws -> ActivationAgreement {
        guard indexA.featureCount == assignment.featureCountA else {
            throw SaescopeError("the index has \(indexA.featureCount) features but dictionary A has \(assignment.featureCountA)", file: pathA)
        }
        guard indexB.featureCount == assignment.featureCountB else {
            throw SaescopeError("the index has \(indexB.featureCount) features but dictionary B has \(assignment.featureCountB)", file: pathB)
        }
        let pa = indexA.provenance, pb = indexB.provenance
        guard FileFingerprint.same(pa.cacheFingerprint, pb.cacheFingerprint) else {
            throw SaescopeError("the two indexes cover different activation caches (\(pa.cachePath) and \(pb.cachePath)), so their exemplars cannot be compared", file: pathB)
        }
        guard pa.firstRow == pb.firstRow, pa.endRow == pb.endRow else {
            throw SaescopeError("the two indexes cover different rows of the cache (\(pa.firstRow)..<\(pa.endRow) and \(pb.firstRow)..<\(pb.endRow))", file: pathB)
        }
        let ka = indexA.options.topK, kb = indexB.options.topK
        func rows(_ index: FeatureIndex, _ j: Int) -> [Int] { index.topExemplars(j).map(\.row).sorted() }
        let perPair: [Double?] = assignment.pairs.map { pair in
            let x = rows(indexA, pair.a), y = rows(indexB, pair.b)
            guard !x.isEmpty || !y.isEmpty else { return nil }
            var common = 0, i = 0, j = 0
            while i < x.count && j < y.count {
                if x[i] == y[j] { common += 1; i += 1; j += 1 } else if x[i] < y[j] { i += 1 } else { j += 1 }
            }
            return Double(common) / Double(x.count + y.count - common)
        }
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let evaluated = perPair.compactMap { $0 }
        let byThreshold = thresholds.map { t -> (Float, Double?, Int) in
            let values = zip(assignment.pairs, perPair).compactMap { $0.cosine >= t ? $1 : nil }
            return (t, mean(values), values.count)
        }
        return ActivationAgreement(perPair: perPair, cachePath: pa.cachePath, topKA: ka, topKB: kb, mean: mean(evaluated),
                                   evaluatedPairs: evaluated.count, meanAboveThreshold: byThreshold)
    }
}

/// Everything `compare` reports about two dictionaries; the compare screen reads the same struct.
public struct DictionaryComparison: Sendable {
    public var a: DictionaryIdentity
    public var b: DictionaryIdentity
    public var options: CompareOptions
    /// Both directions, `max(top, candidateDepth)` deep (reports cut them to `top`).
    public var matching: DecoderMatching
    public var summaryAToB: MatchSummary
    public var summaryBToA: MatchSummary
    public var assignment: FeatureAssignment
    /// Features whose decoder row is zero or non-finite (cosine 0 with everything).
    public var zeroRowsA: Int
    public var zeroRowsB: Int
    /// Seconds spent in the matching and the assignment.
    public var matchingSeconds: Double
    public var assignmentSeconds: Double
    /// Filled by the caller when an activation cache was given.
    public var metricsA: DictionaryMetrics?
    public var metricsB: DictionaryMetrics?
    /// SAEBench's core metrics of each over the same tokens (with the metrics).
    public var coreA: CoreMetrics?
    public var coreB: CoreMetrics?
    public var metricsCachePath: String?
    /// Filled by `addAgreement` when both dictionaries have an index over the same cache.
    public var agreement: ActivationAgreement?
    /// The same statistics for A against a random dictionary of B's shape (`options.randomBaseline`).
    public var baseline: RandomBaseline?
    /// Things the user should know (e.g. an index that may be stale).
    public var warnings: [String] = []

    /// Different widths cannot be matched: one line naming both paths.
    public static func requireSameDimension(_ a: SparseAutoencoder, pathA: String, _ b: SparseAutoencoder, pathB: String) throws {
        guard a.inputDimension == b.inputDimension, a.outputDimension == b.outputDimension else {
            throw SaescopeError("cannot compare dictionaries of different widths: \(pathA) has \(a.shapeSummary) but \(pathB) has \(b.shapeSummary)")
        }
    }

    /// Matches the decoders both ways and assigns features one to one, then (with
    /// `options.randomBaseline`) A against a random dictionary of B's shape.
    /// Progress as (rows of A matched, rows of A), twice as many rows with the baseline;
    /// `isCancelled` is polled between blocks.
    public static func compute(_ a: SparseAutoencoder, pathA: String, _ b: SparseAutoencoder, pathB: String,
                               options: CompareOptions = CompareOptions(),
                               progress: DecoderMatcher.Progress? = nil, isCancelled: () -> Bool = { false }) throws -> DictionaryComparison {
        try options.validate()
        try requireSameDimension(a, pathA: pathA, b, pathB: pathB)
        let d = a.outputDimension, fa = a.featureCount, fb = b.featureCount  // decoder rows: D_out wide
        let started = DispatchTime.now().uptimeNanoseconds
        let normalizedA = DecoderMatcher.normalizedRows(a.decoderWeights, count: fa, dimension: d)
        let normalizedB = DecoderMatcher.normalizedRows(b.decoderWeights, count: fb, dimension: d)
        let passes = options.randomBaseline ? 2 : 1
        let matching = try DecoderMatcher.match(normalizedA: normalizedA, countA: fa, normalizedB: normalizedB, countB: fb, dimension: d,
                                                depth: max(options.top, options.candidateDepth),
                                                rowBlock: options.rowBlock, columnBlock: options.columnBlock,
                                                progress: progress.map { report in { done, total in report(done, passes * total) } },
                                                isCancelled: isCancelled)
        let matched = DispatchTime.now().uptimeNanoseconds
        let assignment: FeatureAssignment
        if fa * fb <= options.exactAssignmentLimit {
            assignment = optimalAssignment(normalizedA: normalizedA, normalizedB: normalizedB, countA: fa, countB: fb, dimension: d)
        } else {
            assignment = try greedyAssignment(matching, normalizedA: normalizedA, normalizedB: normalizedB, dimension: d,
                                          depth: max(options.top, options.candidateDepth), exactLimit: options.exactAssignmentLimit,
                                          rowBlock: options.rowBlock, columnBlock: options.columnBlock, isCancelled: isCancelled)
        }
        let assigned = DispatchTime.now().uptimeNanoseconds
        let baseline = try options.randomBaseline ? RandomBaseline.compute(
            normalizedA: normalizedA, countA: fa, countB: fb, dimension: d, options: options, seed: options.baselineSeed,
            progress: progress.map { report in { done, total in report(total + done, 2 * total) } }, isCancelled: isCancelled) : nil
        return DictionaryComparison(
            a: DictionaryIdentity(path: pathA, sae: a), b: DictionaryIdentity(path: pathB, sae: b), options: options,
            matching: matching,
            summaryAToB: MatchSummary(matches: matching.aToB, options: options),
            summaryBToA: MatchSummary(matches: matching.bToA, options: options),
            assignment: assignment,
            zeroRowsA: DecoderMatcher.zeroRowCount(normalizedA, count: fa, dimension: d),
            zeroRowsB: DecoderMatcher.zeroRowCount(normalizedB, count: fb, dimension: d),
            matchingSeconds: Double(matched - started) / 1e9, assignmentSeconds: Double(assigned - matched) / 1e9, baseline: baseline)
    }

    /// The optimal assignment on the dense cosine matrix, oriented so the smaller side is the rows.
    static func optimalAssignment(normalizedA: [Float], normalizedB: [Float], countA: Int, countB: Int, dimension d: Int) -> FeatureAssignment {
        var pairs: [FeatureAssignment.Pair] = []
        if countA <= countB {
            let cosines = DecoderMatcher.denseCosines(normalizedA: normalizedA, countA: countA, normalizedB: normalizedB, countB: countB, dimension: d)
            let columns = cosines.withUnsafeBufferPointer { LinearAssignment.optimalWideRows($0.baseAddress!, rows: countA, columns: countB) }
            for (i, j) in columns.enumerated() where j >= 0 { pairs.append(.init(a: i, b: j, cosine: cosines[i * countB + j])) }
        } else {
            let cosines = DecoderMatcher.denseCosines(normalizedA: normalizedB, countA: countB, normalizedB: normalizedA, countB: countA, dimension: d)
            let columns = cosines.withUnsafeBufferPointer { LinearAssignment.optimalWideRows($0.baseAddress!, rows: countB, columns: countA) }
            for (j, i) in columns.enumerated() where i >= 0 { pairs.append(.init(a: i, b: j, cosine: cosines[j * countA + i])) }
            pairs.sort { $0.a < $1.a }
        }
        return FeatureAssignment(method: .optimal, pairs: pairs, featureCountA: countA, featureCountB: countB)
    }

    /// Greedy on the union of both directions' candidate lists, in rounds: the features a round
    /// leaves unmatched (all their candidates were taken) are matched again among themselves with
    /// fresh candidate lists, and once the remainder fits `exactLimit` it is assigned optimally.
    /// So every feature of the smaller side ends up matched.
    static func greedyAssignment(_ matching: DecoderMatching, normalizedA: [Float], normalizedB: [Float], dimension d: Int,
                                 depth: Int, exactLimit: Int, rowBlock: Int, columnBlock: Int,
                                 isCancelled: () -> Bool = { false }) throws -> FeatureAssignment {
        let countA = matching.aToB.featureCount, countB = matching.bToA.featureCount
        var pairs = greedyPairs(matching)
        var rounds = 1
        while pairs.count < min(countA, countB) {
            var takenA = [Bool](repeating: false, count: countA), takenB = [Bool](repeating: false, count: countB)
            for pair in pairs { takenA[pair.a] = true; takenB[pair.b] = true }
            let leftA = (0..<countA).filter { !takenA[$0] }, leftB = (0..<countB).filter { !takenB[$0] }
            let subA = gatherRows(normalizedA, leftA, d), subB = gatherRows(normalizedB, leftB, d)
            let more: [FeatureAssignment.Pair]
            if leftA.count * leftB.count <= exactLimit {
                more = optimalAssignment(normalizedA: subA, normalizedB: subB, countA: leftA.count, countB: leftB.count, dimension: d).pairs
            } else {
                let sub = try DecoderMatcher.match(normalizedA: subA, countA: leftA.count, normalizedB: subB, countB: leftB.count, dimension: d,
                                                   depth: depth, rowBlock: rowBlock, columnBlock: columnBlock, isCancelled: isCancelled)
                more = greedyPairs(sub)
            }
            pairs += more.map { FeatureAssignment.Pair(a: leftA[$0.a], b: leftB[$0.b], cosine: $0.cosine) }
            rounds += 1
        }
        pairs.sort { $0.a < $1.a }
        return FeatureAssignment(method: .greedy, pairs: pairs, featureCountA: countA, featureCountB: countB, rounds: rounds)
    }

    private static func gatherRows(_ rows: [Float], _ selection: [Int], _ d: Int) -> [Float] {
        var result = [Float]()
        result.reserveCapacity(selection.count * d)
        for j in selection { result.append(contentsOf: rows[j * d..<(j + 1) * d]) }
        return result
    }

    /// One greedy round on both directions' candidate lists.
    static func greedyPairs(_ matching: DecoderMatching) -> [FeatureAssignment.Pair] {
        let ab = matching.aToB, ba = matching.bToA
        var candidates: [LinearAssignment.Candidate] = []
        candidates.reserveCapacity(ab.indices.count + ba.indices.count)
        for a in 0..<ab.featureCount {
            for slot in 0..<ab.depth {
                candidates.append(.init(row: Int32(a), column: ab.indices[a * ab.depth + slot], score: ab.cosines[a * ab.depth + slot]))
            }
        }
        for b in 0..<ba.featureCount {
            for slot in 0..<ba.depth {
                candidates.append(.init(row: ba.indices[b * ba.depth + slot], column: Int32(b), score: ba.cosines[b * ba.depth + slot]))
            }
        }
        let rowToColumn = LinearAssignment.greedy(candidates: candidates, rows: ab.featureCount, columns: ba.featureCount)
        // A taken pair's cosine is its candidate's (both lists read it from the same product).
        var cosine = [Float](repeating: .nan, count: ab.featureCount)
        for candidate in candidates where rowToColumn[Int(candidate.row)] == Int(candidate.column) {
            cosine[Int(candidate.row)] = candidate.score
        }
        return rowToColumn.enumerated().compactMap { a, b in b >= 0 ? FeatureAssignment.Pair(a: a, b: b, cosine: cosine[a]) : nil }
    }

    /// Adds activation agreement from two indexes (stale indexes are kept, with a warning).
    public mutating func addAgreement(indexA: FeatureIndex, pathA: String, indexB: FeatureIndex, pathB: String) throws {
        agreement = try ActivationAgreement.compute(assignment: assignment, indexA: indexA, pathA: pathA, indexB: indexB, pathB: pathB,
                                                    thresholds: options.thresholds)
        for (index, identity, path) in [(indexA, a, pathA), (indexB, b, pathB)] where !FileFingerprint.same(index.provenance.saeFingerprint, identity.fingerprint) {
            warnings.append("\(path) was built from \(index.provenance.saePath), whose weights differ from \(identity.weightsPath) (or changed since): agreement may be stale")
        }
    }
}
