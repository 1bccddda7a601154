import Foundation

/// Loads dictionaries saved by dictionary_learning (`ae.pt` + `config.json`), dispatching on
/// `config.trainer.dict_class`, and matching what each class's `from_pretrained` + `encode` do.
enum DictionaryLearningLoader {
    static let classes = ["AutoEncoder", "AutoEncoderNew", "GatedAutoEncoder", "JumpReluAutoEncoder",
                          "AutoEncoderTopK", "BatchTopKSAE", "MatryoshkaBatchTopKSAE"]

    static func load(weightsPath: String) throws -> SparseAutoencoder {
        let configPath = ((weightsPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("config.json")
        let trainer: JSONConfig?
        if FileManager.default.fileExists(atPath: configPath) {
            trainer = try JSONConfig.read(path: configPath).object("trainer")
        } else {
            trainer = nil
        }
        let weights = try TorchCheckpoint.read(path: weightsPath)
        let dictClass = try trainer?.string("dict_class") ?? inferClass(from: weights)
        guard classes.contains(dictClass) else {
            throw SaescopeError("unknown dict_class '\(dictClass)' (supported: \(classes.joined(separator: ", ")))",
                                file: trainer == nil ? weightsPath : configPath)
        }
        let shape = try dimensions(dictClass: dictClass, weights: weights, trainer: trainer, configPath: configPath)
        let d = shape.d, f = shape.f
        var notes: [String] = []
        if trainer == nil { notes.append("no config.json beside the weights: class \(dictClass) inferred from the tensor names") }
        let provenance = { DictionaryProvenance(library: "dictionary_learning", kind: dictClass, weightsPath: weightsPath,
                                                configPath: trainer == nil ? nil : configPath, notes: notes) }

        switch dictClass {
        case "AutoEncoder":
            var encoder = try weights.require("encoder.weight", shape: [f, d]).floats()  // [F, D]
            var encoderBias = try weights.require("encoder.bias", shape: [f]).floats()
            var decoder = try weights.require("decoder.weight", shape: [d, f]).floats()  // [D, F]
            let bias = try weights.require("bias", shape: [d]).floats()
            // from_pretrained(normalize_decoder=True) rescales decoder columns to unit norm and
            // compensates in the encoder, unless they are already unit norm (torch.allclose).
            let norms = WeightLayout.rowNorms(WeightLayout.transpose(decoder, rows: d, columns: f), rows: f, columns: d)
            if !norms.allSatisfy({ abs($0 - 1) <= 1e-8 + 1e-5 }) {
                WeightLayout.scaleColumns(&decoder, rows: d, columns: f, by: norms.map { 1 / $0 })
                WeightLayout.scaleRows(&encoder, rows: f, columns: d, by: norms)
                for j in 0..<f { encoderBias[j] *= norms[j] }
                notes.append("decoder columns rescaled to unit norm with the encoder compensating, as AutoEncoder.from_pretrained does")
            }
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f,
                encoderWeights: WeightLayout.transpose(encoder, rows: f, columns: d), encoderBias: encoderBias,
                decoderWeights: WeightLayout.transpose(decoder, rows: d, columns: f), decoderBias: bias,
                rule: .relu, subtractsDecoderBias: true, provenance: provenance())
        case "AutoEncoderNew":
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f,
                encoderWeights: WeightLayout.transpose(try weights.require("encoder.weight", shape: [f, d]).floats(), rows: f, columns: d),
                encoderBias: try weights.require("encoder.bias", shape: [f]).floats(),
                decoderWeights: WeightLayout.transpose(try weights.require("decoder.weight", shape: [d, f]).floats(), rows: d, columns: f),
                decoderBias: try weights.require("decoder.bias", shape: [d]).floats(),
                rule: .relu, subtractsDecoderBias: false, provenance: provenance())
        case "GatedAutoEncoder":
            let magnitudeScale = try weights.require("r_mag", shape: [f]).floats().map { Float(exp(Double($0))) }
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f,
                encoderWeights: WeightLayout.transpose(try weights.require("encoder.weight", shape: [f, d]).floats(), rows: f, columns: d),
                encoderBias: [Float](repeating: 0, count: f),
                decoderWeights: WeightLayout.transpose(try weights.require("decoder.weight", shape: [d, f]).floats(), rows: d, columns: f),
                decoderBias: try weights.require("decoder_bias", shape: [d]).floats(),
                rule: .gated(gateBias: try weights.require("gate_bias", shape: [f]).floats(),
                             magnitudeScale: magnitudeScale,
                             magnitudeBias: try weights.require("mag_bias", shape: [f]).floats()),
                subtractsDecoderBias: true, provenance: provenance())
        case "JumpReluAutoEncoder":
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f,
                encoderWeights: try weights.require("W_enc", shape: [d, f]).floats(),
                encoderBias: try weights.require("b_enc", shape: [f]).floats(),
                decoderWeights: try weights.require("W_dec", shape: [f, d]).floats(),
                decoderBias: try weights.require("b_dec", shape: [d]).floats(),
                rule: .threshold(try weights.require("threshold", shape: [f]).floats()),
                subtractsDecoderBias: false, provenance: provenance())
        case "AutoEncoderTopK", "BatchTopKSAE":
            let k = try integerScalar(weights, "k", trainer: trainer)
            let rule: ActivationRule
            if dictClass == "AutoEncoderTopK" {
                rule = .topK(k)  // encode(use_threshold=False) is the class's default
            } else {
                rule = try thresholdRule(weights, features: f, notes: &notes)
            }
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f,
                encoderWeights: WeightLayout.transpose(try weights.require("encoder.weight", shape: [f, d]).floats(), rows: f, columns: d),
                encoderBias: try weights.require("encoder.bias", shape: [f]).floats(),
                decoderWeights: WeightLayout.transpose(try weights.require("decoder.weight", shape: [d, f]).floats(), rows: d, columns: f),
                decoderBias: try weights.require("b_dec", shape: [d]).floats(),
                rule: rule, subtractsDecoderBias: true, provenance: provenance())
        default:  // MatryoshkaBatchTopKSAE
            _ = try integerScalar(weights, "k", trainer: trainer)
            let rule = try thresholdRule(weights, features: f, notes: &notes)
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f,
                encoderWeights: try weights.require("W_enc", shape: [d, f]).floats(),
                encoderBias: try weights.require("b_enc", shape: [f]).floats(),
                decoderWeights: try weights.require("W_dec", shape: [f, d]).floats(),
                decoderBias: try weights.require("b_dec", shape: [d]).floats(),
                rule: rule, subtractsDecoderBias: true, provenance: provenance())
        }
    }

    /// BatchTopK-style inference: `a * 1[a > threshold]` on `a = ReLU(pre)` with the saved scalar.
    private static func thresholdRule(_ weights: TensorDictionary, features: Int, notes: inout [String]) throws -> ActivationRule {
        let threshold = try attributingErrors(to: weights.source) { try weights.require("threshold").scalar() }
        if threshold < 0 {
            notes.append("threshold is unset (\(threshold)): like the library's encode, every positive pre-activation is kept (plain ReLU)")
        }
        return .threshold([Float](repeating: Float(threshold), count: features))
    }

    private static func integerScalar(_ weights: TensorDictionary, _ name: String, trainer: JSONConfig?) throws -> Int {
        if let tensor = weights[name] {
            let value = try attributingErrors(to: weights.source) { try tensor.scalar() }
            guard value.isFinite, value == value.rounded(), abs(value) < 9.0e15 else {
                throw SaescopeError("tensor '\(name)' holds \(value), not a whole number", file: weights.source)
            }
            return Int(value)
        }
        if let value = try trainer?.int(name) { return value }
        throw SaescopeError("missing tensor '\(name)' and no '\(name)' in config.json", file: weights.source)
    }

    /// D and F from the config when present (checked against the weights later), else from the weights.
    private static func dimensions(dictClass: String, weights: TensorDictionary, trainer: JSONConfig?, configPath: String) throws -> (d: Int, f: Int) {
        if let trainer, let d = try trainer.dimension("activation_dim"), let f = try trainer.dimension("dict_size") {
            return (d, f)
        }
        switch dictClass {
        case "JumpReluAutoEncoder", "MatryoshkaBatchTopKSAE":
            let w = try weights.require("W_enc")
            guard w.rank == 2 else { throw SaescopeError("tensor 'W_enc' has shape \(w.shape), expected [D, F]", file: weights.source) }
            return (w.shape[0], w.shape[1])
        default:
            let w = try weights.require("encoder.weight")
            guard w.rank == 2 else { throw SaescopeError("tensor 'encoder.weight' has shape \(w.shape), expected [F, D]", file: weights.source) }
            return (w.shape[1], w.shape[0])
        }
    }

    /// Without a config, the tensor names tell the class apart.
    private static func inferClass(from weights: TensorDictionary) throws -> String {
        let names = Set(weights.tensors.keys)
        if names.contains("group_sizes") { return "MatryoshkaBatchTopKSAE" }
        if names.contains("r_mag") { return "GatedAutoEncoder" }
        if names.contains("W_enc") && names.contains("threshold") { return "JumpReluAutoEncoder" }
        if names.contains("k") && names.contains("encoder.weight") { return "AutoEncoderTopK" }
        if names.contains("bias") && names.contains("encoder.weight") { return "AutoEncoder" }
        if names.contains("decoder.bias") { return "AutoEncoderNew" }
        throw SaescopeError("cannot tell which dictionary_learning class these weights are (no config.json; tensors: \(names.sorted().joined(separator: ", ")))", file: weights.source)
    }
}
