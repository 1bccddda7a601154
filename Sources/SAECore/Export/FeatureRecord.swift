import Foundation

/// One exemplar as exports show it: its tokens as text, the feature's activation on each, and
/// the position of the token it was chosen for.
public struct ExportedExemplar: Sendable {
    public var tokens: [String]
    public var values: [Float]
    public var qualifyingTokenIndex: Int
    public var activation: Float
    public var row: Int
    /// For interval exemplars: the interval and its share of the feature's activations (-1 for top exemplars).
    public var binMin: Float
    public var binMax: Float
    public var binContains: Double
}

/// One logit effect as exports show it: the token id, its text, and `W_dec[f] · W_U[:, id]`.
public struct ExportedLogit: Sendable, Equatable {
    public var token: Int
    public var text: String
    public var value: Float
}

/// Everything an export says about one feature, gathered from the index (and the dictionary).
public struct FeatureRecord: Sendable {
    public var feature: Int
    public var density: Double
    public var count: Int
    public var maxActivation: Float
    public var meanActivation: Double
    public var histogramCenters: [Float]
    public var histogramCounts: [Int]
    public var top: [ExportedExemplar]
    public var intervals: [ExportedExemplar]
    public var decoder: [Float]?
    /// The tokens whose logits the feature raises most, highest first (empty without an unembedding).
    public var positiveLogits: [ExportedLogit]
    /// The tokens whose logits it lowers most, lowest first (empty without an unembedding).
    public var negativeLogits: [ExportedLogit]
    /// All V logit effects binned, when computed (see `LogitHistogram`).
    public var logitHistogram: LogitHistogram?
    /// The user's label, notes, tags, status and imported explanations, when the feature has any.
    public var label: FeatureLabel?

    /// `tokenText` turns a token id into display text (see `TokenizerVocabulary.piece`); `logits`
    /// are the feature's logit effects when an unembedding was supplied (see `LogitEffects`).
    public init(index: FeatureIndex, feature j: Int, tokenText: (Int32) -> String, decoder: [Float]?, logits: FeatureLogitEffects? = nil) {
        feature = j
        density = index.density(j)
        count = Int(index.tables.count[j])
        maxActivation = index.maxActivation(j)
        meanActivation = index.meanActivation(j)
        let histogram = index.histogram(j)
        let bins = histogram.counts.count
        histogramCenters = (0..<bins).map { histogram.upperEdge * (Float($0) + 0.5) / Float(bins) }
        histogramCounts = histogram.counts.map { Int($0) }
        let context = index.options.context
        func exported(_ exemplar: Exemplar, binMin: Float, binMax: Float, binContains: Double) -> ExportedExemplar {
            var tokens: [String] = [], values: [Float] = [], qualifying = 0
            for (position, id) in exemplar.contextTokens.enumerated() where id >= 0 {
                if position == context { qualifying = tokens.count }
                tokens.append(tokenText(id))
                let value = exemplar.contextActivations[position]
                values.append(value.isNaN ? 0 : value)
            }
            return ExportedExemplar(tokens: tokens, values: values, qualifyingTokenIndex: qualifying, activation: exemplar.value,
                                    row: exemplar.row, binMin: binMin, binMax: binMax, binContains: binContains)
        }
        top = index.topExemplars(j).map { exported($0, binMin: -1, binMax: index.maxActivation(j), binContains: -1) }
        intervals = index.intervalExemplars(j).flatMap { interval in
            interval.exemplars.map { exported($0, binMin: interval.lower, binMax: interval.upper, binContains: interval.share) }
        }
        self.decoder = decoder
        func logit(_ effect: TokenEffect) -> ExportedLogit {
            ExportedLogit(token: effect.token, text: tokenText(Int32(clamping: effect.token)), value: effect.value)
        }
        positiveLogits = logits?.positive.map(logit) ?? []
        negativeLogits = logits?.negative.map(logit) ?? []
        logitHistogram = logits?.histogram
    }
}
