/// A small JSON reader for `tokenizer.json` that keeps object members as an ordered list of
/// (key, value) pairs.
///
/// Why not JSONSerialization: it returns `[String: Any]`, and Swift dictionaries compare String
/// keys by canonical equivalence, so vocabulary entries such as "é" (U+00E9) and "e\u{301}", or
/// "Å" (U+00C5) and "Å" (U+212B, ANGSTROM SIGN) collapse into one, losing a token id.
enum TokenizerJSON: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([TokenizerJSON])
    case object([(key: String, value: TokenizerJSON)])

    /// Nesting deeper than this is refused (recursion must not overflow the stack).
    static let maximumDepth = 256

    struct SyntaxError: Error {
        let offset: Int
        let problem: String
    }

    /// Parses `bytes`; members named in `skipping` (at any depth) are scanned but read as `.null`,
    /// which saves building values nobody reads (a large BPE file's `merges`).
    static func parse(_ bytes: UnsafeRawBufferPointer, skipping: Set<String> = []) throws(SyntaxError) -> TokenizerJSON {
        var parser = Parser(bytes: bytes, skipping: skipping)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == bytes.count else { throw SyntaxError(offset: parser.position, problem: "text after the JSON value") }
        return value
    }

    // MARK: Access

    subscript(key: String) -> TokenizerJSON? {
        guard case .object(let members) = self else { return nil }
        // Keys compared by scalars, consistently with how they were kept apart.
        return members.first { $0.key.unicodeScalars.elementsEqual(key.unicodeScalars) }?.value
    }

    var string: String? { if case .string(let text) = self { text } else { nil } }
    var bool: Bool? { if case .bool(let flag) = self { flag } else { nil } }
    var array: [TokenizerJSON]? { if case .array(let items) = self { items } else { nil } }
    var members: [(key: String, value: TokenizerJSON)]? { if case .object(let members) = self { members } else { nil } }
    var isNull: Bool { if case .null = self { true } else { false } }

    /// An exact integer (no fraction, within ±2^53), or nil.
    var integer: Int? {
        guard case .number(let value) = self, value.isFinite, value == value.rounded(), abs(value) < 9.0e15 else { return nil }
        return Int(value)
    }

    // MARK: Parser

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        let skipping: Set<String>
        var position = 0

        init(bytes: UnsafeRawBufferPointer, skipping: Set<String>) {
            self.bytes = bytes
            self.skipping = skipping
        }

        func fail(_ problem: String) -> SyntaxError { SyntaxError(offset: position, problem: problem) }

        mutating func skipSpace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> TokenizerJSON {
            guard depth < TokenizerJSON.maximumDepth else { throw fail("nesting deeper than \(TokenizerJSON.maximumDepth)") }
            guard position < bytes.count else { throw fail("unexpected end") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var members: [(key: String, value: TokenizerJSON)] = []
                skipSpace()
                if consume(UInt8(ascii: "}")) { return .object(members) }
                while true {
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                    let key = try string()
                    skipSpace()
                    guard consume(UInt8(ascii: ":")) else { throw fail("expected ':'") }
                    skipSpace()
                    if skipping.contains(key) {
                        try skipValue(depth: depth + 1)
                        members.append((key, .null))
                    } else {
                        members.append((key, try value(depth: depth + 1)))
                    }
                    skipSpace()
                    if consume(UInt8(ascii: ",")) { continue }
                    guard consume(UInt8(ascii: "}")) else { throw fail("expected ',' or '}'") }
                    return .object(members)
                }
            case UInt8(ascii: "["):
                position += 1
                var items: [TokenizerJSON] = []
                skipSpace()
                if consume(UInt8(ascii: "]")) { return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if consume(UInt8(ascii: ",")) { continue }
                    guard consume(UInt8(ascii: "]")) else { throw fail("expected ',' or ']'") }
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try word("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try word("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try word("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return .number(try number())
            default:
                throw fail("unexpected character")
            }
        }

        /// Scans past one value without building it (strings are not decoded, only delimited).
        mutating func skipValue(depth: Int) throws(SyntaxError) {
            guard depth < TokenizerJSON.maximumDepth else { throw fail("nesting deeper than \(TokenizerJSON.maximumDepth)") }
            guard position < bytes.count else { throw fail("unexpected end") }
            switch bytes[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = bytes[position] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                let isObject = close == UInt8(ascii: "}")
                position += 1
                skipSpace()
                if consume(close) { return }
                while true {
                    skipSpace()
                    if isObject {
                        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                        try skipString()
                        skipSpace()
                        guard consume(UInt8(ascii: ":")) else { throw fail("expected ':'") }
                        skipSpace()
                    }
                    try skipValue(depth: depth + 1)
                    skipSpace()
                    if consume(UInt8(ascii: ",")) { continue }
                    guard consume(close) else { throw fail("expected ',' or a closing bracket") }
                    return
                }
            case UInt8(ascii: "\""):
                try skipString()
            default:
                _ = try value(depth: depth)  // literals and numbers are cheap
            }
        }

        mutating func skipString() throws(SyntaxError) {
            position += 1
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\""): position += 1; return
                case UInt8(ascii: "\\"): position += 2
                default: position += 1
                }
            }
            throw fail("unterminated string")
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func word(_ text: StaticString) throws(SyntaxError) {
            let count = text.utf8CodeUnitCount
            guard position + count <= bytes.count else { throw fail("unexpected end") }
            for i in 0..<count where bytes[position + i] != text.utf8Start[i] { throw fail("unexpected character") }
            position += count
        }

        mutating func number() throws(SyntaxError) -> Double {
            let start = position
            func digits() -> Int {
                let from = position
                while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
                return position - from
            }
            _ = consume(UInt8(ascii: "-"))
            guard digits() > 0 else { throw fail("malformed number") }
            if consume(UInt8(ascii: ".")) { guard digits() > 0 else { throw fail("malformed number") } }
            if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                guard digits() > 0 else { throw fail("malformed number") }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let value = Double(text) else { throw fail("malformed number") }
            return value
        }

        /// A string starting at the opening quote.
        mutating func string() throws(SyntaxError) -> String {
            position += 1
            let start = position
            // Fast path: no escapes.
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    defer { position += 1 }
                    return try text(start..<position)
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw fail("control character in a string") }
                position += 1
            }
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: try text(start..<position).unicodeScalars)
            while true {
                guard position < bytes.count else { throw fail("unterminated string") }
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return String(scalars)
                }
                if byte == UInt8(ascii: "\\") {
                    position += 1
                    guard position < bytes.count else { throw fail("unterminated string") }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        let unit = try hex4()
                        if (0xD800...0xDBFF).contains(unit), position + 1 < bytes.count,
                           bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                            let save = position
                            position += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalars.append(Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!)
                                continue
                            }
                            position = save
                        }
                        // A lone surrogate is not a character: the replacement character stands in.
                        scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                    default:
                        throw fail("bad escape in a string")
                    }
                    continue
                }
                guard byte >= 0x20 else { throw fail("control character in a string") }
                // Copy a run of plain bytes.
                let runStart = position
                while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\"), bytes[position] >= 0x20 {
                    position += 1
                }
                scalars.append(contentsOf: try text(runStart..<position).unicodeScalars)
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw fail("unterminated string") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw fail("bad \\u escape")
                }
                value = value * 16 + digit
                position += 1
            }
            return value
        }

        func text(_ range: Range<Int>) throws(SyntaxError) -> String {
            guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) else {
                throw SyntaxError(offset: range.lowerBound, problem: "invalid UTF-8 in a string")
            }
            return text
        }
    }
}
