import Foundation

/// Loads Gemma Scope releases: one `params.npz` per SAE (`W_enc [D,F]`, `W_dec [F,D]`, `b_enc [F]`,
/// `b_dec [D]`, `threshold [F]`), a JumpReLU SAE with no b_dec subtraction on the input (the
/// release's tutorial encoder, and SAELens' gemma_2 loader: apply_b_dec_to_input=False).
/// Keys spelt `w_enc`/`w_dec` (as some conversions write them) are accepted, as SAELens does.
/// Arrays may be float32, or bfloat16 saved by ml_dtypes (npy descr `<V2`).
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
        let provenance = DictionaryProvenance(
            library: "Gemma Scope", kind: "jumprelu", weightsPath: npzPath, configPath: nil,
            notes: ["params.npz (\(dtypes)): pre = x W_enc + b_enc, f = pre where pre > threshold (no b_dec subtraction)"])
        return try SparseAutoencoder(
            inputDimension: d, featureCount: f,
            encoderWeights: encoderTensor.floats(),
            encoderBias: try weights.require("b_enc", shape: [f]).floats(),
            decoderWeights: try weights.require("W_dec", shape: [f, d]).floats(),
            decoderBias: try weights.require("b_dec", shape: [d]).floats(),
            rule: .threshold(try weights.require("threshold", shape: [f]).floats()),
            subtractsDecoderBias: false, provenance: provenance)
    }
}
