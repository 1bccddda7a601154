import XCTest
@testable import SAECore

/// Logit effects (W_dec[f] @ W_U, top and bottom 10) against numpy
/// (tools/fixtures/make_logit_reference.py): token ids exact, values within 1e-5 relative
/// (|a - b| <= 1e-5 * max(1, |b|); the fixture's effects reach 66, where one float32 ulp is 8e-6), for W_U
/// stored as `W_U [D, V]`, as `lm_head.weight [V, D]`, as the only 2-D tensor in float16, and as
/// npy; blocked runs equal unblocked ones; a wrong D and unknown layouts are one-line errors.
final class LogitEffectsTests: XCTestCase {
    lazy var reference: [String: Any] = try! JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("logits/reference.json")))) as! [String: Any]
    lazy var sae: SparseAutoencoder = try! DictionaryLoader.load(path: Fixtures.path("alignment/sae"))

    var features: [Int] { reference["features"] as! [Int] }

    private func assertMatches(_ results: [FeatureLogitEffects], _ key: String, _ label: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let expected = reference[key] as! [[String: Any]]
        XCTAssertEqual(results.map(\.feature), features, label, file: file, line: line)
        var worst: Float = 0, worstRelative: Float = 0
        for (result, want) in zip(results, expected) {
            for (actual, side) in [(result.positive, "positive"), (result.negative, "negative")] {
                let entries = want[side] as! [[String: Any]]
                XCTAssertEqual(actual.map(\.token), entries.map { $0["token"] as! Int }, "\(label) feature \(result.feature) \(side)", file: file, line: line)
                for (a, b) in zip(actual, entries) {
                    let value = Float(b["value"] as! Double)
                    worst = max(worst, abs(a.value - value))
                    worstRelative = max(worstRelative, abs(a.value - value) / max(1, abs(value)))
                    XCTAssertEqual(a.value, value, accuracy: 1e-5 * max(1, abs(value)), "\(label) feature \(result.feature) \(side)", file: file, line: line)
                }
            }
        }
        print("logit effects \(label): max |value - numpy| \(worst), relative \(worstRelative)")
    }

    func testEveryLayoutMatchesNumpy() throws {
        let cases: [(String, String, String?, Bool, String)] = [
            ("logits/w_u.safetensors", "W_U", "W_U", false, "float32"),
            ("logits/lm_head.safetensors", "lm_head.weight", "lm_head.weight", true, "float32"),
            ("logits/single_f16.safetensors", "only 2-D tensor, float16", "unembedding_matrix", true, "float16"),
            ("logits/w_u.npy", "npy", nil, false, "float32"),
        ]
        for (path, label, name, transposed, key) in cases {
            let unembedding = try Unembedding(path: Fixtures.path(path), dimension: 12)
            XCTAssertEqual(unembedding.tensorName, name, label)
            XCTAssertEqual(unembedding.storedTransposed, transposed, label)
            XCTAssertEqual(unembedding.vocabularySize, 500, label)
            assertMatches(try LogitEffects.compute(features: features, sae: sae, unembedding: unembedding), key, label)
        }
    }

    func testBlockingDoesNotChangeResults() throws {
        for path in ["logits/w_u.safetensors", "logits/lm_head.safetensors", "logits/single_f16.safetensors"] {
            let unembedding = try Unembedding(path: Fixtures.path(path), dimension: 12)
            let whole = try LogitEffects.compute(features: features, sae: sae, unembedding: unembedding)
            var reported: [Int] = []
            let blocked = try LogitEffects.compute(features: features, sae: sae, unembedding: unembedding, featureChunk: 2,
                                                   vocabularyBlock: 37, progress: { done, _ in reported.append(done) })
            XCTAssertEqual(blocked.map { $0.positive.map(\.token) }, whole.map { $0.positive.map(\.token) }, path)
            XCTAssertEqual(blocked.map { $0.negative.map(\.token) }, whole.map { $0.negative.map(\.token) }, path)
            for (a, b) in zip(blocked, whole) {
                for (x, y) in zip(a.positive + a.negative, b.positive + b.negative) { XCTAssertEqual(x.value, y.value, accuracy: 1e-6 * max(1, abs(y.value))) }
            }
            XCTAssertEqual(reported.last, 500)
            XCTAssertEqual(reported.count, 14)  // ceil(500 / 37)
        }
        let unembedding = try Unembedding(path: Fixtures.path("logits/w_u.safetensors"), dimension: 12)
        let three = try LogitEffects.compute(features: [17], sae: sae, unembedding: unembedding, count: 3)
        XCTAssertEqual(three[0].positive.count, 3)
        XCTAssertEqual(try LogitEffects.compute(features: [17], sae: sae, unembedding: unembedding, count: 900)[0].positive.count, 500)
        XCTAssertThrowsError(try LogitEffects.compute(features: [300], sae: sae, unembedding: unembedding)) {
            XCTAssertEqual("\($0)", "feature 300 does not exist: valid ids are 0 to 299")
        }
        XCTAssertThrowsError(try LogitEffects.compute(features: [1], sae: sae, unembedding: unembedding, isCancelled: { true }))
    }

    func testLayoutErrorsNameTheFile() throws {
        let wrong = Fixtures.path("logits/wrong_d.safetensors")
        XCTAssertThrowsError(try Unembedding(path: wrong, dimension: 12)) {
            XCTAssertEqual("\($0)", "\(wrong): tensor 'W_U' has shape [16, 500], read as [D, V], so D=16, but the dictionary has D=12")
        }
        let head = Fixtures.path("logits/lm_head.safetensors")
        XCTAssertThrowsError(try Unembedding(path: head, dimension: 16)) {
            XCTAssertEqual("\($0)", "\(head): tensor 'lm_head.weight' has shape [500, 12], read as [V, D], so D=12, but the dictionary has D=16")
        }
        let npy = Fixtures.path("logits/w_u.npy")
        XCTAssertThrowsError(try Unembedding(path: npy, dimension: 16)) {
            XCTAssertEqual("\($0)", "\(npy): the array has shape [12, 500], but the dictionary has D=16: neither axis is D")
        }
        let ambiguous = Fixtures.path("logits/ambiguous.safetensors")
        XCTAssertThrowsError(try Unembedding(path: ambiguous, dimension: 12)) {
            XCTAssertTrue("\($0)".hasPrefix("\(ambiguous): no unembedding tensor: looked for W_U, unembed.W_U, unembed, lm_head.weight, embed_out.weight or a single 2-D tensor, found a [12, 500], b [12, 7]"), "\($0)")
            XCTAssertFalse("\($0)".contains("\n"))
        }
        let missing = Fixtures.path("logits/missing.safetensors")
        XCTAssertThrowsError(try Unembedding(path: missing, dimension: 12)) { XCTAssertTrue("\($0)".hasPrefix(missing), "\($0)") }
    }

    func testVocabularyCheck() throws {
        let tokenizer = try TokenizerVocabulary(path: Fixtures.path("caches/tiny_sharded/tokenizer.json"))
        XCTAssertEqual(tokenizer.count, 100)
        XCTAssertNil(try Unembedding(path: Fixtures.path("logits/cli_w_u.safetensors"), dimension: 16).checkVocabulary(against: tokenizer))
        let large = try Unembedding(path: Fixtures.path("logits/cli_large_v.safetensors"), dimension: 16)
        XCTAssertTrue(try large.checkVocabulary(against: tokenizer)?.contains("V=128 logits, the tokenizer 100 tokens") ?? false)
        let small = try Unembedding(path: Fixtures.path("logits/cli_small_v.safetensors"), dimension: 16)
        XCTAssertThrowsError(try small.checkVocabulary(against: tokenizer)) {
            XCTAssertTrue("\($0)".contains("cli_small_v.safetensors: the unembedding has V=60 logits but the tokenizer"), "\($0)")
        }
    }
}
