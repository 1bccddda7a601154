import XCTest
import SAECore

/// `saescope eval` and `inspect` as a user runs them: output on success, and on bad input a
/// single line on stderr naming the file, exit code 2, nothing on stdout, no crash.
final class EvalCommandTests: XCTestCase {
    let fixtures = SaescopeBinary.fixtures
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func fixture(_ relative: String) -> String { fixtures.appendingPathComponent(relative).path }

    /// Copies a fixture dictionary folder into the scratch directory for tampering.
    private func copyDictionary(_ name: String) throws -> URL {
        let target = scratch.appendingPathComponent(name)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("dictionaries/\(name)"), to: target)
        return target
    }

    private func assertBadInput(_ arguments: [String], mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try SaescopeBinary.run(arguments)
        XCTAssertEqual(result.status, 2, "exit code; stderr: \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.stdout, "", file: file, line: line)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1, "exactly one line: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("saescope: "), result.stderr, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "'\(fragment)' missing from: \(result.stderr)", file: file, line: line)
        }
    }

    func testJSONHasExactlyTheDocumentedKeysAndTheLibraryValues() throws {
        let result = try SaescopeBinary.run(["eval", "--sae", fixture("dictionaries/saelens_topk"),
                                             "--acts", fixture("caches/tiny_sharded"), "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(Set(object.keys), Set(["mse", "explained_variance", "explained_variance_dictionary_learning", "fvu", "l0", "l1",
                                          "frac_alive", "cos_sim", "relative_reconstruction_bias", "l2_ratio", "n_tokens", "n_skipped", "rows",
                                          "measured_against"]
                                             + CoreMetricsCommandTests.newKeys))
        XCTAssertEqual(object["measured_against"] as? String, "acts")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("reference/saelens_topk.json"))) as! [String: Any]
        for (key, value) in reference {
            guard let expected = value as? Double, let actual = object[key] as? Double else { continue }
            XCTAssertEqual(actual, expected, accuracy: 1e-5 * max(1, abs(expected)), key)
        }
    }

    func testTableNamesEveryMetricAndTheNonFiniteRows() throws {
        let result = try SaescopeBinary.run(["eval", "--sae", fixture("dictionaries/dl_autoencoder/ae.pt"),
                                             "--acts", fixture("caches/with_nan.safetensors")])
        XCTAssertEqual(result.status, 0, result.stderr)
        for label in ["MSE", "explained variance", "FVU", "L0", "fraction alive", "relative reconstruction bias", "tokens evaluated"] {
            XCTAssertTrue(result.stdout.contains(label), label)
        }
        let skipped = result.stdout.split(separator: "\n").first { $0.hasPrefix("rows skipped (NaN/Inf)") }
        XCTAssertEqual(skipped?.split(separator: " ").last, "3", result.stdout)
    }

    func testInspectSaysHowTheDictionaryWasRead() throws {
        let result = try SaescopeBinary.run(["inspect", fixture("dictionaries/dl_autoencoder")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("AutoEncoder"))
        XCTAssertTrue(result.stdout.contains("D=16, F=48"))
        XCTAssertTrue(result.stdout.contains("rescaled to unit norm"), result.stdout)
    }

    func testMissingPath() throws {
        try assertBadInput(["eval", "--sae", "/nonexistent/sae", "--acts", fixture("caches/tiny_f32.safetensors")],
                           mentions: ["/nonexistent/sae", "no such file"])
    }

    func testTruncatedWeights() throws {
        let directory = try copyDictionary("saelens_standard")
        let weights = directory.appendingPathComponent("sae_weights.safetensors")
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count / 2).write(to: weights)
        try assertBadInput(["eval", "--sae", directory.path, "--acts", fixture("caches/tiny_f32.safetensors")],
                           mentions: ["sae_weights.safetensors", "outside the data section"])
    }

    func testHeaderOffsetsOutsideTheFile() throws {
        let path = scratch.appendingPathComponent("acts.safetensors")
        let header = #"{"acts":{"dtype":"F32","shape":[4,16],"data_offsets":[0,256]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        bytes.append(Data(header.utf8))
        bytes.append(Data(count: 16))
        try bytes.write(to: path)
        try assertBadInput(["eval", "--sae", fixture("dictionaries/dl_autoencoder"), "--acts", path.path],
                           mentions: [path.path, "data_offsets"])
    }

    func testShapeContradictingTheConfig() throws {
        let directory = try copyDictionary("saelens_standard")
        let config = directory.appendingPathComponent("cfg.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        object["d_sae"] = 50
        try JSONSerialization.data(withJSONObject: object).write(to: config)
        try assertBadInput(["eval", "--sae", directory.path, "--acts", fixture("caches/tiny_f32.safetensors")],
                           mentions: ["sae_weights.safetensors", "W_enc", "[16, 48]", "expected [16, 50]"])
    }

    func testCacheWidthDiffersFromTheDictionary() throws {
        let path = scratch.appendingPathComponent("wide.safetensors").path
        try Safetensors.write([.init(name: "acts", floats: [Float](repeating: 1, count: 24), shape: [3, 8])], to: path)
        try assertBadInput(["eval", "--sae", fixture("dictionaries/dl_autoencoder"), "--acts", path],
                           mentions: [path, "dimension 8", "expects 16"])
    }

    func testUnknownDictClass() throws {
        let directory = try copyDictionary("dl_topk")
        let config = directory.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "AutoEncoderTopK", with: "HyperSAE")
        try text.write(to: config, atomically: true, encoding: .utf8)
        try assertBadInput(["eval", "--sae", directory.path, "--acts", fixture("caches/tiny_f32.safetensors")],
                           mentions: ["config.json", "unknown dict_class 'HyperSAE'"])
    }

    func testUnknownArchitecture() throws {
        let directory = try copyDictionary("saelens_jumprelu")
        let config = directory.appendingPathComponent("cfg.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        object["architecture"] = "temporal"
        try JSONSerialization.data(withJSONObject: object).write(to: config)
        try assertBadInput(["eval", "--sae", directory.path, "--acts", fixture("caches/tiny_f32.safetensors")],
                           mentions: ["cfg.json", "unsupported SAELens architecture 'temporal'"])
    }

    func testMissingTensor() throws {
        let directory = try copyDictionary("sparsify_topk/layers.0")
        let weights = directory.appendingPathComponent("sae.safetensors").path
        let original = try Safetensors.read(path: weights)
        let kept = original.tensors.filter { $0.key != "b_dec" }.map { name, tensor in
            Safetensors.Entry(name: name, dtype: tensor.dtype, shape: tensor.shape, data: Array(tensor.rawBytes))
        }
        try Safetensors.write(kept, to: weights + ".new")
        try FileManager.default.removeItem(atPath: weights)
        try FileManager.default.moveItem(atPath: weights + ".new", toPath: weights)
        try assertBadInput(["eval", "--sae", directory.path, "--acts", fixture("caches/tiny_f32.safetensors")],
                           mentions: ["sae.safetensors", "missing tensor 'b_dec'"])
    }

    func testHostilePickleIsRefusedWithoutRunningIt() throws {
        let directory = scratch.appendingPathComponent("evil")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let hostile = try FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent("pickle").path)
            .filter { $0.hasPrefix("hostile") && $0.hasSuffix(".pt") }.sorted()
        XCTAssertFalse(hostile.isEmpty)
        for name in hostile {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("ae.pt"))
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("pickle/\(name)"), to: directory.appendingPathComponent("ae.pt"))
            try assertBadInput(["eval", "--sae", directory.path, "--acts", fixture("caches/tiny_f32.safetensors")], mentions: ["ae.pt"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/saescope-pwned"))
    }
}
