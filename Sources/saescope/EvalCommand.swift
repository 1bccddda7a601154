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

    @Option(help: "Activation cache: a safetensors file, a folder of them, or an .npy of [tokens, D] (not needed with --model M --text FILE); a transcoder needs its targets beside acts.")
    var acts: String?

    @Option(name: .customLong("max-tokens"), help: "Evaluate only the first N tokens.")
    var maxTokens: Int?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(name: .customLong("no-weight-cosines"), help: "Skip the max decoder/encoder cosines and the encoder-decoder cosine (two F x F x D GEMMs after the pass: about 12 s at F=16384, D=512 on 2 cores); they print n/a (JSON null).")
    var noWeightCosines = false

    @OptionGroup var modelOptions: ModelEvalOptions

    func validate() throws {
        if let maxTokens, maxTokens <= 0 { throw ValidationError("--max-tokens must be positive") }
        if acts == nil && modelOptions.text == nil { throw ValidationError("--acts is required (or --model M --text FILE)") }
        if acts != nil && modelOptions.text != nil { throw ValidationError("give --acts or --text, not both") }
    }

    func run() throws {
        let dictionary = try DictionaryLoader.load(path: sae)
        if dictionary.isTranscoder, let model = modelOptions.model {
            throw SaescopeError("--model \(model): a transcoder cannot be spliced in place of its input (the model run is for SAEs)", file: sae)
        }
        guard let acts else { return try evaluateModelOnText(dictionary: dictionary) }
        let cache = try ActivationCache(path: acts)
        let progress = ProgressLine(label: "eval")
        let started = Date()
        let accumulator = try DictionaryEvaluator.accumulate(dictionary, cache: cache, maxTokens: maxTokens) { done, total in
            progress.update(done: done, total: total)
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        let metrics = accumulator.result()
        let core = CoreMetrics(fireCounts: accumulator.featureFireCounts!, tokens: accumulator.tokenCount,
                               projectionScale: accumulator.projectionScale,
                               weights: noWeightCosines ? nil : try WeightMetrics(sae: dictionary))
        let modelLoss = try modelOptions.model.map { try evaluateModel($0, dictionary: dictionary, cache: cache) }
        if json {
            print(MetricsReport.json(metrics, core: core, extra: modelLoss.map { ModelLossReport.jsonFields($0.metrics) } ?? []))
        } else {
            print(MetricsReport.table(metrics, core: core, dictionary: dictionary, cachePath: acts, seconds: seconds))
            if let modelLoss { print(ModelLossReport.table(modelLoss.metrics, info: modelLoss.info)) }
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
    }
}
