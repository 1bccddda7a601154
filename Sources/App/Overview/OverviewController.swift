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
            model.overview.mapFeature = nil
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

    /// Starts the weight-cosine job once per session (the map's cosine figures and the core
    /// metrics' cosine rows wait for it); a failed or cancelled one is retried when the overview
    /// is shown again.
    func ensureWeightMetrics() {
        guard model.overview.weights == nil else { return }
        if let id = model.overview.weightsJob, let status = model.jobs.first(where: { $0.id == id }),
           status.state == .running || status.state == .finished { return }
        let sae = session.sae
        model.overview.weightsJob = startJob(kind: "weight-cosines", title: "weight cosines of \(session.sae.featureCount) features", work: { context in
            context.progress(nil, "max decoder and encoder cosines (blocked sgemm)")
            return try WeightMetrics(sae: sae) { context.isCancelled }
        }, done: { [weak self] value in
            guard let self, let weights = value as? WeightMetrics else { return }
            model.overview.weights = weights
            placeMapCursor()
        })
    }
}
