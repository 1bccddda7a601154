import Foundation
import SAECore
import TUI
import Widgets

/// The compare screen: on top, both dictionaries' metrics over the same tokens and the decoder
/// matching's summary (threshold counts, the one-to-one assignment, the best-match histogram);
/// below, a split view: A's features in match order with the selected one's top exemplars on
/// the left, its best matches in B with the selected match's top exemplars on the right.
extension AppController {
    func drawCompare(into buffer: inout Buffer, rect: Rect) {
        guard let state = model.comparison else {
            let inner = Panel(title: "Compare").draw(into: &buffer, rect: rect)
            TextView(lines: ["No second dictionary: saescope open --sae A --acts X --sae2 B"], style: .fg(.dimText))
                .draw(into: &buffer, rect: inner)
            return
        }
        if let feature = state.view.zoomed {
            drawComparedFeature(feature, into: &buffer, rect: rect)
            return
        }
        refreshAgreement()
        // One more line for the attached model's state under the metrics.
        let (band, split) = rect.splitTop((rect.height >= 30 ? 14 : 7) + (showsModelLoss ? 1 : 0))
        // Every metric column when there is room for them and a readable summary beside.
        let metricsWidth = band.width >= Self.fullMetricsWidth + 50 ? Self.fullMetricsWidth : band.width / 2
        let (metricsRect, matchingRect) = band.splitLeft(metricsWidth)
        drawCompareMetrics(state, into: &buffer, rect: metricsRect)
        drawMatchingSummary(state, into: &buffer, rect: matchingRect)
        let (left, right) = split.splitLeft(split.width / 2)
        drawCompareList(state, into: &buffer, rect: left)
        drawCompareMatches(state, into: &buffer, rect: right)
    }

    /// Metric columns in the order they are dropped last when the panel is narrow; the CE
    /// columns (eval --model's keys) only with a model attached.
    private static let metricPriority = ["l0", "explained_variance", "mse", "frac_alive", "cos_sim", "fvu",
                                         "explained_variance_dictionary_learning", "l1", "relative_reconstruction_bias", "l2_ratio"]
    private static let modelLossPriority = ["l0", "explained_variance", "loss_recovered", "mse", "ce_with_sae", "kl_with_sae", "frac_alive",
                                            "ce_clean", "cos_sim", "kl_score", "fvu", "explained_variance_dictionary_learning", "l1",
                                            "relative_reconstruction_bias", "l2_ratio"]
    private static let modelLossShortLabels = ["loss_recovered": "loss rec", "ce_with_sae": "CE SAE", "kl_with_sae": "KL SAE",
                                               "ce_clean": "CE clean", "kl_score": "KL score"]
    private static let metricColumn = 9
    private static let fullMetricsWidth = 2 + 2 + metricColumn * metricPriority.count

    /// A column of the compare metrics: its header and each side's cell.
    private struct CompareColumn {
        var key: String
        var header: String
        var cell: (_ metrics: DictionaryMetrics?, _ loss: ModelLossSide) -> String
    }

    private func compareColumns(fitting: Int) -> [CompareColumn] {
        let withModel = showsModelLoss
        let chosen = Set((withModel ? Self.modelLossPriority : Self.metricPriority).prefix(fitting))
        var columns = MetricDefinition.all.filter { chosen.contains($0.key) }.map { definition in
            CompareColumn(key: definition.key, header: definition.shortLabel) { metrics, _ in
                metrics.map { NumberFormat.metric(definition.value($0)) } ?? "-"
            }
        }
        guard withModel else { return columns }
        for definition in ModelLossDefinition.all where chosen.contains(definition.key) {
            columns.append(CompareColumn(key: definition.key, header: Self.modelLossShortLabels[definition.key] ?? definition.key) { [self] _, side in
                if let loss = model.modelLoss[side]?.metrics { return NumberFormat.fixed(definition.value(loss), decimals: 3) }
                return modelLossPending(side) ? "\u{2026}" : "-"
            })
        }
        return columns
    }

    /// Rows A and B, a column per metric, each from its index's pass over the cache; the lines
    /// below say what each row is and which tokens it covers.
    private func drawCompareMetrics(_ state: ComparisonState, into buffer: inout Buffer, rect: Rect) {
        let inner = Panel(title: "Metrics", info: "same cache").draw(into: &buffer, rect: rect)
        let sides: [(name: String, session: DictionarySession, index: FeatureIndex?, partial: (done: Int, of: Int)?)] =
            [("A", session, model.index, model.partial), ("B", state.other, state.index, state.partial)]
        let fitting = max(0, (inner.width - 2) / Self.metricColumn)
        let columns = compareColumns(fitting: fitting)
        var lines: [(text: String, style: Style)] = [
            ("  " + columns.map { Text.fit($0.header, width: Self.metricColumn, alignment: .right) }.joined(), Style(.title, [.bold])),
        ]
        for side in sides {
            let metrics = side.index?.metrics.result()
            let cells = columns.map { $0.cell(metrics, side.name == "A" ? .a : .b) }
            lines.append((side.name + " " + cells.map { Text.fit($0, width: Self.metricColumn, alignment: .right) }.joined(), .fg(.text)))
        }
        // SAEBench's core metrics below, where the panel has room for them and the lines after.
        if inner.height >= 10 {
            lines += comparedCoreMetricLines(state, sides: sides.map(\.index), width: inner.width, ellipsis: buffer.glyphs.ellipsis)
        }
        for side in sides {
            let sae = side.session.sae
            var text = "\(side.name) \(side.session.name) \(buffer.glyphs.separator) \(sae.provenance.kind) F=\(NumberFormat.count(sae.featureCount)) \(buffer.glyphs.separator) "
            if let index = side.index {
                text += "\(NumberFormat.count(index.tokenCount)) tokens" + (side.partial.map { " (partial \($0.done)/\($0.of))" } ?? "")
            } else {
                text += side.name == "A" ? "indexing" + buffer.glyphs.ellipsis : indexStatus(of: state, glyphs: buffer.glyphs)
            }
            lines.append((text, .fg(.dimText)))
        }
        if showsModelLoss {
            let a = modelLossStatusLine(.a, glyphs: buffer.glyphs), b = modelLossStatusLine(.b, glyphs: buffer.glyphs)
            let line: String
            if case .ready(let description) = model.modelAttachment {
                let separator = " \(buffer.glyphs.separator) "
                line = "CE " + (a == b ? a : "A: " + a + separator + "B: " + b) + separator + description
            } else {
                line = a
            }
            lines.append((line, .fg(.dimText)))
        }
        // Where there is room: where each dictionary came from and how many of its features are dead.
        if inner.height >= lines.count + 3 {
            lines.append(("", .plain))
            for side in sides {
                let dead = side.index.map { index in (0..<index.featureCount).filter { index.isDead($0) }.count }
                let suffix = dead.map { " \(buffer.glyphs.separator) \(NumberFormat.count($0)) dead" } ?? ""
                // Paths lose their start, not the dictionary's own folder name, when cut.
                let path = Text.truncateLeading(side.session.saePath, columns: max(1, inner.width - 2 - Text.width(suffix)),
                                                ellipsis: buffer.glyphs.ellipsis)
                lines.append(("\(side.name) " + path + suffix, .fg(.dimText)))
            }
        }
        TextView(styledLines: lines).draw(into: &buffer, rect: inner)
    }

    /// Counts of best matches at or above each threshold both ways, the mean best cosine, the
    /// one-to-one assignment, and the histogram of A's best-match cosines.
    private func drawMatchingSummary(_ state: ComparisonState, into buffer: inout Buffer, rect: Rect) {
        let inner = Panel(title: "Decoder matching", info: "cosine").draw(into: &buffer, rect: rect)
        guard let result = state.result else {
            drawMatchingPending(state, into: &buffer, rect: inner)
            return
        }
        func cell(_ s: String, _ width: Int = 7) -> String { Text.fit(s, width: width, alignment: .right) }
        let thresholds = result.options.thresholds
        let header = "    " + thresholds.map { cell(">=\($0)") }.joined() + cell("mean")
        var lines: [(text: String, style: Style)] = [(header, Style(.title, [.bold]))]
        for (name, summary, total) in [("A>B", result.summaryAToB, result.a.featureCount), ("B>A", result.summaryBToA, result.b.featureCount)] {
            let row = name + " " + summary.thresholdCounts.map { cell(String($0.count)) }.joined()
                + cell(NumberFormat.fixed(summary.meanBestCosine, decimals: 3))
            let of = "  of " + NumberFormat.count(total)
            lines.append((row + (Text.width(row + of) <= inner.width ? of : ""), .fg(.text)))
        }
        // The chance level of each figure: A against a random dictionary of B's shape.
        if let baseline = result.baseline, inner.height >= 6 {
            let summary = baseline.summaryAToRandom
            let row = "rnd " + summary.thresholdCounts.map { cell(String($0.count)) }.joined()
                + cell(NumberFormat.fixed(summary.meanBestCosine, decimals: 3))
            let chance = "  " + ChanceLevel.caption(dimension: result.a.outputDimension, count: result.b.featureCount)
            lines.append((row + (Text.width(row + chance) <= inner.width ? chance : ""), .fg(.dimText)))
        }
        let assignment = result.assignment
        let pairs = "1:1 \(assignment.method.rawValue) \(NumberFormat.count(assignment.pairs.count)) pairs, mean cos "
            + NumberFormat.fixed(assignment.meanCosine, decimals: 3)
        let overlap = state.agreement?.mean.map { "top-exemplar overlap " + NumberFormat.fixed($0, decimals: 2) }
        if let overlap, Text.width(pairs + ", " + overlap) <= inner.width {
            lines.append((pairs + ", " + overlap, .fg(.text)))
        } else {
            lines.append((pairs, .fg(.text)))
            // A line of its own only where the histogram keeps room to draw.
            if let overlap, inner.height >= 10 { lines.append(("    " + overlap, .fg(.text))) }
        }
        TextView(styledLines: lines).draw(into: &buffer, rect: inner)

        let rest = Rect(x: inner.x, y: inner.y + lines.count, width: inner.width, height: inner.height - lines.count)
        let histogram = result.summaryAToB.histogram
        // Bins below the lowest best cosine are empty by far the most often: start at the first used.
        let first = histogram.counts.firstIndex { $0 > 0 } ?? 0
        let counts = Array(histogram.counts[first...])
        if rest.height >= 5 {
            let edges = (first...histogram.counts.count).map { histogram.bin(0).lower + Double($0) * (histogram.upper - histogram.lower) / Double(histogram.counts.count) }
            var chart = Histogram(counts: counts, edges: edges, title: "A's best-match cosines")
            chart.info = "n = \(NumberFormat.count(result.a.featureCount))"
            chart.draw(into: &buffer, rect: rest.inset(top: 1))
        } else if !rest.isEmpty {
            let label = "A>B best " + NumberFormat.compact(histogram.bin(first).lower) + " "
            let x = buffer.put(label, at: Point(x: rest.x, y: rest.y), style: .fg(.dimText), clip: rest)
            Sparkline(values: counts.map(Double.init), range: 0...Double(max(1, counts.max() ?? 1)))
                .draw(into: &buffer, rect: Rect(x: x, y: rest.y, width: counts.count, height: 1))
            _ = buffer.put(" " + NumberFormat.compact(histogram.upper), at: Point(x: x + counts.count, y: rest.y), style: .fg(.dimText), clip: rest)
        }
    }

    /// Before the matching is done: its progress, or why it stopped.
    private func drawMatchingPending(_ state: ComparisonState, into buffer: inout Buffer, rect: Rect) {
        let job = state.compareJob.flatMap { id in model.jobs.first { $0.id == id } }
        let line: String
        switch job?.state {
        case .failed(let text)?: line = "the matching failed: \(text)"
        case .cancelled?: line = "the matching was cancelled: c starts it again"
        default:
            let g = buffer.glyphs
            line = "computing\(g.ellipsis) \(NumberFormat.count(session.sae.featureCount)) \(g.isUnicode ? "×" : "x") \(NumberFormat.count(state.other.sae.featureCount)) decoder rows"
        }
        TextView(lines: Text.wrap(line, columns: max(1, rect.width)), style: .fg(.text)).draw(into: &buffer, rect: rect)
        if let job, job.state == .running, rect.height >= 3 {
            ProgressBar(fraction: job.fraction, label: "compare", detail: job.detail).draw(into: &buffer, rect: rect.row(2))
        }
    }

    /// B's index as the screen shows it when it is not there yet.
    func indexStatus(of state: ComparisonState, glyphs: Glyphs) -> String {
        if let id = state.indexJob, let job = model.jobs.first(where: { $0.id == id }) {
            switch job.state {
            case .running: return "indexing " + (job.fraction.map { NumberFormat.percent($0) } ?? glyphs.ellipsis)
            case .failed(let text): return "indexing failed: \(text)"
            case .cancelled: return "indexing cancelled: c starts it again"
            case .finished: break
            }
        }
        return state.other.cache == nil ? "no index (give --index2, or --acts to build one)" : "not indexed yet"
    }

    // MARK: Split view

    /// A's features in the chosen order with their best and assigned matches, then the selected
    /// feature's top exemplars.
    private func drawCompareList(_ state: ComparisonState, into buffer: inout Buffer, rect: Rect) {
        let view = state.view
        let info = state.result.map { _ in "\(view.order.label) \(buffer.glyphs.separator) \(view.rows.isEmpty ? 0 : view.list.selected + 1)/\(view.rows.count)" }
        let inner = Panel(title: "A \(session.name)", info: info, focused: view.focus == .a).draw(into: &buffer, rect: rect)
        guard let result = state.result else {
            _ = buffer.put("waiting for the matching" + buffer.glyphs.ellipsis, at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
            return
        }
        let rows = view.rows, index = model.index, glyphs = buffer.glyphs
        let idWidth = max(4, String(result.a.featureCount - 1).count + 1), otherWidth = max(4, String(result.b.featureCount - 1).count + 1)
        var columns: [Table.Column] = [
            .init("A", width: .fixed(idWidth), alignment: .right),
            .init("best", width: .fixed(6), alignment: .right),
            .init("in B", width: .fixed(otherWidth), alignment: .right),
            .init("1:1", width: .fixed(otherWidth), alignment: .right),
        ]
        let wide = inner.width >= 60
        if wide { columns.append(.init("1:1 cos", width: .fixed(7), alignment: .right)) }
        columns.append(.init("top token", width: .flex(weight: 1, min: 4)))
        let matches = result.matching.aToB
        var table = Table(columns: columns, rowCount: rows.count) { [self] row, column in
            let j = rows[row]
            let pair = state.assignment(of: j)
            switch (column, wide) {
            case (0, _): return String(j)
            case (1, _): return NumberFormat.fixed(Double(matches.bestCosine(j)), decimals: 3)
            case (2, _): return String(matches.bestFeature(j))
            case (3, _): return pair.map { String($0.b) } ?? "-"
            case (4, true): return pair.map { NumberFormat.fixed(Double($0.cosine), decimals: 3) } ?? "-"
            default: return (index.map { topTokenText(j, index: $0, glyphs: glyphs) } ?? "") + labelSuffix(j)
            }
        }
        table.cellStyle = { row, column in
            column == 1 ? Self.cosineStyle(matches.bestCosine(rows[row])) : nil
        }
        table.emptyText = view.order == .unmatched ? "every feature of A has a match at or above 0.5 (s: next order)" : "no features"
        table.focused = view.focus == .a
        let (listRect, detailRect) = inner.splitTop(max(3, inner.height / 2))
        var tableState = view.list
        table.draw(into: &buffer, rect: listRect, state: &tableState)
        model.comparison?.view.list = tableState
        model.comparison?.view.listPage = table.visibleRows(in: listRect)
        guard let j = model.comparison?.view.selectedA else { return }
        let heading = "A #\(j)" + labelSuffix(j) + (index.map { " \(buffer.glyphs.separator) " + featureFigures(j, index: $0, glyphs: buffer.glyphs) } ?? "")
        drawTopExemplars(j, index: index, status: "A is being indexed" + buffer.glyphs.ellipsis, heading: heading, into: &buffer, rect: detailRect)
    }

    /// The selected A feature's best matches in B (its one-to-one partner marked), then the
    /// selected match's top exemplars.
    private func drawCompareMatches(_ state: ComparisonState, into buffer: inout Buffer, rect: Rect) {
        let view = state.view
        let j = view.selectedA
        let title = (j.map { "Matches of A #\($0)" } ?? "Matches") + " in B \(state.other.name)"
        let inner = Panel(title: title, info: rect.width >= 60 ? "\(buffer.glyphs.mark) one-to-one" : nil, focused: view.focus == .b)
            .draw(into: &buffer, rect: rect)
        guard state.result != nil, let j else {
            _ = buffer.put(state.result == nil ? "waiting for the matching" + buffer.glyphs.ellipsis : "no A feature selected",
                           at: Point(x: inner.x, y: inner.y), style: .fg(.dimText), clip: inner)
            return
        }
        let rows = state.matchRows(for: j), index = state.index, glyphs = buffer.glyphs
        var table = Table(columns: [
            .init("#", width: .fixed(3), alignment: .right),
            .init("B", width: .fixed(max(4, String(state.other.sae.featureCount - 1).count + 1)), alignment: .right),
            .init("cos", width: .fixed(6), alignment: .right),
            .init("density", width: .fixed(8), alignment: .right),
            .init("top token", width: .flex(weight: 1, min: 4)),
        ], rowCount: rows.count) { [self] row, column in
            let match = rows[row]
            switch column {
            case 0: return match.rank.map(String.init) ?? "1:1"
            case 1: return String(match.feature)
            case 2: return NumberFormat.fixed(Double(match.cosine), decimals: 3)
            case 3: return index.map { formatDensity($0.density(match.feature)) } ?? "-"
            default: return (index.map { topTokenText(match.feature, index: $0, glyphs: glyphs) } ?? "") + labelSuffix(match.feature, of: model.comparedLabels)
            }
        }
        table.isMarked = { rows[$0].assigned }
        table.cellStyle = { row, column in column == 2 ? Self.cosineStyle(rows[row].cosine) : nil }
        table.focused = view.focus == .b
        table.showScrollbar = false
        let (listRect, detailRect) = inner.splitTop(min(rows.count + 1, max(2, inner.height / 2)))
        var tableState = view.matches
        table.draw(into: &buffer, rect: listRect, state: &tableState)
        model.comparison?.view.matches = tableState
        model.comparison?.view.matchPage = table.visibleRows(in: listRect)
        guard !rows.isEmpty else { return }
        let match = rows[min(max(tableState.selected, 0), rows.count - 1)]
        var heading = "B #\(match.feature)" + labelSuffix(match.feature, of: model.comparedLabels) + " \(buffer.glyphs.separator) cos \(NumberFormat.fixed(Double(match.cosine), decimals: 3))"
        if match.assigned {
            heading += " \(buffer.glyphs.separator) 1:1" + (state.agreement(of: j).map { " overlap " + NumberFormat.fixed($0, decimals: 2) } ?? "")
        }
        if let index { heading += " \(buffer.glyphs.separator) " + featureFigures(match.feature, index: index, glyphs: buffer.glyphs) }
        drawTopExemplars(match.feature, index: index, status: "B: " + indexStatus(of: state, glyphs: buffer.glyphs), heading: heading,
                         into: &buffer, rect: detailRect)
    }

    // MARK: Pieces shared with the zoomed feature

    /// Density and maximum in a few columns.
    func featureFigures(_ j: Int, index: FeatureIndex, glyphs: Glyphs) -> String {
        index.isDead(j) ? "dead" : "density \(formatDensity(index.density(j))) \(glyphs.separator) max \(NumberFormat.compact(Double(index.maxActivation(j))))"
    }

    /// A heading, then the feature's top exemplars (or `status` while its index is missing).
    private func drawTopExemplars(_ j: Int, index: FeatureIndex?, status: String, heading: String, into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty else { return }
        _ = buffer.put(heading, at: Point(x: rect.x, y: rect.y), style: Style(.title, [.bold]), clip: rect)
        guard let index else {
            _ = buffer.put(status, at: Point(x: rect.x, y: rect.y + 1), style: .fg(.dimText), clip: rect)
            return
        }
        let exemplars = index.topExemplars(j)
        if exemplars.isEmpty {
            _ = buffer.put("never fired on the indexed tokens", at: Point(x: rect.x, y: rect.y + 1), style: .fg(.dimText), clip: rect)
        }
        drawExemplarLines(exemplars.map { .exemplar($0) }, maxActivation: index.maxActivation(j), into: &buffer,
                          rect: Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: max(0, rect.height - 1)))
    }

    /// Strong matches stand out, weak ones (the unmatched order's threshold) fade.
    static func cosineStyle(_ cosine: Float) -> Style? {
        if cosine >= 0.9 { return Style(.positive, [.bold]) }
        if cosine < CompareOrder.unmatchedBelow { return .fg(.dimText) }
        return nil
    }
}
