import XCTest
import SAECore

/// `saescope export` round trips: what it writes is read back by Python's json, gzip and csv
/// modules and by numpy (safetensors parsed by hand), and the numbers equal the index's.
final class ExportCommandTests: XCTestCase {
    var scratch: URL!
    var indexPath: String!
    let sae = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/dl_topk").path

    override func setUpWithError() throws {
        (scratch, indexPath) = try SaescopeBinary.scratchWithTinyIndex(sae: sae, prefix: "saescope-export")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    private func export(_ format: String, _ name: String, features: String = "0,2-4", extra: [String] = []) throws -> String {
        let out = scratch.appendingPathComponent(name).path
        let result = try SaescopeBinary.run(["export", "--sae", sae, "--index", indexPath, "--features", features,
                                             "--format", format, "--out", out] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        return out
    }


    func testJSONAndJSONLinesRoundTrip() throws {
        let index = try IndexFile.read(path: indexPath)
        let json = try export("json", "f.json")
        let jsonl = try export("jsonl", "f.jsonl.gz", extra: ["--decoder"])
        let expected = [0, 2, 3, 4].map { j in "(\(j), \(index.density(j)), \(index.maxActivation(j)), \(index.topExemplars(j).count))" }
        try python("""
        import json, gzip, math
        batch = json.load(open('\(json)'))
        lines = [json.loads(l) for l in gzip.open('\(jsonl)', 'rt')]
        expected = [\(expected.joined(separator: ", "))]
        assert [f['feature_index'] for f in batch['features']] == [e[0] for e in expected]
        for f, line, (j, density, mx, ntop) in zip(batch['features'], lines, expected):
            assert line['feature_index'] == j and math.isclose(line['frac_nonzero'], density, rel_tol=1e-12)
            assert math.isclose(line['max_act'], mx, rel_tol=1e-6), (line['max_act'], mx)
            assert abs(f['frac_nonzero'] - density) <= 5e-6 + 1e-12   # the batch keeps 3 decimals of a percentage
            for record in (f, line):
                tops = [a for a in record['activations'] if a['bin_min'] == -1]
                assert len(tops) == ntop and all(a['bin_contains'] == -1 for a in tops)
                for a in record['activations']:
                    assert len(a['tokens']) == len(a['values']) and 0 <= a['qualifying_token_index'] < len(a['tokens'])
                if tops:
                    assert math.isclose(tops[0]['values'][tops[0]['qualifying_token_index']], mx, rel_tol=1e-6, abs_tol=5e-6)
            assert len(line['decoder']) == 16 and len(line['freq_hist_data_bar_heights']) == 50
            assert set(f) >= {'pos_str', 'pos_values', 'neg_str', 'neg_values', 'freq_hist_data_bar_values'}
        print('ok')
        """)
    }

    func testCSVMarkdownAndSafetensors() throws {
        let sae = try DictionaryLoader.load(path: self.sae)
        let csv = try export("csv", "f.csv")
        let jsonl = try export("jsonl", "f.jsonl")
        let md = try export("md", "f.md")
        let st = try export("safetensors", "f.safetensors")
        let row2 = sae.decoderRow(2).map { "\($0)" }.joined(separator: ", ")
        try python("""
        import csv, json, struct
        import numpy as np
        rows = list(csv.DictReader(open('\(csv)', newline='')))
        assert [int(r['feature_index']) for r in rows] == [0, 2, 3, 4]
        # top_tokens: each distinct firing token of the top exemplars once, with its count, most first.
        from collections import Counter
        for r, line in zip(rows, open('\(jsonl)')):
            f = json.loads(line)
            firing = [a['tokens'][a['qualifying_token_index']] for a in f['activations'] if a['bin_min'] == -1]
            counts = Counter(firing)
            ranked = sorted(counts, key=lambda t: (-counts[t], firing.index(t)))
            assert r['top_tokens'] == '; '.join(f'{t} ({counts[t]})' for t in ranked), (r['top_tokens'], firing)
        text = open('\(md)').read()
        assert '## Feature 3' in text and '**' in text
        data = open('\(st)', 'rb').read()
        (n,) = struct.unpack('<Q', data[:8]); header = json.loads(data[8:8 + n]); base = 8 + n
        def tensor(name, dtype):
            b, e = header[name]['data_offsets']
            return np.frombuffer(data[base + b:base + e], dtype=dtype).reshape(header[name]['shape'])
        assert tensor('feature_ids', np.int64).tolist() == [0, 2, 3, 4]
        assert header['__metadata__']['feature_ids'] == '0,2,3,4'
        assert np.allclose(tensor('decoder', np.float32)[1], np.array([\(row2)], dtype=np.float32), rtol=0, atol=0)
        assert tensor('encoder', np.float32).shape == (4, 16)
        print('ok')
        """)
    }

    func testBadSelectionsAndExistingFiles() throws {
        let out = scratch.appendingPathComponent("x.csv").path
        var result = try SaescopeBinary.run(["export", "--sae", sae, "--index", indexPath, "--features", "3,48", "--out", out])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("feature 48 does not exist: valid ids are 0 to 47"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        _ = try export("csv", "x.csv")
        result = try SaescopeBinary.run(["export", "--sae", sae, "--index", indexPath, "--features", "all", "--out", out])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("exists already; pass --force"), result.stderr)
        let ids = scratch.appendingPathComponent("ids.txt")
        try "7\n# a comment\n9\n".write(to: ids, atomically: true, encoding: .utf8)
        result = try SaescopeBinary.run(["export", "--sae", sae, "--index", indexPath, "--features", "@\(ids.path)", "--out", out, "--force"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count, 3)
    }
}
