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

    public var description: String {
        guard let file else { return message }
        return "\(file): \(message)"
    }

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
