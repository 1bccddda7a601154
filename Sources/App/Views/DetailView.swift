import Foundation
import SAECore
import TUI
import Widgets

/// One feature: exemplars (top, then interval samples by bin) on the left; statistics, decoder
/// neighbours (each one digit key away) and the activation histogram on the right.
extension AppController {
    func drawDetail(into buffer: inout Buffer, rect: Rect) {
        guard let index = model.index else {
            drawIndexing(into: &buffer, rect: rect)
            return
        }
        let j = model.detail.feature
        let rightWidth = min(56, max(30, rect.width * 2 / 5))
        let (left, right) = rect.splitRight(rightWidth)
        let title = "Feature \(j)" + (model.marks.contains(j) ? " " + buffer.glyphs.mark : "")
        let pane = Panel(title: title, info: model.partial.map { "partial: \($0.done)/\($0.of) shards" } ?? "exemplars", focused: true)
            .draw(into: &buffer, rect: left)
        let lines = exemplarLines(for: j, index: index)
        layout.exemplarRows = pane.height
        layout.exemplarLines = lines.count
        // The exemplar under the cursor stays in view (the pane may have shrunk since it moved).
        let selected = Self.selectedExemplar(cursor: model.detail.exemplar, lines: lines)
        let scroll = selected.map { Self.scroll(keeping: $0.line, from: model.detail.scroll, rows: max(1, pane.height), lineCount: lines.count) }
            ?? min(model.detail.scroll, max(0, lines.count - pane.height))
        drawExemplarLines(lines, scroll: scroll, selected: selected?.line, maxActivation: index.maxActivation(j), into: &buffer, rect: pane)

        // Right column: statistics and neighbours, then the histogram in what is left.
        let stats = statisticsLines(j, index: index) + labelLines(j)
        // Nine neighbours when there is room; fewer on short terminals so the histogram still shows.
        let neighbourCount = min(9, max(0, session.sae.featureCount - 1), max(3, right.height - 16))
        let topHeight = stats.count + 2 + neighbourCount + 1
        let (statsRect, belowStats) = right.splitTop(min(right.height, topHeight + 2))
        let inner = Panel(title: "Statistics").draw(into: &buffer, rect: statsRect)
        TextView(lines: stats, style: .fg(.text)).draw(into: &buffer, rect: inner)
        var y = inner.y + stats.count + 1
        _ = buffer.put("Decoder neighbours (cosine)", at: Point(x: inner.x, y: y), style: Style(.title, [.bold]), clip: inner)
        y += 1
        layout.neighbourRows = []
        layout.neighbourColumn = inner
        for (n, neighbour) in nearestNeighbours(of: j).prefix(neighbourCount).enumerated() where y < inner.maxY {
            let token = topTokenText(neighbour.feature, index: index, glyphs: buffer.glyphs)
            let x = buffer.put("\(n + 1) ", at: Point(x: inner.x, y: y), style: Style(.accent, [.bold]), clip: inner)
            _ = buffer.put("#\(neighbour.feature)  \(String(format: "%+.3f", neighbour.cosine))  \(token)",
                           at: Point(x: x, y: y), style: .fg(.text), clip: inner)
            layout.neighbourRows.append(y)
            y += 1
        }
        // What the best of this many random directions would reach: a neighbour below it is noise.
        if y < inner.maxY {
            _ = buffer.put(ChanceLevel.caption(dimension: session.sae.outputDimension, count: max(1, rankedFeatureCount() - 1)),
                           at: Point(x: inner.x, y: y), style: .fg(.dimText), clip: inner)
        }
        // Logit effects (with --unembed) between the statistics and the histogram, when they fit.
        var histogramRect = belowStats
        if let lines = logitLines(for: j, width: right.width - 2), histogramRect.height >= lines.count + 3 {
            let (logitRect, rest) = histogramRect.splitTop(min(histogramRect.height, lines.count + 3))
            let logitInner = Panel(title: "Logit effects", info: "promoted | suppressed").draw(into: &buffer, rect: logitRect)
            TextView(lines: lines, style: .fg(.text)).draw(into: &buffer, rect: logitInner)
            histogramRect = rest
        }
        if histogramRect.height >= 5 {
            let histogramInner = Panel(title: "Histogram").draw(into: &buffer, rect: histogramRect)
            if index.isDead(j) {
                _ = buffer.put("no activations", at: Point(x: histogramInner.x, y: histogramInner.y), style: .fg(.dimText), clip: histogramInner)
            } else {
                drawActivationHistogram(j, index: index, into: &buffer, rect: histogramInner)
            }
        }
    }
}
