/// Streams an activation cache through a dictionary and returns its metrics.
/// Rows holding NaN or infinity are counted and left out. Memory: one chunk of `[rows, F]` codes.
public enum DictionaryEvaluator {
    /// Progress as (tokens done, tokens to do).
    public typealias Progress = (Int, Int) -> Void

    public static func evaluate(
        _ sae: SparseAutoencoder, cache: ActivationCache, maxTokens: Int? = nil,
        progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> DictionaryMetrics {
        try accumulate(sae, cache: cache, maxTokens: maxTokens, progress: progress, isCancelled: isCancelled).result()
    }

    /// The same pass, returning the accumulator itself (for figures beyond `DictionaryMetrics`:
    /// per-feature fire counts, the projection scale).
    public static func accumulate(
        _ sae: SparseAutoencoder, cache: ActivationCache, maxTokens: Int? = nil,
        progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> MetricsAccumulator {
        try run(sae, cache: cache, maxTokens: maxTokens, options: Options(), progress: progress, isCancelled: isCancelled).metrics
    }

    /// What a pass computes besides `DictionaryMetrics`.
    public struct Options: Sendable {
        /// Rows holding these token ids are left out of everything (`--exclude-special`).
        public var exclusion: SpecialTokenExclusion?
        /// Per-position metrics (`--by-position`).
        public var byPosition = false
        public init(exclusion: SpecialTokenExclusion? = nil, byPosition: Bool = false) {
            self.exclusion = exclusion
            self.byPosition = byPosition
        }
    }

    /// One pass's results.
    public struct Pass: Sendable {
        public var metrics: MetricsAccumulator
        /// Per feature, tokens fired and sequences fired in (consistent_activation_heuristic).
        public var sequences: FeatureSequenceCounter
        /// Per position from 0 (nil unless asked).
        public var positions: PositionMetrics?
        public var coverage: RowCoverage
    }

    /// The pass with options: excluded rows are dropped like non-finite ones (but counted
    /// apart), and every kept row's position in its sequence is known.
    public static func run(
        _ sae: SparseAutoencoder, cache: ActivationCache, maxTokens: Int? = nil, options: Options,
        progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> Pass {
        try requireMatchingDimensions(sae, cache)
        let total = min(cache.rowCount, max(0, maxTokens ?? cache.rowCount))
        let d = sae.inputDimension
        if options.byPosition {
            // Per-position explained variance keeps 2 x D Float64 per position: bounded.
            let longest = zip(cache.sequenceOffsets, cache.sequenceOffsets.dropFirst()).map { min($1, total) - min($0, total) }.max() ?? 0
            guard longest * d <= PositionMetrics.maximumCells else {
                throw SaescopeError("--by-position keeps per-position moments, but the longest sequence has \(longest) rows of D=\(d) (at most \(PositionMetrics.maximumCells / max(d, 1)) positions): does the cache lack seq_offsets?", file: cache.path)
            }
        }
        let chunkRows = SAEEncoder.suggestedChunkRows(featureCount: sae.featureCount)
        let encoder = SAEEncoder(sae: sae, maxRows: chunkRows)
        var accumulator = MetricsAccumulator(inputDimension: d, featureCount: sae.featureCount)
        var sequences = FeatureSequenceCounter(featureCount: sae.featureCount)
        var positions = options.byPosition ? PositionMetrics(bucketed: false, dimension: d) : nil
        var excluded = 0
        var chunk = [Float](repeating: 0, count: chunkRows * d)
        // Per kept row of the chunk: its sequence and its position in it.
        var keptSequence = [Int](repeating: 0, count: chunkRows), keptPosition = [Int](repeating: 0, count: chunkRows)
        var sequence = 0
        var start = 0
        while start < total {
            if isCancelled() { throw SaescopeError("cancelled") }
            let rows = min(chunkRows, total - start)
            var kept = 0, nonFinite = 0
            chunk.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                cache.readRows(start..<start + rows, into: base)
                for r in 0..<rows {
                    let row = start + r
                    while cache.sequenceOffsets[sequence + 1] <= row { sequence += 1 }
                    if let exclusion = options.exclusion, exclusion.excludes(cache.token(atRow: row)) { excluded += 1; continue }
                    let source = base + r * d
                    guard (0..<d).allSatisfy({ source[$0].isFinite }) else { nonFinite += 1; continue }
                    if kept != r { (base + kept * d).update(from: source, count: d) }
                    keptSequence[kept] = sequence
                    keptPosition[kept] = row - cache.sequenceOffsets[sequence]
                    kept += 1
                }
            }
            accumulator.recordSkipped(nonFinite)
            chunk.withUnsafeBufferPointer { x in
                encoder.run(x.baseAddress!, rows: kept, reconstruct: true)
                guard kept > 0 else { return }
                encoder.withActiveCodes(fromRow: 0) { active in
                    accumulator.add(x: x.baseAddress!, reconstruction: encoder.reconstruction.baseAddress!, activeCodes: active, rows: kept)
                    sequences.add(active, rows: kept) { keptSequence[$0] }
                    guard positions != nil else { return }
                    for r in 0..<kept {
                        positions!.add(position: keptPosition[r], x: x.baseAddress! + r * d,
                                       reconstruction: encoder.reconstruction.baseAddress! + r * d,
                                       activeCount: active.rowStart[r + 1] - active.rowStart[r])
                    }
                }
            }
            start += rows
            progress?(start, total)
        }
        guard accumulator.tokenCount > 0 else {
            if excluded > 0 { throw SaescopeError("every evaluated row holds a special token id (\(options.exclusion?.idList ?? "")): nothing left with --exclude-special", file: cache.path) }
            throw SaescopeError(total == 0 ? "no tokens to evaluate" : "all \(total) evaluated rows hold NaN or infinity", file: cache.path)
        }
        let coverage = RowCoverage(evaluated: accumulator.tokenCount, skipped: accumulator.skippedCount,
                                   excluded: options.exclusion == nil ? nil : excluded, excludedIDs: options.exclusion?.idList)
        return Pass(metrics: accumulator, sequences: sequences, positions: positions, coverage: coverage)
    }

    public static func requireMatchingDimensions(_ sae: SparseAutoencoder, _ cache: ActivationCache) throws {
        guard sae.inputDimension == cache.dimension else {
            throw SaescopeError("activations have dimension \(cache.dimension) but the dictionary (\(sae.provenance.weightsPath)) expects \(sae.inputDimension)", file: cache.path)
        }
    }
}
