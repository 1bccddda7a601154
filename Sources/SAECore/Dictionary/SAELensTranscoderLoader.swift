import Foundation

/// Loads SAELens 6.x transcoder directories (`cfg.json` with `d_out` + `sae_weights.safetensors`):
/// `W_enc [d_in, d_sae]`, `b_enc [d_sae]`, `W_dec [d_sae, d_out]`, `b_dec [d_out]`; JumpReLU
/// variants add `threshold [d_sae]`, skip variants `W_skip [d_out, d_in]`. As the library's
/// `Transcoder`: `f = ReLU(x W_enc + b_enc)` (JumpReLU: also `pre > threshold`), never subtracting
/// b_dec (SAELens refuses `apply_b_dec_to_input` for transcoders), `x_hat = f W_dec + b_dec + x W_skip^T`.
enum SAELensTranscoderLoader {
    static let architectures = ["transcoder", "skip_transcoder", "jumprelu_transcoder", "jumprelu_skip_transcoder"]

    static func load(config: JSONConfig, architecture: String, directory: String) throws -> SparseAutoencoder {
        let configPath = (directory as NSString).appendingPathComponent("cfg.json")
        let weightsPath = (directory as NSString).appendingPathComponent("sae_weights.safetensors")
        let weights = try Safetensors.read(path: weightsPath)
        let dIn = try config.requireDimension("d_in")
        let dOut = try config.requireDimension("d_out")
        let f = try config.requireDimension("d_sae")
        if try config.bool("apply_b_dec_to_input") == true {
            throw SaescopeError("apply_b_dec_to_input is true, which SAELens refuses for transcoders (b_dec is in the output space)", file: configPath)
        }
        // SAELens' transcoders normalise the input but never undo it on the output; only the
        // inference-time identity modes are accepted.
        var notes: [String] = []
        let normalization = try SAELensLoader.inputNormalization(config: config, directory: directory, notes: &notes)
        guard normalization == .none else {
            throw SaescopeError("input normalisation on a transcoder is not supported (normalize_activations / activation_scaler.json)", file: configPath)
        }
        let rule: ActivationRule = architecture.hasPrefix("jumprelu")
            ? .threshold(try weights.require("threshold", shape: [f]).floats()) : .relu
        var skip: [Float]?
        if architecture.hasSuffix("skip_transcoder") {
            let tensor = try weights.require("W_skip")
            guard tensor.shape == [dOut, dIn] else {
                throw SaescopeError("tensor 'W_skip' has shape \(tensor.shape), expected [d_out, d_in] = [\(dOut), \(dIn)]", file: weightsPath)
            }
            skip = WeightLayout.transpose(tensor.floats(), rows: dOut, columns: dIn)  // x W_skip^T
        } else if weights["W_skip"] != nil {
            throw SaescopeError("holds 'W_skip' but cfg.json's architecture '\(architecture)' has no skip connection", file: weightsPath)
        }
        notes.append("transcoder: reconstructs its output site (cache 'targets'), not its input")
        return try SparseAutoencoder(
            inputDimension: dIn, featureCount: f,
            encoderWeights: try weights.require("W_enc", shape: [dIn, f]).floats(),
            encoderBias: try weights.require("b_enc", shape: [f]).floats(),
            decoderWeights: try weights.require("W_dec", shape: [f, dOut]).floats(),
            decoderBias: try weights.require("b_dec", shape: [dOut]).floats(),
            rule: rule, subtractsDecoderBias: false, skipWeights: skip,
            outputDimension: dOut, isTranscoder: true,
            provenance: DictionaryProvenance(library: "SAELens", kind: architecture, weightsPath: weightsPath, configPath: configPath, notes: notes))
    }
}
