import Foundation
import TUI

/// Short number formats for axes, cells and labels.
public enum NumberFormat {
    /// About three significant digits in at most ~6 columns: `0`, `0.125`, `12.5`, `1234`,
    /// `12.3k`, `4.5M`, `1.2e-5`, `-3.5`, `nan`, `inf`.
    public static func compact(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == 0 { return "0" }
        let a = abs(x)
        let sign = x < 0 ? "-" : ""
        if a >= 9999.5 {
            let units = ["k", "M", "G", "T", "P", "E"]
            var v = a / 1000
            var u = 0
            while v >= 999.5 && u < units.count - 1 {
                v /= 1000
                u += 1
            }
            return sign + trimmed(digits(v, decimals: v < 9.995 ? 2 : (v < 99.95 ? 1 : 0))) + units[u]
        }
        if a >= 999.5 { return sign + digits(a, decimals: 0) }
        if a >= 1e-3 {
            // Three significant digits.
            let e = Int(floor(log10(a)))
            var d = max(0, 2 - e)
            // 9.996 rounds up to 10.0: one decimal fewer.
            if (a * pow(10, Double(d))).rounded() >= 1000 { d = max(0, d - 1) }
            return sign + trimmed(digits(a, decimals: d))
        }
        // Small numbers: mantissa with 2 digits, short exponent.
        var e = Int(floor(log10(a)))
        var m = a / pow(10, Double(e))
        if (m * 10).rounded() >= 100 {
            m /= 10
            e += 1
        }
        return sign + trimmed(digits(m, decimals: 1)) + "e\(e)"
    }

    /// An integer count: exact below 10,000, then compact (`12.3k`).
    public static func count(_ n: Int) -> String {
        abs(n) < 10_000 ? String(n) : compact(Double(n))
    }

    /// A fixed number of decimals (`0.93`).
    public static func fixed(_ x: Double, decimals: Int) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        let d = max(0, min(12, decimals))
        let r = digits(abs(x), decimals: d)
        // No "-0.00".
        let isZero = r.allSatisfy { $0 == "0" || $0 == "." }
        return (x < 0 && !isZero ? "-" : "") + r
    }

    /// `42%` (no decimals), clamped to 0...100.
    public static func percent(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "--%" }
        return "\(Int((max(0, min(1, fraction)) * 100).rounded(.down)))%"
    }

    /// A non-negative value with `decimals` decimals, rounded half away from zero, without
    /// `String(format:)` (slow on Linux).
    static func digits(_ a: Double, decimals: Int) -> String {
        let scale = pow(10, Double(decimals))
        let scaled = (a * scale).rounded()
        guard scaled < 9e15 else { return String(format: "%.\(decimals)f", a) }
        let n = UInt64(scaled)
        if decimals == 0 { return String(n) }
        let p = UInt64(scale)
        let frac = String(n % p)
        return String(n / p) + "." + String(repeating: "0", count: decimals - frac.count) + frac
    }

    private static func trimmed(_ s: String) -> String {
        let u = s.utf8
        guard u.contains(UInt8(ascii: ".")), !u.contains(UInt8(ascii: "e")) else { return s }
        var t = Substring(s)
        while t.utf8.last == UInt8(ascii: "0") { t = t.dropLast() }
        if t.utf8.last == UInt8(ascii: ".") { t = t.dropLast() }
        return String(t)
    }
}

/// Tick values for axes.
public enum Ticks {
    /// "Nice" step (1, 2, 2.5 or 5 times a power of ten) giving at most `maxCount` ticks over `span`.
    public static func niceStep(span: Double, maxCount: Int) -> Double {
        guard span > 0, span.isFinite, maxCount > 0 else { return 1 }
        let raw = span / Double(max(1, maxCount))
        let mag = pow(10, floor(log10(raw)))
        for m in [1.0, 2.0, 2.5, 5.0, 10.0] where m * mag >= raw * (1 - 1e-9) {
            return m * mag
        }
        return 10 * mag
    }

    /// The smallest nice number >= x (1, 2, 2.5, 5 times a power of ten); 1 for x <= 0.
    public static func niceCeil(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let mag = pow(10, floor(log10(x)))
        for m in [1.0, 2.0, 2.5, 5.0, 10.0] where m * mag >= x * (1 - 1e-12) {
            return m * mag
        }
        return 10 * mag
    }

    /// Nice tick values inside [lo, hi], at most `maxCount` of them.
    public static func nice(_ lo: Double, _ hi: Double, maxCount: Int) -> [Double] {
        guard hi > lo, maxCount > 0 else { return [lo] }
        var count = maxCount
        while count > 0 {
            let step = niceStep(span: hi - lo, maxCount: count)
            var v = ceil(lo / step - 1e-9) * step
            var out: [Double] = []
            while v <= hi + step * 1e-9 {
                out.append(abs(v) < step * 1e-9 ? 0 : v)
                v += step
            }
            if out.count <= maxCount { return out }
            count -= 1
        }
        return [lo]
    }
}

/// Shared axis drawing for the plotting widgets.
enum Axis {
    /// Labels for a vertical axis: `(row offset from the top, text)`.
    typealias Label = (row: Int, text: String)

    /// Draws right-aligned labels in `labelRect` and the axis line in column `axisX` with ticks at
    /// the labelled rows.
    static func drawY(into buffer: inout Buffer, labels: [Label], labelRect: Rect, axisX: Int, top: Int, height: Int,
                      style: Style) {
        let g = buffer.glyphs
        for r in 0..<height {
            buffer.put(g.vertical, at: Point(x: axisX, y: top + r), style: style)
        }
        for l in labels where l.row >= 0 && l.row < height {
            buffer.put(g.axisTickLeft, at: Point(x: axisX, y: top + l.row), style: style)
            let t = Text.truncateLeading(l.text, columns: labelRect.width, ellipsis: g.ellipsis)
            let x = labelRect.maxX - DisplayWidth.of(t)
            buffer.put(t, at: Point(x: x, y: top + l.row), style: .fg(.dimText), clip: labelRect)
        }
    }

    /// Chooses which of `positions` (columns, relative, ascending) get their label without
    /// overlapping: the first and last always when they fit, then evenly strided ones.
    /// Labels are centred on their position and clamped into `0..<width`. Returns
    /// `(index, x)` pairs.
    static func placeX(positions: [Int], labels: [String], width: Int) -> [(index: Int, x: Int)] {
        let n = positions.count
        guard n > 0, width > 0 else { return [] }
        func span(_ i: Int) -> (Int, Int) {
            let w = DisplayWidth.of(labels[i])
            var x = positions[i] - w / 2
            if i == 0 { x = positions[i] }
            if i == n - 1 && n > 1 { x = positions[i] - w + 1 }
            x = max(0, min(width - w, x))
            return (x, x + w)
        }
        let spans = (0..<n).map(span)
        func fits(_ chosen: [Int]) -> Bool {
            var prevEnd = Int.min
            for i in chosen {
                let (a, b) = spans[i]
                if a < 0 || b > width { return false }
                if prevEnd != Int.min && a < prevEnd + 1 { return false }
                prevEnd = b
            }
            return true
        }
        for stride in [1, 2, 3, 4, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10_000] {
            if stride > 1 && stride >= n { break }
            var chosen = Array(Swift.stride(from: 0, to: n, by: stride))
            if n > 1 && chosen.last != n - 1 {
                // Keep the last label; drop strided ones that would collide with it.
                while chosen.count > 1, spans[chosen.last!].1 + 1 > spans[n - 1].0 { chosen.removeLast() }
                chosen.append(n - 1)
            }
            if fits(chosen) { return chosen.map { ($0, spans[$0].0) } }
        }
        if n > 1 && fits([0, n - 1]) { return [(0, spans[0].0), (n - 1, spans[n - 1].0)] }
        return fits([0]) ? [(0, spans[0].0)] : []
    }

    /// Draws a horizontal axis line (corner at `cornerX`, line from `x` for `width` columns) at row
    /// `y`, tick marks at `ticks` (absolute columns), and labels on row `y + 1` when `labels`.
    static func drawX(into buffer: inout Buffer, cornerX: Int?, x: Int, width: Int, y: Int, ticks: [Int], style: Style) {
        let g = buffer.glyphs
        if let cx = cornerX { buffer.put(g.axisCorner, at: Point(x: cx, y: y), style: style) }
        for c in 0..<max(0, width) {
            buffer.put(g.horizontal, at: Point(x: x + c, y: y), style: style)
        }
        for t in ticks where t >= x && t < x + width {
            buffer.put(g.axisTickDown, at: Point(x: t, y: y), style: style)
        }
    }
}
