import Foundation

/// Loads Gemma Scope releases: one `params.npz` per SAE (`W_enc [D,F]`, `W_dec [F,D]`, `b_enc [F]`,
/// `b_dec [D]`, `threshold [F]`), a JumpReLU SAE with no b_dec subtraction on the input (the
/// release's tutorial encoder, and SAELens' gemma_2 loader: apply_b_dec_to_input=False).
/// Keys spelt `w_enc`/`w_dec` (as some conversions write them) are accepted, as SAELens does.
/// Arrays may be float32, or bfloat16 saved by ml_dtypes (npy descr `<V2`). Like SAELens'
/// gemma_2 loader: an all-ones `scaling_factor` is ignored (another is refused), and a path with
/// an `embedding` folder has W_enc / sqrt(d_model) and W_dec * sqrt(d_model).
enum GemmaScopeLoader {
    static func load(npzPath: String) throws -> SparseAutoencoder {
        var weights = try Npz.read(path: npzPath, voidAsBFloat16: true)
        for (name, tensor) in weights.tensors where name.hasPrefix("w_") {
            let canonical = "W_" + name.dropFirst(2)
            guard weights.tensors[canonical] == nil else {
                throw SaescopeError("holds both '\(name)' and '\(canonical)'", file: npzPath)
            }
            weights.tensors[canonical] = tensor
            weights.tensors[name] = nil
        }
        let encoderTensor = try weights.require("W_enc")
        guard encoderTensor.rank == 2 else {
            throw SaescopeError("tensor 'W_enc' has shape \(encoderTensor.shape), expected [d_model, d_sae]", file: npzPath)
        }
        let d = encoderTensor.shape[0], f = encoderTensor.shape[1]
        for (name, tensor) in weights.tensors.sorted(by: { $0.key < $1.key }) where !tensor.dtype.isFloatingPoint {
            throw SaescopeError("tensor '\(name)' has integer type \(tensor.dtype.rawValue), expected float32 or bfloat16", file: npzPath)
        }
        let dtypes = Set(weights.tensors.values.map(\.dtype.rawValue)).sorted().joined(separator: "/")
        var notes = ["params.npz (\(dtypes)): pre = x W_enc + b_enc, f = pre where pre > threshold (no b_dec subtraction)"]
        // As SAELens: an all-ones scaling_factor is dropped; any other is a fine-tuning factor it refuses too.
        if let scaling = weights["scaling_factor"] {
            guard scaling.floats().allSatisfy({ $0 == 1 }) else {
                throw SaescopeError("holds a scaling_factor other than ones (a fine-tuning factor), which is not supported", file: npzPath)
            }
            notes.append("all-ones scaling_factor ignored")
        }
        var encoder = encoderTensor.floats()
        var decoder = try weights.require("W_dec", shape: [f, d]).floats()
        // As SAELens: embedding SAEs were trained on embeddings scaled by sqrt(d_model).
        if (npzPath as NSString).pathComponents.dropLast().contains(where: { $0.contains("embedding") }) {
            let root = Float(Double(d).squareRoot())
            for i in encoder.indices { encoder[i] /= root }
            for i in decoder.indices { decoder[i] *= root }
            notes.append("embedding SAE (folder name): W_enc divided and W_dec multiplied by sqrt(d_model), as SAELens does")
        }
        let provenance = DictionaryProvenance(library: "Gemma Scope", kind: "jumprelu", weightsPath: npzPath, configPath: nil, notes: notes)
        return try SparseAutoencoder(
            inputDimension: d, featureCount: f,
            encoderWeights: encoder,
            encoderBias: try weights.require("b_enc", shape: [f]).floats(),
            decoderWeights: decoder,
            decoderBias: try weights.require("b_dec", shape: [d]).floats(),
            rule: .threshold(try weights.require("threshold", shape: [f]).floats()),
            subtractsDecoderBias: false, provenance: provenance)
    }
}
