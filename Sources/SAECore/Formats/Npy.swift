/// Reader for NumPy's `.npy` format, versions 1.0 to 3.0: a magic string, a version, a header
/// length (2 bytes in v1, 4 in v2/v3), a Python dict literal `{'descr': '<f4',
/// 'fortran_order': False, 'shape': (N, D), }`, then the raw C-ordered data.
public enum Npy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    public static func read(path: String) throws -> Tensor {
        let buffer = try ByteBuffer(mapping: path)
        return try attributingErrors(to: path) { try parse(buffer) }
    }

    public static func parse(_ buffer: ByteBuffer) throws -> Tensor {
        try parse(buffer, range: 0..<buffer.count)
    }

    /// Parses the npy file stored in `range` of `buffer` (an entry of an `.npz` archive), without
    /// copying. `voidAsBFloat16` reads the descr `<V2` as bfloat16: numpy has no bfloat16, and
    /// ml_dtypes (what JAX uses) saves its bfloat16 arrays as 2-byte void.
    public static func parse(_ buffer: ByteBuffer, range: Range<Int>, voidAsBFloat16: Bool = false) throws -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count, "npy range outside the buffer")
        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: buffer.bytes[range]), context: "npy file")
        let prefix = try reader.readBytes(6)
        guard Array(prefix) == magic else { throw SaescopeError("not an npy file (bad magic bytes)") }
        let major = try reader.readByte()
        _ = try reader.readByte()  // minor version: no format differences
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try reader.readUInt16())
        case 2, 3: headerLength = Int(try reader.readUInt32())
        default: throw SaescopeError("unsupported npy format version \(major)")
        }
        guard headerLength <= reader.remaining else {
            throw SaescopeError("npy header length \(headerLength) runs past the end of the file")
        }
        let headerBytes = try reader.readBytes(headerLength)
        guard let headerText = String(validating: headerBytes, as: UTF8.self) else {
            throw SaescopeError("npy header is not text")
        }
        let header = try NpyHeader(parsing: headerText)
        guard !header.fortranOrder else {
            throw SaescopeError("Fortran-ordered npy arrays are not supported; save with np.ascontiguousarray")
        }
        let isTwoByteVoid = header.descr == "<V2" || header.descr == "|V2"
        let dtype = voidAsBFloat16 && isTwoByteVoid ? DType.bfloat16 : try dtypeFor(descr: header.descr)
        guard let count = elementCount(of: header.shape),
              !count.multipliedReportingOverflow(by: dtype.byteSize).overflow,
              count * dtype.byteSize <= reader.remaining else {
            throw SaescopeError("npy data is truncated: shape \(header.shape) of \(header.descr) needs more bytes than the \(reader.remaining) present")
        }
        return try Tensor(dtype: dtype, shape: header.shape, buffer: buffer, byteOffset: range.lowerBound + reader.position)
    }

    static func dtypeFor(descr: String) throws -> DType {
        switch descr {
        case "<f4": return .float32
        case "<f2": return .float16
        case "<f8": return .float64
        case "<i4": return .int32
        case "<i8": return .int64
        case "<i2": return .int16
        case "|i1", "<i1": return .int8
        case "|u1", "<u1": return .uint8
        case "|b1": return .bool
        default:
            if descr.hasPrefix(">") { throw SaescopeError("big-endian npy data (\(descr)) is not supported") }
            throw SaescopeError("unsupported npy dtype \(descr)")
        }
    }
}

/// The three fields of an npy header, parsed from its Python-literal dict without evaluating it.
struct NpyHeader {
    var descr = ""
    var fortranOrder = false
    var shape: [Int] = []

    init(parsing text: String) throws {
        var scanner = LiteralScanner(Array(text.utf8))
        try scanner.expect(UInt8(ascii: "{"))
        var seen = Set<String>()
        while true {
            scanner.skipSpace()
            if scanner.consume(UInt8(ascii: "}")) { break }
            let key = try scanner.string()
            scanner.skipSpace()
            try scanner.expect(UInt8(ascii: ":"))
            scanner.skipSpace()
            switch key {
            case "descr": descr = try scanner.string()
            case "fortran_order": fortranOrder = try scanner.boolean()
            case "shape": shape = try scanner.integerTuple()
            default: throw SaescopeError("npy header has unexpected key '\(key)'")
            }
            seen.insert(key)
            scanner.skipSpace()
            if scanner.consume(UInt8(ascii: ",")) { continue }
            try scanner.expect(UInt8(ascii: "}"))
            break
        }
        guard seen == ["descr", "fortran_order", "shape"] else {
            throw SaescopeError("npy header lacks one of descr, fortran_order, shape")
        }
    }
}

/// Scans the tiny subset of Python literals npy headers use: quoted strings, True/False, int tuples.
struct LiteralScanner {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
        while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x09 { position += 1 }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    mutating func expect(_ byte: UInt8) throws {
        guard consume(byte) else { throw SaescopeError("npy header is malformed near byte \(position)") }
    }

    mutating func string() throws -> String {
        guard position < bytes.count, bytes[position] == 0x27 || bytes[position] == 0x22 else {
            throw SaescopeError("npy header is malformed near byte \(position): expected a string")
        }
        let quote = bytes[position]
        position += 1
        let start = position
        while position < bytes.count, bytes[position] != quote { position += 1 }
        guard position < bytes.count else { throw SaescopeError("npy header has an unterminated string") }
        defer { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    mutating func boolean() throws -> Bool {
        if matchWord("True") { return true }
        if matchWord("False") { return false }
        throw SaescopeError("npy header is malformed near byte \(position): expected True or False")
    }

    mutating func integerTuple() throws -> [Int] {
        try expect(UInt8(ascii: "("))
        var values: [Int] = []
        while true {
            skipSpace()
            if consume(UInt8(ascii: ")")) { return values }
            values.append(try integer())
            skipSpace()
            if consume(UInt8(ascii: ",")) { continue }
            try expect(UInt8(ascii: ")"))
            return values
        }
    }

    private mutating func integer() throws -> Int {
        var value = 0
        let start = position
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            let (scaled, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = scaled.addingReportingOverflow(Int(bytes[position] - 0x30))
            guard !overflowA, !overflowB else { throw SaescopeError("npy shape has a dimension too large") }
            value = sum
            position += 1
        }
        // Python 2 era headers write long integers as `3L`.
        _ = consume(UInt8(ascii: "L"))
        guard position > start else { throw SaescopeError("npy header is malformed near byte \(position): expected an integer") }
        return value
    }

    private mutating func matchWord(_ word: String) -> Bool {
        let utf8 = Array(word.utf8)
        guard position + utf8.count <= bytes.count, Array(bytes[position..<position + utf8.count]) == utf8 else { return false }
        position += utf8.count
        return true
    }
}
