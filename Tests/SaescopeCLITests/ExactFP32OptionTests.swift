import Foundation
import XCTest
import SAECore


/// `--exact-fp32` end to end: eval accepts it and its metrics equal the default run's to fp32
/// rounding on the top-k, ReLU and JumpReLU fixtures (these tiny dictionaries have so many
/// candidates that most chunks fall back to fp32 anyway: the screen itself is proven in
/// SAECoreTests' ScreenedEncodeTests and ScreenedIndexAgreementTests), and `inspect` names the path.
final class ExactFP32OptionTests: XCTestCase {
    private func fixture(_ relative: String) -> String { SaescopeBinary.fixtures.appendingPathComponent(relative).path }

    private func evaluate(_ dictionary: String, _ extra: [String]) throws -> [String: Any] {
        let result = try SaescopeBinary.run(["eval", "--sae", fixture("dictionaries/\(dictionary)"),
                                             "--acts", fixture("caches/tiny_f32.safetensors"), "--json"] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }

    func testEvalGivesTheSameMetricsWithAndWithoutExactFP32() throws {
        for dictionary in ["saelens_topk", "saelens_standard", "saelens_jumprelu"] {
            let screened = try evaluate(dictionary, []), exact = try evaluate(dictionary, ["--exact-fp32"])
            XCTAssertEqual(Set(screened.keys), Set(exact.keys))
            for (key, value) in exact {
                guard let expected = value as? Double, let actual = screened[key] as? Double else { continue }
                XCTAssertEqual(actual, expected, accuracy: 1e-5 * max(1, abs(expected)), "\(dictionary) \(key)")
            }
        }
    }

    func testInspectNamesTheEncodePath() throws {
        let result = try SaescopeBinary.run(["inspect", fixture("dictionaries/saelens_topk")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("encode") }
        XCTAssertNotNil(line, result.stdout)
        XCTAssertTrue(line.map { $0.contains("screened int8") || $0.contains("screened bf16") || $0.contains("fp32 sgemm") } ?? false, result.stdout)
        // The line is the path this CPU takes: int8 for ReLU where it has VNNI, bf16 for top-k.
        for dictionary in ["saelens_topk", "saelens_standard"] {
            let expected = EncodePath.chosen(for: try DictionaryLoader.load(path: fixture("dictionaries/\(dictionary)"))).summary
            let shown = try SaescopeBinary.run(["inspect", fixture("dictionaries/\(dictionary)")])
            XCTAssertTrue(shown.stdout.contains(expected), "\(dictionary): \(expected)\n\(shown.stdout)")
        }
        let forced = try SaescopeBinary.run(["inspect", fixture("dictionaries/saelens_topk")], environment: ProcessInfo.processInfo.environment.merging(["SAESCOPE_EXACT_FP32": "1"]) { $1 })
        XCTAssertTrue(forced.stdout.contains("fp32 sgemm (--exact-fp32)"), forced.stdout)
    }

    /// eval's table names the encode that ran over the pass, and `--exact-fp32` on the command
    /// line switches it: the sample ReLU dictionary over the sample cache (real activations, few
    /// enough candidates that the screen keeps every chunk where the CPU has the instructions).
    func testEvalSaysWhichEncodeRanAndTheFlagForcesFP32() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sae = repository.appendingPathComponent("samples/dictionaries/dictionary_learning/trainer_0").path
        let acts = repository.appendingPathComponent("samples/activations/smollm2_l15_pride_and_prejudice.safetensors").path
        func encodeLine(_ extra: [String]) throws -> String {
            let result = try SaescopeBinary.run(["eval", "--sae", sae, "--acts", acts, "--no-weight-cosines"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout.split(separator: "\n").first { $0.hasPrefix("encode ") }.map(String.init) ?? "no encode line in:\n\(result.stdout)"
        }
        let path = EncodePath.chosen(for: try DictionaryLoader.load(path: sae))
        let plain = try encodeLine([])
        if case .screened(let precision) = path {
            // Every chunk screened in the starting precision: none retried, none in fp32.
            let pattern = precision == .int8 ? #"^encode +screened: [1-9][0-9]* chunks int8, 0 bf16 \(0 int8 retried\), 0 fp32; candidates [0-9.]+(-[0-9.]+)?% of entries$"#
                                             : #"^encode +screened: 0 chunks int8, [1-9][0-9]* bf16 \(0 int8 retried\), 0 fp32; candidates [0-9.]+(-[0-9.]+)?% of entries$"#
            XCTAssertNotNil(plain.range(of: pattern, options: .regularExpression), plain)
        } else {
            XCTAssertEqual(plain, "encode       " + path.summary)
        }
        XCTAssertEqual(try encodeLine(["--exact-fp32"]), "encode       fp32 sgemm (--exact-fp32)")
    }
}
