import Foundation

/// Opens any supported dictionary from a path: a directory (dictionary_learning trainer folder,
/// SAELens folder, sparsify hookpoint folder, Gemma Scope folder with `params.npz`, or a parent
/// holding exactly one of those), an `ae.pt` / `.pt` file, a `.npz` file, or a weights file whose
/// config sits beside it.
public enum DictionaryLoader {
    public static func load(path: String) throws -> SparseAutoencoder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SaescopeError("no such file or directory", file: path)
        }
        if isDirectory.boolValue { return try loadDirectory(path) }
        let name = (path as NSString).lastPathComponent
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        if name.hasSuffix(".pt") || name.hasSuffix(".pth") {
            return try DictionaryLearningLoader.load(weightsPath: path)
        }
        if name == "sae_weights.safetensors" { return try SAELensLoader.load(directory: folder) }
        if name == "sae.safetensors" { return try SparsifyLoader.load(directory: folder) }
        if name.hasSuffix(".npz") { return try GemmaScopeLoader.load(npzPath: path) }
        if name == "cfg.json" || name == "config.json" { return try loadDirectory(folder) }
        throw SaescopeError("not a dictionary: expected a directory, ae.pt, sae_weights.safetensors (SAELens), sae.safetensors (sparsify) or params.npz (Gemma Scope)", file: path)
    }

    private static func loadDirectory(_ directory: String) throws -> SparseAutoencoder {
        if let kind = kind(of: directory) { return try load(kind, directory) }
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        let candidates = children.filter { kind(of: (directory as NSString).appendingPathComponent($0)) != nil }
        switch candidates.count {
        case 1:
            return try loadDirectory((directory as NSString).appendingPathComponent(candidates[0]))
        case 0:
            throw SaescopeError("no dictionary here: expected ae.pt (dictionary_learning), cfg.json + sae_weights.safetensors (SAELens), cfg.json + sae.safetensors (sparsify) or params.npz (Gemma Scope)", file: directory)
        default:
            let listed = candidates.prefix(8).joined(separator: ", ") + (candidates.count > 8 ? ", ..." : "")
            throw SaescopeError("holds \(candidates.count) dictionaries (\(listed)); pass one of them", file: directory)
        }
    }

    private enum Kind { case dictionaryLearning, saeLens, sparsify, gemmaScope }

    private static func kind(of directory: String) -> Kind? {
        func exists(_ name: String) -> Bool {
            FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name))
        }
        if exists("ae.pt") { return .dictionaryLearning }
        if exists("sae_weights.safetensors") { return .saeLens }
        if exists("sae.safetensors") && exists("cfg.json") { return .sparsify }
        if exists("params.npz") { return .gemmaScope }
        return nil
    }

    private static func load(_ kind: Kind, _ directory: String) throws -> SparseAutoencoder {
        switch kind {
        case .dictionaryLearning: try DictionaryLearningLoader.load(weightsPath: (directory as NSString).appendingPathComponent("ae.pt"))
        case .saeLens: try SAELensLoader.load(directory: directory)
        case .sparsify: try SparsifyLoader.load(directory: directory)
        case .gemmaScope: try GemmaScopeLoader.load(npzPath: (directory as NSString).appendingPathComponent("params.npz"))
        }
    }
}
