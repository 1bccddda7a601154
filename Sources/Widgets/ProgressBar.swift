import Foundation
import TUI

/// One row: `label ████▌░░░░ 42%`. Eighth-block precision in Unicode (`#` and `.` in ASCII,
/// whole cells). A nil fraction (unknown progress) draws the label and an empty track.
public struct ProgressBar {
    public var fraction: Double?
    public var label: String
    /// Text after the bar instead of the percentage (e.g. "1.2M/4M tokens").
    public var detail: String?
    public var barStyle: Style
    /// Width of the label column; nil: the label's width, at most 40% of the row.
    public var labelWidth: Int?

    public init(fraction: Double?, label: String = "", detail: String? = nil) {
        self.fraction = fraction
        self.label = label
        self.detail = detail
        barStyle = .fg(.accent)
        labelWidth = nil
    }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty else { return }
        let g = buffer.glyphs
        let row = rect.row(0)
        let right = detail ?? (fraction.map { NumberFormat.percent($0) } ?? "")
        let rightWidth = max(DisplayWidth.of(right), detail == nil ? 4 : 0)
        var lw = labelWidth ?? min(DisplayWidth.of(label), row.width * 2 / 5)
        if label.isEmpty { lw = 0 }
        var barWidth = row.width - lw - (lw > 0 ? 1 : 0) - (rightWidth > 0 ? rightWidth + 1 : 0)
        if barWidth < 3 {
            // Give the bar room before the label.
            lw = max(0, lw - (3 - barWidth))
            barWidth = row.width - lw - (lw > 0 ? 1 : 0) - (rightWidth > 0 ? rightWidth + 1 : 0)
        }
        var x = row.x
        if lw > 0 {
            buffer.put(Text.fit(label, width: lw, ellipsis: g.ellipsis), at: Point(x: x, y: row.y), style: .fg(.text), clip: row)
            x += lw + 1
        }
        if barWidth > 0 {
            let f = max(0, min(1, fraction ?? 0))
            var e = Int((f * Double(barWidth * 8)).rounded(.down))
            if !g.isUnicode { e = (e / 8) * 8 }
            for c in 0..<barWidth {
                let level = max(0, min(8, e - 8 * c))
                if level == 8 {
                    buffer.put(g.barFull, at: Point(x: x + c, y: row.y), style: barStyle, clip: row)
                } else if level > 0 {
                    buffer.put(g.horizontalEighths[level], at: Point(x: x + c, y: row.y), style: barStyle, clip: row)
                } else {
                    buffer.put(g.barTrack, at: Point(x: x + c, y: row.y), style: .fg(.border), clip: row)
                }
            }
            x += barWidth + 1
        }
        if rightWidth > 0 {
            let t = Text.fit(right, width: rightWidth, alignment: .right, ellipsis: g.ellipsis)
            buffer.put(t, at: Point(x: row.maxX - rightWidth, y: row.y), style: .fg(.dimText), clip: row)
        }
    }
}

/// Values as one row of eighth-height bars (`▁▂▃▄▅▆▇█`). More values than columns are averaged
/// into columns; NaN shows blank.
public struct Sparkline {
    public var values: [Double]
    /// The values at the lowest and highest glyph; nil: the data's min and max.
    public var range: ClosedRange<Double>?
    public var style: Style

    public init(values: [Double], range: ClosedRange<Double>? = nil, style: Style = .fg(.accent)) {
        self.values = values
        self.range = range
        self.style = style
    }

    public func draw(into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty, !values.isEmpty else { return }
        let g = buffer.glyphs
        let row = rect.row(0)
        let n = values.count
        let w = min(n, row.width)
        var cols = [Double](repeating: .nan, count: w)
        if n <= w {
            cols = values
        } else {
            for c in 0..<w {
                let a = c * n / w, b = max(a + 1, (c + 1) * n / w)
                let part = values[a..<b].filter { !$0.isNaN }
                cols[c] = part.isEmpty ? .nan : part.reduce(0, +) / Double(part.count)
            }
        }
        let finite = cols.filter { $0.isFinite }
        let lo = range?.lowerBound ?? finite.min() ?? 0
        let hi = range?.upperBound ?? finite.max() ?? 1
        let levels = g.sparkLevels.count
        for (c, v) in cols.enumerated() {
            guard v.isFinite else { continue }
            let f = hi > lo ? (v - lo) / (hi - lo) : 0.5
            let k = max(0, min(levels - 1, Int((f * Double(levels - 1)).rounded())))
            buffer.put(g.sparkLevels[k], at: Point(x: row.x + c, y: row.y), style: style, clip: row)
        }
    }
}
