import SAECore
import TUI
import Widgets

/// One of B's features at full size, opened with Enter on a match: its exemplars (top, then the
/// interval samples) on the left; its figures, its best matches back in A and its activation
/// histogram on the right. Drawn from B's own index, so the browser's session stays on A.
extension AppController {
    func drawComparedFeature(_ k: Int, into buffer: inout Buffer, rect: Rect) {
        guard let state = model.comparison else { return }
        let rightWidth = min(56, max(30, rect.width * 2 / 5))
        let (left, right) = rect.splitRight(rightWidth)
        let pane = Panel(title: "B \(state.other.name) \(buffer.glyphs.separator) Feature \(k)" + labelSuffix(k, of: model.comparedLabels),
                         info: state.partial.map { "partial: \($0.done)/\($0.of) shards" } ?? "q: back",
                         focused: true).draw(into: &buffer, rect: left)
        if let index = state.index {
            let lines = exemplarLines(for: k, index: index)
            model.comparison?.view.zoomPage = pane.height
            let selected = Self.selectedExemplar(cursor: state.view.zoomExemplar, lines: lines)
            let scroll = selected.map { Self.scroll(keeping: $0.line, from: state.view.zoomScroll, rows: max(1, pane.height), lineCount: lines.count) }
                ?? min(state.view.zoomScroll, max(0, lines.count - pane.height))
            drawExemplarLines(lines, scroll: scroll, selected: selected?.line, maxActivation: index.maxActivation(k), into: &buffer, rect: pane)
        } else {
            _ = buffer.put("B: " + indexStatus(of: state, glyphs: buffer.glyphs), at: Point(x: pane.x, y: pane.y), style: .fg(.dimText), clip: pane)
        }

        var lines: [(text: String, style: Style)] = []
        if let index = state.index {
            let count = index.tables.count[k]
            lines += [
                ("feature   \(k) of B (F=\(NumberFormat.count(index.featureCount)))", .fg(.text)),
                ("density   \(formatDensity(index.density(k)))  (\(NumberFormat.count(Int(count))) of \(NumberFormat.count(index.tokenCount)) tokens)", .fg(.text)),
                ("max       \(NumberFormat.compact(Double(index.maxActivation(k))))", .fg(.text)),
                ("mean      \(NumberFormat.compact(index.meanActivation(k)))  (over nonzero)", .fg(.text)),
            ]
        }
        if let result = state.result {
            lines.append(("", .plain))
            lines.append(("Matches in A \(session.name) (cosine)", Style(.title, [.bold])))
            let partner = result.assignment.pairs.first { $0.b == k }
            let idWidth = String(result.a.featureCount - 1).count
            for match in result.matching.bToA.matches(k, limit: result.options.top) {
                let token = (model.index.map { "  " + topTokenText(match.feature, index: $0, glyphs: buffer.glyphs) } ?? "") + labelSuffix(match.feature)
                lines.append(("\(match.feature == partner?.a ? buffer.glyphs.mark : " ") A #" + Text.fit(String(match.feature), width: idWidth)
                              + "  " + NumberFormat.fixed(Double(match.cosine), decimals: 3) + token, .fg(.text)))
            }
            if let partner {
                lines.append(("one-to-one with A #\(partner.a), cosine " + NumberFormat.fixed(Double(partner.cosine), decimals: 3), .fg(.dimText)))
            } else {
                lines.append(("no one-to-one partner in A", .fg(.dimText)))
            }
        }
        let (statsRect, histogramRect) = right.splitTop(min(right.height, lines.count + 2))
        TextView(styledLines: lines).draw(into: &buffer, rect: Panel(title: "Statistics").draw(into: &buffer, rect: statsRect))
        if let index = state.index, !histogramRect.isEmpty {
            let inner = Panel(title: "Histogram").draw(into: &buffer, rect: histogramRect)
            if index.isDead(k) {
                _ = buffer.put("no activations", at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
            } else {
                drawActivationHistogram(k, index: index, into: &buffer, rect: inner)
            }
        }
    }
}
