/// How a dictionary turns pre-activations into feature codes.
public enum ActivationRule: Sendable, Equatable {
    /// `f = ReLU(pre)`.
    case relu
    /// Per token, keep the k largest of `ReLU(pre)` and zero the rest.
    case topK(Int)
    /// sparsify's groupmax: the latents split into k contiguous groups; each keeps its largest `ReLU(pre)`.
    case groupMax(Int)
    /// JumpReLU: `f = pre` where `pre > threshold_j` and `pre > 0`, else 0. A scalar threshold
    /// (dictionary_learning BatchTopK/Matryoshka at inference) is the same rule with equal thresholds.
    case threshold([Float])
    /// Gated SAE: `pre = (x - b_dec) W_enc` (no encoder bias);
    /// `f = 1[pre + gateBias > 0] * ReLU(pre * magnitudeScale + magnitudeBias)`, magnitudeScale = exp(r_mag).
    case gated(gateBias: [Float], magnitudeScale: [Float], magnitudeBias: [Float])

    /// A short human name for tables and `inspect`.
    public var summary: String {
        switch self {
        case .relu: "ReLU"
        case .topK(let k): "top-k (k=\(k))"
        case .groupMax(let k): "groupmax (k=\(k))"
        case .threshold(let values):
            if let first = values.first, values.allSatisfy({ $0 == first }) {
                "threshold (\(first))"
            } else {
                "JumpReLU (per-feature thresholds)"
            }
        case .gated: "gated"
        }
    }
}

/// What is done to each input token before encoding, and undone on the reconstruction.
public enum InputNormalization: Sendable, Equatable {
    case none
    /// SAELens `activation_scaler.json`: encode `x * s`, reconstruction divided by `s`.
    case scale(Float)
    /// SAELens `constant_norm_rescale`: each token scaled to norm sqrt(D), then scaled back.
    case constantNormRescale
    /// SAELens `layer_norm`: each token centred and divided by (std + 1e-5), then restored.
    case layerNorm
}

/// Where a dictionary came from, shown to the user and written into indexes.
public struct DictionaryProvenance: Sendable, Equatable {
    /// `dictionary_learning`, `SAELens` or `sparsify`.
    public var library: String
    /// The class (dictionary_learning) or architecture (SAELens) name as the files spell it.
    public var kind: String
    /// The weights file that was read.
    public var weightsPath: String
    /// The config file that was read, if any.
    public var configPath: String?
    /// Notes on how the files were interpreted (e.g. a decoder normalisation that was applied).
    public var notes: [String]

    public init(library: String, kind: String, weightsPath: String, configPath: String?, notes: [String] = []) {
        self.library = library
        self.kind = kind
        self.weightsPath = weightsPath
        self.configPath = configPath
        self.notes = notes
    }
}

/// The canonical form every loader produces: `W_enc [D,F]`, `b_enc [F]`, `W_dec [F,D]`, `b_dec [D]`
/// (all row-major Float32), an activation rule, and the input conventions. Encoding is
/// `f = rule((norm(x) - b_dec·subtract) W_enc + b_enc)`; decoding `x_hat = denorm(f W_dec + b_dec) + x W_skip`.
public struct SparseAutoencoder: Sendable {
    public let inputDimension: Int
    public let featureCount: Int
    public let encoderWeights: [Float]
    public let encoderBias: [Float]
    public let decoderWeights: [Float]
    public let decoderBias: [Float]
    public let rule: ActivationRule
    public let subtractsDecoderBias: Bool
    public let normalization: InputNormalization
    /// sparsify's optional linear skip connection, stored as `[D_in, D_out]` so that `x_hat += x S`.
    public let skipWeights: [Float]?
    public let provenance: DictionaryProvenance

    public init(
        inputDimension: Int, featureCount: Int,
        encoderWeights: [Float], encoderBias: [Float],
        decoderWeights: [Float], decoderBias: [Float],
        rule: ActivationRule, subtractsDecoderBias: Bool,
        normalization: InputNormalization = .none, skipWeights: [Float]? = nil,
        provenance: DictionaryProvenance
    ) throws {
        let d = inputDimension, f = featureCount
        func check(_ name: String, _ count: Int, _ expected: Int) throws {
            guard count == expected else {
                throw SaescopeError("\(name) has \(count) values, expected \(expected) for D=\(d), F=\(f)", file: provenance.weightsPath)
            }
        }
        guard d > 0, f > 0 else { throw SaescopeError("dictionary has an empty dimension (D=\(d), F=\(f))", file: provenance.weightsPath) }
        try check("encoder weights", encoderWeights.count, d * f)
        try check("encoder bias", encoderBias.count, f)
        try check("decoder weights", decoderWeights.count, f * d)
        try check("decoder bias", decoderBias.count, d)
        if let skipWeights { try check("skip weights", skipWeights.count, d * d) }
        switch rule {
        case .topK(let k), .groupMax(let k):
            guard k > 0, k <= f else { throw SaescopeError("k=\(k) must be between 1 and the \(f) features", file: provenance.weightsPath) }
            if case .groupMax = rule, f % k != 0 {
                throw SaescopeError("groupmax needs the \(f) latents to split evenly into k=\(k) groups", file: provenance.weightsPath)
            }
        case .threshold(let values):
            try check("thresholds", values.count, f)
        case .gated(let gate, let scale, let bias):
            try check("gate bias", gate.count, f)
            try check("magnitude scale", scale.count, f)
            try check("magnitude bias", bias.count, f)
        case .relu:
            break
        }
        self.inputDimension = d
        self.featureCount = f
        self.encoderWeights = encoderWeights
        self.encoderBias = encoderBias
        self.decoderWeights = decoderWeights
        self.decoderBias = decoderBias
        self.rule = rule
        self.subtractsDecoderBias = subtractsDecoderBias
        self.normalization = normalization
        self.skipWeights = skipWeights
        self.provenance = provenance
    }

    /// Decoder row `feature` (its direction in activation space).
    public func decoderRow(_ feature: Int) -> ArraySlice<Float> {
        decoderWeights[feature * inputDimension..<(feature + 1) * inputDimension]
    }
}
