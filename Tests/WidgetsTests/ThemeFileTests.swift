import Foundation
import XCTest
@testable import TUI
#if canImport(Glibc)
import Glibc
#endif

/// A theme path that is not a regular file falls back to the default theme at once (issue #13
/// item 8: a FIFO given as --theme would otherwise block start-up forever).
final class ThemeFileTests: XCTestCase {
    func testFIFOThemeFallsBackWithoutBlocking() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("theme-\(UUID().uuidString).toml").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { unlink(path) }
        let started = Date()
        let load = Theme.load(file: path)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(load.error, "\(path): cannot read the theme file; using the default theme (dark)")
    }
}
