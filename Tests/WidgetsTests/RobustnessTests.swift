import TUI
import Widgets
import XCTest

/// Every widget drawn into every small size (and half outside the buffer) must not trap, must
/// keep wide characters whole, and must not draw outside its rectangle.
final class RobustnessTests: XCTestCase {
    private func widgets() -> [(String, (inout Buffer, Rect) -> Void)] {
        let pts = Array(Fixtures.scatterPoints().prefix(100))
        return [
            ("table", { b, r in var s = TableState(selected: 7); Fixtures.featureTable(rows: 20).draw(into: &b, rect: r, state: &s) }),
            ("table-empty", { b, r in var s = TableState(); Fixtures.featureTable(rows: 0).draw(into: &b, rect: r, state: &s) }),
            ("histogram", { b, r in Histogram(counts: Fixtures.histogramCounts, edges: Fixtures.histogramEdges, title: "t").draw(into: &b, rect: r) }),
            ("histogram-log", { b, r in Histogram(counts: [0, 1, 1000], title: "t", logScale: true).draw(into: &b, rect: r) }),
            ("histogram-empty", { b, r in Histogram(counts: [Double]()).draw(into: &b, rect: r) }),
            ("histogram-zeros", { b, r in Histogram(counts: [0, 0, 0]).draw(into: &b, rect: r) }),
            ("histogram-h", { b, r in Histogram(counts: Fixtures.histogramCounts, edges: Fixtures.histogramEdges, orientation: .horizontal).draw(into: &b, rect: r) }),
            ("density", { b, r in DensityHistogram(densities: Fixtures.densities(count: 50)).draw(into: &b, rect: r) }),
            ("density-empty", { b, r in DensityHistogram(densities: []).draw(into: &b, rect: r) }),
            ("tokens", { b, r in TokenStrip(tokens: Fixtures.tokens, activations: Fixtures.activations, highlight: 9).draw(into: &b, rect: r) }),
            ("tokens-empty", { b, r in TokenStrip(tokens: [], highlight: 3).draw(into: &b, rect: r) }),
            ("scatter", { b, r in BrailleScatter(points: pts, classNames: ["a", "b"], title: "t").draw(into: &b, rect: r) }),
            ("scatter-density", { b, r in BrailleScatter(points: pts, density: true).draw(into: &b, rect: r) }),
            ("scatter-empty", { b, r in BrailleScatter(points: []).draw(into: &b, rect: r) }),
            ("scatter-one", { b, r in BrailleScatter(points: [ScatterPoint(x: 1, y: 1, cls: 70)], equalAxes: true).draw(into: &b, rect: r) }),
            ("scatter-nan", { b, r in BrailleScatter(points: [ScatterPoint(x: .nan, y: 1), ScatterPoint(x: .infinity, y: 0)]).draw(into: &b, rect: r) }),
            ("feature-map", { b, r in FeatureMap(points: Fixtures.featureMapPoints(), figureLabel: "cos", selected: 3).draw(into: &b, rect: r) }),
            ("feature-map-empty", { b, r in FeatureMap(points: [], figureLabel: "cos").draw(into: &b, rect: r) }),
            ("feature-map-dead-nan", { b, r in
                FeatureMap(points: [FeatureMapPoint(logDensity: nil, figure: .nan), FeatureMapPoint(logDensity: -.infinity, figure: 1),
                                    FeatureMapPoint(logDensity: nil, figure: 2)], figureLabel: "y", selected: 0).draw(into: &b, rect: r) }),
            ("heatmap", { b, r in Heatmap(values: Fixtures.matrix, rowLabels: Fixtures.matrixLabels, columnLabels: Fixtures.matrixLabels, title: "t").draw(into: &b, rect: r) }),
            ("heatmap-ragged", { b, r in Heatmap(values: [[1], [], [1, 2, 3]]).draw(into: &b, rect: r) }),
            ("heatmap-empty", { b, r in Heatmap(values: []).draw(into: &b, rect: r) }),
            ("progress", { b, r in ProgressBar(fraction: 0.37, label: "東京 job").draw(into: &b, rect: r) }),
            ("progress-nan", { b, r in ProgressBar(fraction: .nan, label: "x", detail: "1/2").draw(into: &b, rect: r) }),
            ("sparkline", { b, r in Sparkline(values: [1, .nan, 3, 2, 9, .infinity]).draw(into: &b, rect: r) }),
            ("panel", { b, r in Panel(title: "東京 title", info: "info", focused: true).draw(into: &b, rect: r) }),
            ("notice", { b, r in EnlargeNotice(minimum: MinimumSize(width: 80, height: 24)).draw(into: &b, rect: r) }),
            ("textview", { b, r in TextView(lines: ["a\tb", "東京東京東京", ""], offset: 9).draw(into: &b, rect: r) }),
            ("hintbar", { b, r in KeymapTests.sampleKeymap().hintBar(width: r.width).draw(into: &b, rect: r) }),
        ]
    }

    func testSmallAndOffscreenRects() {
        for (name, draw) in widgets() {
            for glyphs in [Glyphs.unicode, .ascii] {
                for w in [0, 1, 2, 3, 4, 6, 9, 13] {
                    for h in [0, 1, 2, 3, 4, 5, 7] {
                        for origin in [Point(x: 0, y: 0), Point(x: 12, y: 7)] {
                            var b = Buffer(width: 16, height: 10, glyphs: glyphs, monochrome: w % 2 == 1)
                            b.fill(b.bounds, with: "~")
                            let r = Rect(x: origin.x, y: origin.y, width: w, height: h)
                            draw(&b, r)
                            checkInvariants(b, name: "\(name) \(r)")
                            // Nothing outside the rect changed.
                            let tilde = Cell("~").code
                            for (i, c) in b.cells.enumerated() where c.code != tilde {
                                let p = Point(x: i % b.width, y: i / b.width)
                                if !r.contains(p) {
                                    XCTFail("\(name) drew outside \(r) at \(p): \(c.grapheme)")
                                    return
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func checkInvariants(_ b: Buffer, name: String) {
        let cells = b.cells
        for (i, c) in cells.enumerated() {
            let x = i % b.width
            if c.isContinuation && !(x > 0 && cells[i - 1].width == 2) {
                XCTFail("\(name): orphan continuation at \(i)")
            }
            if c.width == 2 && !(x + 1 < b.width && cells[i + 1].isContinuation) {
                XCTFail("\(name): wide cell without continuation at \(i)")
            }
        }
    }
}

final class HitTestTests: XCTestCase {
    func testHeatmapCellAt() {
        let h = Heatmap(values: Fixtures.matrix, rowLabels: Fixtures.matrixLabels, columnLabels: Fixtures.matrixLabels, title: "t")
        let r = Rect(width: 40, height: 10)
        // Title row 0, header row 1, matrix rows from 2; labels 11 wide + 1, cells 5 wide.
        XCTAssertEqual(h.cell(at: Point(x: 12, y: 2), in: r).map { [$0.row, $0.column] }, [0, 0])
        XCTAssertEqual(h.cell(at: Point(x: 23, y: 4), in: r).map { [$0.row, $0.column] }, [2, 2])
        XCTAssertNil(h.cell(at: Point(x: 5, y: 4), in: r))  // a row label
        XCTAssertNil(h.cell(at: Point(x: 13, y: 1), in: r))  // the header
    }

    func testTokenAtColumn() {
        let s = TokenStrip(tokens: ["ab", " cd", "東"], highlight: 1)
        let r = Rect(x: 10, y: 0, width: 20, height: 1)
        XCTAssertEqual(s.token(atColumn: 10, in: r, glyphs: .unicode, monochrome: false), 0)
        XCTAssertEqual(s.token(atColumn: 12, in: r, glyphs: .unicode, monochrome: false), 1)
        XCTAssertEqual(s.token(atColumn: 16, in: r, glyphs: .unicode, monochrome: false), 2)
        XCTAssertNil(s.token(atColumn: 17, in: r, glyphs: .unicode, monochrome: false))
        XCTAssertNil(s.token(atColumn: 3, in: r, glyphs: .unicode, monochrome: false))
    }
}
