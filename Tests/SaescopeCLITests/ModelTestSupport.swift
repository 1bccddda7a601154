import Foundation
import SAECore
import XCTest

/// What the tests that run the model server share: the repository's `tools/` folder and the model
/// environment (a skip, not a failure, where it is missing; `make test` builds it).
enum ModelTestSupport {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools")

    static func environment() throws -> ModelEnvironment {
        do {
            return try ModelEnvironment.locate(executable: SaescopeBinary.url.path)
        } catch {
            throw XCTSkip("the model environment is missing (\(error)); `make test` builds it")
        }
    }
}
