import Foundation

/// Loads EleutherAI sparsify hookpoint directories (`cfg.json` + `sae.safetensors`):
/// `f = top-k (or groupmax) of ReLU((x - b_dec) W_enc^T + b)`, `x_hat = f W_dec + b_dec (+ x W_skip^T)`.
/// A transcoder (`transcode: true`) encodes x without subtracting b_dec and reconstructs another
/// site of the same width (sparsify's `SparseCoder` sizes W_dec, b_dec and W_skip by d_in).
enum SparsifyLoader {
    static func load(directory: String) throws -> SparseAutoencoder {
        let configPath = (directory as NSString).appendingPathComponent("cfg.json")
        let weightsPath = (directory as NSString).appendingPathComponent("sae.safetensors")
        let config = try JSONConfig.read(path: configPath)
        let weights = try Safetensors.read(path: weightsPath)
        let transcoder = try config.bool("transcode") ?? false
        let d = try config.requireDimension("d_in")
        var f = try config.int("num_latents") ?? 0
        guard f >= 0 else { throw SaescopeError("config key 'num_latents' is \(f); a feature count must be at least 0 (0: d_in x expansion_factor)", file: configPath) }
        if f == 0 {
            let expansion = try config.int("expansion_factor") ?? 32
            let (product, overflow) = d.multipliedReportingOverflow(by: expansion)
            guard !overflow, d > 0, expansion > 0 else {
                throw SaescopeError("d_in (\(d)) x expansion_factor (\(expansion)) is not a usable feature count", file: configPath)
            }
            f = product
        }
        let k = try config.int("k") ?? 32
        let activation = try config.string("activation") ?? "topk"
        let rule: ActivationRule
        switch activation {
        case "topk": rule = .topK(k)
        case "groupmax": rule = .groupMax(k)
        default: throw SaescopeError("unsupported sparsify activation '\(activation)'", file: configPath)
        }
        var skip: [Float]?
        if let skipTensor = weights["W_skip"] {
            guard skipTensor.shape == [d, d] else {
                throw SaescopeError("tensor 'W_skip' has shape \(skipTensor.shape), expected [d_in, d_in] = [\(d), \(d)]", file: weightsPath)
            }
            skip = WeightLayout.transpose(skipTensor.floats(), rows: d, columns: d)  // x W_skip^T
        } else if try config.bool("skip_connection") == true {
            throw SaescopeError("config has skip_connection but the weights lack 'W_skip'", file: weightsPath)
        }
        return try SparseAutoencoder(
            inputDimension: d, featureCount: f,
            encoderWeights: WeightLayout.transpose(try weights.require("encoder.weight", shape: [f, d]).floats(), rows: f, columns: d),
            encoderBias: try weights.require("encoder.bias", shape: [f]).floats(),
            decoderWeights: try weights.require("W_dec", shape: [f, d]).floats(),
            decoderBias: try weights.require("b_dec", shape: [d]).floats(),
            rule: rule, subtractsDecoderBias: !transcoder, skipWeights: skip, isTranscoder: transcoder,
            provenance: DictionaryProvenance(library: "sparsify", kind: transcoder ? "\(activation) transcoder" : activation,
                                             weightsPath: weightsPath, configPath: configPath,
                                             notes: transcoder ? ["transcoder: reconstructs its output site (cache 'targets'), not its input; no b_dec subtraction"] : []))
    }
}
