import XCTest

/// `saescope probe --sae --sparse`: SAEBench-style sparse probing on dictionary latents, checked
/// against an independent numpy encoding, numpy's latent choice and scikit-learn's
/// LogisticRegression(C=1) on the same k columns, for every cell of the matrix and the oracle.
final class SparseProbingCommandTests: XCTestCase {
    let cities = SaescopeBinary.fixtures.appendingPathComponent("probes/cities.csv").path
    let negCities = SaescopeBinary.fixtures.appendingPathComponent("probes/neg_cities.csv").path
    let sae = SaescopeBinary.fixtures.appendingPathComponent("alignment/sae").path

    func testLatentsExactAndAccuracyEqualsScikitLearn() throws {
        let result = try SaescopeBinary.run(["probe", "--data", cities, "--data", negCities, "--train", "cities,neg_cities,cities+neg_cities",
                                             "--method", "dim", "--sae", sae, "--sparse", "1,3,8", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-sparse-\(UUID().uuidString).json")
        try result.stdout.write(to: out, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: out) }
        try python("""
        import csv, json, math, struct
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        def tensors(path):
            raw = open(path, 'rb').read()
            n = struct.unpack('<Q', raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            def get(name):
                begin, end = header[name]['data_offsets']
                return np.frombuffer(raw[8 + n + begin:8 + n + end], dtype='<f4').reshape(header[name]['shape']).astype(np.float64)
            return get
        weights = tensors('\(sae)/sae_weights.safetensors')
        W_enc, b_enc, b_dec = weights('W_enc'), weights('b_enc'), weights('b_dec')
        def labels(path):
            rows = list(csv.DictReader(open(path, newline='', encoding='utf-8')))
            return np.array([r['label'].strip().lower() in ('1', 'true') for r in rows])
        M = 0xFFFFFFFFFFFFFFFF
        def split(count, seed=0):
            # The seeded 80/20 split: Fisher-Yates with SplitMix64, as GeneralizationMatrix does it.
            order, state = list(range(count)), seed
            for i in range(count - 1, 0, -1):
                state = (state + 0x9E3779B97F4A7C15) & M
                z = state
                z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
                z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
                z ^= z >> 31
                j = z % (i + 1)
                order[i], order[j] = order[j], order[i]
            n_train = math.floor(count * 0.8 + 0.5)
            return sorted(order[:n_train]), sorted(order[n_train:])
        data = {}
        for f in ['\(cities)', '\(negCities)']:
            name = f.rsplit('/', 1)[1][:-4]
            x = tensors(f[:-4] + '.safetensors')('acts')
            z = np.maximum((x - b_dec) @ W_enc + b_enc, 0)   # SAELens standard, apply_b_dec_to_input
            y = labels(f)
            data[name] = (z - z.mean(axis=0), y, split(len(y)))
        def rows(name, all_rows):
            return np.arange(len(data[name][1])) if all_rows else np.array(data[name][2][0])
        def fit(parts, all_rows, k):
            z = np.vstack([data[p][0][rows(p, all_rows)] for p in parts])
            y = np.concatenate([data[p][1][rows(p, all_rows)] for p in parts])
            gap = np.abs(z[y].mean(axis=0) - z[~y].mean(axis=0))
            chosen = sorted(range(len(gap)), key=lambda i: (-gap[i], i))[:k]
            model = LogisticRegression(C=1.0, tol=1e-10, max_iter=100000).fit(z[:, chosen], y)
            return chosen, model
        def score(chosen, model, name, held_out):
            z, y, (train, test) = data[name]
            r = np.array(test) if held_out else np.arange(len(y))
            s = model.decision_function(z[r][:, chosen])
            return float(((s > 0) == y[r]).mean()), float(roc_auc_score(y[r], s))
        result = json.load(open('\(out.path)'))
        assert sorted(result['methods']) == ['dim', 'lr-l2'], sorted(result['methods'])  # lr-l2 beside the sparse probes
        sparse = result['sparse_probing']
        assert [e['k'] for e in sparse['by_k']] == [1, 3, 8]
        checked = 0
        for entry in sparse['by_k']:
            k = entry['k']
            for r, spec in enumerate(entry['train_sets']):
                parts = spec.split('+')
                all_chosen, all_model = fit(parts, True, k)
                split_chosen, split_model = fit(parts, False, k)
                assert entry['latents'][r] == all_chosen, (k, spec, entry['latents'][r], all_chosen)
                assert entry['latents_split'][r] == split_chosen, (k, spec, entry['latents_split'][r], split_chosen)
                for c, test in enumerate(entry['test_sets']):
                    a, u = score(split_chosen, split_model, test, True) if test in parts else score(all_chosen, all_model, test, False)
                    assert abs(entry['accuracy'][r][c] - a) <= 1e-3, (k, spec, test, entry['accuracy'][r][c], a)
                    assert abs(entry['auroc'][r][c] - u) <= 1e-3, (k, spec, test, entry['auroc'][r][c], u)
                    checked += 1
            for c, test in enumerate(entry['test_sets']):
                chosen, model = fit([test], False, k)
                assert entry['oracle_latents'][c] == chosen, (k, test, entry['oracle_latents'][c], chosen)
                a, u = score(chosen, model, test, True)
                assert abs(entry['oracle_accuracy'][c] - a) <= 1e-3 and abs(entry['oracle_auroc'][c] - u) <= 1e-3, (k, test)
                checked += 1
        assert checked == 3 * (3 * 2 + 2), checked
        print('ok')
        """)
    }

    func testTextAndErrors() throws {
        let text = try SaescopeBinary.run(["probe", "--data", cities, "--method", "dim", "--sae", sae, "--sparse", "2"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("lr-l2: accuracy (AUROC)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("sae top-2 (lr-l2 on the 2 latents"), text.stdout)
        XCTAssertTrue(text.stdout.contains("latents of cities (all rows): "), text.stdout)
        let noSAE = try SaescopeBinary.run(["probe", "--data", cities, "--sparse", "2"])
        XCTAssertEqual(noSAE.status, 64)  // a usage error, as ArgumentParser reports them
        XCTAssertTrue(noSAE.stderr.contains("--sparse needs --sae"), noSAE.stderr)
        let bad = try SaescopeBinary.run(["probe", "--data", cities, "--sae", sae, "--sparse", "1,x"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--sparse must be a comma-separated list"), bad.stderr)
        let tooMany = try SaescopeBinary.run(["probe", "--data", cities, "--sae", sae, "--sparse", "301"])
        XCTAssertEqual(tooMany.status, 2)
        XCTAssertTrue(tooMany.stderr.contains("--sparse 301 exceeds the dictionary's 300 features"), tooMany.stderr)
        XCTAssertEqual(tooMany.stderr.split(separator: "\n").count, 1, tooMany.stderr)
    }
}
