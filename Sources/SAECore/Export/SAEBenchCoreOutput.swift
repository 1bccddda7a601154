import Foundation

/// `eval --saebench-json`: an eval pass written as SAEBench's core result file
/// (`evals/core/eval_output.py`: `CoreEvalOutput` with `CoreMetricCategories` and one
/// `CoreFeatureMetric` per feature), so it loads in SAEBench's and Neuronpedia's tooling.
///
/// Where saescope's figure differs from what SAEBench's code computes, saescope's is written and
/// `eval_result_unstructured.saescope.notes` says so: `mse` is the mean over tokens of
/// ||x - x_hat||^2 (SAELens' fix #711; SAEBench divides it again by the batch's token count),
/// `explained_variance` centres on the mean (SAEBench's still takes E[x^2]), and
/// `explained_variance_legacy` (per-batch means) is not computed: -1, SAEBench's own mark for NaN.
/// The model categories are written only when the model ran (`eval --model`).
public struct SAEBenchCoreOutput {
    public var metrics: DictionaryMetrics
    public var core: CoreMetrics
    public var pass: DictionaryEvaluator.Pass
    public var weights: WeightMetrics
    public var modelLoss: ModelLossMetrics?
    public var sae: SparseAutoencoder
    public var cachePath: String
    public var cacheMetadata: [String: String]
    /// Longest sequence of the cache (the context size when the metadata has no `ctx`).
    public var longestSequence: Int

    public init(metrics: DictionaryMetrics, core: CoreMetrics, pass: DictionaryEvaluator.Pass, weights: WeightMetrics,
                modelLoss: ModelLossMetrics?, sae: SparseAutoencoder, cachePath: String, cacheMetadata: [String: String], longestSequence: Int) {
        self.metrics = metrics
        self.core = core
        self.pass = pass
        self.weights = weights
        self.modelLoss = modelLoss
        self.sae = sae
        self.cachePath = cachePath
        self.cacheMetadata = cacheMetadata
        self.longestSequence = longestSequence
    }

    /// SAEBench writes NaN as -1 (`replace_nans_with_negative_one`).
    static func number(_ value: Double) -> Double { value.isNaN ? -1 : value }

    public func object(evalID: String = UUID().uuidString, now: Date = Date()) -> [String: Any] {
        var categories: [String: Any] = [
            "reconstruction_quality": [
                "explained_variance": Self.number(metrics.explainedVariance),
                "explained_variance_legacy": -1.0,
                "mse": Self.number(metrics.mse),
                "cossim": Self.number(metrics.cosSim),
            ],
            "shrinkage": [
                "l2_norm_in": Self.number(pass.metrics.meanInputNorm),
                "l2_norm_out": Self.number(pass.metrics.meanReconstructionNorm),
                "l2_ratio": Self.number(metrics.l2Ratio),
                "relative_reconstruction_bias": Self.number(metrics.relativeReconstructionBias),
            ],
            "sparsity": ["l0": Self.number(metrics.l0), "l1": Self.number(metrics.l1)],
            "token_stats": [
                "total_tokens_eval_reconstruction": modelLoss?.predictionCount ?? 0,
                "total_tokens_eval_sparsity_variance": metrics.tokenCount,
            ],
            "misc_metrics": [
                "freq_over_1_percent": Self.number(core.freqOver1Percent),
                "freq_over_10_percent": Self.number(core.freqOver10Percent),
                "normalized_freq_over_1_percent": Self.number(core.normalizedFreqOver1Percent),
                "normalized_freq_over_10_percent": Self.number(core.normalizedFreqOver10Percent),
                "average_max_encoder_cosine_sim": Self.number(core.averageMaxEncoderCosineSim),
                "average_max_decoder_cosine_sim": Self.number(core.averageMaxDecoderCosineSim),
                "frac_alive": Self.number(metrics.fracAlive),
            ],
        ]
        if let loss = modelLoss {
            categories["model_behavior_preservation"] = [
                "kl_div_score": Self.number(loss.klScore),
                "kl_div_with_ablation": Self.number(loss.klZeroAblation),
                "kl_div_with_sae": Self.number(loss.klWithSAE),
            ]
            categories["model_performance_preservation"] = [
                "ce_loss_score": Self.number(loss.lossRecovered),
                "ce_loss_with_ablation": Self.number(loss.ceZeroAblation),
                "ce_loss_with_sae": Self.number(loss.ceWithSAE),
                "ce_loss_without_sae": Self.number(loss.ceClean),
            ]
        }
        return [
            "eval_type_id": "core",
            "eval_config": evalConfig,
            "eval_id": evalID,
            "datetime_epoch_millis": Int(now.timeIntervalSince1970 * 1000),
            "eval_result_metrics": categories,
            "eval_result_details": details,
            "eval_result_unstructured": ["saescope": unstructured],
            "sae_bench_commit_hash": "none (written by saescope eval --saebench-json, not by SAEBench)",
            "sae_lens_id": NSNull(),
            "sae_lens_release_id": NSNull(),
            "sae_lens_version": (sae.provenance.library == "SAELens" ? saeLensVersion : nil).map { $0 as Any } ?? NSNull(),
            "sae_cfg_dict": saeConfig,
        ]
    }

    public func encoded(evalID: String = UUID().uuidString, now: Date = Date()) throws -> [UInt8] {
        try TypedJSON.encode(object(evalID: evalID, now: now))
    }

    private var evalConfig: [String: Any] {
        let context = cacheMetadata["ctx"].flatMap { Int($0) } ?? longestSequence
        return [
            "model_name": cacheMetadata["model"] ?? "",
            "llm_dtype": cacheMetadata["dtype"] ?? "float32",
            // One streaming pass over the cache stands for SAEBench's batches of prompts.
            "batch_size_prompts": 0,
            "n_eval_reconstruction_batches": modelLoss == nil ? 0 : 1,
            "n_eval_sparsity_variance_batches": 1,
            "dataset": cacheMetadata["source"].map { "\($0) (cache \(cachePath))" } ?? cachePath,
            "context_size": context,
            "compute_kl": modelLoss != nil,
            "compute_ce_loss": modelLoss != nil,
            "compute_l2_norms": true,
            "compute_sparsity_metrics": true,
            "compute_variance_metrics": true,
            "compute_featurewise_density_statistics": true,
            "compute_featurewise_weight_based_metrics": true,
            "exclude_special_tokens_from_reconstruction": pass.coverage.excluded != nil,
            "verbose": false,
        ]
    }

    private var details: [[String: Any]] {
        let f = sae.featureCount, d = sae.inputDimension
        let heuristic = pass.sequences.consistentActivationHeuristic
        let tokens = Double(max(metrics.tokenCount, 1))
        let bias: [Float]
        if case .gated(_, _, let magnitudeBias) = sae.rule { bias = magnitudeBias } else { bias = sae.encoderBias }
        var norms = [Double](repeating: 0, count: f)
        for row in 0..<d {
            for j in 0..<f { let w = Double(sae.encoderWeights[row * f + j]); norms[j] += w * w }
        }
        return (0..<f).map { j in
            [
                "index": j,
                "feature_density": Double(pass.sequences.tokens[j]) / tokens,
                "consistent_activation_heuristic": Self.number(heuristic[j]),
                "encoder_bias": Double(bias[j]),
                "encoder_norm": norms[j].squareRoot(),
                "encoder_decoder_cosine_sim": Self.number(Double(weights.encoderDecoderCosine[j])),
                "max_decoder_cosine_sim": Self.number(Double(weights.maxDecoderCosine[j])),
                "max_encoder_cosine_sim": Self.number(Double(weights.maxEncoderCosine[j])),
            ]
        }
    }

    private var unstructured: [String: Any] {
        var rows: [String: Any] = ["evaluated": pass.coverage.evaluated, "skipped_non_finite": pass.coverage.skipped]
        if let excluded = pass.coverage.excluded {
            rows["excluded_special"] = excluded
            rows["excluded_ids"] = pass.coverage.excludedIDs ?? ""
        }
        return [
            "cache": cachePath,
            "dictionary": sae.provenance.weightsPath,
            "rows": rows,
            "projection_scale": Self.number(core.projectionScale),
            "notes": [
                "mse: mean over tokens of ||x - x_hat||^2 (SAELens after its fix #711; SAEBench's code divides it again by the batch's token count)",
                "explained_variance: 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 over all evaluated tokens (SAEBench's code takes E[x^2] for the mean term)",
                "explained_variance_legacy: not computed (-1); it needs SAEBench's per-batch means",
                "l2_ratio: mean ||x_hat|| / ||x|| over tokens with x != 0 (SAEBench divides by 1 when ||x|| < 1e-4)",
                "feature_density and consistent_activation_heuristic count codes > 0, as SAEBench; -1 marks a feature that never fired (0/0)",
                "special tokens: " + pass.coverage.summary,
            ],
        ]
    }

    /// The dictionary's own config when it has one (SAELens' is the schema SAEBench expects), with
    /// the shape; else the shape and where the weights came from.
    private var saeConfig: [String: Any] {
        var config: [String: Any] = [:]
        if let path = sae.provenance.configPath, let read = try? JSONConfig.read(path: path) {
            config = Self.jsonSafe(read.values) as? [String: Any] ?? [:]
        }
        config["d_in"] = config["d_in"] ?? sae.inputDimension
        config["d_sae"] = config["d_sae"] ?? sae.featureCount
        config["saescope_library"] = sae.provenance.library
        config["saescope_kind"] = sae.provenance.kind
        return config
    }

    private var saeLensVersion: String? {
        guard let path = sae.provenance.configPath, let config = try? JSONConfig.read(path: path) else { return nil }
        return (config.values["metadata"] as? [String: Any])?["sae_lens_version"] as? String ?? config.values["sae_lens_version"] as? String
    }

    /// A JSONSerialization tree as TypedJSON values (NSNumber booleans and numbers told apart).
    static func jsonSafe(_ value: Any) -> Any {
        switch value {
        case let object as [String: Any]: return object.mapValues(jsonSafe)
        case let array as [Any]: return array.map(jsonSafe)
        case let flag as Bool where type(of: value) == Bool.self: return flag
        case let number as NSNumber:
            // JSON booleans are NSNumbers of type char ("c"), integers "q", the rest doubles.
            let kind = String(cString: number.objCType)
            if kind == "c" || kind == "B" { return number.boolValue }
            if kind == "q" || kind == "i" || kind == "l" || kind == "Q" { return number.intValue }
            return number.doubleValue.isFinite ? number.doubleValue : NSNull()
        case let text as String: return text
        default: return NSNull()
        }
    }
}
