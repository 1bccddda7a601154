import XCTest
import SAECore

/// Transcoders end to end through the binary: `eval` against a cache's targets (numbers from the
/// references SAELens / sparsify computed, tools/fixtures/make_transcoder_fixtures.py), the refusal
/// without targets, and index + export without targets, where the decoder rows and logit effects
/// are D_out wide (checked by numpy against the saved weights).
final class TranscoderCommandTests: XCTestCase {
    let fixtures = SaescopeBinary.fixtures
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-transcoder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func testEvalMeasuresAgainstTheTargetsAndSaysSo() throws {
        for (name, cache) in [("saelens_skip_transcoder", "tiny_targets_d12"), ("sparsify_transcoder", "tiny_targets_d16")] {
            let arguments = ["eval", "--sae", fixtures.appendingPathComponent("dictionaries/\(name)").path,
                             "--acts", fixtures.appendingPathComponent("caches/\(cache).safetensors").path]
            let table = try SaescopeBinary.run(arguments)
            XCTAssertEqual(table.status, 0, table.stderr)
            XCTAssertTrue(table.stdout.contains("measured     against the cache's targets"), table.stdout)
            // x is the target on that line, so the skip term names the input it reads.
            XCTAssertTrue(table.stdout.contains("+ input W_skip^T"), table.stdout)
            let json = try SaescopeBinary.run(arguments + ["--json", "--no-weight-cosines"])
            XCTAssertEqual(json.status, 0, json.stderr)
            let actual = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
            XCTAssertEqual(actual["measured_against"] as? String, "targets", name)
            let expected = try JSONConfig.read(path: fixtures.appendingPathComponent("reference/\(name).json").path)
            for key in ["mse", "explained_variance", "fvu", "l0", "l1", "frac_alive", "cos_sim", "relative_reconstruction_bias", "l2_ratio"] {
                let value = try XCTUnwrap(actual[key] as? Double, key), reference = try XCTUnwrap(try expected.double(key), key)
                XCTAssertEqual(value, reference, accuracy: 1e-5 * max(1, abs(reference)), "\(name) \(key)")
            }
        }
    }

    func testEvalWithoutTargetsIsOneLineNamingTheCache() throws {
        let cache = fixtures.appendingPathComponent("caches/tiny_f32.safetensors").path
        let result = try SaescopeBinary.run(["eval", "--sae", fixtures.appendingPathComponent("dictionaries/saelens_transcoder").path, "--acts", cache])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains(cache) && result.stderr.contains("targets"), result.stderr)
        // Names the tool that writes targets (saescope's own export has no such option).
        XCTAssertTrue(result.stderr.contains("tools/export_activations.py") && result.stderr.contains("--target-module"), result.stderr)
    }

    func testCompareNamesBothWidthsOfATranscoder() throws {
        let result = try SaescopeBinary.run(["compare", "--a", fixtures.appendingPathComponent("dictionaries/saelens_transcoder").path,
                                             "--b", fixtures.appendingPathComponent("dictionaries/saelens_skip_transcoder").path, "--no-baseline",
                                             "--acts", fixtures.appendingPathComponent("caches/tiny_targets_d12.safetensors").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let header = result.stdout.split(separator: "\n").prefix(2)
        XCTAssertEqual(header.count, 2, result.stdout)
        // Matched decoder rows are D_out = 12 wide; "D=16" alone named only the input.
        for line in header { XCTAssertTrue(line.contains("D_in=16 D_out=12, F=48"), String(line)) }
        XCTAssertTrue(result.stdout.contains("(64 tokens; transcoders measured against its targets)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("mean tokens per firing sequence"), result.stdout)
        XCTAssertFalse(result.stdout.contains("mean tokens per firing sequence = mean tokens per firing sequence"), result.stdout)
    }

    func testIndexAndExportWithoutTargetsUseTheOutputWidth() throws {
        let sae = fixtures.appendingPathComponent("dictionaries/saelens_jumprelu_skip_transcoder").path
        let index = scratch.appendingPathComponent("index.safetensors").path
        let built = try SaescopeBinary.run(["index", "--sae", sae, "--acts", fixtures.appendingPathComponent("caches/tiny_f32.safetensors").path,
                                            "--out", index, "--top-k", "3", "--context", "2"])
        XCTAssertEqual(built.status, 0, built.stderr)
        // W_U [D_out = 12, V = 100]: logit effects are W_dec[f] @ W_U in the transcoder's output space.
        let unembed = scratch.appendingPathComponent("w_u.safetensors").path
        var generator = SystemRandomNumberGenerator()
        let values = (0..<(12 * 100)).map { _ in Float.random(in: -1...1, using: &generator) }
        try Safetensors.write([.init(name: "W_U", floats: values, shape: [12, 100])], to: unembed)
        let lines = scratch.appendingPathComponent("f.jsonl").path
        let exported = try SaescopeBinary.run(["export", "--sae", sae, "--index", index, "--features", "0-5",
                                               "--out", lines, "--decoder", "--unembed", unembed])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        try python("""
        import json, struct
        import numpy as np
        def load_file(path):
            raw = open(path, 'rb').read()
            n = struct.unpack('<Q', raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            return {k: np.frombuffer(raw[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]], dtype='<f4').reshape(v['shape'])
                    for k, v in header.items() if k != '__metadata__'}
        w = load_file('\(sae)/sae_weights.safetensors')
        w_u = load_file('\(unembed)')['W_U'].astype(np.float64)
        records = [json.loads(l) for l in open('\(lines)')]
        assert [r['feature_index'] for r in records] == list(range(6))
        for r in records:
            row = w['W_dec'][r['feature_index']].astype(np.float64)
            assert len(r['decoder']) == 12 and np.allclose(r['decoder'], row, rtol=0, atol=1e-7)
            effects = row @ w_u
            top = np.argsort(-effects, kind='stable')[:10].tolist()
            assert r['pos_token_ids'] == top, (r['pos_token_ids'], top)
            assert all(abs(a - effects[i]) <= 1e-5 * max(1, abs(effects[i])) for a, i in zip(r['pos_values'], top))
        print('ok')
        """)
    }
}
