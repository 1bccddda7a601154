import Foundation
import TUI

/// One point of a scatter plot; `cls` indexes `BrailleScatter.classNames`.
public struct ScatterPoint: Hashable, Sendable {
    public var x: Double
    public var y: Double
    public var cls: Int

    public init(x: Double, y: Double, cls: Int = 0) {
        self.x = x
        self.y = y
        self.cls = cls
    }
}

/// A scatter plot in braille: each cell holds 2x4 dots. Cells are coloured by class; a cell
/// holding points of more than one class takes the `mixed` colour (so the drawing order of the
/// points does not matter). Density mode shades cells along the ramp by point count (log).
/// Axes carry nice tick labels; a legend row names the classes.
///
/// Without braille (ASCII glyphs), or without colour when there are several classes or density
/// is on, each cell is one character: a class marker (`o`, `x`, ...), `*` for mixed, or a shade
/// for density.
public struct BrailleScatter {
    public var points: [ScatterPoint]
    public var classNames: [String]
    /// Colour per class (cycled).
    public var classInks: [Ink]
    /// Same data units per dot on both axes (braille dots are square on a 1:2 cell).
    public var equalAxes: Bool
    public var density: Bool
    public var title: String?
    public var xLabel: String?
    public var yLabel: String?
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    public var showLegend: Bool

    public init(points: [ScatterPoint], classNames: [String] = [], equalAxes: Bool = false, density: Bool = false,
                title: String? = nil) {
        self.points = points
        self.classNames = classNames
        classInks = [.role(.negative), .role(.positive), .role(.accent), .role(.warning), .role(.title)]
        self.equalAxes = equalAxes
        self.density = density
        self.title = title
        xLabel = nil
        yLabel = nil
        xRange = nil
        yRange = nil
        showLegend = true
    }

    /// The data ranges drawn for a plot area of `cols` x `rows` cells.
    public func ranges(cols: Int, rows: Int) -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        func span(_ v: [Double], _ given: ClosedRange<Double>?) -> (Double, Double) {
            if let given { return given.upperBound > given.lowerBound ? (given.lowerBound, given.upperBound)
                : (given.lowerBound - 0.5, given.lowerBound + 0.5) }
            guard let lo = v.min(), let hi = v.max() else { return (0, 1) }
            if hi > lo { return (lo, hi) }
            return (lo - 0.5, hi + 0.5)
        }
        var (x0, x1) = span(finite.map(\.x), xRange)
        var (y0, y1) = span(finite.map(\.y), yRange)
        if equalAxes, cols > 0, rows > 0 {
            let ux = (x1 - x0) / Double(2 * cols)
            let uy = (y1 - y0) / Double(4 * rows)
            let u = max(ux, uy)
            let cx = (x0 + x1) / 2, cy = (y0 + y1) / 2
            x0 = cx - u * Double(cols)
            x1 = cx + u * Double(cols)
            y0 = cy - u * Double(2 * rows)
            y1 = cy + u * Double(2 * rows)
        }
        return (x0...x1, y0...y1)
    }

    private var classCount: Int {
        max(classNames.count, (points.map(\.cls).max() ?? -1) + 1)
    }

    private func ink(_ cls: Int) -> Ink { classInks[((cls % classInks.count) + classInks.count) % classInks.count] }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty else { return }
        let g = buffer.glyphs
        var area = rect
        if title != nil || xLabel != nil || yLabel != nil {
            let (top, rest) = area.splitTop(1)
            var axes: [String] = []
            if let xLabel { axes.append("x: \(xLabel)") }
            if let yLabel { axes.append("y: \(yLabel)") }
            var titleArea = top
            if !axes.isEmpty {
                let t = Text.truncate(axes.joined(separator: "  "), columns: top.width / 2, ellipsis: g.ellipsis)
                let w = DisplayWidth.of(t)
                buffer.put(t, at: Point(x: top.maxX - w, y: top.y), style: .fg(.dimText), clip: top)
                titleArea.width = max(0, top.width - w - 1)
            }
            if let title { buffer.put(title, in: titleArea, style: Style(.title, [.bold])) }
            area = rest
        }
        var legendRow: Rect?
        if showLegend && area.height >= 5 {
            let (rest, bottom) = area.splitBottom(1)
            legendRow = bottom
            area = rest
        }
        let showXLabels = area.height >= 4
        let plotRows = area.height - 1 - (showXLabels ? 1 : 0)
        guard plotRows > 0 else { return }

        // Y labels need the y range, which (with equal axes) depends on the plot width: estimate
        // the label width from the unadjusted range first, then settle.
        var labelWidth = 1
        var plotCols = 0
        var rx: ClosedRange<Double> = 0...1
        var ry: ClosedRange<Double> = 0...1
        var yTicks: [Double] = []
        for _ in 0..<2 {
            plotCols = max(0, area.width - labelWidth - 1)
            (rx, ry) = ranges(cols: max(1, plotCols), rows: plotRows)
            yTicks = Ticks.nice(ry.lowerBound, ry.upperBound, maxCount: max(2, min(6, plotRows / 2 + 1)))
            labelWidth = min(max(1, area.width / 4), yTicks.map { DisplayWidth.of(NumberFormat.compact($0)) }.max() ?? 1)
        }
        plotCols = max(0, area.width - labelWidth - 1)
        guard plotCols > 0 else { return }
        let axisX = area.x + labelWidth
        let plotX = axisX + 1
        let plotTop = area.y
        let axisStyle = Style.fg(.border)

        // Y axis.
        func rowOf(_ y: Double) -> Int {
            let f = (ry.upperBound - y) / (ry.upperBound - ry.lowerBound)
            return max(0, min(plotRows - 1, Int(f * Double(plotRows * 4)) / 4))
        }
        var yl: [Axis.Label] = []
        var usedRows = Set<Int>()
        for t in yTicks {
            let r = rowOf(t)
            if usedRows.insert(r).inserted { yl.append((r, NumberFormat.compact(t))) }
        }
        Axis.drawY(into: &buffer, labels: yl, labelRect: Rect(x: area.x, y: plotTop, width: labelWidth, height: plotRows),
                   axisX: axisX, top: plotTop, height: plotRows, style: axisStyle)

        // Rasterise.
        let cols = plotCols, rows = plotRows
        var bits = [UInt8](repeating: 0, count: cols * rows)
        var classes = [UInt64](repeating: 0, count: cols * rows)
        var counts = [Int32](repeating: 0, count: cols * rows)
        let sx = Double(2 * cols) / (rx.upperBound - rx.lowerBound)
        let sy = Double(4 * rows) / (ry.upperBound - ry.lowerBound)
        for p in points where p.x.isFinite && p.y.isFinite {
            let fx = (p.x - rx.lowerBound) * sx
            let fy = (ry.upperBound - p.y) * sy
            guard fx >= 0, fy >= 0, fx <= Double(2 * cols), fy <= Double(4 * rows) else { continue }
            let dx = min(2 * cols - 1, Int(fx))
            let dy = min(4 * rows - 1, Int(fy))
            let c = (dy / 4) * cols + dx / 2
            bits[c] |= Glyphs.brailleBit(dx: dx % 2, dy: dy % 4)
            classes[c] |= 1 << UInt64(max(0, min(63, p.cls)))
            counts[c] += 1
        }
        let maxCount = counts.max() ?? 0
        let multiClass = classCount > 1
        let markers = !g.isUnicode || (buffer.monochrome && (multiClass || density))
        var anyMixed = false
        for r in 0..<rows {
            for c in 0..<cols {
                let i = r * cols + c
                guard bits[i] != 0 else { continue }
                let mixed = classes[i].nonzeroBitCount > 1
                anyMixed = anyMixed || mixed
                let cls = classes[i].trailingZeroBitCount
                let frac = maxCount > 1 ? log(Double(counts[i])) / log(Double(maxCount)) : 1
                var style: Style
                if density {
                    style = Style(fg: .ramp(fraction: 0.25 + 0.75 * frac))
                } else {
                    style = Style(fg: mixed ? .role(.mixed) : ink(cls))
                }
                var glyph: String
                if markers {
                    if density {
                        let k = 1 + Int((frac * Double(g.shades.count - 2)).rounded())
                        glyph = g.shades[min(g.shades.count - 1, k)]
                    } else {
                        glyph = mixed ? g.mixedMarker : g.classMarkers[cls % g.classMarkers.count]
                        if mixed { style = style.adding(.bold) }
                    }
                } else {
                    glyph = Glyphs.braille(bits[i])
                }
                buffer.put(glyph, at: Point(x: plotX + c, y: plotTop + r), style: style)
            }
        }

        // X axis.
        let axisY = plotTop + rows
        let xTicks = Ticks.nice(rx.lowerBound, rx.upperBound, maxCount: max(2, min(8, cols / 6)))
        let positions = xTicks.map { t in
            max(0, min(cols - 1, Int((t - rx.lowerBound) * sx) / 2))
        }
        let labels = xTicks.map { NumberFormat.compact($0) }
        let placed = Axis.placeXCentered(positions: positions, labels: labels, width: cols)
        Axis.drawX(into: &buffer, cornerX: axisX, x: plotX, width: cols, y: axisY,
                   ticks: placed.map { plotX + positions[$0.index] }, style: axisStyle)
        if showXLabels {
            let lr = Rect(x: plotX, y: axisY + 1, width: cols, height: 1)
            for p in placed {
                buffer.put(labels[p.index], at: Point(x: plotX + p.x, y: axisY + 1), style: .fg(.dimText), clip: lr)
            }
        }

        // Legend.
        if let legendRow {
            drawLegend(into: &buffer, row: legendRow, markers: markers, anyMixed: anyMixed, maxCount: Int(maxCount))
        }
    }

    private func drawLegend(into buffer: inout Buffer, row: Rect, markers: Bool, anyMixed: Bool, maxCount: Int) {
        let g = buffer.glyphs
        var x = row.x
        if density {
            x = buffer.put("points per cell 1", at: Point(x: x, y: row.y), style: .fg(.dimText), clip: row) + 1
            for k in 0..<5 {
                let f = Double(k) / 4
                let glyph = markers ? g.shades[min(g.shades.count - 1, 1 + Int((f * Double(g.shades.count - 2)).rounded()))]
                    : g.barFull
                x = buffer.put(glyph, at: Point(x: x, y: row.y), style: Style(fg: .ramp(fraction: 0.25 + 0.75 * f)), clip: row)
            }
            buffer.put(" \(maxCount)", at: Point(x: x, y: row.y), style: .fg(.dimText), clip: row)
            return
        }
        var entries: [(glyph: String, ink: Ink, name: String)] = []
        for c in 0..<classCount {
            let name = c < classNames.count ? classNames[c] : "class \(c)"
            entries.append((markers ? g.classMarkers[c % g.classMarkers.count] : g.legendSwatch, ink(c), name))
        }
        if classCount > 1 {
            entries.append((markers ? g.mixedMarker : g.legendSwatch, .role(.mixed), "mixed"))
        }
        for (i, e) in entries.enumerated() {
            if i > 0 { x += 2 }
            let w = DisplayWidth.of(e.glyph) + 1 + DisplayWidth.of(e.name)
            if x + w > row.maxX { break }
            x = buffer.put(e.glyph, at: Point(x: x, y: row.y), style: Style(fg: e.ink), clip: row)
            x = buffer.put(" " + e.name, at: Point(x: x, y: row.y), style: .fg(.text), clip: row)
        }
    }
}

extension Axis {
    /// Like `placeX` but every label is centred on its position (clamped into the width).
    static func placeXCentered(positions: [Int], labels: [String], width: Int) -> [(index: Int, x: Int)] {
        var out: [(index: Int, x: Int)] = []
        var lastEnd = -2
        for (i, p) in positions.enumerated() {
            let w = DisplayWidth.of(labels[i])
            guard w <= width else { continue }
            let x = max(0, min(width - w, p - w / 2))
            if x <= lastEnd { continue }
            out.append((i, x))
            lastEnd = x + w
        }
        return out
    }
}
