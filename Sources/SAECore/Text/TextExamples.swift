import Foundation

/// A marked example of a hypothesis about a feature: a text, the feature, and whether the
/// feature should fire on it (anywhere in the text). A file of them is JSON Lines, one object a
/// line: `{"text": "...", "feature": 1234, "should_fire": true}` (other keys are ignored, blank
/// lines skipped). Each dictionary has a saved set, appended to by `saescope text --save`, at
/// `$XDG_DATA_HOME/saescope/examples/<fingerprint>.jsonl` (the `ContentFingerprint` of its
/// weights file, so the set follows the weights when they move; a re-trained dictionary is a
/// new file: copy the set over to re-run the test on it).
public struct TextExample: Codable, Equatable, Sendable {
    public var text: String
    public var feature: Int
    public var shouldFire: Bool

    public init(text: String, feature: Int, shouldFire: Bool) {
        self.text = text
        self.feature = feature
        self.shouldFire = shouldFire
    }

    enum CodingKeys: String, CodingKey {
        case text, feature
        case shouldFire = "should_fire"
    }
}

public enum TextExampleFile {
    /// The examples of `path`, each checked against a dictionary of `featureCount` features; a
    /// bad line is an error naming the file and the line.
    public static func read(_ path: String, featureCount: Int) throws -> [TextExample] {
        guard let data = FileManager.default.contents(atPath: path) else { throw SaescopeError("no such readable file", file: path) }
        guard let text = String(data: data, encoding: .utf8) else { throw SaescopeError("not UTF-8 text", file: path) }
        var examples: [TextExample] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let example: TextExample
            do {
                example = try JSONDecoder().decode(TextExample.self, from: Data(trimmed.utf8))
            } catch {
                throw SaescopeError("line \(n + 1) is not an example {\"text\": string, \"feature\": integer, \"should_fire\": true/false}", file: path)
            }
            guard example.feature >= 0, example.feature < featureCount else {
                throw SaescopeError("line \(n + 1): feature \(example.feature) is outside the dictionary's \(featureCount) features", file: path)
            }
            guard !example.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw SaescopeError("line \(n + 1): the text is empty", file: path)
            }
            examples.append(example)
        }
        guard !examples.isEmpty else { throw SaescopeError("no examples in the file", file: path) }
        return examples
    }

    /// Appends `example` as one line (the folder made when missing).
    public static func append(_ example: TextExample, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(example)
        line.append(UInt8(ascii: "\n"))
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else { throw SaescopeError("cannot create the file", file: path) }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let end = try handle.seekToEnd()
            // A file whose last line lacks its newline (edited by hand) gets one first.
            if end > 0 {
                try handle.seek(toOffset: end - 1)
                if try handle.read(upToCount: 1) != Data([UInt8(ascii: "\n")]) { line.insert(UInt8(ascii: "\n"), at: 0) }
                try handle.seekToEnd()
            }
            try handle.write(contentsOf: line)
        } catch let error as SaescopeError {
            throw error
        } catch {
            throw SaescopeError("cannot append the example (\(error.localizedDescription))", file: path)
        }
    }

    /// The saved set of the dictionary whose weights are `weightsPath` (nil: the weights cannot be read).
    public static func savedPath(weightsPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let fingerprint = ContentFingerprint.of(file: weightsPath) else { return nil }
        return ((MarksStore.dataDirectory(environment: environment) as NSString).appendingPathComponent("examples") as NSString)
            .appendingPathComponent("\(fingerprint).jsonl")
    }
}

/// An example scored: the feature's highest activation over the text and where, whether it
/// fired (a nonzero code on any token), and whether that is what the example expects.
public struct TextExampleScore: Sendable {
    public let example: TextExample
    public let maxActivation: Float
    /// The first token holding the highest activation (nil: it never fired), and its id.
    public let position: Int?
    public let token: Int32?
    public var fired: Bool { position != nil }
    public var matches: Bool { fired == example.shouldFire }

    public init(_ example: TextExample, scan: TextFeatureScan) {
        self.example = example
        let best = scan.maxActivation(of: example.feature)
        maxActivation = best.value
        position = best.position
        token = best.position.map { scan.tokens[$0] }
    }
}
