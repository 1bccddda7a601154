/// The one error type every reader and computation in the core throws.
///
/// Its description is the single line a user sees: the file it concerns, then the problem.
public struct SaescopeError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String?
    public let message: String

    public init(_ message: String, file: String? = nil) {
        self.file = file
        self.message = message
    }

    /// One line, however the message was built: line breaks become spaces and a message longer
    /// than `maximumMessageLength` is cut (errors quote file content; a file cannot make them long).
    public var description: String {
        let line = Quoted.text(message, limit: Self.maximumMessageLength)
        guard let file else { return line }
        return "\(Quoted.text(file, limit: Self.maximumMessageLength)): \(line)"
    }

    public static let maximumMessageLength = 1000

    /// The same problem, attributed to a file (keeps an attribution that is already there).
    public func attributed(to path: String) -> SaescopeError {
        file == nil ? SaescopeError(message, file: path) : self
    }
}

/// Runs `body`, attributing any `SaescopeError` without a file to `path`.
@inlinable
public func attributingErrors<T>(to path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as SaescopeError {
        throw error.attributed(to: path)
    }
}

/// Text from a file (or any untrusted source) as an error quotes it: control characters shown
/// as spaces or '?', and at most `limit` characters, the rest replaced by an ellipsis and a count.
public enum Quoted {
    public static let defaultLimit = 200

    public static func text(_ text: String, limit: Int = defaultLimit) -> String {
        var result = ""
        var count = 0
        for character in text {
            if count == limit {
                let rest = text.count - limit
                return result + "... (\(rest) more characters)"
            }
            if character.isNewline || character == "\t" {
                result.append(" ")
            } else if let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1,
                      scalar.value < 0x20 || scalar.value == 0x7F {
                result.append("?")
            } else {
                result.append(character)
            }
            count += 1
        }
        return result
    }
}
