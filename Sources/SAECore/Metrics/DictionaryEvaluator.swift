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
        try requireMatchingDimensions(sae, cache)
        let total = min(cache.rowCount, max(0, maxTokens ?? cache.rowCount))
        let chunkRows = SAEEncoder.suggestedChunkRows(featureCount: sae.featureCount)
        let encoder = SAEEncoder(sae: sae, maxRows: chunkRows)
        var accumulator = MetricsAccumulator(inputDimension: sae.inputDimension, featureCount: sae.featureCount)
        var chunk = [Float](repeating: 0, count: chunkRows * sae.inputDimension)
        var start = 0
        while start < total {
            if isCancelled() { throw SaescopeError("cancelled") }
            let rows = min(chunkRows, total - start)
            let kept = chunk.withUnsafeMutableBufferPointer { buffer -> Int in
                cache.readRows(start..<start + rows, into: buffer.baseAddress!)
                return compactFiniteRows(buffer.baseAddress!, rows: rows, dimension: sae.inputDimension)
            }
            accumulator.recordSkipped(rows - kept)
            chunk.withUnsafeBufferPointer { x in
                encoder.run(x.baseAddress!, rows: kept, reconstruct: true)
                guard kept > 0 else { return }
                encoder.withActiveCodes(fromRow: 0) { active in
                    accumulator.add(x: x.baseAddress!, reconstruction: encoder.reconstruction.baseAddress!, activeCodes: active, rows: kept)
                }
            }
            start += rows
            progress?(start, total)
        }
        guard accumulator.tokenCount > 0 else {
            throw SaescopeError(total == 0 ? "no tokens to evaluate" : "all \(total) evaluated rows hold NaN or infinity", file: cache.path)
        }
        return accumulator
    }

    public static func requireMatchingDimensions(_ sae: SparseAutoencoder, _ cache: ActivationCache) throws {
        guard sae.inputDimension == cache.dimension else {
            throw SaescopeError("activations have dimension \(cache.dimension) but the dictionary (\(sae.provenance.weightsPath)) expects \(sae.inputDimension)", file: cache.path)
        }
    }

    /// Moves rows whose values are all finite to the front; returns how many there are.
    static func compactFiniteRows(_ rows: UnsafeMutablePointer<Float>, rows count: Int, dimension: Int) -> Int {
        var kept = 0
        for row in 0..<count {
            let source = rows + row * dimension
            guard ck_all_finite(source, dimension) != 0 else { continue }
            if kept != row { (rows + kept * dimension).update(from: source, count: dimension) }
            kept += 1
        }
        return kept
    }
}
