import ArgumentParser
import Foundation
import SAECore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export selected features: dashboard JSON, JSON lines (.gz), CSV, a Markdown report, or decoder/encoder rows as safetensors.",
        discussion: """
        With --unembed, json/jsonl/csv/md include each feature's logit effects, W_dec[f] @ W_U: the 10 vocabulary
        entries it raises most (pos_str, pos_values, pos_token_ids) and lowers most (neg_*), as web dashboards show
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
    @Flag(help: "Include each feature's decoder vector in json/jsonl.") var decoder = false
    @Option(help: "Unembedding W_U [D, V] (safetensors or npy): add logit effects to json/jsonl/csv/md.") var unembed: String?
    @Flag(help: "Replace an existing file.") var force = false

    func validate() throws {
        if let format, FeatureExporter.Format(rawValue: format) == nil {
            throw ValidationError("--format must be one of json, jsonl, csv, md, safetensors")
        }
        if format == nil, Self.formatFromExtension(out) == nil {
            throw ValidationError("cannot tell the format from '\(out)'; pass --format")
        }
        if unembed != nil, (format.flatMap(FeatureExporter.Format.init(rawValue:)) ?? Self.formatFromExtension(out)) == .safetensors {
            throw ValidationError("--unembed adds logit effects to json, jsonl, csv and md exports; safetensors exports hold weight rows only")
        }
    }

    static func formatFromExtension(_ path: String) -> FeatureExporter.Format? {
        if path.hasSuffix(".jsonl.gz") || path.hasSuffix(".jsonl") { return .jsonl }
        return FeatureExporter.Format(rawValue: (path as NSString).pathExtension.lowercased())
    }

    func run() throws {
        let chosenFormat = format.flatMap(FeatureExporter.Format.init(rawValue:)) ?? Self.formatFromExtension(out)!
        let dictionary = try DictionaryLoader.load(path: sae)
        let featureIndex = try IndexFile.read(path: index)
        let ids = try FeatureSelection.parse(features, featureCount: featureIndex.featureCount)
        // The cache is checked too when it is still where the index says (export never reads it otherwise).
        let cache = try? ActivationCache(path: featureIndex.provenance.cachePath)
        if let stale = cache.map({ featureIndex.provenance.staleness(sae: dictionary, cache: $0) }) ?? featureIndex.provenance.dictionaryStaleness(sae: dictionary) {
            FileHandle.standardError.write(Data("saescope: warning: \(index) is stale: \(stale); rebuild it with saescope index\n".utf8))
        }
        let tokenizerFile = tokenizerPath(featureIndex)
        // Every file this run reads, the tokenizer found beside the cache included, is safe from --out.
        try OutputFile.checkWritable(out, overwrite: force, inputs: [sae, index, tokenizerFile, unembed, featureIndex.provenance.cachePath].compactMap { $0 })
        let vocabulary = try tokenizerFile.map { try TokenizerVocabulary(path: $0) }
        let unembedding = try unembed.map { try Unembedding(path: $0, dimension: dictionary.inputDimension) }
        if let unembedding, let vocabulary, let warning = try unembedding.checkVocabulary(against: vocabulary) {
            FileHandle.standardError.write(Data("saescope: warning: \(warning)\n".utf8))
        }
        InterruptCleanup.install()
        try FeatureExporter.export(ids, format: chosenFormat,
                                   context: .init(index: featureIndex, sae: dictionary, saePath: sae, tokenizer: vocabulary, includeDecoder: decoder,
                                                  unembedding: unembedding),
                                   to: out, overwrite: force)
        print("exported \(ids.count) features to \(out) (\(chosenFormat.rawValue)\(unembedding == nil ? "" : ", with logit effects"))")
    }

    private func tokenizerPath(_ index: FeatureIndex) -> String? {
        if let tokenizer { return tokenizer }
        guard let name = index.provenance.cacheMetadata["tokenizer"] else { return nil }
        var isDirectory: ObjCBool = false
        let cache = index.provenance.cachePath
        FileManager.default.fileExists(atPath: cache, isDirectory: &isDirectory)
        let folder = isDirectory.boolValue ? cache : (cache as NSString).deletingLastPathComponent
        let path = (folder as NSString).appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
