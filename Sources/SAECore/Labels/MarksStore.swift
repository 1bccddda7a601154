import Foundation

/// The features a user marked in a dictionary, kept across launches: one small JSON file per
/// dictionary under saescope's data directory (`$XDG_DATA_HOME/saescope/marks/`, else
/// `~/.local/share/saescope/marks/`), named by the `ContentFingerprint` of the dictionary's
/// weights file. A labels store (SQLite) is to take this over; until then this is the one place
/// marks are read and written.
public struct MarksStore: Sendable {
    /// The file this dictionary's marks live in.
    public let path: String

    public init(directory: String, fingerprint: String) {
        path = (directory as NSString).appendingPathComponent("marks-\(fingerprint).json")
    }

    /// The store for the dictionary whose weights are `weightsPath`; nil when the file cannot be read.
    public init?(weightsPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let fingerprint = ContentFingerprint.of(file: weightsPath) else { return nil }
        self.init(directory: (Self.dataDirectory(environment: environment) as NSString).appendingPathComponent("marks"),
                  fingerprint: fingerprint)
    }

    /// `$XDG_DATA_HOME/saescope`, or `~/.local/share/saescope` (the XDG base directory default).
    public static func dataDirectory(environment: [String: String]) -> String {
        let base = environment["XDG_DATA_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share"
        return (base as NSString).appendingPathComponent("saescope")
    }

    private struct File: Codable {
        var version = 1
        var dictionary: String
        var marks: [Int]
    }

    /// The saved marks (none when there is no file yet). A damaged file is an error naming it.
    public func load() throws -> Set<Int> {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do {
            let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            return Set(file.marks)
        } catch {
            throw SaescopeError("the saved marks could not be read (\(error.localizedDescription))", file: path)
        }
    }

    /// Replaces the saved marks (written to a temporary file, then renamed over the old one, so a
    /// crash leaves the old or the new file, never half of one). No marks: the file is removed.
    public func save(_ marks: Set<Int>, dictionary: String) throws {
        let manager = FileManager.default
        if marks.isEmpty {
            if manager.fileExists(atPath: path) {
                do { try manager.removeItem(atPath: path) } catch { throw SaescopeError("cannot remove the saved marks", file: path) }
            }
            return
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(File(dictionary: dictionary, marks: marks.sorted()))
            let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
            try data.write(to: URL(fileURLWithPath: temporary))
            if rename(temporary, path) != 0 {
                try? manager.removeItem(atPath: temporary)
                throw SaescopeError("cannot save the marks (\(String(cString: strerror(errno))))", file: path)
            }
        } catch let error as SaescopeError {
            throw error
        } catch {
            throw SaescopeError("cannot save the marks (\(error.localizedDescription))", file: path)
        }
    }
}
