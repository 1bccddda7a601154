import SAECore
import TUI
import Widgets

/// The attached model's numbers on the overview: CE rows under the metrics (eval --model's keys
/// and definitions) and CE by position, clean against with the dictionary's reconstruction.
extension AppController {
    /// One row of the overview's metrics table.
    struct OverviewRow {
        var label: String
        var value: String
        var definition: String
    }

    /// The metrics, then (when a model is attached or wanted) the CE rows.
    func overviewRows(_ metrics: DictionaryMetrics) -> [OverviewRow] {
        // Six significant digits, as `saescope eval` prints: metrics are compared across runs.
        var rows = MetricDefinition.all.map { OverviewRow(label: $0.label, value: String(format: "%.6g", $0.value(metrics)), definition: $0.definition) }
        guard model.modelAttachment.isRequested else { return rows }
        let loss = model.modelLoss[.a]?.metrics
        let pending = loss == nil && modelLossPending(.a) ? "\u{2026}" : "-"
        rows += ModelLossDefinition.all.map { definition in
            OverviewRow(label: definition.label, value: loss.map { String(format: "%.6g", definition.value($0)) } ?? pending,
                        definition: definition.definition)
        }
        rows.append(OverviewRow(label: "predictions", value: loss.map { "\($0.predictionCount)" } ?? pending,
                                definition: ModelLossDefinition.predictionsDefinition))
        return rows
    }

    /// Rows the overview's cursor moves over.
    var overviewRowCount: Int {
        MetricDefinition.all.count + (model.modelAttachment.isRequested ? ModelLossDefinition.all.count + 1 : 0)
    }

    /// Whether a side's CE numbers are still to come (the model loading, or its job running).
    func modelLossPending(_ side: ModelLossSide) -> Bool {
        if case .loading = model.modelAttachment { return true }
        if case .running? = model.modelLoss[side] { return true }
        return false
    }

    /// Rows the CE panel takes out of `height`: a plot when there are numbers by position and
    /// the density histogram keeps 9 rows, else one line.
    func modelLossPanelHeight(outOf height: Int) -> Int {
        guard model.modelAttachment.isRequested else { return 0 }
        let plot = min(14, height - 9)
        if (model.modelLoss[.a]?.metrics?.byPosition.count ?? 0) > 1, plot >= 9 { return plot }
        return min(3, max(0, height - 5))
    }

    /// The CE-by-position panel: the plot, or one line on where the model or its job stands.
    func drawModelLossPanel(into buffer: inout Buffer, rect: Rect) {
        guard !rect.isEmpty else { return }
        let status = model.modelLoss[.a]
        let metrics = status?.metrics
        var info = ""
        if case .ready(let description) = model.modelAttachment { info = description }
        let inner = Panel(title: "CE by position", info: info).draw(into: &buffer, rect: rect)
        guard let metrics, metrics.byPosition.count > 1, inner.height >= 4 else {
            TextView(lines: [modelLossStatusLine(.a, glyphs: buffer.glyphs)], style: .fg(.dimText)).draw(into: &buffer, rect: inner)
            return
        }
        let points = metrics.byPosition.flatMap { p in
            [ScatterPoint(x: Double(p.position), y: p.ceClean, cls: 0), ScatterPoint(x: Double(p.position), y: p.ceWithSAE, cls: 1)]
        }
        var plot = BrailleScatter(points: points, classNames: ["clean", "with SAE"])
        plot.xLabel = "position"
        plot.yLabel = "CE"
        plot.classInks = [.role(.accent), .role(.negative)]
        let (plotRect, noteRect) = inner.splitBottom(1)
        plot.draw(into: &buffer, rect: plotRect)
        TextView(lines: [modelLossStatusLine(.a, glyphs: buffer.glyphs)], style: .fg(.dimText)).draw(into: &buffer, rect: noteRect)
    }

    /// Where a side's CE stands, in one line: the model's state, the job's progress, the
    /// predictions counted, or why there are none.
    func modelLossStatusLine(_ side: ModelLossSide, glyphs: Glyphs) -> String {
        switch model.modelAttachment {
        case .ready: break
        default: return modelAttachmentLine ?? ""
        }
        switch model.modelLoss[side] {
        case .running(let partial)?:
            let job = model.jobs.first { id in model.modelLossJobs.first { $0.value == side }?.key == id.id }
            let progress = job.map { " \($0.detail)" } ?? ""
            return (partial == nil ? "computing CE" : "partial CE") + "\(glyphs.ellipsis)\(progress) (J jobs, x cancels)"
        case .done(let metrics)?:
            return "\(NumberFormat.count(metrics.predictionCount)) predictions \(glyphs.separator) "
                + (metrics.patchesBOS ? "every position patched" : "BOS left unpatched")
        case .failed(let message)?: return "CE failed: " + message
        case .cancelled?: return "CE cancelled: :ce computes it again"
        case nil: return ""
        }
    }
}
