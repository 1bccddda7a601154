import TUI
import Widgets
import XCTest

/// The dictionary map: dead features in their strip, the cursor's cell, ASCII and small sizes.
final class FeatureMapTests: XCTestCase {
    private func map(selected: Int? = 1) -> FeatureMap {
        FeatureMap(points: Fixtures.featureMapPoints(), figureLabel: "max decoder cosine", selected: selected, title: "500 features")
    }

    func testMap80x24() {
        var b = Buffer(width: 80, height: 24)
        map().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "feature-map-80x24")
    }

    func testMap40x12WithStyles() {
        var b = Buffer(width: 40, height: 12)
        map().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "feature-map-40x12", styles: true)
    }

    func testMapASCII() {
        var b = Buffer(width: 40, height: 12, glyphs: .ascii, monochrome: true)
        map().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "feature-map-ascii-40x12")
    }

    /// The cursor's cell is the one holding its point, drawn reversed; no other cell is.
    func testTheCursorCellIsTheSelectedPointsCell() {
        var b = Buffer(width: 60, height: 20)
        map(selected: 1).draw(into: &b, rect: b.bounds)
        var reversed: [Point] = []
        for y in 0..<b.height { for x in 0..<b.width where b[x, y].style.attributes.contains(.reverse) { reversed.append(Point(x: x, y: y)) } }
        XCTAssertEqual(reversed.count, 1)
        var none = Buffer(width: 60, height: 20)
        map(selected: nil).draw(into: &none, rect: none.bounds)
        XCTAssertFalse((0..<none.height).contains { y in (0..<none.width).contains { none[$0, y].style.attributes.contains(.reverse) } })
    }

    /// Decades of log10 density, from the floor of the smallest live one up to 0; the figure over
    /// every feature, dead ones included.
    func testRanges() {
        let points = [FeatureMapPoint(logDensity: -3.4, figure: 0.5), FeatureMapPoint(logDensity: -0.2, figure: 0.9),
                      FeatureMapPoint(logDensity: nil, figure: 0.1)]
        let r = FeatureMap.ranges(points)
        XCTAssertEqual(r.x, -4...0)
        XCTAssertEqual(r.y, 0.1...0.9)
        XCTAssertEqual(FeatureMap.ranges([FeatureMapPoint(logDensity: -2, figure: 1)]).x, -2...(-1))
    }
}
