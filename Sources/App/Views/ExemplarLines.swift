import SAECore
import TUI
import Widgets

/// One line of the exemplar pane: either a heading (an interval's range and share) or an
/// exemplar (its activation and its context, shaded by the feature's activation per token).
enum ExemplarLine {
    case heading(String)
    case exemplar(Exemplar)
    case note(String)
}

extension AppController {
    /// The detail screen's exemplar pane: top exemplars, then the interval samples by bin (highest first).
    func exemplarLines(for j: Int, index: FeatureIndex, includeIntervals: Bool = true) -> [ExemplarLine] {
        var lines: [ExemplarLine] = []
        let top = index.topExemplars(j)
        lines.append(.heading("Top \(top.count) exemplars"))
        if top.isEmpty { lines.append(.note("this feature never fired on the indexed tokens")) }
        lines += top.map { .exemplar($0) }
        guard includeIntervals, !top.isEmpty else { return lines }
        for interval in index.intervalExemplars(j).reversed() where !interval.exemplars.isEmpty {
            lines.append(.heading(String(format: "Interval [%@, %@)  %@ of activations",
                                         NumberFormat.compact(Double(interval.lower)), NumberFormat.compact(Double(interval.upper)),
                                         sharePercent(interval.share))))
            lines += interval.exemplars.map { .exemplar($0) }
        }
        return lines
    }

    /// One decimal below 10%: the top intervals usually hold a fraction of a percent.
    private func sharePercent(_ share: Double) -> String {
        String(format: share < 0.1 ? "%.1f%%" : "%.0f%%", share * 100)
    }

    func draw(_ line: ExemplarLine, maxActivation: Float, into buffer: inout Buffer, rect: Rect) {
        switch line {
        case .heading(let text):
            _ = buffer.put(text, at: Point(x: rect.x, y: rect.y), style: Style(.title, [.bold]), clip: rect)
        case .note(let text):
            _ = buffer.put(text, at: Point(x: rect.x, y: rect.y), style: .fg(.dimText), clip: rect)
        case .exemplar(let exemplar):
            let value = Text.fit(NumberFormat.compact(Double(exemplar.value)), width: 7, alignment: .right)
            _ = buffer.put(value, at: Point(x: rect.x, y: rect.y), style: .fg(.accent), clip: rect)
            let strip = tokenStrip(exemplar, maxActivation: maxActivation)
            strip.draw(into: &buffer, rect: Rect(x: rect.x + 8, y: rect.y, width: max(0, rect.width - 8), height: 1))
        }
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

    /// A feature's top exemplar as one line of plain text (list rows); "" when it never fired.
    func topExemplarText(_ j: Int, index: FeatureIndex, glyphs: Glyphs) -> String {
        guard index.topExemplarCount(j) > 0 else { return "" }
        let tokens = index.topExemplar(j, rank: 0).contextTokens.filter { $0 >= 0 }
        return Text.visible(tokens.map { session.tokenText($0) }.joined().trimmingCharacters(in: .whitespaces), glyphs: glyphs)
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
