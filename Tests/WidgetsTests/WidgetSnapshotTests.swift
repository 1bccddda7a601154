import TUI
import Widgets
import XCTest

final class WidgetSnapshotTests: XCTestCase {
    private func buffer(_ w: Int, _ h: Int, ascii: Bool = false, mono: Bool = false) -> Buffer {
        Buffer(width: w, height: h, glyphs: ascii ? .ascii : .unicode, monochrome: mono)
    }

    // MARK: Table

    func testTable40x10() {
        var b = buffer(40, 10)
        var state = TableState(selected: 15)
        Fixtures.featureTable().draw(into: &b, rect: b.bounds, state: &state)
        XCTAssertEqual(state.offset, 7)
        assertSnapshot(b, named: "table-40x10", styles: true)
    }

    func testTable80x24() {
        var b = buffer(80, 24)
        var state = TableState(selected: 3)
        Fixtures.featureTable().draw(into: &b, rect: b.bounds, state: &state)
        assertSnapshot(b, named: "table-80x24")
    }

    func testTableASCIIInPanel() {
        var b = buffer(40, 10, ascii: true)
        let inner = Panel(title: "Features", info: "200", focused: true).draw(into: &b, rect: b.bounds)
        var state = TableState(selected: 199)
        Fixtures.featureTable().draw(into: &b, rect: inner, state: &state)
        assertSnapshot(b, named: "table-ascii-panel-40x10")
    }

    func testTableEmpty() {
        var b = buffer(40, 4)
        var t = Fixtures.featureTable(rows: 0)
        t.emptyText = "no features match the filter"
        var state = TableState(selected: 5)
        t.draw(into: &b, rect: b.bounds, state: &state)
        XCTAssertEqual(state.selected, 0)
        assertSnapshot(b, named: "table-empty-40x4")
    }

    // MARK: Histogram

    func testHistogram40x10() {
        var b = buffer(40, 10)
        Histogram(counts: Fixtures.histogramCounts, edges: Fixtures.histogramEdges, title: "activations").draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "histogram-40x10", styles: true)
    }

    func testHistogram80x24() {
        var b = buffer(80, 24)
        var h = Histogram(counts: Fixtures.histogramCounts, edges: Fixtures.histogramEdges, title: "feature 1234: activation histogram")
        h.info = "n = 528"
        h.draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "histogram-80x24")
    }

    func testHistogramLog40x10() {
        var b = buffer(40, 10)
        let counts: [Double] = [12000, 3100, 800, 190, 52, 11, 3, 0, 1, 0]
        Histogram(counts: counts, edges: (0...10).map { Double($0) }, title: "log scale", logScale: true)
            .draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "histogram-log-40x10")
    }

    func testHistogramManyBinsASCII() {
        var b = buffer(40, 10, ascii: true)
        let counts = (0..<100).map { i -> Double in Double((i * 37) % 23 + (i > 50 ? 20 : 0)) }
        Histogram(counts: counts, edges: (0...100).map { Double($0) / 100 }, title: "100 bins in 36 columns")
            .draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "histogram-ascii-manybins-40x10")
    }

    func testHistogramHorizontal40x10() {
        var b = buffer(40, 10)
        Histogram(counts: Fixtures.histogramCounts, edges: Fixtures.histogramEdges, title: "horizontal",
                  orientation: .horizontal).draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "histogram-horizontal-40x10")
    }

    func testDensityHistogram() {
        var b = buffer(80, 24)
        DensityHistogram(densities: Fixtures.densities(), bins: 30).draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "density-80x24")
        var s = buffer(40, 10)
        DensityHistogram(densities: Fixtures.densities(), bins: 30).draw(into: &s, rect: s.bounds)
        assertSnapshot(s, named: "density-40x10")
    }

    // MARK: Token strip

    private func strips(_ b: inout Buffer) {
        let rows = b.bounds.rows([.fixed(1), .fixed(1), .fixed(1), .fixed(1), .fixed(1), .rest()])
        let base = TokenStrip(tokens: Fixtures.tokens, activations: Fixtures.activations, highlight: 6)
        base.draw(into: &b, rect: rows[0])
        var spaces = base
        spaces.showLeadingSpaces = true
        spaces.draw(into: &b, rect: rows[1])
        TokenStrip(tokens: Fixtures.tokens, activations: Fixtures.activations, highlight: 11)
            .draw(into: &b, rect: rows[2].inset(right: b.width / 2))
        TokenStrip(tokens: Fixtures.tokens, activations: Fixtures.activations, highlight: 0)
            .draw(into: &b, rect: rows[3].inset(right: b.width / 2))
        TokenStrip(tokens: Fixtures.tokens, activations: Fixtures.activations, highlight: 15)
            .draw(into: &b, rect: rows[4].inset(right: b.width / 2))
    }

    func testTokenStrip40() {
        var b = buffer(40, 6)
        strips(&b)
        assertSnapshot(b, named: "tokens-40x6", styles: true)
    }

    func testTokenStrip80() {
        var b = buffer(80, 6)
        strips(&b)
        assertSnapshot(b, named: "tokens-80x6")
    }

    func testTokenStripMonochromeASCII() {
        var b = buffer(40, 6, ascii: true, mono: true)
        strips(&b)
        assertSnapshot(b, named: "tokens-ascii-mono-40x6")
    }

    // MARK: Scatter

    private func scatter() -> BrailleScatter {
        var s = BrailleScatter(points: Fixtures.scatterPoints(), classNames: ["false", "true"], title: "PCA")
        s.xLabel = "PC1"
        s.yLabel = "PC2"
        return s
    }

    func testScatter40x10() {
        var b = buffer(40, 10)
        scatter().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "scatter-40x10", styles: true)
    }

    func testScatter80x24EqualAxes() {
        var b = buffer(80, 24)
        var s = scatter()
        s.equalAxes = true
        s.draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "scatter-equal-80x24")
    }

    func testScatterDensity80x24() {
        var b = buffer(80, 24)
        var s = scatter()
        s.density = true
        s.draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "scatter-density-80x24")
    }

    func testScatterASCII40x10() {
        var b = buffer(40, 10, ascii: true)
        scatter().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "scatter-ascii-40x10")
    }

    func testScatterMonochrome40x10() {
        var b = buffer(40, 10, mono: true)
        scatter().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "scatter-mono-40x10")
    }

    // MARK: Heatmap

    private func heatmap() -> Heatmap {
        var h = Heatmap(values: Fixtures.matrix, rowLabels: Fixtures.matrixLabels, columnLabels: Fixtures.matrixLabels,
                        title: "train \\ test accuracy (dim)")
        h.selected = (1, 2)
        return h
    }

    func testHeatmap40x10() {
        var b = buffer(40, 10)
        heatmap().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "heatmap-40x10", styles: true)
    }

    func testHeatmap80x24() {
        var b = buffer(80, 24)
        heatmap().draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "heatmap-80x24")
    }

    func testHeatmapMonochromeNarrow() {
        var b = buffer(30, 8, mono: true)
        var h = heatmap()
        h.cellWidth = 2
        h.draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "heatmap-mono-30x8")
    }

    // MARK: Progress, sparkline, panel, hint bar

    private func progress(_ b: inout Buffer) {
        let rows = b.bounds.rows(Array(repeating: .fixed(1), count: 8) + [.rest()])
        ProgressBar(fraction: 0, label: "index").draw(into: &b, rect: rows[0])
        ProgressBar(fraction: 1.0 / 3, label: "index").draw(into: &b, rect: rows[1])
        ProgressBar(fraction: 0.5, label: "a very long job label").draw(into: &b, rect: rows[2])
        ProgressBar(fraction: 0.999, label: "eval").draw(into: &b, rect: rows[3])
        ProgressBar(fraction: 1, label: "done").draw(into: &b, rect: rows[4])
        ProgressBar(fraction: nil, label: "waiting").draw(into: &b, rect: rows[5])
        ProgressBar(fraction: 0.42, label: "tokens", detail: "1.2M/2.9M").draw(into: &b, rect: rows[6])
        Sparkline(values: [0, 1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1, 0, .nan, 3, 3]).draw(into: &b, rect: rows[7])
    }

    func testProgress40x10() {
        var b = buffer(40, 10)
        progress(&b)
        assertSnapshot(b, named: "progress-40x10", styles: true)
    }

    func testProgressASCII40x10() {
        var b = buffer(40, 10, ascii: true)
        progress(&b)
        assertSnapshot(b, named: "progress-ascii-40x10")
    }

    func testScreenComposition80x24() {
        // A feature-detail-like layout from the pieces, to see them together.
        var b = buffer(80, 24)
        let (body, bar) = b.bounds.splitBottom(1)
        let cols = body.columns([.fraction(0.5), .rest()], gap: 1)
        let left = Panel(title: "Features", info: "200 rows", focused: true).draw(into: &b, rect: cols[0])
        var state = TableState(selected: 12)
        var t = Fixtures.featureTable()
        t.columns.remove(at: 2)
        let cell = t.cell
        t.cell = { r, c in cell(r, c >= 2 ? c + 1 : c) }
        t.draw(into: &b, rect: left, state: &state)
        let right = cols[1].rows([.fixed(8), .rest()])
        let tokensArea = Panel(title: "Top exemplars").draw(into: &b, rect: right[0])
        for (i, r) in tokensArea.rows(Array(repeating: .fixed(1), count: 6)).enumerated() {
            TokenStrip(tokens: Fixtures.tokens, activations: Fixtures.activations.map { max(0, $0 - Double(i) * 0.1) },
                       highlight: 6 + i).draw(into: &b, rect: r)
        }
        let histArea = Panel(title: "Activations").draw(into: &b, rect: right[1])
        Histogram(counts: Fixtures.histogramCounts, edges: Fixtures.histogramEdges).draw(into: &b, rect: histArea)
        let keymap = KeymapTests.sampleKeymap()
        keymap.hintBar(width: bar.width).draw(into: &b, rect: bar)
        assertSnapshot(b, named: "composition-80x24", styles: true)
    }

    func testEnlargeNotice() {
        var b = buffer(30, 6)
        EnlargeNotice(minimum: MinimumSize(width: 80, height: 24)).draw(into: &b, rect: b.bounds)
        assertSnapshot(b, named: "enlarge-30x6")
    }

    func testTextViewHelp() {
        var b = buffer(40, 10)
        let inner = Panel(title: "Help").draw(into: &b, rect: b.bounds)
        TextView(lines: KeymapTests.sampleKeymap().helpLines(), offset: 2).draw(into: &b, rect: inner)
        assertSnapshot(b, named: "help-40x10")
    }
}
