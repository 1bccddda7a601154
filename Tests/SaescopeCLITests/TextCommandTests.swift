import Foundation
import SAECore
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `saescope text` through the real model process, on a tiny random Llama and on SmolLM2, against
/// activations taken from the model directly by transformers (tools/tests/text_reference.py)
/// and encoded here with saescope's encoder one row at a time: token ids exact, every active
/// feature's id exact and its value within 1e-5 relative. Then windows, marked examples, the
/// saved set, and the one-line errors.
final class TextCommandTests: XCTestCase {
    nonisolated(unsafe) private static var fixtures: [String: URL] = [:]
    nonisolated(unsafe) private static var fixtureErrors: [String: String] = [:]

    private struct Reference {
        let folder: URL
        let model: String
        let layer: Int
        let texts: [(text: String, ids: [Int32], acts: [[Float]], windowActs: [[Float]])]
    }

    /// The fixture of `kind` (tiny, smollm2), built once per run.
    private func reference(_ kind: String) throws -> Reference {
        let env = try ModelTestSupport.environment()
        if let error = Self.fixtureErrors[kind] { throw XCTSkip(error) }
        let folder: URL
        if let built = Self.fixtures[kind] {
            folder = built
        } else {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("text-\(kind)-\(UUID().uuidString)")
            let output = ProcessRunner.run(env.python, [ModelTestSupport.tools.appendingPathComponent("tests/text_reference.py").path, folder.path, kind])
            guard output.split(separator: "\n").last == "ok" else {
                Self.fixtureErrors[kind] = "text_reference.py \(kind) failed: \(output)"
                XCTFail(Self.fixtureErrors[kind]!)
                throw XCTSkip(Self.fixtureErrors[kind]!)
            }
            Self.fixtures[kind] = folder
        }
        let data = try Data(contentsOf: folder.appendingPathComponent("reference.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let texts = try XCTUnwrap(json["texts"] as? [[String: Any]]).map { entry in
            (text: entry["text"] as! String, ids: (entry["ids"] as! [Int]).map { Int32($0) },
             acts: (entry["acts"] as! [[Double]]).map { $0.map { Float($0) } },
             windowActs: (entry["window_acts"] as! [[Double]]).map { $0.map { Float($0) } })
        }
        return Reference(folder: folder, model: json["model"] as! String, layer: json["layer"] as! Int, texts: texts)
    }

    private func arguments(_ reference: Reference) -> [String] {
        ["text", "--sae", reference.folder.appendingPathComponent("sae").path, "--model", reference.model,
         "--layer", String(reference.layer)]
    }

    /// saescope's encoder on the rows of one text together, as `text` encodes them (one row at
    /// a time would sum in another order: on SmolLM2, whose activations reach norms near 900,
    /// float32 rounding then moves small codes by up to 4e-3 relative and swaps near ties):
    /// per row the nonzero codes, highest first, ties by id.
    /// (On the binary's BLAS kernels: a chunk the screen leaves to the sgemm then has its bits.)
    private func encoderCodes(_ sae: SparseAutoencoder, _ rows: [[Float]]) throws -> [[(feature: Int, value: Float)]] {
        let encoder = SAEEncoder(sae: sae, maxRows: rows.count)
        let flat = rows.flatMap { $0 }
        try SaescopeBinary.withBinaryKernels {
            flat.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: rows.count, reconstruct: false) }
        }
        return rows.indices.map { r in
            (encoder.activeRowStart[r]..<encoder.activeRowStart[r + 1])
                .map { (feature: Int(encoder.activeFeature[$0]), value: encoder.activeValue[$0]) }.filter { $0.value != 0 }
                .sorted { $0.value != $1.value ? $0.value > $1.value : $0.feature < $1.feature }
        }
    }

    private func run(_ arguments: [String], environment: [String: String]? = nil) throws -> (json: [String: Any], stderr: String) {
        let result = try SaescopeBinary.run(arguments, environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        return (json, result.stderr)
    }

    /// Per feature, how far two fp32 evaluations of a row's pre-activation may differ when they
    /// sum in different orders (the BLAS computes a row in another call, of another shape):
    /// 2 gamma_D sum_i |x_i - b_i| |W_ij|, gamma_D = D u / (1 - D u), u = 2^-24. Zero for an input
    /// normalization (none of the fixtures has one).
    private func roundingBound(_ sae: SparseAutoencoder, _ row: [Float]) -> [Float] {
        let d = sae.inputDimension, f = sae.featureCount
        guard sae.normalization == .none else { return [Float](repeating: 0, count: f) }
        let u = 0x1p-24, gamma = Double(d) * u / (1 - Double(d) * u)
        var bound = [Double](repeating: 0, count: f)
        for i in 0..<d {
            let centred = abs(Double(row[i]) - (sae.subtractsDecoderBias ? Double(sae.decoderBias[i]) : 0))
            for j in 0..<f { bound[j] += centred * abs(Double(sae.encoderWeights[i * f + j])) }
        }
        return bound.map { Float(2 * gamma * $0) }
    }

    /// Every token of `tokens` (the JSON's, from `first`) against the reference rows from `first`.
    /// `otherCall`: the binary encodes these rows in another call than the reference (a window of
    /// a longer text), so the values may also differ by the sum's rounding bound.
    private func assertCodes(_ tokens: [[String: Any]], equal reference: (text: String, acts: [[Float]]),
                             positions: Range<Int>, sae: SparseAutoencoder, feature: Int?, otherCall: Bool = false,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let codes = try encoderCodes(sae, Array(reference.acts[positions]))
        for t in positions {
            let token = tokens[t]
            XCTAssertEqual(token["position"] as? Int, t, file: file, line: line)
            let shown = (token["features"] as! [[String: Any]]).map { (feature: $0["feature"] as! Int, value: Float($0["activation"] as! Double)) }
            let expected = codes[t - positions.lowerBound]
            XCTAssertEqual(shown.map(\.feature), expected.map(\.feature), "token \(t) of \"\(reference.text)\": feature ids", file: file, line: line)
            let bound = otherCall ? roundingBound(sae, reference.acts[t]) : [Float](repeating: 0, count: sae.featureCount)
            for (a, e) in zip(shown, expected) {
                XCTAssertEqual(a.value, e.value, accuracy: 1e-5 * abs(e.value) + bound[e.feature], "token \(t) feature \(e.feature)", file: file, line: line)
            }
            if let feature {
                let e = expected.first { $0.feature == feature }?.value ?? 0
                XCTAssertEqual(Float(token["activation"] as! Double), e, accuracy: 1e-5 * abs(e), "token \(t) --feature", file: file, line: line)
            }
        }
    }

    private func checkScan(_ kind: String, text index: Int) throws {
        let reference = try reference(kind)
        let sae = try DictionaryLoader.load(path: reference.folder.appendingPathComponent("sae").path)
        let expected = reference.texts[index]
        // A feature that fires somewhere on the text, for --feature.
        let codes = try encoderCodes(sae, expected.acts)
        let feature = try XCTUnwrap(codes[codes.count / 2].first?.feature)
        let (json, stderr) = try run(arguments(reference) + ["--top", String(sae.featureCount), "--feature", String(feature), "--json", expected.text])
        XCTAssertFalse(stderr.contains("window"), stderr)
        let tokens = try XCTUnwrap(json["tokens"] as? [[String: Any]])
        XCTAssertEqual(tokens.map { Int32($0["id"] as! Int) }, expected.ids, "the text's tokens, exactly")
        try assertCodes(tokens, equal: (expected.text, expected.acts), positions: 0..<tokens.count, sae: sae, feature: feature)
        XCTAssertGreaterThan(tokens.reduce(0) { $0 + ($1["features"] as! [Any]).count }, tokens.count, "features fire: the test can fail")
        let max = try XCTUnwrap(json["feature"] as? [String: Any])
        let values = codes.map { row in row.first { $0.feature == feature }?.value ?? 0 }
        XCTAssertEqual(Float(max["max_activation"] as! Double), values.max()!, accuracy: 1e-5 * values.max()!)
        XCTAssertEqual(max["max_position"] as? Int, values.firstIndex(of: values.max()!))
    }

    func testTextJSONEqualsTheEncoderOnTheTinyModelsOwnActivations() throws {
        try checkScan("tiny", text: 0)
    }

    func testTextJSONEqualsTheEncoderOnSmolLM2sOwnActivations() throws {
        try checkScan("smollm2", text: 1)
    }

    /// Longer than --ctx: windows, said once; the first window's codes equal the encoder's on the
    /// reference's run of those tokens alone.
    func testALongTextIsScoredInWindowsSaidOnce() throws {
        let reference = try reference("tiny")
        let sae = try DictionaryLoader.load(path: reference.folder.appendingPathComponent("sae").path)
        let expected = reference.texts[1]
        let window = expected.windowActs.count
        let (json, stderr) = try run(arguments(reference) + ["--ctx", "9", "--top", String(sae.featureCount), "--json", expected.text])
        let windows = try XCTUnwrap(json["windows"] as? [[Int]])
        let prefix = try XCTUnwrap(json["prefix_token_ids"] as? [Int]).count
        XCTAssertEqual(prefix, 1, "the tiny Llama's tokenizer puts <s> first")
        let body = 9 - prefix
        XCTAssertEqual(body, window)
        XCTAssertEqual(windows.count, (expected.ids.count + body - 1) / body)
        XCTAssertEqual(windows.first, [0, body])
        XCTAssertEqual(windows.last?.last, expected.ids.count)
        XCTAssertEqual(stderr.components(separatedBy: "windows").count - 1, 1, stderr)
        XCTAssertTrue(stderr.contains("\(expected.ids.count) tokens are longer than the context of 9"), stderr)
        let tokens = try XCTUnwrap(json["tokens"] as? [[String: Any]])
        XCTAssertEqual(tokens.map { Int32($0["id"] as! Int) }, expected.ids)
        try assertCodes(tokens, equal: (expected.text, expected.windowActs), positions: 0..<body, sae: sae, feature: nil, otherCall: true)
    }

    /// --save appends to the dictionary's saved set; --saved and --examples re-score, each
    /// example's verdict from the reference codes.
    func testExamplesAreSavedAndReScored() throws {
        let reference = try reference("tiny")
        let sae = try DictionaryLoader.load(path: reference.folder.appendingPathComponent("sae").path)
        let text = reference.texts[0]
        let codes = try encoderCodes(sae, text.acts)
        let fires = try XCTUnwrap(codes[0].first?.feature)
        let silent = try XCTUnwrap((0..<sae.featureCount).first { f in !codes.contains { $0.contains { $0.feature == f } } },
                                   "a feature that fires on no token of the text")
        var env = ProcessInfo.processInfo.environment
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("text-data-\(UUID().uuidString)")
        env["XDG_DATA_HOME"] = data.path
        let saved = try SaescopeBinary.run(arguments(reference) + ["--feature", String(silent), "--save", "--should-fire", text.text], environment: env)
        XCTAssertEqual(saved.status, 0, saved.stderr)
        let fingerprint = try XCTUnwrap(ContentFingerprint.of(file: reference.folder.appendingPathComponent("sae/sae_weights.safetensors").path))
        let savedFile = data.appendingPathComponent("saescope/examples/\(fingerprint).jsonl")
        let line = try String(contentsOf: savedFile, encoding: .utf8)
        XCTAssertEqual(try JSONDecoder().decode(TextExample.self, from: Data(line.utf8)), TextExample(text: text.text, feature: silent, shouldFire: true))
        XCTAssertTrue(saved.stderr.contains("does not fire on it, as expected: no"), saved.stderr)

        // A hand-written file: one example as expected each way, one not.
        let file = data.appendingPathComponent("examples.jsonl")
        let lines = [TextExample(text: text.text, feature: fires, shouldFire: true), TextExample(text: text.text, feature: silent, shouldFire: false),
                     TextExample(text: text.text, feature: fires, shouldFire: false)]
        try (lines.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n\n")
            .write(to: file, atomically: true, encoding: .utf8)
        for (args, expected) in [(["--examples", file.path], lines), (["--saved"], [TextExample(text: text.text, feature: silent, shouldFire: true)])] {
            let (json, _) = try run(arguments(reference) + args + ["--json"], environment: env)
            let results = try XCTUnwrap(json["results"] as? [[String: Any]])
            XCTAssertEqual(results.count, expected.count)
            for (result, example) in zip(results, expected) {
                let values = codes.map { row in row.first { $0.feature == example.feature }?.value ?? 0 }
                let fired = values.contains { $0 != 0 }
                XCTAssertEqual(result["feature"] as? Int, example.feature)
                XCTAssertEqual(result["fired"] as? Bool, fired)
                XCTAssertEqual(result["matches"] as? Bool, fired == example.shouldFire)
                XCTAssertEqual(Float(result["max_activation"] as! Double), values.max()!, accuracy: 1e-5 * values.max()!)
            }
            XCTAssertEqual(json["matching"] as? Int, expected.filter { ex in codes.contains { $0.contains { $0.feature == ex.feature } } == ex.shouldFire }.count)
        }
    }

    /// Enter-to-result on SmolLM2 with the model loaded: a ~30-token sentence through the request
    /// path the screen is to use (tokenize, activations, encode: `TextFeatureScan`), warm, timed
    /// five times; the median and its parts are printed (the target: under 300 ms).
    func testWarmScanLatencyOnSmolLM2() throws {
        let reference = try reference("smollm2")
        let sae = try DictionaryLoader.load(path: reference.folder.appendingPathComponent("sae").path)
        let bridge = try ModelBridge(model: reference.model, layer: String(reference.layer), hook: nil, timeout: 600,
                                     environment: try ModelTestSupport.environment())
        defer { bridge.close() }
        let sentence = "Mr Darcy walked slowly across the crowded ballroom at Netherfield, and Elizabeth Bennet, who had overheard him, laughed at his pride."
        _ = try TextFeatureScan(text: sentence, model: bridge, sae: sae)
        func ms(_ work: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try work()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        var totals: [Double] = [], tokenizes: [Double] = [], forwards: [Double] = [], encodes: [Double] = []
        var tokens: [Int32] = []
        var acts: [Float] = []
        for _ in 0..<5 {
            totals.append(try ms { _ = try TextFeatureScan(text: sentence, model: bridge, sae: sae) })
            tokenizes.append(try ms { tokens = try bridge.tokenize(sentence) })
            forwards.append(try ms { acts = try bridge.activations([bridge.prefixTokenIDs + tokens], keep: false).values })
            let rows = Array(acts[(bridge.prefixTokenIDs.count * sae.inputDimension)...])
            encodes.append(try ms { _ = try TextFeatureScan(tokens: tokens, windows: [0..<tokens.count], activations: rows, sae: sae) })
        }
        func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
        func text(_ x: [Double]) -> String { String(format: "%.1f ms (min %.1f, max %.1f)", median(x), x.min()!, x.max()!) }
        print("text latency, SmolLM2 layer \(reference.layer), \(tokens.count) tokens, F=\(sae.featureCount), medians of 5 warm runs: "
              + "scan \(text(totals)); its parts: tokenize \(text(tokenizes)), activations \(text(forwards)), encode \(text(encodes))")
        XCTAssertGreaterThanOrEqual(tokens.count, 28)
        XCTAssertLessThan(median(totals), 10_000, "a warm scan of one sentence takes seconds at most, even on a busy machine")
    }

    /// No --layer, then no --model either: the dictionary's cfg.json names the hook (and, once
    /// written there, the model), and the output equals the run with both given. A config that
    /// names neither a block output nor a model on this machine gets one line saying what to give.
    func testTheDictionarysConfigNamesTheModelAndTheLayer() throws {
        let reference = try reference("tiny")
        let text = reference.texts[0].text
        let explicit = try run(arguments(reference) + ["--json", text]).json
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("site-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: reference.folder.appendingPathComponent("sae"), to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let noLayer = try run(["text", "--sae", copy.path, "--model", reference.model, "--json", text]).json
        XCTAssertEqual(noLayer["tokens"] as? NSArray, explicit["tokens"] as? NSArray, "the layer from cfg.json's hook_name")

        let cfgURL = copy.appendingPathComponent("cfg.json")
        let cfg = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: cfgURL)) as? [String: Any])
        func write(_ changes: [String: Any]) throws {
            try JSONSerialization.data(withJSONObject: cfg.merging(changes) { $1 }).write(to: cfgURL)
        }
        try write(["model_name": reference.model])
        let nothing = try run(["text", "--sae", copy.path, "--json", text]).json
        XCTAssertEqual(nothing["tokens"] as? NSArray, explicit["tokens"] as? NSArray, "the model from cfg.json's model_name")

        let cases: [([String: Any], String)] = [
            (["model_name": "gpt2-small"], "names the model 'gpt2-small', which is not on this machine: give --model M"),
            (["model_name": reference.model, "hook_name": "blocks.1.hook_mlp_out"], "names no block output to hook: give --layer L or --hook NAME"),
            (["model_name": NSNull()], "names no model: give --model M"),
        ]
        for (changes, message) in cases {
            try write(changes)
            let result = try SaescopeBinary.run(["text", "--sae", copy.path, text])
            XCTAssertEqual(result.status, 2, "\(changes): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(copy.path) && result.stderr.contains(message), "\(changes): \(result.stderr)")
        }
    }

    func testBadInputIsOneLineAndExitTwo() throws {
        let sae = SaescopeBinary.fixtures.appendingPathComponent("dictionaries/saelens_topk").path
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).txt")
        try "  \n\n".write(to: empty, atomically: true, encoding: .utf8)
        let badExamples = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).jsonl")
        try "{\"text\": \"a\", \"feature\": 0, \"should_fire\": true}\n{\"text\": \"b\", \"feature\": \"x\"}\n".write(to: badExamples, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["   "], "the text is empty"),
            (["--file", empty.path], "\(empty.path): the text is empty"),
            (["--file", "/nonexistent/t.txt"], "/nonexistent/t.txt: no such readable file"),
            (["--examples", badExamples.path], "\(badExamples.path): line 2 is not an example"),
            (["--feature", "999999", "hello"], "--feature 999999 is outside the dictionary's"),
        ]
        for (extra, message) in cases {
            let result = try SaescopeBinary.run(["text", "--sae", sae, "--model", "/nonexistent", "--layer", "1"] + extra)
            XCTAssertEqual(result.status, 2, "\(extra): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(message), "\(extra): \(result.stderr)")
        }
        var env = ProcessInfo.processInfo.environment
        env["SAESCOPE_PYTHON"] = nil
        env["XDG_CACHE_HOME"] = FileManager.default.temporaryDirectory.appendingPathComponent("no-env-\(UUID().uuidString)").path
        let result = try SaescopeBinary.run(["text", "--sae", sae, "--model", "/nonexistent", "--layer", "1", "hello"], environment: env)
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("make model-env"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    /// The model process is killed while saescope waits on it: one line naming it, exit 2.
    func testKilledModelProcessIsAOneLineError() throws {
        let reference = try reference("tiny")
        let (process, stderr) = try startSaescope(arguments(reference) + [reference.texts[0].text])
        let child = try waitForChild(of: process.processIdentifier)
        usleep(500_000)
        kill(child, SIGKILL)
        process.waitUntilExit()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 2, text)
        XCTAssertEqual(text.split(separator: "\n").count, 1, text)
        XCTAssertTrue(text.contains("the model process was killed by signal 9 during `"), text)
    }
}
