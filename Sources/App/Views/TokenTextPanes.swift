import SAECore
import TUI
import Widgets

/// The picture the sequence drill-down and the text screen share: a text's tokens wrapped over a
/// pane, each shaded by one feature's activation (as the detail screen's exemplars are), one
/// token highlighted and a caret under the token cursor; and beside it the features active at
/// the cursor. The sequence screen's tokens come from the cache, the text screen's from the model.
extension AppController {
    /// Draws `tokens` wrapped over `rect`, two rows a line (the second for the caret under
    /// `cursor`), shaded by `activations` (fractions of the feature's maximum) with `highlight`
    /// highlighted (bracketed in monochrome). Returns the first line shown, kept so the cursor's
    /// line is visible (`scroll` is the previous frame's).
    func drawShadedTokens(_ tokens: [String], activations: [Double], highlight: Int?, cursor: Int, scroll: Int,
                          into buffer: inout Buffer, rect: Rect) -> Int {
        guard !tokens.isEmpty else { return 0 }
        let strip = TokenStrip(tokens: tokens, activations: activations, highlight: highlight)
        let laid = strip.layout(glyphs: buffer.glyphs, monochrome: buffer.monochrome)
        let lines = Self.wrap(widths: laid.map(\.width), breaksAfter: tokens.map { $0.contains("\n") }, width: rect.width)
        let visibleLines = max(1, rect.height / 2)
        let cursorLine = lines.firstIndex { $0.contains(cursor) } ?? 0
        let first = Self.scroll(keeping: cursorLine, from: scroll, rows: visibleLines, lineCount: lines.count)
        for (n, line) in lines.dropFirst(first).prefix(visibleLines).enumerated() {
            let y = rect.y + 2 * n
            var lineStrip = strip
            lineStrip.tokens = Array(strip.tokens[line])
            lineStrip.activations = Array(strip.activations[line])
            lineStrip.highlight = highlight.flatMap { line.contains($0) ? $0 - line.lowerBound : nil }
            lineStrip.draw(into: &buffer, rect: Rect(x: rect.x, y: y, width: rect.width, height: 1))
            if line.contains(cursor) {
                let token = laid[cursor], start = laid[line.lowerBound].x
                let spaces = token.text.prefix { $0 == " " }.count
                let caret = String(repeating: "^", count: max(1, token.width - spaces))
                _ = buffer.put(caret, at: Point(x: rect.x + token.x - start + spaces, y: y + 1), style: Style(.accent, [.bold]), clip: rect)
            }
        }
        return first
    }

    /// The features at a token in `inner` (a panel's inside): id, activation, top token (once an
    /// index is there) and label, the row under `table`'s cursor selected (`highlighted`: drawn
    /// as such); `empty` says why there are none.
    func drawTokenFeatures(_ features: [(feature: Int, value: Float)], table: inout TableState, highlighted: Bool = true,
                           index: FeatureIndex?, empty: String?, into buffer: inout Buffer, inner: Rect) {
        if let empty {
            _ = buffer.put(empty, at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
        }
        table.selected = min(table.selected, max(0, features.count - 1))
        table.scrollToSelection(visibleRows: max(1, inner.height), rowCount: features.count)
        for row in 0..<inner.height where table.offset + row < features.count {
            let position = table.offset + row
            let (feature, value) = features[position]
            let r = inner.row(row)
            let selected = highlighted && position == table.selected
            if selected { buffer.fill(r, style: Style(.text, bg: .selection)) }
            let name = Text.fit("#\(feature)", width: 8, alignment: .left)
            let text = name + Text.fit(NumberFormat.compact(Double(value)), width: 8, alignment: .right) + "  "
                + (index.map { topTokenText(feature, index: $0, glyphs: buffer.glyphs) } ?? "") + labelSuffix(feature)
            _ = buffer.put(text, at: Point(x: r.x, y: r.y), style: selected ? Style(.text, bg: .selection, [.bold]) : .fg(.text), clip: r)
        }
    }
}
