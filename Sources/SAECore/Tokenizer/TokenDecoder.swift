import Foundation

/// The `decoder` of a Hugging Face `tokenizer.json`, re-implemented from the `tokenizers` library
/// (`decode_chain` of each type): it turns a list of vocabulary strings into text.
///
/// A chain runs in one of two modes. `.sequence` is the library's `decode(ids)`: index rules apply
/// (Metaspace drops the replacement character in the first token, WordPiece keeps the first
/// token's `##`, BPEDecoder drops the last token's suffix, Strip cuts the start of the text).
/// `.piece` gives what one token contributes in the middle of running text: it is never the first
/// nor the last token, and a Strip after the tokens have been fused touches only the text's ends,
/// so it does not apply.
indirect enum TokenDecoder: Sendable {
    /// No decoder in the file: the library joins the vocabulary strings with spaces.
    case none
    /// A decoder type we do not implement: raw vocabulary strings, concatenated.
    case raw(String)
    case byteLevel
    case wordPiece(prefix: String, cleanup: Bool)
    /// `stripsFirst`: prepend_scheme is `always` or `first` (not `never`).
    case metaspace(replacement: Unicode.Scalar, stripsFirst: Bool)
    case bpe(suffix: String)
    case ctc(pad: String, delimiter: String, cleanup: Bool)
    case replaceString(pattern: String, content: String)
    case replaceRegex(NSRegularExpressionBox, content: String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case sequence([TokenDecoder])

    enum Mode { case sequence, piece }

    /// Builds the decoder from its JSON value (nil or null: no decoder). Unknown or malformed
    /// decoders (anywhere in a Sequence) give `.raw`, never an error: display must not fail.
    static func from(json: TokenizerJSON?) -> TokenDecoder {
        guard let json, !json.isNull else { return .none }
        return parse(json) ?? .raw(json["type"]?.string ?? "untyped")
    }

    private static func parse(_ object: TokenizerJSON) -> TokenDecoder? {
        guard let type = object["type"]?.string else { return nil }
        func string(_ key: String, default value: String) -> String? {
            guard let field = object[key], !field.isNull else { return value }
            return field.string
        }
        func flag(_ key: String, default value: Bool) -> Bool? {
            guard let field = object[key], !field.isNull else { return value }
            return field.bool
        }
        func count(_ key: String) -> Int? {
            guard let field = object[key], !field.isNull else { return 0 }
            guard let value = field.integer, value >= 0 else { return nil }
            return value
        }
        switch type {
        case "ByteLevel":
            return .byteLevel
        case "WordPiece":
            guard let prefix = string("prefix", default: "##"), let cleanup = flag("cleanup", default: true) else { return nil }
            return .wordPiece(prefix: prefix, cleanup: cleanup)
        case "Metaspace":
            guard let text = string("replacement", default: "▁"), let replacement = singleScalar(text) else { return nil }
            var stripsFirst = true
            if let scheme = object["prepend_scheme"], !scheme.isNull {
                guard let name = scheme.string, ["always", "first", "never"].contains(name) else { return nil }
                stripsFirst = name != "never"
            }
            // Legacy files: add_prefix_space false means "never".
            if object["add_prefix_space"]?.bool == false { stripsFirst = false }
            return .metaspace(replacement: replacement, stripsFirst: stripsFirst)
        case "BPEDecoder":
            guard let suffix = string("suffix", default: "</w>") else { return nil }
            return .bpe(suffix: suffix)
        case "CTC":
            guard let pad = string("pad_token", default: "<pad>"), let delimiter = string("word_delimiter_token", default: "|"),
                  let cleanup = flag("cleanup", default: true) else { return nil }
            return .ctc(pad: pad, delimiter: delimiter, cleanup: cleanup)
        case "Replace":
            guard let pattern = object["pattern"], let content = object["content"]?.string else { return nil }
            if let literal = pattern["String"]?.string { return .replaceString(pattern: literal, content: content) }
            if let source = pattern["Regex"]?.string, let regex = try? NSRegularExpression(pattern: source, options: []) {
                return .replaceRegex(NSRegularExpressionBox(regex), content: content)
            }
            return nil
        case "ByteFallback":
            return .byteFallback
        case "Fuse":
            return .fuse
        case "Strip":
            guard let text = string("content", default: " "), let content = singleScalar(text),
                  let start = count("start"), let stop = count("stop") else { return nil }
            return .strip(content: content, start: start, stop: stop)
        case "Sequence":
            guard let list = object["decoders"]?.array else { return nil }
            var steps: [TokenDecoder] = []
            for item in list {
                guard let step = parse(item) else { return nil }
                steps.append(step)
            }
            return .sequence(steps)
        default:
            return nil
        }
    }

    private static func singleScalar(_ text: String) -> Unicode.Scalar? {
        let scalars = text.unicodeScalars
        guard scalars.count == 1 else { return nil }
        return scalars.first
    }

    /// A short description for messages, e.g. `Sequence[Replace, ByteFallback, Fuse, Strip]`.
    var summary: String {
        switch self {
        case .none: "none"
        case .raw(let type): "\(type) (not supported: raw vocabulary strings)"
        case .byteLevel: "ByteLevel"
        case .wordPiece: "WordPiece"
        case .metaspace: "Metaspace"
        case .bpe: "BPEDecoder"
        case .ctc: "CTC"
        case .replaceString, .replaceRegex: "Replace"
        case .byteFallback: "ByteFallback"
        case .fuse: "Fuse"
        case .strip: "Strip"
        case .sequence(let steps): "Sequence[\(steps.map(\.summary).joined(separator: ", "))]"
        }
    }

    // MARK: Decoding

    /// The library's `decoder.decode(tokens)`: the chain, then its pieces concatenated.
    func decode(_ tokens: [String], mode: Mode) -> String {
        switch self {
        case .none: return mode == .piece ? tokens.joined() : tokens.joined(separator: " ")
        case .raw: return tokens.joined()
        default:
            var fused = false
            return chain(tokens, mode: mode, fused: &fused).joined()
        }
    }

    /// One `decode_chain` step. `fused` records that earlier steps joined everything into one
    /// string (Fuse, ByteLevel), which matters only for Strip in `.piece` mode.
    private func chain(_ tokens: [String], mode: Mode, fused: inout Bool) -> [String] {
        let count = tokens.count
        func isFirst(_ i: Int) -> Bool { mode == .sequence && i == 0 }
        func isLast(_ i: Int) -> Bool { mode == .sequence && i == count - 1 }

        switch self {
        case .none, .raw:
            return tokens
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens { bytes += ByteLevelAlphabet.bytes(of: token) ?? Array(token.utf8) }
            fused = true
            // Swift's repair of invalid UTF-8 substitutes U+FFFD for each maximal invalid subpart,
            // as Rust's from_utf8_lossy does.
            return [String(decoding: bytes, as: UTF8.self)]
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { i, token in
                var text = token
                if !isFirst(i) {
                    if token.hasPrefixScalars(prefix) {
                        text = String(token.unicodeScalars.dropFirst(prefix.unicodeScalars.count))
                    } else {
                        text = " " + token
                    }
                }
                return cleanup ? Self.cleanup(text) : text
            }
        case .metaspace(let replacement, let stripsFirst):
            return tokens.enumerated().map { i, token in
                var scalars = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if scalar == replacement {
                        // The library drops every replacement character of the first token.
                        if isFirst(i) && stripsFirst { continue }
                        scalars.append(" ")
                    } else {
                        scalars.append(scalar)
                    }
                }
                return String(scalars)
            }
        case .bpe(let suffix):
            return tokens.enumerated().map { i, token in
                token.replacingScalars(suffix, with: isLast(i) ? "" : " ")
            }
        case .ctc(let pad, let delimiter, let cleanup):
            var result: [String] = []
            var previous: String?
            for token in tokens {
                // dedup() compares the raw tokens, before any replacement.
                if let previous, previous.unicodeScalars.elementsEqual(token.unicodeScalars) { continue }
                previous = token
                var text = token.replacingScalars(pad, with: "")
                if cleanup { text = Self.cleanup(text).replacingScalars(delimiter, with: " ") }
                if !text.isEmpty { result.append(text) }
            }
            return result
        case .replaceString(let pattern, let content):
            return tokens.map { $0.replacingScalars(pattern, with: content) }
        case .replaceRegex(let box, let content):
            return tokens.map { token in
                let range = NSRange(token.startIndex..<token.endIndex, in: token)
                return box.regex.stringByReplacingMatches(
                    in: token, options: [], range: range,
                    withTemplate: NSRegularExpression.escapedTemplate(for: content))
            }
        case .byteFallback:
            var result: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) {
                    result.append(text)
                } else {
                    // Not valid UTF-8 as a whole: one U+FFFD per byte token, as the library does.
                    result.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for token in tokens {
                if let byte = Self.fallbackByte(token) {
                    pending.append(byte)
                } else {
                    flush()
                    result.append(token)
                }
            }
            flush()
            return result
        case .fuse:
            fused = true
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            // After a fuse the single string spans the whole text: its ends are the text's ends,
            // which a piece in running text never touches.
            if mode == .piece && fused { return tokens }
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var startCut = 0
                for (i, scalar) in scalars.prefix(start).enumerated() {
                    guard scalar == content else { break }
                    startCut = i + 1
                }
                var stopCut = scalars.count
                for i in 0..<min(stop, scalars.count) {
                    let index = scalars.count - i - 1
                    guard scalars[index] == content else { break }
                    stopCut = index
                }
                // (The library would panic when the cuts cross; we give the empty string.)
                guard startCut < stopCut else { return "" }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[startCut..<stopCut])
                return String(view)
            }
        case .sequence(let steps):
            var current = tokens
            for step in steps { current = step.chain(current, mode: mode, fused: &fused) }
            return current
        }
    }

    /// `<0x0A>` -> 0x0A: exactly six UTF-8 bytes, `<0x`, two digits Rust's `u8::from_str_radix(_, 16)`
    /// accepts (which includes a leading `+`), `>`.
    static func fallbackByte(_ token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, utf8[0] == 0x3C, utf8[1] == 0x30, utf8[2] == 0x78, utf8[5] == 0x3E else { return nil }
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x41 + 10
            case 0x61...0x66: byte - 0x61 + 10
            default: nil
            }
        }
        if utf8[3] == 0x2B { return hexValue(utf8[4]) }
        guard let high = hexValue(utf8[3]), let low = hexValue(utf8[4]) else { return nil }
        return high * 16 + low
    }

    /// The WordPiece decoder's `cleanup`: the library's replacements, in its order.
    static func cleanup(_ text: String) -> String {
        var result = text
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            result = result.replacingScalars(from, with: to)
        }
        return result
    }
}

/// NSRegularExpression is immutable and thread-safe once built, but not marked Sendable.
final class NSRegularExpressionBox: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }
}

extension String {
    /// Rust's `str::replace`: every non-overlapping occurrence, left to right, compared by Unicode
    /// scalars (not by Swift's grapheme-cluster equivalence). An empty pattern matches at every
    /// scalar boundary, as in Rust.
    func replacingScalars(_ pattern: String, with replacement: String) -> String {
        let source = Array(unicodeScalars)
        let needle = Array(pattern.unicodeScalars)
        var result = String.UnicodeScalarView()
        if needle.isEmpty {
            for scalar in source {
                result.append(contentsOf: replacement.unicodeScalars)
                result.append(scalar)
            }
            result.append(contentsOf: replacement.unicodeScalars)
            return String(result)
        }
        guard source.count >= needle.count else { return self }
        var i = 0
        var changed = false
        while i < source.count {
            if i + needle.count <= source.count, source[i] == needle[0], source[i..<i + needle.count].elementsEqual(needle) {
                result.append(contentsOf: replacement.unicodeScalars)
                i += needle.count
                changed = true
            } else {
                result.append(source[i])
                i += 1
            }
        }
        return changed ? String(result) : self
    }

    /// `hasPrefix` by Unicode scalars (Swift's `hasPrefix` compares canonically equivalent text).
    func hasPrefixScalars(_ prefix: String) -> Bool {
        unicodeScalars.starts(with: prefix.unicodeScalars)
    }
}
