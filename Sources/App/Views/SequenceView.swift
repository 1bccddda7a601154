import SAECore
import TUI
import Widgets

/// The sequence drill-down: the whole sequence wrapped over the left pane, each token shaded by
/// the feature's activation (as the detail screen's exemplars are), the firing token highlighted
/// and a caret under the token cursor; on the right, the features active at the cursor.
extension AppController {
    func drawSequence(into buffer: inout Buffer, rect: Rect) {
        guard var state = model.sequences.last else { return }
        // B's drill-downs shade and label by B's index (same cache and tokenizer as A's).
        let index = state.dictionary == .compared ? model.comparison?.index : model.index
        guard let index else { return }
        let j = state.feature
        let rightWidth = min(56, max(30, rect.width * 2 / 5))
        let (left, right) = rect.splitRight(rightWidth)
        let prefix = state.dictionary == .compared ? "B \(model.comparison?.other.name ?? "") \(buffer.glyphs.separator) " : ""
        let pane = Panel(title: prefix + "Feature \(j) \(buffer.glyphs.separator) sequence \(state.sequence)",
                         info: "token \(state.cursor + 1)/\(state.tokens.count)", focused: true).draw(into: &buffer, rect: left)
        let maxActivation = index.maxActivation(j)
        let here = state.activation(of: j, at: state.cursor)
        let rowsText = "cache rows \(state.rows.lowerBound)-\(state.rows.upperBound - 1)"
        let header = state.codes == nil ? "encoding\(buffer.glyphs.ellipsis) \(buffer.glyphs.separator) " + rowsText
            : "fires \(NumberFormat.compact(Double(state.activation(of: j, at: state.firing)))) at token \(state.firing + 1)"
            + " \(buffer.glyphs.separator) here \(NumberFormat.compact(Double(here)))"
            + " \(buffer.glyphs.separator) " + rowsText
        _ = buffer.put(header, at: Point(x: pane.x, y: pane.y), style: .fg(.dimText), clip: pane)

        // The whole sequence as one strip, wrapped: two rows a line, the second for the caret.
        let strip = TokenStrip(tokens: state.tokens.map { session.tokenText($0) },
                               activations: (0..<state.tokens.count).map {
                                   maxActivation > 0 ? Double(max(0, state.activation(of: j, at: $0)) / maxActivation) : 0 },
                               highlight: state.firing)
        let laid = strip.layout(glyphs: buffer.glyphs, monochrome: buffer.monochrome)
        let lines = Self.wrap(widths: laid.map(\.width), breaksAfter: state.tokens.map { session.tokenText($0).contains("\n") },
                              width: pane.width)
        let textRect = Rect(x: pane.x, y: pane.y + 2, width: pane.width, height: max(0, pane.height - 2))
        let visibleLines = max(1, textRect.height / 2)
        let cursorLine = lines.firstIndex { $0.contains(state.cursor) } ?? 0
        state.scroll = Self.scroll(keeping: cursorLine, from: state.scroll, rows: visibleLines, lineCount: lines.count)
        for (n, line) in lines.dropFirst(state.scroll).prefix(visibleLines).enumerated() {
            let y = textRect.y + 2 * n
            var lineStrip = strip
            lineStrip.tokens = Array(strip.tokens[line])
            lineStrip.activations = Array(strip.activations[line])
            lineStrip.highlight = line.contains(state.firing) ? state.firing - line.lowerBound : nil
            lineStrip.draw(into: &buffer, rect: Rect(x: textRect.x, y: y, width: textRect.width, height: 1))
            if line.contains(state.cursor) {
                let token = laid[state.cursor], start = laid[line.lowerBound].x
                let spaces = token.text.prefix { $0 == " " }.count
                let caret = String(repeating: "^", count: max(1, token.width - spaces))
                _ = buffer.put(caret, at: Point(x: textRect.x + token.x - start + spaces, y: y + 1), style: Style(.accent, [.bold]), clip: textRect)
            }
        }

        // Right: the features at the cursor, the selected one opened by Enter.
        let tokenText = Text.visible(session.tokenText(state.tokens[state.cursor]), glyphs: buffer.glyphs).trimmingCharacters(in: .whitespaces)
        let features = state.features(at: state.cursor)
        let inner = Panel(title: "Features at \"\(tokenText)\"", info: state.codes == nil ? "" : "\(features.count) active").draw(into: &buffer, rect: right)
        layout.listRows = max(1, inner.height)
        if state.codes == nil {
            _ = buffer.put("encoding\(buffer.glyphs.ellipsis)", at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
        } else if state.nonFinite.contains(state.cursor) {
            _ = buffer.put("not finite in the cache (the index skipped it)", at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
        } else if features.isEmpty {
            _ = buffer.put("no feature fires here", at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
        }
        state.featureTable.selected = min(state.featureTable.selected, max(0, features.count - 1))
        state.featureTable.scrollToSelection(visibleRows: max(1, inner.height), rowCount: features.count)
        for row in 0..<inner.height where state.featureTable.offset + row < features.count {
            let position = state.featureTable.offset + row
            let (feature, value) = features[position]
            let r = inner.row(row)
            let selected = position == state.featureTable.selected
            if selected { buffer.fill(r, style: Style(.text, bg: .selection)) }
            let name = Text.fit("#\(feature)", width: 8, alignment: .left)
            let text = name + Text.fit(NumberFormat.compact(Double(value)), width: 8, alignment: .right) + "  "
                + topTokenText(feature, index: index, glyphs: buffer.glyphs) + labelSuffix(feature)
            _ = buffer.put(text, at: Point(x: r.x, y: r.y), style: selected ? Style(.text, bg: .selection, [.bold]) : .fg(.text), clip: r)
        }
        model.sequences[model.sequences.count - 1] = state
    }

    /// Token positions per line of `width` columns, a line ending where the next token would not
    /// fit or after a token holding a newline; a token wider than the line has one to itself.
    public static func wrap(widths: [Int], breaksAfter: [Bool], width: Int) -> [Range<Int>] {
        var lines: [Range<Int>] = [], start = 0, used = 0
        for (i, w) in widths.enumerated() {
            if i > start, used + w > width {
                lines.append(start..<i)
                start = i
                used = 0
            }
            used += w
            if breaksAfter[i] {
                lines.append(start..<(i + 1))
                start = i + 1
                used = 0
            }
        }
        if start < widths.count || lines.isEmpty { lines.append(start..<widths.count) }
        return lines
    }
}
