import Foundation

/// Token display from a Hugging Face `tokenizer.json`: the vocabulary of its model (BPE,
/// WordPiece, WordLevel, Unigram), its added tokens, and its decoder.
///
/// `piece(id)` is how ONE token reads in running text, meant for showing activating tokens:
///   - byte-level BPE (GPT-2, Llama 3): the token's bytes decoded, `Ġthe` -> " the"; a token
///     holding part of a UTF-8 character shows U+FFFD, as the library's `decode([id])` does;
///   - Metaspace / SentencePiece (T5, Llama 2): `▁` -> space, `▁the` -> " the" (the library's
///     `decode([id])` drops that space because the token is first in its one-token sequence);
///   - WordPiece (BERT): `##ing` -> "ing", `the` -> " the", with the decoder's cleanup
///     (`.` -> "." without a space), as in the middle of `decode(ids)`;
///   - byte fallback (`<0x0A>`): the byte as text ("\n"), or U+FFFD when the byte alone is not
///     a character;
///   - BPEDecoder suffixes: `the</w>` -> "the " (the suffix marks a word END);
///   - special tokens (`added_tokens` with `special: true`): their content, `<|endoftext|>`, `[CLS]`.
///
/// `decode(ids)` is the library's `decode(ids, skip_special_tokens=False)`, except that ids
/// outside the vocabulary read `<unk:ID>` instead of being silently dropped.
public final class TokenizerVocabulary: Sendable {
    /// The file the vocabulary came from, for messages.
    public let source: String
    /// The model type as written in the file (`BPE`, `WordPiece`, `WordLevel`, `Unigram`).
    public let modelType: String
    /// The decoder as understood, e.g. `ByteLevel` or `Sequence[Replace, ByteFallback, Fuse, Strip]`.
    public let decoderSummary: String

    private let tokens: [String?]
    private let special: [Bool]
    private let pieces: [String]
    private let decoder: TokenDecoder

    /// Guards against a hostile id making us allocate an enormous table (real vocabularies are
    /// at most a few hundred thousand).
    static let maximumTokenID = 16_777_215

    /// Reads `path`, a `tokenizer.json` (or a directory holding one).
    public convenience init(path: String) throws {
        var file = path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            file = (path as NSString).appendingPathComponent("tokenizer.json")
        }
        let buffer = try ByteBuffer(mapping: file)
        try self.init(parsed: Self.parse(buffer.bytes, source: file), source: file)
    }

    /// Parses the contents of a `tokenizer.json`; `source` names it in errors.
    public convenience init(jsonData: Data, source: String) throws {
        let parsed = try jsonData.withUnsafeBytes { try Self.parse($0, source: source) }
        try self.init(parsed: parsed, source: source)
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, source: String) throws -> TokenizerJSON {
        do {
            // `merges` (most of a large BPE file) is not needed for display.
            return try TokenizerJSON.parse(bytes, skipping: ["merges"])
        } catch {
            throw SaescopeError("tokenizer file is not valid JSON (\(error.problem) at byte \(error.offset))", file: source)
        }
    }

    private init(parsed: TokenizerJSON, source: String) throws {
        func fail(_ problem: String) -> SaescopeError { SaescopeError(problem, file: source) }

        guard parsed.members != nil else { throw fail("tokenizer file is not a JSON object") }
        guard let model = parsed["model"], model.members != nil else {
            throw fail("tokenizer file has no \"model\" object (is this a tokenizer.json?)")
        }

        // Ids are keyed by Int, pieces kept as written: no String-keyed dictionary, whose
        // canonical-equivalence comparison would merge distinct tokens.
        var table: [Int: String] = [:]
        let vocab = model["vocab"].flatMap { $0.isNull ? nil : $0 }
        let declaredType = model["type"]?.string
        switch (declaredType, vocab) {
        case ("Unigram", .array(let list)?), (nil, .array(let list)?):
            for (id, entry) in list.enumerated() {
                guard let pair = entry.array, let piece = pair.first?.string else {
                    throw fail("Unigram vocab entry \(id) is not a [piece, score] pair")
                }
                table[id] = piece
            }
        case ("BPE", .object(let map)?), ("WordPiece", .object(let map)?), ("WordLevel", .object(let map)?), (nil, .object(let map)?):
            for (piece, value) in map {
                guard let id = value.integer, id >= 0 else {
                    throw fail("vocab id of \(Self.quoted(piece)) is not a non-negative integer")
                }
                table[id] = piece
            }
        case (let type?, nil):
            throw fail("\(type) model has no vocab")
        case (let type?, _) where !["BPE", "WordPiece", "WordLevel", "Unigram"].contains(type):
            throw fail("unsupported tokenizer model type \(type)")
        default:
            throw fail("model vocab has the wrong shape for a \(declaredType ?? "tokenizer") model")
        }
        if case .array? = vocab { modelType = declaredType ?? "Unigram" } else { modelType = declaredType ?? "BPE" }

        // Added tokens take precedence over the model vocabulary, as in the library's id_to_token.
        var specialIDs = Set<Int>()
        if let added = parsed["added_tokens"], !added.isNull {
            guard let list = added.array else { throw fail("added_tokens is not a list") }
            for (index, item) in list.enumerated() {
                guard let content = item["content"]?.string, let id = item["id"]?.integer, id >= 0 else {
                    throw fail("added_tokens entry \(index) lacks an integer id or a content string")
                }
                table[id] = content
                if item["special"]?.bool == true { specialIDs.insert(id) } else { specialIDs.remove(id) }
            }
        }

        let count = (table.keys.max() ?? -1) + 1
        guard count <= Self.maximumTokenID + 1 else {
            throw fail("token id \(count - 1) is implausibly large for a vocabulary")
        }
        var tokens = [String?](repeating: nil, count: count)
        for (id, piece) in table { tokens[id] = piece }
        var special = [Bool](repeating: false, count: count)
        for id in specialIDs { special[id] = true }

        let decoder = TokenDecoder.from(json: parsed["decoder"])
        self.source = source
        self.tokens = tokens
        self.special = special
        self.decoder = decoder
        self.decoderSummary = decoder.summary
        self.pieces = tokens.enumerated().map { id, token in
            guard let token else { return Self.unknown(id) }
            return special[id] ? token : decoder.decode([token], mode: .piece)
        }
    }

    /// Largest id + 1.
    public var count: Int { tokens.count }

    /// The raw vocabulary string of `id` (the library's `id_to_token`), or nil.
    public func token(_ id: Int) -> String? {
        guard id >= 0, id < tokens.count else { return nil }
        return tokens[id]
    }

    /// Whether `id` is an added token marked special (`<|endoftext|>`, `[CLS]`, `<s>`).
    public func isSpecial(_ id: Int) -> Bool {
        id >= 0 && id < special.count && special[id]
    }

    /// How token `id` reads in running text (see the type's documentation); `<unk:ID>` when out of range.
    public func piece(_ id: Int) -> String {
        guard id >= 0, id < pieces.count else { return Self.unknown(id) }
        return pieces[id]
    }

    /// The text of a whole sequence, as the library's `decode(ids, skip_special_tokens=False)`.
    public func decode(_ ids: [Int]) -> String {
        decoder.decode(ids.map { token($0) ?? Self.unknown($0) }, mode: .sequence)
    }

    static func unknown(_ id: Int) -> String { "<unk:\(id)>" }

    private static func quoted(_ text: String) -> String {
        "\"" + (text.count > 40 ? String(text.prefix(40)) + "..." : text) + "\""
    }
}
