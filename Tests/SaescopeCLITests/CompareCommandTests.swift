import XCTest
import SAECore

/// `saescope compare` as a user runs it.
final class CompareCommandTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func fixture(_ relative: String) -> String { SaescopeBinary.fixtures.appendingPathComponent(relative).path }

    private func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    func testDifferentWidthsExitTwoWithOneLineNamingBothPaths() throws {
        let a = fixture("dictionaries/saelens_standard"), b = fixture("compare/narrow_d8")
        let result = try SaescopeBinary.run(["compare", "--a", a, "--b", b])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertEqual(result.stdout, "")
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("saescope: "), result.stderr)
        for fragment in [a, b, "D=16", "D=8"] {
            XCTAssertTrue(result.stderr.contains(fragment), "'\(fragment)' missing from: \(result.stderr)")
        }
    }

    func testTableShowsMetricsSideBySideAndTheMatchSummary() throws {
        let result = try SaescopeBinary.run(["compare", "--a", fixture("dictionaries/dl_autoencoder"), "--b", fixture("dictionaries/saelens_standard"),
                                             "--acts", fixture("caches/tiny_f32.safetensors"), "--thresholds", "0.95,0.8"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = result.stdout
        for fragment in ["MSE", "EV(dl)", "rel.bias", "mean best cosine", "best >= 0.95", "best >= 0.8", "assignment   optimal: 48 pairs",
                         "best-match cosine histogram", "A -> B", "B -> A"] {
            XCTAssertTrue(out.contains(fragment), "'\(fragment)' missing from:\n\(out)")
        }
        // The metrics rows carry eval's numbers: L0 of A as eval --json reports it.
        let eval = try SaescopeBinary.run(["eval", "--sae", fixture("dictionaries/dl_autoencoder"), "--acts", fixture("caches/tiny_f32.safetensors"), "--json"])
        let l0 = try json(eval.stdout)["l0"] as! Double
        let rowA = out.split(separator: "\n").first { $0.hasPrefix("  A ") }
        XCTAssertNotNil(rowA, out)
        XCTAssertTrue(rowA!.contains(String(format: "%.4f", l0)), "\(rowA!) lacks L0 \(l0)")
    }

    func testJSONSummaryAndFullExportRoundTrip() throws {
        let out = scratch.appendingPathComponent("matching.json").path
        let a = fixture("dictionaries/saelens_standard"), b = fixture("compare/wide_f80")
        let result = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--top", "3", "--json", "--out", out,
                                             "--acts", fixture("caches/tiny_f32.safetensors")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try json(result.stdout)
        XCTAssertEqual(summary["version"] as? Int, 1)
        XCTAssertEqual((summary["a"] as! [String: Any])["path"] as? String, a)
        XCTAssertEqual((summary["b"] as! [String: Any])["feature_count"] as? Int, 80)
        XCTAssertEqual((summary["assignment"] as! [String: Any])["method"] as? String, "optimal")
        XCTAssertNil((summary["a_to_b"] as! [String: Any])["matches"])
        let metrics = summary["metrics"] as! [String: Any]
        XCTAssertEqual(Set((metrics["a"] as! [String: Any]).keys), Set(["mse", "explained_variance", "explained_variance_dictionary_learning", "fvu", "l0", "l1",
                                                                     "frac_alive", "cos_sim", "relative_reconstruction_bias", "l2_ratio", "n_tokens", "n_skipped"]
                                                                    + CoreMetricsCommandTests.newKeys))

        let full = try json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)), as: UTF8.self))
        XCTAssertEqual(full["version"] as? Int, 1)
        for side in ["a", "b"] {
            let identity = full[side] as! [String: Any]
            for key in ["path", "library", "kind", "weights", "input_dimension", "feature_count", "fingerprint"] {
                XCTAssertNotNil(identity[key], "\(side).\(key)")
            }
        }
        XCTAssertEqual((full["a"] as! [String: Any])["library"] as? String, "SAELens")
        let ab = full["a_to_b"] as! [String: Any], ba = full["b_to_a"] as! [String: Any]
        XCTAssertEqual((ab["matches"] as! [[Int]]).count, 48)
        XCTAssertEqual((ba["matches"] as! [[Int]]).count, 80)
        XCTAssertTrue((ab["cosines"] as! [[Double]]).allSatisfy { $0.count == 3 && $0 == $0.sorted(by: >) })
        let assignment = full["assignment"] as! [String: Any]
        let pairsA = assignment["a"] as! [Int], pairsB = assignment["b"] as! [Int], cosines = assignment["cosine"] as! [Double]
        XCTAssertEqual(pairsA.count, 48)
        XCTAssertEqual(Set(pairsB).count, 48)
        XCTAssertEqual(cosines.count, 48)
        XCTAssertEqual(cosines.reduce(0, +) / 48, assignment["mean_cosine"] as! Double, accuracy: 1e-6)

        // The matches agree with the numpy reference.
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture("compare/reference.json")))) as! [String: Any]
        let pair = (reference["pairs"] as! [[String: Any]]).first { ($0["b"] as! String) == "compare/wide_f80" && ($0["a"] as! String) == "dictionaries/saelens_standard" }!
        let expected = (pair["a_to_b"] as! [String: Any])["indices"] as! [[Int]]
        XCTAssertEqual(ab["matches"] as! [[Int]], expected.map { Array($0.prefix(3)) })
        XCTAssertEqual(assignment["mean_cosine"] as! Double, pair["optimal_mean"] as! Double, accuracy: 1e-5)
        // Written atomically: no temporary file left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), ["matching.json"])
    }

    func testActivationAgreementFromTwoIndexes() throws {
        let acts = fixture("caches/tiny_f32.safetensors")
        let a = fixture("dictionaries/dl_autoencoder"), b = fixture("dictionaries/saelens_standard")
        let indexA = scratch.appendingPathComponent("a.safetensors").path, indexB = scratch.appendingPathComponent("b.safetensors").path
        for (sae, index) in [(a, indexA), (b, indexB)] {
            let result = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--out", index, "--top-k", "5"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let result = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--index-a", indexA, "--index-b", indexB, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let agreement = try json(result.stdout)["activation_agreement"] as! [String: Any]
        let mean = try XCTUnwrap(agreement["mean"] as? Double)
        XCTAssertTrue(mean > 0 && mean <= 1, "\(mean)")
        XCTAssertEqual(agreement["top_k_a"] as? Int, 5)

        let text = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--index-a", indexA, "--index-b", indexB])
        XCTAssertTrue(text.stdout.contains("activation agreement"), text.stdout)

        // Only one index is a usage error.
        let usage = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--index-a", indexA])
        XCTAssertNotEqual(usage.status, 0)
        XCTAssertTrue(usage.stderr.contains("--index-b"), usage.stderr)
    }

    /// With --acts, indexes at `saescope index`'s default location are picked up.
    func testDefaultIndexesAreFoundThroughActs() throws {
        let acts = fixture("caches/tiny_f32.safetensors")
        let a = fixture("dictionaries/dl_autoencoder"), b = fixture("dictionaries/dl_topk")
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CACHE_HOME"] = scratch.path
        let without = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--acts", acts, "--json"], environment: environment)
        XCTAssertEqual(without.status, 0, without.stderr)
        XCTAssertNil(try json(without.stdout)["activation_agreement"])
        for sae in [a, b] {
            let result = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts], environment: environment)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let with = try SaescopeBinary.run(["compare", "--a", a, "--b", b, "--acts", acts, "--json"], environment: environment)
        XCTAssertEqual(with.status, 0, with.stderr)
        let agreement = try XCTUnwrap(try json(with.stdout)["activation_agreement"] as? [String: Any])
        let evaluated = try XCTUnwrap(agreement["evaluated_pairs"] as? Int)
        XCTAssertTrue(evaluated > 40 && evaluated <= 48, "\(evaluated)")
        XCTAssertNotNil(agreement["mean"] as? Double)
    }

    func testBadThresholdsAreUsageErrors() throws {
        let result = try SaescopeBinary.run(["compare", "--a", fixture("dictionaries/dl_autoencoder"), "--b", fixture("dictionaries/dl_topk"),
                                             "--thresholds", "0.9,high"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertNotEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("--thresholds"), result.stderr)
    }
}
