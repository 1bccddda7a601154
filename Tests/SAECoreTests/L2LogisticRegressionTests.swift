import XCTest
@testable import SAECore

/// The `lr-l2` probe against scikit-learn's `LogisticRegression(C=1.0, fit_intercept=True)`
/// (tools/fixtures/make_lr_l2_reference.py, lbfgs run to its optimum): every coefficient and the
/// intercept within 1e-4 relative (|a - b| <= 1e-4 * max(|b|, 1e-3 * max|coef|)), accuracy equal.
/// Cases: the cities fixture (and transfer to neg_cities), a wide one (30 rows, D = 40), a
/// linearly separable one with large activations, an unbalanced one.
final class L2LogisticRegressionTests: XCTestCase {
    lazy var reference: [String: Any] = try! JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("probes/lr_l2_reference.json")))) as! [String: Any]

    func referenceCase(_ name: String) -> [String: Any] { (reference["cases"] as! [String: Any])[name] as! [String: Any] }

    func testCitiesMatchesScikitLearn() throws {
        let cities = try ProbeDataset(path: Fixtures.path("probes/cities.csv"))
        let neg = try ProbeDataset(path: Fixtures.path("probes/neg_cities.csv"))
        let x = cities.centred(), y = try cities.labels("label")
        let expected = referenceCase("cities")
        let probe = try LinearProbe.train(.logisticRegressionL2, x: x, y: y)
        assertMatches(probe, expected, "cities")
        XCTAssertEqual(ProbeScoring.accuracy(scores: probe.scores(x), labels: y), expected["accuracy"] as! Double)
        XCTAssertEqual(ProbeScoring.accuracy(scores: probe.scores(neg.centred()), labels: try neg.labels("label")),
                       expected["accuracy_on_neg_cities"] as! Double)
    }

    func testGeneratedCasesMatchScikitLearn() throws {
        for name in ["wide", "separable", "unbalanced"] {
            let expected = referenceCase(name)
            let rows = expected["x"] as! [[Double]]
            let x = Matrix(rows: rows.count, columns: rows[0].count, values: rows.flatMap { $0 })
            let y = (expected["y"] as! [Int]).map { $0 == 1 }
            let fit = try L2LogisticRegression.fit(x: x, y: y)
            XCTAssertTrue(fit.converged, name)
            XCTAssertLessThan(fit.iterations, 40, name)
            let probe = try LinearProbe.train(.logisticRegressionL2, x: x, y: y)
            XCTAssertEqual(probe.direction, fit.weights)
            assertMatches(probe, expected, name)
            // Accuracy as counts of correct rows (numpy's mean and ours may differ in the last bit).
            let correct = Int((ProbeScoring.accuracy(scores: probe.scores(x), labels: y) * Double(y.count)).rounded())
            XCTAssertEqual(correct, Int(((expected["accuracy"] as! Double) * Double(y.count)).rounded()), name)
            // scikit-learn with every default (tol 1e-4) stops short of the optimum but classifies the same.
            XCTAssertEqual(correct, Int(((expected["default_accuracy"] as! Double) * Double(y.count)).rounded()), name)
        }
    }

    /// The optimum satisfies C Xᵀ(p - y) + w = 0 and sum(p - y) = 0, and scaling C changes it.
    func testStationarityAndRegularisation() throws {
        let cities = try ProbeDataset(path: Fixtures.path("probes/cities.csv"))
        let x = cities.centred(), y = try cities.labels("label")
        let fit = try L2LogisticRegression.fit(x: x, y: y)
        let residual = zip(x.times(fit.weights), y).map { 1 / (1 + exp(-($0 + fit.intercept))) - ($1 ? 1 : 0) }
        let gradient = zip(x.transposeTimes(residual), fit.weights).map { $0 + $1 }
        XCTAssertLessThan(gradient.map(abs).max()!, 1e-9)
        XCTAssertLessThan(abs(residual.reduce(0, +)), 1e-9)
        let weaker = try L2LogisticRegression.fit(x: x, y: y, c: 0.01)
        XCTAssertLessThan(norm(weaker.weights), norm(fit.weights) * 0.5)
        XCTAssertThrowsError(try L2LogisticRegression.fit(x: x, y: y, c: 0))
    }

    func testGeneralizationMatrixAndAllMethodsIncludeIt() throws {
        XCTAssertEqual(ProbeMethod(rawValue: "lr-l2"), .logisticRegressionL2)
        XCTAssertTrue(ProbeMethod.allCases.contains(.logisticRegressionL2))
        let datasets = [try ProbeDataset(path: Fixtures.path("probes/cities.csv")), try ProbeDataset(path: Fixtures.path("probes/neg_cities.csv"))]
        let matrix = try GeneralizationMatrix.compute(datasets: datasets, trainSpecs: ["cities", "cities+neg_cities"], method: .logisticRegressionL2)
        XCTAssertGreaterThan(matrix.accuracy[0][0], 0.85)
        XCTAssertLessThan(matrix.accuracy[0][1], 0.3)  // the negation flips the truth direction
        XCTAssertEqual(matrix.accuracy[0][0], matrix.oracleAccuracy[0], accuracy: 1e-12)
    }

    private func norm(_ v: [Double]) -> Double { v.map { $0 * $0 }.reduce(0, +).squareRoot() }

    private func assertMatches(_ probe: LinearProbe, _ expected: [String: Any], _ label: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let coef = expected["coef"] as! [Double], intercept = expected["intercept"] as! Double
        XCTAssertEqual(probe.direction.count, coef.count, label, file: file, line: line)
        let floor = 1e-3 * coef.map(abs).max()!
        var worst = 0.0
        for (a, b) in zip(probe.direction, coef) {
            worst = max(worst, abs(a - b) / max(abs(b), floor))
            XCTAssertEqual(a, b, accuracy: 1e-4 * max(abs(b), floor), "\(label) coefficient", file: file, line: line)
        }
        XCTAssertEqual(probe.bias, intercept, accuracy: 1e-4 * max(abs(intercept), floor), "\(label) intercept", file: file, line: line)
        print("lr-l2 \(label): max relative coefficient error \(worst), intercept error \(abs(probe.bias - intercept))")
    }
}
