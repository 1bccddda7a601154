import Foundation

/// The batch file SAEDashboard's Neuronpedia runner writes (`batch-N.json`) and Neuronpedia
/// imports, key for key: top-level `model_id, layer, sae_set, sae_id_suffix, features`, and per
/// feature the runner's 25 fields (sae_dashboard/neuronpedia/neuronpedia_dashboard.py,
/// `NeuronpediaDashboardFeature.to_dict`), with floats rounded as its converter rounds them.
/// Fields saescope does not compute are present and empty: `correlated_neurons_*` and
/// `correlated_features_*` (activation correlations over the dataset) and `decoder_weights_dist`
/// (per-attention-head weight shares, for attention-output SAEs only).
public enum NeuronpediaBatch {
    /// The runner's neuron alignment table has 3 rows (`FeatureTablesConfig(n_rows=3)`).
    public static let alignmentRows = 3
    /// The runner's logits histogram has 50 bins (`LogitsHistogramConfig.n_bins`).
    public static let logitHistogramBins = 50

    /// `features` are one object per feature, made by `feature(...)`.
    public static func batch(_ features: [[String: Any]], source: NeuronpediaSource) -> [String: Any] {
        ["model_id": source.modelID, "layer": source.layer, "sae_set": source.saeSet,
         "sae_id_suffix": source.saeIDSuffix.map { $0 as Any } ?? NSNull(), "features": features]
    }

    /// Feature ids in batches as the runner splits them: `ceil(n / size)` batches of near-equal
    /// length, the longer ones first (`numpy.array_split`).
    public static func split(_ features: [Int], batchSize: Int) -> [[Int]] {
        let parts = (features.count + batchSize - 1) / batchSize
        guard parts > 0 else { return [] }
        let base = features.count / parts, extra = features.count % parts
        var batches: [[Int]] = [], start = 0
        for p in 0..<parts {
            let length = base + (p < extra ? 1 : 0)
            batches.append(Array(features[start..<(start + length)]))
            start += length
        }
        return batches
    }

    /// One feature: `decoderRow` gives the neuron alignment, and is the `vector` when
    /// `includeVector` (the runner fills `vector` only for steering-vector runs; empty otherwise).
    static func feature(_ record: FeatureRecord, decoderRow: [Float], includeVector: Bool, source: NeuronpediaSource) -> [String: Any] {
        let alignment = neuronAlignment(decoderRow)
        let fired = record.count > 0
        let logits = record.logitHistogram
        return [
            "feature_index": record.feature,
            "neuron_alignment_indices": alignment.indices,
            "neuron_alignment_values": alignment.values.map(round5),
            "neuron_alignment_l1": alignment.l1.map(round5),
            "correlated_neurons_indices": [Int](), "correlated_neurons_l1": [Double](), "correlated_neurons_pearson": [Double](),
            "correlated_features_indices": [Int](), "correlated_features_l1": [Double](), "correlated_features_pearson": [Double](),
            "neg_str": record.negativeLogits.map(\.text), "neg_values": record.negativeLogits.map { round5(Double($0.value)) },
            "pos_str": record.positiveLogits.map(\.text), "pos_values": record.positiveLogits.map { round5(Double($0.value)) },
            "frac_nonzero": percentRounded(record.density),
            // The runner's activation histogram is empty for a feature that never fired.
            "freq_hist_data_bar_values": fired ? record.histogramCenters.map { round5(Double($0)) } : [Double](),
            "freq_hist_data_bar_heights": fired ? record.histogramCounts : [Int](),
            "logits_hist_data_bar_heights": logits?.counts ?? [Int](),
            "logits_hist_data_bar_values": logits?.centers.map { round5(Double($0)) } ?? [Double](),
            "n_prompts_total": source.promptCount,
            "n_tokens_in_prompt": source.tokensInPrompt,
            "dataset": source.dataset,
            "decoder_weights_dist": [Double](),
            "activations": record.top.map { activation($0, top: true) } + record.intervals.map { activation($0, top: false) },
            "vector": includeVector ? decoderRow.map(Double.init) : [Double](),
        ].merging(interpretation(record, source: source)) { _, label in label }
    }

    /// A labelled feature's `explanations` in Neuronpedia's shape (the user's label first, as a
    /// human explanation by its author, then the imported ones) with its `tags`, `status` and
    /// `notes`; nothing for a feature without a label, so those stay key for key the runner's.
    static func interpretation(_ record: FeatureRecord, source: NeuronpediaSource) -> [String: Any] {
        guard let label = record.label else { return [:] }
        // Neuronpedia's `layer` is the source id, `<layer>-<sae_set>[__<suffix>]`.
        let layer = "\(source.layer)-\(source.saeSet)" + (source.saeIDSuffix.map { "__" + $0 } ?? "")
        var explanations = LabelJSON.explanations(label, feature: record.feature, modelID: source.modelID, layer: layer)
        if !label.label.isEmpty {
            explanations.insert(["modelId": source.modelID, "layer": layer, "index": String(record.feature), "description": label.label,
                                 "explanationModelName": NSNull(), "typeName": NSNull(), "scoreV2": NSNull(),
                                 "authorId": label.author, "source": "saescope"], at: 0)
        }
        return ["explanations": explanations, "tags": label.tags, "status": label.status.rawValue, "notes": label.notes]
    }

    /// The runner reads an exemplar group's bounds back from its title, where they are printed
    /// with 3 decimals (`MAX = 1.234`, `INTERVAL 0.500 - 1.000<br>CONTAINS 12.345%`); top
    /// exemplars have the integer -1 as `bin_min` and `bin_contains`.
    static func activation(_ exemplar: ExportedExemplar, top: Bool) -> [String: Any] {
        [
            "bin_min": top ? -1 as Any : threeDecimals(Double(exemplar.binMin)),
            "bin_max": threeDecimals(Double(exemplar.binMax)),
            "bin_contains": top ? -1 as Any : percentRounded(exemplar.binContains),
            "tokens": exemplar.tokens,
            "values": exemplar.values.map { round5(Double($0)) },
            "qualifying_token_index": exemplar.qualifyingTokenIndex,
        ]
    }

    /// The decoder row's `alignmentRows` largest entries (signed, as `torch.topk(largest=True)`;
    /// ties to the lower dimension), and each one's magnitude as a share of the row's L1 norm.
    static func neuronAlignment(_ row: [Float]) -> (indices: [Int], values: [Double], l1: [Double]) {
        let order = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(alignmentRows)
        let norm = row.reduce(0.0) { $0 + abs(Double($1)) }
        return (Array(order), order.map { Double(row[$0]) }, order.map { norm > 0 ? abs(Double(row[$0])) / norm : 0 })
    }

    /// `numpy.round(x, 5)`: `rint(x * 1e5) / 1e5`, halves to even.
    static func round5(_ x: Double) -> Double { (x * 100_000).rounded(.toNearestOrEven) / 100_000 }

    static func threeDecimals(_ x: Double) -> Double { Double(String(format: "%.3f", x)) ?? x }

    /// A fraction printed as a percentage with 3 decimals and read back (`f"{x:.3%}"`).
    static func percentRounded(_ fraction: Double) -> Double { (Double(String(format: "%.3f", fraction * 100)) ?? fraction * 100) / 100 }

    /// The runner's `run_settings.json`: its configuration (`NeuronpediaRunnerConfig` of
    /// sae-dashboard 0.8.0, every field), filled with what describes this export; the runner's
    /// own knobs (devices, dtypes, wandb, transcoders) are null, false or empty.
    public static func runSettings(source: NeuronpediaSource, saePath: String, outputDirectory: String, batchSize: Int,
                                   batches: Int, options: FeatureIndexOptions, metadata: [String: String]) -> [String: Any] {
        let null = NSNull()
        return [
            "sae_set": source.saeSet, "sae_path": saePath, "outputs_dir": outputDirectory,
            "np_sae_id_suffix": source.saeIDSuffix.map { $0 as Any } ?? null, "np_set_name": null,
            "from_local_sae": true, "sparsity_threshold": null, "huggingface_dataset_path": source.dataset,
            "n_prompts_total": source.promptCount, "n_tokens_in_prompt": source.tokensInPrompt, "n_prompts_in_forward_pass": null,
            "n_features_at_a_time": batchSize, "quantile_feature_batch_size": null, "start_batch": 0, "end_batch": batches - 1,
            "n_quantiles": options.intervals, "top_acts_group_size": options.topK, "quantile_group_size": options.perInterval,
            "use_dfa": false, "model_dtype": metadata["dtype"] ?? "", "sae_dtype": "",
            "model_id": source.modelID, "layer": source.layer,
            "sae_device": null, "activation_store_device": null, "model_device": null, "model_n_devices": null, "use_wandb": false,
            "shuffle_tokens": false, "prefix_str": null, "suffix_str": null, "ignore_positions": null, "prepend_bos": null,
            "ignore_high_activation_norm_multiple": null, "hf_model_path": null,
            "use_transcoder": false, "use_skip_transcoder": false, "use_clt": false, "clt_layer_idx": null, "clt_dtype": "",
            "clt_weights_filename": "", "sae_converter_name": null,
        ]
    }
}
