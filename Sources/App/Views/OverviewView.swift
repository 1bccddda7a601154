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
        // Room for the map beside the metrics, density and settings; otherwise the focused map
        // gets the whole screen (a plot a few rows high shows no clusters).
        let wide = rect.width >= 120 && rect.height >= 40
        if !wide && model.overview.pane == .map {
            drawDictionaryMap(index, into: &buffer, rect: rect)
            return
        }
        let (left, right) = rect.splitLeft(rect.width / 2)
        drawOverviewMetrics(index, into: &buffer, rect: left)

        let settingsLines = indexSettingsLines(index, glyphs: buffer.glyphs) + [reviewedLine()]
        var (upper, settingsRect) = right.splitBottom(min(right.height / 2, settingsLines.count + 2))
        if wide {
            let (mapRect, densityRect) = upper.splitTop(upper.height * 3 / 5)
            drawDictionaryMap(index, into: &buffer, rect: mapRect)
            upper = densityRect
        }
        // The CE panel first (a model attached: its state is news), then the position panel;
        // the density histogram keeps what is left.
        let (densityRest, lossRect) = upper.splitBottom(modelLossPanelHeight(outOf: upper.height))
        drawModelLossPanel(into: &buffer, rect: lossRect)
        upper = densityRest
        let (densityArea, positionRect) = upper.splitBottom(Self.positionPanelHeight(available: upper.height))
        drawPositionPanel(into: &buffer, rect: positionRect, index: index)
        upper = densityArea
        let densities = (0..<index.featureCount).map { index.density($0) }
        var histogram = DensityHistogram(densities: densities, bins: max(10, min(40, upper.width - 12)), title: "log10 feature density")
        // With min-act, densities count activations at or above it: a feature at 0 never reached
        // it, which is not what "dead" (and the metrics' fraction alive) means.
        if index.options.minActivation > 0 {
            histogram.title = "log10 density of activations >= \(NumberFormat.compact(Double(index.options.minActivation))) (min-act)"
            histogram.zeroLabel = "never"
        }
        histogram.draw(into: &buffer, rect: Panel(title: "Density", info: wide ? nil : "Tab map").draw(into: &buffer, rect: upper))
        let settingsInner = Panel(title: "Index", info: "r re-indexes").draw(into: &buffer, rect: settingsRect)
        TextView(lines: settingsLines, style: .fg(.text)).draw(into: &buffer, rect: settingsInner)
    }

    /// The metrics table (eval's, the two shrinkage measures, SAEBench's core metrics) and the
    /// selected row's definition below it.
    private func drawOverviewMetrics(_ index: FeatureIndex, into buffer: inout Buffer, rect: Rect) {
        let rows = overviewMetricRows()
        let metricsPanel = Panel(title: "Metrics" + (model.partial != nil ? " (partial)" : ""),
                                 info: "\(NumberFormat.count(index.tokenCount)) tokens", focused: model.overview.pane == .metrics)
        let definitionHeight = model.showDefinitions ? min(6, max(3, rect.height / 3)) : 0
        let (metricsRect, definitionRect) = rect.splitBottom(definitionHeight)
        let inner = metricsPanel.draw(into: &buffer, rect: metricsRect)
        let ellipsis = buffer.glyphs.ellipsis
        var table = Table(columns: [
            .init("metric", width: .flex(weight: 2, min: 10)),
            .init("value", width: .fixed(12), alignment: .right),
        ], rowCount: rows.count) { row, column in
            guard column == 1 else { return rows[row].label }
            switch rows[row].value {
            // Six significant digits, as `saescope eval` prints: metrics are compared across runs.
            case .number(let value): return String(format: "%.6g", value)
            case .computing: return "computing\(ellipsis)"
            case .unavailable: return "n/a"
            }
        }
        table.focused = model.overview.pane == .metrics
        var state = TableState(selected: model.overviewSelection)
        table.draw(into: &buffer, rect: inner, state: &state)
        if model.showDefinitions, !definitionRect.isEmpty, !rows.isEmpty {
            let selected = rows[min(model.overviewSelection, rows.count - 1)]
            let definitionInner = Panel(title: selected.label, info: "Enter hides").draw(into: &buffer, rect: definitionRect)
            TextView(lines: Text.wrap(selected.definition, columns: max(1, definitionInner.width)), style: .fg(.text))
                .draw(into: &buffer, rect: definitionInner)
        }
    }

    /// The dictionary map: every feature by log10 density and the chosen figure, the cursor's
    /// feature described on the last line.
    private func drawDictionaryMap(_ index: FeatureIndex, into buffer: inout Buffer, rect: Rect) {
        let o = model.overview
        let g = buffer.glyphs
        let inner = Panel(title: "Map: \(o.figure.label)", info: o.pane == .map ? "f figure \(g.separator) Enter opens" : "Tab focuses",
                          focused: o.pane == .map).draw(into: &buffer, rect: rect)
        guard inner.height > 0 else { return }
        guard let points = mapPoints() else {
            drawPending(pendingText("the weight cosines", job: o.weightsJob, ellipsis: g.ellipsis), into: &buffer, rect: inner)
            return
        }
        let selected = o.pane == .map ? (o.mapFeature ?? points.largest) : nil
        let (plotRect, captionRow) = inner.splitBottom(inner.height >= 8 ? 1 : 0)
        var map = FeatureMap(points: points.points, figureLabel: o.figure.label, selected: selected)
        if index.options.minActivation > 0 { map.deadLabel = "never" }
        map.draw(into: &buffer, rect: plotRect)
        guard !captionRow.isEmpty else { return }
        let caption: String
        if let j = selected {
            let figure = points.points[j].figure
            caption = "\(g.pointer) #\(j) \(g.separator) density \(NumberFormat.compact(index.density(j))) \(g.separator) "
                + "\(o.figure.label) \(NumberFormat.compact(figure)) \(g.separator) top token \(topTokenText(j, index: index, glyphs: g))"
        } else {
            caption = "Tab, then arrows or h/j/k/l move to the nearest feature that way"
        }
        buffer.put(Text.truncate(caption, columns: captionRow.width, ellipsis: g.ellipsis), at: Point(x: captionRow.x, y: captionRow.y),
                   style: .fg(.text), clip: captionRow)
    }

    private func indexSettingsLines(_ index: FeatureIndex, glyphs: Glyphs) -> [String] {
        let plusMinus = glyphs.isUnicode ? "±" : "+-", times = glyphs.isUnicode ? "×" : "x"
        let o = index.options
        let p = index.provenance
        var lines = [
            "top-k \(o.topK) \(glyphs.separator) context \(plusMinus)\(o.context) \(glyphs.separator) intervals \(o.intervals)\(times)\(o.perInterval) \(glyphs.separator) bins \(o.bins)",
            "min-act \(NumberFormat.compact(Double(o.minActivation))) \(glyphs.separator) rows \(NumberFormat.count(p.firstRow))..<\(NumberFormat.count(p.endRow)) \(glyphs.separator) seed \(o.seed)",
            "shards \(p.shards.count)/\(p.shardCount)" + (model.partial != nil ? " (building)" : ""),
            index.rowCoverage.excluded.map { "special tokens excluded: \(NumberFormat.count($0)) rows (\(index.rowCoverage.excludedIDs ?? ""))" }
                ?? "special tokens included",
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
