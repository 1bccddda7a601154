import Foundation
import XCTest
import SAECore

/// `saescope labels import|export` and the labels in `saescope export`, run as a user runs
/// them, with fixtures written by Python in the shapes Neuronpedia and delphi write; and the
/// database under two writer processes and a kill -9.
final class LabelsCommandTests: XCTestCase {
    var scratch: URL!
    let sae = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/dl_topk").path  // F = 48
    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["XDG_DATA_HOME"] = scratch.appendingPathComponent("data").path
        env["USER"] = "tester"
        return env
    }
    var database: String { scratch.appendingPathComponent("data/saescope/labels.sqlite").path }

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-labels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    private func labels(_ arguments: [String]) throws -> SaescopeBinary.Result {
        try SaescopeBinary.run(["labels"] + arguments, environment: environment)
    }

    func testNeuronpediaExportWithBadLinesImportsTheGoodRows() throws {
        let file = scratch.appendingPathComponent("explanations.jsonl.gz").path
        // Rows of Neuronpedia's Explanation table as its exports hold them (index is a string).
        try python("""
        import gzip, json
        rows = [dict(id=f'c{i}', modelId='gpt2-small', layer='6-res-jb', index=str(i), description=f'feature {i} fires on things',
                     authorId='bot', typeName='oai_token-act-pair', explanationModelName='gpt-4o-mini', scoreV1=0, scoreV2=0.5 + i / 100)
                for i in range(0, 55, 5)]
        lines = [json.dumps(r) for r in rows]
        lines.insert(3, '{"modelId": "gpt2-small", "layer": "6-res-jb", "index": "7"')   # cut short: line 4
        lines.insert(6, json.dumps(dict(modelId='gpt2-small', layer='6-res-jb', index='x9', description='bad index')))  # line 7
        with gzip.open('\(file)', 'wt') as f:
            f.write('\\n'.join(lines) + '\\n')
        print('ok')
        """)
        let first = try labels(["import", file, "--sae", sae])
        XCTAssertEqual(first.status, 2, "malformed rows make the exit code 2")
        XCTAssertEqual(first.stdout.trimmingCharacters(in: .newlines),
                       "\(file): 13 rows from neuronpedia: 10 matched a feature, 10 new; skipped 1 beyond the dictionary's 48 features, 2 malformed; malformed at lines 4, 7")
        // Again: nothing new.
        let again = try labels(["import", file, "--sae", sae])
        XCTAssertTrue(again.stdout.contains("10 matched a feature, 0 new; skipped 10 already in the store"), again.stdout)

        let out = scratch.appendingPathComponent("labels.jsonl").path
        XCTAssertEqual(try labels(["export", "--sae", sae, "--out", out]).status, 0)
        try python("""
        import json
        rows = [json.loads(l) for l in open('\(out)')]
        assert [r['feature'] for r in rows] == list(range(0, 50, 5)), [r['feature'] for r in rows]
        for r in rows:
            (e,) = r['explanations']
            assert e['index'] == str(r['feature']) and e['description'] == f"feature {r['feature']} fires on things"
            assert e['explanationModelName'] == 'gpt-4o-mini' and abs(e['scoreV2'] - (0.5 + r['feature'] / 100)) < 1e-12
            assert e['source'] == 'neuronpedia' and r['status'] == 'unreviewed' and r['label'] == ''
        print('ok')
        """)
    }

    func testNeuronpediaFileOfSeveralLayersNeedsLayer() throws {
        let file = scratch.appendingPathComponent("two.jsonl").path
        try python("""
        import json
        with open('\(file)', 'w') as f:
            for layer in ['5-res-jb', '6-res-jb']:
                f.write(json.dumps(dict(modelId='m', layer=layer, index='1', description=f'on {layer}', explanationModelName='x', typeName='t')) + '\\n')
        print('ok')
        """)
        let refused = try labels(["import", file, "--sae", sae])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("holds explanations of 2 layers (5-res-jb, 6-res-jb): pass --layer"), refused.stderr)
        let picked = try labels(["import", file, "--sae", sae, "--layer", "6-res-jb"])
        XCTAssertEqual(picked.status, 0, picked.stderr)
        XCTAssertTrue(picked.stdout.contains("2 rows from neuronpedia: 1 matched a feature, 1 new; skipped 1 of another layer"), picked.stdout)
    }

    func testDelphiExplanationDirectory() throws {
        let directory = scratch.appendingPathComponent("explanations").path
        // delphi writes orjson.dumps(explanation) to <hookpoint>_latent<N>.txt.
        try python("""
        import os, orjson
        os.makedirs('\(directory)')
        for n, text in [(3, 'the word "cat" — and cats'), (12, 'closing brackets'), (99, 'beyond F')]:
            open(os.path.join('\(directory)', f'layers.6_latent{n}.txt'), 'wb').write(orjson.dumps(text))
        open(os.path.join('\(directory)', 'layers.6_latent4.txt'), 'wb').write(b'not json')
        print('ok')
        """)
        let result = try labels(["import", directory, "--sae", sae])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stdout.contains("4 rows from delphi: 2 matched a feature, 2 new; skipped 1 beyond the dictionary's 48 features, 1 malformed; malformed at line layers.6_latent4.txt"),
                      result.stdout)
        let csv = try labels(["export", "--sae", sae, "--format", "csv"])
        XCTAssertEqual(csv.status, 0)
        try python("""
        import csv, io
        rows = list(csv.DictReader(io.StringIO('''\(csv.stdout)''')))
        assert [(r['feature'], r['explanations']) for r in rows] == [('3', 'the word "cat" — and cats'), ('12', 'closing brackets')], rows
        print('ok')
        """)
    }

    func testOwnExportImportsBackAndFeatureExportsCarryLabels() throws {
        // A labels file in saescope's own shape, as another researcher's export.
        let own = scratch.appendingPathComponent("theirs.jsonl").path
        try python("""
        import json
        rows = [dict(feature=2, label='names in dialogue', notes='counter-example:\\nMr. Darcy', tags=['names', 'dialogue'],
                     status='interpretable', author='alice', updated_at=1700000000.0,
                     explanations=[dict(description='proper nouns', explanationModelName='gpt-4o-mini', scoreV2=0.8, source='neuronpedia')]),
                dict(feature=3, label='', notes='', tags=[], status='dead', author='alice', updated_at=1700000001.0, explanations=[])]
        with open('\(own)', 'w') as f:
            f.write('\\n'.join(json.dumps(r) for r in rows) + '\\n')
        print('ok')
        """)
        let imported = try labels(["import", own, "--sae", sae])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stdout.contains("2 rows from saescope: 2 matched a feature, 2 new"), imported.stdout)

        let index = scratch.appendingPathComponent("index.safetensors").path
        let built = try SaescopeBinary.run(["index", "--sae", sae, "--acts", SaescopeBinary.fixtures.appendingPathComponent("caches/tiny_sharded").path,
                                            "--out", index, "--top-k", "3", "--context", "2"], environment: environment)
        XCTAssertEqual(built.status, 0, built.stderr)
        var outputs: [String: String] = [:]
        for format in ["json", "jsonl", "csv", "md"] {
            let out = scratch.appendingPathComponent("f.\(format)").path
            let result = try SaescopeBinary.run(["export", "--sae", sae, "--index", index, "--features", "1-3", "--format", format, "--out", out],
                                                environment: environment)
            XCTAssertEqual(result.status, 0, result.stderr)
            outputs[format] = out
        }
        try python("""
        import json, csv
        batch = json.load(open('\(outputs["json"]!)'))
        f1, f2, f3 = batch['features']
        assert 'explanations' not in f1, 'an unlabelled feature keeps the runner\\'s keys'
        assert [e['description'] for e in f2['explanations']] == ['names in dialogue', 'proper nouns']
        human, imported = f2['explanations']
        assert human['authorId'] == 'alice' and human['index'] == '2' and human['layer'].endswith('dl_topk')
        assert imported['explanationModelName'] == 'gpt-4o-mini' and imported['scoreV2'] == 0.8
        assert f2['tags'] == ['dialogue', 'names'] and f2['status'] == 'interpretable' and f3['status'] == 'dead'
        rows = [json.loads(l) for l in open('\(outputs["jsonl"]!)')]
        assert rows[1]['label'] == 'names in dialogue' and rows[1]['notes'] == 'counter-example:\\nMr. Darcy'
        assert rows[0]['label'] == '' and rows[0]['explanations'] == [] and rows[2]['status'] == 'dead'
        table = list(csv.DictReader(open('\(outputs["csv"]!)')))
        assert (table[1]['label'], table[1]['tags'], table[1]['status'], table[1]['explanations']) == ('names in dialogue', 'dialogue names', 'interpretable', 'proper nouns')
        assert table[1]['notes'] == 'counter-example:\\nMr. Darcy'
        md = open('\(outputs["md"]!)').read()
        assert '## Feature 2: names in dialogue' in md and '### Interpretation' in md and '- tags: `dialogue` `names`' in md, md
        assert '> Mr. Darcy' in md and '- proper nouns (neuronpedia, gpt-4o-mini, score 0.8)' in md
        print('ok')
        """)
        // The csv dump reads back: nothing new.
        let dump = scratch.appendingPathComponent("dump.csv").path
        XCTAssertEqual(try labels(["export", "--sae", sae, "--format", "csv", "--out", dump]).status, 0)
        let back = try labels(["import", dump, "--sae", sae])
        XCTAssertTrue(back.stdout.contains("2 rows from saescope: 2 matched a feature, 0 new; skipped 2 already in the store"), back.stdout + back.stderr)
    }

    /// Two processes import at once, repeatedly: every row of both lands (WAL, the busy
    /// timeout, one transaction per import), and the database checks clean.
    func testTwoWriterProcessesAtOnce() throws {
        var scripts: [String] = []
        for writer in 0..<2 {
            var files: [String] = []
            for round in 0..<6 {
                let file = scratch.appendingPathComponent("w\(writer)-\(round).jsonl").path
                let rows = (0..<48).map { j in
                    "{\"modelId\":\"m\",\"layer\":\"l\",\"index\":\"\(j)\",\"description\":\"writer \(writer) round \(round)\",\"explanationModelName\":\"x\",\"typeName\":\"t\"}"
                }
                try (rows.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
                files.append(file)
            }
            scripts.append(files.map { "'\(SaescopeBinary.url.path)' labels import '\($0)' --sae '\(sae)' >/dev/null || exit 1" }.joined(separator: "\n"))
        }
        let processes = try scripts.map { script -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            process.environment = environment
            try process.run()
            return process
        }
        for process in processes {
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
        }
        let db = try SQLiteDatabase(path: database)
        XCTAssertEqual(try db.scalar("PRAGMA integrity_check")?.string, "ok")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM explanation")?.integer, 2 * 6 * 48)
        XCTAssertEqual(try db.scalar("PRAGMA journal_mode")?.string, "wal")
    }

    /// kill -9 in the middle of a large import's transaction: the database opens clean, holding
    /// all of that import or none of it, and takes the next write.
    func testKillDuringAWriteLeavesAConsistentDatabase() throws {
        let small = scratch.appendingPathComponent("small.jsonl").path
        try "{\"modelId\":\"m\",\"layer\":\"l\",\"index\":\"1\",\"description\":\"before\",\"explanationModelName\":\"x\",\"typeName\":\"t\"}\n"
            .write(toFile: small, atomically: true, encoding: .utf8)
        XCTAssertEqual(try labels(["import", small, "--sae", sae]).status, 0)
        let big = scratch.appendingPathComponent("big.jsonl").path
        try python("""
        import json
        with open('\(big)', 'w') as f:
            for i in range(400000):
                f.write(json.dumps(dict(modelId='m', layer='l', index=str(i % 48), description=f'explanation number {i} ' + 'x' * 60,
                                        explanationModelName='x', typeName='t')) + '\\n')
        print('ok')
        """)
        let process = Process()
        process.executableURL = SaescopeBinary.url
        process.arguments = ["labels", "import", big, "--sae", sae]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Killed once the transaction is spilling pages into the WAL (the write is under way).
        let wal = database + "-wal"
        let deadline = Date().addingTimeInterval(60)
        var size: UInt64 = 0
        while Date() < deadline, process.isRunning {
            size = ((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? UInt64) ?? 0
            if size > 4 << 20 { break }
            usleep(2000)
        }
        XCTAssertTrue(process.isRunning, "the import ended before it could be killed (WAL \(size) bytes)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)

        let store = try LabelStore(path: database, fingerprint: try XCTUnwrap(ContentFingerprint.of(file: sae + "/ae.pt")))
        XCTAssertEqual(try store.database.scalar("PRAGMA integrity_check")?.string, "ok")
        let count = try XCTUnwrap(store.database.scalar("SELECT count(*) FROM explanation")?.integer)
        XCTAssertTrue(count == 1 || count == 400_001, "all of the import or none: \(count)")
        XCTAssertEqual(try store.record(1).explanations.first?.text, "before")
        try store.apply(LabelStore.Edit(label: "after the crash"), to: 5)
        XCTAssertEqual(try store.record(5).label, "after the crash")
    }
}
