/// Per feature, the tokens on which it fires and the sequences in which it fires at least once,
/// for SAEBench's `consistent_activation_heuristic` (tokens / sequences; `evals/core/main.py`
/// counts f > 0). Rows must arrive in cache order, so a sequence's rows are consecutive.
public struct FeatureSequenceCounter: Sendable {
    public let featureCount: Int
    /// A code counts when it is > 0 and at least `minimum` (the index's --min-act).
    public let minimum: Float
    public private(set) var tokens: [Int64]
    public private(set) var sequences: [Int64]
    private var lastSequence: [Int]

    public init(featureCount: Int, minimum: Float = 0) {
        self.featureCount = featureCount
        self.minimum = minimum
        tokens = [Int64](repeating: 0, count: featureCount)
        sequences = [Int64](repeating: 0, count: featureCount)
        lastSequence = [Int](repeating: -1, count: featureCount)
    }

    /// Restored from an index file (no further rows can be added).
    public init(tokens: [Int64], sequences: [Int64]) {
        featureCount = tokens.count
        minimum = 0
        self.tokens = tokens
        self.sequences = sequences
        lastSequence = []
    }

    /// Adds `rows` rows of nonzero codes; `sequence(r)` identifies row r's sequence (any key
    /// that differs between sequences, e.g. its first row).
    public mutating func add(_ codes: SparseCodeRows, rows: Int, sequence: (Int) -> Int) {
        for r in 0..<rows {
            let key = sequence(r)
            for e in codes.rowStart[r]..<codes.rowStart[r + 1] {
                let value = codes.values[e]
                guard value > 0, value >= minimum else { continue }
                let j = Int(codes.features[e])
                tokens[j] += 1
                if lastSequence[j] != key {
                    lastSequence[j] = key
                    sequences[j] += 1
                }
            }
        }
    }

    /// Folds in counts of disjoint whole sequences (another shard).
    public mutating func merge(_ other: FeatureSequenceCounter) {
        for j in 0..<featureCount {
            tokens[j] += other.tokens[j]
            sequences[j] += other.sequences[j]
        }
    }

    /// tokens / sequences per feature; NaN for a feature that never fired (0 / 0, as SAEBench,
    /// whose file writer turns NaN into -1).
    public var consistentActivationHeuristic: [Double] {
        (0..<featureCount).map { sequences[$0] > 0 ? Double(tokens[$0]) / Double(sequences[$0]) : .nan }
    }
}
