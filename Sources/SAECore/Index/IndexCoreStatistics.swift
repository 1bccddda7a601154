import Foundation

/// What the index pass records beyond the feature tables for SAEBench's core metrics and the
/// overview's position plot, so the overview and compare show them without re-running eval.
/// Optional in the file: indexes written before it existed load without it.
///
/// In the index file (all optional together, read when `core_feature_sequences` is present):
/// - `core_feature_tokens [F]` int64, `core_feature_sequences [F]` int64: tokens on which each
///   feature is > 0 (and at least --min-act), and sequences in which it is at least once;
/// - `core_position_count [B]` int64, `core_position_squared_error [B]` float64,
///   `core_position_active [B]` float64: rows, sum of ||x - x_hat||^2 and sum of active features per
///   position bucket (`PositionBucket`: 0...31 one each, then [32, 63], [64, 127], ...);
/// - `core_encoder_decoder_cosine`, `core_max_decoder_cosine`, `core_max_encoder_cosine [F]`
///   float32 (absent when the weights were not given: an index built from codes alone);
/// - metadata `core_rows`: JSON {"excluded_special": rows or null, "excluded_ids": text or null},
///   and `core_metrics`: JSON of `CoreMetrics` by key (for readers outside saescope).
public struct IndexCoreStatistics: Sendable {
    public var sequences: FeatureSequenceCounter
    public var positions: PositionMetrics
    public var weights: WeightMetrics?
    /// Rows left out as special tokens (nil: no exclusion was asked).
    public var excludedRows: Int?
    public var excludedIDs: String?

    public init(sequences: FeatureSequenceCounter, positions: PositionMetrics, weights: WeightMetrics?,
                excludedRows: Int?, excludedIDs: String?) {
        self.sequences = sequences
        self.positions = positions
        self.weights = weights
        self.excludedRows = excludedRows
        self.excludedIDs = excludedIDs
    }

    /// Folds in another shard's statistics (disjoint whole sequences). The weight cosines are the
    /// dictionary's, the same in every shard: either side's are kept.
    public mutating func merge(_ other: IndexCoreStatistics) {
        sequences.merge(other.sequences)
        positions.merge(other.positions)
        weights = weights ?? other.weights
        if let a = excludedRows, let b = other.excludedRows { excludedRows = a + b } else { excludedRows = nil }
    }
}

extension FeatureIndex {
    /// SAEBench's core metrics from the index pass (nil for an index file written before they
    /// were recorded: re-index to get them). Densities are the index's (codes at or above
    /// --min-act); the cosines are NaN when the index has no weights.
    public var coreMetrics: CoreMetrics? {
        guard let statistics = coreStatistics, inputDimension > 0 else { return nil }
        return CoreMetrics(fireCounts: tables.count.map { Int($0) }, tokens: tokenCount,
                           projectionScale: metrics.projectionScale, weights: statistics.weights,
                           sequences: statistics.sequences)
    }

    /// Which rows the index covers.
    public var rowCoverage: RowCoverage {
        RowCoverage(evaluated: tokenCount, skipped: metrics.skippedCount,
                    excluded: coreStatistics?.excludedRows, excludedIDs: coreStatistics?.excludedIDs,
                    withoutExclusion: provenance.isFromLatentCodes ? RowCoverage.latentCache
                        : (try? SpecialTokenExclusion.forMetadata(provenance.cacheMetadata, path: provenance.cachePath)) == nil ? RowCoverage.noSpecialIDs : nil)
    }

    /// Computes the dictionary's weight cosines (two blocked GEMMs) into the core statistics.
    public mutating func attachWeightMetrics(_ sae: SparseAutoencoder, isCancelled: () -> Bool = { false }) throws {
        guard coreStatistics != nil else { return }
        coreStatistics!.weights = try WeightMetrics(sae: sae, isCancelled: isCancelled)
    }
}
