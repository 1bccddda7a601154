import Foundation

/// CE loss recovered and KL of a dictionary on an activation cache's own token sequences, with
/// the model in a running `ModelBridge`: what `eval --model` and the interface's overview both
/// compute (one code path, so they show the same numbers for the same tokens).
public enum CacheModelLoss {
    /// - Parameters:
    ///   - maxTokens: only the cache's first N rows (whole sequences, the last one cut).
    ///   - modelName: how error messages name the model.
    /// Throws a one-line error for a cache without tokens, a D or vocabulary that is not the
    /// model's, activations that do not match the model's (another model or layer), or a failed
    /// identity-splice check.
    public static func evaluate(
        _ sae: SparseAutoencoder, cache: ActivationCache, bridge: ModelBridge, modelName: String, maxTokens: Int?,
        patchBOS: Bool, progress: ModelLossEvaluator.Progress? = nil, partial: ((ModelLossMetrics) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) throws -> ModelLossMetrics {
        guard cache.hasTokens else {
            throw SaescopeError("CE loss needs the cache's token ids (a `tokens` tensor); this cache has none", file: cache.path)
        }
        let info = bridge.info
        guard info.dModel == cache.dimension else {
            throw SaescopeError("the model \(modelName) has d_model \(info.dModel) at \(info.hook) but the cache's activations have D=\(cache.dimension)", file: cache.path)
        }
        let (sequences, ranges) = tokenSequences(of: cache, maxTokens: maxTokens)
        if let bad = sequences.joined().first(where: { $0 < 0 || Int($0) >= info.vocabularySize }) {
            throw SaescopeError("token id \(bad) is outside the vocabulary of \(modelName) (\(info.vocabularySize) ids): the cache was made with another tokenizer", file: cache.path)
        }
        var options = ModelLossEvaluator.Options()
        options.patchBOS = patchBOS
        options.bosTokenID = cache.metadata["bos_token_id"].flatMap { Int($0) }
        func rows(_ s: Int) -> [Float] {
            var values = [Float](repeating: 0, count: ranges[s].count * cache.dimension)
            values.withUnsafeMutableBufferPointer { cache.readRows(ranges[s], into: $0.baseAddress!) }
            return values
        }
        let mean = ModelLossEvaluator.meanActivation(sequences: sequences, d: cache.dimension, options: options, rows: rows)
        let metrics = try ModelLossEvaluator.evaluate(
            sae, bridge: bridge, sequences: sequences, reference: rows, mean: mean, options: options,
            describeMismatch: { error, s, t in
                "\(cache.path): the activations of \(modelName) at \(info.site) do not match the cache's (relative error "
                    + String(format: "%.3g", error) + " at sequence \(s), position \(t); tolerance \(options.activationTolerance)): "
                    + "was the cache made with another model or layer? (its metadata: model \(cache.metadata["model"] ?? "?"), layer \(cache.metadata["layer"] ?? "?"))"
            }, progress: progress, partial: partial, isCancelled: isCancelled)
        try ModelLossEvaluator.requireIdentitySplice(metrics, hook: info.hook)
        return metrics
    }
}

extension CacheModelLoss {
    /// The cache's token sequences (its first `maxTokens` rows: whole sequences, the last one
    /// cut) and their row ranges.
    public static func tokenSequences(of cache: ActivationCache, maxTokens: Int?) -> (sequences: [[Int32]], rows: [Range<Int>]) {
        let total = min(cache.rowCount, maxTokens ?? cache.rowCount)
        var sequences: [[Int32]] = []
        var ranges: [Range<Int>] = []
        for s in 0..<cache.sequenceCount where cache.sequenceOffsets[s] < total {
            let range = cache.sequenceOffsets[s]..<min(cache.sequenceOffsets[s + 1], total)
            ranges.append(range)
            sequences.append(range.map { cache.token(atRow: $0) })
        }
        return (sequences, ranges)
    }

    /// The hook site for a cache: `--layer`/`--hook` when given, else the cache's `layer`
    /// metadata, else its `hook` metadata; an error when none names one.
    public static func site(layer: String?, hook: String?, cache: ActivationCache) throws -> (layer: String?, hook: String?) {
        let layer = layer ?? (hook == nil ? cache.metadata["layer"].flatMap { $0.isEmpty ? nil : $0 } : nil)
        let hook = hook ?? (layer == nil ? cache.metadata["hook"].flatMap { $0.isEmpty ? nil : $0 } : nil)
        guard layer != nil || hook != nil else {
            throw SaescopeError("the cache's metadata names no layer or hook: give --layer L or --hook NAME", file: cache.path)
        }
        return (layer, hook)
    }
}

extension ModelLossEvaluator {
    /// The check before trusting any CE number: the splice path with the hook's output replaced
    /// by itself must reproduce the clean CE (1e-4 relative).
    public static func requireIdentitySplice(_ metrics: ModelLossMetrics, hook: String) throws {
        guard metrics.identitySpliceError <= 1e-4 else {
            throw SaescopeError("identity splice check failed: CE with the hook's output replaced by itself is \(metrics.ceIdentitySplice) but the clean CE over the same \(metrics.identityPredictionCount) predictions is \(metrics.ceCleanIdentityBatch) (relative difference "
                + String(format: "%.2g", metrics.identitySpliceError) + " > 1e-4): the splice at \(hook) does not reproduce the model, so no CE number would be trustworthy")
        }
    }
}
