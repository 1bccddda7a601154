import SAECore
import XCTest

/// The browser's decoder neighbours against a brute force in double precision.
final class DecoderNeighboursTests: XCTestCase {
    /// A transcoder's decoder rows are D_out wide (here 12, with D_in 16): neighbours use those.
    func testTranscoderNeighboursUseTheOutputWidth() throws {
        let sae = try DictionaryLoader.load(path: Fixtures.path("dictionaries/saelens_transcoder"))
        let d = sae.outputDimension, f = sae.featureCount
        XCTAssertEqual(d, 12)
        XCTAssertEqual(sae.inputDimension, 16)
        let rows = sae.decoderWeights
        let neighbours = DecoderNeighbours(sae: sae)
        for j in [0, 7, 47] {
            func cosine(_ other: Int) -> Double {
                var dot = 0.0, na = 0.0, nb = 0.0
                for k in 0..<d {
                    let x = Double(rows[j * d + k]), y = Double(rows[other * d + k])
                    dot += x * y; na += x * x; nb += y * y
                }
                return dot / (na * nb).squareRoot()
            }
            var all: [(feature: Int, cosine: Double)] = []
            for other in 0..<f where other != j { all.append((other, cosine(other))) }
            all.sort { a, b in a.cosine != b.cosine ? a.cosine > b.cosine : a.feature < b.feature }
            let expected = Array(all.prefix(5))
            let got = neighbours.nearest(to: j, count: 5)
            XCTAssertEqual(got.map { $0.feature }, expected.map { $0.feature }, "feature \(j)")
            for (g, e) in zip(got, expected) { XCTAssertEqual(Double(g.cosine), e.cosine, accuracy: 1e-5) }
        }
    }

    func testNearestFeaturesMatchBruteForceCosines() throws {
        let d = 16, f = 200
        var rng = SeededGenerator(seed: 7)
        let decoder = (0..<(f * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        var rows = decoder
        // A zero row (cosine 0 with everything) and a near-duplicate of feature 3.
        for k in 0..<d { rows[10 * d + k] = 0; rows[11 * d + k] = decoder[3 * d + k] * 2 + 0.01 }
        let sae = try SparseAutoencoder(
            inputDimension: d, featureCount: f, encoderWeights: [Float](repeating: 0, count: d * f),
            encoderBias: [Float](repeating: 0, count: f), decoderWeights: rows, decoderBias: [Float](repeating: 0, count: d),
            rule: .relu, subtractsDecoderBias: false,
            provenance: DictionaryProvenance(library: "test", kind: "AutoEncoder", weightsPath: "test", configPath: nil))
        let neighbours = DecoderNeighbours(sae: sae)
        for j in [0, 3, 10, 11, 199] {
            func cosine(_ a: Int, _ b: Int) -> Double {
                var dot = 0.0, na = 0.0, nb = 0.0
                for k in 0..<d {
                    let x = Double(rows[a * d + k]), y = Double(rows[b * d + k])
                    dot += x * y; na += x * x; nb += y * y
                }
                return na > 0 && nb > 0 ? dot / (na * nb).squareRoot() : 0
            }
            var all: [(feature: Int, cosine: Double)] = []
            for other in 0..<f where other != j { all.append((other, cosine(j, other))) }
            all.sort { a, b in a.cosine != b.cosine ? a.cosine > b.cosine : a.feature < b.feature }
            let expected = Array(all.prefix(9))
            let got = neighbours.nearest(to: j, count: 9)
            if j == 10 {
                XCTAssertTrue(got.allSatisfy { $0.cosine == 0 }, "a zero decoder row has no direction")
                continue
            }
            XCTAssertEqual(got.map { $0.feature }, expected.map { $0.feature }, "feature \(j)")
            for (g, e) in zip(got, expected) { XCTAssertEqual(Double(g.cosine), e.cosine, accuracy: 1e-5) }
        }
        XCTAssertEqual(neighbours.nearest(to: 3, count: 1).first?.feature, 11)
    }
}
