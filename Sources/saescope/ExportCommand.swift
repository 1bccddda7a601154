import ArgumentParser
import Foundation
import SAECore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export selected features: Neuronpedia batch JSON, JSON lines (.gz), CSV, a Markdown report, or decoder/encoder rows as safetensors.",
        discussion: """
        json is the batch file SAEDashboard's Neuronpedia runner writes (batch-N.json), which Neuronpedia imports:
        model_id, layer, sae_set, sae_id_suffix and per feature the runner's fields, floats rounded to 5 decimals as
        it rounds them. model_id and layer come from the cache metadata, sae_set from the dictionary's name, dataset
        and the prompt counts from the cache; the options below override them. With --batch-size N, --out is a
        directory that receives batch-0.json, batch-1.json, ... and the runner's run_settings.json.

        With --unembed, json/jsonl/csv/md include each feature's logit effects, W_dec[f] @ W_U: the 10 vocabulary
        entries it raises most (pos_str, pos_values, and in jsonl pos_token_ids) and lowers most (neg_*), as web dashboards show
        them (on the dictionary's decoder as loaded, without the model's final layer norm). The file is a
        safetensors file holding W_U [D, V] (named W_U, unembed.W_U or unembed), a Hugging Face head [V, D]
        (lm_head.weight or embed_out.weight), or a single 2-D tensor; or an .npy array. Its D must be the
        dictionary's. An unembedding with fewer logits than the tokenizer has tokens is an error; with more
        (vocabulary padding) a warning, and the extra ids read <unk:ID>.
        """)

    @Option(help: "Dictionary (as for eval).") var sae: String
    @Option(help: "Index file (from saescope index).") var index: String
    @Option(help: "Features: 1,5,9-12 or all or @file (one id per line).") var features: String
    @Option(help: "json, jsonl, csv, md or safetensors (default: from the --out extension).") var format: String?
    @Option(help: "File to write.") var out: String
    @Option(help: "tokenizer.json for token text (default: the one named in the cache metadata, beside the cache).") var tokenizer: String?
    @Flag(help: "Include each feature's decoder vector in json (as `vector`) and jsonl (as `decoder`).") var decoder = false
    @Option(help: "Unembedding W_U [D, V] (safetensors or npy): add logit effects to json/jsonl/csv/md.") var unembed: String?
    @Flag(help: "Replace an existing file.") var force = false
    @Option(help: "json: split into batch-0.json ... of at most N features plus run_settings.json in the directory --out.") var batchSize: Int?
    @Option(help: "json: model_id (default: the cache metadata's model).") var modelId: String?
    @Option(help: "json: layer (default: the cache metadata's layer).") var layer: Int?
    @Option(help: "json: sae_set (default: the dictionary's file or folder name).") var saeSet: String?
    @Option(help: "json: sae_id_suffix (default: null).") var saeIdSuffix: String?
    @Option(help: "json: dataset (default: the cache metadata's dataset or source).") var dataset: String?
    @Option(help: "json: n_prompts_total (default: the sequences the index covers, read from the cache).") var nPromptsTotal: Int?
    @Option(help: "json: n_tokens_in_prompt (default: the longest of those sequences).") var nTokensInPrompt: Int?

    func validate() throws {
        if let format, FeatureExporter.Format(rawValue: format) == nil {
            throw ValidationError("--format must be one of json, jsonl, csv, md, safetensors")
        }
        guard let chosen = chosenFormat else {
            throw ValidationError("cannot tell the format from '\(out)'; pass --format")
        }
        if unembed != nil, chosen == .safetensors {
            throw ValidationError("--unembed adds logit effects to json, jsonl, csv and md exports; safetensors exports hold weight rows only")
        }
        let neuronpediaOptions: [(String, Bool)] = [("--batch-size", batchSize != nil), ("--model-id", modelId != nil), ("--layer", layer != nil),
                                                    ("--sae-set", saeSet != nil), ("--sae-id-suffix", saeIdSuffix != nil), ("--dataset", dataset != nil),
                                                    ("--n-prompts-total", nPromptsTotal != nil), ("--n-tokens-in-prompt", nTokensInPrompt != nil)]
        if chosen != .json, let given = neuronpediaOptions.first(where: \.1) {
            throw ValidationError("\(given.0) applies to json (Neuronpedia batch) exports only")
        }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    /// --format, else from the --out extension, else json for a --batch-size directory.
    private var chosenFormat: FeatureExporter.Format? {
        format.flatMap(FeatureExporter.Format.init(rawValue:)) ?? Self.formatFromExtension(out) ?? (batchSize != nil ? .json : nil)
    }

    static func formatFromExtension(_ path: String) -> FeatureExporter.Format? {
        if path.hasSuffix(".jsonl.gz") || path.hasSuffix(".jsonl") { return .jsonl }
        return FeatureExporter.Format(rawValue: (path as NSString).pathExtension.lowercased())
    }

    func run() throws {
        let chosenFormat = self.chosenFormat!
        let dictionary = try DictionaryLoader.load(path: sae)
        let featureIndex = try IndexFile.read(path: index)
        let ids = try FeatureSelection.parse(features, featureCount: featureIndex.featureCount)
        // The cache is checked too when it is still where the index says (export never reads it otherwise).
        let cache = try? ActivationCache(path: featureIndex.provenance.cachePath)
        if let stale = cache.map({ featureIndex.provenance.staleness(sae: dictionary, cache: $0) }) ?? featureIndex.provenance.dictionaryStaleness(sae: dictionary) {
            warn("\(index) is stale: \(stale); rebuild it with saescope index")
        }
        if let note = featureIndex.provenance.resolutionNote { warn(note) }
        let tokenizerFile = tokenizerPath(featureIndex, features: ids)
        // Every file this run reads, the tokenizer found beside the cache included, is safe from
        // --out. A --batch-size export writes a directory: NeuronpediaExport keeps an existing one
        // unless --force; an input is never replaced either way.
        let inputs = [sae, index, tokenizerFile, unembed, featureIndex.provenance.cachePath].compactMap { $0 }
        if batchSize == nil {
            try OutputFile.checkWritable(out, overwrite: force, inputs: inputs)
        } else {
            try OutputFile.checkNotAnInput(out, inputs: inputs)
        }
        let vocabulary = try tokenizerFile.map { try TokenizerVocabulary(path: $0) }
        let unembedding = try unembed.map { try Unembedding(path: $0, dimension: dictionary.outputDimension) }
        if let unembedding, let vocabulary, let warning = try unembedding.checkVocabulary(against: vocabulary) {
            warn(warning)
        }
        let source = chosenFormat == .json
            ? try attributingErrors(to: index) { try NeuronpediaSource.fromIndex(featureIndex, saePath: sae, modelID: modelId, layer: layer, saeSet: saeSet, saeIDSuffix: saeIdSuffix,
                                              dataset: dataset, promptCount: nPromptsTotal, tokensInPrompt: nTokensInPrompt) }
            : nil
        InterruptCleanup.install()
        try FeatureExporter.export(ids, format: chosenFormat,
                                   context: .init(index: featureIndex, sae: dictionary, saePath: sae, tokenizer: vocabulary, includeDecoder: decoder,
                                                  unembedding: unembedding, neuronpedia: source, batchSize: batchSize,
                                                  labels: savedLabels(dictionary)),
                                   to: out, overwrite: force)
        let batches = batchSize.map { ", \(NeuronpediaBatch.split(ids, batchSize: $0).count) batches and run_settings.json" } ?? ""
        print("exported \(ids.count) features to \(out) (\(chosenFormat.rawValue)\(batches)\(unembedding == nil ? "" : ", with logit effects"))")
    }

    /// --tokenizer, or the one the cache's metadata names beside the cache the index recorded.
    /// Without one, a single warning naming the file looked for, when the exported exemplars hold
    /// token ids at all (a cache without ids has nothing to show either way).
    private func tokenizerPath(_ index: FeatureIndex, features: [Int]) -> String? {
        if let tokenizer { return tokenizer }
        let found = TokenizerLocation.lookup(cachePath: index.provenance.cachePath, metadata: index.provenance.cacheMetadata)
        if let problem = found.problem,
           features.contains(where: { j in index.topExemplars(j).contains { $0.contextTokens.contains { $0 >= 0 } } }) {
            warn(problem)
        }
        return found.path
    }

    /// The dictionary's labels from the labels database, when there is one (a database that
    /// cannot be read is a warning: the export goes on without labels).
    private func savedLabels(_ dictionary: SparseAutoencoder) -> LabelBook {
        guard FileManager.default.fileExists(atPath: LabelStore.defaultPath()) else { return LabelBook() }
        do {
            return try LabelStore(weightsPath: dictionary.provenance.weightsPath).load()
        } catch {
            warn("exporting without labels: \(error)")
            return LabelBook()
        }
    }

    private func warn(_ text: String) {
        FileHandle.standardError.write(Data("saescope: warning: \(text)\n".utf8))
    }
}
