import CKernels

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
        /// The encode path the pass took, and what its screen did (both encoders' chunks).
        public var encodePath: EncodePath
        public var screened: ScreenedEncodeStatistics
    }

    /// The pass with options: excluded rows are dropped like non-finite ones (but counted
    /// apart), and every kept row's position in its sequence is known. A transcoder's
    /// reconstruction is measured against the cache's `targets` (the same rows), not its input.
    public static func run(
        _ sae: SparseAutoencoder, cache: ActivationCache, maxTokens: Int? = nil, options: Options,
        progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> Pass {
        try run(sae, cache: cache, maxTokens: maxTokens, options: options, chunkRows: nil, progress: progress, isCancelled: isCancelled)
    }

    /// The pass in chunks of `chunkRows` rows (default: the encoder's suggestion; tests use small ones).
    static func run(
        _ sae: SparseAutoencoder, cache: ActivationCache, maxTokens: Int? = nil, options: Options, chunkRows requestedChunkRows: Int?,
        progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> Pass {
        try requireMatchingDimensions(sae, cache)
        let usesTargets = try requireReference(sae, cache)
        let total = min(cache.rowCount, max(0, maxTokens ?? cache.rowCount))
        let dIn = sae.inputDimension, dOut = sae.outputDimension
        if options.byPosition {
            // Per-position explained variance keeps 2 x D Float64 per position: bounded.
            let longest = zip(cache.sequenceOffsets, cache.sequenceOffsets.dropFirst()).map { min($1, total) - min($0, total) }.max() ?? 0
            guard longest * dOut <= PositionMetrics.maximumCells else {
                throw SaescopeError("--by-position keeps per-position moments, but the longest sequence has \(longest) rows of D=\(dOut) (at most \(PositionMetrics.maximumCells / max(dOut, 1)) positions): does the cache lack seq_offsets?", file: cache.path)
            }
        }
        let chunkRows = max(1, requestedChunkRows ?? SAEEncoder.suggestedChunkRows(featureCount: sae.featureCount))
        let chunkCount = (total + chunkRows - 1) / chunkRows
        func rows(_ chunk: Int) -> Range<Int> { (chunk * chunkRows)..<min((chunk + 1) * chunkRows, total) }
        // Chunk i is read into slot i % 2 and encoded by encoder i % 2 (see ChunkPipeline).
        let slots = (0..<min(2, max(1, chunkCount))).map { _ in
            EvaluationChunk(maxRows: chunkRows, inputDimension: dIn, targetDimension: usesTargets ? dOut : nil)
        }
        let encoders = ChunkEncoders()
        // The reconstruction's reference: the targets for a transcoder, the input itself otherwise.
        var accumulator = MetricsAccumulator(inputDimension: dOut, featureCount: sae.featureCount)
        var sequences = FeatureSequenceCounter(featureCount: sae.featureCount)
        var positions = options.byPosition ? PositionMetrics(bucketed: false, dimension: dOut) : nil
        var excluded = 0

        /// The metrics of one encoded chunk.
        func record(_ chunk: EvaluationChunk, _ encoder: SAEEncoder) {
            excluded += chunk.excluded
            accumulator.recordSkipped(chunk.nonFinite)
            let kept = chunk.kept
            guard kept > 0 else { return }
            (usesTargets ? chunk.targets : chunk.x).withUnsafeBufferPointer { reference in
                let reference = reference.baseAddress!, reconstruction = encoder.reconstruction.baseAddress!
                encoder.withActiveCodes(fromRow: 0) { active in
                    accumulator.add(x: reference, reconstruction: reconstruction, activeCodes: active, rows: kept)
                    sequences.add(active, rows: kept) { chunk.keptSequence[$0] }
                    guard positions != nil else { return }
                    for r in 0..<kept {
                        positions!.add(position: chunk.keptPosition[r], x: reference + r * dOut,
                                       reconstruction: reconstruction + r * dOut,
                                       activeCount: active.rowStart[r + 1] - active.rowStart[r])
                    }
                }
            }
        }

        try ChunkPipeline.run(
            chunks: chunkCount,
            // The second encoder (sharing the first one's scratch) beside the first encode.
            prepare: { encoders.makeSecond(chunkCount: chunkCount) },
            setUp: { encoders.makeFirst(sae, maxRows: chunkRows) },
            read: { i in slots[i % 2].read(rows(i), cache: cache, exclusion: options.exclusion) },
            encode: { i in
                let chunk = slots[i % 2]
                chunk.x.withUnsafeBufferPointer { encoders[i].run($0.baseAddress!, rows: chunk.kept, reconstruct: true) }
            },
            record: { i in record(slots[i % 2], encoders[i]) },
            recorded: { i in progress?(rows(i).upperBound, total) },
            isCancelled: isCancelled)
        guard accumulator.tokenCount > 0 else {
            if excluded > 0 { throw SaescopeError("every evaluated row holds a special token id (\(options.exclusion?.idList ?? "")): nothing left with --exclude-special", file: cache.path) }
            throw SaescopeError(total == 0 ? "no tokens to evaluate" : "all \(total) evaluated rows hold NaN or infinity", file: cache.path)
        }
        let coverage = RowCoverage(evaluated: accumulator.tokenCount, skipped: accumulator.skippedCount,
                                   excluded: options.exclusion == nil ? nil : excluded, excludedIDs: options.exclusion?.idList,
                                   withoutExclusion: (try? SpecialTokenExclusion.forCache(cache)) == nil ? RowCoverage.noSpecialIDs : nil)
        return Pass(metrics: accumulator, sequences: sequences, positions: positions, coverage: coverage,
                    encodePath: encoders.path ?? EncodePath.chosen(for: sae), screened: encoders.screenedStatistics)
    }

    public static func requireMatchingDimensions(_ sae: SparseAutoencoder, _ cache: ActivationCache) throws {
        guard sae.inputDimension == cache.dimension else {
            throw SaescopeError("activations have dimension \(cache.dimension) but the dictionary (\(sae.provenance.weightsPath)) expects \(sae.inputDimension)", file: cache.path)
        }
    }

    /// Whether the metrics compare the reconstruction with the cache's `targets` (a transcoder)
    /// rather than with the input; a transcoder needs them, of its output width.
    public static func requireReference(_ sae: SparseAutoencoder, _ cache: ActivationCache) throws -> Bool {
        guard sae.isTranscoder else { return false }
        guard let width = cache.targetDimension else {
            throw SaescopeError("the dictionary (\(sae.provenance.weightsPath)) is a transcoder: its reconstruction is measured against the cache's 'targets', which this cache lacks (tools/export_activations.py writes them with --target-module NAME or --target-layer L; index and open need none)", file: cache.path)
        }
        guard width == sae.outputDimension else {
            throw SaescopeError("targets have dimension \(width) but the transcoder (\(sae.provenance.weightsPath)) outputs D_out=\(sae.outputDimension)", file: cache.path)
        }
        return true
    }
}
