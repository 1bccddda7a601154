import Foundation
import TestSupport
import XCTest

/// Labelling in the real binary under tmux: label a feature, quit, open again, find it by `/`.
final class LabelsEndToEndTests: XCTestCase {
    func testLabelQuitReopenAndFindTheLabelBySearch() throws {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-labels-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        func open() throws -> TmuxSession {
            let tmux = try TmuxSession(executable: SaescopeBinary.url.path, ["open", "--max-tokens", "6000"], width: 160, height: 40,
                                       environment: ["XDG_CACHE_HOME": home, "XDG_DATA_HOME": home, "TERM": "xterm-256color"],
                                       directory: InterfaceEndToEndTests.repository)
            try tmux.waitFor(text: "top exemplar", timeout: 120)
            return tmux
        }

        let first = try open()
        first.press("Down", "Down", "Down", "L")
        try first.waitFor(text: "label of 3:")
        first.type("zebra crossings in dialogue")
        first.press("Enter")
        try first.waitFor(text: "zebra cross")
        first.press("T")
        first.type("roads")
        first.press("Enter", "R")
        try first.waitFor(text: "feature 3: interpretable")
        first.press("q")
        let exit = try first.waitForExit()
        XCTAssertEqual(exit.code, 0, exit.screen)

        let second = try open()
        second.type("/zebra")
        second.press("Enter")
        let screen = try second.waitFor(text: "match 1 of 1 for \"zebra\"")
        XCTAssertTrue(screen.contains("zebra cross"), screen)
        second.press("Enter")
        let detail = try second.waitFor(text: "Feature 3")
        XCTAssertTrue(detail.contains("label     zebra crossings in dialogue"), detail)
        XCTAssertTrue(detail.contains("status    interpretable  #roads"), detail)
        second.type(":q")
        second.press("Enter")
        XCTAssertEqual(try second.waitForExit().code, 0)
    }
}
