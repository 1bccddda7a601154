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
        let usesTargets = try requireReference(sae, cache)
        let total = min(cache.rowCount, max(0, maxTokens ?? cache.rowCount))
        let chunkRows = SAEEncoder.suggestedChunkRows(featureCount: sae.featureCount)
        let encoder = SAEEncoder(sae: sae, maxRows: chunkRows)
        let dIn = sae.inputDimension, dOut = sae.outputDimension
        // The reconstruction's reference: the targets for a transcoder, the input itself otherwise.
        var accumulator = MetricsAccumulator(inputDimension: dOut, featureCount: sae.featureCount)
        var chunk = [Float](repeating: 0, count: chunkRows * dIn)
        var targets = [Float](repeating: 0, count: usesTargets ? chunkRows * dOut : 0)
        var start = 0
        while start < total {
            if isCancelled() { throw SaescopeError("cancelled") }
            let rows = min(chunkRows, total - start)
            let kept = chunk.withUnsafeMutableBufferPointer { buffer -> Int in
                cache.readRows(start..<start + rows, into: buffer.baseAddress!)
                guard usesTargets else { return compactFiniteRows(buffer.baseAddress!, rows: rows, dimension: dIn) }
                return targets.withUnsafeMutableBufferPointer { target in
                    cache.readTargetRows(start..<start + rows, into: target.baseAddress!)
                    return compactFiniteRows(buffer.baseAddress!, rows: rows, dimension: dIn,
                                             alongside: (target.baseAddress!, dOut))
                }
            }
            accumulator.recordSkipped(rows - kept)
            chunk.withUnsafeBufferPointer { x in
                encoder.run(x.baseAddress!, rows: kept, reconstruct: true)
                guard kept > 0 else { return }
                targets.withUnsafeBufferPointer { target in
                    let reference = usesTargets ? target.baseAddress! : x.baseAddress!
                    encoder.withActiveCodes(fromRow: 0) { active in
                        accumulator.add(x: reference, reconstruction: encoder.reconstruction.baseAddress!, activeCodes: active, rows: kept)
                    }
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

    /// Whether the metrics compare the reconstruction with the cache's `targets` (a transcoder)
    /// rather than with the input; a transcoder needs them, of its output width.
    public static func requireReference(_ sae: SparseAutoencoder, _ cache: ActivationCache) throws -> Bool {
        guard sae.isTranscoder else { return false }
        guard let width = cache.targetDimension else {
            throw SaescopeError("the dictionary (\(sae.provenance.weightsPath)) is a transcoder: its reconstruction is measured against the cache's 'targets', which this cache lacks (export with --target-module/--target-layer)", file: cache.path)
        }
        guard width == sae.outputDimension else {
            throw SaescopeError("targets have dimension \(width) but the transcoder (\(sae.provenance.weightsPath)) outputs D_out=\(sae.outputDimension)", file: cache.path)
        }
        return true
    }

    /// Moves rows whose values are all finite to the front; returns how many there are. With
    /// `alongside`, a second matrix of the same rows moves with them, and its rows must be finite too.
    static func compactFiniteRows(_ rows: UnsafeMutablePointer<Float>, rows count: Int, dimension: Int,
                                  alongside other: (rows: UnsafeMutablePointer<Float>, dimension: Int)? = nil) -> Int {
        func isFinite(_ row: UnsafeMutablePointer<Float>, _ width: Int) -> Bool {
            for i in 0..<width where !row[i].isFinite { return false }
            return true
        }
        var kept = 0
        for row in 0..<count {
            let source = rows + row * dimension
            guard isFinite(source, dimension) else { continue }
            if let other { guard isFinite(other.rows + row * other.dimension, other.dimension) else { continue } }
            if kept != row {
                (rows + kept * dimension).update(from: source, count: dimension)
                if let other { (other.rows + kept * other.dimension).update(from: other.rows + row * other.dimension, count: other.dimension) }
            }
            kept += 1
        }
        return kept
    }
}
