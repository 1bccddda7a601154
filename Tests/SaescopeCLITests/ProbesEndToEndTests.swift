import Foundation
import TestSupport
import XCTest

/// The probes screen as a user meets it: `saescope` on the bundled sample (whose probe datasets
/// load with it), `p`, the PCA, the matrix, and a feature aligned with a probe opened in the browser.
final class ProbesEndToEndTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func testProbesScreenOnTheSample() throws {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let tmux = try TmuxSession(executable: SaescopeBinary.url.path, ["open", "--max-tokens", "6000"], width: 160, height: 48,
                                   environment: ["XDG_CACHE_HOME": cache, "XDG_DATA_HOME": cache, "TERM": "xterm-256color"], directory: Self.repository)
        try tmux.waitFor(text: "index complete", timeout: 120)

        // The PCA of cities coloured by its label, with the variance ratios, beside the matrix.
        tmux.press("p")
        var screen = try tmux.waitFor(text: "PCA  basis cities", timeout: 30)
        screen = try tmux.waitFor("the scatter's legend", timeout: 120) { $0.contains("true (") && $0.contains("variance PC1") }
        XCTAssertTrue(screen.contains("x: PC1  y: PC2"), screen)
        screen = try tmux.waitFor(text: "oracle", timeout: 180)
        for name in ["cities+neg_cities", "larger_than", "neg_cities"] { XCTAssertTrue(screen.contains(name), screen) }

        // Keys change the view: the next components, the union basis.
        tmux.press("]")
        try tmux.waitFor(text: "x: PC2  y: PC3")
        tmux.press("b", "b", "b", "b")
        try tmux.waitFor("the union basis") { $0.contains("basis all") && $0.contains("variance PC1") }

        // The selected probe's aligned features; Enter opens one in the browser.
        tmux.press("Tab", "Tab")
        screen = try tmux.waitFor("aligned features") { $0.contains("Features aligned with the dim probe trained on cities") && $0.contains("+1 ") }
        let firstID = try XCTUnwrap(screen.range(of: #"\+1\s+#(\d+)"#, options: .regularExpression).map { String(screen[$0]) }?
            .split(separator: "#").last.map(String.init))
        tmux.press("Enter")
        try tmux.waitFor(text: "Feature \(firstID)")
        tmux.press("q")
        try tmux.waitFor(text: "Features aligned with")
        tmux.press("q")
        let exit = try tmux.waitForExit()
        XCTAssertEqual(exit.code, 0, exit.screen)
        XCTAssertTrue(exit.cookedMode, "terminal restored:\n\(exit.screen)")
    }
}
