import SAECore
import TUI
import Widgets

/// The text screen: the field on top; below it the text's tokens shaded by the selected
/// feature (the sequence drill-down's picture, TokenTextPanes.swift) with the features at the
/// caret beside them; at the bottom the features most active over the whole text, each with a
/// strip of its activation along the text. The focused pane's border is lit.
extension AppController {
    func drawTextScreen(into buffer: inout Buffer, rect: Rect) {
        let fieldRows = rect.height >= 36 ? 3 : 2
        let (fieldRect, rest) = rect.splitTop(fieldRows + 2)
        let (middle, bottom) = rest.splitBottom(rest.height / 2)
        let (left, right) = middle.splitRight(min(56, max(30, rect.width * 2 / 5)))
        drawTextField(into: &buffer, rect: fieldRect)
        drawTextTokens(into: &buffer, rect: left)
        drawTextTokenFeatures(into: &buffer, rect: right)
        drawFeaturesOverText(into: &buffer, rect: bottom)
    }

    private func drawTextField(into buffer: inout Buffer, rect: Rect) {
        let state = model.text
        let focused = state.focus == .field
        let info = state.job != nil ? "scoring\(buffer.glyphs.ellipsis)"
            : state.waitingForModel ? "waiting for the model\(buffer.glyphs.ellipsis)"
            : focused ? "Enter sends" : "i edits"
        let inner = Panel(title: "Text", info: info, focused: focused).draw(into: &buffer, rect: rect)
        guard inner.width > 0, inner.height > 0 else { return }
        if state.field.text.isEmpty && !focused {
            _ = buffer.put("i, then type a text", at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
            return
        }
        // The text wrapped to the pane at spaces (a word longer than the pane at its edge), a line
        // break drawn as ↵ and ending the line; the cursor a reversed cell (after the last
        // character: a blank one).
        var lines: [[(text: String, width: Int, at: Int)]] = [[]]
        var used = 0
        for (at, c) in (Array(state.field.text) + [" "]).enumerated() {
            let shown = c == "\n" ? buffer.glyphs.newline : Text.visible(String(c), glyphs: buffer.glyphs)
            let width = Text.width(shown)
            // A space at the edge hangs there (clipped) rather than starting the next line,
            // unless the cursor is on it.
            let hangs = c == " " && at != state.field.cursor
            if used + width > inner.width, !lines[lines.count - 1].isEmpty, !hangs {
                let line = lines[lines.count - 1]
                // The word being typed moves down whole when the line has a space before it.
                if c != " ", let space = line.lastIndex(where: { $0.text == " " }), space < line.count - 1 {
                    lines[lines.count - 1] = Array(line[...space])
                    lines.append(Array(line[(space + 1)...]))
                    used = lines[lines.count - 1].reduce(0) { $0 + $1.width }
                    if used + width > inner.width { lines.append([]); used = 0 }
                } else {
                    lines.append([])
                    used = 0
                }
            }
            lines[lines.count - 1].append((shown, width, at))
            used += width
            if c == "\n" { lines.append([]); used = 0 }
        }
        let cursorLine = lines.firstIndex { $0.contains { $0.at == state.field.cursor } } ?? 0
        let first = max(0, min(cursorLine - inner.height + 1, lines.count - inner.height))
        for (row, line) in lines.dropFirst(first).prefix(inner.height).enumerated() {
            var x = inner.x
            for cell in line {
                let style = focused && cell.at == state.field.cursor ? Style(.text, [.reverse]) : .fg(.text)
                x = buffer.put(cell.text, at: Point(x: x, y: inner.y + row), style: style, clip: inner)
            }
        }
    }

    private func drawTextTokens(into buffer: inout Buffer, rect: Rect) {
        let state = model.text
        let j = state.selectedFeature
        let title = "Tokens" + (j.map { " \(buffer.glyphs.separator) feature \($0)" } ?? "")
        let info = state.result.map { result in
            "token \(state.cursor + 1)/\(result.scan.tokens.count)"
                + (result.scan.windows.count > 1 ? " \(buffer.glyphs.separator) \(result.scan.windows.count) windows" : "") } ?? ""
        let pane = Panel(title: title, info: info, focused: state.focus == .tokens).draw(into: &buffer, rect: rect)
        guard let result = state.result else {
            let line = state.job != nil ? "scoring\(buffer.glyphs.ellipsis)" + (modelBusyWithLoss ? " (after the CE job: the model answers one request at a time)" : "")
                : attachedModel?.engine == nil && !state.waitingForModel ? noTextModelLine
                : "Type a text above and press Enter: its tokens show here, shaded by the selected feature."
            let isProblem = state.job == nil && attachedModel?.engine == nil && !state.waitingForModel
            for (n, text) in Text.wrap(line, columns: max(1, pane.width)).prefix(pane.height).enumerated() {
                _ = buffer.put(text, at: Point(x: pane.x, y: pane.y + n), style: isProblem ? .fg(.warning) : .fg(.dimText), clip: pane)
            }
            return
        }
        let scan = result.scan
        let timing = " \(buffer.glyphs.separator) \(Int(result.milliseconds.rounded())) ms"
        var header: String
        var activations = [Double](repeating: 0, count: scan.tokens.count)
        var highlight: Int?
        if let j {
            let best = scan.maxActivation(of: j)
            highlight = best.position
            if let at = best.position {
                header = "fires \(NumberFormat.compact(Double(best.value))) at token \(at + 1) \(buffer.glyphs.separator) here "
                    + NumberFormat.compact(Double(scan.activation(of: j, at: state.cursor)))
                // Shaded against the feature's maximum over the index, as exemplars are (the text's own without one).
                let scale = model.index.map { $0.maxActivation(j) }.flatMap { $0 > 0 ? $0 : nil } ?? best.value
                activations = scan.tokens.indices.map { Double(max(0, scan.activation(of: j, at: $0)) / scale) }
            } else {
                header = "\(j) does not fire on this text"
            }
        } else {
            header = "no feature fires on this text"
        }
        header += timing
        _ = buffer.put(header, at: Point(x: pane.x, y: pane.y), style: .fg(.dimText), clip: pane)
        let textRect = Rect(x: pane.x, y: pane.y + 2, width: pane.width, height: max(0, pane.height - 2))
        model.text.scroll = drawShadedTokens(result.tokenTexts, activations: activations, highlight: highlight, cursor: state.cursor,
                                             scroll: state.scroll, into: &buffer, rect: textRect)
    }

    private func drawTextTokenFeatures(into buffer: inout Buffer, rect: Rect) {
        var state = model.text
        let features = state.featuresAtCursor
        let token = state.result.map { Text.visible($0.tokenTexts[state.cursor], glyphs: buffer.glyphs).trimmingCharacters(in: .whitespaces) }
        let inner = Panel(title: token.map { "Features at \"\($0)\"" } ?? "Features at the token",
                          info: state.result == nil ? "" : "\(features.count) active", focused: state.focus == .tokens).draw(into: &buffer, rect: rect)
        if state.focus == .tokens { layout.listRows = max(1, inner.height) }
        let empty: String? = state.result == nil ? nil : features.isEmpty ? "no feature fires here" : nil
        drawTokenFeatures(features, table: &state.tokenFeatures, highlighted: state.focus == .tokens, index: model.index, empty: empty,
                          into: &buffer, inner: inner)
        model.text.tokenFeatures = state.tokenFeatures
    }

    /// Every feature active on the text, in the chosen order: id, maximum, tokens it fires on,
    /// its activation along the text (one cell per token, or the maximum of each stretch when the
    /// text is longer than the strip; caret column marked), top token and label.
    private func drawFeaturesOverText(into buffer: inout Buffer, rect: Rect) {
        var state = model.text
        let arrow = state.descending ? buffer.glyphs.sortDescending : buffer.glyphs.sortAscending
        let info = state.result == nil ? "" : "\(state.rows.count) active \(buffer.glyphs.separator) by \(state.sort.rawValue)\(arrow)"
        let inner = Panel(title: "Features over the text", info: info, focused: state.focus == .features).draw(into: &buffer, rect: rect)
        // Without an index yet (the first build runs) the top token column stays empty.
        guard let result = state.result, inner.height > 1 else { return }
        if state.focus == .features { layout.listRows = max(1, inner.height - 1) }
        let tokenCount = result.scan.tokens.count
        let cells = Self.stripCells(tokenCount: tokenCount, width: max(10, (inner.width - 26) / 2))
        let stripWidth = max(14, cells.count)
        let head = Text.fit("feature", width: 8) + Text.fit("max", width: 8, alignment: .right) + Text.fit("tokens", width: 8, alignment: .right)
            + "  " + Text.fit("along the text", width: stripWidth, ellipsis: "") + "  top token"
        _ = buffer.put(head, at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
        let listRect = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 1)
        if state.rows.isEmpty {
            _ = buffer.put("no feature fires on this text", at: Point(x: listRect.x, y: listRect.y), style: .fg(.dimText), clip: listRect)
        }
        state.textFeatures.selected = min(state.textFeatures.selected, max(0, state.rows.count - 1))
        state.textFeatures.scrollToSelection(visibleRows: max(1, listRect.height), rowCount: state.rows.count)
        for row in 0..<listRect.height where state.textFeatures.offset + row < state.rows.count {
            let position = state.textFeatures.offset + row
            let summary = state.rows[position]
            let r = listRect.row(row)
            let selected = state.focus == .features && position == state.textFeatures.selected
            let shading = summary.feature == state.selectedFeature
            let base = selected ? Style(.text, bg: .selection, [.bold]) : shading ? Style(.accent, [.bold]) : .fg(.text)
            if selected { buffer.fill(r, style: Style(.text, bg: .selection)) }
            var x = buffer.put(Text.fit("#\(summary.feature)", width: 8) + Text.fit(NumberFormat.compact(Double(summary.max)), width: 8, alignment: .right)
                               + Text.fit(String(summary.tokens), width: 8, alignment: .right) + "  ", at: Point(x: r.x, y: r.y), style: base, clip: r)
            let levels = Self.activationStrip(result.scan, feature: summary.feature, max: summary.max, cells: cells,
                                              levels: buffer.glyphs.sparkLevels)
            for (cell, level) in levels.enumerated() {
                let atCaret = cells[cell].contains(state.cursor)
                x = buffer.put(level, at: Point(x: x, y: r.y), style: atCaret ? Style(.accent, bg: selected ? .selection : nil, [.bold]) : base, clip: r)
            }
            x += stripWidth - levels.count
            _ = buffer.put("  " + (model.index.map { topTokenText(summary.feature, index: $0, glyphs: buffer.glyphs) } ?? "") + labelSuffix(summary.feature),
                           at: Point(x: x, y: r.y), style: base, clip: r)
        }
        model.text.textFeatures = state.textFeatures
    }

    /// The tokens each cell of a strip `width` wide stands for: a short text's tokens get up to
    /// three cells each, a long text's are gathered into `width` stretches.
    static func stripCells(tokenCount: Int, width: Int) -> [Range<Int>] {
        guard tokenCount > 0, width > 0 else { return [] }
        if tokenCount <= width {
            let each = min(3, width / tokenCount)
            return (0..<tokenCount).flatMap { t in Array(repeating: t..<(t + 1), count: each) }
        }
        return (0..<width).map { cell in (cell * tokenCount / width)..<((cell + 1) * tokenCount / width) }
    }

    /// Feature `f` along the text, a cell per stretch of `cells`: the highest activation of its
    /// tokens as a level of `levels` (relative to `max`, the feature's maximum over the text),
    /// blank where it does not fire.
    static func activationStrip(_ scan: TextFeatureScan, feature f: Int, max: Float, cells: [Range<Int>], levels: [String]) -> [String] {
        cells.map { tokens in
            let value = tokens.map { scan.activation(of: f, at: $0) }.max() ?? 0
            guard value > 0, max > 0 else { return " " }
            return levels[Swift.min(levels.count - 1, Int(Float(levels.count) * value / max * 0.9999))]
        }
    }

    /// Whether a CE job holds the model (the text waits for it: one request at a time).
    var modelBusyWithLoss: Bool {
        model.jobs.contains { $0.state == .running && model.modelLossJobs[$0.id] != nil }
    }
}
