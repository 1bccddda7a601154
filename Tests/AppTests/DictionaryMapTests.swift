import App
import Foundation
import SAECore
import TestSupport
import TUI
import Widgets
import XCTest

/// The overview's dictionary map and SAEBench core-metric rows: keys, the cursor's moves, the
/// figures against numpy, and the screens at 80x24 and 160x48.
final class DictionaryMapTests: XCTestCase {
    /// The fixture's controller on the overview with the weight-cosine job done.
    private func overview() throws -> AppController {
        let app = try AppFixture.controller()
        app.press(.char("o"))
        XCTAssertTrue(app.jobs.waitUntilIdle(timeout: 60))
        app.handleJobEvents()
        XCTAssertNotNil(app.model.overview.weights)
        return app
    }

    func testTheWeightCosinesAreComputedInTheBackgroundOnce() throws {
        let app = try overview()
        XCTAssertEqual(app.model.jobs.filter { $0.kind == "weight-cosines" }.count, 1)
        app.press(.char("F"), .char("o"))
        XCTAssertEqual(app.jobs.snapshot.filter { $0.kind == "weight-cosines" }.count, 1)
    }

    func testTabFocusesTheMapWhoseCursorStartsOnTheLargestFigure() throws {
        let app = try overview()
        XCTAssertEqual(app.model.overview.pane, .metrics)
        app.press(.tab)
        XCTAssertEqual(app.model.overview.pane, .map)
        let index = try XCTUnwrap(app.model.index)
        let maxima = (0..<index.featureCount).map { index.maxActivation($0) }
        let largest = maxima.indices.max { (maxima[$0], -$0) < (maxima[$1], -$1) }
        XCTAssertEqual(app.model.overview.mapFeature, largest)
        // f cycles the figure; the cursor stays on its feature.
        app.press(.char("f"))
        XCTAssertEqual(app.model.overview.figure, .encoderDecoderCosine)
        XCTAssertEqual(app.model.overview.mapFeature, largest)
        app.press(.char("f"), .char("f"))
        XCTAssertEqual(app.model.overview.figure, .maxActivation)
        // Placed on a figure that is still computing, the cursor starts on that figure's largest.
        let fresh = try AppFixture.controller()
        fresh.press(.char("o"), .char("f"), .tab)
        XCTAssertNil(fresh.model.overview.mapFeature, "no cosines yet, no cursor")
        XCTAssertTrue(fresh.jobs.waitUntilIdle(timeout: 60))
        fresh.handleJobEvents()
        let cosines = try XCTUnwrap(fresh.model.overview.weights).encoderDecoderCosine
        XCTAssertEqual(fresh.model.overview.mapFeature, cosines.indices.max { (cosines[$0], -$0) < (cosines[$1], -$1) })
    }

    func testArrowsMoveToTheNearestFeatureThatWayAndEnterOpensIt() throws {
        let app = try overview()
        app.press(.tab)
        let index = try XCTUnwrap(app.model.index)
        func position(_ j: Int) -> (Double, Double) { (log10(index.density(j)), Double(index.maxActivation(j))) }
        let start = try XCTUnwrap(app.model.overview.mapFeature)
        app.press(.char("j"))
        let below = try XCTUnwrap(app.model.overview.mapFeature)
        XCTAssertNotEqual(below, start)
        XCTAssertLessThan(position(below).1, position(start).1)
        app.press(.char("h"))
        let left = try XCTUnwrap(app.model.overview.mapFeature)
        XCTAssertLessThan(position(left).0, position(below).0)
        app.press(.right)
        XCTAssertGreaterThan(position(try XCTUnwrap(app.model.overview.mapFeature)).0, position(left).0)
        // Up and down in the metrics pane move the metrics cursor, not the map's.
        let feature = app.model.overview.mapFeature
        app.press(.tab, .down)
        XCTAssertEqual(app.model.overviewSelection, 1)
        XCTAssertEqual(app.model.overview.mapFeature, feature)
        // Enter: the definitions in the metrics pane, the feature in the map.
        app.press(.enter)
        XCTAssertFalse(app.model.showDefinitions)
        app.press(.tab, .enter)
        XCTAssertEqual(app.model.screen, .detail)
        XCTAssertEqual(app.model.detail.feature, feature)
        app.press(.char("q"))
        XCTAssertEqual(app.model.screen, .overview)
    }

    /// Brute force over the same rule as `nearest`: the closest in the 45-degree cone that way,
    /// else the least along + 2 x across.
    func testNearestMatchesABruteForceOverARandomCloud() {
        var state: UInt64 = 12345
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let points = (0..<300).map { i in
            FeatureMapPoint(logDensity: i % 17 == 0 ? nil : -4 * uniform(), figure: uniform())
        }
        let map = DictionaryMapPoints(points: points)
        let ranges = FeatureMap.ranges(points)
        func scaled(_ i: Int) -> (Double, Double) {
            let p = points[i]
            let y = (p.figure - ranges.y.lowerBound) / (ranges.y.upperBound - ranges.y.lowerBound)
            guard let d = p.logDensity else { return (1.05 + 0.1 * Double(i % 8) / 8, y) }
            return ((d - ranges.x.lowerBound) / (ranges.x.upperBound - ranges.x.lowerBound), y)
        }
        for from in stride(from: 0, to: 300, by: 7) {
            for (direction, axis) in [(DictionaryMapPoints.Direction.right, (1.0, 0.0)), (.left, (-1, 0)), (.up, (0, 1)), (.down, (0, -1))] {
                let here = scaled(from)
                var cone: [(Double, Int)] = [], outside: [(Double, Int)] = []
                for j in points.indices where j != from {
                    let there = scaled(j)
                    let dx = there.0 - here.0, dy = there.1 - here.1
                    let along = dx * axis.0 + dy * axis.1, across = abs(dx * axis.1 + dy * axis.0)
                    guard along > 0 else { continue }
                    if across <= along { cone.append(((along * along + across * across).squareRoot(), j)) } else { outside.append((along + 2 * across, j)) }
                }
                let want = (cone.min { $0 < $1 } ?? outside.min { $0 < $1 })?.1
                XCTAssertEqual(map.nearest(from: from, direction), want, "from \(from) \(direction)")
            }
        }
    }

    /// The overview's SAEBench rows and the map's figures against numpy on the fixture: codes
    /// f = relu(x W_enc + b_enc), x_hat = f W_dec + b_dec, all in float64, 1e-6 relative.
    func testCoreMetricRowsAndMapFiguresMatchNumpy() throws {
        let app = try overview()
        let sae = app.session.sae, cache = try XCTUnwrap(app.session.cache)
        var x = [Float](repeating: 0, count: cache.rowCount * sae.inputDimension)
        x.withUnsafeMutableBufferPointer { cache.readRows(0..<cache.rowCount, into: $0.baseAddress!) }
        var got: [String: Double] = [:]
        for row in app.overviewMetricRows() { if case .number(let v) = row.value { got[row.key] = v } }
        let weights = try XCTUnwrap(app.model.overview.weights)
        let input: [String: Any] = [
            "x": x, "n": cache.rowCount, "d": sae.inputDimension, "f": sae.featureCount,
            "W_enc": sae.encoderWeights, "b_enc": sae.encoderBias, "W_dec": sae.decoderWeights, "b_dec": sae.decoderBias,
            "got": got, "max_decoder": weights.maxDecoderCosine, "encoder_decoder": weights.encoderDecoderCosine,
            "density": (0..<sae.featureCount).map { app.model.index!.density($0) },
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-map-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: input).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = PythonScript.run("""
        import json
        import numpy as np
        a = json.load(open('\(file.path)'))
        n, d, F = a['n'], a['d'], a['f']
        x = np.array(a['x'], dtype=np.float64).reshape(n, d)
        W_enc = np.array(a['W_enc'], dtype=np.float64).reshape(d, F)
        W_dec = np.array(a['W_dec'], dtype=np.float64).reshape(F, d)
        f = np.maximum(x @ W_enc + np.array(a['b_enc']), 0)
        x_hat = f @ W_dec + np.array(a['b_dec'])
        density = (f > 0).mean(axis=0)
        def unit(r):
            norm = np.linalg.norm(r, axis=1, keepdims=True)
            return np.where(norm > 0, r / np.where(norm > 0, norm, 1), 0.0)
        def max_other(r):
            c = unit(r) @ unit(r).T
            np.fill_diagonal(c, -np.inf)
            return c.max(axis=1)
        total = density.sum()
        want = {
            'freq_over_1_percent': (density > 0.01).mean(), 'freq_over_10_percent': (density > 0.1).mean(),
            'normalized_freq_over_1_percent': density[density > 0.01].sum() / total,
            'normalized_freq_over_10_percent': density[density > 0.1].sum() / total,
            'average_max_decoder_cosine_sim': max_other(W_dec).mean(), 'average_max_encoder_cosine_sim': max_other(W_enc.T).mean(),
            'encoder_decoder_cosine_sim': (unit(W_dec) * unit(W_enc.T)).sum(axis=1).mean(),
            'projection_scale': (x * x_hat).sum() / (x_hat * x_hat).sum(),
            'relative_reconstruction_bias': (x_hat * x_hat).sum() / (x * x_hat).sum(),
        }
        assert 0 < want['freq_over_10_percent'] < 1, want
        for k, v in want.items():
            assert abs(a['got'][k] - v) <= 1e-6 * max(abs(v), 1e-12), (k, a['got'][k], v)
        assert np.allclose(a['density'], density, rtol=1e-12, atol=0)
        assert np.allclose(a['max_decoder'], max_other(W_dec), rtol=1e-6, atol=1e-6)
        assert np.allclose(a['encoder_decoder'], (unit(W_dec) * unit(W_enc.T)).sum(axis=1), rtol=1e-6, atol=1e-6)
        print('ok')
        """)
        XCTAssertEqual(output.split(separator: "\n").last, "ok", output)
    }

    func testScreens() throws {
        let app = try overview()
        app.press(.tab)
        assertScreen(app, width: 80, height: 24, named: "overview-map-80x24")
        assertScreen(app, width: 160, height: 48, named: "overview-map-160x48")
        app.press(.char("f"), .char("f"), .char("j"))
        assertScreen(app, width: 80, height: 24, named: "overview-map-decoder-80x24")
    }

    /// An index read back from its file has no per-feature fire counts of the pass: without
    /// min-act its counts are the same ones (the same rows); under min-act they count only
    /// activations above it, so the density shares read n/a (the cosines and the projection
    /// scale are still shown).
    func testAnIndexReadFromItsFileGivesTheSameRowsOrNAUnderMinAct() throws {
        func values(_ app: AppController) -> [String: OverviewMetricRow.Value] {
            Dictionary(uniqueKeysWithValues: app.overviewMetricRows().map { ($0.key, $0.value) })
        }
        func reopened(_ app: AppController) throws -> AppController {
            let path = try XCTUnwrap(app.model.indexPath)
            let again = AppController(session: app.session, indexState: .loaded(try IndexFile.read(path: path)), jobs: JobCenter())
            again.press(.char("o"))
            XCTAssertTrue(again.jobs.waitUntilIdle(timeout: 60))
            again.handleJobEvents()
            return again
        }
        let app = try overview()
        XCTAssertEqual(values(try reopened(app)), values(app))

        var options = AppFixture.small
        options.minActivation = 1
        let thresholded = try AppFixture.controller(options: options)
        thresholded.press(.char("o"))
        XCTAssertTrue(thresholded.jobs.waitUntilIdle(timeout: 60))
        thresholded.handleJobEvents()
        // Built in this session, the pass's own counts (every nonzero code) are known.
        XCTAssertEqual(values(thresholded)["freq_over_10_percent"], values(app)["freq_over_10_percent"])
        let read = values(try reopened(thresholded))
        for key in ["freq_over_1_percent", "freq_over_10_percent", "normalized_freq_over_1_percent", "normalized_freq_over_10_percent"] {
            XCTAssertEqual(read[key], .unavailable, key)
        }
        XCTAssertEqual(read["projection_scale"], values(app)["projection_scale"])
        XCTAssertEqual(read["average_max_decoder_cosine_sim"], values(app)["average_max_decoder_cosine_sim"])
        let row = try XCTUnwrap(try reopened(thresholded).overviewMetricRows().first { $0.key == "freq_over_1_percent" })
        XCTAssertTrue(row.definition.contains("min-act"), row.definition)
    }
}
