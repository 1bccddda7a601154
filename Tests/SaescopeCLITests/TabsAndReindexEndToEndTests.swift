import Foundation
import TestSupport
import XCTest

/// Tabs and the index kept per settings, as a user meets them: the real binary in tmux on the
/// bundled sample.
final class TabsAndReindexEndToEndTests: XCTestCase {
    static let repository = InterfaceEndToEndTests.repository

    /// The binary with private cache and data directories (shared by a test's launches).
    private func start(_ arguments: [String], scratch: String) throws -> TmuxSession {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        return try TmuxSession(executable: SaescopeBinary.url.path, ["open"] + arguments, width: 160, height: 40,
                               environment: ["XDG_CACHE_HOME": scratch, "XDG_DATA_HOME": scratch, "TERM": "xterm-256color"],
                               directory: Self.repository)
    }

    private func scratchDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-tabs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testEveryTabThenOneQQuits() throws {
        let tmux = try start(["--max-tokens", "6000"], scratch: try scratchDirectory())
        try tmux.waitFor(text: "index complete", timeout: 120)
        // A drill-down first (it is left by switching tabs), then every tab of the title bar.
        tmux.press("Enter")
        try tmux.waitFor(text: "Decoder neighbours")
        for (key, tab, content) in [("o", "overview", "explained variance"), ("J", "jobs", "x cancels the selected job"),
                                    ("p", "probes", "Probes"), ("F", "features", "top exemplar"), ("c", "compare", "Decoder matching")] {
            tmux.press(key)
            try tmux.waitFor("the \(tab) tab") { $0.contains("[\(tab)]") && $0.contains(content) }
        }
        // Esc on a tab does not quit; it says how.
        tmux.press("Escape")
        try tmux.waitFor(text: "nothing to go back to on a tab")
        tmux.press("q")
        let exit = try tmux.waitForExit()
        XCTAssertEqual(exit.code, 0, exit.screen)
        XCTAssertTrue(exit.cookedMode, "terminal restored:\n\(exit.screen)")
    }

    func testRelaunchAfterAReindexFindsTheDefaultIndexUnchanged() throws {
        let scratch = try scratchDirectory()
        var tmux = try start([], scratch: scratch)
        try tmux.waitFor(text: "index complete", timeout: 180)
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch + "/saescope")
        let defaultFile = scratch + "/saescope/" + (try XCTUnwrap(files.first { $0.hasSuffix(".index.safetensors") }))
        let before = try Data(contentsOf: URL(fileURLWithPath: defaultFile))

        // r on the overview: the prompt holds the settings; the cursor edits them in place.
        tmux.press("o", "r")
        // The sample's dictionary was trained without BOS: the settings say exclude-special=on.
        let suffix = "0.0 exclude-special=on"
        try tmux.waitFor(text: ":reindex top-k=20 context=5 min-act=" + suffix)
        tmux.press("End")
        for _ in 0..<suffix.count { tmux.press("BSpace") }
        tmux.type("1 max-tokens=3000 exclude-special=on")
        tmux.press("Enter")
        var screen = try tmux.waitFor(text: "index complete", timeout: 120)
        XCTAssertTrue(screen.contains("min-act=1 max-tokens=3000"), "the title bar names the settings:\n\(screen)")
        XCTAssertTrue(screen.contains("never do"), "thresholded counts are not called dead:\n\(screen)")
        tmux.press("q")
        _ = try tmux.waitForExit()

        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: defaultFile)), before, "the default index is untouched")
        let names = try FileManager.default.contentsOfDirectory(atPath: scratch + "/saescope")
        XCTAssertTrue(names.contains { $0.contains("min-act=1") && $0.contains("max-tokens=3000") && $0.hasSuffix(".index.safetensors") },
                      "no variant index file:\n\(names.joined(separator: "\n"))")

        // The next launch opens the default index at once: all tokens, no settings in the title.
        tmux = try start([], scratch: scratch)
        screen = try tmux.waitFor(text: "12.2k tokens", timeout: 60)
        XCTAssertFalse(screen.contains("min-act"), screen)
        XCTAssertFalse(screen.contains("PARTIAL") || screen.contains("indexing"), screen)
        tmux.press("q")
        XCTAssertEqual(try tmux.waitForExit().code, 0)
    }
}
