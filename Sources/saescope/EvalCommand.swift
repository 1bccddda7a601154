import ArgumentParser
import Foundation
import SAECore

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Reconstruction and sparsity metrics of a dictionary on an activation cache.",
        discussion: "Metrics (accumulated in Float64 over every evaluated token):\n"
            + MetricDefinition.all.map { "  \($0.label): \($0.definition)" }.joined(separator: "\n")
            + "\nA transcoder is measured against the cache's targets [N, D_out]: x above is the target, and x_hat includes the skip term."
            + "\nSAEBench core metrics that need no model run (--json keys in brackets; the cosines from the weights alone):\n"
            + CoreMetrics.definitions.map { "  \($0.label) [\($0.key)]: \($0.definition)" }.joined(separator: "\n")
            + "\n\n" + EvalCommand.modelDiscussion)

    @Option(help: "Dictionary: a dictionary_learning trainer folder or ae.pt, a SAELens folder (transcoders too), a sparsify hookpoint folder, or a Gemma Scope params.npz.")
    var sae: String

    @Option(help: "Activation cache: a safetensors file, a folder of them, or an .npy of [tokens, D] (not needed with --model M --text FILE); a transcoder is measured against the cache's `targets` [tokens, D_out] beside acts, which tools/export_activations.py writes with --target-module NAME or --target-layer L.")
    var acts: String?

    @Option(name: .customLong("max-tokens"), help: "Evaluate only the first N tokens.")
    var maxTokens: Int?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(name: .customLong("no-weight-cosines"), help: "Skip the max decoder/encoder cosines and the encoder-decoder cosine (two F x F x D GEMMs after the pass: about 12 s at F=16384, D=512 on 2 cores); they print n/a (JSON null).")
    var noWeightCosines = false

    @OptionGroup var precision: EncodePrecisionOptions
    @OptionGroup var special: SpecialTokenOptions

    @Flag(name: .customLong("by-position"), help: "Also report MSE, explained variance and L0 per position in the sequence (from the cache's seq_offsets; --json key by_position).")
    var byPosition = false

    @Option(name: .customLong("saebench-json"), help: "Also write the results in SAEBench's core result schema (eval_type_id \"core\") to this file, atomically; ce_loss_score and kl_div_score only with --model.")
    var saebenchJSON: String?

    @Flag(help: "Replace an existing --saebench-json file.")
    var force = false

    @OptionGroup var modelOptions: ModelEvalOptions

    func validate() throws {
        if let maxTokens, maxTokens <= 0 { throw ValidationError("--max-tokens must be positive") }
        if acts == nil && modelOptions.text == nil { throw ValidationError("--acts is required (or --model M --text FILE)") }
        if acts != nil && modelOptions.text != nil { throw ValidationError("give --acts or --text, not both") }
        if acts == nil && (byPosition || saebenchJSON != nil || special.excludeSpecial) {
            throw ValidationError("--by-position, --saebench-json and --exclude-special need --acts")
        }
        if saebenchJSON != nil && noWeightCosines { throw ValidationError("--saebench-json needs the weight cosines (drop --no-weight-cosines)") }
    }

    func run() throws {
        precision.apply()
        let dictionary = try DictionaryLoader.load(path: sae)
        if dictionary.isTranscoder, let model = modelOptions.model {
            throw SaescopeError("--model \(model): a transcoder cannot be spliced in place of its input (the model run is for SAEs)", file: sae)
        }
        guard let acts else { return try evaluateModelOnText(dictionary: dictionary) }
        let cache = try ActivationCache(path: acts)
        if let saebenchJSON { try OutputFile.checkWritable(saebenchJSON, overwrite: force, inputs: [sae, acts]) }
        let options = DictionaryEvaluator.Options(exclusion: try special.resolve(dictionary: dictionary, cache: cache), byPosition: byPosition)
        let progress = ProgressLine(label: "eval")
        let started = Date()
        let pass = try DictionaryEvaluator.run(dictionary, cache: cache, maxTokens: maxTokens, options: options) { done, total in
            progress.update(done: done, total: total)
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        let accumulator = pass.metrics
        let metrics = accumulator.result()
        let weights = noWeightCosines ? nil : try WeightMetrics(sae: dictionary)
        let core = CoreMetrics(fireCounts: accumulator.featureFireCounts!, tokens: accumulator.tokenCount,
                               projectionScale: accumulator.projectionScale, weights: weights, sequences: pass.sequences)
        let modelLoss = try modelOptions.model.map { try evaluateModel($0, dictionary: dictionary, cache: cache) }
        if let saebenchJSON, let weights {
            let longest = zip(cache.sequenceOffsets, cache.sequenceOffsets.dropFirst()).map { $1 - $0 }.max() ?? 0
            let output = SAEBenchCoreOutput(metrics: metrics, core: core, pass: pass, weights: weights, modelLoss: modelLoss?.metrics,
                                            sae: dictionary, cachePath: acts, cacheMetadata: cache.metadata, longestSequence: longest)
            InterruptCleanup.install()
            try AtomicFile.write(try output.encoded(), to: saebenchJSON)
        }
        if json {
            // What x is in every definition: the input, or a transcoder's targets (the table says so too).
            var extra: [(String, String)] = [("rows", pass.coverage.json),
                                             ("measured_against", dictionary.isTranscoder ? "\"targets\"" : "\"acts\"")]
            if let positions = pass.positions { extra.append(("by_position", MetricsReport.json(positions))) }
            extra += modelLoss.map { ModelLossReport.jsonFields($0.metrics) } ?? []
            print(MetricsReport.json(metrics, core: core, extra: extra))
        } else {
            print(MetricsReport.table(metrics, core: core, dictionary: dictionary, cachePath: acts, seconds: seconds,
                                      coverage: pass.coverage, encode: pass.screened.summary(path: pass.encodePath)))
            if let positions = pass.positions { print(MetricsReport.table(positions)) }
            if let modelLoss { print(ModelLossReport.table(modelLoss.metrics, info: modelLoss.info)) }
            if let saebenchJSON { print("wrote \(saebenchJSON) (SAEBench core schema)") }
        }
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show how saescope reads a dictionary: library, class, shapes, activation rule.")

    @Argument(help: "Dictionary path (as for eval --sae).")
    var sae: String

    func run() throws {
        let dictionary = try DictionaryLoader.load(path: sae)
        print(MetricsReport.describe(dictionary))
        print("encode       \(EncodePath.chosen(for: dictionary).summary)")
    }
}
