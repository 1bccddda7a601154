import XCTest
import SAECore

/// `saescope export --unembed`: logit effects in json/jsonl/csv/md checked by numpy against the
/// decoder rows jsonl exports and the unembedding (ids exact, values within 1e-5 relative; json's
/// are those rounded to 5 decimals as Neuronpedia's runner rounds them), the same
/// from a transposed `lm_head.weight`, token text from the cache's tokenizer, and the errors
/// (wrong D, too small a vocabulary) and warning (padded vocabulary).
final class ExportLogitEffectsTests: XCTestCase {
    var scratch: URL!
    var indexPath: String!
    let sae = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/dl_topk").path  // D = 16, F = 48
    let logits = SaescopeBinary.fixtures.appendingPathComponent("logits")

    override func setUpWithError() throws {
        (scratch, indexPath) = try SaescopeBinary.scratchWithTinyIndex(sae: sae, prefix: "saescope-logits")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    private func export(_ name: String, unembed: String, extra: [String] = []) throws -> (SaescopeBinary.Result, String) {
        let out = scratch.appendingPathComponent(name).path
        let result = try SaescopeBinary.run(["export", "--sae", sae, "--index", indexPath, "--features", "0,2-4,47",
                                             "--out", out, "--unembed", logits.appendingPathComponent(unembed).path] + extra)
        return (result, out)
    }


    func testEveryTextFormatCarriesLogitEffectsMatchingNumpy() throws {
        let (linesRun, jsonLines) = try export("f.jsonl", unembed: "cli_w_u.safetensors", extra: ["--decoder"])
        XCTAssertEqual(linesRun.status, 0, linesRun.stderr)
        XCTAssertEqual(linesRun.stderr, "")  // V = 100 = the tokenizer's size: no warning
        XCTAssertTrue(linesRun.stdout.contains("with logit effects"), linesRun.stdout)
        let (headRun, head) = try export("head.jsonl", unembed: "cli_lm_head.safetensors", extra: ["--decoder"])
        XCTAssertEqual(headRun.status, 0, headRun.stderr)
        let (batchRun, batch) = try export("f.json", unembed: "cli_w_u.safetensors")
        XCTAssertEqual(batchRun.status, 0, batchRun.stderr)
        let (csvRun, csv) = try export("f.csv", unembed: "cli_w_u.safetensors")
        XCTAssertEqual(csvRun.status, 0, csvRun.stderr)
        let (mdRun, md) = try export("f.md", unembed: "cli_w_u.safetensors")
        XCTAssertEqual(mdRun.status, 0, mdRun.stderr)
        try python("""
        import csv, json, struct
        import numpy as np
        raw = open('\(logits.appendingPathComponent("cli_w_u.safetensors").path)', 'rb').read()
        n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        begin, end = header['W_U']['data_offsets']
        w_u = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype='<f4').reshape(header['W_U']['shape']).astype(np.float64)
        assert w_u.shape == (16, 100)
        lines = [json.loads(l) for l in open('\(jsonLines)')]
        transposed = [json.loads(l) for l in open('\(head)')]
        neuronpedia = json.load(open('\(batch)'))['features']   # the json export: rounded as Neuronpedia's runner rounds
        rows = list(csv.DictReader(open('\(csv)', newline='')))
        assert [f['feature_index'] for f in lines] == [0, 2, 3, 4, 47]
        for f, t, line, row in zip(lines, transposed, neuronpedia, rows):
            values = np.array(f['decoder']) @ w_u
            top = np.argsort(-values, kind='stable')[:10].tolist()
            bottom = np.argsort(values, kind='stable')[:10].tolist()
            assert f['pos_token_ids'] == top, (f['feature_index'], f['pos_token_ids'], top)
            assert f['neg_token_ids'] == bottom, (f['feature_index'], f['neg_token_ids'], bottom)
            for key, ids in (('pos_values', top), ('neg_values', bottom)):
                assert all(abs(a - values[i]) <= 1e-5 * max(1, abs(values[i])) for a, i in zip(f[key], ids)), (key, f[key], values[ids])
            assert len(f['pos_str']) == 10 and len(f['neg_str']) == 10
            for key in ('pos_str', 'pos_values', 'pos_token_ids', 'neg_str', 'neg_values', 'neg_token_ids'):
                assert t[key] == f[key], key   # lm_head.weight [V, D] gives the very same numbers
            for key in ('pos_str', 'neg_str'):
                assert line[key] == f[key], key
            for key in ('pos_values', 'neg_values'):
                assert line[key] == np.round(np.array(f[key]), 5).tolist(), key
            assert row['pos_tokens'] == ' | '.join(f['pos_str']) and row['neg_tokens'] == ' | '.join(f['neg_str'])
            assert [np.float32(v) for v in row['pos_values'].split(' | ')] == [np.float32(v) for v in f['pos_values']]
        text = open('\(md)').read()
        assert text.count('Logit effects (W_dec[f] · W_U):') == 5 and '| promoted | logit | suppressed | logit |' in text
        print('ok')
        """)
        // Token text is the tokenizer's piece for each id.
        let tokenizer = try TokenizerVocabulary(path: SaescopeBinary.fixtures.appendingPathComponent("caches/tiny_sharded/tokenizer.json").path)
        let records = try String(contentsOfFile: jsonLines, encoding: .utf8).split(separator: "\n")
        for feature in try records.map({ try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }) {
            XCTAssertEqual(feature["pos_str"] as! [String], (feature["pos_token_ids"] as! [Int]).map(tokenizer.piece))
            XCTAssertEqual(feature["neg_str"] as! [String], (feature["neg_token_ids"] as! [Int]).map(tokenizer.piece))
        }
    }

    func testWrongWidthAndVocabularyErrors() throws {
        let wrong = logits.appendingPathComponent("w_u.safetensors").path  // W_U [12, 500]
        let (mismatch, out) = try export("x.json", unembed: "w_u.safetensors")
        XCTAssertEqual(mismatch.status, 2)
        XCTAssertEqual(mismatch.stderr, "saescope: \(wrong): tensor 'W_U' has shape [12, 500], read as [D, V], so D=12, but the dictionary has D=16\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let small = logits.appendingPathComponent("cli_small_v.safetensors").path
        let (tooSmall, _) = try export("y.json", unembed: "cli_small_v.safetensors")
        XCTAssertEqual(tooSmall.status, 2)
        XCTAssertTrue(tooSmall.stderr.hasPrefix("saescope: \(small): the unembedding has V=60 logits but the tokenizer "), tooSmall.stderr)
        XCTAssertEqual(tooSmall.stderr.split(separator: "\n").count, 1)

        let (padded, paddedOut) = try export("z.json", unembed: "cli_large_v.safetensors")
        XCTAssertEqual(padded.status, 0, padded.stderr)
        XCTAssertTrue(padded.stderr.hasPrefix("saescope: warning: "), padded.stderr)
        XCTAssertTrue(padded.stderr.contains("V=128 logits, the tokenizer 100 tokens"), padded.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: paddedOut))

        let (usage, _) = try export("w.safetensors", unembed: "cli_w_u.safetensors")
        XCTAssertNotEqual(usage.status, 0)
        XCTAssertTrue(usage.stderr.contains("--unembed adds logit effects to json, jsonl, csv and md exports"), usage.stderr)
    }
}
