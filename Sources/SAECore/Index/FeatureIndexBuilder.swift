import CKernels
import Foundation

/// Builds a `FeatureIndex` in one streaming pass: chunks of rows are encoded through BLAS, and
/// every nonzero code updates its feature's counts, histogram, top and interval exemplars
/// (`FeatureAccumulator`), a batch of chunks at a time, regrouped by feature (`ActivationBatch`).
/// Each chunk is encoded with `context` extra rows on both sides (within the sequence), so every
/// exemplar's context activations come from the same pass.
public enum FeatureIndexBuilder {
    /// Progress as (tokens done, tokens to do).
    public typealias Progress = (Int, Int) -> Void

    /// Rows and nonzero codes at which a batch of chunks is recorded: each feature's tables are
    /// visited once per batch, so larger batches record faster, and the batch costs 16 bytes
    /// per nonzero code (1 << 20 codes: 16 MiB).
    static let batchRows = 8192
    static let batchEntries = 1 << 20

    public static func build(
        sae: SparseAutoencoder, saePath: String, cache: ActivationCache, options: FeatureIndexOptions,
        chunkRows requestedChunkRows: Int? = nil, progress: Progress? = nil, isCancelled: () -> Bool = { false }
    ) throws -> FeatureIndex {
        try options.validate()
        try DictionaryEvaluator.requireMatchingDimensions(sae, cache)
        let rows = rowRange(cache: cache, options: options)
        if options.firstToken != nil, rows.isEmpty {
            throw SaescopeError("the token window is empty: the cache has \(cache.rowCount) tokens", file: cache.path)
        }
        let exclusion = options.excludesSpecial ? try SpecialTokenExclusion.forCache(cache) : nil
        let d = sae.inputDimension, f = sae.featureCount, c = options.context
        let chunkRows = max(1, requestedChunkRows ?? SAEEncoder.suggestedChunkRows(featureCount: f))
        // Chunks are the cells of one grid of `chunkRows` rows from the cache's first row, and a
        // chunk encodes its whole cell even where the pass records only part of it (a shard's or
        // a window's edges). Every token's codes then come from the same encode call, at the same
        // place in it, whichever pass computes them: shards merge to exactly one pass under any
        // BLAS (0.3.21's AVX2 sgemm kernels give a row other last bits at another place in the call).
        let firstCell = rows.lowerBound / chunkRows
        let chunkCount = rows.isEmpty ? 0 : (rows.upperBound - 1) / chunkRows - firstCell + 1
        func cell(_ chunk: Int) -> Range<Int> {
            let start = (firstCell + chunk) * chunkRows
            return start..<min(start + chunkRows, cache.rowCount)
        }
        func core(_ chunk: Int) -> Range<Int> { cell(chunk).clamped(to: rows) }
        // Chunk i is read into slot i % 2 and encoded by encoder i % 2 (see ChunkPipeline).
        let slots = (0..<min(2, max(1, chunkCount))).map { _ in IndexChunk(maxCoreRows: chunkRows, context: c, dimension: d) }
        let encoders = ChunkEncoders()
        var accumulator: FeatureAccumulator?
        let batch = ActivationBatch(featureCount: f, context: c)
        // A transcoder reconstructs another site: its index keeps only the codes' metrics (tokens,
        // L0, L1, alive), as an index built from codes does; eval measures it against the targets.
        let reconstructs = !sae.isTranscoder
        var metrics = MetricsAccumulator(inputDimension: reconstructs ? d : 0, featureCount: f)
        let noInput = [Float](repeating: 0, count: 1)
        var sequences = FeatureSequenceCounter(featureCount: f, minimum: options.minActivation)
        var positions = PositionMetrics(bucketed: true, dimension: reconstructs ? d : 0)
        var excludedRows = 0

        /// Dictionary metrics and the per-feature tables from one encoded chunk.
        func record(_ chunk: IndexChunk, _ encoder: SAEEncoder, flush: Bool) {
            let coreStart = chunk.core.lowerBound, encodeStart = chunk.encoded.lowerBound
            // Dictionary metrics over the finite core rows, in contiguous runs.
            let coreOffset = coreStart - encodeStart, coreCount = chunk.core.count
            (reconstructs ? chunk.x : noInput).withUnsafeBufferPointer { xs in
                let width = reconstructs ? d : 0
                let reconstruction = reconstructs ? encoder.reconstruction.baseAddress! : xs.baseAddress!
                var run = coreOffset
                while run < coreOffset + coreCount {
                    guard chunk.finite[run] else {
                        if chunk.special[run] { excludedRows += 1 } else { metrics.recordSkipped(1) }
                        run += 1
                        continue
                    }
                    var end = run
                    while end < coreOffset + coreCount, chunk.finite[end] { end += 1 }
                    encoder.withActiveCodes(fromRow: run) { active in
                        metrics.add(x: xs.baseAddress! + run * width, reconstruction: reconstruction + run * width,
                                    activeCodes: active, rows: end - run)
                        let firstCore = encodeStart + run - coreStart
                        sequences.add(active, rows: end - run) { chunk.sequenceStart[firstCore + $0] }
                        // Each row's squared error as the metrics just summed it (the same bits).
                        for r in 0..<(end - run) {
                            positions.add(position: encodeStart + run + r - chunk.sequenceStart[firstCore + r],
                                          squaredError: metrics.squaredError(ofLastAddedRow: r),
                                          activeCount: active.rowStart[r + 1] - active.rowStart[r])
                        }
                    }
                    run = end
                }
            }
            // Per-feature statistics, from the nonzero codes of batches of chunks regrouped by feature.
            encoder.withActiveCodes(fromRow: 0) { codes in
                batch.append(codes, encoded: chunk.encoded, finite: chunk.finite, core: chunk.core) { chunk.sequence(ofCoreRow: $0) }
            }
            if batch.rowCount >= Self.batchRows || batch.entryCount >= Self.batchEntries || flush {
                batch.regroup()
                accumulator!.record(batch, minimum: options.minActivation)
                batch.clear()
            }
        }

        try ChunkPipeline.run(
            chunks: chunkCount,
            // The per-feature tables (hundreds of MiB at F = 32768 are first touched here) and the
            // second encoder (sharing the first one's scratch), beside the first encode.
            prepare: {
                accumulator = FeatureAccumulator(featureCount: f, options: options)
                encoders.makeSecond(chunkCount: chunkCount)
            },
            setUp: { encoders.makeFirst(sae, maxRows: chunkRows + 2 * c) },
            read: { i in slots[i % 2].read(core: core(i), cell: cell(i), cache: cache, exclusion: exclusion) },
            encode: { i in
                let chunk = slots[i % 2]
                chunk.x.withUnsafeBufferPointer { encoders[i].run($0.baseAddress!, rows: chunk.encoded.count, reconstruct: reconstructs) }
            },
            // A batch is also recorded before the last chunk: the pass then ends on the last
            // chunk's batch alone (the final record is the one stage nothing overlaps).
            record: { i in record(slots[i % 2], encoders[i], flush: i >= chunkCount - 2) },
            recorded: { i in progress?(core(i).upperBound - rows.lowerBound, rows.count) },
            isCancelled: isCancelled)

        var tables = (accumulator ?? FeatureAccumulator(featureCount: f, options: options)).makeTables()
        fillContextTokens(&tables, cache: cache)
        let provenance = IndexProvenance(
            saePath: CanonicalPath.ofExisting(saePath), saeFingerprint: fileFingerprint(sae.provenance.weightsPath),
            cachePath: CanonicalPath.ofExisting(cache.path), cacheFingerprint: cache.fingerprint(),
            firstRow: rows.lowerBound, endRow: rows.upperBound,
            shards: [options.shardIndex], shardCount: options.shardCount, cacheMetadata: cache.metadata)
        let statistics = IndexCoreStatistics(sequences: sequences, positions: positions, weights: nil,
                                             excludedRows: exclusion == nil ? nil : excludedRows, excludedIDs: exclusion?.idList)
        return FeatureIndex(tables: tables, metrics: metrics, provenance: provenance, inputDimension: d, coreStatistics: statistics)
    }

    /// The rows of shard I/N: a contiguous block of whole sequences, from `firstToken`, cut at `maxTokens`.
    public static func rowRange(cache: ActivationCache, options: FeatureIndexOptions) -> Range<Int> {
        rowRange(sequenceOffsets: cache.sequenceOffsets, options: options)
    }

    /// As `rowRange(cache:options:)` for any sequence boundaries.
    static func rowRange(sequenceOffsets: [Int], options: FeatureIndexOptions) -> Range<Int> {
        let sequences = sequenceOffsets.count - 1
        // I * S / N in full width: I and N come from the command line and may be near Int.max.
        func boundary(_ shard: Int) -> Int {
            shard >= options.shardCount ? sequences
                : options.shardCount.dividingFullWidth(shard.multipliedFullWidth(by: sequences)).quotient
        }
        let first = boundary(options.shardIndex)
        let last = boundary(options.shardIndex + 1)  // shardIndex < shardCount <= Int.max, so no overflow
        var start = sequenceOffsets[first]
        var end = sequenceOffsets[last]
        // A window may start inside a sequence: exemplar context still comes from the whole sequence.
        if let firstToken = options.firstToken { start = min(max(start, firstToken), end) }
        if let maxTokens = options.maxTokens, maxTokens < end - start { end = start + maxTokens }
        return start..<end
    }

    /// Canonical path, size and modification time of a file: enough to notice that it changed.
    public static func fileFingerprint(_ path: String) -> String { FileFingerprint.of(path) }
}
