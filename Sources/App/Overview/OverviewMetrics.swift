import Foundation
import SAECore

/// A row of the overview's metrics table: a label, its definition (shown below the table) and
/// its value, or why there is none yet.
public struct OverviewMetricRow: Sendable {
    public var key: String
    public var label: String
    public var definition: String
    public enum Value: Sendable, Equatable {
        case number(Double)
        /// Waiting for the weight-cosine job.
        case computing
        /// Not computable from this index (the definition says why).
        case unavailable
    }
    public var value: Value
}

/// SAEBench's core metrics for the index on screen, from what the index pass and the weights
/// give: densities from the per-feature fire counts, the projection scale from the pass's sums,
/// the three cosine figures from the weight-cosine job.
///
/// Where the fire counts come from is `fireCounts(_:)`, the one place to change when the index
/// file carries the core metrics itself (then its stored figures take over there).
enum IndexCoreMetrics {
    /// Tokens each feature fired on (nonzero code) in the index's pass, when the index knows them:
    /// the pass's own counts while it is in memory; read from a file, the per-feature counts,
    /// which are the same counts unless `min-act` thresholded them (then nil).
    static func fireCounts(_ index: FeatureIndex) -> [Int]? {
        if let counts = index.metrics.featureFireCounts { return counts }
        guard index.options.minActivation <= 0 else { return nil }
        return index.tables.count.map { Int($0) }
    }

    static func compute(index: FeatureIndex, weights: WeightMetrics?) -> (metrics: CoreMetrics, densitiesKnown: Bool) {
        let counts = fireCounts(index)
        let metrics = CoreMetrics(fireCounts: counts ?? [], tokens: index.tokenCount,
                                  projectionScale: index.inputDimension > 0 ? index.metrics.projectionScale : .nan, weights: weights,
                                  sequences: index.coreStatistics?.sequences)
        return (metrics, counts != nil)
    }
}

extension AppController {
    /// The overview's rows: `saescope eval`'s metrics, the two shrinkage measures side by side,
    /// then SAEBench's core metrics.
    public func overviewMetricRows() -> [OverviewMetricRow] {
        guard let index = model.index else { return [] }
        let metrics = index.metrics.result()
        let (core, densitiesKnown) = IndexCoreMetrics.compute(index: index, weights: model.overview.weights)
        let coreDefinitions = Dictionary(uniqueKeysWithValues: CoreMetrics.definitions.map { ($0.key, $0) })
        let shrinkage = " One of the two shrinkage measures (with projection scale, its reciprocal): researchers disagree on which is right."
        var rows: [OverviewMetricRow] = []
        for definition in MetricDefinition.all {
            if definition.key == "relative_reconstruction_bias" {
                rows.append(OverviewMetricRow(key: definition.key, label: "shrinkage: rel. bias",
                                              definition: definition.definition + "." + shrinkage, value: .number(definition.value(metrics))))
                let scale = coreDefinitions["projection_scale"]!
                rows.append(OverviewMetricRow(key: scale.key, label: "shrinkage: proj. scale",
                                              definition: scale.definition, value: .number(scale.value(core))))
            } else {
                rows.append(OverviewMetricRow(key: definition.key, label: definition.label, definition: definition.definition,
                                              value: .number(definition.value(metrics))))
            }
        }
        let weightKeys: Set<String> = ["average_max_decoder_cosine_sim", "average_max_encoder_cosine_sim", "encoder_decoder_cosine_sim"]
        for definition in CoreMetrics.definitions where definition.key != "projection_scale" {
            var row = OverviewMetricRow(key: definition.key, label: definition.label, definition: definition.definition,
                                        value: .number(definition.value(core)))
            if weightKeys.contains(definition.key) {
                if model.overview.weights == nil { row.value = .computing }
            } else if definition.key == "mean_consistent_activation_heuristic" {
                if index.coreStatistics == nil {
                    row.value = .unavailable
                    row.definition += index.provenance.isFromLatentCodes
                        ? ". Not shown: an index of a latent cache (index --codes) does not count sequences."
                        : ". Not shown: this index file was written before sequences were counted (r re-indexes)."
                }
            } else if !densitiesKnown {
                row.value = .unavailable
                row.definition += ". Not shown: this index's counts count only activations at or above min-act "
                    + "\(index.options.minActivation); saescope eval gives it."
            }
            rows.append(row)
        }
        return (rows + modelLossRows()).map { Self.markingUndefined($0, index: index) }
    }

    /// A figure that is not a number reads "n/a" with why, not "nan": an index with no
    /// reconstruction reference (built from a latent cache, or a transcoder's, whose output is
    /// another site) has no squared errors, and a transcoder's two widths have no
    /// encoder-decoder cosine.
    static func markingUndefined(_ row: OverviewMetricRow, index: FeatureIndex) -> OverviewMetricRow {
        guard case .number(let value) = row.value, value.isNaN else { return row }
        var marked = row
        marked.value = .unavailable
        if row.key == "encoder_decoder_cosine_sim" {
            marked.definition += ". Not defined here: the encoder's columns and the decoder's rows have different widths (a transcoder's D_in and D_out)."
        } else if index.provenance.isFromLatentCodes {
            marked.definition += ". Not shown: this index was built from a latent cache (index --codes), which holds codes but no activations."
        } else if index.metrics.inputDimension == 0 {
            marked.definition += ". Not shown: a transcoder's index has no reconstruction reference (saescope eval measures it on a cache with targets)."
        } else {
            marked.definition += ". Not defined on these tokens."
        }
        return marked
    }
}
