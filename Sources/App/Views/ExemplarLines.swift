import SAECore
import TUI
import Widgets

/// One line of the exemplar pane: a heading (an interval's range and share), an exemplar (its
/// activation and its context, shaded by the feature's activation per token), a note, or a row
/// of the table of the distinct tokens the top exemplars fired on.
enum ExemplarLine {
    case heading(String)
    case exemplar(Exemplar)
    case note(String)
    case tokenCount(token: Int32, count: Int, of: Int)
}

extension AppController {
    /// Rows of the distinct-top-tokens table shown; the rest are counted in a note.
    static let topTokenRows = 10

    /// The detail screen's exemplar pane: top exemplars, the distinct tokens they fired on, then
    /// the interval samples by bin (highest first).
    func exemplarLines(for j: Int, index: FeatureIndex, includeIntervals: Bool = true) -> [ExemplarLine] {
        var lines: [ExemplarLine] = []
        let top = index.topExemplars(j)
        lines.append(.heading("Top \(top.count) exemplars"))
        if top.isEmpty { lines.append(.note("this feature never fired on the indexed tokens")) }
        lines += top.map { .exemplar($0) }
        guard includeIntervals, !top.isEmpty else { return lines }
        let counts = Self.distinctTopTokens(j, index: index)
        lines.append(.heading("Distinct top tokens: \(counts.count) in the top \(top.count)"))
        lines += counts.prefix(Self.topTokenRows).map { .tokenCount(token: $0.token, count: $0.count, of: top.count) }
        if counts.count > Self.topTokenRows {
            let rest = counts.dropFirst(Self.topTokenRows)
            lines.append(.note("        and \(rest.count) more (\(rest.reduce(0) { $0 + $1.count }) exemplars)"))
        }
        for interval in index.intervalExemplars(j).reversed() where !interval.exemplars.isEmpty {
            lines.append(.heading(String(format: "Interval [%@, %@)  %@ of activations",
                                         NumberFormat.compact(Double(interval.lower)), NumberFormat.compact(Double(interval.upper)),
                                         sharePercent(interval.share))))
            lines += interval.exemplars.map { .exemplar($0) }
        }
        return lines
    }

    /// The tokens feature `j`'s top exemplars fired on, most frequent first (ties: the higher
    /// exemplar's token first), with how many exemplars each.
    static func distinctTopTokens(_ j: Int, index: FeatureIndex) -> [(token: Int32, count: Int)] {
        var order: [Int32] = [], counts: [Int32: Int] = [:]
        for rank in 0..<index.topExemplarCount(j) {
            let token = index.topActivatingToken(j, rank: rank)
            if counts[token] == nil { order.append(token) }
            counts[token, default: 0] += 1
        }
        return order.enumerated().sorted { a, b in
            let (ca, cb) = (counts[a.element]!, counts[b.element]!)
            return ca != cb ? ca > cb : a.offset < b.offset
        }.map { ($0.element, counts[$0.element]!) }
    }

    /// One decimal below 10%: the top intervals usually hold a fraction of a percent.
    private func sharePercent(_ share: Double) -> String {
        String(format: share < 0.1 ? "%.1f%%" : "%.0f%%", share * 100)
    }

    /// Draws `lines` from `scroll`, one per row of `rect`, every exemplar's firing token at the
    /// same column: the anchor comes from all of the lines, so scrolling does not shift them.
    /// The `selected` line (the detail screen's exemplar cursor) gets a pointer and a reversed value.
    func drawExemplarLines(_ lines: [ExemplarLine], scroll: Int = 0, selected: Int? = nil, maxActivation: Float,
                           into buffer: inout Buffer, rect: Rect) {
        let stripWidth = max(0, rect.width - 8)
        let strips: [TokenStrip?] = lines.map { line in
            if case .exemplar(let e) = line { return tokenStrip(e, maxActivation: maxActivation) }
            return nil
        }
        let anchor = Self.exemplarAnchor(leftWidths: strips.compactMap { $0?.leftWidth(glyphs: buffer.glyphs, monochrome: buffer.monochrome) },
                                         width: stripWidth)
        for row in 0..<rect.height where scroll + row < lines.count {
            let r = Rect(x: rect.x, y: rect.y + row, width: rect.width, height: 1)
            if var strip = strips[scroll + row], case .exemplar(let exemplar) = lines[scroll + row] {
                let value = Text.fit(NumberFormat.compact(Double(exemplar.value)), width: 7, alignment: .right)
                if scroll + row == selected {
                    _ = buffer.put(value, at: Point(x: r.x, y: r.y), style: Style(.accent, [.bold, .reverse]), clip: r)
                    _ = buffer.put(buffer.glyphs.pointer, at: Point(x: r.x, y: r.y), style: Style(.accent, [.bold]), clip: r)
                } else {
                    _ = buffer.put(value, at: Point(x: r.x, y: r.y), style: .fg(.accent), clip: r)
                }
                strip.anchor = anchor
                strip.draw(into: &buffer, rect: Rect(x: r.x + 8, y: r.y, width: stripWidth, height: 1))
            } else {
                draw(lines[scroll + row], into: &buffer, rect: r)
            }
        }
    }

    /// A line that is not an exemplar.
    private func draw(_ line: ExemplarLine, into buffer: inout Buffer, rect: Rect) {
        switch line {
        case .heading(let text):
            _ = buffer.put(text, at: Point(x: rect.x, y: rect.y), style: Style(.title, [.bold]), clip: rect)
        case .note(let text):
            _ = buffer.put(text, at: Point(x: rect.x, y: rect.y), style: .fg(.dimText), clip: rect)
        case .tokenCount(let token, let count, let of):
            _ = buffer.put(Text.fit(String(count), width: 7, alignment: .right), at: Point(x: rect.x, y: rect.y), style: .fg(.accent), clip: rect)
            let text = Text.fit(Text.visible(session.tokenText(token), glyphs: buffer.glyphs).trimmingCharacters(in: .whitespaces),
                                width: 16, alignment: .left, ellipsis: buffer.glyphs.ellipsis)
            let x = buffer.put(text, at: Point(x: rect.x + 8, y: rect.y), style: Style(.text, [.bold]), clip: rect)
            let share = Double(count) / Double(max(1, of))
            let bar = String(repeating: buffer.glyphs.barFull, count: max(1, Int((share * 10).rounded())))
            _ = buffer.put(" " + bar + " " + NumberFormat.percent(share), at: Point(x: x, y: rect.y), style: .fg(.dimText), clip: rect)
        case .exemplar:
            break
        }
    }

    /// The column of an exemplar strip `width` wide where firing tokens start: after the longest
    /// left context shown, but at most half the width, so the right context keeps as much room.
    static func exemplarAnchor(leftWidths: [Int], width: Int) -> Int {
        min(leftWidths.max() ?? 0, width / 2)
    }

    /// The exemplar's context as a token strip: positions outside the sequence are dropped, each
    /// token shaded by its own activation of this feature relative to the feature's maximum.
    func tokenStrip(_ exemplar: Exemplar, maxActivation: Float) -> TokenStrip {
        let centre = exemplar.contextTokens.count / 2
        var tokens: [String] = [], activations: [Double] = []
        var highlight: Int?
        for (p, id) in exemplar.contextTokens.enumerated() where id >= 0 {
            if p == centre { highlight = tokens.count }
            tokens.append(session.tokenText(id))
            let a = p < exemplar.contextActivations.count ? exemplar.contextActivations[p] : 0
            activations.append(maxActivation > 0 ? Double(max(0, a) / maxActivation) : 0)
        }
        return TokenStrip(tokens: tokens, activations: activations, highlight: highlight)
    }

    /// The activating token of a feature's top exemplar, trimmed; "(dead)" when it never fired.
    func topTokenText(_ j: Int, index: FeatureIndex, glyphs: Glyphs) -> String {
        guard index.topExemplarCount(j) > 0 else { return "(dead)" }
        return Text.visible(session.tokenText(index.topActivatingToken(j, rank: 0)), glyphs: glyphs).trimmingCharacters(in: .whitespaces)
    }

    /// A feature's top exemplar for a list row: its context with the firing token highlighted,
    /// unshaded (a list is read down the firing tokens); nil when it never fired.
    func topExemplarStrip(_ j: Int, index: FeatureIndex) -> TokenStrip? {
        guard index.topExemplarCount(j) > 0 else { return nil }
        let exemplar = index.topExemplar(j, rank: 0)
        let centre = exemplar.contextTokens.count / 2
        var tokens: [String] = [], highlight: Int?
        for (p, id) in exemplar.contextTokens.enumerated() where id >= 0 {
            if p == centre { highlight = tokens.count }
            tokens.append(session.tokenText(id))
        }
        return TokenStrip(tokens: tokens, highlight: highlight)
    }

    /// Makes `table`'s `column` show the top exemplar of `features[row]`, aligned on the firing
    /// tokens of the rows the table will show (as many of their left contexts as fit in half the
    /// column). Call once the table's other settings are made; `state` is the one it draws with.
    func alignTopExemplars(_ table: inout Table, column: Int, features: [Int], index: FeatureIndex, state: TableState,
                           rect: Rect, buffer: Buffer) {
        let frames = table.columnFrames(in: rect)
        guard column < frames.count else { return }
        let visibleRows = table.visibleRows(in: rect)
        var shown = state
        shown.scrollToSelection(visibleRows: visibleRows, rowCount: features.count)
        let range = shown.offset..<min(features.count, shown.offset + visibleRows)
        var strips: [Int: TokenStrip] = [:]
        for row in range { strips[row] = topExemplarStrip(features[row], index: index) }
        let anchor = Self.exemplarAnchor(leftWidths: strips.values.map { $0.leftWidth(glyphs: buffer.glyphs, monochrome: buffer.monochrome) },
                                         width: frames[column].width)
        table.drawCell = { row, c, rect, buffer in
            guard c == column else { return false }
            if var strip = strips[row] {
                strip.anchor = anchor
                strip.draw(into: &buffer, rect: rect)
            }
            return true
        }
    }

    /// Density, max, mean, count, and the histogram's range.
    func statisticsLines(_ j: Int, index: FeatureIndex) -> [String] {
        let count = index.tables.count[j]
        return [
            "feature   \(j)" + (model.marks.contains(j) ? "  (marked)" : ""),
            "density   \(formatDensity(index.density(j)))  (\(NumberFormat.count(Int(count))) of \(NumberFormat.count(index.tokenCount)) tokens)",
            "max       \(NumberFormat.compact(Double(index.maxActivation(j))))",
            "mean      \(NumberFormat.compact(index.meanActivation(j)))  (over nonzero)",
        ]
    }
    /// The activation histogram: eighth-block bars over [0, upper edge), labelled axes.
    func drawActivationHistogram(_ j: Int, index: FeatureIndex, into buffer: inout Buffer, rect: Rect) {
        let (counts, upper) = index.histogram(j)
        let bins = counts.count
        // Bins past the maximum are empty by construction (the range is a power of two): cut them.
        let used = max(1, min(bins, Int((Double(index.maxActivation(j)) / Double(max(upper, 1e-30)) * Double(bins)).rounded(.up))))
        let edges = (0...used).map { Double(upper) * Double($0) / Double(bins) }
        var histogram = Histogram(counts: counts.prefix(used).map { Double($0) }, edges: edges,
                                  title: "Activations (nonzero)", logScale: false)
        histogram.info = "n = \(NumberFormat.count(Int(index.tables.count[j])))"
        histogram.draw(into: &buffer, rect: rect)
    }
}
