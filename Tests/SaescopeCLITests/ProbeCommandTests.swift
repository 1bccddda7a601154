import SAECore
import XCTest

/// `saescope probe` as a user runs it: the lr-l2 method in the matrix and JSON, and --sae feature
/// alignment checked by numpy brute force on the directions the command prints.
final class ProbeCommandTests: XCTestCase {
    let cities = SaescopeBinary.fixtures.appendingPathComponent("probes/cities.csv").path
    let negCities = SaescopeBinary.fixtures.appendingPathComponent("probes/neg_cities.csv").path
    let alignmentSAE = SaescopeBinary.fixtures.appendingPathComponent("alignment/sae").path


    func testAllMethodsIncludeL2LogisticRegression() throws {
        let text = try SaescopeBinary.run(["probe", "--data", cities, "--data", negCities])
        XCTAssertEqual(text.status, 0, text.stderr)
        for method in ["dim", "dim-iid", "lda", "lr", "lr-l2"] { XCTAssertTrue(text.stdout.contains("\(method): accuracy (AUROC)"), method) }
        let json = try SaescopeBinary.run(["probe", "--data", cities, "--data", negCities, "--method", "lr-l2", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let methods = object["methods"] as! [String: Any]
        XCTAssertEqual(Array(methods.keys), ["lr-l2"])
        let entry = methods["lr-l2"] as! [String: Any]
        let accuracy = entry["accuracy"] as! [[Double]]
        XCTAssertGreaterThan(accuracy[0][0], 0.85)
        XCTAssertEqual((entry["directions"] as! [[Double]]).count, 2)
        XCTAssertEqual((entry["directions"] as! [[Double]])[0].count, 12)
        XCTAssertNotEqual((entry["biases"] as! [Double])[0], 0)  // lr-l2 has an intercept
        XCTAssertNil(entry["alignment"])
        let bad = try SaescopeBinary.run(["probe", "--data", cities, "--method", "lr2"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--method must be one of dim, dim-iid, lda, lr, lr-l2, all"), bad.stderr)
    }

    func testAlignmentMatchesNumpyOnPrintedDirections() throws {
        let result = try SaescopeBinary.run(["probe", "--data", cities, "--data", negCities, "--train", "cities,cities+neg_cities",
                                             "--sae", alignmentSAE, "--align", "7", "--align-encoder", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-probe-\(UUID().uuidString).json")
        try result.stdout.write(to: out, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: out) }
        try python("""
        import json, struct
        import numpy as np
        raw = open('\(alignmentSAE)/sae_weights.safetensors', 'rb').read()
        n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        def tensor(name):
            begin, end = header[name]['data_offsets']
            return np.frombuffer(raw[8 + n + begin:8 + n + end], dtype='<f4').reshape(header[name]['shape']).astype(np.float64)
        vectors = {'decoder': tensor('W_dec'), 'encoder': tensor('W_enc').T}
        result = json.load(open('\(out.path)'))
        methods = result['methods']
        assert sorted(methods) == ['dim', 'dim-iid', 'lda', 'lr', 'lr-l2'], sorted(methods)
        checked = 0
        for name, entry in methods.items():
            assert entry['train_sets'] == ['cities', 'cities+neg_cities']
            assert len(entry['alignment']) == 2
            for direction, aligned in zip(entry['directions'], entry['alignment']):
                u = np.array(direction) / np.linalg.norm(direction)
                for side, v in vectors.items():
                    norms = np.linalg.norm(v, axis=1)
                    c = np.where(norms > 0, (v @ u) / np.where(norms > 0, norms, 1), 0.0)
                    for key, order in (('positive', np.argsort(-c, kind='stable')), ('negative', np.argsort(c, kind='stable'))):
                        got = aligned[side][key]
                        assert [g['feature'] for g in got] == order[:7].tolist(), (name, side, key, got, order[:7])
                        assert all(abs(g['cosine'] - c[g['feature']]) < 1e-5 for g in got)
                        checked += 1
        assert checked == 5 * 2 * 2 * 2
        print('ok')
        """)
    }

    /// The Geometry of Truth convention: a probe tested outside its training set is trained on all
    /// of it. Every off-diagonal `dim` cell (accuracy and AUROC: both are count ratios) must equal
    /// an independent numpy computation exactly, on the sample's four datasets (with a union row)
    /// and on the test fixtures; diagonal cells stay on the held-out 20%.
    func testOffDiagonalDimCellsEqualNumpyTrainedOnAllRows() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/probes").path
        let sample = ["cities", "neg_cities", "larger_than", "neg_larger_than"].map { "\(repository)/\($0).csv" }
        let cases: [(files: [String], train: String)] = [
            (sample, "cities,neg_cities,larger_than,neg_larger_than,cities+neg_cities"),
            ([cities, negCities], "cities,neg_cities"),
        ]
        for (files, train) in cases {
            let result = try SaescopeBinary.run(["probe", "--method", "dim", "--json", "--train", train] + files.flatMap { ["--data", $0] })
            XCTAssertEqual(result.status, 0, result.stderr)
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-probe-\(UUID().uuidString).json")
            try result.stdout.write(to: out, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: out) }
            try python("""
            import csv, json, struct
            from fractions import Fraction
            import numpy as np
            def acts(path):
                raw = open(path, 'rb').read()
                n = struct.unpack('<Q', raw[:8])[0]
                header = json.loads(raw[8:8 + n])
                begin, end = header['acts']['data_offsets']
                dtype = {'F32': '<f4', 'F16': '<f2', 'BF16': None}[header['acts']['dtype']]
                return np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=dtype).reshape(header['acts']['shape']).astype(np.float64)
            def labels(path):
                rows = list(csv.DictReader(open(path, newline='', encoding='utf-8')))
                return np.array([r['label'].strip().lower() in ('1', 'true', 'yes') for r in rows])
            files = \(files)
            data = {}
            for f in files:
                name = f.rsplit('/', 1)[1][:-4]
                x = acts(f[:-4] + '.safetensors')
                data[name] = (x - x.mean(axis=0), labels(f))
            result = json.load(open('\(out.path)'))['methods']['dim']
            checked = 0
            for r, spec in enumerate(result['train_sets']):
                parts = spec.split('+')
                x = np.vstack([data[p][0] for p in parts])
                y = np.concatenate([data[p][1] for p in parts])
                theta = x[y].mean(axis=0) - x[~y].mean(axis=0)
                for c, test in enumerate(result['test_sets']):
                    if test in parts:
                        continue
                    xt, yt = data[test]
                    s = xt @ theta
                    accuracy = float(Fraction(int(((s > 0) == yt).sum()), len(yt)))
                    pos, neg = s[yt], s[~yt]
                    wins = (pos[:, None] > neg[None, :]).sum() * 2 + (pos[:, None] == neg[None, :]).sum()
                    auroc = float(Fraction(int(wins), 2 * len(pos) * len(neg)))
                    assert result['accuracy'][r][c] == accuracy, (spec, test, result['accuracy'][r][c], accuracy)
                    assert result['auroc'][r][c] == auroc, (spec, test, result['auroc'][r][c], auroc)
                    checked += 1
            assert checked == len(result['train_sets']) * len(result['test_sets']) - sum(len(s.split('+')) for s in result['train_sets']), checked
            print(checked, 'off-diagonal cells equal')
            print('ok')
            """)
        }
    }

    func testAlignmentTextAndErrors() throws {
        let text = try SaescopeBinary.run(["probe", "--data", cities, "--method", "dim", "--sae", alignmentSAE, "--align", "3"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("dim trained on cities: features by cosine of their decoder rows with the probe direction"), text.stdout)
        XCTAssertFalse(text.stdout.contains("encoder columns"))
        let lines = text.stdout.split(separator: "\n")
        let header = lines.firstIndex { $0.hasPrefix("rank") }!
        XCTAssertTrue(lines[header + 3].hasPrefix("   3   "), String(lines[header + 3]))
        XCTAssertEqual(lines.count, header + 4)

        let wrongWidth = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/dl_topk").path  // D = 16
        let mismatch = try SaescopeBinary.run(["probe", "--data", cities, "--sae", wrongWidth])
        XCTAssertEqual(mismatch.status, 2)
        XCTAssertEqual(mismatch.stderr, "saescope: \(wrongWidth): the dictionary has D=16 but the probe dataset cities has D=12\n")
        let usage = try SaescopeBinary.run(["probe", "--data", cities, "--align", "3"])
        XCTAssertNotEqual(usage.status, 0)
        XCTAssertTrue(usage.stderr.contains("--align, --align-encoder and --index need --sae"), usage.stderr)
    }

    /// Issue #14 item 6 on the sample: with --index, dead features leave the alignment (without it
    /// they rank among the top), the rest keep their order, and the chance level counts the
    /// features ranked.
    func testIndexLeavesDeadFeaturesOutOfTheAlignment() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sae = repository.appendingPathComponent("samples/dictionaries/dictionary_learning/trainer_0").path
        let acts = repository.appendingPathComponent("samples/activations/smollm2_l15_pride_and_prejudice.safetensors").path
        let data = repository.appendingPathComponent("samples/probes/cities.csv").path
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-probe-dead-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let indexPath = scratch.appendingPathComponent("i.safetensors").path
        let built = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--out", indexPath, "--max-tokens", "3000", "--top-k", "2"])
        XCTAssertEqual(built.status, 0, built.stderr)
        let index = try IndexFile.read(path: indexPath)
        let dead = Set((0..<index.featureCount).filter { index.isDead($0) })
        XCTAssertFalse(dead.isEmpty)

        func alignment(_ extra: [String]) throws -> (positive: [Int], negative: [Int], chance: Double) {
            let run = try SaescopeBinary.run(["probe", "--data", data, "--method", "dim", "--sae", sae, "--align", "20", "--json"] + extra)
            XCTAssertEqual(run.status, 0, run.stderr)
            let entry = ((try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any])["methods"] as! [String: Any])["dim"] as! [String: Any]
            let decoder = (entry["alignment"] as! [[String: Any]])[0]["decoder"] as! [String: [[String: Any]]]
            return (decoder["positive"]!.map { $0["feature"] as! Int }, decoder["negative"]!.map { $0["feature"] as! Int },
                    entry["alignment_chance"] as! Double)
        }
        let all = try alignment([]), alive = try alignment(["--index", indexPath])
        XCTAssertFalse(Set(all.positive + all.negative).isDisjoint(with: dead), "dead features rank among the top 20 without --index")
        XCTAssertTrue(Set(alive.positive + alive.negative).isDisjoint(with: dead))
        XCTAssertEqual(alive.positive.filter { all.positive.contains($0) }, all.positive.filter { !dead.contains($0) })
        XCTAssertEqual(alive.negative.filter { all.negative.contains($0) }, all.negative.filter { !dead.contains($0) })
        XCTAssertEqual(all.chance, ChanceLevel.expectedMaxCosine(dimension: 576, count: 2048), accuracy: 1e-12)
        XCTAssertEqual(alive.chance, ChanceLevel.expectedMaxCosine(dimension: 576, count: 2048 - dead.count), accuracy: 1e-12)
    }
}
