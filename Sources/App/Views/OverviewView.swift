import SAECore
import TUI
import Widgets

/// The dictionary as a whole: the metrics of `saescope eval` from the index pass, each with its
/// definition on demand; the histogram of log10 feature density with dead features apart; and
/// the index's settings and provenance.
extension AppController {
    func drawOverview(into buffer: inout Buffer, rect: Rect) {
        guard let index = model.index else {
            drawIndexing(into: &buffer, rect: rect)
            return
        }
        let (left, right) = rect.splitLeft(rect.width / 2)
        let metrics = index.metrics.result()
        let definitions = overviewRows(metrics)
        let metricsPanel = Panel(title: "Metrics" + (model.partial != nil ? " (partial)" : ""),
                                 info: "\(NumberFormat.count(metrics.tokenCount)) tokens", focused: true)
        let definitionHeight = model.showDefinitions ? min(6, max(3, left.height / 3)) : 0
        let (metricsRect, definitionRect) = left.splitBottom(definitionHeight)
        let inner = metricsPanel.draw(into: &buffer, rect: metricsRect)
        var table = Table(columns: [
            .init("metric", width: .flex(weight: 2, min: 10)),
            .init("value", width: .fixed(12), alignment: .right),
        ], rowCount: definitions.count) { row, column in
            column == 0 ? definitions[row].label : definitions[row].value
        }
        table.focused = true
        var state = TableState(selected: model.overviewSelection)
        table.draw(into: &buffer, rect: inner, state: &state)
        if model.showDefinitions, !definitionRect.isEmpty {
            let selected = definitions[min(model.overviewSelection, definitions.count - 1)]
            let definitionInner = Panel(title: selected.label, info: "Enter hides").draw(into: &buffer, rect: definitionRect)
            TextView(lines: Text.wrap(selected.definition, columns: max(1, definitionInner.width)), style: .fg(.text))
                .draw(into: &buffer, rect: definitionInner)
        }

        let settingsLines = indexSettingsLines(index, glyphs: buffer.glyphs)
        let (upper, settingsRect) = right.splitBottom(min(right.height / 2, settingsLines.count + 2))
        // The CE panel between the density and the index settings; the histogram keeps 5 rows.
        let (densityRect, lossRect) = upper.splitBottom(modelLossPanelHeight(outOf: upper.height))
        drawModelLossPanel(into: &buffer, rect: lossRect)
        let densities = (0..<index.featureCount).map { index.density($0) }
        var histogram = DensityHistogram(densities: densities, bins: max(10, min(40, densityRect.width - 12)), title: "log10 feature density")
        // With min-act, densities count activations at or above it: a feature at 0 never reached
        // it, which is not what "dead" (and the metrics' fraction alive) means.
        if index.options.minActivation > 0 {
            histogram.title = "log10 density of activations >= \(NumberFormat.compact(Double(index.options.minActivation))) (min-act)"
            histogram.zeroLabel = "never"
        }
        histogram.draw(into: &buffer, rect: Panel(title: "Density").draw(into: &buffer, rect: densityRect))
        let settingsInner = Panel(title: "Index", info: "r re-indexes").draw(into: &buffer, rect: settingsRect)
        TextView(lines: settingsLines, style: .fg(.text)).draw(into: &buffer, rect: settingsInner)
    }

    private func indexSettingsLines(_ index: FeatureIndex, glyphs: Glyphs) -> [String] {
        let plusMinus = glyphs.isUnicode ? "±" : "+-", times = glyphs.isUnicode ? "×" : "x"
        let o = index.options
        let p = index.provenance
        var lines = [
            "top-k \(o.topK) \(glyphs.separator) context \(plusMinus)\(o.context) \(glyphs.separator) intervals \(o.intervals)\(times)\(o.perInterval) \(glyphs.separator) bins \(o.bins)",
            "min-act \(NumberFormat.compact(Double(o.minActivation))) \(glyphs.separator) rows \(NumberFormat.count(p.firstRow))..<\(NumberFormat.count(p.endRow)) \(glyphs.separator) seed \(o.seed)",
            "shards \(p.shards.count)/\(p.shardCount)" + (model.partial != nil ? " (building)" : ""),
            "cache \(p.cachePath)",
            "file  \(model.indexPath ?? (model.partial != nil ? "(saved when complete)" : "(not saved)"))",
        ]
        let zero = (0..<index.featureCount).filter { index.isDead($0) }.count
        if o.minActivation > 0 {
            // Densities and the histogram are thresholded; "fraction alive" (metrics) is not: say both.
            let alive = Int((index.metrics.result().fracAlive * Double(index.featureCount)).rounded())
            lines.insert("\(NumberFormat.count(index.featureCount - zero)) reach min-act \(glyphs.separator) \(NumberFormat.count(zero)) never do"
                         + " \(glyphs.separator) \(NumberFormat.count(alive)) alive (any activation)", at: 0)
        } else {
            lines.insert("\(NumberFormat.count(index.featureCount - zero)) alive \(glyphs.separator) \(NumberFormat.count(zero)) dead", at: 0)
        }
        return lines
    }
}
