import Foundation
import TestSupport
import XCTest

/// The browser as a user meets it: the real binary in tmux on the bundled sample.
final class InterfaceEndToEndTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    private func start(_ arguments: [String] = [], width: Int = 100, height: Int = 30) throws -> (TmuxSession, String) {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let session = try TmuxSession(executable: SaescopeBinary.url.path, ["open", "--max-tokens", "6000"] + arguments, width: width, height: height,
                                      environment: ["XDG_CACHE_HOME": cache, "XDG_DATA_HOME": cache, "TERM": "xterm-256color"],
                                      directory: Self.repository)
        return (session, cache)
    }

    /// After the program ends, the pane's shell reports its exit code and the terminal mode.
    private func assertExitedCleanly(_ tmux: TmuxSession, code: Int = 0, file: StaticString = #filePath, line: UInt = #line) throws {
        let exit = try tmux.waitForExit()
        XCTAssertEqual(exit.code, code, "exit code \(code) expected:\n\(exit.screen)", file: file, line: line)
        XCTAssertTrue(exit.cookedMode, "canonical mode and echo restored:\n\(exit.screen)", file: file, line: line)
    }

    func testBrowseDetailSearchResizeMarkExportQuit() throws {
        let (tmux, cache) = try start()
        try tmux.waitFor(text: "index complete", timeout: 120)
        var screen = tmux.screen()
        XCTAssertTrue(screen.contains("trainer_0"), screen)
        XCTAssertTrue(screen.contains("density"), screen)

        // Move down three features and open the detail.
        tmux.press("Down", "Down", "j", "Enter")
        screen = try tmux.waitFor(text: "Feature 3")
        XCTAssertTrue(screen.contains("Top "), screen)
        XCTAssertTrue(screen.contains("Decoder neighbours"), screen)
        tmux.press("l")
        try tmux.waitFor(text: "Feature 4")
        tmux.press("q")
        try tmux.waitFor(text: "top exemplar")

        // Search for a token, then jump with the command line.
        tmux.type("/darcy")
        tmux.press("Enter")
        screen = try tmux.waitFor(text: "for \"darcy\"")
        XCTAssertTrue(screen.contains("match 1 of"), screen)
        tmux.type(":12")
        tmux.press("Enter")
        try tmux.waitFor(text: "Feature 12")
        tmux.press("q")

        // Resize: smaller still works, too small says so, back again redraws everything.
        tmux.resize(width: 64, height: 18)
        try tmux.waitFor("a 64-column frame") { $0.contains("saescope") && $0.split(separator: "\n").allSatisfy { $0.count <= 64 } }
        tmux.resize(width: 40, height: 10)
        try tmux.waitFor(text: "too small")
        tmux.resize(width: 100, height: 30)
        try tmux.waitFor(text: "top exemplar")

        // Mark two features and export them as CSV.
        let out = (cache as NSString).appendingPathComponent("marked.csv")
        tmux.press("g", "Space", "Space", "e", "C-u")
        tmux.type("csv \(out)")
        tmux.press("Enter")
        try tmux.waitFor(text: "exported 2 features")
        let csv = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3, "a header and two features")

        // Overview and jobs screens, then quit.
        tmux.press("o")
        try tmux.waitFor(text: "explained variance")
        tmux.press("J")
        try tmux.waitFor(text: "done")
        // Quitting with marked features asks first; they are kept for the next launch.
        tmux.press("q")
        try tmux.waitFor(text: "quit with 2 marked features (kept for the next launch)? (y/n)")
        tmux.press("y")
        try assertExitedCleanly(tmux)
    }

    func testSigtermAndCtrlCRestoreTheTerminal() throws {
        let (tmux, _) = try start()
        try tmux.waitFor(text: "saescope")
        let pid = try XCTUnwrap(tmux.programPID())
        kill(pid, SIGTERM)
        try assertExitedCleanly(tmux, code: 143)

        let (second, _) = try start()
        try second.waitFor(text: "saescope")
        second.press("C-c")
        try assertExitedCleanly(second)
    }

    func testNoTerminalIsAClearError() throws {
        let result = try SaescopeBinary.run(["open", "--sae", "/nonexistent"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("terminal"), result.stderr)
    }
}
