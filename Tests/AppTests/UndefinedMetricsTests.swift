import SAECore
import TUI
import XCTest
@testable import App

/// The overview of an index that has no reconstruction reference (a transcoder's, or one built
/// from a latent cache with `index --codes`): its undefined figures read "n/a" with the reason in
/// their definition, not "nan", and the position panel says why it has no figures.
final class UndefinedMetricsTests: XCTestCase {
    private func overview(_ change: (inout FeatureIndex) -> Void) throws -> (AppController, String) {
        let app = try AppFixture.controller()
        var index = try XCTUnwrap(app.model.index)
        change(&index)
        app.model.index = index
        app.press(.char("o"))
        app.finishJobs()
        return (app, app.frame(width: 160, height: 48).render().joined(separator: "\n"))
    }

    func testTranscoderIndexShowsNotAvailableWithTheReason() throws {
        let (app, screen) = try overview { $0.metrics = MetricsAccumulator(inputDimension: 0, featureCount: AppFixture.f) }
        let rows = app.overviewMetricRows()
        let mse = try XCTUnwrap(rows.first { $0.key == "mse" })
        XCTAssertEqual(mse.value, .unavailable)
        XCTAssertTrue(mse.definition.contains("transcoder's index has no reconstruction reference"), mse.definition)
        // L0 is counted from the codes alone, so it stays a number.
        guard case .number = try XCTUnwrap(rows.first { $0.key == "l0" }).value else { return XCTFail("L0 should be a number") }
        XCTAssertFalse(screen.contains(" nan"), screen)
        XCTAssertTrue(screen.split(separator: "\n").contains { $0.contains("MSE") && $0.contains("n/a") }, screen)
    }

    func testLatentCodesIndexNamesItsSourceInsteadOfAnOldFile() throws {
        let (app, screen) = try overview {
            $0.metrics = MetricsAccumulator(inputDimension: 0, featureCount: AppFixture.f)
            $0.coreStatistics = nil
            $0.provenance.cacheMetadata["source"] = IndexProvenance.latentCacheSource
        }
        let mse = try XCTUnwrap(app.overviewMetricRows().first { $0.key == "mse" })
        XCTAssertEqual(mse.value, .unavailable)
        XCTAssertTrue(mse.definition.contains("latent cache (index --codes)"), mse.definition)
        // Not "written before they were recorded: r re-indexes", which a codes index never was.
        XCTAssertTrue(screen.contains("no position figures: an index of a latent cache (index --codes) has no"), screen)
        let sequences = try XCTUnwrap(app.overviewMetricRows().first { $0.key == "mean_consistent_activation_heuristic" })
        XCTAssertEqual(sequences.value, .unavailable)
        XCTAssertTrue(sequences.definition.contains("an index of a latent cache (index --codes) does not count sequences"), sequences.definition)
        XCTAssertFalse(sequences.definition.contains("r re-indexes"), sequences.definition)
        XCTAssertFalse(screen.contains("written before they were recorded"), screen)
        XCTAssertFalse(screen.contains(" nan"), screen)
    }

    /// The compare screen's metrics table: two transcoders' indexes (no reconstruction reference)
    /// showed "nan" under MSE and EV.
    func testCompareScreenShowsNotAvailableForUndefinedMetrics() throws {
        let app = try AppFixture.comparingController()
        let noReference = MetricsAccumulator(inputDimension: 0, featureCount: AppFixture.f)
        app.model.index?.metrics = noReference
        app.model.comparison?.index?.metrics = MetricsAccumulator(inputDimension: 0, featureCount: AppFixture.fB)
        let screen = app.frame(width: 160, height: 48).render()
        let rowA = try XCTUnwrap(screen.first { $0.contains("│A ") }, screen.joined(separator: "\n"))
        XCTAssertTrue(rowA.contains("n/a"), rowA)
        XCTAssertFalse(screen.joined(separator: "\n").contains("nan"), screen.joined(separator: "\n"))
    }
}
