import SAECore
import TUI
import Widgets

/// The attached model's numbers on the overview: CE rows under the metrics (eval --model's keys
/// and definitions) and CE by position, clean against with the dictionary's reconstruction.
extension AppController {
    /// The CE rows of the overview's metrics table (eval --model's keys and definitions), when a
    /// model is attached or wanted: numbers, or "computing" while the model loads or its job runs.
    func modelLossRows() -> [OverviewMetricRow] {
        guard showsModelLoss else { return [] }
        let loss = model.modelLoss[.a]?.metrics
        let missing: OverviewMetricRow.Value = modelLossPending(.a) ? .computing : .unavailable
        var rows = ModelLossDefinition.all.map { definition in
            OverviewMetricRow(key: definition.key, label: definition.label, definition: definition.definition,
                              value: loss.map { .number(definition.value($0)) } ?? missing)
        }
        rows.append(OverviewMetricRow(key: "n_predictions", label: "predictions", definition: ModelLossDefinition.predictionsDefinition,
                                      value: loss.map { .number(Double($0.predictionCount)) } ?? missing))
        return rows
    }

    /// Whether CE numbers have a place on screen: a model is (or was meant to be) attached and
    /// there is a cache to run it on (without one the model serves the text screen and the
    /// logit effects only).
    var showsModelLoss: Bool { model.modelAttachment.isRequested && session.cache != nil }

    /// Whether a side's CE numbers are still to come (the model loading, or its job running).
    func modelLossPending(_ side: ModelLossSide) -> Bool {
        if case .loading = model.modelAttachment { return true }
        if case .running? = model.modelLoss[side] { return true }
        return false
    }

    /// Rows the CE panel takes out of `height`: a plot when there are numbers by position and
    /// the density histogram keeps 9 rows, else one line.
    func modelLossPanelHeight(outOf height: Int) -> Int {
        guard showsModelLoss else { return 0 }
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
