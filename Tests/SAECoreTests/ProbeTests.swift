import XCTest
@testable import SAECore

/// Probes and PCA against numpy, scikit-learn and torch (tools/fixtures/make_probe_fixtures.py):
/// PCA ratios and projections to 1e-4 (projections up to each component's sign), directions to
/// 1e-4 up to sign, logistic-regression accuracy within one point.
final class ProbeTests: XCTestCase {
    lazy var reference: [String: Any] = try! JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("probes/reference.json")))) as! [String: Any]

    func dataset(_ name: String) throws -> ProbeDataset { try ProbeDataset(path: Fixtures.path("probes/\(name).csv")) }

    func testCSVTrapsParse() throws {
        let cities = try dataset("cities")  // CRLF, True/False labels, quoted commas, "" escapes, embedded newlines, no final newline
        XCTAssertEqual(cities.count, 200)
        XCTAssertEqual(cities.statements[0], "City 0, of \"Zürich\" fame\nline two")
        XCTAssertEqual(cities.statements[1], "Statement número 1")
        XCTAssertEqual(try cities.labels("label").map { $0 ? 1 : 0 }, reference["labels_cities"] as! [Int])
        XCTAssertEqual(try dataset("neg_cities").count, 200)  // LF, 0/1 labels
        let xor = try cities.labels("label^has_alice")
        XCTAssertEqual(xor, zip(try cities.labels("label"), try cities.labels("has_alice")).map { $0 != $1 })
        XCTAssertThrowsError(try cities.labels("nope")) { XCTAssertTrue("\($0)".contains("no boolean column 'nope'")) }
    }

    func testCSVReaderEdgeCases() throws {
        XCTAssertEqual(try CSVReader.parse("a,b\r\n\"x,\"\"y\"\"\",2", source: "t"), [["a", "b"], ["x,\"y\"", "2"]])
        XCTAssertEqual(try CSVReader.parse("\u{FEFF}a\n1\n\n2\n", source: "t"), [["a"], ["1"], ["2"]])
        XCTAssertEqual(try CSVReader.parse("a,\n,", source: "t"), [["a", ""], ["", ""]])
        XCTAssertThrowsError(try CSVReader.parse("a\n\"open", source: "t.csv")) { XCTAssertEqual("\($0)", "t.csv: line 2: a quoted field is never closed") }
        XCTAssertEqual(CSVReader.boolean("True"), true)
        XCTAssertEqual(CSVReader.boolean(" 0 "), false)
        XCTAssertNil(CSVReader.boolean("maybe"))
    }

    func testRowCountMismatchIsAClearError() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "statement,label\nA,1\nB,0\n".write(to: directory.appendingPathComponent("d.csv"), atomically: true, encoding: .utf8)
        try Safetensors.write([.init(name: "acts", floats: [1, 2, 3], shape: [3, 1])], to: directory.appendingPathComponent("d.safetensors").path)
        XCTAssertThrowsError(try ProbeDataset(path: directory.appendingPathComponent("d.csv").path)) {
            XCTAssertTrue("\($0)".contains("acts has 3 rows but"), "\($0)")
        }
    }

    func testPCAMatchesNumpy() throws {
        let cities = try dataset("cities"), neg = try dataset("neg_cities")
        let basis = try PCABasis(fitting: [cities])
        assertClose(Array(basis.explainedVarianceRatio.prefix(5)), reference["pca_ratios"] as! [Double], 1e-4)
        try assertProjection(basis.project(cities), reference["pca_projection_first_rows"] as! [[Double]])
        let union = try PCABasis(fitting: [cities, neg])
        assertClose(Array(union.explainedVarianceRatio.prefix(5)), reference["union_ratios"] as! [Double], 1e-4)
        try assertProjection(union.project(neg), reference["union_projection_first_rows"] as! [[Double]])
        XCTAssertEqual(try union.project(neg, offset: 1, count: 2).columns, 2)
    }

    func testDirectionsMatchNumpyAndScikitLearn() throws {
        let cities = try dataset("cities")
        let x = cities.centred(), y = try cities.labels("label")
        for (method, key) in [(ProbeMethod.differenceInMeans, "dim_direction"), (.differenceInMeansIID, "iid_direction"), (.lda, "lda_direction")] {
            let probe = try LinearProbe.train(method, x: x, y: y)
            let norm = probe.direction.map { $0 * $0 }.reduce(0, +).squareRoot()
            let direction = probe.direction.map { $0 / norm }
            let expected = reference[key] as! [Double]
            let sign: Double = dot(direction, expected) < 0 ? -1 : 1
            assertClose(direction.map { $0 * sign }, expected, 1e-4, "\(method)")
        }
        let lda = try LinearProbe.train(.lda, x: x, y: y)
        XCTAssertEqual(ProbeScoring.accuracy(scores: lda.scores(x), labels: y), reference["lda_accuracy"] as! Double, accuracy: 0.01)
        let dim = try LinearProbe.train(.differenceInMeans, x: x, y: y)
        XCTAssertEqual(ProbeScoring.auroc(scores: dim.scores(x), labels: y), reference["dim_auroc"] as! Double, accuracy: 1e-9)
        let neg = try dataset("neg_cities")
        XCTAssertEqual(ProbeScoring.accuracy(scores: dim.scores(neg.centred()), labels: try neg.labels("label")),
                       reference["dim_accuracy_on_neg"] as! Double, accuracy: 1e-9)
    }

    func testLogisticRegressionMatchesTorchWithinOnePoint() throws {
        let cities = try dataset("cities"), neg = try dataset("neg_cities")
        let probe = try LinearProbe.train(.logisticRegression, x: cities.centred(), y: cities.labels("label"))
        XCTAssertEqual(ProbeScoring.accuracy(scores: probe.scores(cities.centred()), labels: try cities.labels("label")),
                       reference["lr_accuracy_train"] as! Double, accuracy: 0.01)
        XCTAssertEqual(ProbeScoring.accuracy(scores: probe.scores(neg.centred()), labels: try neg.labels("label")),
                       reference["lr_accuracy_on_neg"] as! Double, accuracy: 0.01)
    }

    func testGeneralizationMatrixShapeAndDiagonal() throws {
        let datasets = [try dataset("cities"), try dataset("neg_cities")]
        let matrix = try GeneralizationMatrix.compute(datasets: datasets, trainSpecs: ["cities", "neg_cities", "cities+neg_cities"], method: .differenceInMeans)
        XCTAssertEqual(matrix.accuracy.count, 3)
        XCTAssertEqual(matrix.accuracy[0].count, 2)
        XCTAssertGreaterThan(matrix.accuracy[0][0], 0.85)       // held-out 20% of the training set
        XCTAssertLessThan(matrix.accuracy[0][1], 0.3)           // the negation flips the direction
        XCTAssertEqual(matrix.accuracy[0][0], matrix.oracleAccuracy[0], accuracy: 1e-12)
        XCTAssertEqual(ProbeSplit.split(count: 10, seed: 3).test.count, 2)
        XCTAssertEqual(ProbeSplit.split(count: 10, seed: 3).train, ProbeSplit.split(count: 10, seed: 3).train)
    }

    func testAUROCCountsTiesAsHalf() {
        XCTAssertEqual(ProbeScoring.auroc(scores: [1, 1, 0], labels: [true, false, false]), 0.75)
    }

    private func assertProjection(_ actual: Matrix, _ expected: [[Double]], file: StaticString = #filePath, line: UInt = #line) {
        for c in 0..<expected[0].count {
            let sign: Double = actual[0, c] * expected[0][c] < 0 ? -1 : 1
            for r in 0..<expected.count {
                XCTAssertEqual(actual[r, c] * sign, expected[r][c], accuracy: 1e-4 * max(1, abs(expected[r][c])), file: file, line: line)
            }
        }
    }

    private func assertClose(_ a: [Double], _ b: [Double], _ tolerance: Double, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: tolerance, label, file: file, line: line) }
    }
}
