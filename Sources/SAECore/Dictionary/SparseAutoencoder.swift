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

/// The canonical form every loader produces: `W_enc [D_in,F]`, `b_enc [F]`, `W_dec [F,D_out]`,
/// `b_dec [D_out]` (all row-major Float32), an activation rule, and the input conventions. Encoding
/// is `f = rule((norm(x) - b_dec·subtract) W_enc + b_enc)`; decoding `x_hat = denorm(f W_dec + b_dec) + x W_skip`.
/// An SAE has `D_out = D_in`; a transcoder reconstructs another site (`targets`), possibly wider or narrower.
public struct SparseAutoencoder: Sendable {
    /// D_in: the width of the activations the encoder reads.
    public let inputDimension: Int
    /// D_out: the width of the decoder's rows and of the reconstruction.
    public let outputDimension: Int
    public let featureCount: Int
    public let encoderWeights: [Float]
    public let encoderBias: [Float]
    public let decoderWeights: [Float]
    public let decoderBias: [Float]
    public let rule: ActivationRule
    public let subtractsDecoderBias: Bool
    public let normalization: InputNormalization
    /// A linear skip connection from the raw input (sparsify `W_skip`, SAELens skip transcoders),
    /// stored as `[D_in, D_out]` so that `x_hat += x S`.
    public let skipWeights: [Float]?
    /// Whether the reconstruction targets another site than the input (a transcoder): its metrics
    /// need the cache's `targets`, never the input.
    public let isTranscoder: Bool
    public let provenance: DictionaryProvenance

    public init(
        inputDimension: Int, featureCount: Int,
        encoderWeights: [Float], encoderBias: [Float],
        decoderWeights: [Float], decoderBias: [Float],
        rule: ActivationRule, subtractsDecoderBias: Bool,
        normalization: InputNormalization = .none, skipWeights: [Float]? = nil,
        outputDimension: Int? = nil, isTranscoder: Bool = false,
        provenance: DictionaryProvenance
    ) throws {
        let d = inputDimension, f = featureCount, out = outputDimension ?? inputDimension
        let shape = out == d ? "D=\(d), F=\(f)" : "D_in=\(d), D_out=\(out), F=\(f)"
        func check(_ name: String, _ count: Int, _ expected: Int) throws {
            guard count == expected else {
                throw SaescopeError("\(name) has \(count) values, expected \(expected) for \(shape)", file: provenance.weightsPath)
            }
        }
        guard d > 0, f > 0, out > 0 else { throw SaescopeError("dictionary has an empty dimension (\(shape))", file: provenance.weightsPath) }
        try check("encoder weights", encoderWeights.count, d * f)
        try check("encoder bias", encoderBias.count, f)
        try check("decoder weights", decoderWeights.count, f * out)
        try check("decoder bias", decoderBias.count, out)
        if let skipWeights { try check("skip weights", skipWeights.count, d * out) }
        // b_dec lives in the output space: subtracting it from the input, or undoing an input
        // normalisation on the output, only means something when the two spaces are the same.
        if out != d {
            guard !subtractsDecoderBias else {
                throw SaescopeError("b_dec cannot be subtracted from the input when D_in=\(d) and D_out=\(out)", file: provenance.weightsPath)
            }
            guard normalization == .none else {
                throw SaescopeError("input normalisation with D_in=\(d) != D_out=\(out) is not supported", file: provenance.weightsPath)
            }
        }
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
        self.outputDimension = out
        self.featureCount = f
        self.encoderWeights = encoderWeights
        self.encoderBias = encoderBias
        self.decoderWeights = decoderWeights
        self.decoderBias = decoderBias
        self.rule = rule
        self.subtractsDecoderBias = subtractsDecoderBias
        self.normalization = normalization
        self.skipWeights = skipWeights
        self.isTranscoder = isTranscoder
        self.provenance = provenance
    }

    /// Decoder row `feature` (its direction in the output space, D_out wide).
    public func decoderRow(_ feature: Int) -> ArraySlice<Float> {
        decoderWeights[feature * outputDimension..<(feature + 1) * outputDimension]
    }

    /// "D=16" for an SAE, "D_in=16 D_out=12" when the two widths differ.
    public var shapeSummary: String {
        outputDimension == inputDimension ? "D=\(inputDimension)" : "D_in=\(inputDimension) D_out=\(outputDimension)"
    }
}
