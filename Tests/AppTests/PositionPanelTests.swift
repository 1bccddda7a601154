import SAECore
import TUI
import XCTest
@testable import App

/// The overview's "By position" panel for an index with and without a reconstruction reference.
final class PositionPanelTests: XCTestCase {
    func testDictionaryIndexPlotsMSEAndL0() throws {
        let app = try AppFixture.controller()
        app.press(.char("o"))
        app.finishJobs()
        let screen = app.frame(width: 160, height: 48).render().joined(separator: "\n")
        // The panel's own MSE row (a strip and its maximum), not the metrics table's "MSE".
        let row = try XCTUnwrap(screen.split(separator: "\n").first { $0.contains("MSE ") && $0.contains("at position") }, screen)
        XCTAssertTrue(row.contains(where: { "▁▂▃▄▅▆▇█".contains($0) }), String(row))
        XCTAssertFalse(screen.contains("MSE n/a"), screen)
        XCTAssertTrue(screen.split(separator: "\n").contains { $0.contains("L0 ") && $0.contains("at position") }, screen)
    }

    /// A transcoder's index records no squared errors (its output is another site): the panel
    /// says so instead of plotting a row of zeros as if the reconstruction were perfect.
    func testIndexWithoutReconstructionReferenceSaysMSEIsNotAvailable() throws {
        let app = try AppFixture.controller()
        var index = try XCTUnwrap(app.model.index)
        // As a transcoder's pass leaves it: metrics over no input dimension (token counts aside).
        index.metrics = MetricsAccumulator(inputDimension: 0, featureCount: AppFixture.f)
        app.model.index = index
        app.press(.char("o"))
        app.finishJobs()
        let screen = app.frame(width: 160, height: 48).render().joined(separator: "\n")
        XCTAssertTrue(screen.contains("MSE n/a: no reconstruction reference in a transcoder's index"), screen)
        XCTAssertTrue(screen.contains("L0"), screen)
    }
}
