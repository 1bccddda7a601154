import Foundation
import SAECore
import TUI
import Widgets

/// The probes screen's side of the controller: reading the datasets, its keys, and the jobs that
/// compute what it shows. Results are kept per choice (basis, method and label, probe), so a job
/// runs only for a choice not computed yet; a new choice supersedes the running job of its kind.
extension AppController {
    /// Reads the probe datasets at `paths` (CSVs, or folders of them) in the background; the
    /// probes screen (`p`) shows them.
    public func loadProbes(paths: [String]) {
        guard !paths.isEmpty else { return }
        model.probes = ProbesState()
        model.probes.paths = paths
        model.probes.loadJob = startJob(kind: "probes-load", title: "read probe datasets", work: { context in
            try ProbeComputations.load(paths: paths, context: context)
        }, done: { [weak self] value in
            guard let self, let datasets = value as? [ProbeDataset] else { return }
            model.probes.datasets = datasets
            ensureProbeJobs()
        })
    }

    func performProbes(_ command: ProbesCommand) {
        let count = model.probes.datasetCount
        // Basis and plotted choices: each dataset, then all of them (when there are several).
        let choices = count > 1 ? count + 1 : max(1, count)
        switch command {
        case .show:
            show(.probes)
            retryEndedProbeJobs()
        case .nextPane, .previousPane:
            let panes = ProbesPane.allCases
            let i = panes.firstIndex(of: model.probes.pane)!
            model.probes.pane = panes[(i + (command == .nextPane ? 1 : panes.count - 1)) % panes.count]
        case .left, .right:
            let delta = command == .right ? 1 : -1
            if model.probes.pane == .pca {
                stepComponents(delta)
            } else {
                let columns = model.probes.probeDatasets.count
                model.probes.column = min(max(0, model.probes.column + delta), max(0, columns - 1))
            }
        case .nextComponents: stepComponents(1)
        case .previousComponents: stepComponents(-1)
        case .cycleBasis: model.probes.basis = (model.probes.basis + 1) % choices
        case .cyclePlotted: model.probes.plotted = (model.probes.plotted + 1) % choices
        case .cycleLabel:
            model.probes.labelIndex = (model.probes.labelIndex + 1) % model.probes.labelChoices.count
            clampProbeSelection()
        case .toggleDensity: model.probes.density.toggle()
        case .cycleMethod:
            // The linear methods, then one sparse-probing method per k the dictionary allows.
            let methods = ProbeMethod.allCases.map { ($0, Int?.none) } + sparseProbeKs().map { (model.probes.method, Int?.some($0)) }
            let current = methods.firstIndex { $0.0 == model.probes.method && $0.1 == model.probes.sparseK } ?? 0
            let next = methods[(current + 1) % methods.count]
            model.probes.method = next.1 == nil ? next.0 : model.probes.method
            model.probes.sparseK = next.1
            model.probes.aligned = TableState()
        case .toggleMetric: model.probes.metric = model.probes.metric == .accuracy ? .auroc : .accuracy
        case .open:
            switch model.probes.pane {
            case .features:
                let features = model.probes.sparseK != nil ? model.probes.chosenLatents : model.probes.alignedFeatures.map(\.feature)
                guard !features.isEmpty else {
                    setMessage(model.probes.sparseK != nil ? "no latents chosen yet" : "no aligned features yet", isError: false)
                    return
                }
                openFeature(features[min(model.probes.aligned.selected, features.count - 1)])
                return
            case .matrix:
                model.probes.pane = .features
            case .pca:
                setMessage("Tab to the probes, then Enter opens a feature aligned with the selected probe", isError: false)
            }
        }
        ensureProbeJobs()
    }

    /// Arrow keys and paging: training sets in the matrix, entries in the aligned-features list.
    func moveProbes(_ command: Command) {
        switch model.probes.pane {
        case .pca:
            break
        case .matrix:
            let rows = model.probes.trainSpecs.count
            switch command {
            case .up: model.probes.row -= 1
            case .down: model.probes.row += 1
            case .top, .pageUp: model.probes.row = 0
            case .bottom, .pageDown: model.probes.row = rows - 1
            default: break
            }
            model.probes.row = min(max(0, model.probes.row), max(0, rows - 1))
            model.probes.aligned = TableState()
            ensureProbeJobs()
        case .features:
            let rows = model.probes.featureRowCount
            var state = model.probes.aligned
            switch command {
            case .up: state.move(by: -1, rowCount: rows)
            case .down: state.move(by: 1, rowCount: rows)
            case .pageUp: state.page(-1, visibleRows: model.probes.alignedVisibleRows, rowCount: rows)
            case .pageDown: state.page(1, visibleRows: model.probes.alignedVisibleRows, rowCount: rows)
            case .top: state.moveToStart()
            case .bottom: state.moveToEnd(rowCount: rows)
            default: break
            }
            model.probes.aligned = state
        }
    }

    /// The k of the sparse-probing methods: SAEBench's, those at most F, when the dictionary's
    /// width is the datasets' (none otherwise).
    func sparseProbeKs() -> [Int] {
        guard let first = model.probes.datasets?.first, first.dimension == session.sae.inputDimension else { return [] }
        return ProbesState.sparseKs.filter { $0 <= session.sae.featureCount }
    }

    private func stepComponents(_ delta: Int) {
        let available = model.probes.projections[model.probes.basis]?.ratios.count ?? ProbesState.maxComponents
        model.probes.componentOffset = min(max(0, model.probes.componentOffset + delta), max(0, available - 2))
    }

    /// After the label changes, the matrix may have fewer rows and columns.
    private func clampProbeSelection() {
        model.probes.row = min(model.probes.row, max(0, model.probes.trainSpecs.count - 1))
        model.probes.column = min(model.probes.column, max(0, model.probes.probeDatasets.count - 1))
        model.probes.aligned = TableState()
    }

    /// Forgets failed and cancelled jobs of the current choices, so showing the screen again retries them.
    private func retryEndedProbeJobs() {
        func ended(_ id: JobCenter.ID?) -> Bool {
            guard let id, let status = model.jobs.first(where: { $0.id == id }) else { return false }
            return status.state != .running && status.state != .finished
        }
        if ended(model.probes.pcaJob?.id) { model.probes.pcaJob = nil }
        if ended(model.probes.matrixJob?.id) { model.probes.matrixJob = nil }
        if ended(model.probes.alignmentJob?.id) { model.probes.alignmentJob = nil }
        if ended(model.probes.sparseJob?.id) { model.probes.sparseJob = nil }
    }

    /// Starts the jobs the probes screen needs for its current choices: the PCA of the basis, the
    /// matrix of the method and label, and the alignment of the selected probe. Only while the
    /// screen is shown, so nothing competes with indexing until it is asked for.
    func ensureProbeJobs() {
        guard model.screen == .probes, let datasets = model.probes.datasets, let first = datasets.first else { return }
        let p = model.probes

        let basisKey = p.basis
        if p.projections[basisKey] == nil, p.pcaJob?.key != basisKey {
            let names = p.basisNames(basisKey)
            let id = startJob(kind: "pca", title: "PCA of \(names.joined(separator: "+"))", work: { context in
                try ProbeComputations.project(datasets: datasets, basis: names, context: context)
            }, done: { [weak self] value in
                guard let self, let projection = value as? PCAProjection else { return }
                model.probes.projections[basisKey] = projection
                if model.probes.pcaJob?.key == basisKey { model.probes.pcaJob = nil }
                model.probes.componentOffset = min(model.probes.componentOffset, max(0, projection.ratios.count - 2))
            })
            model.probes.pcaJob = ProbeJob(key: basisKey, id: id)
        }

        let matrixKey = p.matrixKey
        let labelled = p.probeDatasets, specs = p.trainSpecs
        if let sparseKey = p.sparseKey {
            // Sparse probing: its own matrix; the chosen latents are listed, nothing is aligned.
            if p.sparseMatrices[sparseKey] == nil, p.sparseJob?.key != sparseKey, !labelled.isEmpty {
                let sae = session.sae, codes = p.latentCodes
                let id = startJob(kind: "probe-sparse", title: "sae top-\(sparseKey.k) probes on \(sparseKey.label)", work: { context in
                    try ProbeComputations.sparse(datasets: labelled, codes: codes, sae: sae, trainSpecs: specs, key: sparseKey, context: context)
                }, done: { [weak self] value in
                    guard let self, let outcome = value as? SparseOutcome else { return }
                    model.probes.latentCodes.merge(outcome.codes) { kept, _ in kept }
                    model.probes.sparseMatrices[sparseKey] = outcome.matrix
                    if model.probes.sparseJob?.key == sparseKey { model.probes.sparseJob = nil }
                })
                model.probes.sparseJob = ProbeJob(key: sparseKey, id: id)
            }
            return
        }
        if p.matrices[matrixKey] == nil, p.matrixJob?.key != matrixKey, !labelled.isEmpty {
            let id = startJob(kind: "probe-matrix", title: "\(matrixKey.method.rawValue) probes on \(matrixKey.label)", work: { context in
                try ProbeComputations.matrix(datasets: labelled, trainSpecs: specs, key: matrixKey, context: context)
            }, done: { [weak self] value in
                guard let self, let matrix = value as? GeneralizationMatrix else { return }
                model.probes.matrices[matrixKey] = matrix
                if model.probes.matrixJob?.key == matrixKey { model.probes.matrixJob = nil }
                ensureProbeJobs()
            })
            model.probes.matrixJob = ProbeJob(key: matrixKey, id: id)
        }

        let alignmentKey = p.alignmentKey
        guard let matrix = p.matrices[matrixKey], p.row < matrix.probes.count, session.sae.inputDimension == first.dimension, session.sae.outputDimension == first.dimension,
              p.alignments[alignmentKey] == nil, p.alignmentJob?.key != alignmentKey else { return }
        let direction = matrix.probes[p.row].direction
        let sae = session.sae, aligner = p.aligner, dead = deadFeatures()
        let id = startJob(kind: "probe-align", title: "features aligned with the \(matrixKey.method.rawValue) probe trained on \(matrix.trainSets[p.row])", work: { context in
            try ProbeComputations.align(direction: direction, sae: sae, aligner: aligner, excluding: dead, context: context)
        }, done: { [weak self] value in
            guard let self, let outcome = value as? AlignmentOutcome else { return }
            model.probes.aligner = outcome.aligner
            model.probes.alignments[alignmentKey] = outcome.result
            if model.probes.alignmentJob?.key == alignmentKey { model.probes.alignmentJob = nil }
        })
        model.probes.alignmentJob = ProbeJob(key: alignmentKey, id: id)
    }
}
