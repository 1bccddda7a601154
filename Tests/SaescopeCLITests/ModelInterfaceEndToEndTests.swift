import Foundation
import SAECore
import TestSupport
import XCTest

/// `open --model` as a user meets it: the real binary in tmux, the real model server on a tiny
/// random Llama (tools/tests/bridge_reference.py builds it with a cache, a dictionary and the
/// torch reference of every CE key). The overview's CE rows must show the reference's numbers
/// (six significant digits, as the overview prints them); quitting restores the terminal and
/// leaves no model process behind.
final class ModelInterfaceEndToEndTests: XCTestCase {
    nonisolated(unsafe) private static var fixture: URL?
    private func fixture(_ env: ModelEnvironment) throws -> URL {
        if let folder = Self.fixture { return folder }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("model-ui-\(UUID().uuidString)")
        let output = ProcessRunner.run(env.python, [ModelTestSupport.tools.appendingPathComponent("tests/bridge_reference.py").path, folder.path])
        guard output.split(separator: "\n").last == "ok" else { throw XCTSkip("bridge_reference.py failed: \(output)") }
        Self.fixture = folder
        return folder
    }

    private func start(_ arguments: [String], environment: [String: String]) throws -> TmuxSession {
        guard TmuxSession.tmuxPath != nil else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-e2e-model-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        return try TmuxSession(executable: SaescopeBinary.url.path, ["open"] + arguments, width: 160, height: 48,
                               environment: ["XDG_CACHE_HOME": cache, "XDG_DATA_HOME": cache, "TERM": "xterm-256color"]
                                   .merging(environment) { $1 })
    }

    func testOpenWithModelShowsTheReferenceCEAndQuitsCleanly() throws {
        let env = try ModelTestSupport.environment()
        let folder = try fixture(env)
        let data = try Data(contentsOf: folder.appendingPathComponent("reference.json"))
        let reference = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["default"] as? [String: Any])
        let sae = folder.appendingPathComponent("sae").path, acts = folder.appendingPathComponent("acts_l1.safetensors").path
        let python = ["SAESCOPE_PYTHON": env.python]

        // --model given; then the same cache alone: its metadata names the model, which attaches by itself.
        for extra in [["--model", folder.appendingPathComponent("tiny-llama").path], []] {
            let tmux = try start(["--sae", sae, "--acts", acts] + extra, environment: python)
            try tmux.waitFor(text: "index complete", timeout: 120)
            tmux.press("o")
            let screen = try tmux.waitFor("CE rows", timeout: 180) { $0.contains("predictions ·") && $0.contains("loss recovered") }
            for (label, key) in [("CE clean", "ce_clean"), ("CE with SAE", "ce_with_sae"), ("loss recovered", "loss_recovered"),
                                 ("KL with SAE", "kl_with_sae"), ("KL score", "kl_score"), ("CE identity splice", "ce_identity_splice")] {
                // The row's value (six significant digits) against torch's, 1e-4 relative as for eval --model.
                let expected = try XCTUnwrap(reference[key] as? Double, key)
                let row = try XCTUnwrap(screen.split(separator: "\n").first { $0.contains("│\(label) ") }, "no row \(label):\n\(screen)")
                let cell = row.split(separator: "│")[0].split(separator: " ").last.map(String.init) ?? ""
                let shown = try XCTUnwrap(Double(cell), "\(label): '\(cell)' is not a number:\n\(screen)")
                XCTAssertEqual(shown, expected, accuracy: 1e-4 * abs(expected) + 5e-6 * abs(expected), "\(label)")
            }
            XCTAssertTrue(screen.contains("\(reference["n_predictions"] as? Int ?? -1) predictions · BOS left unpatched"), screen)
            XCTAssertTrue(screen.contains("CE by position") && screen.contains("tiny-llama layer 1 (model.layers.1)"), screen)
            XCTAssertFalse(ModelTestSupport.modelProcesses(folder).isEmpty, "the model server should be running")
            if !extra.isEmpty {
                // No --unembed: a feature's logit effects come from the model's own LM head.
                tmux.press("F")
                tmux.press("Enter")
                let detail = try tmux.waitFor("logit effects", timeout: 60) { $0.contains("Logit effects") && !$0.contains("computing") }
                XCTAssertTrue(detail.contains("promoted | suppressed"), detail)
                tmux.press("q")  // back to the features tab, from which q quits
            }
            tmux.press("q")
            let exit = try tmux.waitForExit()
            XCTAssertEqual(exit.code, 0, exit.screen)
            XCTAssertTrue(exit.cookedMode, "terminal restored:\n\(exit.screen)")
            let deadline = Date().addingTimeInterval(10)
            while !ModelTestSupport.modelProcesses(folder).isEmpty && Date() < deadline { usleep(100_000) }
            XCTAssertEqual(ModelTestSupport.modelProcesses(folder), [], "the model process outlived saescope")
        }
    }

    /// The cache names a model but there is no model environment: one line says how to create it.
    func testMissingEnvironmentIsAHintOnTheOverview() throws {
        let folder = try fixture(try ModelTestSupport.environment())
        let tmux = try start(["--sae", folder.appendingPathComponent("sae").path,
                              "--acts", folder.appendingPathComponent("acts_l1.safetensors").path], environment: ["SAESCOPE_PYTHON": ""])
        try tmux.waitFor(text: "index complete", timeout: 120)
        tmux.press("o")
        try tmux.waitFor(text: "CE loss: make model-env first")
        tmux.press("q")
        let exit = try tmux.waitForExit()
        XCTAssertEqual(exit.code, 0, exit.screen)
        XCTAssertTrue(exit.cookedMode, exit.screen)
    }
}
