import Foundation
import SAECore
import XCTest

/// Issue #13 items 6, 9 and 10, one behaviour at a time through the real binary (the corpus in
/// BadInputCorpusTests proves the classes; these pin the exact outcomes).
final class ReliabilityCommandTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-reliability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func fixture(_ name: String) -> String { SaescopeBinary.fixtures.appendingPathComponent(name).path }
    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    /// Exit code 2 and one line on stderr that contains `fragment`.
    func assertError(_ result: SaescopeBinary.Result, contains fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 2, result.stderr, file: file, line: line)
        let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("saescope: warning:") }
        XCTAssertEqual(lines.count, 1, result.stderr, file: file, line: line)
        for fragment in fragments { XCTAssertTrue(result.stderr.contains(fragment), result.stderr, file: file, line: line) }
    }

    func index(_ extra: [String], sae: String? = nil, acts: String? = nil) throws -> SaescopeBinary.Result {
        try SaescopeBinary.run(["index", "--sae", sae ?? fixture("dictionaries/dl_topk"), "--acts", acts ?? fixture("caches/tiny_f32.safetensors"),
                                "--top-k", "3", "--context", "2"] + extra)
    }

    // MARK: Item 6: numbers near Int.max

    func testWindowAndShardNearIntMaxIndexWhatExists() throws {
        let window = try index(["--first-token", "1", "--max-tokens", "9223372036854775807", "--out", path("w.idx"), "--json"])
        XCTAssertEqual(window.status, 0, window.stderr)
        XCTAssertTrue(window.stdout.contains("\"tokens\": 63"), window.stdout)  // 64 rows from row 1
        let shard = try index(["--shard", "9223372036854775806/9223372036854775807", "--out", path("s.idx")])
        XCTAssertTrue([0, 2].contains(shard.status), shard.stderr)
        let offset = try SaescopeBinary.run(["pca", "--data", fixture("probes/cities.csv"), "--offset", "9223372036854775807"])
        XCTAssertEqual(offset.status, 64, offset.stderr)
        XCTAssertTrue(offset.stderr.contains("--offset"), offset.stderr)
        let chunk = try SaescopeBinary.run(["bench", "index", "--chunk", "0"])
        XCTAssertEqual(chunk.status, 64, chunk.stderr)
        XCTAssertTrue(chunk.stderr.contains("--chunk"), chunk.stderr)
    }

    func testSparsifyFeatureCountThatOverflowsIsAnError() throws {
        let folder = path("sparsify")
        try FileManager.default.copyItem(atPath: fixture("dictionaries/sparsify_topk"), toPath: folder)
        let config = folder + "/layers.0/cfg.json"
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as! [String: Any]
        object["d_in"] = 3_000_000_000_000
        object["expansion_factor"] = 4_000_000_000_000
        object["num_latents"] = 0
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: config))
        assertError(try SaescopeBinary.run(["inspect", folder + "/layers.0"]), contains: "cfg.json", "expansion_factor")
    }

    // MARK: Item 9: outputs

    func testIndexNeverWritesOverItsOwnDictionary() throws {
        let folder = path("dl")
        try FileManager.default.copyItem(atPath: fixture("dictionaries/dl_topk"), toPath: folder)
        let before = try Data(contentsOf: URL(fileURLWithPath: folder + "/ae.pt"))
        for extra in [[], ["--force"]] {
            assertError(try index(["--out", folder + "/ae.pt"] + extra, sae: folder), contains: "ae.pt", "input")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/ae.pt")), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["ae.pt", "config.json"])
    }

    func testExistingOutputsNeedForce() throws {
        let out = path("existing.idx")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out))
        assertError(try index(["--out", out]), contains: "existing.idx", "--force")
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "keep")
        XCTAssertEqual(try index(["--out", out, "--force"]).status, 0)

        let merged = path("merged.idx")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: merged))
        assertError(try SaescopeBinary.run(["merge", out, "--out", merged]), contains: "merged.idx", "--force")
        assertError(try SaescopeBinary.run(["merge", out, "--out", out, "--force"]), contains: "existing.idx", "input")
        XCTAssertEqual(try SaescopeBinary.run(["merge", out, "--out", merged, "--force"]).status, 0)

        let comparison = path("comparison.json")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: comparison))
        let compare = ["compare", "--a", fixture("dictionaries/dl_topk"), "--b", fixture("dictionaries/dl_autoencoder"), "--out", comparison]
        assertError(try SaescopeBinary.run(compare), contains: "comparison.json", "--force")
        XCTAssertEqual(try String(contentsOfFile: comparison, encoding: .utf8), "keep")
        XCTAssertEqual(try SaescopeBinary.run(compare + ["--force"]).status, 0)
    }

    func testDefaultIndexLocationFollowsHome() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = scratch.path
        environment.removeValue(forKey: "XDG_CACHE_HOME")
        let result = try SaescopeBinary.run(["index", "--sae", fixture("dictionaries/dl_topk"), "--acts", fixture("caches/tiny_f32.safetensors"),
                                             "--top-k", "3", "--context", "2"], environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("wrote \(scratch.path)/.cache/saescope/"), result.stdout)
        // saescope's own default file is replaced without --force.
        XCTAssertEqual(try SaescopeBinary.run(["index", "--sae", fixture("dictionaries/dl_topk"), "--acts", fixture("caches/tiny_f32.safetensors"),
                                               "--top-k", "3", "--context", "2"], environment: environment).status, 0)
    }

    // MARK: Item 10: the smaller findings

    func testMergeRefusesMissingShardsUnlessAsked() throws {
        XCTAssertEqual(try index(["--shard", "0/2", "--out", path("s0.idx")]).status, 0)
        assertError(try SaescopeBinary.run(["merge", path("s0.idx"), "--out", path("m.idx")]), contains: "s0.idx", "1 of 2 shards are missing (1)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.idx")))
        let partial = try SaescopeBinary.run(["merge", path("s0.idx"), "--out", path("m.idx"), "--allow-partial"])
        XCTAssertEqual(partial.status, 0, partial.stderr)
        XCTAssertTrue(partial.stderr.contains("warning: 1 of 2 shards are missing"), partial.stderr)
        // Every merge error names the file it concerns.
        XCTAssertEqual(try index(["--shard", "1/2", "--out", path("s1.idx"), "--seed", "7"]).status, 0)
        assertError(try SaescopeBinary.run(["merge", path("s0.idx"), path("s1.idx"), "--out", path("m2.idx")]), contains: "s1.idx", "different settings")
    }

    func testFeatureListsWithStrayDashesAreErrors() throws {
        XCTAssertEqual(try index(["--out", path("i.idx")]).status, 0)
        for features in [" -1", "1-", "-1", "1--3", "1-2-3"] {
            assertError(try SaescopeBinary.run(["export", "--sae", fixture("dictionaries/dl_topk"), "--index", path("i.idx"),
                                                "--features=" + features, "--out", path("f.json")]),
                        contains: "is not a feature id or range")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("f.json")))
        XCTAssertEqual(try FeatureSelection.parse("1-3, 5", featureCount: 10), [1, 2, 3, 5])
    }

    func testJSONExportOfNaNNamesTheFeatureAndFile() throws {
        let folder = path("nan_saelens")
        try FileManager.default.copyItem(atPath: fixture("dictionaries/saelens_topk"), toPath: folder)
        let weights = URL(fileURLWithPath: folder + "/sae_weights.safetensors")
        let editor = try SafetensorsEditor(try Data(contentsOf: weights))
        let decoder = try XCTUnwrap(editor.tensors.first { $0.name == "W_dec" })
        try editor.filling(decoder, with: BadInputCorpus.bytes(Float.nan), everywhere: false).write(to: weights)
        XCTAssertEqual(try index(["--out", path("n.idx")], sae: folder).status, 0)
        assertError(try SaescopeBinary.run(["export", "--sae", folder, "--index", path("n.idx"), "--features", "0-2", "--decoder", "--out", path("n.json")]),
                    contains: "n.json", "feature 0", "NaN")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("n.json")))
    }

    func testIndexOfAnAllNaNOrEmptyCacheIsAnError() throws {
        let nan = path("nan.safetensors")
        try Safetensors.write(arrays: [.init("acts", .float32, [8, 16], [Float](repeating: .nan, count: 128))], metadata: [:], to: nan)
        assertError(try index(["--out", path("x.idx")], acts: nan), contains: "nan.safetensors", "all 8")
        let empty = path("empty.safetensors")
        try Safetensors.write(arrays: [.init("acts", .float32, [0, 16], [Float]())], metadata: [:], to: empty)
        let result = try index(["--out", path("y.idx")], acts: empty)
        assertError(result, contains: "empty.safetensors")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.idx")))
    }

    func testExportOfAStaleIndexWarns() throws {
        let folder = path("dl")
        try FileManager.default.copyItem(atPath: fixture("dictionaries/dl_topk"), toPath: folder)
        XCTAssertEqual(try index(["--out", path("i.idx")], sae: folder).status, 0)
        let fresh = try SaescopeBinary.run(["export", "--sae", folder, "--index", path("i.idx"), "--features", "0", "--out", path("a.json")])
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertFalse(fresh.stderr.contains("stale"), fresh.stderr)
        // The same weights, rewritten later: the index no longer matches the file it was built from.
        let weights = folder + "/ae.pt"
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: weights)
        let stale = try SaescopeBinary.run(["export", "--sae", folder, "--index", path("i.idx"), "--features", "0", "--out", path("b.json")])
        XCTAssertEqual(stale.status, 0, stale.stderr)
        XCTAssertTrue(stale.stderr.contains("warning: \(path("i.idx")) is stale"), stale.stderr)
    }

    func testProbeActivationsWithNaNNameTheFile() throws {
        try FileManager.default.copyItem(atPath: fixture("probes/cities.csv"), toPath: path("nan_cities.csv"))
        let original = try Safetensors.read(path: fixture("probes/cities.safetensors"))
        let acts = try XCTUnwrap(original["acts"])
        var values = acts.floats()
        values[3 * acts.shape[1] + 1] = .nan
        var arrays: [Safetensors.ArrayEntry] = [.init("acts", .float32, acts.shape, values)]
        if let labels = original["labels"] { arrays.append(.init("labels", .float32, labels.shape, labels.floats())) }
        try Safetensors.write(arrays: arrays, metadata: [:], to: path("nan_cities.safetensors"))
        for method in ["dim", "lr-l2"] {
            assertError(try SaescopeBinary.run(["probe", "--data", path("nan_cities.csv"), "--method", method]),
                        contains: "nan_cities.safetensors", "statement 3")
        }
        assertError(try SaescopeBinary.run(["pca", "--data", path("nan_cities.csv")]), contains: "nan_cities.safetensors")
    }

    func testFIFOInputIsRefusedAtOnce() throws {
        let fifo = path("acts.fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let started = Date()
        assertError(try SaescopeBinary.run(["eval", "--sae", fixture("dictionaries/dl_topk"), "--acts", fifo]), contains: "acts.fifo", "FIFO")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }
}
