import Foundation
import TestSupport
import XCTest

/// The compare screen as a user meets it: the real binary in tmux on the two sample dictionaries.
final class CompareScreenEndToEndTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let dictionaries = "samples/dictionaries/dictionary_learning"
    static let acts = "samples/activations/smollm2_l15_pride_and_prejudice.safetensors"

    /// The binary in a 120x36 pane with a private index cache; 6000 tokens keep the indexes quick.
    private func start(_ arguments: [String]) throws -> TmuxSession {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-e2e-compare-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        return try TmuxSession(executable: SaescopeBinary.url.path, ["open", "--max-tokens", "6000"] + arguments, width: 120, height: 36,
                               environment: ["XDG_CACHE_HOME": cache, "XDG_DATA_HOME": cache, "TERM": "xterm-256color"], directory: Self.repository)
    }

    private func assertExited(_ tmux: TmuxSession, code: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let exit = try tmux.waitForExit()
        XCTAssertEqual(exit.code, code, "exit code \(code) expected:\n\(exit.screen)", file: file, line: line)
        XCTAssertTrue(exit.cookedMode, "terminal restored:\n\(exit.screen)", file: file, line: line)
    }

    func testSampleComparesWithItsSecondDictionaryOnC() throws {
        let tmux = try start([])
        try tmux.waitFor(text: "index complete", timeout: 120)
        tmux.press("c")
        var screen = try tmux.waitFor(text: "1:1 optimal 1536 pairs", timeout: 120)
        for fragment in ["Metrics", "Decoder matching", "A>B", "B>A", ">=0.9", "A trainer_0", "in B trainer_1", "best first", "A's best-match cosines"] {
            XCTAssertTrue(screen.contains(fragment), "'\(fragment)' missing:\n\(screen)")
        }
        // B's index over the same tokens (6000 less the 47 BOS rows: the sample's dictionaries were
        // trained without BOS, so it is left out) fills in B's row of the metrics.
        try tmux.waitFor("B's index") { $0.contains("B trainer_1 · AutoEncoderTopK F=1536 · 5953 tokens") && !$0.contains("partial") }

        // Order keys, then a match of B at full size and back.
        tmux.press("s")
        try tmux.waitFor(text: "worst first")
        tmux.press("s")
        try tmux.waitFor(text: "unmatched <0.5")
        tmux.press("Tab", "j", "Enter")
        screen = try tmux.waitFor(text: "B trainer_1 · Feature")
        XCTAssertTrue(screen.contains("Matches in A trainer_0"), screen)
        XCTAssertTrue(screen.contains("Top 20 exemplars"), screen)
        tmux.press("q")
        screen = try tmux.waitFor(text: "Decoder matching")

        // A's side opens in the browser's detail screen; q comes back to the comparison.
        let selected = try XCTUnwrap(screen.range(of: #"Matches of A #(\d+)"#, options: .regularExpression).map { String(screen[$0].split(separator: "#").last!) })
        tmux.press("Tab", "Enter")
        screen = try tmux.waitFor(text: "Feature \(selected)")
        XCTAssertTrue(screen.contains("Decoder neighbours"), screen)
        tmux.press("q")
        try tmux.waitFor(text: "Decoder matching")
        // The compare screen is a tab: one q quits.
        tmux.press("q")
        try assertExited(tmux, code: 0)
    }

    func testSae2OpensOnTheCompareScreenAndComputesEverythingInTheBackground() throws {
        let tmux = try start(["--sae", "\(Self.dictionaries)/trainer_0", "--acts", Self.acts, "--sae2", "\(Self.dictionaries)/trainer_1"])
        try tmux.waitFor(text: "Decoder matching", timeout: 30)
        // The exemplar overlap needs the matching and both complete indexes.
        let screen = try tmux.waitFor(text: "top-exemplar overlap", timeout: 180)
        XCTAssertTrue(screen.contains("1:1 optimal 1536 pairs, mean cos 0.148"), screen)
        tmux.press("J")
        // Every job row, waited for together: a capture can fall between two rows of a redraw.
        let kinds = ["compare trainer_0", "index trainer_0", "index trainer_1", "top-exemplar overlap of 1536 pairs"]
        let jobs = try tmux.waitFor("every job on the jobs screen") { screen in kinds.allSatisfy { screen.contains($0) } }
        XCTAssertTrue(jobs.contains("Jobs"), jobs)
        // The jobs screen is a tab: one q quits.
        tmux.press("q")
        try assertExited(tmux, code: 0)
    }

    func testSae2OfAnotherWidthIsOneLineAndExitTwo() throws {
        let narrow = SaescopeBinary.fixtures.appendingPathComponent("compare/narrow_d8").path
        let tmux = try start(["--sae", "\(Self.dictionaries)/trainer_0", "--acts", Self.acts, "--sae2", narrow])
        let exit = try tmux.waitForExit(timeout: 30)
        XCTAssertEqual(exit.code, 2, exit.screen)
        let screen = exit.screen
        let errors = screen.split(separator: "\n").filter { $0.hasPrefix("saescope: ") }
        XCTAssertEqual(errors.count, 1, screen)
        XCTAssertTrue(errors.first?.contains("cannot compare dictionaries of different widths") == true, screen)
        XCTAssertTrue(errors.first?.contains("D=576") == true && errors.first?.contains("D=8") == true, screen)
    }
}
