import Foundation
import XCTest

/// `eval`'s SAEBench core metrics (densities, weight cosines, projection scale), each checked
/// against float64 numpy at 1e-6 relative: on the SAELens fixtures (the library's own codes and
/// reconstructions as the reference) and on a random dictionary wide enough to cross the blocked
/// GEMM's row blocks, with a duplicated decoder row and a zero one.
final class CoreMetricsCommandTests: XCTestCase {
    let fixtures = SaescopeBinary.fixtures
    static let newKeys = ["freq_over_1_percent", "freq_over_10_percent", "normalized_freq_over_1_percent",
                          "normalized_freq_over_10_percent", "average_max_decoder_cosine_sim", "average_max_encoder_cosine_sim",
                          "encoder_decoder_cosine_sim", "projection_scale", "mean_consistent_activation_heuristic"]

    /// numpy's definitions, as a Python function `expected(x, f, x_hat, W_enc, W_dec)` and a
    /// `check(got, want)` at 1e-6 relative; `tensors(path)` reads a safetensors file.
    private let reference = """
    import json, struct, sys
    import numpy as np
    def tensors(path):
        raw = open(path, 'rb').read()
        n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        out = {}
        for name, h in header.items():
            if name == '__metadata__' or h['dtype'] != 'F32': continue
            begin, end = h['data_offsets']
            out[name] = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype='<f4').reshape(h['shape']).astype(np.float64)
        return out
    def unit(rows):
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.where(norms > 0, rows / np.where(norms > 0, norms, 1), 0.0)
    def max_other(rows):
        u = unit(rows)
        c = u @ u.T
        np.fill_diagonal(c, -np.inf)
        return c.max(axis=1)
    def expected(x, f, x_hat, W_enc, W_dec):
        density = (f > 0).mean(axis=0)   # SAEBench counts f > 0
        total = density.sum()
        dec, enc = unit(W_dec), unit(W_enc.T)
        return {
            'freq_over_1_percent': (density > 0.01).mean(),
            'freq_over_10_percent': (density > 0.1).mean(),
            'normalized_freq_over_1_percent': density[density > 0.01].sum() / total if total > 0 else 0.0,
            'normalized_freq_over_10_percent': density[density > 0.1].sum() / total if total > 0 else 0.0,
            'average_max_decoder_cosine_sim': max_other(W_dec).mean(),
            'average_max_encoder_cosine_sim': max_other(W_enc.T).mean(),
            'encoder_decoder_cosine_sim': (dec * enc).sum(axis=1).mean(),
            'projection_scale': (x * x_hat).sum() / (x_hat * x_hat).sum(),
        }
    def check(got, want, label):
        for key, value in want.items():
            assert abs(got[key] - value) <= 1e-6 * max(abs(value), 1e-12), (label, key, got[key], value)

    """

    func testMatchesNumpyOnTheSAELensFixtures() throws {
        for name in ["saelens_standard", "saelens_topk", "saelens_jumprelu"] {
            let result = try SaescopeBinary.run(["eval", "--sae", fixtures.appendingPathComponent("dictionaries/\(name)").path,
                                                 "--acts", fixtures.appendingPathComponent("caches/tiny_f32.safetensors").path, "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-core-\(UUID().uuidString).json")
            try result.stdout.write(to: out, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: out) }
            try python(reference + """
            got = json.load(open('\(out.path)'))
            x = tensors('\(fixtures.path)/caches/tiny_f32.safetensors')['acts']
            ref = tensors('\(fixtures.path)/reference/\(name).safetensors')
            w = tensors('\(fixtures.path)/dictionaries/\(name)/sae_weights.safetensors')
            want = expected(x, ref['f'], ref['x_hat'], w['W_enc'], w['W_dec'])
            assert 0 < want['freq_over_10_percent'] < 1 and 0 < want['normalized_freq_over_10_percent'] < 1, want
            check(got, want, '\(name)')
            assert abs(got['projection_scale'] * got['relative_reconstruction_bias'] - 1) < 1e-12
            print('ok')
            """)
        }
    }

    /// compare --acts puts the same figures side by side: each dictionary's against numpy, in
    /// --json (under metrics.a / metrics.b) and in the table; --no-weight-cosines leaves the
    /// cosines out (null, n/a).
    func testCompareShowsBothDictionariesCoreMetricsAsNumpyComputesThem() throws {
        let acts = fixtures.appendingPathComponent("caches/tiny_f32.safetensors").path
        let names = ["saelens_standard", "saelens_topk"]
        let paths = names.map { fixtures.appendingPathComponent("dictionaries/\($0)").path }
        let result = try SaescopeBinary.run(["compare", "--a", paths[0], "--b", paths[1], "--acts", acts, "--json", "--no-baseline"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-core-compare-\(UUID().uuidString).json")
        try result.stdout.write(to: out, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: out) }
        try python(reference + """
        got = json.load(open('\(out.path)'))['metrics']
        x = tensors('\(acts)')['acts']
        for side, name in (('a', '\(names[0])'), ('b', '\(names[1])')):
            ref = tensors('\(fixtures.path)/reference/' + name + '.safetensors')
            w = tensors('\(fixtures.path)/dictionaries/' + name + '/sae_weights.safetensors')
            check(got[side], expected(x, ref['f'], ref['x_hat'], w['W_enc'], w['W_dec']), name)
        print('ok')
        """)
        let table = try SaescopeBinary.run(["compare", "--a", paths[0], "--b", paths[1], "--acts", acts, "--no-baseline", "--no-weight-cosines"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        let heading = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("SAEBench core metrics") }, table.stdout)
        for label in ["f>1%", "f>10%", "sh>1%", "sh>10%", "dec.max", "enc.max", "enc-dec", "proj.scale"] {
            XCTAssertTrue(lines[heading + 1].contains(label), lines[heading + 1])
        }
        // The cosines (three columns) are n/a; the density shares and the projection scale are numbers.
        for row in lines[(heading + 2)...(heading + 3)] {
            XCTAssertEqual(row.components(separatedBy: "n/a").count - 1, 3, row)
        }
        let json = try SaescopeBinary.run(["compare", "--a", paths[0], "--b", paths[1], "--acts", acts, "--no-baseline", "--no-weight-cosines", "--json"])
        let metrics = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["metrics"] as? [String: Any])
        let a = try XCTUnwrap(metrics["a"] as? [String: Any])
        XCTAssertTrue(a["average_max_decoder_cosine_sim"] is NSNull)
        XCTAssertNotNil(a["freq_over_1_percent"] as? Double)
    }

    /// F = 2600 crosses DecoderMatcher's 1024-row blocks; feature 7 duplicates feature 2500's
    /// decoder row (max cosine 1 for both), feature 11's decoder row is zero (cosine 0 with all).
    func testWideRandomDictionaryAcrossGEMMBlocks() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-core-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sae = directory.appendingPathComponent("sae").path, acts = directory.appendingPathComponent("acts.npy").path
        try python("""
        import json, os, struct
        import numpy as np
        rng = np.random.default_rng(7)
        d, f = 12, 2600
        W_enc = rng.normal(size=(d, f)).astype('<f4')
        W_dec = rng.normal(size=(f, d)).astype('<f4')
        W_dec[7] = W_dec[2500]
        W_dec[11] = 0
        b_enc = (rng.normal(size=f) - 2.5).astype('<f4')   # a spread of densities around 1% and 10%
        b_dec = np.zeros(d, '<f4')
        os.makedirs('\(sae)')
        tensors = {'W_dec': W_dec, 'W_enc': W_enc, 'b_dec': b_dec, 'b_enc': b_enc}
        header, blobs, offset = {}, [], 0
        for name, array in tensors.items():
            blob = array.tobytes()
            header[name] = {'dtype': 'F32', 'shape': list(array.shape), 'data_offsets': [offset, offset + len(blob)]}
            blobs.append(blob)
            offset += len(blob)
        text = json.dumps(header).encode()
        open('\(sae)/sae_weights.safetensors', 'wb').write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
        json.dump({'architecture': 'standard', 'd_in': d, 'd_sae': f, 'dtype': 'float32', 'device': 'cpu',
                   'apply_b_dec_to_input': True, 'normalize_activations': 'none',
                   'metadata': {'model_name': 'fixture', 'hook_name': 'blocks.0.hook_resid_post', 'context_size': 16}},
                  open('\(sae)/cfg.json', 'w'))
        np.save('\(acts)', rng.normal(size=(500, d)).astype('<f4'))
        print('ok')
        """)
        let result = try SaescopeBinary.run(["eval", "--sae", sae, "--acts", acts, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = directory.appendingPathComponent("eval.json")
        try result.stdout.write(to: out, atomically: true, encoding: .utf8)
        try python(reference + """
        got = json.load(open('\(out.path)'))
        w = tensors('\(sae)/sae_weights.safetensors')
        x = np.load('\(acts)').astype(np.float64)
        f = np.maximum((x - w['b_dec']) @ w['W_enc'] + w['b_enc'], 0)
        x_hat = f @ w['W_dec'] + w['b_dec']
        want = expected(x, f, x_hat, w['W_enc'], w['W_dec'])
        assert 0 < want['freq_over_10_percent'] < want['freq_over_1_percent'] < 1, want
        assert max_other(w['W_dec'])[7] > 1 - 1e-12 and max_other(w['W_dec'])[11] == 0
        check(got, want, 'random F=2600')
        print('ok')
        """)
    }

    func testTableAndHelpNameEveryNewMetric() throws {
        let result = try SaescopeBinary.run(["eval", "--sae", fixtures.appendingPathComponent("dictionaries/saelens_standard").path,
                                             "--acts", fixtures.appendingPathComponent("caches/tiny_f32.safetensors").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        for label in ["features over 1% density", "firing share over 10% density", "mean max decoder cosine",
                      "mean max encoder cosine", "mean encoder-decoder cosine", "projection scale"] {
            XCTAssertTrue(result.stdout.contains(label), label)
        }
        let skipped = try SaescopeBinary.run(["eval", "--sae", fixtures.appendingPathComponent("dictionaries/saelens_standard").path,
                                              "--acts", fixtures.appendingPathComponent("caches/tiny_f32.safetensors").path,
                                              "--no-weight-cosines", "--json"])
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(skipped.stdout.utf8)) as! [String: Any]
        for key in ["average_max_decoder_cosine_sim", "average_max_encoder_cosine_sim", "encoder_decoder_cosine_sim"] {
            XCTAssertTrue(object[key] is NSNull, key)
        }
        XCTAssertTrue(object["freq_over_1_percent"] is Double)
        let help = try SaescopeBinary.run(["eval", "--help"])
        for key in Self.newKeys { XCTAssertTrue(help.stdout.contains("[\(key)]"), key) }
    }
}
