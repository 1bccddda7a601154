import ArgumentParser
import SAECore

/// The language model saescope runs beside a dictionary (`eval --model`, `open --model`): which
/// model, where it is hooked, which positions are patched, and how long a request may take.
struct ModelAttachOptions: ParsableArguments {
    @Option(help: "Language model for CE loss recovered and KL: a GGUF file, a local model directory, a hub name from the local cache, or package:PKG/FILE (a file inside an installed Python package).")
    var model: String?

    @Option(help: "With --model: the block whose output is hooked (default: the cache's `layer` metadata).")
    var layer: String?

    @Option(help: "With --model: the module to hook instead (e.g. model.layers.3.mlp; default: the cache's `hook` metadata when it has no layer).")
    var hook: String?

    @Flag(name: .customLong("patch-bos"), help: "With --model: also patch a sequence's first position when it holds the BOS id (dictionary_learning's convention).")
    var patchBOS = false

    @Option(name: .customLong("model-timeout"), help: "With --model: seconds allowed for each request to the model process, model loading included.")
    var modelTimeout: Double = 600

    @Option(name: .customLong("prepend-bos"), help: "With --model: the prefix of texts the model scores (--text, the text screen): auto (the tokenizer's own special tokens), always (also BOS), never. Default: as the cache's sequences start, else auto.")
    var prependBOS: String?

    /// --prepend-bos, else what the cache's sequences started with, else what the dictionary's
    /// config says its training sequences started with.
    func prependBOS(cache: ActivationCache?, site: DictionaryModelSite? = nil) -> String? {
        prependBOS ?? cache.flatMap { PrependBOS.mode(forCache: $0.metadata) } ?? site?.prependBOS
    }

    func validate() throws {
        if model == nil && (layer != nil || hook != nil || patchBOS) {
            throw ValidationError("--layer, --hook and --patch-bos need --model")
        }
        if layer != nil && hook != nil { throw ValidationError("give --layer or --hook, not both") }
        if !(modelTimeout > 0) { throw ValidationError("--model-timeout must be positive") }
        if let prependBOS, !PrependBOS.modes.contains(prependBOS) {
            throw ValidationError("--prepend-bos must be one of \(PrependBOS.modes.joined(separator: ", "))")
        }
        if model == nil && prependBOS != nil { throw ValidationError("--prepend-bos needs --model") }
    }
}
