import Foundation

/// The paths saescope records (index provenance, compare JSON, exports) are canonical: absolute,
/// without `.` or `..`, symlinks resolved. A relative path would mean something else as soon as the
/// file is read from another working directory (an index built in `data/` and exported from its
/// parent found no tokenizer, silently).
public enum CanonicalPath {
    /// `path` made absolute against `base` (the working directory by default), then resolved by
    /// `realpath`; a path that does not exist is only made absolute and standardised.
    public static func of(_ path: String, base: String = FileManager.default.currentDirectoryPath) -> String {
        let absolute = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
        if let resolved = realpath(absolute, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return (absolute as NSString).standardizingPath
    }

    /// The canonical path of an existing file; anything else (an in-memory cache's label, a
    /// benchmark's "synthetic") is not a file and is kept as given.
    public static func ofExisting(_ path: String) -> String {
        FileManager.default.fileExists(atPath: path) ? of(path) : path
    }
}

/// A file's fingerprint, "path:size:mtime" (several joined by ";" for a cache of several files):
/// enough to notice that a file changed. Paths are compared after canonicalisation, so a
/// fingerprint recorded with another spelling of the same path still matches.
public enum FileFingerprint {
    /// Path (canonical), size and modification time of the file at `path`.
    public static func of(_ path: String) -> String {
        let canonical = CanonicalPath.of(path)
        let attributes = try? FileManager.default.attributesOfItem(atPath: canonical)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(canonical):\(size):\(Int(modified))"
    }

    /// Whether two fingerprints (single or ";"-joined) name the same files with the same sizes and times.
    public static func same(_ x: String, _ y: String) -> Bool {
        let xs = x.split(separator: ";", omittingEmptySubsequences: false), ys = y.split(separator: ";", omittingEmptySubsequences: false)
        guard xs.count == ys.count else { return false }
        return zip(xs, ys).allSatisfy { a, b in
            guard let p = split(String(a)), let q = split(String(b)) else { return a == b }
            return CanonicalPath.of(p.path) == CanonicalPath.of(q.path) && p.rest == q.rest
        }
    }

    /// The fingerprint with each entry's path replaced by `transform(path)`.
    public static func mapPaths(_ fingerprint: String, _ transform: (String) -> String) -> String {
        fingerprint.split(separator: ";", omittingEmptySubsequences: false).map { entry in
            guard let parts = split(String(entry)) else { return String(entry) }
            return transform(parts.path) + ":" + parts.rest
        }.joined(separator: ";")
    }

    /// "path:size:mtime" as (path, "size:mtime"); the path may itself hold colons.
    private static func split(_ entry: String) -> (path: String, rest: String)? {
        let pieces = entry.split(separator: ":", omittingEmptySubsequences: false)
        guard pieces.count >= 3 else { return nil }
        return (pieces.dropLast(2).joined(separator: ":"), pieces.suffix(2).joined(separator: ":"))
    }
}
