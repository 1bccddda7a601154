/// What a dictionary does to the model's next-token loss when its reconstruction replaces the
/// activation at the hook (`eval --model`). Sums are Float64 over every prediction.
public struct ModelLossMetrics: Sendable {
    public var ceClean = 0.0, ceWithSAE = 0.0, ceZeroAblation = 0.0, ceMeanAblation = 0.0, ceIdentitySplice = 0.0
    public var klWithSAE = 0.0, klZeroAblation = 0.0, klMeanAblation = 0.0, klIdentitySplice = 0.0
    public var predictionCount = 0
    /// The identity splice runs on the first batch only: its predictions, and the clean CE over them.
    public var identityPredictionCount = 0
    public var ceCleanIdentityBatch = 0.0
    /// Whether each sequence's first position was patched even when it holds the BOS id.
    public var patchesBOS = false
    /// Per position t >= 1 of the predicted token: mean clean CE, mean CE with the SAE, predictions.
    public var byPosition: [PositionLoss] = []
    /// Sequences whose model activations were checked against the cache, and the largest
    /// relative row error found (||model - cache|| / ||cache||).
    public var checkedSequences = 0
    public var largestActivationError = 0.0

    public struct PositionLoss: Sendable {
        public var position: Int
        public var ceClean: Double
        public var ceWithSAE: Double
        public var count: Int

        public init(position: Int, ceClean: Double, ceWithSAE: Double, count: Int) {
            self.position = position
            self.ceClean = ceClean
            self.ceWithSAE = ceWithSAE
            self.count = count
        }
    }

    public init() {}

    /// (CE_zero - CE_sae) / (CE_zero - CE_clean): dictionary_learning's and SAELens' formula.
    public var lossRecovered: Double { (ceZeroAblation - ceWithSAE) / (ceZeroAblation - ceClean) }
    public var lossRecoveredMeanAblation: Double { (ceMeanAblation - ceWithSAE) / (ceMeanAblation - ceClean) }
    public var klScore: Double { (klZeroAblation - klWithSAE) / klZeroAblation }

    /// Relative difference between the identity splice's CE and the clean CE over the same predictions.
    public var identitySpliceError: Double { abs(ceIdentitySplice - ceCleanIdentityBatch) / max(abs(ceCleanIdentityBatch), 1e-12) }
}

/// One CE/KL number of `eval --model`: its JSON key, table label and definition (for `--help`).
public struct ModelLossDefinition: Sendable {
    public let key: String
    public let label: String
    public let definition: String
    public let value: @Sendable (ModelLossMetrics) -> Double

    /// `n_predictions`, which is a count rather than one of these numbers.
    public static let predictionsDefinition = "the number of predictions (tokens at positions t >= 1)"

    public static let all: [ModelLossDefinition] = [
        .init(key: "ce_clean", label: "CE clean",
              definition: "mean next-token cross-entropy (nats) of the unmodified model over every position t >= 1 of every sequence (predicting tokens[t] from tokens[<t])") { $0.ceClean },
        .init(key: "ce_with_sae", label: "CE with SAE",
              definition: "the same with the hook's output replaced by the dictionary's reconstruction (saescope's encoder) at the patched positions") { $0.ceWithSAE },
        .init(key: "ce_zero_ablation", label: "CE zero ablation",
              definition: "the same with the hook's output replaced by zeros at the patched positions") { $0.ceZeroAblation },
        .init(key: "ce_mean_ablation", label: "CE mean ablation",
              definition: "the same with the hook's output replaced by its mean over the patched positions of the evaluated tokens") { $0.ceMeanAblation },
        .init(key: "loss_recovered", label: "loss recovered",
              definition: "(ce_zero_ablation - ce_with_sae) / (ce_zero_ablation - ce_clean) (dictionary_learning's and SAELens' formula)") { $0.lossRecovered },
        .init(key: "loss_recovered_mean_ablation", label: "loss recovered (mean abl.)",
              definition: "(ce_mean_ablation - ce_with_sae) / (ce_mean_ablation - ce_clean)") { $0.lossRecoveredMeanAblation },
        .init(key: "kl_with_sae", label: "KL with SAE",
              definition: "mean over the same predictions of KL(p_clean || p_patched), nats summed over the vocabulary, unpatched positions included") { $0.klWithSAE },
        .init(key: "kl_zero_ablation", label: "KL zero ablation", definition: "the same for zero ablation") { $0.klZeroAblation },
        .init(key: "kl_mean_ablation", label: "KL mean ablation", definition: "the same for mean ablation") { $0.klMeanAblation },
        .init(key: "kl_score", label: "KL score", definition: "(kl_zero_ablation - kl_with_sae) / kl_zero_ablation") { $0.klScore },
        .init(key: "ce_identity_splice", label: "CE identity splice",
              definition: "CE with the hook's output replaced by itself through the same splice path (no dictionary), on the first batch of sequences (a check of the splice, run once): must equal the clean CE over the same predictions, which is ce_clean when the first batch holds them all (eval fails beyond 1e-4 relative)") { $0.ceIdentitySplice },
    ]
}
