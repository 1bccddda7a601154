/// The core metrics of SAEBench (`evals/core/main.py`) that need no model run, beside saescope's
/// own `DictionaryMetrics`: feature-density shares from one eval pass, the weight-based cosines,
/// and the projection scale. Each definition is in `CoreMetrics.definitions`.
public struct CoreMetrics: Sendable, Equatable {
    public var freqOver1Percent: Double
    public var freqOver10Percent: Double
    public var normalizedFreqOver1Percent: Double
    public var normalizedFreqOver10Percent: Double
    public var averageMaxDecoderCosineSim: Double
    public var averageMaxEncoderCosineSim: Double
    public var encoderDecoderCosineSim: Double
    public var projectionScale: Double
    /// Mean over the features that fired of SAEBench's per-feature consistent_activation_heuristic
    /// (tokens it fires on / sequences it fires in); NaN without `sequences`.
    public var meanConsistentActivationHeuristic: Double

    /// `fireCounts[i]`: tokens (of `tokens`) on which feature i fired; without `weights` the
    /// three cosine figures are NaN (not computed), without `sequences` the heuristic.
    public init(fireCounts: [Int], tokens: Int, projectionScale: Double, weights: WeightMetrics?,
                sequences: FeatureSequenceCounter? = nil) {
        let densities = fireCounts.map { Double($0) / Double(max(tokens, 1)) }
        let total = densities.reduce(0, +)
        func fraction(over threshold: Double) -> Double {
            Double(densities.lazy.filter { $0 > threshold }.count) / Double(max(densities.count, 1))
        }
        // SAEBench reports 0 when no feature fired.
        func share(over threshold: Double) -> Double {
            total > 0 ? densities.lazy.filter { $0 > threshold }.reduce(0, +) / total : 0
        }
        freqOver1Percent = fraction(over: 0.01)
        freqOver10Percent = fraction(over: 0.1)
        normalizedFreqOver1Percent = share(over: 0.01)
        normalizedFreqOver10Percent = share(over: 0.1)
        averageMaxDecoderCosineSim = weights?.averageMaxDecoderCosine ?? .nan
        averageMaxEncoderCosineSim = weights?.averageMaxEncoderCosine ?? .nan
        encoderDecoderCosineSim = weights?.meanEncoderDecoderCosine ?? .nan
        self.projectionScale = projectionScale
        let fired = sequences?.consistentActivationHeuristic.filter { !$0.isNaN } ?? []
        meanConsistentActivationHeuristic = fired.isEmpty ? .nan : fired.reduce(0, +) / Double(fired.count)
    }

    public struct Definition: Sendable {
        public let key: String
        public let label: String
        public let definition: String
        public let value: @Sendable (CoreMetrics) -> Double
    }

    public static let definitions: [Definition] = [
        .init(key: "freq_over_1_percent", label: "features over 1% density",
              definition: "fraction of features whose density (share of evaluated tokens on which the code is nonzero) exceeds 0.01",
              value: { $0.freqOver1Percent }),
        .init(key: "freq_over_10_percent", label: "features over 10% density",
              definition: "fraction of features whose density exceeds 0.1",
              value: { $0.freqOver10Percent }),
        .init(key: "normalized_freq_over_1_percent", label: "firing share over 1% density",
              definition: "sum of the densities of the features above 0.01 / sum of all densities (0 when nothing fired)",
              value: { $0.normalizedFreqOver1Percent }),
        .init(key: "normalized_freq_over_10_percent", label: "firing share over 10% density",
              definition: "sum of the densities of the features above 0.1 / sum of all densities (0 when nothing fired)",
              value: { $0.normalizedFreqOver10Percent }),
        .init(key: "average_max_decoder_cosine_sim", label: "mean max decoder cosine",
              definition: "mean over features i of max over j != i of cos(W_dec[i], W_dec[j]) (from the weights; a zero row has cosine 0)",
              value: { $0.averageMaxDecoderCosineSim }),
        .init(key: "average_max_encoder_cosine_sim", label: "mean max encoder cosine",
              definition: "mean over features i of max over j != i of cos(W_enc[:, i], W_enc[:, j]) (from the weights)",
              value: { $0.averageMaxEncoderCosineSim }),
        .init(key: "encoder_decoder_cosine_sim", label: "mean encoder-decoder cosine",
              definition: "mean over features i of cos(W_enc[:, i], W_dec[i]) (SAEBench reports it per feature)",
              value: { $0.encoderDecoderCosineSim }),
        .init(key: "projection_scale", label: "projection scale",
              definition: "E<x, x_hat> / E||x_hat||^2: the factor by which x_hat must be scaled to best approximate x; 1 / relative reconstruction bias (which of the two measures shrinkage is debated)",
              value: { $0.projectionScale }),
        .init(key: "mean_consistent_activation_heuristic", label: "mean tokens per firing sequence",
              definition: "mean over the features that fired of consistent_activation_heuristic = tokens on which the feature is > 0 / sequences in which it is > 0 at least once (SAEBench reports it per feature: eval --saebench-json)",
              value: { $0.meanConsistentActivationHeuristic }),
    ]
}
