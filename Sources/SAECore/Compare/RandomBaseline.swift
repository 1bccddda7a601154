import Foundation

/// compare's chance reference: the same statistics for dictionary A matched against a random
/// dictionary of B's shape (F_B rows in D dimensions, each a seeded Gaussian vector normalised to
/// unit length). A mean best cosine of 0.3 means nothing until it is set beside this: random
/// directions already reach about 0.31 at 4000 atoms in 128 dimensions.
///
/// It costs a second matching of A against F_B rows (the same blocked GEMM, the same assignment
/// rule), so compare takes about twice as long, and 4·D·F_B bytes more (64 MiB at 32768 × 512).
public struct RandomBaseline: Sendable, Equatable {
    public static let defaultSeed: UInt64 = 0x5EED_BA5E

    public var seed: UInt64
    /// Rows of the random dictionary (B's feature count).
    public var featureCount: Int
    /// A's features against the random rows, and the random rows against A's features.
    public var summaryAToRandom: MatchSummary
    public var summaryRandomToA: MatchSummary
    public var assignmentMethod: FeatureAssignment.Method
    public var assignmentPairs: Int
    public var assignmentMeanCosine: Double
    public var seconds: Double

    /// `count` unit rows in `dimension` dimensions: row j holds standard normals from
    /// `SplitMix64(seed ^ j·golden)` (so rows are independent of how the work is split), scaled to
    /// unit length in Float64 in place (no second copy of the rows).
    public static func decoderRows(count: Int, dimension d: Int, seed: UInt64) -> [Float] {
        var rows = [Float](repeating: 0, count: count * d)
        rows.withUnsafeMutableBufferPointer { buffer in
            let box = UncheckedSendable(buffer.baseAddress!)
            let blocks = max(1, min(count, 4 * ProcessInfo.activeCores))
            parallelFor(blocks) { b in
                for j in (b * count / blocks)..<((b + 1) * count / blocks) {
                    var rng = SplitMix64(seed: seed ^ (UInt64(j) &* 0x9E37_79B9_7F4A_7C15))
                    let row = box.value + j * d
                    var sum = 0.0
                    for i in 0..<d {
                        row[i] = rng.nextNormal()
                        sum += Double(row[i]) * Double(row[i])
                    }
                    let scale = sum > 0 ? 1 / sum.squareRoot() : 0
                    for i in 0..<d { row[i] = Float(Double(row[i]) * scale) }
                }
            }
        }
        return rows
    }

    /// A (already normalised) against a random dictionary of `countB` rows, with `options`'
    /// depth, thresholds, histogram and assignment rule.
    static func compute(normalizedA: [Float], countA: Int, countB: Int, dimension d: Int, options: CompareOptions, seed: UInt64,
                        progress: DecoderMatcher.Progress?, isCancelled: () -> Bool) throws -> RandomBaseline {
        let started = DispatchTime.now().uptimeNanoseconds
        let random = decoderRows(count: countB, dimension: d, seed: seed)
        let depth = max(options.top, options.candidateDepth)
        let matching = try DecoderMatcher.match(normalizedA: normalizedA, countA: countA, normalizedB: random, countB: countB, dimension: d,
                                                depth: depth, rowBlock: options.rowBlock, columnBlock: options.columnBlock,
                                                progress: progress, isCancelled: isCancelled)
        let assignment: FeatureAssignment
        if countA * countB <= options.exactAssignmentLimit {
            assignment = DictionaryComparison.optimalAssignment(normalizedA: normalizedA, normalizedB: random, countA: countA, countB: countB, dimension: d)
        } else {
            assignment = try DictionaryComparison.greedyAssignment(matching, normalizedA: normalizedA, normalizedB: random, dimension: d,
                                                                  depth: depth, exactLimit: options.exactAssignmentLimit,
                                                                  rowBlock: options.rowBlock, columnBlock: options.columnBlock, isCancelled: isCancelled)
        }
        return RandomBaseline(seed: seed, featureCount: countB,
                              summaryAToRandom: MatchSummary(matches: matching.aToB, options: options),
                              summaryRandomToA: MatchSummary(matches: matching.bToA, options: options),
                              assignmentMethod: assignment.method, assignmentPairs: assignment.pairs.count,
                              assignmentMeanCosine: assignment.meanCosine,
                              seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }
}
