import Foundation
import SAECore
import TUI
import Widgets

/// The probes screen: a PCA scatter of labelled statements, the train x test generalization
/// matrix of a probe method, and the dictionary features the selected probe aligns with. Wide
/// terminals show all three (PCA left, matrix and features right); narrow ones show the PCA
/// pane alone, or the matrix above the features, following the focused pane (Tab).
extension AppController {
    func drawProbes(into buffer: inout Buffer, rect: Rect) {
        let p = model.probes
        guard let datasets = p.datasets, !datasets.isEmpty else {
            drawProbesLoading(p, into: &buffer, rect: rect)
            return
        }
        if rect.width >= 140 {
            let (left, right) = rect.splitLeft(rect.width / 2)
            drawProbesPCA(p, into: &buffer, rect: left)
            drawProbesMatrixAndFeatures(p, datasets: datasets, into: &buffer, rect: right)
        } else if p.pane == .pca {
            drawProbesPCA(p, into: &buffer, rect: rect)
        } else {
            drawProbesMatrixAndFeatures(p, datasets: datasets, into: &buffer, rect: rect)
        }
    }

    private func drawProbesLoading(_ p: ProbesState, into buffer: inout Buffer, rect: Rect) {
        let inner = Panel(title: "Probes", focused: true).draw(into: &buffer, rect: rect)
        let lines: [String]
        if p.paths.isEmpty {
            lines = ["No probe datasets. Open with --probes PATH...: a statements CSV (statement,label and other boolean "
                     + "columns) beside a same-stem .safetensors holding acts [n, D], or a folder of them."]
        } else if p.datasets?.isEmpty == true {
            lines = ["No probe datasets in \(p.paths.joined(separator: ", "))."]
        } else {
            lines = [pendingText("reading the probe datasets", job: p.loadJob, ellipsis: buffer.glyphs.ellipsis).text]
        }
        TextView(lines: lines.flatMap { Text.wrap($0, columns: max(1, inner.width)) }, style: .fg(.text)).draw(into: &buffer, rect: inner)
    }

    /// What a pane shows while its result is missing: the job's progress, or how it ended.
    func pendingText(_ what: String, job id: JobCenter.ID?, ellipsis: String) -> (text: String, isError: Bool) {
        guard let id, let status = model.jobs.first(where: { $0.id == id }) else { return ("computing \(what)\(ellipsis)", false) }
        switch status.state {
        case .running: return ("computing \(what)\(ellipsis) \(status.detail)", false)
        case .failed(let text): return ("\(what) failed: \(text)", true)
        case .cancelled: return ("\(what) cancelled (p computes it again)", false)
        case .finished: return ("computing \(what)\(ellipsis)", false)
        }
    }

    func drawPending(_ pending: (text: String, isError: Bool), into buffer: inout Buffer, rect: Rect) {
        let lines = Text.wrap(pending.text, columns: max(1, rect.width))
        TextView(lines: lines, style: pending.isError ? .fg(.error) : .fg(.warning)).draw(into: &buffer, rect: rect)
    }

    // MARK: PCA

    private func drawProbesPCA(_ p: ProbesState, into buffer: inout Buffer, rect: Rect) {
        let title = "PCA  basis \(p.choiceName(p.basis)) \(buffer.glyphs.separator) data \(p.choiceName(p.plotted))"
        let inner = Panel(title: title, info: "label \(p.label)", focused: p.pane == .pca).draw(into: &buffer, rect: rect)
        guard inner.height > 0 else { return }
        guard let projection = p.projections[p.basis] else {
            drawPending(pendingText("the PCA of \(p.basisNames(p.basis).joined(separator: "+"))", job: p.pcaJob?.id, ellipsis: buffer.glyphs.ellipsis), into: &buffer, rect: inner)
            return
        }
        guard projection.ratios.count >= 2 else {
            drawPending(("the basis has fewer than two components", true), into: &buffer, rect: inner)
            return
        }
        let offset = min(p.componentOffset, projection.ratios.count - 2)

        // Explained variance of every kept component; the two plotted stand out.
        let (ratioRow, plotRect) = inner.splitTop(1)
        var x = buffer.put("variance ", at: Point(x: ratioRow.x, y: ratioRow.y), style: .fg(.dimText), clip: ratioRow)
        for (k, ratio) in projection.ratios.enumerated() {
            let shown = k == offset || k == offset + 1
            x = buffer.put("PC\(k + 1) \(percent(ratio))", at: Point(x: x, y: ratioRow.y),
                           style: shown ? Style(.accent, [.bold]) : .fg(.dimText), clip: ratioRow) + 2
        }

        var shifted = p
        shifted.componentOffset = offset
        let (points, skipped) = shifted.scatterPoints(projection)
        guard !points.isEmpty else {
            drawPending(("no dataset plotted has the column \(p.label) (c changes the label, d the dataset)", false),
                        into: &buffer, rect: plotRect)
            return
        }
        let trueCount = points.filter(\.isTrue).count
        var scatter = BrailleScatter(points: points.map { ScatterPoint(x: $0.x, y: $0.y, cls: $0.isTrue ? 1 : 0) },
                                     classNames: ["false (\(points.count - trueCount))", "true (\(trueCount))"],
                                     equalAxes: true, density: p.density,
                                     title: skipped.isEmpty ? "\(points.count) statements" : "\(points.count) statements; without \(p.label): \(skipped.joined(separator: ", "))")
        scatter.xLabel = "PC\(offset + 1)"
        scatter.yLabel = "PC\(offset + 2)"
        scatter.draw(into: &buffer, rect: plotRect)
    }

    private func percent(_ ratio: Double) -> String { NumberFormat.fixed(ratio * 100, decimals: 1) + "%" }

    // MARK: Matrix and aligned features

    private func drawProbesMatrixAndFeatures(_ p: ProbesState, datasets: [ProbeDataset], into buffer: inout Buffer, rect: Rect) {
        // The matrix gets what it needs (rows + oracle + header + legend + detail + border), at
        // most what leaves the features list a few rows.
        let wanted = p.trainSpecs.count + 1 + 2 + 1 + 2
        let (matrixRect, featuresRect) = rect.splitTop(min(wanted, max(6, rect.height - 7)))
        drawProbesMatrix(p, into: &buffer, rect: matrixRect)
        drawAlignedFeatures(p, datasets: datasets, into: &buffer, rect: featuresRect)
    }

    private func drawProbesMatrix(_ p: ProbesState, into buffer: inout Buffer, rect: Rect) {
        let title = "Probes  \(p.methodName) \(buffer.glyphs.separator) label \(p.label)"
        let inner = Panel(title: title, info: p.metric == .accuracy ? "accuracy" : "AUROC", focused: p.pane == .matrix)
            .draw(into: &buffer, rect: rect)
        guard inner.height > 0 else { return }
        guard let matrix = p.matrixFigures else {
            let job = p.sparseK != nil ? p.sparseJob?.id : p.matrixJob?.id
            let pending = p.probeDatasets.isEmpty ? ("no dataset has both values of \(p.label), so no probe can train (c changes the label)", false)
                : pendingText("\(p.methodName) probes on \(p.label)", job: job, ellipsis: buffer.glyphs.ellipsis)
            drawPending(pending, into: &buffer, rect: inner)
            return
        }
        let auroc = p.metric == .auroc
        var heatmap = Heatmap(values: (auroc ? matrix.auroc : matrix.accuracy) + [auroc ? matrix.oracleAUROC : matrix.oracleAccuracy],
                              rowLabels: matrix.trainSets + ["oracle"], columnLabels: matrix.testSets)
        heatmap.range = 0...1
        let row = min(p.row, matrix.trainSets.count - 1), column = min(p.column, matrix.testSets.count - 1)
        heatmap.selected = (row, column)
        let height = min(inner.height - 1, matrix.trainSets.count + 1 + 2)
        heatmap.draw(into: &buffer, rect: Rect(x: inner.x, y: inner.y, width: inner.width, height: max(0, height)))

        // The selected cell in words: which rows it was trained and scored on, and both figures.
        let detailRow = Rect(x: inner.x, y: inner.y + max(0, height), width: inner.width, height: 1)
        guard detailRow.y < inner.maxY, row >= 0, column >= 0 else { return }
        let train = matrix.trainSets[row], test = matrix.testSets[column]
        let heldOut = train.split(separator: "+").contains { String($0) == test }
        let text = "\(train) \(buffer.glyphs.isUnicode ? "→" : "->") \(test)\(heldOut ? " (80% trained, 20% held out)" : " (trained on all rows)"): accuracy \(NumberFormat.fixed(matrix.accuracy[row][column], decimals: 3))"
            + " \(buffer.glyphs.separator) AUROC \(NumberFormat.fixed(matrix.auroc[row][column], decimals: 3))"
        _ = buffer.put(Text.truncate(text, columns: detailRow.width, ellipsis: buffer.glyphs.ellipsis),
                       at: Point(x: detailRow.x, y: detailRow.y), style: .fg(.text), clip: detailRow)
    }

    private func drawAlignedFeatures(_ p: ProbesState, datasets: [ProbeDataset], into buffer: inout Buffer, rect: Rect) {
        if p.sparseK != nil {
            drawChosenLatents(p, into: &buffer, rect: rect)
            return
        }
        let trainSet = p.matrix.map { " trained on " + $0.trainSets[min(p.row, $0.trainSets.count - 1)] } ?? ""
        // The chance level: the best cosine of this many random directions with the probe's; in
        // full where the title keeps its room, else the figure alone.
        let ranked = rankedFeatureCount(), width = session.sae.inputDimension
        let title = "Features aligned with the \(p.method.rawValue) probe\(trainSet)"
        let chance = ChanceLevel.caption(dimension: width, count: ranked)
        let info = Text.width(title) + Text.width(chance) + 10 <= rect.width ? chance
            : String(format: "chance %.2f", ChanceLevel.expectedMaxCosine(dimension: width, count: ranked))
        let inner = Panel(title: title, info: info,
                          focused: p.pane == .features).draw(into: &buffer, rect: rect)
        guard inner.height > 0 else { return }
        let d = datasets[0].dimension
        guard session.sae.inputDimension == d, session.sae.outputDimension == d else {
            drawPending(("The dictionary has \(session.sae.shapeSummary) and the probe datasets D=\(d): no alignment.", false),
                        into: &buffer, rect: inner)
            return
        }
        guard p.matrix != nil else {
            drawPending(("waiting for the probes", false), into: &buffer, rect: inner)
            return
        }
        guard p.alignments[p.alignmentKey] != nil else {
            drawPending(pendingText("the alignment", job: p.alignmentJob?.id, ellipsis: buffer.glyphs.ellipsis), into: &buffer, rect: inner)
            return
        }
        let features = p.alignedFeatures
        let positives = p.alignedSides.positive.count
        let index = model.index
        let glyphs = buffer.glyphs
        var table = Table(columns: [
            .init("rank", width: .fixed(4), alignment: .right),
            .init("feature", width: .fixed(8), alignment: .right),
            .init("cosine", width: .fixed(7), alignment: .right),
            .init("top token", width: .fixed(12)),
            .init("top exemplar", width: .flex(weight: 1, min: 6)),
        ] + labelColumns(), rowCount: features.count) { [self] row, column in
            let aligned = features[row]
            switch column {
            case 0: return row < positives ? "+\(row + 1)" : "-\(row - positives + 1)"
            case 1: return "#\(aligned.feature)"
            case 2: return String(format: "%+.3f", aligned.cosine)
            case 3: return index.map { topTokenText(aligned.feature, index: $0, glyphs: glyphs) } ?? ""
            case 5: return labelCell(aligned.feature)
            default: return ""  // drawn by alignTopExemplars
            }
        }
        table.cellStyle = { row, column in
            column == 2 ? .fg(features[row].cosine >= 0 ? .positive : .negative) : nil
        }
        table.emptyText = "no features"
        table.focused = p.pane == .features
        var state = p.aligned
        if let index {
            alignTopExemplars(&table, column: 4, features: features.map(\.feature), index: index, state: state, rect: inner, buffer: buffer)
        }
        table.draw(into: &buffer, rect: inner, state: &state)
        model.probes.aligned = state
        model.probes.alignedVisibleRows = table.visibleRows(in: inner)
    }
}

extension AppController {
    /// Sparse probing's features pane: the latents the selected cell's probe uses, in the order
    /// chosen (largest class-mean gap first), with each one's density and top exemplar; Enter
    /// opens one.
    func drawChosenLatents(_ p: ProbesState, into buffer: inout Buffer, rect: Rect) {
        let latents = p.chosenLatents
        let trainSet = p.sparseMatrix.map { $0.trainSets[min(p.row, $0.trainSets.count - 1)] }
        let title = "Latents of the \(p.methodName) probe" + (trainSet.map { " trained on \($0)" } ?? "")
        let inner = Panel(title: title, info: p.chosenOnSplit ? "chosen on the 80%" : "chosen on all rows",
                          focused: p.pane == .features).draw(into: &buffer, rect: rect)
        guard inner.height > 0 else { return }
        guard p.sparseMatrix != nil else {
            drawPending(("waiting for the probes", false), into: &buffer, rect: inner)
            return
        }
        let index = model.index
        let glyphs = buffer.glyphs
        var table = Table(columns: [
            .init("rank", width: .fixed(4), alignment: .right),
            .init("latent", width: .fixed(8), alignment: .right),
            .init("density", width: .fixed(8), alignment: .right),
            .init("top token", width: .fixed(12)),
            .init("top exemplar", width: .flex(weight: 1, min: 6)),
        ], rowCount: latents.count) { [self] row, column in
            let latent = latents[row]
            switch column {
            case 0: return "\(row + 1)"
            case 1: return "#\(latent)"
            case 2: return index.map { NumberFormat.compact($0.density(latent)) } ?? ""
            case 3: return index.map { topTokenText(latent, index: $0, glyphs: glyphs) } ?? ""
            default: return ""  // drawn by alignTopExemplars
            }
        }
        table.emptyText = "no latents"
        table.focused = p.pane == .features
        var state = p.aligned
        if let index {
            alignTopExemplars(&table, column: 4, features: latents, index: index, state: state, rect: inner, buffer: buffer)
        }
        table.draw(into: &buffer, rect: inner, state: &state)
        model.probes.aligned = state
        model.probes.alignedVisibleRows = table.visibleRows(in: inner)
    }
}
