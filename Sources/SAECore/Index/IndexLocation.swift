import Foundation

/// Where indexes live when no --out is given: one file per (dictionary, cache) pair.
public enum IndexLocation {
    public static func defaultPath(sae: String, acts: String) -> String {
        // $XDG_CACHE_HOME, else $HOME/.cache (the account's home only when $HOME is unset).
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (home as NSString).appendingPathComponent(".cache")
        let key = absolute(sae) + "\u{0}" + absolute(acts)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        // ae.pt keeps its own name here: the index files users already have keep theirs.
        let name = DictionaryName.of(sae, sharedFileNames: ["params.npz"])
        return ((base as NSString).appendingPathComponent("saescope") as NSString)
            .appendingPathComponent("\(name)-\(String(hash, radix: 16)).index.safetensors")
    }

    public static func prepareDirectory(for path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SaescopeError("cannot create the directory for the index", file: directory)
        }
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    }
}


/// The `tokenizer.json` that goes with an activation cache: the file its metadata names
/// (key `tokenizer`), beside the cache file or inside the cache directory. Looked up from the
/// cache's real location (canonical path), never from the working directory.
public enum TokenizerLocation {
    public struct Lookup: Sendable, Equatable {
        /// The tokenizer found, canonical; nil when there is none.
        public var path: String?
        /// Without a tokenizer: why, naming the file looked for, for one warning.
        public var problem: String?
    }

    public static func lookup(cachePath: String, metadata: [String: String]) -> Lookup {
        let cache = CanonicalPath.of(cachePath)
        guard let name = metadata["tokenizer"], !name.isEmpty else {
            return Lookup(path: nil, problem: "the cache \(cache) names no tokenizer in its metadata, so tokens show as <id> (give --tokenizer)")
        }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: cache, isDirectory: &isDirectory)
        let folder = isDirectory.boolValue ? cache : (cache as NSString).deletingLastPathComponent
        let path = CanonicalPath.of(name, base: folder)
        guard FileManager.default.fileExists(atPath: path) else {
            return Lookup(path: nil, problem: "no tokenizer at \(path) (named by the cache \(cache)), so tokens show as <id> (give --tokenizer)")
        }
        return Lookup(path: path, problem: nil)
    }

    public static func beside(cachePath: String, metadata: [String: String]) -> String? {
        lookup(cachePath: cachePath, metadata: metadata).path
    }
}
