import Foundation

extension IndexProvenance {
    /// Indexes written before saescope recorded canonical paths hold paths relative to the
    /// directory `index` ran in, which is unknown. Each relative path is resolved against the
    /// index file's directory when the file is there, else against the working directory when it
    /// is there; `resolutionNote` says which. A path found in neither (a file since moved, or a
    /// label that was never a file) is kept as recorded: the stale check and the tokenizer lookup
    /// say what is missing. Absolute paths are kept as recorded.
    func resolvingRelativePaths(indexPath: String) -> IndexProvenance {
        let indexDirectory = (CanonicalPath.of(indexPath) as NSString).deletingLastPathComponent
        let workingDirectory = FileManager.default.currentDirectoryPath
        var resolved: [String: String] = [:]
        var againstIndex = false, againstWorking = false
        func resolve(_ path: String) -> String {
            guard !path.isEmpty, !path.hasPrefix("/") else { return path }
            if let known = resolved[path] { return known }
            let besideIndex = CanonicalPath.of(path, base: indexDirectory), inWorking = CanonicalPath.of(path, base: workingDirectory)
            let result: String
            if FileManager.default.fileExists(atPath: besideIndex) {
                result = besideIndex
                againstIndex = true
            } else if FileManager.default.fileExists(atPath: inWorking) {
                result = inWorking
                againstWorking = true
            } else {
                result = path
            }
            resolved[path] = result
            return result
        }
        var copy = self
        copy.saePath = resolve(saePath)
        copy.cachePath = resolve(cachePath)
        copy.saeFingerprint = FileFingerprint.mapPaths(saeFingerprint, resolve)
        copy.cacheFingerprint = FileFingerprint.mapPaths(cacheFingerprint, resolve)
        var bases: [String] = []
        if againstIndex { bases.append("the index file's directory \(indexDirectory)") }
        if againstWorking { bases.append("the working directory \(workingDirectory)") }
        guard !bases.isEmpty else { return copy }
        copy.resolutionNote = "\(indexPath) records relative paths (an older saescope); resolved against " + bases.joined(separator: " and ")
            + ": rebuild the index to record absolute paths"
        return copy
    }
}
