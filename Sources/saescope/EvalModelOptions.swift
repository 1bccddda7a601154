import ArgumentParser
import Foundation
import SAECore

/// `eval --model`: the language model itself runs (in the model bridge's child process) on the
/// cache's token sequences, and the dictionary's reconstruction is spliced in at the hook. The
/// model's own options are `ModelAttachOptions`, shared with `open`.
struct ModelEvalOptions: ParsableArguments {
    @OptionGroup var attach: ModelAttachOptions

    @Option(help: "With --model, instead of --acts: evaluate on this text (.txt paragraphs or .jsonl), cut as the exporter cuts it; the activations come from the model.")
    var text: String?

    @Option(help: "With --text: tokens per sequence, special tokens included.")
    var ctx: Int = 128

    var model: String? { attach.model }
    var layer: String? { attach.layer }
    var hook: String? { attach.hook }
    var patchBOS: Bool { attach.patchBOS }
    var modelTimeout: Double { attach.modelTimeout }

    func validate() throws {
        if model == nil && text != nil { throw ValidationError("--text needs --model") }
        if ctx < 2 { throw ValidationError("--ctx must be at least 2") }
    }
}

extension EvalCommand {
    static let modelDiscussion = "With --model (the model runs in a Python child process from `make model-env`; "
        + "the dictionary's reconstruction is computed by saescope): first the model's activations at the hook are "
        + "checked against the cache's on its first sequences. Positions: by default a sequence's first position is "
        + "left unpatched when it holds the cache's bos_token_id (SAELens' convention); --patch-bos patches every "
        + "position (dictionary_learning's). Zero and mean ablation patch the same positions.\n"
        + ModelLossDefinition.all.map { "  \($0.key): \($0.definition)" }.joined(separator: "\n")
        + "\n  n_predictions: " + ModelLossDefinition.predictionsDefinition
        + "\n  n_identity_predictions: the predictions of the first batch, where the identity splice is checked"
        + "\n  ce_by_position (--json): per position t: ce_clean, ce_with_sae and n"

    func evaluateModel(_ model: String, dictionary: SparseAutoencoder, cache: ActivationCache) throws
        -> (metrics: ModelLossMetrics, info: ModelBridge.Info) {
        guard cache.hasTokens else {
            throw SaescopeError("eval --model needs the cache's token ids (a `tokens` tensor); this cache has none", file: cache.path)
        }
        let environment = try ModelEnvironment.locate()
        let (layer, hook) = try CacheModelLoss.site(layer: modelOptions.layer, hook: modelOptions.hook, cache: cache)
        let bridge = try ModelBridge(model: model, layer: layer, hook: hook, timeout: modelOptions.modelTimeout, environment: environment)
        defer { bridge.close() }
        let progress = ProgressLine(label: "model")
        let metrics = try CacheModelLoss.evaluate(
            dictionary, cache: cache, bridge: bridge, modelName: model, maxTokens: maxTokens, patchBOS: modelOptions.patchBOS,
            progress: { done, all in progress.update(done: done, total: all) })
        progress.finish()
        let info = bridge.info
        return (metrics, info)
    }

    /// `eval --model M --text FILE`: no cache; the model's own activations, at any context length.
    func evaluateModelOnText(dictionary: SparseAutoencoder) throws {
        guard let model = modelOptions.model, let text = modelOptions.text else { return }
        guard FileManager.default.isReadableFile(atPath: text) else { throw SaescopeError("no such readable file", file: text) }
        let environment = try ModelEnvironment.locate()
        // No cache to name the hook and prefix: the options, else the dictionary's own config.
        let site = try DictionarySiteDefaults(sae: sae, dictionary: dictionary, python: environment.python)
            .resolve(model: model, layer: modelOptions.layer, hook: modelOptions.hook, prependBOS: modelOptions.attach.prependBOS)
        let bridge = try ModelBridge(model: model, layer: site.layer, hook: site.hook,
                                     timeout: modelOptions.modelTimeout, prependBOS: site.prependBOS, environment: environment)
        defer { bridge.close() }
        guard bridge.info.dModel == dictionary.inputDimension else {
            throw SaescopeError("the model \(model) has d_model \(bridge.info.dModel) at \(bridge.info.hook) but the dictionary (\(dictionary.provenance.weightsPath)) expects D=\(dictionary.inputDimension)")
        }
        let sequences = try bridge.sequences(textFile: text, ctx: modelOptions.ctx, maxTokens: maxTokens)
        guard !sequences.isEmpty else { throw SaescopeError("no text to evaluate", file: text) }
        var options = modelLossOptions()
        options.bosTokenID = bridge.info.bosTokenID
        // the mean for mean ablation needs every sequence's activations first: one pass up to the hook
        var sum = [Double](repeating: 0, count: dictionary.inputDimension)
        var count = 0
        var start = 0
        while start < sequences.count {
            let batch = Array(sequences[start..<min(sequences.count, start + max(1, options.batchTokens / modelOptions.ctx))])
            let (values, length) = try bridge.activations(batch, keep: false)
            let d = dictionary.inputDimension
            for (row, sequence) in batch.enumerated() {
                for (t, patched) in ModelLossEvaluator.patchMask(sequence, options: options).enumerated() where patched {
                    for i in 0..<d { sum[i] += Double(values[(row * length + t) * d + i]) }
                    count += 1
                }
            }
            start += batch.count
        }
        let mean = sum.map { Float($0 / Double(max(count, 1))) }
        let metrics = try runModelLoss(dictionary, bridge: bridge, sequences: sequences, mean: mean, options: options)
        if json {
            print("{" + ModelLossReport.jsonFields(metrics).map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            print(MetricsReport.describe(dictionary))
            print("text         \(text) (\(sequences.count) sequences of at most \(modelOptions.ctx) tokens)")
            print(ModelLossReport.table(metrics, info: bridge.info))
        }
    }

    func modelLossOptions() -> ModelLossEvaluator.Options {
        var options = ModelLossEvaluator.Options()
        options.patchBOS = modelOptions.patchBOS
        return options
    }

    /// Runs the evaluation with a progress line and applies the identity-splice check.
    func runModelLoss(_ dictionary: SparseAutoencoder, bridge: ModelBridge, sequences: [[Int32]], mean: [Float],
                      options: ModelLossEvaluator.Options) throws -> ModelLossMetrics {
        let progress = ProgressLine(label: "model")
        let metrics = try ModelLossEvaluator.evaluate(
            dictionary, bridge: bridge, sequences: sequences, reference: nil, mean: mean, options: options,
            describeMismatch: { _, _, _ in "" }, progress: { done, all in progress.update(done: done, total: all) })
        progress.finish()
        try ModelLossEvaluator.requireIdentitySplice(metrics, hook: bridge.info.hook)
        return metrics
    }
}

/// Text and JSON renderings of `eval --model`'s CE and KL numbers.
enum ModelLossReport {
    static func table(_ metrics: ModelLossMetrics, info: ModelBridge.Info) -> String {
        let rows = ModelLossDefinition.all.map { ($0.label, MetricsReport.format($0.value(metrics))) } + [
            ("predictions", "\(metrics.predictionCount)"),
            ("identity check on", "\(metrics.identityPredictionCount) predictions (the first batch; clean CE there "
                + MetricsReport.format(metrics.ceCleanIdentityBatch) + ")"),
        ]
        let width = max(rows.map(\.0.count).max() ?? 0, 16) + 2
        let site = info.site
        var lines = [
            "", "model        \(info.model) (\(info.architecture), \(site)\(info.resumes ? "; patched runs resume at the hook" : ""))",
            "positions    " + (metrics.patchesBOS
                ? "every position patched (--patch-bos)"
                : "a sequence's first position left unpatched when it holds the BOS id (--patch-bos patches it)"),
            metrics.checkedSequences == 0
                ? "check        none needed (no cache: the activations are the model's own)"
                : "check        model activations equal the cache's on \(metrics.checkedSequences) sequence(s) (largest relative row error "
                    + String(format: "%.2g", metrics.largestActivationError) + ")",
            "",
        ]
        for (label, value) in rows { lines.append(label.padding(toLength: width, withPad: " ", startingAt: 0) + value) }
        return lines.joined(separator: "\n")
    }

    static func jsonFields(_ metrics: ModelLossMetrics) -> [(String, String)] {
        let byPosition = metrics.byPosition.map {
            "{\"position\": \($0.position), \"ce_clean\": \(MetricsReport.jsonNumber($0.ceClean)), \"ce_with_sae\": \(MetricsReport.jsonNumber($0.ceWithSAE)), \"n\": \($0.count)}"
        }
        return ModelLossDefinition.all.map { ($0.key, MetricsReport.jsonNumber($0.value(metrics))) } + [
            ("n_predictions", "\(metrics.predictionCount)"),
            ("n_identity_predictions", "\(metrics.identityPredictionCount)"),
            ("ce_by_position", "[" + byPosition.joined(separator: ", ") + "]"),
        ]
    }
}
