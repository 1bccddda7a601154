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
        let activations = (0..<state.tokens.count).map {
            maxActivation > 0 ? Double(max(0, state.activation(of: j, at: $0)) / maxActivation) : 0 }
        let textRect = Rect(x: pane.x, y: pane.y + 2, width: pane.width, height: max(0, pane.height - 2))
        state.scroll = drawShadedTokens(state.tokens.map { session.tokenText($0) }, activations: activations, highlight: state.firing,
                                        cursor: state.cursor, scroll: state.scroll, into: &buffer, rect: textRect)

        // Right: the features at the cursor, the selected one opened by Enter.
        let tokenText = Text.visible(session.tokenText(state.tokens[state.cursor]), glyphs: buffer.glyphs).trimmingCharacters(in: .whitespaces)
        let features = state.features(at: state.cursor)
        let inner = Panel(title: "Features at \"\(tokenText)\"", info: state.codes == nil ? "" : "\(features.count) active").draw(into: &buffer, rect: right)
        layout.listRows = max(1, inner.height)
        let empty: String? = state.codes == nil ? "encoding\(buffer.glyphs.ellipsis)"
            : state.nonFinite.contains(state.cursor) ? "not finite in the cache (the index skipped it)"
            : features.isEmpty ? "no feature fires here" : nil
        drawTokenFeatures(features, table: &state.featureTable, index: index, empty: empty, into: &buffer, inner: inner)
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
