import Foundation

/// Whether a model reference (what `--model` and a cache's `model` metadata hold) names a model
/// on this machine, without starting Python: a file or directory that exists, `package:PKG/FILE`
/// inside the model environment's site-packages, or a hub name in the Hugging Face cache.
public enum ModelReference {
    public static let packagePrefix = "package:"

    public static func resolvesLocally(_ reference: String, python: String?,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        let manager = FileManager.default
        guard !reference.isEmpty else { return false }
        if reference.hasPrefix(packagePrefix) {
            let inside = String(reference.dropFirst(packagePrefix.count))
            guard let python, inside.contains("/") else { return false }
            // <prefix>/bin/python -> <prefix>/lib/python3.X/site-packages/PKG/FILE
            let prefix = ((python as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
            let lib = (prefix as NSString).appendingPathComponent("lib")
            let versions = ((try? manager.contentsOfDirectory(atPath: lib)) ?? []).filter { $0.hasPrefix("python") }
            return versions.contains { version in
                ["site-packages", "dist-packages"].contains { folder in
                    manager.fileExists(atPath: [lib, version, folder, inside].joined(separator: "/"))
                }
            }
        }
        if manager.fileExists(atPath: reference) { return true }
        if reference.hasPrefix("/") || reference.hasPrefix(".") || reference.lowercased().hasSuffix(".gguf") { return false }
        // A hub name: transformers' local cache, models--ORG--NAME under the hub cache folder.
        let home = environment["HOME"] ?? NSHomeDirectory()
        let hfHome = environment["HF_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.cache") as NSString).appendingPathComponent("huggingface")
        let hub = environment["HF_HUB_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? (hfHome as NSString).appendingPathComponent("hub")
        let folder = "models--" + reference.replacingOccurrences(of: "/", with: "--")
        return manager.fileExists(atPath: ((hub as NSString).appendingPathComponent(folder) as NSString).appendingPathComponent("snapshots"))
    }
}
