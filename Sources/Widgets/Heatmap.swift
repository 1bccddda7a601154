import Foundation
import TUI

/// A matrix of values with row and column labels, each cell's background on the theme ramp by
/// value, the number printed in the cell when it fits. A legend row shows the ramp's range.
/// Without colour and without room for numbers, cells show shade glyphs instead. NaN cells are
/// unshaded and show a dash.
public struct Heatmap {
    /// Row-major values: `values[row][column]`.
    public var values: [[Double]]
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// The values at the ramp's ends; nil: the finite minimum and maximum.
    public var range: ClosedRange<Double>?
    public var format: (Double) -> String
    public var title: String?
    /// A cell drawn bold and reversed (e.g. the selected probe).
    public var selected: (row: Int, column: Int)?
    /// Fixed cell width; nil: the widest number plus 2, shrunk to fit.
    public var cellWidth: Int?
    public var showLegend: Bool

    public init(values: [[Double]], rowLabels: [String] = [], columnLabels: [String] = [], title: String? = nil) {
        self.values = values
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        range = nil
        format = { NumberFormat.fixed($0, decimals: 2) }
        self.title = title
        selected = nil
        cellWidth = nil
        showLegend = true
    }

    private var rows: Int { values.count }
    private var cols: Int { values.map(\.count).max() ?? 0 }

    public func valueRange() -> ClosedRange<Double> {
        if let range { return range }
        let finite = values.joined().filter { $0.isFinite }
        guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
        return lo < hi ? lo...hi : (lo - 0.5)...(hi + 0.5)
    }

    /// Where the parts go in a rect.
    struct Geometry {
        var title: Rect?
        var legendRow: Rect?
        var area: Rect
        var labelWidth: Int
        var gridX: Int
        var cellWidth: Int
        var shownCols: Int
        var shownRows: Int
        var texts: [[String]]
    }

    func geometry(in rect: Rect) -> Geometry? {
        guard !rect.isEmpty, rows > 0, cols > 0 else { return nil }
        var area = rect
        var titleRect: Rect?
        if title != nil {
            let (top, rest) = area.splitTop(1)
            titleRect = top
            area = rest
        }
        var legendRow: Rect?
        if showLegend && area.height >= 3 {
            // Right below the grid (or the last row when the grid fills the area).
            let gridRows = min(rows, area.height - 2) + 1
            legendRow = area.row(gridRows)
            area.height = gridRows
        }
        guard area.height >= 2 else { return Geometry(title: titleRect, legendRow: nil, area: area, labelWidth: 0, gridX: 0,
                                                      cellWidth: 0, shownCols: 0, shownRows: 0, texts: []) }
        let texts = values.map { $0.map { $0.isNaN ? "" : format($0) } }
        let numberWidth = texts.joined().map { DisplayWidth.of($0) }.max() ?? 1
        let labelWanted = rowLabels.map { DisplayWidth.of($0) }.max() ?? 0
        let labelWidth = min(labelWanted, max(0, area.width * 2 / 5))
        let gridX = area.x + (labelWidth > 0 ? labelWidth + 1 : 0)
        let gridWidth = area.maxX - gridX
        guard gridWidth > 0 else { return Geometry(title: titleRect, legendRow: nil, area: area, labelWidth: 0, gridX: 0,
                                                   cellWidth: 0, shownCols: 0, shownRows: 0, texts: []) }
        let columnLabelWidth = (0..<cols).map { c in DisplayWidth.of(c < columnLabels.count ? columnLabels[c] : String(c)) }
            .max() ?? 1
        let want = cellWidth ?? max(numberWidth + 2, columnLabelWidth + 1)
        let cw = max(1, min(want, gridWidth / cols))
        return Geometry(title: titleRect, legendRow: legendRow, area: area, labelWidth: labelWidth, gridX: gridX, cellWidth: cw,
                        shownCols: min(cols, gridWidth / cw), shownRows: min(rows, area.height - 1), texts: texts)
    }

    /// The matrix cell under `point` when drawn in `rect` (for mouse selection).
    public func cell(at point: Point, in rect: Rect) -> (row: Int, column: Int)? {
        guard let geo = geometry(in: rect), geo.shownCols > 0 else { return nil }
        let r = point.y - geo.area.y - 1
        let c = point.x - geo.gridX
        guard r >= 0, r < geo.shownRows, c >= 0, c < geo.shownCols * geo.cellWidth else { return nil }
        return (r, c / geo.cellWidth)
    }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        guard let geo = geometry(in: rect) else { return }
        let g = buffer.glyphs
        if let t = geo.title, let title { buffer.put(title, in: t, style: Style(.title, [.bold])) }
        guard geo.shownCols > 0, geo.shownRows > 0 else { return }
        let area = geo.area
        let legendRow = geo.legendRow
        let vr = valueRange()
        let texts = geo.texts
        let labelWidth = geo.labelWidth
        let gridX = geo.gridX
        let cw = geo.cellWidth
        let shownCols = geo.shownCols
        let shownRows = geo.shownRows

        // Column labels.
        let headerY = area.y
        for c in 0..<shownCols {
            let label = c < columnLabels.count ? columnLabels[c] : String(c)
            let isSel = selected?.column == c
            // One column of space between labels, so truncated labels stay apart.
            let lw = cw > 2 ? cw - 1 : cw
            buffer.put(Text.fit(label, width: lw, alignment: .center, ellipsis: g.ellipsis),
                       at: Point(x: gridX + c * cw + (cw - lw + 1) / 2, y: headerY),
                       style: isSel ? Style(.accent, [.bold]) : Style(.title, [.bold]))
        }
        if shownCols < cols, gridX + shownCols * cw < area.maxX {
            buffer.put("+\(cols - shownCols)", at: Point(x: gridX + shownCols * cw, y: headerY), style: .fg(.dimText),
                       clip: area)
        }

        let span = vr.upperBound - vr.lowerBound
        for r in 0..<shownRows {
            let y = area.y + 1 + r
            if labelWidth > 0 {
                let label = r < rowLabels.count ? rowLabels[r] : String(r)
                let isSel = selected?.row == r
                buffer.put(Text.fit(label, width: labelWidth, alignment: .left, ellipsis: g.ellipsis),
                           at: Point(x: area.x, y: y), style: isSel ? Style(.accent, [.bold]) : .fg(.text))
            }
            for c in 0..<shownCols {
                let v = c < values[r].count ? values[r][c] : .nan
                let x = gridX + c * cw
                let cellRect = Rect(x: x, y: y, width: cw, height: 1)
                var st = Style.plain
                var text: String
                if v.isNaN {
                    text = Text.fit(g.isUnicode ? "–" : "-", width: cw, alignment: .center)
                    st = .fg(.dimText)
                } else {
                    let f = span > 0 ? (v - vr.lowerBound) / span : 0
                    st = Style(bg: .ramp(fraction: f))
                    let t = texts[r][c]
                    if DisplayWidth.of(t) <= cw {
                        text = Text.fit(t, width: cw, alignment: .center)
                    } else if buffer.monochrome {
                        let k = Int((max(0, min(1, f)) * Double(g.shades.count - 1)).rounded())
                        text = String(repeating: g.shades[k], count: cw)
                    } else {
                        text = String(repeating: " ", count: cw)
                    }
                }
                if let s = selected, s.row == r, s.column == c { st = st.adding([.bold, .reverse]) }
                buffer.put(text, at: Point(x: x, y: y), style: st, clip: cellRect)
            }
        }
        if shownRows < rows, area.y + 1 + shownRows < area.maxY {
            buffer.put("+\(rows - shownRows) rows", at: Point(x: area.x, y: area.y + 1 + shownRows), style: .fg(.dimText),
                       clip: area)
        }

        if let legendRow {
            let lo = format(vr.lowerBound), hi = format(vr.upperBound)
            var x = buffer.put(lo + " ", at: Point(x: legendRow.x, y: legendRow.y), style: .fg(.dimText), clip: legendRow)
            let steps = max(1, min(16, legendRow.width - DisplayWidth.of(lo) - DisplayWidth.of(hi) - 2))
            for k in 0..<steps {
                let f = steps > 1 ? Double(k) / Double(steps - 1) : 1
                let glyph = buffer.monochrome
                    ? g.shades[Int((f * Double(g.shades.count - 1)).rounded())] : " "
                x = buffer.put(glyph, at: Point(x: x, y: legendRow.y), style: Style(bg: .ramp(fraction: f)), clip: legendRow)
            }
            buffer.put(" " + hi, at: Point(x: x, y: legendRow.y), style: .fg(.dimText), clip: legendRow)
        }
    }
}
