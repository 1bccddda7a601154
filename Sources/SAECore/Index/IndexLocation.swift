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
        let name = ((sae as NSString).standardizingPath as NSString).lastPathComponent
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
/// (key `tokenizer`), beside the cache file or inside the cache directory.
public enum TokenizerLocation {
    public static func beside(cachePath: String, metadata: [String: String]) -> String? {
        guard let name = metadata["tokenizer"] else { return nil }
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: cachePath, isDirectory: &isDirectory)
        let folder = isDirectory.boolValue ? cachePath : (cachePath as NSString).deletingLastPathComponent
        let path = (folder as NSString).appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
