import Foundation

/// A language model's unembedding `W_U [D, V]` (logits = residual · W_U), memory-mapped from a
/// safetensors or npy file and read a block of vocabulary columns at a time, so it is never
/// converted whole.
///
/// Which tensor of a safetensors file, and which way round:
/// - `W_U`, `unembed.W_U`, `unembed` (TransformerLens names): stored `[D, V]`;
/// - `lm_head.weight`, `embed_out.weight` (Hugging Face `nn.Linear(D, V)` heads, GPT-NeoX's
///   `embed_out`): stored `[V, D]`, read transposed;
/// - otherwise the file's only 2-D tensor, and an `.npy` file's array: `[D, V]` when its first axis
///   is the dictionary's D, else `[V, D]` when its second is (when both are, `[D, V]`).
/// float32, float16, bfloat16 and float64 are read.
public struct Unembedding: Sendable {
    /// Names read as `[D, V]`, in order of preference.
    public static let unembedNames = ["W_U", "unembed.W_U", "unembed"]
    /// Names read as `[V, D]` (transposed), in order of preference.
    public static let headNames = ["lm_head.weight", "embed_out.weight"]

    /// The file it was read from.
    public let path: String
    /// The tensor's name in a safetensors file (nil for npy).
    public let tensorName: String?
    /// D, the residual width.
    public let dimension: Int
    /// V, the number of vocabulary entries (logits).
    public let vocabularySize: Int
    /// Whether the file stores `[V, D]` (a Hugging Face head) rather than `W_U [D, V]`.
    public let storedTransposed: Bool
    let tensor: Tensor

    /// Reads the unembedding in `path` for a dictionary of width `dimension` (D); throws a
    /// one-line error naming the file when there is no suitable tensor or its shape does not
    /// have D on the expected axis.
    public init(path: String, dimension: Int) throws {
        self.path = path
        let chosen: Tensor
        var name: String?
        var transposed: Bool?
        if path.lowercased().hasSuffix(".npy") {
            chosen = try Npy.read(path: path)
        } else {
            let file = try Safetensors.read(path: path)
            if let known = Self.unembedNames.first(where: { file[$0] != nil }) {
                name = known
                transposed = false
            } else if let known = Self.headNames.first(where: { file[$0] != nil }) {
                name = known
                transposed = true
            } else {
                let matrices = file.tensors.filter { $0.value.rank == 2 }.sorted { $0.key < $1.key }
                guard matrices.count == 1 else {
                    let found = matrices.map { "\($0.key) \($0.value.shape)" }.joined(separator: ", ")
                    throw SaescopeError("no unembedding tensor: looked for \((Self.unembedNames + Self.headNames).joined(separator: ", ")) or a single 2-D tensor, found "
                                        + (matrices.isEmpty ? "no 2-D tensor" : found), file: path)
                }
                name = matrices[0].key
            }
            chosen = file[name!]!
        }
        let what = name.map { "tensor '\($0)'" } ?? "the array"
        guard chosen.rank == 2 else {
            throw SaescopeError("\(what) has shape \(chosen.shape); an unembedding is 2-D, W_U [D, V]", file: path)
        }
        guard chosen.dtype.isFloatingPoint else {
            throw SaescopeError("\(what) holds \(chosen.dtype.rawValue); an unembedding holds floats", file: path)
        }
        let shape = chosen.shape
        if let transposed {
            let d = transposed ? shape[1] : shape[0]
            guard d == dimension else {
                let layout = transposed ? "[V, D]" : "[D, V]"
                throw SaescopeError("\(what) has shape \(shape), read as \(layout), so D=\(d), but the dictionary has D=\(dimension)", file: path)
            }
        } else if shape[0] == dimension {
            transposed = false
        } else if shape[1] == dimension {
            transposed = true
        } else {
            throw SaescopeError("\(what) has shape \(shape), but the dictionary has D=\(dimension): neither axis is D", file: path)
        }
        self.tensorName = name
        self.tensor = chosen
        self.storedTransposed = transposed!
        self.dimension = dimension
        self.vocabularySize = transposed! ? shape[0] : shape[1]
        guard vocabularySize > 0 else { throw SaescopeError("\(what) has an empty vocabulary axis (shape \(shape))", file: path) }
    }

    /// The LM head `[V, D]` of a running model (`ModelBridge.unembedding()`), held in memory;
    /// `source` names it where a file path would be.
    public init(head values: [Float], vocabularySize: Int, dimension: Int, source: String) throws {
        guard vocabularySize > 0, dimension > 0, values.count == vocabularySize * dimension else {
            throw SaescopeError("the model's LM head has \(values.count) values, not V x D = \(vocabularySize) x \(dimension)", file: source)
        }
        path = source
        tensorName = nil
        tensor = Tensor(float32: values, shape: [vocabularySize, dimension])
        storedTransposed = true
        self.dimension = dimension
        self.vocabularySize = vocabularySize
    }

    /// Compares V with a tokenizer: an error when the unembedding has fewer entries than the
    /// tokenizer has ids (it cannot belong to this model), a warning when it has more (vocabulary
    /// padding, e.g. Pythia's 50 304 logits for 50 277 tokens: the extra ids show as `<unk:ID>`),
    /// nil when they agree.
    public func checkVocabulary(against tokenizer: TokenizerVocabulary) throws -> String? {
        if vocabularySize < tokenizer.count {
            throw SaescopeError("the unembedding has V=\(vocabularySize) logits but the tokenizer \(tokenizer.source) has \(tokenizer.count) tokens: they are not from the same model", file: path)
        }
        if vocabularySize > tokenizer.count {
            return "\(path): the unembedding has V=\(vocabularySize) logits, the tokenizer \(tokenizer.count) tokens; ids from \(tokenizer.count) on are padding and show as <unk:ID>"
        }
        return nil
    }

    /// Whether the stored floats can be handed to BLAS as they are (float32, 4-byte aligned).
    var isDirectFloat32: Bool {
        tensor.dtype == .float32 && Int(bitPattern: tensor.buffer.base + tensor.byteOffset) % MemoryLayout<Float>.alignment == 0
    }

    /// Columns `start ..< start + count` of `W_U` as Float32 into `destination`, in the stored
    /// orientation: `[D, count]` row-major for `[D, V]` files, `[count, D]` for `[V, D]` files.
    func convertBlock(start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        if storedTransposed {
            tensor.convertToFloat(start: start * dimension, count: count * dimension, into: destination)
        } else {
            for row in 0..<dimension {
                tensor.convertToFloat(start: row * vocabularySize + start, count: count, into: destination + row * count)
            }
        }
    }

    /// The stored float32 elements, when `isDirectFloat32`.
    var float32Base: UnsafePointer<Float> {
        UnsafeRawPointer(tensor.buffer.base + tensor.byteOffset).assumingMemoryBound(to: Float.self)
    }
}
