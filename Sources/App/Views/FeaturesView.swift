import Foundation
import SAECore
import TUI
import Widgets

/// The feature list: id, density, max, mean and the top exemplar's token and context; with a
/// preview of the selected feature on the right when the terminal is wide.
extension AppController {
    func drawFeatures(into buffer: inout Buffer, rect: Rect) {
        guard let index = model.index else {
            drawIndexing(into: &buffer, rect: rect)
            return
        }
        let wide = rect.width >= 120
        let listRect = wide ? rect.splitLeft(rect.width * 11 / 20).left : rect
        let inner = Panel(title: "Features", info: model.partial.map { "partial: \($0.done)/\($0.of) shards" }, focused: true)
            .draw(into: &buffer, rect: listRect)
        let rows = model.list.rows
        let sortColumn: Int = {
            switch model.list.sort {
            case .id: return 0
            case .density: return 1
            case .max: return 2
            case .mean: return 3
            case .token: return 4
            }
        }()
        let glyphs = buffer.glyphs
        var table = Table(columns: [
            .init("id", width: .fixed(max(5, String(index.featureCount - 1).count + 1)), alignment: .right),
            .init("density", width: .fixed(9), alignment: .right),
            .init("max", width: .fixed(7), alignment: .right),
            .init("mean", width: .fixed(7), alignment: .right),
            .init("top token", width: .fixed(12)),
            .init("top exemplar", width: .flex(weight: 1, min: 6)),
        ] + labelColumns(), rowCount: rows.count) { [self] row, column in
            let j = rows[row]
            switch column {
            case 0: return String(j)
            case 1: return formatDensity(index.density(j))
            case 2: return index.isDead(j) ? "-" : NumberFormat.compact(Double(index.maxActivation(j)))
            case 3: return index.isDead(j) ? "-" : NumberFormat.compact(index.meanActivation(j))
            case 4: return index.isDead(j) ? "" : topTokenText(j, index: index, glyphs: glyphs)
            case 6: return labelCell(j)
            default: return ""  // drawn by alignTopExemplars
            }
        }
        table.sortColumn = sortColumn
        table.sortAscending = model.list.ascending
        table.isMarked = { [marks = model.marks] in marks.contains(rows[$0]) }
        let hits = Set(model.list.searchHits)
        table.cellStyle = { row, column in
            column == 4 && hits.contains(row) ? Style(.accent, [.bold]) : nil
        }
        table.rowStyle = { index.isDead(rows[$0]) ? .fg(.dimText) : nil }
        table.emptyText = "no feature passes the filter (f cycles it; :filter all)"
        table.focused = true
        var state = model.list.table
        alignTopExemplars(&table, column: 5, features: rows, index: index, state: state, rect: inner, buffer: buffer)
        table.draw(into: &buffer, rect: inner, state: &state)
        model.list.table = state
        layout.listRows = table.visibleRows(in: inner)
        layout.listBody = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: max(0, inner.height - 1))

        if wide, let j = model.selectedFeature {
            drawPreview(j, index: index, into: &buffer, rect: rect.splitLeft(listRect.width).rest)
        }
    }

    /// The selected feature at a glance: statistics, histogram, a few top exemplars.
    private func drawPreview(_ j: Int, index: FeatureIndex, into buffer: inout Buffer, rect: Rect) {
        let inner = Panel(title: "Feature \(j)", info: "Enter opens").draw(into: &buffer, rect: rect)
        let stats = statisticsLines(j, index: index)
        TextView(lines: stats, style: .fg(.text)).draw(into: &buffer, rect: Rect(x: inner.x, y: inner.y, width: inner.width, height: stats.count))
        let histogramHeight = min(10, max(5, inner.height / 3))
        let histogramRect = Rect(x: inner.x, y: inner.y + stats.count + 1, width: inner.width, height: histogramHeight)
        if !index.isDead(j) { drawActivationHistogram(j, index: index, into: &buffer, rect: histogramRect) }
        let linesTop = histogramRect.maxY + 1
        drawExemplarLines(exemplarLines(for: j, index: index, includeIntervals: false), maxActivation: index.maxActivation(j), into: &buffer,
                          rect: Rect(x: inner.x, y: linesTop, width: inner.width, height: max(0, inner.maxY - linesTop)))
    }

    /// Before the first shard of a build is merged: the job's progress, and what is already known.
    func drawIndexing(into buffer: inout Buffer, rect: Rect) {
        let inner = Panel(title: "Indexing").draw(into: &buffer, rect: rect)
        var lines = ["Building the feature index over \(session.cachePath ?? "the cache")",
                     "Features appear when the first of \(progressiveSteps) shards is merged; screens refresh as shards complete."]
        if let job = model.jobs.last(where: { $0.kind == "index" }) {
            if case .failed(let text) = job.state { lines.append("failed: \(text)") }
            if job.state == .cancelled { lines.append("cancelled: :reindex starts it again") }
        }
        TextView(lines: lines, style: .fg(.text)).draw(into: &buffer, rect: inner)
        if let job = model.jobs.last(where: { $0.kind == "index" && $0.state == .running }) {
            ProgressBar(fraction: job.fraction, label: "index", detail: job.detail)
                .draw(into: &buffer, rect: Rect(x: inner.x, y: inner.y + lines.count + 1, width: inner.width, height: 1))
        }
    }
}
