import ArgumentParser
import Foundation
import SAECore

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export selected features: dashboard JSON, JSON lines (.gz), CSV, a Markdown report, or decoder/encoder rows as safetensors.")

    @Option(help: "Dictionary (as for eval).") var sae: String
    @Option(help: "Index file (from saescope index).") var index: String
    @Option(help: "Features: 1,5,9-12 or all or @file (one id per line).") var features: String
    @Option(help: "json, jsonl, csv, md or safetensors (default: from the --out extension).") var format: String?
    @Option(help: "File to write.") var out: String
    @Option(help: "tokenizer.json for token text (default: the one named in the cache metadata, beside the cache).") var tokenizer: String?
    @Flag(help: "Include each feature's decoder vector in json/jsonl.") var decoder = false
    @Flag(help: "Replace an existing file.") var force = false

    func validate() throws {
        if let format, FeatureExporter.Format(rawValue: format) == nil {
            throw ValidationError("--format must be one of json, jsonl, csv, md, safetensors")
        }
        if format == nil, Self.formatFromExtension(out) == nil {
            throw ValidationError("cannot tell the format from '\(out)'; pass --format")
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
        let vocabulary = try tokenizerPath(featureIndex).map { try TokenizerVocabulary(path: $0) }
        InterruptCleanup.install()
        try FeatureExporter.export(ids, format: chosenFormat,
                                   context: .init(index: featureIndex, sae: dictionary, saePath: sae, tokenizer: vocabulary, includeDecoder: decoder),
                                   to: out, overwrite: force)
        print("exported \(ids.count) features to \(out) (\(chosenFormat.rawValue))")
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
