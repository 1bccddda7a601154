import Foundation
import TUI

/// A histogram of counts per bin.
///
/// Vertical (default): eighth-block bars, a labelled y axis (linear from 0 to a nice maximum, or
/// log10), the x axis with bin-edge labels that fit, a title row. Bins outnumbering the columns
/// are summed into columns; fewer bins get equal-width bars. A non-zero bin always shows at
/// least the lowest glyph.
///
/// Horizontal: one row per bin (or per group of bins): edge label, bar, count. For small spaces.
public struct Histogram {
    public enum Orientation: Hashable, Sendable { case vertical, horizontal }

    /// A bar drawn apart, right of the bins (e.g. "dead" features), on the bins' y scale; when
    /// taller than the plot it is cut at the top with an overflow mark.
    public struct ExtraBar: Hashable, Sendable {
        public var label: String
        public var count: Double
        public init(label: String, count: Double) {
            self.label = label
            self.count = count
        }
    }

    public var counts: [Double]
    /// Bin edges (`counts.count + 1` values); nil labels bins by index.
    public var edges: [Double]?
    public var title: String?
    /// Right end of the title row (e.g. "n = 12,345").
    public var info: String?
    public var logScale: Bool
    public var orientation: Orientation
    public var barStyle: Style
    public var extraBars: [ExtraBar]
    public var edgeFormat: (Double) -> String
    /// Values to label on the x axis (in edge units) instead of a stride of the bin edges.
    public var xTicks: [Double]?

    public init(counts: [Double], edges: [Double]? = nil, title: String? = nil, logScale: Bool = false,
                orientation: Orientation = .vertical) {
        self.counts = counts
        self.edges = edges.flatMap { $0.count == counts.count + 1 ? $0 : nil }
        self.title = title
        info = nil
        self.logScale = logScale
        self.orientation = orientation
        barStyle = .fg(.accent)
        extraBars = []
        edgeFormat = NumberFormat.compact
        xTicks = nil
    }

    public init(counts: [Int], edges: [Double]? = nil, title: String? = nil, logScale: Bool = false,
                orientation: Orientation = .vertical) {
        self.init(counts: counts.map(Double.init), edges: edges, title: title, logScale: logScale,
                  orientation: orientation)
    }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty else { return }
        var area = rect
        if title != nil || info != nil {
            let (top, rest) = area.splitTop(1)
            drawTitle(into: &buffer, row: top)
            area = rest
        }
        switch orientation {
        case .vertical: drawVertical(into: &buffer, rect: area)
        case .horizontal: drawHorizontal(into: &buffer, rect: area)
        }
    }

    private func drawTitle(into buffer: inout Buffer, row: Rect) {
        var titleArea = row
        if let info, !info.isEmpty {
            let t = Text.truncate(info, columns: max(0, row.width / 2), ellipsis: buffer.glyphs.ellipsis)
            let w = DisplayWidth.of(t)
            buffer.put(t, at: Point(x: row.maxX - w, y: row.y), style: .fg(.dimText), clip: row)
            titleArea.width = max(0, row.width - w - 1)
        }
        if let title {
            buffer.put(title, in: titleArea, style: Style(.title, [.bold]))
        }
    }

    // MARK: Scale

    struct Scale {
        var top: Double
        var log: Bool
        /// Fraction of the plot height for a count.
        func fraction(_ c: Double) -> Double {
            guard c > 0, top > 0 else { return 0 }
            if log { return min(1, log10(1 + c) / log10(1 + top)) }
            return min(1, c / top)
        }
    }

    /// Row (from the top, in a plot of `height` rows) whose cell holds the top of a bar for `c`.
    static func labelRow(_ frac: Double, height: Int) -> Int {
        let cells = frac * Double(height)
        let fromBottom = max(0, Int(ceil(cells - 1e-9)) - 1)
        return height - 1 - min(height - 1, fromBottom)
    }

    func yLabels(_ s: Scale, height: Int) -> [Axis.Label] {
        guard height > 0 else { return [] }
        var values: [Double] = []
        if s.log {
            var v = 1.0
            values.append(0)
            while v <= s.top * (1 + 1e-9) {
                values.append(v)
                v *= 10
            }
        } else {
            values = Ticks.nice(0, s.top, maxCount: max(2, min(5, height / 2 + 1)))
        }
        var out: [Axis.Label] = []
        var usedRows = Set<Int>()
        // Top label first so it always shows; then the others bottom-up.
        let ordered = values.reversed().prefix(1) + values.dropLast()
        for v in ordered {
            let row = v == 0 ? height - 1 : Histogram.labelRow(s.fraction(v), height: height)
            if usedRows.contains(row) { continue }
            usedRows.insert(row)
            out.append((row, NumberFormat.compact(v)))
        }
        return out.sorted { $0.row < $1.row }
    }

    // MARK: Vertical

    /// Bin counts summed into `width` columns (each bin repeated over equal-width bars when
    /// there are fewer bins than columns). Returns the columns used and the bar width.
    private func columnCounts(plotWidth: Int) -> (counts: [Double], used: Int, barWidth: Int) {
        let n = counts.count
        guard plotWidth > 0 else { return ([], 0, 0) }
        if n <= plotWidth {
            let bw = plotWidth / n
            var out = [Double](repeating: 0, count: bw * n)
            for b in 0..<n { for k in 0..<bw { out[b * bw + k] = counts[b] } }
            return (out, bw * n, bw)
        }
        var out = [Double](repeating: 0, count: plotWidth)
        for b in 0..<n where counts[b].isFinite { out[b * plotWidth / n] += counts[b] }
        return (out, plotWidth, 1)
    }

    private func scale(for values: [Double]) -> Scale {
        let m = values.filter { $0.isFinite }.max() ?? 0
        if logScale { return Scale(top: m <= 1 ? 10 : pow(10, ceil(log10(m) - 1e-12)), log: true) }
        return Scale(top: Ticks.niceCeil(max(m, 1)), log: false)
    }

    private func drawVertical(into buffer: inout Buffer, rect: Rect) {
        let g = buffer.glyphs
        let n = counts.count
        guard n > 0, rect.height >= 1 else { return }
        let showXLabels = rect.height >= 4
        let showXAxis = rect.height >= 3
        let plotHeight = rect.height - (showXAxis ? 1 : 0) - (showXLabels ? 1 : 0)
        let extraWidth = extraBars.reduce(0) { $0 + max(2, DisplayWidth.of($1.label)) + 1 }

        // The label width depends on the scale, which depends on how bins fold into columns,
        // which depends on the label width: settle in two passes.
        var labelWidth = 1
        var extras = extraBars
        var plotWidth = 0
        var cols: (counts: [Double], used: Int, barWidth: Int) = ([], 0, 0)
        var sc = scale(for: counts)
        var labels: [Axis.Label] = []
        for _ in 0..<2 {
            plotWidth = rect.width - labelWidth - 1
            extras = extraBars
            if plotWidth - extraWidth < max(4, min(n, 4)) { extras = [] } else { plotWidth -= extraWidth }
            guard plotWidth > 0 else { return }
            cols = columnCounts(plotWidth: plotWidth)
            sc = scale(for: cols.counts)
            labels = yLabels(sc, height: plotHeight)
            labelWidth = min(max(1, rect.width / 4), labels.map { DisplayWidth.of($0.text) }.max() ?? 1)
        }
        let axisX = rect.x + labelWidth
        let plotX = axisX + 1
        let axisStyle = Style.fg(.border)
        Axis.drawY(into: &buffer, labels: labels, labelRect: Rect(x: rect.x, y: rect.y, width: labelWidth, height: plotHeight),
                   axisX: axisX, top: rect.y, height: plotHeight, style: axisStyle)
        for (c, count) in cols.counts.enumerated() {
            drawBar(into: &buffer, x: plotX + c, bottom: rect.y + plotHeight - 1, height: plotHeight,
                    eighths: eighths(count, sc, plotHeight), style: barStyle, glyphs: g)
        }

        // Extra bars, on the same scale, cut at the top with a mark.
        var ex = plotX + plotWidth + 1
        var extraTicks: [(x: Int, label: String)] = []
        for e in extras {
            let w = max(2, DisplayWidth.of(e.label))
            let bx = ex + (w - 1) / 2
            drawBar(into: &buffer, x: bx, bottom: rect.y + plotHeight - 1, height: plotHeight,
                    eighths: eighths(e.count, sc, plotHeight), style: .fg(.dimText), glyphs: g)
            if e.count > sc.top, plotHeight > 0 {
                buffer.put(g.isUnicode ? "↑" : "^", at: Point(x: bx, y: rect.y), style: Style(.warning, [.bold]))
            }
            extraTicks.append((ex, e.label))
            ex += w + 1
        }

        guard showXAxis else { return }
        let axisY = rect.y + plotHeight
        let used = cols.used
        let positions: [Int]
        let tickLabels: [String]
        if let xTicks, let edges, let e0 = edges.first, let e1 = edges.last, e1 > e0 {
            let inside = xTicks.filter { $0 >= e0 - 1e-9 && $0 <= e1 + 1e-9 }
            positions = inside.map { v in max(0, min(used - 1, Int(((v - e0) / (e1 - e0) * Double(used)).rounded(.down)))) }
            tickLabels = inside.map(edgeFormat)
        } else {
            positions = (0...n).map { j in
                n <= plotWidth ? min(used - 1, j * cols.barWidth) : min(used - 1, j * used / n)
            }
            tickLabels = (0...n).map { j in edges.map { edgeFormat($0[j]) } ?? String(j) }
        }
        let placed = Axis.placeX(positions: positions, labels: tickLabels, width: used)
        Axis.drawX(into: &buffer, cornerX: axisX, x: plotX, width: used, y: axisY,
                   ticks: placed.map { plotX + positions[$0.index] }, style: axisStyle)
        if showXLabels {
            let labelRow = Rect(x: plotX, y: axisY + 1, width: used, height: 1)
            for p in placed {
                buffer.put(tickLabels[p.index], at: Point(x: plotX + p.x, y: axisY + 1), style: .fg(.dimText), clip: labelRow)
            }
            for t in extraTicks {
                buffer.put(t.label, at: Point(x: t.x, y: axisY + 1), style: .fg(.dimText), clip: rect)
            }
        }
    }

    private func eighths(_ c: Double, _ s: Scale, _ height: Int) -> Int {
        guard c > 0, c.isFinite else { return 0 }
        let e = Int((s.fraction(c) * Double(height * 8)).rounded())
        return max(1, min(height * 8, e))
    }

    private func drawBar(into buffer: inout Buffer, x: Int, bottom: Int, height: Int, eighths: Int, style: Style,
                         glyphs g: Glyphs) {
        guard eighths > 0 else { return }
        for r in 0..<height {
            let level = max(0, min(8, eighths - 8 * r))
            if level == 0 { break }
            buffer.put(g.verticalEighths[level], at: Point(x: x, y: bottom - r), style: style)
        }
    }

    // MARK: Horizontal

    private func drawHorizontal(into buffer: inout Buffer, rect: Rect) {
        let g = buffer.glyphs
        let n = counts.count
        guard n > 0, rect.height > 0 else { return }
        let rowsUsed = min(n, rect.height)
        var rowCounts = [Double](repeating: 0, count: rowsUsed)
        var rowFirstBin = [Int](repeating: 0, count: rowsUsed)
        for b in 0..<n where counts[b].isFinite { rowCounts[b * rowsUsed / n] += counts[b] }
        for r in 0..<rowsUsed { rowFirstBin[r] = (0..<n).first { $0 * rowsUsed / n == r } ?? r }
        let labels: [String] = (0..<rowsUsed).map { r in
            edges.map { edgeFormat($0[rowFirstBin[r]]) } ?? String(rowFirstBin[r])
        }
        let countLabels = rowCounts.map { NumberFormat.compact($0) }
        let lw = min(max(1, rect.width / 4), labels.map { DisplayWidth.of($0) }.max() ?? 1)
        let cw = countLabels.map { DisplayWidth.of($0) }.max() ?? 1
        let barX = rect.x + lw + 1
        let barWidth = rect.maxX - barX - cw - 1
        let m = rowCounts.max() ?? 0
        let top = logScale ? (m <= 1 ? 10 : pow(10, ceil(log10(m) - 1e-12))) : max(m, 1)
        let s = Scale(top: top, log: logScale)
        for r in 0..<rowsUsed {
            let y = rect.y + r
            let l = Text.truncateLeading(labels[r], columns: lw, ellipsis: g.ellipsis)
            buffer.put(l, at: Point(x: rect.x + lw - DisplayWidth.of(l), y: y), style: .fg(.dimText), clip: rect)
            buffer.put(g.vertical, at: Point(x: rect.x + lw, y: y), style: .fg(.border), clip: rect)
            var endX = barX
            if barWidth > 0 {
                var e = Int((s.fraction(rowCounts[r]) * Double(barWidth * 8)).rounded())
                if rowCounts[r] > 0 { e = max(1, e) }
                if !g.isUnicode && rowCounts[r] > 0 { e = max(8, e) }
                var x = barX
                while e > 0 && x < barX + barWidth {
                    buffer.put(g.horizontalEighths[min(8, e)], at: Point(x: x, y: y), style: barStyle, clip: rect)
                    e -= 8
                    x += 1
                }
                endX = x
            }
            buffer.put(countLabels[r], at: Point(x: endX + 1, y: y), style: .fg(.text), clip: rect)
        }
    }
}
