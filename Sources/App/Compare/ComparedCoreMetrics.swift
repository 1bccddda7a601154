import SAECore
import TUI
import Widgets

/// The compare screen's rows of SAEBench's core metrics: A's from its index and the overview's
/// weight cosines, B's from its index and its own weight-cosine job (see `IndexCoreMetrics`).
extension AppController {
    /// Core-metric columns in the order they are dropped last when the panel is narrow.
    private static let corePriority = ["projection_scale", "average_max_decoder_cosine_sim", "freq_over_10_percent",
                                       "normalized_freq_over_10_percent", "freq_over_1_percent", "normalized_freq_over_1_percent",
                                       "average_max_encoder_cosine_sim", "encoder_decoder_cosine_sim"]
    private static let coreColumn = 11
    private static let weightKeys: Set<String> = ["average_max_decoder_cosine_sim", "average_max_encoder_cosine_sim", "encoder_decoder_cosine_sim"]

    /// A header and a row each for A and B (`sides`: their indexes); a cosine still being
    /// computed reads as an ellipsis, a density share the index cannot give (min-act) as n/a.
    func comparedCoreMetricLines(_ state: ComparisonState, sides: [FeatureIndex?], width: Int, ellipsis: String) -> [(text: String, style: Style)] {
        let fitting = max(0, (width - 2) / Self.coreColumn)
        let chosen = Set(Self.corePriority.prefix(fitting))
        let columns = CoreMetrics.definitions.filter { chosen.contains($0.key) }
        var lines: [(text: String, style: Style)] = [
            ("  " + columns.map { Text.fit($0.shortLabel, width: Self.coreColumn, alignment: .right) }.joined(), Style(.title, [.bold])),
        ]
        for (name, index, weights) in [("A", sides[0], model.overview.weights), ("B", sides[1], state.weights)] {
            let core = index.map { IndexCoreMetrics.compute(index: $0, weights: weights) }
            let cells = columns.map { column -> String in
                guard let core else { return "-" }
                if Self.weightKeys.contains(column.key) { return weights == nil ? ellipsis : NumberFormat.metric(column.value(core.metrics)) }
                return core.densitiesKnown || column.key == "projection_scale" ? NumberFormat.metric(column.value(core.metrics)) : "n/a"
            }
            lines.append((name + " " + cells.map { Text.fit($0, width: Self.coreColumn, alignment: .right) }.joined(), .fg(.text)))
        }
        return lines
    }
}
