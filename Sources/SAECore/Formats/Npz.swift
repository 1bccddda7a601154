/// Reader for NumPy's `.npz` archives as `np.savez` writes them: a zip of stored (uncompressed)
/// `<name>.npy` entries. Tensors view the memory map without copying. `np.savez_compressed`
/// archives (deflate) are refused with a message saying how to re-save them.
public enum Npz {
    /// Reads every array of the archive at `path`, keyed by its name without `.npy`.
    /// `voidAsBFloat16`: read 2-byte void arrays as bfloat16 (how ml_dtypes/JAX save bfloat16).
    public static func read(path: String, voidAsBFloat16: Bool = false) throws -> TensorDictionary {
        let buffer = try ByteBuffer(mapping: path)
        return try attributingErrors(to: path) {
            guard ZipArchive.startsLikeZip(buffer.bytes) else {
                throw SaescopeError("not an npz archive (no zip signature)")
            }
            let archive = try ZipArchive(buffer: buffer)
            var tensors: [String: Tensor] = [:]
            for entry in archive.entries {
                guard entry.name.hasSuffix(".npy") else { continue }
                let name = String(entry.name.dropLast(4))
                guard entry.method == 0 else {
                    throw SaescopeError("array '\(name)' is compressed (np.savez_compressed); re-save it with np.savez")
                }
                let range = try archive.dataRange(of: entry)
                do {
                    tensors[name] = try Npy.parse(buffer, range: range, voidAsBFloat16: voidAsBFloat16)
                } catch let error as SaescopeError {
                    throw SaescopeError("array '\(name)': \(error.message)")
                }
            }
            return TensorDictionary(tensors: tensors, source: path)
        }
    }
}
