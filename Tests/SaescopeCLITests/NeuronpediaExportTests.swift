import XCTest
@testable import SAECore

/// `saescope export --format json` is the batch file SAEDashboard's Neuronpedia runner writes.
/// The reference is the runner's own code from PyPI (sae-dashboard 0.8.0, installed by `make
/// test` without its torch dependencies): its `NeuronpediaDashboardBatch` must rebuild our file
/// key for key, and its `NeuronpediaRunnerConfig` must take our run_settings.json. The numbers are
/// checked against numpy on saescope's unrounded jsonl export, the cache and the unembedding.
final class NeuronpediaExportTests: XCTestCase {
    var scratch: URL!
    var indexPath: String!
    let sae = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/dl_topk").path  // D = 16, F = 48
    let unembed = SaescopeBinary.fixtures.appendingPathComponent("logits/cli_w_u.safetensors").path  // W_U [16, 100]
    let cache = SaescopeBinary.fixtures.appendingPathComponent("caches/tiny_sharded").path

    override func setUpWithError() throws {
        (scratch, indexPath) = try SaescopeBinary.scratchWithTinyIndex(sae: sae, prefix: "saescope-neuronpedia")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    @discardableResult
    private func export(_ name: String, _ arguments: [String], status: Int32 = 0) throws -> (String, SaescopeBinary.Result) {
        let out = scratch.appendingPathComponent(name).path
        let result = try SaescopeBinary.run(["export", "--sae", sae, "--index", indexPath, "--out", out] + arguments)
        XCTAssertEqual(result.status, status, result.stderr)
        return (out, result)
    }

    func testBatchIsTheRunnersShapeWithItsRounding() throws {
        let features = ["--features", "0,2-4,47", "--unembed", unembed]
        let (json, _) = try export("batch.json", features)
        let (raw, _) = try export("raw.jsonl", features + ["--decoder"])
        let (vector, _) = try export("vector.json", features + ["--decoder", "--model-id", "gpt2-small", "--layer", "8",
                                                                "--sae-set", "res-jb", "--sae-id-suffix", "v2", "--dataset", "monology/pile"])
        try python("""
        import json, glob, struct
        import numpy as np
        from sae_dashboard.neuronpedia.neuronpedia_dashboard import NeuronpediaDashboardBatch
        batch = json.load(open('\(json)'))
        # The runner's own batch class rebuilds our file exactly: no key missing, none extra.
        assert NeuronpediaDashboardBatch(**batch).to_dict() == batch
        assert (batch['model_id'], batch['layer'], batch['sae_set'], batch['sae_id_suffix']) == ('fixture', 0, 'dl_topk', None)
        # Types as the runner writes them: ints for indices, counts and the top exemplars' -1, floats elsewhere.
        ints = {'feature_index', 'neuron_alignment_indices', 'freq_hist_data_bar_heights', 'logits_hist_data_bar_heights',
                'n_prompts_total', 'n_tokens_in_prompt', 'correlated_neurons_indices', 'correlated_features_indices'}
        strings = {'neg_str', 'pos_str', 'dataset'}
        for f in batch['features']:
            for key, value in f.items():
                if key == 'activations':
                    continue
                kind = int if key in ints else str if key in strings else float
                assert all(type(x) is kind for x in (value if isinstance(value, list) else [value])), (key, value)
            for a in f['activations']:
                assert all(type(x) is float for x in a['values'] + [a['bin_max']]) and type(a['qualifying_token_index']) is int
                assert all(type(x) is str for x in a['tokens'])
                assert all(type(a[k]) is (int if a['bin_min'] == -1 else float) for k in ('bin_min', 'bin_contains'))
        other = json.load(open('\(vector)'))
        assert NeuronpediaDashboardBatch(**other).to_dict() == other
        assert (other['model_id'], other['layer'], other['sae_set'], other['sae_id_suffix']) == ('gpt2-small', 8, 'res-jb', 'v2')
        assert all(f['dataset'] == 'monology/pile' for f in other['features'])

        # Prompts: the cache's sequences (per-shard seq_offsets), the longest in tokens.
        lengths = []
        for path in sorted(glob.glob('\(cache)/shard_*.safetensors')):
            data = open(path, 'rb').read(); n = struct.unpack('<Q', data[:8])[0]; header = json.loads(data[8:8 + n])
            def tensor(name):
                b, e = header[name]['data_offsets']; dt = {'I64': '<i8', 'I32': '<i4'}[header[name]['dtype']]
                return np.frombuffer(data[8 + n + b:8 + n + e], dtype=dt)
            bounds = np.concatenate([[0], tensor('seq_offsets'), [header['tokens']['shape'][0]]])
            lengths += np.diff(bounds)[np.diff(bounds) > 0].tolist()

        raw_u = open('\(unembed)', 'rb').read(); n = struct.unpack('<Q', raw_u[:8])[0]; h = json.loads(raw_u[8:8 + n])
        b, e = h['W_U']['data_offsets']
        w_u = np.frombuffer(raw_u[8 + n + b:8 + n + e], dtype='<f4').reshape(h['W_U']['shape'])
        lines = [json.loads(l) for l in open('\(raw)')]
        for f, full, v in zip(batch['features'], lines, other['features']):
            assert f['feature_index'] == full['feature_index']
            assert f['n_prompts_total'] == len(lengths) and f['n_tokens_in_prompt'] == max(lengths), (f['n_prompts_total'], lengths)
            # Rounding: np.round(x, 5) exactly, as the runner's converter rounds.
            for key in ('pos_values', 'neg_values'):
                assert f[key] == np.round(np.array(full[key], dtype=np.float64), 5).tolist(), key
            assert f['pos_str'] == full['pos_str'] and f['neg_str'] == full['neg_str']
            assert f['frac_nonzero'] == float(f"{full['frac_nonzero']:.3%}"[:-1]) / 100
            if full['count'] > 0:
                assert f['freq_hist_data_bar_heights'] == full['freq_hist_data_bar_heights']
                assert f['freq_hist_data_bar_values'] == np.round(np.array(full['freq_hist_data_bar_values']), 5).tolist()
            else:
                assert f['freq_hist_data_bar_heights'] == [] and f['freq_hist_data_bar_values'] == []
            assert len(f['activations']) == len(full['activations'])
            for a, r in zip(f['activations'], full['activations']):
                assert a['tokens'] == r['tokens'] and a['qualifying_token_index'] == r['qualifying_token_index']
                assert a['values'] == np.round(np.array(r['values'], dtype=np.float64), 5).tolist()
                if r['bin_min'] == -1:
                    assert a['bin_min'] == -1 and a['bin_contains'] == -1 and type(a['bin_min']) is int
                    assert a['bin_max'] == float(f"{r['bin_max']:.3f}")
                else:
                    assert a['bin_min'] == float(f"{r['bin_min']:.3f}") and a['bin_max'] == float(f"{r['bin_max']:.3f}")
                    assert a['bin_contains'] == float(f"{r['bin_contains']:.3%}"[:-1]) / 100
            # Neuron alignment: the decoder row's 3 largest entries and their share of its L1 norm.
            row = np.array(full['decoder'], dtype=np.float64)
            top = np.argsort(-row, kind='stable')[:3]
            assert f['neuron_alignment_indices'] == top.tolist()
            assert f['neuron_alignment_values'] == np.round(row[top], 5).tolist()
            assert np.allclose(f['neuron_alignment_l1'], np.abs(row[top]) / np.abs(row).sum(), rtol=0, atol=1e-5)
            # Logit histogram: 50 equal bins of W_dec[f] @ W_U between its min and max.
            logits = row.astype(np.float32) @ w_u
            heights, edges = np.histogram(logits, bins=50, range=(logits.min(), logits.max()))
            assert f['logits_hist_data_bar_heights'] == heights.tolist(), (f['logits_hist_data_bar_heights'], heights.tolist())
            centres = edges[:-1] + (logits.max() - logits.min()) / 100
            assert np.allclose(f['logits_hist_data_bar_values'], centres, rtol=0, atol=2e-5)
            for key in ('correlated_neurons_indices', 'correlated_neurons_l1', 'correlated_neurons_pearson', 'correlated_features_indices',
                        'correlated_features_l1', 'correlated_features_pearson', 'decoder_weights_dist', 'vector'):
                assert f[key] == [], key
            assert v['vector'] == full['decoder']
        print('ok')
        """)
    }

    func testBatchSizeWritesTheRunnersDirectory() throws {
        let (directory, result) = try export("batches", ["--features", "all", "--batch-size", "20"])
        XCTAssertTrue(result.stdout.contains("48 features"), result.stdout)
        try python("""
        import json, os, dataclasses
        import numpy as np
        from sae_dashboard.neuronpedia.neuronpedia_dashboard import NeuronpediaDashboardBatch
        from sae_dashboard.neuronpedia.neuronpedia_runner_config import NeuronpediaRunnerConfig
        d = '\(directory)'
        assert sorted(os.listdir(d)) == ['batch-0.json', 'batch-1.json', 'batch-2.json', 'run_settings.json'], os.listdir(d)
        # The runner splits features with np.array_split into ceil(n / n_features_at_a_time) parts.
        expected = [p.tolist() for p in np.array_split(np.arange(48), int(np.ceil(48 / 20)))]
        for i, ids in enumerate(expected):
            batch = json.load(open(f'{d}/batch-{i}.json'))
            assert NeuronpediaDashboardBatch(**batch).to_dict() == batch
            assert [f['feature_index'] for f in batch['features']] == ids
        settings = json.load(open(f'{d}/run_settings.json'))
        config = NeuronpediaRunnerConfig(**settings)   # every key is one of the runner's settings
        assert set(settings) == {f.name for f in dataclasses.fields(NeuronpediaRunnerConfig)}, set(settings) ^ {f.name for f in dataclasses.fields(NeuronpediaRunnerConfig)}
        assert config.n_features_at_a_time == 20 and config.sae_set == 'dl_topk' and config.model_id == 'fixture' and config.layer == 0
        assert config.outputs_dir == d and config.end_batch == 2
        print('ok')
        """)
        // An existing directory is kept without --force and replaced with it.
        let (_, refused) = try export("batches", ["--features", "0-3", "--batch-size", "2"], status: 2)
        XCTAssertTrue(refused.stderr.contains("exists already; pass --force"), refused.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).count, 4)
        try export("batches", ["--features", "0-3", "--batch-size", "2", "--force"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["batch-0.json", "batch-1.json", "run_settings.json"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".partial-") || $0.contains(".replaced-") }, [])
        // Neuronpedia options belong to json only.
        let (_, usage) = try export("x.csv", ["--features", "0", "--batch-size", "2"], status: 64)
        XCTAssertTrue(usage.stderr.contains("--batch-size applies to json (Neuronpedia batch) exports only"), usage.stderr)
    }

    /// Batches as the runner cuts them: `numpy.array_split(ids, ceil(n / size))`, for every n and
    /// size up to 40 and 12.
    func testSplitMatchesNumpyArraySplit() throws {
        var cases: [String] = []
        for n in 1...40 {
            for size in 1...12 {
                let parts = NeuronpediaBatch.split(Array(0..<n), batchSize: size).map { $0.map(String.init).joined(separator: ",") }
                cases.append("(\(n), \(size), [\(parts.map { "[\($0)]" }.joined(separator: ", "))])")
            }
        }
        try python("""
        import math
        import numpy as np
        for n, size, ours in [\(cases.joined(separator: ", "))]:
            assert ours == [p.tolist() for p in np.array_split(np.arange(n), math.ceil(n / size))], (n, size, ours)
        print('ok')
        """)
    }

    /// The proof for the Markdown export: CommonMark (markdown-it-py, with tables) renders every
    /// exemplar's firing token inside <strong>, and nothing else.
    func testMarkdownFiringTokenRendersBold() throws {
        let (md, _) = try export("f.md", ["--features", "all"])
        let (raw, _) = try export("f.jsonl", ["--features", "all"])
        try python("""
        import json, re
        from markdown_it import MarkdownIt
        html = MarkdownIt('commonmark').enable('table').render(open('\(md)').read())
        expected = []
        for line in open('\(raw)'):
            f = json.loads(line)
            for a in f['activations']:
                if a['bin_min'] == -1:
                    token = a['tokens'][a['qualifying_token_index']].strip() or '␣'
                    expected.append(token.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;'))
        strong = re.findall(r'<strong>(.*?)</strong>', html)
        assert len(expected) > 20 and strong == expected, (len(strong), len(expected), [p for p in zip(strong, expected) if p[0] != p[1]][:5])
        assert '**' not in html
        print('ok')
        """)
    }

    /// Tokens with spaces around them and Markdown's special characters, inside and at the edges
    /// of words: each renders as literal text with only the firing token bold.
    func testMarkdownEscapingOfAwkwardTokens() throws {
        let cases: [([String], Int)] = [
            (["on", " miss", " bingley"], 1), (["on", " miss ", "bingley"], 1), (["a", " ", "b"], 1), (["x", "\n", "y"], 1),
            (["a", "*b*", "c"], 1), (["snake", "_case_", "x"], 1), (["say", "\"hi\"", "now"], 1), (["1", "|", "2"], 1),
            (["`code`", " [link](u)", " <b>"], 0), (["a", "&amp;", "b"], 1), (["back", "\\", "slash"], 1), (["x", "**", "y"], 1),
            (["end", "."], 1), (["(", "word", ")"], 1), (["#", "tag"], 0), (["~~", "gone", "~~"], 1), (["!", "[x]", "(y)"], 1),
        ]
        let text = cases.map { "| 1 | " + MarkdownReport.context($0.0, bold: $0.1) + " |" }
        let document = "| activation | context |\n|---:|---|\n" + text.joined(separator: "\n") + "\n"
        let file = scratch.appendingPathComponent("awkward.md")
        try document.write(to: file, atomically: true, encoding: .utf8)
        let expected = cases.map { tokens, bold in
            (tokens.map { $0.replacingOccurrences(of: "\n", with: "↵") }, bold)
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: expected.map { ["tokens": $0.0, "bold": $0.1] }), as: UTF8.self)
        try python("""
        import json, html as h, re
        from markdown_it import MarkdownIt
        cases = json.loads(\(pythonString(json)))
        rendered = MarkdownIt('commonmark').enable('table').render(open('\(file.path)').read())
        cells = re.findall(r'<tr>\\s*<td[^>]*>1</td>\\s*<td>(.*?)</td>\\s*</tr>', rendered, re.S)
        assert len(cells) == len(cases), (len(cells), rendered)
        for cell, case in zip(cells, cases):
            tokens, bold = case['tokens'], case['bold']
            firing = tokens[bold].strip() or '␣'
            strong = re.findall(r'<strong>(.*?)</strong>', cell)
            assert [h.unescape(s) for s in strong] == [firing], (cell, tokens)
            plain = h.unescape(re.sub(r'</?strong>', '', cell))
            want = ''.join(t if i != bold else (t if t.strip() else firing) for i, t in enumerate(tokens))
            assert plain == want, (plain, want)
        print('ok')
        """)
    }

    private func pythonString(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
