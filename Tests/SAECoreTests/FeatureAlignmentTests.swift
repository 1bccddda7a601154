import XCTest
@testable import SAECore

/// Probe -> feature alignment against numpy brute force (tools/fixtures/make_alignment_reference.py):
/// exact ids of the top 10 each sign, decoder rows and encoder columns, cosines within 1e-5.
final class FeatureAlignmentTests: XCTestCase {
    lazy var reference: [String: Any] = try! JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("alignment/reference.json")))) as! [String: Any]

    func testTopFeaturesMatchNumpy() throws {
        let sae = try DictionaryLoader.load(path: Fixtures.path("alignment/sae"))
        let aligner = FeatureAlignment(sae: sae)
        var worst = 0.0
        for name in ["cities_dim", "random", "unnormalised"] {
            let entry = reference[name] as! [String: Any]
            let direction = entry["direction"] as! [Double]
            for side in FeatureAlignment.Side.allCases {
                let expected = entry[side.rawValue] as! [String: [[String: Any]]]
                let result = try aligner.top(10, for: direction, side: side)
                XCTAssertEqual(result.side, side)
                for (actual, key) in [(result.mostPositive, "positive"), (result.mostNegative, "negative")] {
                    let want = expected[key]!
                    XCTAssertEqual(actual.map(\.feature), want.map { $0["feature"] as! Int }, "\(name) \(side) \(key)")
                    for (a, b) in zip(actual, want) {
                        let cosine = b["cosine"] as! Double
                        worst = max(worst, abs(a.cosine - cosine))
                        XCTAssertEqual(a.cosine, cosine, accuracy: 1e-5, "\(name) \(side) \(key)")
                    }
                }
            }
        }
        print("feature alignment: max |cosine - numpy| \(worst)")
    }

    func testPlantedRowsZeroRowAndScaleInvariance() throws {
        let sae = try DictionaryLoader.load(path: Fixtures.path("alignment/sae"))
        let aligner = FeatureAlignment(sae: sae)
        let dim = (reference["cities_dim"] as! [String: Any])["direction"] as! [Double]
        let result = try aligner.top(3, for: dim.map { $0 * -7 })  // flipping the sign swaps the lists
        XCTAssertEqual(result.mostPositive.first?.feature, 230)
        XCTAssertEqual(result.mostNegative.first?.feature, 17)
        XCTAssertEqual(result.mostPositive.first!.cosine, 1, accuracy: 1e-6)
        XCTAssertEqual(result.mostPositive.count, 3)
        XCTAssertEqual(try aligner.cosines(with: dim)[5], 0)  // the zero decoder row
        XCTAssertEqual(try aligner.top(1000, for: dim).mostPositive.count, sae.featureCount)
        XCTAssertThrowsError(try aligner.top(5, for: [1, 2, 3])) {
            XCTAssertTrue("\($0)".contains("the direction has 3 dimensions but the dictionary has D=12"), "\($0)")
        }
        XCTAssertThrowsError(try aligner.top(5, for: [Double](repeating: 0, count: 12)))
    }

    func testExtremeSelectionTiesAndNaN() {
        let values: [Float] = [3, 1, 3, .nan, -2, 3, -2, 0]
        var top = ExtremeSelection(capacity: 2, largest: true), bottom = ExtremeSelection(capacity: 3, largest: false)
        values.withUnsafeBufferPointer { top.offer($0, base: 0); bottom.offer($0, base: 0) }
        XCTAssertEqual(top.sorted().map(\.index), [0, 2])
        XCTAssertEqual(bottom.sorted().map(\.index), [4, 6, 7])
        var reversed = ExtremeSelection(capacity: 2, largest: true)
        for i in values.indices.reversed() { reversed.offer(i, values[i]) }  // order of offers does not matter
        XCTAssertEqual(reversed.sorted().map(\.index), [0, 2])
        // against a full sort on random data with many ties
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let data = (0..<200).map { _ in Float(Int.random(in: -20...20, using: &generator)) }
            var selection = ExtremeSelection(capacity: 17, largest: false)
            data.withUnsafeBufferPointer { selection.offer($0, base: 100) }
            let expected = data.indices.sorted { (data[$0], $0) < (data[$1], $1) }.prefix(17).map { $0 + 100 }
            XCTAssertEqual(selection.sorted().map(\.index), Array(expected))
        }
    }
}
