import Foundation
import SAECore
import XCTest

/// What the tests that run the model server share: the repository's `tools/` folder and the model
/// environment (a skip, not a failure, where it is missing; `make test` builds it).
enum ModelTestSupport {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools")

    /// Model servers (`saescope_model serve`) still running whose command line names `folder`.
    static func modelProcesses(_ folder: URL) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { return nil }
            let command = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return command.contains("saescope_model serve") && command.contains(folder.path) ? pid : nil
        }
    }

    static func environment() throws -> ModelEnvironment {
        do {
            return try ModelEnvironment.locate(executable: SaescopeBinary.url.path)
        } catch {
            throw XCTSkip("the model environment is missing (\(error)); `make test` builds it")
        }
    }
}
