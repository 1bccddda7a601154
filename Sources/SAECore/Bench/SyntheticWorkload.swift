import Foundation

/// Random dictionaries and activation caches of a chosen shape, for benchmarks and tests.
/// Activations are standard normal; the encoder bias is set so each feature fires with
/// probability L0/F, which gives the requested mean L0.
public enum SyntheticWorkload {
    public static func dictionary(inputDimension d: Int, featureCount f: Int, meanL0: Double, seed: UInt64 = 1) throws -> SparseAutoencoder {
        var rng = SplitMix64(seed: seed)
        let scale = Float(1 / Double(d).squareRoot())
        let encoder = (0..<d * f).map { _ in rng.nextNormal() * scale }
        var decoder = [Float](repeating: 0, count: f * d)
        for j in 0..<f {
            var norm: Float = 0
            for i in 0..<d { let v = rng.nextNormal(); decoder[j * d + i] = v; norm += v * v }
            norm = norm.squareRoot()
            for i in 0..<d { decoder[j * d + i] /= norm }
        }
        // Pre-activations are ~N(0, 1): fire above z where P(Z > z) = L0 / F.
        let z = upperQuantile(probability: min(max(meanL0 / Double(f), 1e-9), 0.5))
        return try SparseAutoencoder(
            inputDimension: d, featureCount: f, encoderWeights: encoder,
            encoderBias: [Float](repeating: Float(-z), count: f),
            decoderWeights: decoder, decoderBias: [Float](repeating: 0, count: d),
            rule: .relu, subtractsDecoderBias: true,
            provenance: DictionaryProvenance(library: "synthetic", kind: "ReLU", weightsPath: "synthetic", configPath: nil))
    }

    /// An in-memory float32 cache of `rows` standard-normal activations in sequences of `sequenceLength`.
    public static func cache(rows: Int, dimension d: Int, sequenceLength: Int = 128, vocabulary: Int = 50_000, seed: UInt64 = 2) throws -> ActivationCache {
        var rng = SplitMix64(seed: seed)
        let acts = Tensor(float32: (0..<rows * d).map { _ in rng.nextNormal() }, shape: [rows, d])
        let ids = (0..<rows).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(vocabulary)) }
        let tokens = try Tensor(dtype: .int32, shape: [rows], buffer: ids.withUnsafeBytes { ByteBuffer(copying: $0) }, byteOffset: 0)
        let offsets = Array(stride(from: 0, to: rows, by: sequenceLength)) + [rows]
        return try ActivationCache(label: "synthetic", acts: acts, tokens: tokens, sequenceOffsets: offsets)
    }

    /// Writes a float32 cache of `rows` standard-normal activations, chunk by chunk.
    public static func writeCache(rows: Int, dimension d: Int, sequenceLength: Int = 128, vocabulary: Int = 50_000, seed: UInt64 = 2, to path: String) throws {
        var rng = SplitMix64(seed: seed)
        let ids = (0..<rows).map { _ in Int64(rng.next() % UInt64(vocabulary)) }
        let offsets = (Array(stride(from: 0, to: rows, by: sequenceLength)) + [rows]).map(Int64.init)
        let actsBytes = rows * d * 4
        var header: [String: Any] = ["__metadata__": ["model": "synthetic"]]
        header["acts"] = ["dtype": "F32", "shape": [rows, d], "data_offsets": [0, actsBytes]] as [String: Any]
        header["tokens"] = ["dtype": "I64", "shape": [rows], "data_offsets": [actsBytes, actsBytes + rows * 8]] as [String: Any]
        header["seq_offsets"] = ["dtype": "I64", "shape": [offsets.count],
                                 "data_offsets": [actsBytes + rows * 8, actsBytes + rows * 8 + offsets.count * 8]] as [String: Any]
        var headerBytes = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        try AtomicFile.write(to: path) { writer in
            try withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { try writer.write($0) }
            try writer.write(headerBytes)
            var block = [Float](repeating: 0, count: 4096 * d)
            var written = 0
            while written < rows {
                let count = min(4096, rows - written)
                for i in 0..<count * d { block[i] = rng.nextNormal() }
                try block.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<count * d * 4])) }
                written += count
            }
            try ids.withUnsafeBytes { try writer.write($0) }
            try offsets.withUnsafeBytes { try writer.write($0) }
        }
    }

    /// Writes `sae` as a SAELens folder (`cfg.json` + `sae_weights.safetensors`; ReLU as the
    /// "standard" architecture, top-k as "topk"), which `DictionaryLoader` reads back to the same dictionary.
    public static func writeSAELensFolder(_ sae: SparseAutoencoder, to directory: String) throws {
        var architecture: [String: Any]
        switch sae.rule {
        case .relu: architecture = ["architecture": "standard"]
        case .topK(let k): architecture = ["architecture": "topk", "k": k]
        default: throw SaescopeError("only plain ReLU and top-k dictionaries are written as SAELens folders", file: directory)
        }
        guard sae.normalization == .none, sae.skipWeights == nil else {
            throw SaescopeError("only plain ReLU and top-k dictionaries are written as SAELens folders", file: directory)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = architecture.merging(["d_in": sae.inputDimension, "d_sae": sae.featureCount,
                                           "apply_b_dec_to_input": sae.subtractsDecoderBias, "normalize_activations": "none",
                                           "sae_lens_version": "6.0.0"]) { $1 }
        try AtomicFile.write([UInt8](try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])),
                             to: (directory as NSString).appendingPathComponent("cfg.json"))
        let d = sae.inputDimension, f = sae.featureCount
        try Safetensors.write(arrays: [
            .init("W_enc", .float32, [d, f], sae.encoderWeights), .init("b_enc", .float32, [f], sae.encoderBias),
            .init("W_dec", .float32, [f, d], sae.decoderWeights), .init("b_dec", .float32, [d], sae.decoderBias),
        ], metadata: [:], to: (directory as NSString).appendingPathComponent("sae_weights.safetensors"))
    }

    /// z with P(Z > z) = probability for a standard normal Z (bisection on erfc).
    static func upperQuantile(probability: Double) -> Double {
        var low = -10.0, high = 10.0
        for _ in 0..<100 {
            let middle = (low + high) / 2
            if 0.5 * erfc(middle / 2.0.squareRoot()) > probability { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}
