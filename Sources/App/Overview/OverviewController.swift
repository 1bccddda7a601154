import Foundation
import SAECore
import TUI
import Widgets

/// The overview's own commands, carried by `Command.overview`.
public enum OverviewCommand: Equatable, Sendable {
    case nextPane, cycleFigure, left, right, enter
}

extension Keymaps {
    static let overview = Keymap<Command>([
        Binding([.enter], "definitions / open (map)", .overview(.enter), group: "Overview"),
        Binding([.char("r")], "re-index with settings", .reindex, group: "Overview"),
        Binding([.tab, .backTab], "metrics / map", .overview(.nextPane), label: "Tab", group: "Overview"),
        Binding([.char("f")], "map figure", .overview(.cycleFigure), group: "Overview"),
        Binding([.left, .char("h")], "map: nearest feature left", .overview(.left), hint: false, group: "Overview"),
        Binding([.right, .char("l")], "map: nearest feature right", .overview(.right), hint: false, group: "Overview"),
    ]).layered(over: movement).layered(over: global)
}

/// The overview's side of the controller: its panes, the map's cursor and figure, and the job
/// that computes the dictionary's weight cosines (never on the UI thread: F^2 D multiply-adds).
extension AppController {
    func performOverview(_ command: OverviewCommand) {
        switch command {
        case .nextPane:
            model.overview.pane = model.overview.pane == .metrics ? .map : .metrics
            placeMapCursor()
        case .cycleFigure:
            let all = MapFigure.allCases
            model.overview.figure = all[(all.firstIndex(of: model.overview.figure)! + 1) % all.count]
            // The cursor stays on its feature: where a dense feature sits on the cosine figures
            // is the question the map answers.
            placeMapCursor()
        case .left: moveMapCursor(.left)
        case .right: moveMapCursor(.right)
        case .enter:
            if model.overview.pane == .metrics {
                model.showDefinitions.toggle()
            } else if let j = model.overview.mapFeature {
                openFeature(j)
            } else {
                setMessage("the map is still computing its figure", isError: false)
            }
        }
    }

    /// Up and down: the metrics cursor, or the map's cursor to the nearest feature that way.
    func moveOverview(_ command: Command) {
        if model.overview.pane == .map {
            switch command {
            case .up: moveMapCursor(.up)
            case .down: moveMapCursor(.down)
            default: break
            }
            return
        }
        var state = TableState(selected: model.overviewSelection)
        moveTable(&state, command, rowCount: overviewMetricRows().count, page: 5)
        model.overviewSelection = state.selected
    }

    /// The map's features for the current figure, or nil while its figure is being computed.
    func mapPoints() -> DictionaryMapPoints? {
        guard let index = model.index,
              let figure = model.overview.figure.values(index: index, weights: model.overview.weights) else { return nil }
        return DictionaryMapPoints(index: index, figure: figure)
    }

    private func placeMapCursor() {
        if model.overview.mapFeature == nil { model.overview.mapFeature = mapPoints()?.largest }
    }

    private func moveMapCursor(_ direction: DictionaryMapPoints.Direction) {
        guard model.overview.pane == .map else { return }
        guard let points = mapPoints() else { setMessage("the map is still computing its figure", isError: false); return }
        guard let from = model.overview.mapFeature ?? points.largest else { return }
        model.overview.mapFeature = points.nearest(from: from, direction) ?? from
    }

    /// Starts the weight-cosine job of the dictionary browsed, once per session (the map's cosine
    /// figures and the core metrics' cosine rows wait for it); a failed or cancelled one is
    /// retried when the overview (or compare screen) is shown again.
    func ensureWeightMetrics() {
        guard model.overview.weights == nil, !isPendingOrRunning(model.overview.weightsJob) else { return }
        // An index file written by `saescope index` carries them: no job then.
        if let stored = model.index?.coreStatistics?.weights {
            model.overview.weights = stored
            placeMapCursor()
            return
        }
        model.overview.weightsJob = startWeightMetricsJob(session.sae, name: session.name, kind: "weight-cosines") { [weak self] weights in
            self?.model.overview.weights = weights
            self?.placeMapCursor()
        }
    }

    /// The same for the compared dictionary B (the compare screen's core-metric rows).
    func ensureComparedWeightMetrics() {
        guard let state = model.comparison, state.weights == nil, !isPendingOrRunning(state.weightsJob) else { return }
        let id = startWeightMetricsJob(state.other.sae, name: state.other.name, kind: "weight-cosines-b") { [weak self] weights in self?.model.comparison?.weights = weights }
        model.comparison?.weightsJob = id
    }

    /// Whether job `id` runs, or has finished with its result not yet handed over.
    private func isPendingOrRunning(_ id: JobCenter.ID?) -> Bool {
        guard let id, let status = model.jobs.first(where: { $0.id == id }) else { return false }
        return status.state == .running || status.state == .finished
    }

    /// (A job of the same kind supersedes a running one: A's and B's have their own kinds.)
    private func startWeightMetricsJob(_ sae: SparseAutoencoder, name: String, kind: String, done: @escaping (WeightMetrics) -> Void) -> JobCenter.ID {
        startJob(kind: kind, title: "weight cosines of \(name) (F=\(sae.featureCount))", work: { context in
            context.progress(nil, "max decoder and encoder cosines (blocked sgemm)")
            return try WeightMetrics(sae: sae) { context.isCancelled }
        }, done: { value in
            if let weights = value as? WeightMetrics { done(weights) }
        })
    }
}
