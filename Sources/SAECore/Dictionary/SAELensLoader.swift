import Foundation

/// Loads SAELens directories (`cfg.json` + `sae_weights.safetensors`, optional
/// `activation_scaler.json`), accepting both 6.x configs and the flat pre-6.0 layout the
/// library itself converts (`hook_point`, `activation_fn_str`, boolean `normalize_activations`).
/// Transcoders (6.x `transcoder`, `skip_transcoder`, `jumprelu_transcoder`, `jumprelu_skip_transcoder`)
/// go through `SAELensTranscoderLoader`.
enum SAELensLoader {
    static let architectures = ["standard", "topk", "jumprelu", "gated"]

    static func load(directory: String) throws -> SparseAutoencoder {
        let configPath = (directory as NSString).appendingPathComponent("cfg.json")
        let weightsPath = (directory as NSString).appendingPathComponent("sae_weights.safetensors")
        let config = try JSONConfig.read(path: configPath)
        if let architecture = try config.string("architecture"), SAELensTranscoderLoader.architectures.contains(architecture) {
            return try SAELensTranscoderLoader.load(config: config, architecture: architecture, directory: directory)
        }
        let weights = try Safetensors.read(path: weightsPath)
        var notes: [String] = []

        let legacy = try isPre6(config)
        var architecture = try config.string("architecture") ?? "standard"
        var k = try config.int("k")
        if legacy {
            notes.append("pre-6.0 SAELens config, read with the library's legacy defaults")
            let activation = try config.string("activation_fn") ?? config.string("activation_fn_str") ?? "relu"
            if activation == "topk", let kwargs = try config.object("activation_fn_kwargs"), let legacyK = try kwargs.int("k") {
                architecture = "topk"
                k = legacyK
            }
        }
        guard architectures.contains(architecture) else {
            let supported = architectures + SAELensTranscoderLoader.architectures
            throw SaescopeError("unsupported SAELens architecture '\(architecture)' (supported: \(supported.joined(separator: ", ")))", file: configPath)
        }
        let d = try config.requireDimension("d_in")
        let f = try config.requireDimension("d_sae")
        let subtract = try config.bool("apply_b_dec_to_input") ?? true
        let normalization = try inputNormalization(config: config, directory: directory, notes: &notes)

        var encoder = try weights.require("W_enc", shape: [d, f]).floats()
        var decoder = try weights.require("W_dec", shape: [f, d]).floats()
        let decoderBias = try weights.require("b_dec", shape: [d]).floats()
        let provenance = { DictionaryProvenance(library: "SAELens", kind: architecture, weightsPath: weightsPath, configPath: configPath, notes: notes) }

        switch architecture {
        case "gated":
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f, encoderWeights: encoder,
                encoderBias: [Float](repeating: 0, count: f), decoderWeights: decoder, decoderBias: decoderBias,
                rule: .gated(gateBias: try weights.require("b_gate", shape: [f]).floats(),
                             magnitudeScale: try weights.require("r_mag", shape: [f]).floats().map { Float(exp(Double($0))) },
                             magnitudeBias: try weights.require("b_mag", shape: [f]).floats()),
                subtractsDecoderBias: subtract, normalization: normalization, provenance: provenance())
        case "topk":
            guard let k else { throw SaescopeError("topk architecture without 'k'", file: configPath) }
            var encoderBias = try weights.require("b_enc", shape: [f]).floats()
            if try config.bool("rescale_acts_by_decoder_norm") == true {
                // Pre-activations are multiplied by ||W_dec_j|| and codes divided by it before
                // decoding: the same map with the norms folded into the weights.
                let norms = WeightLayout.rowNorms(decoder, rows: f, columns: d)
                WeightLayout.scaleColumns(&encoder, rows: d, columns: f, by: norms)
                for j in 0..<f { encoderBias[j] *= norms[j] }
                WeightLayout.scaleRows(&decoder, rows: f, columns: d, by: norms.map { 1 / $0 })
                notes.append("rescale_acts_by_decoder_norm folded into the weights")
            }
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f, encoderWeights: encoder, encoderBias: encoderBias,
                decoderWeights: decoder, decoderBias: decoderBias, rule: .topK(k),
                subtractsDecoderBias: subtract, normalization: normalization, provenance: provenance())
        case "jumprelu":
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f, encoderWeights: encoder,
                encoderBias: try weights.require("b_enc", shape: [f]).floats(),
                decoderWeights: decoder, decoderBias: decoderBias,
                rule: .threshold(try weights.require("threshold", shape: [f]).floats()),
                subtractsDecoderBias: subtract, normalization: normalization, provenance: provenance())
        default:
            return try SparseAutoencoder(
                inputDimension: d, featureCount: f, encoderWeights: encoder,
                encoderBias: try weights.require("b_enc", shape: [f]).floats(),
                decoderWeights: decoder, decoderBias: decoderBias, rule: .relu,
                subtractsDecoderBias: subtract, normalization: normalization, provenance: provenance())
        }
    }

    /// SAELens treats a config without a version, or older than 6.0, as the legacy layout.
    private static func isPre6(_ config: JSONConfig) throws -> Bool {
        let version = try config.string("sae_lens_version") ?? config.object("metadata")?.string("sae_lens_version")
        guard let version else { return true }
        let major = Int(version.split(separator: ".").first ?? "") ?? 0
        return major < 6
    }

    static func inputNormalization(config: JSONConfig, directory: String, notes: inout [String]) throws -> InputNormalization {
        var mode = "none"
        if let flag = config.values["normalize_activations"] as? Bool, !(config.values["normalize_activations"] is String) {
            mode = flag ? "expected_average_only_in" : "none"  // the legacy boolean
        } else if let text = try? config.string("normalize_activations") {
            mode = text
        }
        let scalerPath = (directory as NSString).appendingPathComponent("activation_scaler.json")
        var scale: Float?
        if FileManager.default.fileExists(atPath: scalerPath) {
            let scaler = try JSONConfig.read(path: scalerPath)
            if let factor = try scaler.double("scaling_factor") {
                guard factor.isFinite, factor > 0 else { throw SaescopeError("scaling_factor must be a positive number", file: scalerPath) }
                scale = Float(factor)
                notes.append("activations multiplied by scaling_factor \(factor) before encoding and the reconstruction divided by it (activation_scaler.json)")
            }
        }
        switch mode {
        case "none", "expected_average_only_in":
            if mode == "expected_average_only_in" && scale == nil {
                notes.append("normalize_activations is expected_average_only_in but there is no activation_scaler.json: activations are encoded unscaled")
            }
            return scale.map { .scale($0) } ?? .none
        case "constant_norm_rescale", "layer_norm":
            guard scale == nil else {
                throw SaescopeError("activation_scaler.json together with normalize_activations '\(mode)' is not supported", file: directory)
            }
            return mode == "layer_norm" ? .layerNorm : .constantNormRescale
        default:
            throw SaescopeError("unsupported normalize_activations '\(mode)'", file: (directory as NSString).appendingPathComponent("cfg.json"))
        }
    }
}
