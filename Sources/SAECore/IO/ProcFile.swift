import Foundation

/// Linux /proc files, read whole: they report size 0, and `String(contentsOfFile:)` stops after
/// its first 4 KiB read there (a long /proc/self/maps or a many-core /proc/cpuinfo is cut).
enum ProcFile {
    static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
