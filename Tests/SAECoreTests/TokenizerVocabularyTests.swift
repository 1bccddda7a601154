import XCTest
@testable import SAECore

/// Checks TokenizerVocabulary against the Hugging Face `tokenizers` library itself: the fixtures
/// in Fixtures/tokenizers/<kind>/ are tokenizers trained with the library, and expected.json is
/// what the library answered (tools/fixtures/make_tokenizer_fixtures.py).
///
/// Text is compared by Unicode scalars, not with `==` (Swift's String equality is canonical
/// equivalence, which would let a decomposed "é" pass for a precomposed one).
final class TokenizerVocabularyTests: XCTestCase {
    struct Expected: Decodable {
        struct Anchor: Decodable { let id: Int; let single: String; let pair: String }
        struct IDEntry: Decodable { let id: Int; let token: String; let single: String; let context: String }
        struct Sentence: Decodable { let text: String; let ids: [Int]; let decoded: String }
        struct Sequence: Decodable { let ids: [Int]; let decoded: String }
        let vocab_size: Int
        let anchor: Anchor
        let special_tokens: [String]
        let ids: [IDEntry]
        let sentences: [Sentence]
        let sequences: [Sequence]
    }

    /// How a token's display relates to the library's single-id `decode([id])`, per decoder.
    /// These are the places where our per-token display intentionally differs from it.
    enum SingleRule {
        /// ByteLevel: decode([id]) is exactly the piece (leading space included, U+FFFD for
        /// partial UTF-8). No difference.
        case identical
        /// Llama's Replace(▁→space) + ByteFallback + Fuse + Strip(start 1): decode([id]) strips
        /// ONE leading space, because Strip cuts the start of the text and this token is the text.
        /// The piece keeps it: " dog" for `▁dog`.
        case firstSpaceStripped
        /// Metaspace (prepend_scheme always): the library drops EVERY `▁` of the first token of a
        /// sequence, so decode([id]) has no spaces; the piece turns each `▁` into a space.
        case allSpacesDropped
        /// WordPiece: the first token of a sequence keeps its `##` and gets no leading space, so
        /// decode([id]) is "##ing" for `##ing` (piece "ing") and "the" for `the` (piece " the").
        case wordPiece
        /// BPEDecoder: the suffix `</w>` reads as a space, except in the last token, where it
        /// reads as nothing: decode([id]) is "the" for `the</w>`, the piece "the ".
        case trailingSpaceDropped
    }

    /// Where the anchor ("the") sits relative to a piece in running text: `decode([a, id, a])`.
    enum ContextRule {
        /// The decoders whose output for a prefix of the ids is a prefix of the output:
        /// decode([a, id, a]) == decode([a]) + piece(id) + (what a adds after the first token).
        case prefixStable
        /// BPEDecoder: the suffix of the LAST token reads differently, so
        /// decode([a, id, a]) == (what a reads as before other tokens) + piece(id) + decode([a]).
        case suffixSensitive
    }

    // MARK: The five library-built fixtures

    func testGPT2ByteLevelBPE() throws {
        let vocab = try check(kind: "gpt2-bytelevel", single: .identical, context: .prefixStable)
        XCTAssertEqual(vocab.modelType, "BPE")
        XCTAssertEqual(vocab.decoderSummary, "ByteLevel")
        XCTAssertTrue(vocab.isSpecial(0))
        XCTAssertEqual(vocab.piece(0), "<|endoftext|>")
        // `Ġthe` reads " the"; the newline byte `Ċ` reads "\n".
        let the = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "Ġthe" })
        assertScalars(vocab.piece(the), " the")
        let newline = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "Ċ" })
        assertScalars(vocab.piece(newline), "\n")
        // A lone UTF-8 lead byte (0xC3 is `Ã`) is U+FFFD by itself, but joins in decode.
        let c3 = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "Ã" })
        let a9 = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "©" })
        assertScalars(vocab.piece(c3), "\u{FFFD}")
        assertScalars(vocab.decode([c3, a9]), "é")
    }

    func testBERTWordPiece() throws {
        let vocab = try check(kind: "bert-wordpiece", single: .wordPiece, context: .prefixStable)
        XCTAssertEqual(vocab.modelType, "WordPiece")
        let continuation = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "##s" })
        XCTAssertEqual(vocab.piece(continuation), "s")
        let cls = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "[CLS]" })
        XCTAssertTrue(vocab.isSpecial(cls))
        XCTAssertEqual(vocab.piece(cls), "[CLS]")
        // cleanup: a period attaches to the previous word in running text.
        if let period = (0..<vocab.count).first(where: { vocab.token($0) == "." }) {
            XCTAssertEqual(vocab.piece(period), ".")
        }
    }

    func testT5UnigramMetaspace() throws {
        let vocab = try check(kind: "t5-unigram", single: .allSpacesDropped, context: .prefixStable)
        XCTAssertEqual(vocab.modelType, "Unigram")
        XCTAssertEqual(vocab.decoderSummary, "Metaspace")
        let eos = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "</s>" })
        XCTAssertTrue(vocab.isSpecial(eos))
        XCTAssertEqual(vocab.piece(eos), "</s>")
        let space = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "▁" })
        XCTAssertEqual(vocab.piece(space), " ")
    }

    func testLlamaByteFallbackBPE() throws {
        let vocab = try check(kind: "llama-bpe", single: .firstSpaceStripped, context: .prefixStable)
        XCTAssertEqual(vocab.decoderSummary, "Sequence[Replace, ByteFallback, Fuse, Strip]")
        // Byte-fallback tokens: <0x0A> is a newline, <0x41> is "A", <0xE6> alone is U+FFFD.
        XCTAssertEqual(vocab.token(3 + 0x0A), "<0x0A>")
        assertScalars(vocab.piece(3 + 0x0A), "\n")
        assertScalars(vocab.piece(3 + 0x41), "A")
        assertScalars(vocab.piece(3 + 0xE6), "\u{FFFD}")
        // ...but a run of byte tokens that is valid UTF-8 joins into its characters.
        assertScalars(vocab.decode([3 + 0xE6, 3 + 0x97, 3 + 0xA5]), "日")
        // A run that is not valid UTF-8 gives one U+FFFD per byte token, even for a byte that is
        // a character by itself (0x41), unlike byte-level decoding's maximal-subpart repair.
        assertScalars(vocab.decode([3 + 0xE6, 3 + 0x97, 3 + 0x41]), "\u{FFFD}\u{FFFD}\u{FFFD}")
        XCTAssertEqual(vocab.piece(1), "<s>")
    }

    func testBPEWithEndOfWordSuffix() throws {
        let vocab = try check(kind: "bpe-suffix", single: .trailingSpaceDropped, context: .suffixSensitive)
        XCTAssertEqual(vocab.decoderSummary, "BPEDecoder")
        let the = try XCTUnwrap((0..<vocab.count).first { vocab.token($0) == "the</w>" })
        XCTAssertEqual(vocab.piece(the), "the ")
    }

    // MARK: The shared check

    @discardableResult
    private func check(kind: String, single: SingleRule, context: ContextRule,
                       file: StaticString = #filePath, line: UInt = #line) throws -> TokenizerVocabulary {
        let directory = Fixtures.path("tokenizers/\(kind)")
        let vocab = try TokenizerVocabulary(path: directory + "/tokenizer.json")
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/expected.json"))
        let expected = try JSONDecoder().decode(Expected.self, from: data)

        XCTAssertEqual(vocab.count, expected.vocab_size, "\(kind): count", file: file, line: line)
        XCTAssertEqual(expected.ids.count, expected.vocab_size, file: file, line: line)

        // Whole sequences: exactly the library's decode(ids, skip_special_tokens=False).
        for sentence in expected.sentences {
            assertScalars(vocab.decode(sentence.ids), sentence.decoded, "\(kind): sentence \(sentence.text.debugDescription)", file: file, line: line)
        }
        for sequence in expected.sequences {
            assertScalars(vocab.decode(sequence.ids), sequence.decoded, "\(kind): ids \(sequence.ids)", file: file, line: line)
        }

        let anchor = expected.anchor
        assertScalars(vocab.decode([anchor.id]), anchor.single, "\(kind): anchor", file: file, line: line)
        assertScalars(vocab.decode([anchor.id, anchor.id]), anchor.pair, "\(kind): anchor pair", file: file, line: line)
        // What the anchor reads as when it is NOT the first token (prefix-stable decoders), or
        // when it is NOT the last token (BPEDecoder).
        let anchorLater = String(String.UnicodeScalarView(anchor.pair.unicodeScalars.dropFirst(anchor.single.unicodeScalars.count)))
        let anchorEarlier = String(String.UnicodeScalarView(anchor.pair.unicodeScalars.dropLast(anchor.single.unicodeScalars.count)))

        let specials = Set(expected.special_tokens)
        var specialCount = 0
        for entry in expected.ids {
            let id = entry.id
            let what = "\(kind): id \(id) \(entry.token.debugDescription)"
            XCTAssertEqual(vocab.token(id).map { Array($0.unicodeScalars) }, Array(entry.token.unicodeScalars), what, file: file, line: line)
            // Our decode agrees with the library for the single id and for it between anchors.
            assertScalars(vocab.decode([id]), entry.single, what + " decode([id])", file: file, line: line)
            assertScalars(vocab.decode([anchor.id, id, anchor.id]), entry.context, what + " decode([a, id, a])", file: file, line: line)

            let piece = vocab.piece(id)
            if specials.contains(entry.token) {
                // Special tokens display as their content, whatever the decoder would add around
                // them (WordPiece puts a space before "[SEP]" in running text; we show "[SEP]").
                specialCount += 1
                XCTAssertTrue(vocab.isSpecial(id), what, file: file, line: line)
                assertScalars(piece, entry.token, what + " special piece", file: file, line: line)
                continue
            }
            XCTAssertFalse(vocab.isSpecial(id), what, file: file, line: line)

            // 1. The piece is what the token contributes in running text (library's context decode).
            let inContext: String
            switch context {
            case .prefixStable: inContext = anchor.single + piece + anchorLater
            case .suffixSensitive: inContext = anchorEarlier + piece + anchor.single
            }
            assertScalars(inContext, entry.context, what + " piece in running text", file: file, line: line)

            // 2. The piece relates to the library's single-id decode as the decoder dictates.
            let scalars = piece.unicodeScalars
            let fromSingle: String
            switch single {
            case .identical:
                fromSingle = piece
            case .firstSpaceStripped:
                fromSingle = scalars.first == " " ? String(String.UnicodeScalarView(scalars.dropFirst())) : piece
            case .allSpacesDropped:
                // (Metaspace vocabularies hold no literal spaces: every space in a piece is a `▁`.)
                fromSingle = String(String.UnicodeScalarView(scalars.filter { $0 != " " }))
            case .wordPiece:
                // (By scalars: Swift's hasPrefix would see "#" + U+FE0F in "##\u{FE0F}" as one character.)
                if entry.token.unicodeScalars.starts(with: "##".unicodeScalars) {
                    fromSingle = "##" + piece
                } else {
                    fromSingle = scalars.first == " " ? String(String.UnicodeScalarView(scalars.dropFirst())) : piece
                }
            case .trailingSpaceDropped:
                fromSingle = scalars.last == " " ? String(String.UnicodeScalarView(scalars.dropLast())) : piece
            }
            assertScalars(fromSingle, entry.single, what + " piece vs decode([id])", file: file, line: line)
        }
        XCTAssertEqual(specialCount, specials.count, "\(kind): special tokens", file: file, line: line)
        return vocab
    }

    private func assertScalars(_ actual: String, _ expected: String, _ message: String = "",
                               file: StaticString = #filePath, line: UInt = #line) {
        if !actual.unicodeScalars.elementsEqual(expected.unicodeScalars) {
            XCTFail("\(message): got \(actual.debugDescription), expected \(expected.debugDescription)", file: file, line: line)
        }
    }

    // MARK: Out of range, errors, fallbacks

    func testIdsOutsideTheVocabularyReadAsUnknown() throws {
        let vocab = try TokenizerVocabulary(path: Fixtures.path("tokenizers/gpt2-bytelevel/tokenizer.json"))
        XCTAssertEqual(vocab.piece(vocab.count), "<unk:\(vocab.count)>")
        XCTAssertEqual(vocab.piece(-1), "<unk:-1>")
        XCTAssertNil(vocab.token(-1))
        XCTAssertFalse(vocab.isSpecial(1_000_000))
        // The library silently drops unknown ids; we show them.
        XCTAssertEqual(vocab.decode([999_999]), "<unk:999999>")
    }

    func testDirectoryPathFindsTokenizerJSON() throws {
        let vocab = try TokenizerVocabulary(path: Fixtures.path("tokenizers/t5-unigram"))
        XCTAssertTrue(vocab.source.hasSuffix("t5-unigram/tokenizer.json"))
    }

    func testMissingFileNamesTheFile() {
        let path = "/nonexistent/dir/tokenizer.json"
        XCTAssertThrowsError(try TokenizerVocabulary(path: path)) { error in
            let error = error as? SaescopeError
            XCTAssertEqual(error?.file, path)
            XCTAssertTrue(error?.message.contains("cannot open") == true, "\(String(describing: error))")
        }
    }

    func testMalformedFilesGiveOneLineErrors() {
        let cases: [(String, String)] = [
            ("{not json", "tokenizer file is not valid JSON (expected a member name at byte 1)"),
            ("{\"model\": {}} x", "tokenizer file is not valid JSON (text after the JSON value at byte 14)"),
            ("{\"a\": \"\\q\"}", "tokenizer file is not valid JSON (bad escape in a string at byte 9)"),
            (String(repeating: "[", count: 10_000), "tokenizer file is not valid JSON (nesting deeper than 256 at byte 256)"),
            ("[1, 2]", "tokenizer file is not a JSON object"),
            (#"{"version": "1.0"}"#, "tokenizer file has no \"model\" object (is this a tokenizer.json?)"),
            (#"{"model": {"type": "Mystery", "vocab": {"a": 0}}}"#, "unsupported tokenizer model type Mystery"),
            (#"{"model": {"type": "BPE"}}"#, "BPE model has no vocab"),
            (#"{"model": {"type": "BPE", "vocab": [["a", 0.0]]}}"#, "model vocab has the wrong shape for a BPE model"),
            (#"{"model": {"type": "BPE", "vocab": {"a": -1}}}"#, "vocab id of \"a\" is not a non-negative integer"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 1.5}}}"#, "vocab id of \"a\" is not a non-negative integer"),
            (#"{"model": {"type": "BPE", "vocab": {"a": true}}}"#, "vocab id of \"a\" is not a non-negative integer"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 99999999999}}}"#, "token id 99999999999 is implausibly large for a vocabulary"),
            (#"{"model": {"type": "Unigram", "vocab": [["a", 0.0], 7]}}"#, "Unigram vocab entry 1 is not a [piece, score] pair"),
            (#"{"model": {"type": "BPE", "vocab": {}}, "added_tokens": {}}"#, "added_tokens is not a list"),
            (#"{"model": {"type": "BPE", "vocab": {}}, "added_tokens": [{"id": 0}]}"#, "added_tokens entry 0 lacks an integer id or a content string"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try TokenizerVocabulary(jsonData: Data(json.utf8), source: "bad.json"), json) { error in
                XCTAssertEqual(error as? SaescopeError, SaescopeError(message, file: "bad.json"), json)
            }
        }
    }

    private func vocabulary(_ vocab: String, decoder: String, added: String = "[]", type: String = "BPE") throws -> TokenizerVocabulary {
        let json = #"{"added_tokens": \#(added), "model": {"type": "\#(type)", "vocab": \#(vocab)}, "decoder": \#(decoder)}"#
        return try TokenizerVocabulary(jsonData: Data(json.utf8), source: "inline")
    }

    func testCanonicallyEquivalentTokensStayDistinct() throws {
        // "é" precomposed and decomposed, "Å" and the ANGSTROM SIGN: equal as Swift Strings,
        // different tokens to the tokenizer. Escapes and raw UTF-8 both.
        let vocab = try vocabulary(#"{"\u00e9": 0, "e\u0301": 1, "Å": 2, "\u212b": 3, "\ud83d\ude00": 4, "a\"\\/\n": 5}"#,
                                   decoder: #"{"type": "Metaspace", "replacement": "\u2581"}"#)
        XCTAssertEqual(vocab.count, 6)
        let expected: [[UInt32]] = [[0xE9], [0x65, 0x301], [0xC5], [0x212B], [0x1F600], [0x61, 0x22, 0x5C, 0x2F, 0x0A]]
        for (id, scalars) in expected.enumerated() {
            XCTAssertEqual(vocab.token(id)?.unicodeScalars.map(\.value), scalars, "id \(id)")
            XCTAssertEqual(vocab.piece(id).unicodeScalars.map(\.value), scalars, "id \(id)")
        }
    }

    func testUnknownDecodersFallBackToRawStrings() throws {
        let vocab = try vocabulary(#"{"▁a": 0, "b": 1}"#, decoder: #"{"type": "FancyNew", "x": 1}"#)
        XCTAssertEqual(vocab.piece(0), "▁a")
        XCTAssertEqual(vocab.decode([0, 1]), "▁ab")
        XCTAssertTrue(vocab.decoderSummary.hasPrefix("FancyNew"))
        // One unknown step spoils the whole Sequence.
        let sequence = try vocabulary(#"{"▁a": 0}"#, decoder: #"{"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Mystery"}]}"#)
        XCTAssertEqual(sequence.piece(0), "▁a")
        // No decoder at all: the library joins vocabulary strings with spaces.
        let none = try vocabulary(#"{"a": 0, "b": 1}"#, decoder: "null")
        XCTAssertEqual(none.decode([0, 1]), "a b")
        XCTAssertEqual(none.piece(1), "b")
    }

    func testMetaspaceLegacyAndNeverScheme() throws {
        // add_prefix_space false (older files) and prepend_scheme never keep the first space.
        for decoder in [#"{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false}"#,
                        #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"}"#] {
            let vocab = try vocabulary(#"[["▁hi", 0.0], ["▁there", 0.0]]"#, decoder: decoder, type: "Unigram")
            XCTAssertEqual(vocab.decode([0, 1]), " hi there")
        }
        let always = try vocabulary(#"[["▁hi", 0.0], ["▁▁x", 0.0]]"#, decoder: #"{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}"#, type: "Unigram")
        // Every ▁ of the first token goes, as in the library.
        XCTAssertEqual(always.decode([1, 0]), "x hi")
        XCTAssertEqual(always.piece(1), "  x")
    }

    func testCTCStripAndRegexReplace() throws {
        let ctc = try vocabulary(#"{"<pad>": 0, "h": 1, "i": 2, "|": 3}"#,
                                 decoder: #"{"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": true}"#)
        XCTAssertEqual(ctc.decode([1, 1, 0, 1, 2, 3, 3, 2]), "hhi i")
        XCTAssertEqual(ctc.piece(3), " ")
        XCTAssertEqual(ctc.piece(0), "")

        // Strip without a Fuse acts on every token, in pieces too.
        let strip = try vocabulary(#"{"xaxx": 0}"#, decoder: #"{"type": "Strip", "content": "x", "start": 2, "stop": 1}"#)
        XCTAssertEqual(strip.piece(0), "ax")
        XCTAssertEqual(strip.decode([0, 0]), "axax")

        let regex = try vocabulary(#"{"a__b": 0}"#, decoder: #"{"type": "Replace", "pattern": {"Regex": "_+"}, "content": "$"}"#)
        XCTAssertEqual(regex.piece(0), "a$b")
    }

    func testAddedTokensOverrideTheModelAndNonSpecialOnesAreDecoded() throws {
        let vocab = try vocabulary(#"{"a": 0, "Ġb": 1}"#, decoder: #"{"type": "ByteLevel"}"#,
                                   added: #"[{"id": 1, "content": "<eos>", "special": true}, {"id": 5, "content": "Ġadded", "special": false}]"#)
        XCTAssertEqual(vocab.count, 6)
        XCTAssertEqual(vocab.token(1), "<eos>")
        XCTAssertEqual(vocab.piece(1), "<eos>")
        XCTAssertEqual(vocab.piece(5), " added")
        XCTAssertEqual(vocab.piece(3), "<unk:3>")
        XCTAssertEqual(vocab.decode([0, 1, 5]), "a<eos> added")
    }

    func testByteFallbackAcceptsWhatRustAccepts() {
        XCTAssertEqual(TokenDecoder.fallbackByte("<0x0A>"), 0x0A)
        XCTAssertEqual(TokenDecoder.fallbackByte("<0xff>"), 0xFF)
        XCTAssertEqual(TokenDecoder.fallbackByte("<0x+F>"), 0x0F)  // u8::from_str_radix("+F", 16)
        XCTAssertNil(TokenDecoder.fallbackByte("<0xG0>"))
        XCTAssertNil(TokenDecoder.fallbackByte("<0x0A"))
        XCTAssertNil(TokenDecoder.fallbackByte("<0x0AB>"))
    }

    /// Hostile decoder settings and vocabularies never trap: every piece and random decodes
    /// (including the empty sequence) run to completion. Seeded, reproducible.
    func testHostileDecodersAndVocabulariesNeverTrap() throws {
        let decoders = [
            #"{"type": "Strip", "content": " ", "start": 5, "stop": 9}"#,
            #"{"type": "Strip", "content": "ab", "start": 1, "stop": 1}"#,
            #"{"type": "Strip", "content": " ", "start": -1, "stop": 0}"#,
            #"{"type": "BPEDecoder", "suffix": ""}"#,
            #"{"type": "BPEDecoder"}"#,
            #"{"type": "Metaspace", "replacement": "", "prepend_scheme": "always"}"#,
            #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}"#,
            #"{"type": "WordPiece", "prefix": "", "cleanup": true}"#,
            #"{"type": "Replace", "pattern": {"String": ""}, "content": "+"}"#,
            #"{"type": "Replace", "pattern": {"Regex": "(unclosed"}, "content": "+"}"#,
            #"{"type": "Replace", "pattern": {"Regex": "x*"}, "content": "$1\\"}"#,
            #"{"type": "CTC", "pad_token": "", "word_delimiter_token": "", "cleanup": true}"#,
            #"{"type": "ByteLevel"}"#, #"{"type": "ByteFallback"}"#, #"{"type": "Fuse"}"#,
            #"{"type": "Sequence", "decoders": []}"#, #"{"type": "Sequence", "decoders": 3}"#,
            #"{"type": 7}"#, "[]", "5", #""text""#,
        ]
        // JSON string literals for the vocabulary (empty, spaces, markers, byte tokens, partial
        // UTF-8 in byte-level spelling, a surrogate pair escape, decomposed text).
        let pieces = ["\"\"", "\" \"", "\"▁\"", "\"▁▁x\"", "\"##\"", "\"##a\"", "\"<0xC3>\"", "\"<0x+F>\"", "\"<0xZZ>\"",
                      "\"Ġ\"", "\"ðŁ\"", "\"x</w>\"", "\"</w>\"", "\" . \"", "\"\\ud83d\\ude00\"", "\"é\"", "\"e\\u0301\""]
        var rng = SplitMix64(seed: 42)
        for round in 0..<300 {
            let chosen = (0..<Int.random(in: 1...4, using: &rng)).map { _ in decoders.randomElement(using: &rng)! }
            let decoder = chosen.count == 1 ? chosen[0] : #"{"type": "Sequence", "decoders": [\#(chosen.joined(separator: ", "))]}"#
            let vocab = pieces.shuffled(using: &rng).enumerated().map { "\($1): \($0)" }.joined(separator: ", ")
            let json = #"{"model": {"type": "BPE", "vocab": {\#(vocab)}}, "added_tokens": [{"id": 20, "content": "<s>", "special": true}], "decoder": \#(decoder)}"#
            let tokenizer: TokenizerVocabulary
            do {
                tokenizer = try TokenizerVocabulary(jsonData: Data(json.utf8), source: "round \(round)")
            } catch is SaescopeError {
                continue
            }
            for id in -1...tokenizer.count { _ = tokenizer.piece(id) }
            _ = tokenizer.decode([])
            for _ in 0..<5 {
                let ids = (0..<Int.random(in: 1...8, using: &rng)).map { _ in Int.random(in: -2...22, using: &rng) }
                _ = tokenizer.decode(ids)
            }
        }
    }
}
