/// Dictionary-wide reconstruction and sparsity metrics over a set of tokens.
/// Each field's definition is in `MetricDefinition.all`, which the CLI and UI show.
public struct DictionaryMetrics: Sendable, Equatable, Codable {
    public var mse: Double
    public var explainedVariance: Double
    public var explainedVarianceDictionaryLearning: Double
    public var fvu: Double
    public var l0: Double
    public var l1: Double
    public var fracAlive: Double
    public var cosSim: Double
    public var relativeReconstructionBias: Double
    public var l2Ratio: Double
    public var tokenCount: Int
    public var skippedCount: Int

    enum CodingKeys: String, CodingKey {
        case mse
        case explainedVariance = "explained_variance"
        case explainedVarianceDictionaryLearning = "explained_variance_dictionary_learning"
        case fvu, l0, l1
        case fracAlive = "frac_alive"
        case cosSim = "cos_sim"
        case relativeReconstructionBias = "relative_reconstruction_bias"
        case l2Ratio = "l2_ratio"
        case tokenCount = "n_tokens"
        case skippedCount = "n_skipped"
    }
}

/// A metric's name, key and exact definition, for tables and the "definition on demand" view.
public struct MetricDefinition: Sendable {
    public let key: String
    public let label: String
    public let definition: String
    public let value: @Sendable (DictionaryMetrics) -> Double

    public static let all: [MetricDefinition] = [
        .init(key: "mse", label: "MSE",
              definition: "mean over tokens of sum_d (x - x_hat)^2 (dictionary_learning's l2_loss is the unsquared norm; some code also divides by D)",
              value: { $0.mse }),
        .init(key: "explained_variance", label: "explained variance",
              definition: "1 - sum_t ||x - x_hat||^2 / sum_t ||x - mean(x)||^2 over all evaluated tokens (SAELens' current definition)",
              value: { $0.explainedVariance }),
        .init(key: "explained_variance_dictionary_learning", label: "explained variance (dictionary_learning)",
              definition: "1 - sum_d var(x_d - x_hat_d) / sum_d var(x_d): the residual is centred (dictionary_learning's definition, here over all tokens rather than per batch)",
              value: { $0.explainedVarianceDictionaryLearning }),
        .init(key: "fvu", label: "FVU",
              definition: "sum_t ||x - x_hat||^2 / sum_t ||x - mean(x)||^2 (sparsify's fraction of variance unexplained; 1 - explained variance)",
              value: { $0.fvu }),
        .init(key: "l0", label: "L0",
              definition: "mean over tokens of the number of nonzero features",
              value: { $0.l0 }),
        .init(key: "l1", label: "L1",
              definition: "mean over tokens of sum_j |f_j|",
              value: { $0.l1 }),
        .init(key: "frac_alive", label: "fraction alive",
              definition: "fraction of features nonzero on at least one evaluated token (few tokens undercount)",
              value: { $0.fracAlive }),
        .init(key: "cos_sim", label: "cosine similarity",
              definition: "mean over tokens of cos(x, x_hat), norms clamped at 1e-8 as torch does",
              value: { $0.cosSim }),
        .init(key: "relative_reconstruction_bias", label: "relative reconstruction bias",
              definition: "E||x_hat||^2 / E<x, x_hat>: 1 means no shrinkage, below 1 the dictionary shrinks",
              value: { $0.relativeReconstructionBias }),
        .init(key: "l2_ratio", label: "L2 ratio",
              definition: "mean over tokens of ||x_hat|| / ||x|| (tokens with x = 0 left out)",
              value: { $0.l2Ratio }),
    ]

    /// A column header for side-by-side tables (`compare`, the compare screen).
    public var shortLabel: String { Self.shortLabels[key] ?? label }

    private static let shortLabels: [String: String] = [
        "mse": "MSE", "explained_variance": "EV", "explained_variance_dictionary_learning": "EV(dl)", "fvu": "FVU",
        "l0": "L0", "l1": "L1", "frac_alive": "alive", "cos_sim": "cos", "relative_reconstruction_bias": "rel.bias",
        "l2_ratio": "L2 ratio",
    ]
}
