import Foundation
import SAECore
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The text screen as a user meets it: the real binary in tmux with the real model server on a
/// tiny random Llama (tools/tests/bridge_reference.py builds it with a cache and a dictionary).
/// `i`, a sentence, Enter: the tokens and the features show, with the numbers `saescope text
/// --json` prints for the same text; Enter opens a feature, `q` comes back; the model process
/// killed, the next text is one line and the screen stays; quitting restores the terminal and
/// leaves no model process behind.
final class TextScreenEndToEndTests: XCTestCase {
    nonisolated(unsafe) private static var fixture: URL?
    private func fixture(_ env: ModelEnvironment) throws -> URL {
        if let folder = Self.fixture { return folder }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("text-ui-\(UUID().uuidString)")
        let output = ProcessRunner.run(env.python, [ModelTestSupport.tools.appendingPathComponent("tests/bridge_reference.py").path, folder.path])
        guard output.split(separator: "\n").last == "ok" else { throw XCTSkip("bridge_reference.py failed: \(output)") }
        Self.fixture = folder
        return folder
    }

    /// `open --sae S --index I --model M` with no cache: the hook comes from the dictionary's
    /// cfg.json (blocks.1.hook_resid_post), the model serves the text screen, and the features
    /// shown are `saescope text`'s.
    func testWithoutACacheTheDictionarysConfigHooksTheModelForTheTextScreen() throws {
        let env = try ModelTestSupport.environment()
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let folder = try fixture(env)
        let sae = folder.appendingPathComponent("sae").path, acts = folder.appendingPathComponent("acts_l1.safetensors").path
        let model = folder.appendingPathComponent("tiny-llama").path
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-e2e-site-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: home) }
        let index = (home as NSString).appendingPathComponent("tiny.index.safetensors")
        let built = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--out", index])
        XCTAssertEqual(built.status, 0, built.stderr)
        let tmux = try TmuxSession(executable: SaescopeBinary.url.path, ["open", "--sae", sae, "--index", index, "--model", model],
                                   width: 160, height: 48,
                                   environment: ["XDG_CACHE_HOME": home, "XDG_DATA_HOME": home, "TERM": "xterm-256color", "SAESCOPE_PYTHON": env.python])
        tmux.press("i")
        try tmux.waitFor(text: "Features over the text")
        tmux.type("Paris is the capital of France.")
        tmux.press("Enter")
        let screen = try tmux.waitFor("the scored text", timeout: 180) { $0.contains(" active · by max") && $0.contains(" capital") }
        XCTAssertFalse(screen.contains("no model attached"), screen)
        tmux.press("Escape")
        tmux.press("q")
        tmux.press("q")
        let exit = try tmux.waitForExit()
        XCTAssertEqual(exit.code, 0, exit.screen)
    }

    func testTypedTextShowsTokensAndFeaturesOpensOneAndQuitsCleanly() throws {
        let env = try ModelTestSupport.environment()
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let folder = try fixture(env)
        let sae = folder.appendingPathComponent("sae").path, acts = folder.appendingPathComponent("acts_l1.safetensors").path
        let model = folder.appendingPathComponent("tiny-llama").path
        let sentence = "Paris is the capital of France, and Berlin is the capital of Germany."
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-e2e-text-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: home) }
        let tmux = try TmuxSession(executable: SaescopeBinary.url.path, ["open", "--sae", sae, "--acts", acts, "--model", model],
                                   width: 160, height: 48,
                                   environment: ["XDG_CACHE_HOME": home, "XDG_DATA_HOME": home, "TERM": "xterm-256color", "SAESCOPE_PYTHON": env.python])
        try tmux.waitFor(text: "index complete", timeout: 120)
        tmux.press("i")
        try tmux.waitFor(text: "Features over the text")
        tmux.type(sentence)
        tmux.press("Enter")
        let screen = try tmux.waitFor("the scored text", timeout: 180) { $0.contains(" active · by max") && $0.contains(" capital") }

        // The token under the caret (its number in the tokens pane) and the first feature listed
        // there, against `saescope text --json` on the same text, dictionary and model.
        let run = try SaescopeBinary.run(["text", "--sae", sae, "--model", model, "--layer", "1", "--json", sentence],
                                         environment: ProcessInfo.processInfo.environment.merging(["SAESCOPE_PYTHON": env.python, "XDG_DATA_HOME": home]) { $1 })
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
        let tokens = try XCTUnwrap(object["tokens"] as? [[String: Any]])
        let position = try XCTUnwrap(screen.firstMatch(of: /token (\d+)\/(\d+)/), screen)
        XCTAssertEqual(Int(position.output.2), tokens.count, screen)
        let token = tokens[Int(position.output.1)! - 1]
        let top = try XCTUnwrap((token["features"] as? [[String: Any]])?.first, "no feature on the caret's token: \(token)")
        let feature = try XCTUnwrap(top["feature"] as? Int)
        let row = try XCTUnwrap(screen.split(separator: "\n").first { $0.contains("││#\(feature) ") }, "feature \(feature) is not first at the caret:\n\(screen)")
        let value = try XCTUnwrap(row.split(separator: "││").last?.split(separator: " ").dropFirst().first.flatMap { Double($0) }, String(row))
        let expected = try XCTUnwrap(top["activation"] as? Double)
        XCTAssertEqual(value, expected, accuracy: 0.005 * abs(expected) + 0.001, "as shown (three digits):\n\(screen)")

        // Enter opens the caret's first feature; q comes back to the text.
        tmux.press("Enter")
        try tmux.waitFor(text: "Feature \(feature) ")
        tmux.press("q")
        try tmux.waitFor(text: "Features over the text")

        // The model process dies: the next text is one line on the status line, the screen stays.
        let servers = ModelTestSupport.modelProcesses(folder)
        XCTAssertEqual(servers.count, 1, "one model server")
        for pid in servers { kill(pid, SIGKILL) }
        tmux.press("i")
        tmux.press("Enter")
        let failed = try tmux.waitFor(text: "scoring the text failed: ", timeout: 60)
        let statusLine = try XCTUnwrap(failed.split(separator: "\n").first { $0.hasPrefix("scoring the text failed: ") })
        XCTAssertTrue(failed.contains("Features over the text") && failed.contains(" capital"), failed)
        XCTAssertEqual(failed.components(separatedBy: "scoring the text failed").count, 2, "said once:\n\(failed)")
        XCTAssertLessThanOrEqual(statusLine.count, 160, String(statusLine))

        // Esc leaves the field, q goes back to the features tab, q quits.
        tmux.press("Escape")
        tmux.press("q")
        try tmux.waitFor(text: "[features]")
        tmux.press("q")
        let exit = try tmux.waitForExit()
        XCTAssertEqual(exit.code, 0, exit.screen)
        XCTAssertTrue(exit.cookedMode, "terminal restored:\n\(exit.screen)")
        let deadline = Date().addingTimeInterval(10)
        while !ModelTestSupport.modelProcesses(folder).isEmpty && Date() < deadline { usleep(100_000) }
        XCTAssertEqual(ModelTestSupport.modelProcesses(folder), [], "the model process outlived saescope")
    }
}
