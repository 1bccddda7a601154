import ArgumentParser
import Foundation
import SAECore

/// `saescope text`: which features fire on which token of a text, the model run in the model
/// bridge's child process and its activations encoded by saescope (`TextFeatureScan`); or a file
/// of marked examples re-scored (`--examples`), or the dictionary's saved set (`--saved`).
struct TextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Per token of a text, the features that fire and their activations (the model runs; saescope encodes).",
        discussion: "The text is tokenized by the model's tokenizer; each window (the tokenizer's prefix, e.g. BOS, then "
            + "at most the model's context of the text's tokens) is run to the hook and every token's activation encoded "
            + "with the dictionary. A text longer than the model's context is scored in windows that each see only their "
            + "own tokens (said once on stderr). --examples FILE re-scores marked examples (JSON Lines: "
            + "{\"text\": ..., \"feature\": F, \"should_fire\": true/false}): a feature fired on an example when its code is "
            + "nonzero on any token. --save appends the text as an example of --feature to the dictionary's saved set "
            + "($XDG_DATA_HOME/saescope/examples/<fingerprint of the weights>.jsonl), which --saved re-scores.")

    @Option(help: "Dictionary: a dictionary_learning trainer folder or ae.pt, a SAELens folder, or a sparsify hookpoint folder.")
    var sae: String

    @Option(help: "Language model: a GGUF file, a local model directory, a hub name from the local cache, or package:PKG/FILE (default: the model the dictionary's config names).")
    var model: String?

    @Option(help: "The block whose output is hooked (counted from 0; default: the block the dictionary's config names).")
    var layer: String?

    @Option(help: "The module to hook instead (e.g. model.layers.3.mlp).")
    var hook: String?

    @Option(help: "Features listed per token.")
    var top: Int = 10

    @Option(help: "Also give this feature's activation on every token (with --save: the feature of the example).")
    var feature: Int?

    @Option(help: "Read the text from this file instead of the argument.")
    var file: String?

    @Option(help: "Tokens per window, the prefix included (default: the model's context length).")
    var ctx: Int?

    @Option(help: "Re-score the marked examples of this JSON Lines file.")
    var examples: String?

    @Flag(help: "Re-score the dictionary's saved examples.")
    var saved = false

    @Flag(help: "Append the text to the dictionary's saved examples as an example of --feature (with --should-fire or --no-should-fire).")
    var save = false

    @Flag(name: .customLong("should-fire"), inversion: .prefixedNo, help: "With --save: whether --feature should fire on the text.")
    var shouldFire: Bool?

    @Option(name: .customLong("model-timeout"), help: "Seconds allowed for each request to the model process, model loading included.")
    var modelTimeout: Double = 600

    @Option(name: .customLong("prepend-bos"), help: "The text's prefix: auto (the tokenizer's own special tokens), always (also BOS: as the sample's SmolLM2 cache and the text screen beside it), never. Default: as the dictionary's config says (SAELens prepend_bos), else auto.")
    var prependBOS: String?

    @OptionGroup var precision: EncodePrecisionOptions
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Argument(help: "The text (or --file FILE).")
    var text: String?

    func validate() throws {
        if layer != nil && hook != nil { throw ValidationError("give --layer or --hook, not both") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if let ctx, ctx < 2 { throw ValidationError("--ctx must be at least 2") }
        if !(modelTimeout > 0) { throw ValidationError("--model-timeout must be positive") }
        if let prependBOS, !PrependBOS.modes.contains(prependBOS) { throw ValidationError("--prepend-bos must be one of \(PrependBOS.modes.joined(separator: ", "))") }
        let scoring = examples != nil || saved
        if examples != nil && saved { throw ValidationError("give --examples FILE or --saved, not both") }
        if scoring && (text != nil || file != nil || save) { throw ValidationError("--examples and --saved score their own texts: no text, --file or --save") }
        if !scoring && text != nil && file != nil { throw ValidationError("give the text or --file FILE, not both") }
        if !scoring && text == nil && file == nil { throw ValidationError("give a text (or --file FILE, --examples FILE, --saved)") }
        if save && (feature == nil || shouldFire == nil) { throw ValidationError("--save needs --feature F and --should-fire or --no-should-fire") }
        if !save && shouldFire != nil { throw ValidationError("--should-fire and --no-should-fire go with --save") }
    }

    func run() throws {
        precision.apply()
        let dictionary = try DictionaryLoader.load(path: sae)
        if let feature, feature < 0 || feature >= dictionary.featureCount {
            throw SaescopeError("--feature \(feature) is outside the dictionary's \(dictionary.featureCount) features", file: sae)
        }
        let savedPath = TextExampleFile.savedPath(weightsPath: dictionary.provenance.weightsPath)
        // Everything about the input is checked before the model loads (seconds to a minute).
        var examplesFile: String?
        var sourceText: String?
        if saved {
            guard let savedPath, FileManager.default.fileExists(atPath: savedPath) else {
                throw SaescopeError("the dictionary has no saved examples yet (text --save adds one)", file: savedPath ?? sae)
            }
            examplesFile = savedPath
        } else if let examples {
            examplesFile = examples
        } else {
            sourceText = try readText()
        }
        let list = try examplesFile.map { try TextExampleFile.read($0, featureCount: dictionary.featureCount) }

        let environment = try ModelEnvironment.locate()
        let site = try DictionarySiteDefaults(sae: sae, dictionary: dictionary, python: environment.python)
            .resolve(model: model, layer: layer, hook: hook, prependBOS: prependBOS)
        let bridge = try ModelBridge(model: site.model, layer: site.layer, hook: site.hook, timeout: modelTimeout,
                                     prependBOS: site.prependBOS, environment: environment)
        defer { bridge.close() }
        let vocabulary = try bridge.info.tokenizerFile.map { try TokenizerVocabulary(path: $0) }
        let printer = TextScanPrinter(vocabulary: vocabulary, info: bridge.info, context: ctx ?? bridge.info.contextLength ?? TextFeatureScan.fallbackContext)

        if let list, let examplesFile {
            var scores: [TextExampleScore] = []
            var windowed = 0
            for example in list {
                let scan = try scanText(example.text, bridge: bridge, dictionary: dictionary, file: examplesFile)
                if scan.windows.count > 1 { windowed += 1 }
                scores.append(TextExampleScore(example, scan: scan))
            }
            if windowed > 0 {
                FileHandle.standardError.write(Data("saescope: \(windowed) of the examples are longer than the context of \(printer.context) tokens: scored in windows that each see only their own tokens\n".utf8))
            }
            print(json ? printer.examplesJSON(scores, file: examplesFile) : printer.examplesTable(scores, file: examplesFile))
            return
        }

        guard let sourceText else { return }
        let scan = try scanText(sourceText, bridge: bridge, dictionary: dictionary, file: file)
        if scan.windows.count > 1 {
            FileHandle.standardError.write(Data("saescope: the text's \(scan.tokens.count) tokens are longer than the context of \(printer.context): scored in \(scan.windows.count) windows that each see only their own tokens\n".utf8))
        }
        print(json ? printer.json(scan, top: top, feature: feature) : printer.table(scan, top: top, feature: feature))
        if save, let feature, let shouldFire {
            guard let savedPath else { throw SaescopeError("cannot read the dictionary's weights to name its saved examples", file: dictionary.provenance.weightsPath) }
            let example = TextExample(text: sourceText, feature: feature, shouldFire: shouldFire)
            try TextExampleFile.append(example, to: savedPath)
            let score = TextExampleScore(example, scan: scan)
            FileHandle.standardError.write(Data("saescope: saved to \(savedPath): feature \(feature) \(score.fired ? "fires" : "does not fire") on it, as expected: \(score.matches ? "yes" : "no")\n".utf8))
        }
    }

    /// The text of the argument or of --file; empty text is an error before the model loads.
    private func readText() throws -> String {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw SaescopeError("no such readable file", file: file) }
            guard let text = String(data: data, encoding: .utf8) else { throw SaescopeError("not UTF-8 text", file: file) }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SaescopeError("the text is empty", file: file) }
            return text
        }
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SaescopeError("the text is empty") }
        return text
    }

    private func scanText(_ text: String, bridge: ModelBridge, dictionary: SparseAutoencoder, file: String?) throws -> TextFeatureScan {
        try TextFeatureScan(text: text, model: bridge, sae: dictionary, context: ctx)
    }
}
