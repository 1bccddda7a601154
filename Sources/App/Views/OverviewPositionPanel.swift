import SAECore
import TUI
import Widgets

/// The overview's "By position" panel: MSE and L0 against the token's position in its sequence,
/// from the index pass's position buckets (0...31 one each, then [32, 63], [64, 127], ...: the
/// axis is log-spaced past 32), so a dictionary that degrades late in the context shows at once.
extension AppController {
    /// Rows the panel wants: up to three rows of bars per series and the axis, in a border.
    static func positionPanelHeight(available: Int) -> Int { available >= 24 ? 9 : 5 }

    func drawPositionPanel(into buffer: inout Buffer, rect: Rect, index: FeatureIndex) {
        guard !rect.isEmpty else { return }
        let coverage = index.coreStatistics?.excludedRows == nil ? "all rows" : "special tokens excluded"
        let inner = Panel(title: "By position", info: coverage).draw(into: &buffer, rect: rect)
        guard let positions = index.coreStatistics?.positions, positions.slotCount > 0 else {
            let why = index.provenance.isFromLatentCodes
                ? "no position figures: an index of a latent cache (index --codes) has no activations"
                : "no position figures in this index (written before they were recorded): r re-indexes"
            TextView(lines: Text.wrap(why,
                                      columns: max(1, inner.width)), style: .fg(.dimText)).draw(into: &buffer, rect: inner)
            return
        }
        // A gutter names the series; bars, one column per bucket (pooled when too many); then the axis.
        let gutter = 4
        let plot = Rect(x: inner.x + gutter, y: inner.y, width: max(0, inner.width - gutter), height: inner.height)
        guard plot.width > 0, inner.height >= 3 else { return }
        let columns = Self.positionColumns(positions.rows, width: plot.width)
        // A transcoder's index has no reconstruction reference (its output is another site), so
        // its squared errors are not measured: one line says so instead of a row of zeros.
        let measuresError = index.metrics.inputDimension > 0
        var series: [(String, KeyPath<PositionColumn, Double>, Style)] = [("L0", \PositionColumn.l0, Style.fg(.positive))]
        if measuresError { series.insert(("MSE", \PositionColumn.mse, Style.fg(.accent)), at: 0) }
        let seriesRows = max(1, (inner.height - 1 - (measuresError ? 0 : 1)) / series.count)
        var y = inner.y
        if !measuresError {
            _ = buffer.put("MSE n/a: no reconstruction reference in a transcoder's index", x: inner.x, y: y, style: .fg(.dimText), clip: inner)
            y += 1
        }
        for (name, value, style) in series {
            let values = columns.map { $0[keyPath: value] }
            let top = values.filter(\.isFinite).max() ?? 0
            _ = buffer.put(name, x: inner.x, y: y, style: .fg(.text), clip: inner)
            Self.drawBars(values, top: top, into: &buffer, x: plot.x, bottom: y + seriesRows - 1, rows: seriesRows, style: style, clip: plot)
            // The series' peak, right of the bars when there is room.
            if let peak = columns.first(where: { $0[keyPath: value] == top }) {
                let note = "max \(NumberFormat.compact(top)) at \(peak.label)"
                if plot.width - columns.count >= note.count + 2 {
                    _ = buffer.put(note, x: plot.x + plot.width - note.count, y: y, style: .fg(.dimText), clip: plot)
                }
            }
            y += seriesRows
        }
        guard y < inner.y + inner.height else { return }
        _ = buffer.put("pos", x: inner.x, y: y, style: .fg(.dimText), clip: inner)
        // Position labels where they fit, at the columns that start a power of two (and 0).
        var free = plot.x
        for (c, column) in columns.enumerated() {
            let first = column.firstPosition
            guard first == 0 || (first >= 8 && first & (first - 1) == 0) else { continue }
            let x = plot.x + c
            guard x >= free else { continue }
            free = x + buffer.put(String(first), x: x, y: y, style: .fg(.dimText), clip: plot) + 1
        }
    }

    /// One drawn column: one or more consecutive buckets, weighted by their rows.
    struct PositionColumn {
        var firstPosition: Int
        var lastPosition: Int
        var mse: Double
        var l0: Double
        var label: String { firstPosition == lastPosition ? "position \(firstPosition)" : "positions \(firstPosition)-\(lastPosition)" }
    }

    /// The buckets as at most `width` columns (neighbouring buckets pooled when there are more).
    static func positionColumns(_ rows: [PositionMetrics.Row], width: Int) -> [PositionColumn] {
        let count = min(rows.count, max(1, width))
        return (0..<count).map { c in
            let group = rows[(c * rows.count / count)..<((c + 1) * rows.count / count)]
            let n = Double(group.reduce(0) { $0 + $1.count })
            let squaredError = group.reduce(0.0) { $0 + ($1.count > 0 ? $1.mse * Double($1.count) : 0) }
            let active = group.reduce(0.0) { $0 + ($1.count > 0 ? $1.l0 * Double($1.count) : 0) }
            return PositionColumn(firstPosition: group.first!.position, lastPosition: group.last!.lastPosition,
                                  mse: n > 0 ? squaredError / n : .nan, l0: n > 0 ? active / n : .nan)
        }
    }

    /// Vertical bars in eighths of a cell, scaled to `top`; a column without rows stays blank.
    private static func drawBars(_ values: [Double], top: Double, into buffer: inout Buffer, x: Int, bottom: Int, rows: Int,
                                 style: Style, clip: Rect) {
        let levels = buffer.glyphs.verticalEighths
        for (c, value) in values.enumerated() where value.isFinite && top > 0 {
            var eighths = Int((max(0, value) / top * Double(rows * 8)).rounded())
            if value > 0 { eighths = max(1, eighths) }
            for r in 0..<rows where eighths > r * 8 {
                _ = buffer.put(levels[min(8, eighths - r * 8)], x: x + c, y: bottom - r, style: style, clip: clip)
            }
        }
    }
}
