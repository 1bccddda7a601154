import Foundation
import SAECore
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `eval --model` through the real child process (python -m saescope_model serve) on a tiny
/// random Llama, against a reference computed by torch alone (tools/tests/bridge_reference.py:
/// the reconstruction spliced in by a forward hook), and the bridge's faults.
final class ModelBridgeTests: XCTestCase {
    /// The fixture folder (model, caches at blocks 1 and 0, dictionary, reference.json), built once.
    nonisolated(unsafe) private static var fixture: URL?
    nonisolated(unsafe) private static var fixtureError: String?

    private func fixture() throws -> URL {
        let env = try ModelTestSupport.environment()
        if let folder = Self.fixture { return folder }
        if let error = Self.fixtureError { throw XCTSkip(error) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bridge-\(UUID().uuidString)")
        let output = ProcessRunner.run(env.python, [ModelTestSupport.tools.appendingPathComponent("tests/bridge_reference.py").path, folder.path])
        guard output.split(separator: "\n").last == "ok" else {
            Self.fixtureError = "bridge_reference.py failed: \(output)"
            XCTFail(Self.fixtureError!)
            throw XCTSkip(Self.fixtureError!)
        }
        Self.fixture = folder
        return folder
    }

    private func reference(_ folder: URL, _ key: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("reference.json"))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?[key] as? [String: Any])
    }

    private func evalArguments(_ folder: URL, acts: String = "acts_l1.safetensors") -> [String] {
        ["eval", "--sae", folder.appendingPathComponent("sae").path, "--acts", folder.appendingPathComponent(acts).path,
         "--model", folder.appendingPathComponent("tiny-llama").path]
    }

    func testEvalModelEqualsTheTorchReference() throws {
        let folder = try fixture()
        for (convention, flags) in [("default", [String]()), ("patch_bos", ["--patch-bos"])] {
            let result = try SaescopeBinary.run(evalArguments(folder) + flags + ["--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let got = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let expected = try reference(folder, convention)
            let keys = ["ce_clean", "ce_with_sae", "ce_zero_ablation", "ce_mean_ablation", "loss_recovered",
                        "loss_recovered_mean_ablation", "kl_with_sae", "kl_zero_ablation", "kl_mean_ablation", "kl_score",
                        "ce_identity_splice"]
            for key in keys {
                let a = try XCTUnwrap(got[key] as? Double, key), e = try XCTUnwrap(expected[key] as? Double, key)
                XCTAssertEqual(a, e, accuracy: 1e-4 * abs(e), "\(convention) \(key)")
            }
            XCTAssertEqual(got["n_predictions"] as? Int, expected["n_predictions"] as? Int)
            let positions = try XCTUnwrap(got["ce_by_position"] as? [[String: Any]])
            let expectedPositions = try XCTUnwrap(expected["ce_by_position"] as? [[String: Any]])
            XCTAssertEqual(positions.count, expectedPositions.count)
            for (a, e) in zip(positions, expectedPositions) {
                XCTAssertEqual(a["position"] as? Int, e["position"] as? Int)
                XCTAssertEqual(a["n"] as? Int, e["n"] as? Int)
                for key in ["ce_clean", "ce_with_sae"] {
                    XCTAssertEqual(a[key] as! Double, e[key] as! Double, accuracy: 1e-4 * abs(e[key] as! Double), "\(convention) \(key)")
                }
            }
            // the conventions differ (the BOS position is patched or not), so the test tells them apart
            XCTAssertNotEqual(try reference(folder, "default")["ce_with_sae"] as? Double,
                              try reference(folder, "patch_bos")["ce_with_sae"] as? Double)
        }
        let table = try SaescopeBinary.run(evalArguments(folder))
        XCTAssertEqual(table.status, 0, table.stderr)
        for label in ["CE clean", "CE with SAE", "loss recovered", "KL score", "CE identity splice", "left unpatched when it holds the BOS id"] {
            XCTAssertTrue(table.stdout.contains(label), label)
        }
    }

    /// `--saebench-json` with a model: SAEBench's two model categories carry the torch reference's
    /// CE and KL numbers (ce_loss_score = loss recovered with zero ablation, kl_div_score = KL score).
    func testSAEBenchJSONCarriesTheModelScores() throws {
        let folder = try fixture()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("saebench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try SaescopeBinary.run(evalArguments(folder) + ["--saebench-json", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let written = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        let metrics = try XCTUnwrap(written["eval_result_metrics"] as? [String: [String: Any]])
        let expected = try reference(folder, "default")
        let pairs: [(String, String, String)] = [
            ("model_performance_preservation", "ce_loss_score", "loss_recovered"),
            ("model_performance_preservation", "ce_loss_with_ablation", "ce_zero_ablation"),
            ("model_performance_preservation", "ce_loss_with_sae", "ce_with_sae"),
            ("model_performance_preservation", "ce_loss_without_sae", "ce_clean"),
            ("model_behavior_preservation", "kl_div_score", "kl_score"),
            ("model_behavior_preservation", "kl_div_with_ablation", "kl_zero_ablation"),
            ("model_behavior_preservation", "kl_div_with_sae", "kl_with_sae"),
        ]
        for (category, key, referenceKey) in pairs {
            let got = try XCTUnwrap(metrics[category]?[key] as? Double, key), want = try XCTUnwrap(expected[referenceKey] as? Double, referenceKey)
            XCTAssertEqual(got, want, accuracy: 1e-4 * abs(want), key)
        }
        XCTAssertEqual(metrics["token_stats"]?["total_tokens_eval_reconstruction"] as? Int, expected["n_predictions"] as? Int)
        let config = try XCTUnwrap(written["eval_config"] as? [String: Any])
        XCTAssertEqual(config["compute_ce_loss"] as? Bool, true)
        XCTAssertEqual(config["compute_kl"] as? Bool, true)
    }

    /// --text: no cache; the same sequences (cut by the exporter's rules) give the same numbers.
    /// No --layer: the dictionary's cfg.json names the hook (blocks.1.hook_resid_post).
    func testEvalModelOnTextEqualsTheReference() throws {
        let folder = try fixture()
        let result = try SaescopeBinary.run(["eval", "--sae", folder.appendingPathComponent("sae").path,
                                             "--model", folder.appendingPathComponent("tiny-llama").path,
                                             "--text", folder.appendingPathComponent("corpus.txt").path, "--ctx", "12", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let got = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let expected = try reference(folder, "default")
        for key in ["ce_clean", "ce_with_sae", "ce_zero_ablation", "ce_mean_ablation", "kl_with_sae", "kl_mean_ablation", "loss_recovered"] {
            let a = try XCTUnwrap(got[key] as? Double, key), e = try XCTUnwrap(expected[key] as? Double, key)
            XCTAssertEqual(a, e, accuracy: 1e-4 * abs(e), key)
        }
        XCTAssertEqual(got["n_predictions"] as? Int, expected["n_predictions"] as? Int)
    }

    /// `bench model` runs eval --model end to end (its CE figure is the reference's) beside plain
    /// passes and prints the ratio; `bench scan` times sentences to their features.
    func testModelBenchmarksRunOnTheTinyModel() throws {
        let folder = try fixture()
        let model = folder.appendingPathComponent("tiny-llama").path, sae = folder.appendingPathComponent("sae").path
        let bench = try SaescopeBinary.run(["bench", "model", "--sae", sae, "--acts", folder.appendingPathComponent("acts_l1.safetensors").path,
                                            "--model", model, "--max-tokens", "100000"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains("x plain; in CPU time"), bench.stdout)
        XCTAssertTrue(bench.stdout.contains("the server applies the LM head in chunks"), bench.stdout)
        let clean = try XCTUnwrap(try reference(folder, "default")["ce_clean"] as? Double)
        XCTAssertTrue(bench.stdout.contains(String(format: "(ce_clean %.4f,", clean)), bench.stdout)
        let text = try SaescopeBinary.run(["bench", "scan", "--sae", sae, "--model", model, "--layer", "1", "--repeats", "2",
                                           "The cat sat on the mat."])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains(" tokens: first"), text.stdout)
    }

    func testActivationsFromAnotherLayerAreRejected() throws {
        let folder = try fixture()
        let result = try SaescopeBinary.run(evalArguments(folder, acts: "acts_l0.safetensors") + ["--layer", "1"])
        XCTAssertEqual(result.status, 2)
        let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("\r") }
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("acts_l0.safetensors") && result.stderr.contains("do not match")
                      && result.stderr.contains("layer 1") && result.stderr.contains("tiny-llama"), result.stderr)
    }

    func testMissingEnvironmentSaysHowToCreateIt() throws {
        var env = ProcessInfo.processInfo.environment
        env["SAESCOPE_PYTHON"] = nil
        env["XDG_CACHE_HOME"] = FileManager.default.temporaryDirectory.appendingPathComponent("no-env-\(UUID().uuidString)").path
        let cache = SaescopeBinary.fixtures.appendingPathComponent("caches/tiny_sharded").path
        let result = try SaescopeBinary.run(["eval", "--sae", SaescopeBinary.fixtures.appendingPathComponent("dictionaries/saelens_topk").path,
                                             "--acts", cache, "--model", "/nonexistent"], environment: env)
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("make model-env"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    func testEnvironmentPathIsTheMakefiles() throws {
        let env = ProcessInfo.processInfo.environment
        let pins = try Data(contentsOf: ModelTestSupport.tools.appendingPathComponent("requirements-model.txt"))
        let swiftPath = ModelEnvironment.environmentDirectory(pins: pins, environment: env) + "/bin/python"
        let pythonPath = ProcessRunner.run("/usr/bin/env", ["python3", ModelTestSupport.tools.appendingPathComponent("model_env.py").path, "path"])
        XCTAssertEqual(swiftPath, pythonPath.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The child is killed while saescope waits on a request: one line naming the model process, exit 2.
    func testKilledChildIsAOneLineError() throws {
        let folder = try fixture()
        let (process, stderr) = try startSaescope(evalArguments(folder))
        let child = try waitForChild(of: process.processIdentifier)
        usleep(500_000)
        kill(child, SIGKILL)
        process.waitUntilExit()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 2, text)
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("\r") }
        XCTAssertEqual(lines.count, 1, text)
        XCTAssertTrue(text.contains("the model process was killed by signal 9 during `"), text)
    }

    /// saescope killed with SIGKILL (no chance to clean up): the child notices and exits by itself.
    func testChildDiesWithSaescope() throws {
        let folder = try fixture()
        let (process, _) = try startSaescope(evalArguments(folder))
        let child = try waitForChild(of: process.processIdentifier)
        usleep(500_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let deadline = Date().addingTimeInterval(10)
        while isAlive(child) && Date() < deadline { usleep(100_000) }
        XCTAssertFalse(isAlive(child), "the model process \(child) outlived saescope")
    }
}
