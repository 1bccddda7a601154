import Foundation
import TUI

/// One feature on the dictionary map: its log10 density (nil for a dead feature, which has none)
/// and the figure plotted against it.
public struct FeatureMapPoint: Hashable, Sendable {
    public var logDensity: Double?
    public var figure: Double

    public init(logDensity: Double?, figure: Double) {
        self.logDensity = logDensity
        self.figure = figure
    }
}

/// The dictionary map: a braille scatter of every feature, log10 density across against a
/// per-feature figure up, so clusters show (very dense features, duplicates near cosine 1).
/// Dead features have no density: they are drawn apart, in a strip right of the plot where only
/// their figure counts (they are spread across the strip by position, so a crowd looks like one).
/// Cells are shaded along the ramp by how many features they hold (log scale); the cursor's cell
/// is drawn reversed. Without braille (ASCII glyphs) a cell is a shade for live features and `x`
/// for dead ones.
public struct FeatureMap {
    public var points: [FeatureMapPoint]
    /// Index into `points` of the feature under the cursor.
    public var selected: Int?
    public var title: String?
    public var figureLabel: String
    public var deadLabel = "dead"

    public init(points: [FeatureMapPoint], figureLabel: String, selected: Int? = nil, title: String? = nil) {
        self.points = points
        self.figureLabel = figureLabel
        self.selected = selected
        self.title = title
    }

    /// The ranges plotted: whole decades of log10 density around the live features (at most 0),
    /// and the figure's finite extent over every feature (dead ones too).
    public static func ranges(_ points: [FeatureMapPoint]) -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let xs = points.compactMap(\.logDensity).filter(\.isFinite)
        let x0 = floor(xs.min() ?? -1)
        var x1 = min(0, ceil(xs.max() ?? 0))
        if x1 <= x0 { x1 = x0 + 1 }
        let ys = points.map(\.figure).filter(\.isFinite)
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        return (x0...x1, y0...y1)
    }

    /// Columns of the dead strip (a gap, then dots), none when every feature is alive.
    private var stripColumns: Int { points.contains { $0.logDensity == nil } ? 5 : 0 }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty else { return }
        let g = buffer.glyphs
        var area = rect
        let deadCount = points.filter { $0.logDensity == nil }.count
        let (top, rest) = area.splitTop(1)
        let axes = Text.truncate("x: log10 density  y: \(figureLabel)", columns: max(1, top.width - (title.map { Text.width($0) + 1 } ?? 0)),
                                 ellipsis: g.ellipsis)
        let axesWidth = DisplayWidth.of(axes)
        buffer.put(axes, at: Point(x: top.maxX - axesWidth, y: top.y), style: .fg(.dimText), clip: top)
        if let title {
            buffer.put(title, in: Rect(x: top.x, y: top.y, width: max(0, top.width - axesWidth - 1), height: 1), style: Style(.title, [.bold]))
        }
        area = rest
        var legendRow: Rect?
        if area.height >= 5 {
            let (plot, bottom) = area.splitBottom(1)
            legendRow = bottom
            area = plot
        }
        let showXLabels = area.height >= 4
        let rows = area.height - 1 - (showXLabels ? 1 : 0)
        guard rows > 0 else { return }
        let (rx, ry) = Self.ranges(points)
        let yTicks = Ticks.nice(ry.lowerBound, ry.upperBound, maxCount: max(2, min(6, rows / 2 + 1)))
        let labelWidth = min(max(1, area.width / 4), yTicks.map { DisplayWidth.of(NumberFormat.compact($0)) }.max() ?? 1)
        let strip = stripColumns
        let cols = area.width - labelWidth - 1 - strip
        guard cols > 1 else { return }
        let axisX = area.x + labelWidth, plotX = axisX + 1, plotTop = area.y
        let axisStyle = Style.fg(.border)

        func dotRow(_ y: Double) -> Int {
            let f = (ry.upperBound - y) / (ry.upperBound - ry.lowerBound)
            return max(0, min(4 * rows - 1, Int(f * Double(4 * rows))))
        }
        var yLabels: [Axis.Label] = []
        var used = Set<Int>()
        for t in yTicks where used.insert(dotRow(t) / 4).inserted { yLabels.append((dotRow(t) / 4, NumberFormat.compact(t))) }
        Axis.drawY(into: &buffer, labels: yLabels, labelRect: Rect(x: area.x, y: plotTop, width: labelWidth, height: rows),
                   axisX: axisX, top: plotTop, height: rows, style: axisStyle)

        // Rasterise: the plot's cells, then the strip's (strip cells after the plot's in `cells`).
        let stripDots = max(0, strip - 1) * 2
        let totalCols = cols + max(0, strip - 1)
        var bits = [UInt8](repeating: 0, count: totalCols * rows)
        var counts = [Int](repeating: 0, count: totalCols * rows)
        var selectedCell: Int?
        let sx = Double(2 * cols) / (rx.upperBound - rx.lowerBound)
        for (i, p) in points.enumerated() where p.figure.isFinite {
            let dx: Int, column: Int
            if let x = p.logDensity {
                guard x.isFinite else { continue }
                let d = max(0, min(2 * cols - 1, Int((x - rx.lowerBound) * sx)))
                (dx, column) = (d % 2, d / 2)
            } else {
                guard stripDots > 0 else { continue }
                let d = i % stripDots
                (dx, column) = (d % 2, cols + d / 2)
            }
            let dy = dotRow(p.figure)
            let cell = (dy / 4) * totalCols + column
            bits[cell] |= Glyphs.brailleBit(dx: dx, dy: dy % 4)
            counts[cell] += 1
            if i == selected { selectedCell = cell }
        }
        let maxCount = counts.max() ?? 0
        for r in 0..<rows {
            for c in 0..<totalCols where bits[r * totalCols + c] != 0 {
                let cell = r * totalCols + c, dead = c >= cols
                let fraction = maxCount > 1 ? log(Double(counts[cell])) / log(Double(maxCount)) : 1
                var style = dead ? Style.fg(.dimText) : Style(fg: .ramp(fraction: 0.25 + 0.75 * fraction))
                var glyph = Glyphs.braille(bits[cell])
                if !g.isUnicode {
                    glyph = dead ? g.classMarkers[1] : g.shades[min(g.shades.count - 1, 1 + Int((fraction * Double(g.shades.count - 2)).rounded()))]
                }
                if cell == selectedCell { style = Style(.accent, [.bold, .reverse]) }
                buffer.put(glyph, at: Point(x: plotX + c + (dead ? 1 : 0), y: plotTop + r), style: style)
            }
        }

        // X axis: whole decades (every other one when they crowd), and "dead" under the strip.
        let axisY = plotTop + rows
        let decades = Array(stride(from: rx.lowerBound, through: rx.upperBound, by: 1))
        let positions = decades.map { max(0, min(cols - 1, Int(($0 - rx.lowerBound) * sx) / 2)) }
        let labels = decades.map { String(Int($0.rounded())) }
        let placed = Axis.placeX(positions: positions, labels: labels, width: cols)
        Axis.drawX(into: &buffer, cornerX: axisX, x: plotX, width: cols, y: axisY,
                   ticks: placed.map { plotX + positions[$0.index] }, style: axisStyle)
        if strip > 0 {
            Axis.drawX(into: &buffer, cornerX: nil, x: plotX + cols + 1, width: strip - 1, y: axisY, ticks: [], style: axisStyle)
        }
        if showXLabels {
            let labelRow = Rect(x: plotX, y: axisY + 1, width: cols + strip, height: 1)
            for p in placed {
                buffer.put(labels[p.index], at: Point(x: plotX + p.x, y: axisY + 1), style: .fg(.dimText), clip: labelRow)
            }
            if strip > 0 {
                buffer.put(Text.truncate(deadLabel, columns: strip - 1, ellipsis: g.ellipsis), at: Point(x: plotX + cols + 1, y: axisY + 1),
                           style: .fg(.dimText), clip: labelRow)
            }
        }

        if let legendRow {
            let alive = points.count - deadCount
            var x = buffer.put("per cell 1", at: Point(x: legendRow.x, y: legendRow.y), style: .fg(.dimText), clip: legendRow) + 1
            for k in 0..<5 {
                let f = Double(k) / 4
                let glyph = g.isUnicode ? g.barFull : g.shades[min(g.shades.count - 1, 1 + Int((f * Double(g.shades.count - 2)).rounded()))]
                x = buffer.put(glyph, at: Point(x: x, y: legendRow.y), style: Style(fg: .ramp(fraction: 0.25 + 0.75 * f)), clip: legendRow)
            }
            let tail = " \(maxCount) \(g.separator) \(NumberFormat.count(alive)) alive \(g.separator) \(NumberFormat.count(deadCount)) \(deadLabel)"
                + (strip > 0 ? " (apart)" : "")
            buffer.put(tail, at: Point(x: x, y: legendRow.y), style: .fg(.dimText), clip: legendRow)
        }
    }
}
