import Foundation
@testable import SAECore
import XCTest

/// `TextFeatureScan` against a fake model whose activations are a known function of the token id
/// and its position in the sequence run: windows, the prefix run but not reported, the rows in
/// order, and the codes equal to saescope's encoder on those rows.
final class TextFeatureScanTests: XCTestCase {
    final class FakeModel: TextActivationModel {
        let prefixTokenIDs: [Int32] = [99]
        let contextLength: Int?
        let hiddenWidth = 3
        var calls: [[Int32]] = []
        init(context: Int?) { contextLength = context }

        func tokenize(_ text: String) throws -> [Int32] { text.unicodeScalars.filter { $0 != " " }.map { Int32($0.value) } }

        /// Row of token `id` at position `t` of its sequence.
        static func row(_ id: Int32, at t: Int) -> [Float] {
            [Float(id % 7) - 3, Float(t) - 2, Float((Int(id) + t) % 5) - 1]
        }

        func activations(_ sequences: [[Int32]], keep: Bool) throws -> (values: [Float], length: Int) {
            calls += sequences
            let length = sequences.map(\.count).max() ?? 0
            var values: [Float] = []
            for sequence in sequences {
                for t in 0..<length { values += t < sequence.count ? Self.row(sequence[t], at: t) : [0, 0, 0] }
            }
            return (values, length)
        }
    }

    private func dictionary() throws -> SparseAutoencoder {
        try SparseAutoencoder(
            inputDimension: 3, featureCount: 4,
            encoderWeights: [1, -1, 0, 2, 0, 1, -1, 1, 1, 0, 2, -1], encoderBias: [0, -1, 0.5, -0.5],
            decoderWeights: [Float](repeating: 0.5, count: 12), decoderBias: [0, 0, 0], rule: .relu, subtractsDecoderBias: false,
            provenance: DictionaryProvenance(library: "test", kind: "fake", weightsPath: "fake.safetensors", configPath: nil))
    }

    func testWindowsRunThePrefixAndReportTheTextsTokensInOrder() throws {
        let model = FakeModel(context: 5)
        let sae = try dictionary()
        let scan = try TextFeatureScan(text: "abc defg hi", model: model, sae: sae)
        let ids = "abcdefghi".unicodeScalars.map { Int32($0.value) }
        XCTAssertEqual(scan.tokens, ids)
        XCTAssertEqual(scan.windows, [0..<4, 4..<8, 8..<9], "the context of 5 leaves 4 tokens after the prefix")
        XCTAssertEqual(model.calls, [[99] + ids[0..<4], [99] + ids[4..<8], [99] + ids[8..<9]])
        // Token i sits at position (i mod 4) + 1 of its window: its row is the fake's there.
        let rows = ids.indices.flatMap { FakeModel.row(ids[$0], at: $0 % 4 + 1) }
        let encoder = SAEEncoder(sae: sae, maxRows: ids.count)
        rows.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: ids.count, reconstruct: false) }
        for t in ids.indices {
            var expected: [(feature: Int, value: Float)] = []
            for k in encoder.activeRowStart[t]..<encoder.activeRowStart[t + 1] where encoder.activeValue[k] != 0 {
                expected.append((Int(encoder.activeFeature[k]), encoder.activeValue[k]))
            }
            expected.sort { $0.value != $1.value ? $0.value > $1.value : $0.feature < $1.feature }
            let shown = scan.features(at: t)
            XCTAssertEqual(shown.map { $0.feature }, expected.map { $0.feature }, "token \(t)")
            XCTAssertEqual(shown.map { $0.value }, expected.map { $0.value }, "token \(t)")
            for f in 0..<4 { XCTAssertEqual(scan.activation(of: f, at: t), expected.first { $0.feature == f }?.value ?? 0) }
        }
        XCTAssertTrue(ids.indices.contains { !scan.features(at: $0).isEmpty }, "features fire: the test can fail")
        let best = scan.maxActivation(of: 0)
        let values = ids.indices.map { scan.activation(of: 0, at: $0) }
        XCTAssertEqual(best.value, values.max())
        XCTAssertEqual(best.position, values.firstIndex(of: values.max()!))
    }

    func testWithoutAContextLengthTheFallbackWindowIsUsedAndCtxOverridesIt() throws {
        let sae = try dictionary()
        let long = String(repeating: "a", count: TextFeatureScan.fallbackContext + 10)
        XCTAssertEqual(try TextFeatureScan(text: long, model: FakeModel(context: nil), sae: sae).windows.count, 2)
        XCTAssertEqual(try TextFeatureScan(text: "abcdef", model: FakeModel(context: 100), sae: sae, context: 3).windows, [0..<2, 2..<4, 4..<6])
    }

    func testBadInputIsAnError() throws {
        let sae = try dictionary()
        XCTAssertThrowsError(try TextFeatureScan(text: "   ", model: FakeModel(context: 5), sae: sae)) {
            XCTAssertEqual(String(describing: $0), "the text has no tokens")
        }
        XCTAssertThrowsError(try TextFeatureScan(text: "ab", model: FakeModel(context: 1), sae: sae)) {
            XCTAssertEqual(String(describing: $0), "a context of 1 tokens leaves no room for text after the 1 prefix tokens")
        }
        let wide = try SparseAutoencoder(
            inputDimension: 4, featureCount: 1, encoderWeights: [1, 1, 1, 1], encoderBias: [0], decoderWeights: [1, 1, 1, 1],
            decoderBias: [0, 0, 0, 0], rule: .relu, subtractsDecoderBias: false,
            provenance: DictionaryProvenance(library: "test", kind: "fake", weightsPath: "wide.safetensors", configPath: nil))
        XCTAssertThrowsError(try TextFeatureScan(text: "ab", model: FakeModel(context: 5), sae: wide)) {
            XCTAssertTrue(String(describing: $0).contains("width 3 but the dictionary (wide.safetensors) expects D=4"), "\($0)")
        }
    }
}
