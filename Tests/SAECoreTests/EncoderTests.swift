import XCTest
@testable import SAECore

/// The BLAS encoder against a direct Double-precision evaluation of each rule's definition.
final class EncoderTests: XCTestCase {
    let d = 7, f = 20, rows = 33

    private func makeSAE(rule: ActivationRule, subtract: Bool = true, normalization: InputNormalization = .none,
                         skip: Bool = false, seed: UInt64 = 1) throws -> SparseAutoencoder {
        var rng = SeededGenerator(seed: seed)
        return try SparseAutoencoder(
            inputDimension: d, featureCount: f,
            encoderWeights: rng.floats(d * f), encoderBias: rng.floats(f, in: -0.3...0.3),
            decoderWeights: rng.floats(f * d), decoderBias: rng.floats(d, in: -0.5...0.5),
            rule: rule, subtractsDecoderBias: subtract, normalization: normalization,
            skipWeights: skip ? rng.floats(d * d) : nil,
            provenance: DictionaryProvenance(library: "test", kind: "test", weightsPath: "test", configPath: nil))
    }

    /// f and x_hat straight from the formulas, in Double.
    private func reference(_ sae: SparseAutoencoder, _ x: [Float]) -> (codes: [Double], reconstruction: [Double]) {
        var codes = [Double](), reconstruction = [Double]()
        for r in 0..<rows {
            var input = (0..<d).map { Double(x[r * d + $0]) }
            let original = input
            var scale = 1.0, shift = 0.0, outputScale = 1.0
            switch sae.normalization {
            case .none: break
            case .scale(let s): scale = Double(s); outputScale = 1 / Double(s)
            case .constantNormRescale:
                scale = Double(d).squareRoot() / input.map { $0 * $0 }.reduce(0, +).squareRoot(); outputScale = 1 / scale
            case .layerNorm:
                let mean = input.reduce(0, +) / Double(d)
                let std = (input.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d - 1)).squareRoot()
                shift = mean; scale = 1 / (std + 1e-5); outputScale = std
            }
            input = input.enumerated().map { i, v in (v - shift) * scale - (sae.subtractsDecoderBias ? Double(sae.decoderBias[i]) : 0) }
            var pre = (0..<f).map { j in (0..<d).reduce(0.0) { $0 + input[$1] * Double(sae.encoderWeights[$1 * f + j]) } }
            var code = [Double](repeating: 0, count: f)
            switch sae.rule {
            case .relu:
                for j in 0..<f { code[j] = max(pre[j] + Double(sae.encoderBias[j]), 0) }
            case .threshold(let t):
                for j in 0..<f { let p = pre[j] + Double(sae.encoderBias[j]); code[j] = (p > Double(t[j]) && p > 0) ? p : 0 }
            case .gated(let gate, let scaleM, let biasM):
                for j in 0..<f { code[j] = pre[j] + Double(gate[j]) > 0 ? max(pre[j] * Double(scaleM[j]) + Double(biasM[j]), 0) : 0 }
            case .topK(let k):
                for j in 0..<f { pre[j] = max(pre[j] + Double(sae.encoderBias[j]), 0) }
                let order = (0..<f).sorted { pre[$0] > pre[$1] || (pre[$0] == pre[$1] && $0 < $1) }
                for j in order.prefix(k) { code[j] = pre[j] }
            case .groupMax(let k):
                let size = f / k
                for g in 0..<k {
                    let members = (g * size..<(g + 1) * size)
                    let best = members.max { pre[$0] + Double(sae.encoderBias[$0]) < pre[$1] + Double(sae.encoderBias[$1]) }!
                    code[best] = max(pre[best] + Double(sae.encoderBias[best]), 0)
                }
            }
            codes += code
            for i in 0..<d {
                var value = Double(sae.decoderBias[i])
                for j in 0..<f { value += code[j] * Double(sae.decoderWeights[j * d + i]) }
                value = value * outputScale + shift
                if let s = sae.skipWeights { for a in 0..<d { value += original[a] * Double(s[a * d + i]) } }
                reconstruction.append(value)
            }
        }
        return (codes, reconstruction)
    }

    private func assertMatchesReference(_ sae: SparseAutoencoder, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SeededGenerator(seed: 99)
        let x = rng.floats(rows * d, in: -2...2)
        let encoder = SAEEncoder(sae: sae, maxRows: rows)
        x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: rows, reconstruct: true) }
        let expected = reference(sae, x)
        for i in 0..<rows * f {
            XCTAssertEqual(Double(encoder.codes[i]), expected.codes[i], accuracy: 1e-4, "code \(i)", file: file, line: line)
        }
        for i in 0..<rows * d {
            XCTAssertEqual(Double(encoder.reconstruction[i]), expected.reconstruction[i], accuracy: 1e-3, "x_hat \(i)", file: file, line: line)
        }
    }

    func testReLU() throws { assertMatchesReference(try makeSAE(rule: .relu)) }
    func testReLUWithoutDecoderBiasSubtraction() throws { assertMatchesReference(try makeSAE(rule: .relu, subtract: false)) }
    func testTopK() throws { assertMatchesReference(try makeSAE(rule: .topK(3))) }
    func testGroupMax() throws { assertMatchesReference(try makeSAE(rule: .groupMax(4))) }
    func testJumpReLU() throws {
        var rng = SeededGenerator(seed: 5)
        assertMatchesReference(try makeSAE(rule: .threshold(rng.floats(f, in: -0.2...0.8))))
    }
    func testGated() throws {
        var rng = SeededGenerator(seed: 6)
        assertMatchesReference(try makeSAE(rule: .gated(gateBias: rng.floats(f), magnitudeScale: rng.floats(f, in: 0.5...2), magnitudeBias: rng.floats(f))))
    }
    func testScaledInput() throws { assertMatchesReference(try makeSAE(rule: .relu, normalization: .scale(2.5))) }
    func testConstantNormRescale() throws { assertMatchesReference(try makeSAE(rule: .topK(4), normalization: .constantNormRescale)) }
    func testLayerNorm() throws { assertMatchesReference(try makeSAE(rule: .relu, normalization: .layerNorm)) }
    func testSkipConnection() throws { assertMatchesReference(try makeSAE(rule: .topK(2), skip: true)) }

    /// Two encoders taking turns (the chunk pipeline's) share their scratch but not their
    /// outputs: each one's codes and reconstruction are those of an encoder of its own, and stay
    /// so while the other runs.
    func testEncodersTakingTurnsKeepTheirOwnOutputs() throws {
        for sae in [try makeSAE(rule: .relu), try makeSAE(rule: .topK(3), normalization: .layerNorm), try makeSAE(rule: .relu, skip: true)] {
            var rng = SeededGenerator(seed: 4)
            let inputs = (0..<3).map { _ in rng.floats(rows * d) }
            func alone(_ x: [Float]) -> (codes: [Float], reconstruction: [Float]) {
                let encoder = SAEEncoder(sae: sae, maxRows: rows)
                x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: rows, reconstruct: true) }
                return (Array(encoder.codes), Array(encoder.reconstruction))
            }
            let first = SAEEncoder(sae: sae, maxRows: rows)
            let second = SAEEncoder(takingTurnsWith: first)
            inputs[0].withUnsafeBufferPointer { first.run($0.baseAddress!, rows: rows, reconstruct: true) }
            let firstReconstruction = Array(first.reconstruction)
            inputs[1].withUnsafeBufferPointer { second.run($0.baseAddress!, rows: rows, reconstruct: true) }
            XCTAssertEqual(Array(first.reconstruction), alone(inputs[0]).reconstruction, "\(sae.rule.summary): the partner's run changed it")
            XCTAssertEqual(firstReconstruction, alone(inputs[0]).reconstruction)
            XCTAssertEqual(Array(first.codes), alone(inputs[0]).codes)
            inputs[2].withUnsafeBufferPointer { first.run($0.baseAddress!, rows: rows, reconstruct: true) }
            XCTAssertEqual(Array(second.codes), alone(inputs[1]).codes, "\(sae.rule.summary)")
            XCTAssertEqual(Array(second.reconstruction), alone(inputs[1]).reconstruction)
            XCTAssertEqual(Array(first.codes), alone(inputs[2]).codes)
            XCTAssertEqual(second.path, first.path)
        }
    }

    func testDenseCodesTakeTheGEMMDecodePath() throws {
        // Large positive biases make most codes nonzero, so decoding goes through sgemm.
        var rng = SeededGenerator(seed: 8)
        let sae = try SparseAutoencoder(
            inputDimension: d, featureCount: f, encoderWeights: rng.floats(d * f, in: -0.1...0.1),
            encoderBias: [Float](repeating: 3, count: f), decoderWeights: rng.floats(f * d), decoderBias: rng.floats(d),
            rule: .relu, subtractsDecoderBias: true,
            provenance: DictionaryProvenance(library: "test", kind: "test", weightsPath: "test", configPath: nil))
        assertMatchesReference(sae)
    }

    func testTopKBreaksTiesTowardLowerIndex() {
        var selector = TopKSelector(capacity: 2)
        var row: [Float] = [1, 3, 3, 0, 3, -1]
        row.withUnsafeMutableBufferPointer { selector.keepLargestPositive($0) }
        XCTAssertEqual(row, [0, 3, 3, 0, 0, 0])
    }

    func testInvalidShapesAreRefused() {
        XCTAssertThrowsError(try SparseAutoencoder(
            inputDimension: 2, featureCount: 3, encoderWeights: [1], encoderBias: [0, 0, 0],
            decoderWeights: [Float](repeating: 0, count: 6), decoderBias: [0, 0], rule: .relu, subtractsDecoderBias: true,
            provenance: DictionaryProvenance(library: "t", kind: "t", weightsPath: "w.safetensors", configPath: nil))) { error in
            XCTAssertEqual("\(error)", "w.safetensors: encoder weights has 1 values, expected 6 for D=2, F=3")
        }
    }
}
