import App
import Foundation
import SAECore
import TUI
import XCTest

/// The probes screen: keys change the PCA view and the probes; every computation is a
/// background job whose result appears when it is handed over; aligned features open in the
/// browser. Snapshots at 80x24 and 160x48 (`SAESCOPE_RECORD=1` rewrites them).
final class ProbesScreenTests: XCTestCase {
    private func text(_ app: AppController, width: Int = 80, height: Int = 24) -> String {
        app.frame(width: width, height: height).render().joined(separator: "\n")
    }

    func testComputationsRunInTheBackgroundAndShowComputingUntilDone() throws {
        let app = try ProbesFixture.controller()
        XCTAssertTrue(app.model.probes.projections.isEmpty, "nothing is computed before the screen is asked for")
        app.press(.char("p"))
        XCTAssertEqual(app.model.screen, .probes)
        let pca = try XCTUnwrap(app.model.probes.pcaJob), matrix = try XCTUnwrap(app.model.probes.matrixJob)
        XCTAssertEqual(Set(app.model.jobs.filter { [pca.id, matrix.id].contains($0.id) }.map(\.kind)), ["pca", "probe-matrix"])
        // Results reach the model only through handleJobEvents, so the screen says so until then.
        XCTAssertTrue(text(app, width: 160, height: 48).contains("computing the PCA of sums"), text(app, width: 160, height: 48))
        XCTAssertTrue(text(app, width: 160, height: 48).contains("computing dim probes on label"))
        ProbesFixture.settle(app)
        XCTAssertNotNil(app.model.probes.projections[0])
        let shown = try XCTUnwrap(app.model.probes.matrix)
        XCTAssertNotNil(app.model.probes.alignments[app.model.probes.alignmentKey], "the matrix's result starts the alignment: \(app.model.jobs)")
        XCTAssertFalse(text(app, width: 160, height: 48).contains("computing"))

        // The same numbers as the headless `saescope probe`.
        let datasets = try XCTUnwrap(app.model.probes.datasets)
        let headless = try GeneralizationMatrix.compute(datasets: datasets, trainSpecs: ["sums", "towns", "neg_towns", "towns+neg_towns"],
                                                        method: .differenceInMeans)
        XCTAssertEqual(shown.trainSets, headless.trainSets, "each dataset, and a negated twin's union with its base")
        XCTAssertEqual(shown.accuracy, headless.accuracy)
        XCTAssertEqual(shown.oracleAccuracy, headless.oracleAccuracy)
    }

    func testKeysChangeComponentsBasisDatasetLabelDensityAndMethod() throws {
        let app = try ProbesFixture.controller()
        app.press(.char("p"))
        ProbesFixture.settle(app)
        app.press(.char("]"))
        XCTAssertEqual(app.model.probes.componentOffset, 1)
        XCTAssertTrue(text(app).contains("x: PC2  y: PC3"), text(app))
        app.press(.char("["), .char("["))
        XCTAssertEqual(app.model.probes.componentOffset, 0, "no components before the first")
        for _ in 0..<20 { app.press(.char("]")) }
        XCTAssertEqual(app.model.probes.componentOffset, 4, "a basis of 20 statements in D=6 has 6 components: PC5 v PC6 is the last pair")

        app.press(.char("b"))
        XCTAssertEqual(app.model.probes.basis, 1)
        XCTAssertEqual(app.model.probes.pcaJob?.key, 1, "a new basis is a new PCA job")
        ProbesFixture.settle(app)
        XCTAssertEqual(app.model.probes.projections[1]?.basis, ["towns"])
        app.press(.char("b"), .char("b"))
        XCTAssertEqual(app.model.probes.basis, 3)
        ProbesFixture.settle(app)
        XCTAssertEqual(app.model.probes.projections[3]?.basis, ["sums", "towns", "neg_towns"], "the last choice is the union of all")
        XCTAssertTrue(text(app).contains("basis all"))
        app.press(.char("b"))
        XCTAssertEqual(app.model.probes.basis, 0)
        XCTAssertNil(app.model.probes.pcaJob, "a basis computed before is not computed again")

        app.press(.char("d"))
        XCTAssertEqual(app.model.probes.plotted, 1)
        XCTAssertTrue(text(app).contains("data towns"))
        app.press(.char("d"), .char("d"))
        XCTAssertTrue(text(app).contains("\(3 * ProbesFixture.rows) statements"), "all datasets plotted")

        app.press(.char("x"))
        XCTAssertTrue(app.model.probes.density)
        XCTAssertTrue(text(app).contains("points per cell"), "the density legend")
        app.press(.char("x"))
        XCTAssertFalse(app.model.probes.density)

        // Labels: plain columns (label first), then XORs of columns found together.
        XCTAssertEqual(app.model.probes.labelChoices, ["label", "coastal", "has_not", "label^coastal", "label^has_not", "coastal^has_not"])
        app.press(.char("c"))
        XCTAssertEqual(app.model.probes.label, "coastal")
        ProbesFixture.settle(app)
        XCTAssertEqual(app.model.probes.matrix?.testSets, ["towns", "neg_towns"], "sums has no coastal column")
        XCTAssertTrue(text(app).contains("without coastal: sums"), text(app))
        app.press(.char("c"))
        XCTAssertEqual(app.model.probes.label, "has_not")
        XCTAssertNil(app.model.probes.matrixJob, "has_not is constant in every dataset: no probe can train")
        app.press(.tab)
        XCTAssertTrue(text(app).contains("no dataset has both values of has_not"), text(app))
        app.press(.char("c"))
        XCTAssertEqual(app.model.probes.label, "label^coastal")
        ProbesFixture.settle(app)
        XCTAssertEqual(app.model.probes.matrix?.label, "label^coastal")
        app.press(.char("c"), .char("c"), .char("c"))
        XCTAssertEqual(app.model.probes.label, "label", "the cycle wraps")

        // Methods: every one, then back to the first; each is a matrix of its own.
        var seen: [ProbeMethod] = []
        for _ in ProbeMethod.allCases {
            seen.append(app.model.probes.method)
            app.press(.char("m"))
            ProbesFixture.settle(app)
            XCTAssertEqual(app.model.probes.matrix?.method, app.model.probes.method)
        }
        XCTAssertEqual(seen, ProbeMethod.allCases)
        // Then one sparse-probing method per k (SparseProbesScreenTests), and round again.
        XCTAssertEqual(app.model.probes.methodName, "sae top-1")
        while app.model.probes.sparseK != nil { app.press(.char("m")) }
        ProbesFixture.settle(app)
        XCTAssertEqual(app.model.probes.method, .differenceInMeans)
        app.press(.char("a"))
        XCTAssertEqual(app.model.probes.metric, .auroc)
        XCTAssertTrue(text(app).contains("AUROC"))
    }

    func testSupersededJobsOfTheSameKindAreCancelled() throws {
        let app = try ProbesFixture.controller()
        app.press(.char("p"), .char("m"))
        let first = try XCTUnwrap(app.model.probes.matrixJob)
        app.press(.char("m"))
        let last = try XCTUnwrap(app.model.probes.matrixJob)
        XCTAssertEqual(last.key.method, .lda)
        ProbesFixture.settle(app)
        let state = app.model.jobs.first { $0.id == first.id }?.state
        XCTAssertTrue(state == .cancelled || state == .finished, "superseded: \(String(describing: state))")
        XCTAssertEqual(app.model.probes.matrix?.method, .lda)
        XCTAssertNil(app.model.probes.matrixJob)
    }

    func testMatrixSelectionAndEnterOnAnAlignedFeatureOpensItInTheBrowser() throws {
        let app = try ProbesFixture.controller()
        app.press(.char("p"))
        ProbesFixture.settle(app)
        app.press(.tab)
        XCTAssertEqual(app.model.probes.pane, .matrix)
        app.press(.down, .right, .char("l"), .char("l"))
        XCTAssertEqual(app.model.probes.row, 1)
        XCTAssertEqual(app.model.probes.column, 2, "columns stop at the last test set")
        XCTAssertTrue(text(app).contains("towns → neg_towns (trained on all rows): accuracy"), text(app))
        app.press(.char("G"))
        XCTAssertEqual(app.model.probes.row, 3, "the oracle row is not a probe to select")
        XCTAssertTrue(text(app).contains("towns+neg_towns → neg_towns (80% trained, 20% held out)"), text(app))
        ProbesFixture.settle(app)

        // The list matches FeatureAlignment on the selected probe's direction.
        let matrix = try XCTUnwrap(app.model.probes.matrix)
        let expected = try FeatureAlignment(sae: app.session.sae).top(ProbesState.alignedCount, for: matrix.probes[3].direction)
        XCTAssertEqual(app.model.probes.alignedFeatures, expected.mostPositive.filter { $0.cosine > 0 } + expected.mostNegative.filter { $0.cosine < 0 })

        app.press(.enter)
        XCTAssertEqual(app.model.probes.pane, .features, "Enter on the matrix moves to its features")
        app.press(.down, .down)
        XCTAssertGreaterThan(app.model.probes.alignedFeatures.count, 2)
        let third = app.model.probes.alignedFeatures[2].feature
        app.press(.enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, third)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .probes, "q goes back to the probes")
        app.press(.backTab, .backTab)
        XCTAssertEqual(app.model.probes.pane, .pca)
    }

    func testWithoutProbeDatasetsTheScreenSaysHowToGiveThem() throws {
        let app = try AppFixture.controller()
        app.press(.char("p"))
        XCTAssertEqual(app.model.screen, .probes)
        XCTAssertTrue(text(app).contains("--probes PATH"), text(app))
        app.press(.char("m"), .tab, .enter, .down)
        XCTAssertEqual(app.model.screen, .probes, "keys do nothing harmful without data")
    }

    func testAMissingPathIsReportedOnTheScreen() throws {
        let app = try AppFixture.controller()
        app.loadProbes(paths: ["/nonexistent/probes.csv"])
        ProbesFixture.settle(app)
        app.press(.char("p"))
        XCTAssertTrue(text(app, width: 160, height: 48).contains("failed: /nonexistent/probes.csv: no such probe dataset"), text(app, width: 160, height: 48))
    }

    func testProbesScreensSnapshots() throws {
        let app = try ProbesFixture.controller()
        app.press(.char("p"))
        ProbesFixture.settle(app)
        assertScreen(app, width: 80, height: 24, named: "probes-pca-80x24")
        assertScreen(app, width: 160, height: 48, named: "probes-160x48")
        app.press(.tab, .down, .down)
        ProbesFixture.settle(app)
        assertScreen(app, width: 80, height: 24, named: "probes-matrix-80x24")
        app.press(.char("c"), .char("x"), .char("d"))
        app.press(.backTab)
        ProbesFixture.settle(app)
        assertScreen(app, width: 80, height: 24, named: "probes-pca-density-coastal-80x24")
    }

    /// The bundled sample's probe datasets (SmolLM2, D=576): times the background computations
    /// (reported by the jobs screen too). The fixture dictionary has D=6, so no alignment.
    func testSampleProbesComputeInTheBackground() throws {
        let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/probes").path
        guard FileManager.default.fileExists(atPath: samples) else { throw XCTSkip("no samples/probes") }
        let app = try AppFixture.controller()
        app.loadProbes(paths: [samples])
        ProbesFixture.settle(app)
        XCTAssertEqual(app.model.probes.datasets?.map(\.name), ["cities", "neg_cities", "larger_than", "neg_larger_than"])
        app.press(.char("p"))
        ProbesFixture.settle(app)
        let cities = try XCTUnwrap(app.model.probes.matrix)
        XCTAssertEqual(cities.trainSets, ["cities", "neg_cities", "cities+neg_cities", "larger_than", "neg_larger_than",
                                          "larger_than+neg_larger_than"])
        let headless = try GeneralizationMatrix.compute(datasets: try XCTUnwrap(app.model.probes.datasets), trainSpecs: cities.trainSets,
                                                        method: .differenceInMeans)
        XCTAssertEqual(cities.accuracy, headless.accuracy, "the numbers of saescope probe")
        app.press(.tab)
        XCTAssertTrue(text(app).contains("D=6 and the probe datasets D=576: no alignment"), text(app))
        for _ in 1..<ProbeMethod.allCases.count {
            app.press(.char("m"))
            ProbesFixture.settle(app)
        }
        for job in app.model.jobs where ["probes-load", "pca", "probe-matrix"].contains(job.kind) {
            print(String(format: "probes sample job %@: %.2f s", job.title, (job.ended ?? Date()).timeIntervalSince(job.started)))
        }
    }
}
