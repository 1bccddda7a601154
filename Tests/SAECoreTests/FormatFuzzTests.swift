import Foundation
import XCTest
@testable import SAECore

/// Property tests for the safetensors and npy readers on hostile input: starting from valid files,
/// thousands of seeded mutations must each either parse into tensors that lie inside the buffer or
/// throw a `SaescopeError`, never trap, hang or throw anything else. Then the exact error for each
/// named malformation, and values read from files written by real numpy.
final class FormatFuzzTests: XCTestCase {

    // Seeded randomness: SAECore's SplitMix64, so every failure replays exactly.

    // MARK: Valid seed files

    static func halfBits(_ values: [Float]) -> [UInt8] {
        // A few exact binary16 encodings: 0, 1, -2, 0.5, 65504, smallest subnormal.
        let table: [Float: UInt16] = [0: 0x0000, 1: 0x3C00, -2: 0xC000, 0.5: 0x3800, 65504: 0x7BFF, 5.9604645e-08: 0x0001]
        return values.flatMap { value -> [UInt8] in
            let bits = table[value]!
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
    }

    static func safetensorsSeeds() throws -> [[UInt8]] {
        [
            try Safetensors.serialize([
                .init(name: "w", floats: [1, -2.5, 3.25, 4, 5, 6], shape: [2, 3]),
                .init(name: "ids", int64s: [7, -8], shape: [2]),
            ], metadata: ["model": "tiny", "format": "pt"]),
            try Safetensors.serialize([
                .init(name: "half", dtype: .float16, shape: [3, 2], data: halfBits([0, 1, -2, 0.5, 65504, 5.9604645e-08])),
                .init(name: "i32", int32s: [1, -1, Int32.max, Int32.min], shape: [4]),
            ]),
            try Safetensors.serialize([
                .init(name: "scalar", floats: [2.5], shape: []),
                .init(name: "empty", floats: [], shape: [0, 3]),
                .init(name: "empty2", int64s: [], shape: [4, 0, 2]),
            ]),
            try Safetensors.serialize([]),
        ]
    }

    /// An npy file: magic, version, header length (2 bytes in v1, 4 in v2/v3), header text padded
    /// with spaces and a newline so the data is 64-byte aligned (as numpy writes), then the data.
    static func npyFile(major: UInt8, minor: UInt8 = 0, header: String, data: [UInt8], pad: Bool = true) -> [UInt8] {
        let preamble = major == 1 ? 10 : 12
        var text = Array(header.utf8)
        if pad {
            while (preamble + text.count + 1) % 64 != 0 { text.append(0x20) }
            text.append(0x0A)
        }
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, minor]
        if major == 1 {
            bytes += withUnsafeBytes(of: UInt16(truncatingIfNeeded: text.count).littleEndian) { Array($0) }
        } else {
            bytes += withUnsafeBytes(of: UInt32(truncatingIfNeeded: text.count).littleEndian) { Array($0) }
        }
        return bytes + text + data
    }

    static func npyHeader(descr: String, fortran: String = "False", shape: String) -> String {
        "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }"
    }

    static func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    static func npySeeds() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for major: UInt8 in [1, 2, 3] {
            seeds.append(npyFile(major: major, header: npyHeader(descr: "<f4", shape: "(2, 3)"), data: bytes([Float](arrayLiteral: 1, -2, 3.5, 0, 5, 6))))
            seeds.append(npyFile(major: major, header: npyHeader(descr: "<f2", shape: "(3,)"), data: halfBits([1, -2, 65504])))
            seeds.append(npyFile(major: major, header: npyHeader(descr: "<i4", shape: "(2, 2)"), data: bytes([Int32](arrayLiteral: 1, -1, .max, .min))))
            seeds.append(npyFile(major: major, header: npyHeader(descr: "<i8", shape: "(2,)"), data: bytes([Int64](arrayLiteral: .max, .min))))
        }
        seeds.append(npyFile(major: 1, header: npyHeader(descr: "<f4", shape: "()"), data: bytes([Float(2.5)])))
        seeds.append(npyFile(major: 1, header: npyHeader(descr: "<i8", shape: "(0, 3)"), data: []))
        seeds.append(npyFile(major: 2, header: npyHeader(descr: "<f4", shape: "(2, 0, 4)"), data: []))
        // Python 2 era long integers, unpadded header, double quotes.
        seeds.append(npyFile(major: 1, header: #"{"descr": "<i4", "fortran_order": False, "shape": (2L,)}"#, data: bytes([Int32](arrayLiteral: 4, 5)), pad: false))
        return seeds
    }

    // MARK: The oracle

    /// Parses `bytes`; true when it parsed. Fails the test on any error that is not a
    /// SaescopeError, and on a parsed tensor that does not lie inside its buffer.
    @discardableResult
    func checkSafetensors(_ bytes: [UInt8], _ what: @autoclosure () -> String) -> Bool {
        do {
            let parsed = try Safetensors.parse(ByteBuffer(copying: bytes), source: "fuzz.safetensors")
            for tensor in parsed.tensors.values { checkTensor(tensor, what()) }
            return true
        } catch is SaescopeError {
            return false
        } catch {
            XCTFail("\(what()): threw a non-SaescopeError \(error)")
            return false
        }
    }

    @discardableResult
    func checkNpy(_ bytes: [UInt8], _ what: @autoclosure () -> String) -> Bool {
        do {
            checkTensor(try Npy.parse(ByteBuffer(copying: bytes)), what())
            return true
        } catch is SaescopeError {
            return false
        } catch {
            XCTFail("\(what()): threw a non-SaescopeError \(error)")
            return false
        }
    }

    func checkTensor(_ tensor: Tensor, _ what: @autoclosure () -> String) {
        guard elementCount(of: tensor.shape) == tensor.elementCount,
              tensor.byteOffset >= 0,
              tensor.byteCount == tensor.elementCount * tensor.dtype.byteSize,
              tensor.byteOffset + tensor.byteCount <= tensor.buffer.count else {
            XCTFail("\(what()): parsed tensor \(tensor.shape) \(tensor.dtype) at \(tensor.byteOffset) escapes its \(tensor.buffer.count)-byte buffer")
            return
        }
        // Touch every element (the view must be readable).
        if tensor.elementCount <= 1 << 16 { _ = tensor.floats() }
    }

    // MARK: Mutations

    static let interestingBytes: [UInt8] = Array(#"{}[]()'",:-+.0123456789eELTFN \#n\#t\"#.utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF, 0x93]
    static let interestingLengths: [UInt64] = [0, 1, 2, 7, 8, 63, 64, 0xFF, 0xFFFF, 0x1_0000, 0xFFFF_FFFF, 0x1_0000_0000,
                                               100_000_000, 100_000_001, UInt64(Int.max), UInt64(Int.max) + 1, .max]

    /// One to four random edits, mostly inside the header region `0..<headerEnd`.
    static func mutate(_ original: [UInt8], headerEnd: Int, lengthField: Range<Int>, rng: inout SplitMix64) -> [UInt8] {
        var bytes = original
        func position(_ count: Int) -> Int {
            guard count > 0 else { return 0 }
            let limit = Bool.random(using: &rng) || Int.random(in: 0..<5, using: &rng) > 0 ? min(headerEnd, count) : count
            return Int.random(in: 0..<max(limit, 1), using: &rng)
        }
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            switch Int.random(in: 0..<8, using: &rng) {
            case 0:  // flip one bit
                let at = position(bytes.count)
                bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 1:  // overwrite with an interesting byte
                bytes[position(bytes.count)] = interestingBytes.randomElement(using: &rng)!
            case 2:  // overwrite with any byte
                bytes[position(bytes.count)] = UInt8.random(in: 0...255, using: &rng)
            case 3:  // truncate
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
            case 4:  // insert interesting bytes
                let at = position(bytes.count)
                let run = (0..<Int.random(in: 1...6, using: &rng)).map { _ in interestingBytes.randomElement(using: &rng)! }
                bytes.insert(contentsOf: run, at: at)
            case 5:  // delete a run
                let at = position(bytes.count)
                bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &rng)))
            case 6:  // copy a run over another place
                let from = position(bytes.count), to = position(bytes.count)
                let length = min(Int.random(in: 1...12, using: &rng), bytes.count - from, bytes.count - to)
                bytes.replaceSubrange(to..<to + length, with: bytes[from..<from + length])
            default:  // rewrite the header length field
                guard bytes.count >= lengthField.upperBound else { break }
                let value = Bool.random(using: &rng)
                    ? interestingLengths.randomElement(using: &rng)!
                    : UInt64(max(0, headerEnd - lengthField.upperBound + Int.random(in: -3...3, using: &rng)))
                withUnsafeBytes(of: value.littleEndian) { raw in
                    for (i, index) in lengthField.enumerated() { bytes[index] = raw[i] }
                }
            }
        }
        return bytes
    }

    static func safetensorsHeaderEnd(_ bytes: [UInt8]) -> Int {
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return 8 + length
    }

    static func npyHeaderEnd(_ bytes: [UInt8]) -> Int {
        bytes[6] == 1 ? 10 + (Int(bytes[8]) | Int(bytes[9]) << 8)
            : 12 + (Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24)
    }

    // MARK: Fuzz: safetensors

    func testSafetensorsSeedsParse() throws {
        for (i, seed) in try Self.safetensorsSeeds().enumerated() {
            XCTAssertTrue(checkSafetensors(seed, "seed \(i)"), "seed \(i) must parse")
        }
    }

    func testSafetensorsTruncatedAtEveryLengthInTheHeader() throws {
        for (i, seed) in try Self.safetensorsSeeds().enumerated() {
            let end = Self.safetensorsHeaderEnd(seed)
            for length in 0..<min(seed.count, end + 16) {
                // Truncating the header never parses; inside the data it may not either.
                let parsed = checkSafetensors(Array(seed[0..<length]), "seed \(i) cut at \(length)")
                if length < end { XCTAssertFalse(parsed, "seed \(i) cut at \(length) inside the header parsed") }
            }
        }
    }

    func testSafetensorsRandomByteMutations() throws {
        var rng = SplitMix64(seed: 0x5AFE_7E45)
        var parsed = 0, rejected = 0
        for (i, seed) in try Self.safetensorsSeeds().enumerated() {
            let end = Self.safetensorsHeaderEnd(seed)
            for round in 0..<5_000 {
                let mutant = Self.mutate(seed, headerEnd: end, lengthField: 0..<8, rng: &rng)
                if checkSafetensors(mutant, "seed \(i) round \(round)") { parsed += 1 } else { rejected += 1 }
            }
        }
        XCTAssertGreaterThan(rejected, 10_000)
        XCTAssertGreaterThan(parsed, 10)  // some mutations are harmless (metadata text, padding)
    }

    /// A safetensors file from a header text and data bytes.
    static func safetensorsFile(header: String, data: [UInt8] = [UInt8](repeating: 0, count: 16)) -> [UInt8] {
        let text = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(text.count).littleEndian) { Array($0) } + text + data
    }

    static let jsonValuePool: [String] = [
        "0", "4", "16", "-1", "-16", "1.5", "1e3", "1e300", "-0", "4096", "9007199254740993", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "99999999999999999999999", "4294967296", "3037000500",
        "true", "false", "null", "\"\"", "\"F32\"", "\"4\"", "[]", "{}", "[0]", "[0,4]", "[4,0]", "[0,16]", "[-4,4]",
        "[0,4,8]", "[[0],[4]]", "[\"0\",\"4\"]", "[1.5,4]", "[0,1e20]", "[true,4]", "[2,2]", "[4]", "[0,3]",
        "[3037000500,3037000500]", "[4611686018427387904,4]", "[9223372036854775807,2]", "[0,9223372036854775807]",
        "[-1]", "[1e300]", "[null]",
    ]
    static let dtypePool: [String] = ["\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"I32\"", "\"I16\"", "\"I8\"",
                                      "\"U8\"", "\"BOOL\"", "\"F33\"", "\"f32\"", "\"U64\"", "\"F8_E4M3\"", "\"\"", "7", "null", "[\"F32\"]"]

    /// Random JSON headers: entries whose dtype, shape and offsets are drawn from hostile pools.
    func testSafetensorsRandomJSONHeaders() {
        var rng = SplitMix64(seed: 0x0FF5_E7)
        for round in 0..<10_000 {
            var entries: [String] = []
            for e in 0..<Int.random(in: 0...3, using: &rng) {
                var fields: [String] = []
                if Int.random(in: 0..<10, using: &rng) > 0 { fields.append("\"dtype\": \(Self.dtypePool.randomElement(using: &rng)!)") }
                if Int.random(in: 0..<10, using: &rng) > 0 { fields.append("\"shape\": \(Self.jsonValuePool.randomElement(using: &rng)!)") }
                if Int.random(in: 0..<10, using: &rng) > 0 { fields.append("\"data_offsets\": \(Self.jsonValuePool.randomElement(using: &rng)!)") }
                let value = Int.random(in: 0..<12, using: &rng) == 0 ? Self.jsonValuePool.randomElement(using: &rng)! : "{\(fields.joined(separator: ", "))}"
                entries.append("\"t\(e)\": \(value)")
            }
            if Int.random(in: 0..<6, using: &rng) == 0 {
                entries.append("\"__metadata__\": \(["{}", "{\"a\": \"b\"}", "{\"a\": 1}", "[]", "\"x\"", "null"].randomElement(using: &rng)!)")
            }
            let header = "{" + entries.joined(separator: ", ") + "}"
            let data = [UInt8](repeating: 0x3F, count: [0, 4, 8, 16, 24].randomElement(using: &rng)!)
            checkSafetensors(Self.safetensorsFile(header: header, data: data), "round \(round): \(header)")
        }
    }

    func testSafetensorsNonObjectAndPathologicalJSON() {
        let headers = [
            "", " ", "[]", "1", "\"x\"", "null", "true", "{", "}", "{\"a\":", "{\"a\" 1}", "{\"w\": 5}", "{\"w\": []}",
            "{\"w\": null}", "{'w': {}}", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, \"w\": {}}",
            String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 50_000),
            "{\"\\ud800\": {}}", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}\u{0}",
            "\u{FEFF}{}", "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16], \"extra\": [[[]]]}}",
        ]
        for header in headers {
            checkSafetensors(Self.safetensorsFile(header: header), "header \(header.prefix(60).debugDescription)")
        }
    }

    // MARK: Fuzz: npy

    func testNpySeedsParse() {
        for (i, seed) in Self.npySeeds().enumerated() {
            XCTAssertTrue(checkNpy(seed, "seed \(i)"), "seed \(i) must parse")
        }
    }

    func testNpyTruncatedAtEveryLengthInTheHeader() {
        for (i, seed) in Self.npySeeds().enumerated() {
            let end = Self.npyHeaderEnd(seed)
            for length in 0..<min(seed.count, end + 16) {
                let parsed = checkNpy(Array(seed[0..<length]), "seed \(i) cut at \(length)")
                if length < end { XCTAssertFalse(parsed, "seed \(i) cut at \(length) inside the header parsed") }
            }
        }
    }

    func testNpyRandomByteMutations() {
        var rng = SplitMix64(seed: 0x4E50_59)
        var parsed = 0, rejected = 0
        for (i, seed) in Self.npySeeds().enumerated() {
            let end = Self.npyHeaderEnd(seed)
            let lengthField = seed[6] == 1 ? 8..<10 : 8..<12
            for round in 0..<2_000 {
                let mutant = Self.mutate(seed, headerEnd: end, lengthField: lengthField, rng: &rng)
                if checkNpy(mutant, "seed \(i) round \(round)") { parsed += 1 } else { rejected += 1 }
            }
        }
        XCTAssertGreaterThan(rejected, 10_000)
        XCTAssertGreaterThan(parsed, 10)  // padding and data bytes are harmless to change
    }

    /// Random headers from hostile parts: descr, fortran_order and shape values, keys, quoting.
    func testNpyRandomHeaders() {
        var rng = SplitMix64(seed: 0xDE5C7)
        let descrs = ["'<f4'", "'<f2'", "'<i4'", "'<i8'", "'|u1'", "'|b1'", "'>f4'", "'>i8'", "'=f4'", "'<c8'", "'<U3'", "'|O'",
                      "'float32'", "''", "'<f4", "\"<f4\"", "<f4", "[('a', '<f4')]", "'<f4\u{0}'"]
        let fortrans = ["False", "True", "false", "0", "None", "Fals", "'False'", "TrueFalse"]
        let shapes = ["()", "(3,)", "(2, 3)", "(0,)", "(0, 99999999999999)", "(3L,)", "(99999999999999999999,)",
                      "(4611686018427387904, 4)", "(3037000500, 3037000500)", "(-1,)", "[3]", "(3", "(3,,)", "(,)",
                      "((3,),)", "(3.0,)", "(9223372036854775807,)", "(9223372036854775808,)", "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)", ""]
        for round in 0..<10_000 {
            var parts: [String] = []
            if Int.random(in: 0..<12, using: &rng) > 0 { parts.append("'descr': \(descrs.randomElement(using: &rng)!)") }
            if Int.random(in: 0..<12, using: &rng) > 0 { parts.append("'fortran_order': \(fortrans.randomElement(using: &rng)!)") }
            if Int.random(in: 0..<12, using: &rng) > 0 { parts.append("'shape': \(shapes.randomElement(using: &rng)!)") }
            if Int.random(in: 0..<15, using: &rng) == 0 { parts.append("'extra': 1") }
            if Int.random(in: 0..<15, using: &rng) == 0 { parts.append(parts.first ?? "'descr': '<f4'") }
            parts.shuffle(using: &rng)
            var header = "{" + parts.joined(separator: ", ") + [", }", "}", ",}", " }", ""].randomElement(using: &rng)!
            if Int.random(in: 0..<20, using: &rng) == 0 { header = String(header.dropFirst()) }
            let major = [1, 2, 3, 1, 0, 4].randomElement(using: &rng)!
            let data = [UInt8](repeating: 0x40, count: [0, 4, 8, 12, 24, 48].randomElement(using: &rng)!)
            checkNpy(Self.npyFile(major: UInt8(major), header: header, data: data, pad: Bool.random(using: &rng)), "round \(round): \(header)")
        }
    }

    // MARK: Exact errors: safetensors

    func assertSafetensorsError(_ bytes: [UInt8], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Safetensors.parse(ByteBuffer(copying: bytes), source: "bad.safetensors"), file: file, line: line) { error in
            guard let error = error as? SaescopeError else { return XCTFail("not a SaescopeError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.message, message, file: file, line: line)
        }
    }

    static func entry(dtype: String = "\"F32\"", shape: String = "[4]", offsets: String = "[0, 16]") -> String {
        "{\"w\": {\"dtype\": \(dtype), \"shape\": \(shape), \"data_offsets\": \(offsets)}}"
    }

    func testSafetensorsExactErrors() {
        func file(_ header: String, _ data: [UInt8] = [UInt8](repeating: 0, count: 16)) -> [UInt8] {
            Self.safetensorsFile(header: header, data: data)
        }
        assertSafetensorsError([1, 2, 3], "safetensors file is truncated: needed 8 more bytes at offset 0, 3 left")
        assertSafetensorsError(withUnsafeBytes(of: UInt64.max.littleEndian) { Array($0) },
                               "safetensors header length 18446744073709551615 is larger than the format allows")
        assertSafetensorsError(withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { Array($0) } + [0x7B, 0x7D],
                               "safetensors header length 100000001 is larger than the format allows")
        assertSafetensorsError(withUnsafeBytes(of: UInt64(50).littleEndian) { Array($0) } + Array("{}".utf8),
                               "safetensors header length 50 runs past the end of the file (10 bytes)")
        assertSafetensorsError(file("{\"w\": ", []), "safetensors header is not valid JSON")
        assertSafetensorsError(file("", []), "safetensors header is not valid JSON")
        assertSafetensorsError(file(String(repeating: "[", count: 100_000), []), "safetensors header is not valid JSON")
        for nonObject in ["[]", "[{}]"] {
            assertSafetensorsError(file(nonObject, []), "safetensors header is not a JSON object")
        }
        // JSONSerialization is not given .fragmentsAllowed, so a bare scalar does not even parse.
        for fragment in ["3", "\"text\"", "null"] {
            assertSafetensorsError(file(fragment, []), "safetensors header is not valid JSON")
        }
        assertSafetensorsError(file("{\"__metadata__\": [1]}", []), "safetensors __metadata__ is not an object")
        assertSafetensorsError(file("{\"__metadata__\": {\"k\": 1}}", []), "safetensors __metadata__ value for 'k' is not a string")
        assertSafetensorsError(file("{\"w\": 5}", []), "tensor 'w': entry is not an object")
        assertSafetensorsError(file("{\"w\": {\"shape\": [4], \"data_offsets\": [0, 16]}}"), "tensor 'w': missing dtype")
        assertSafetensorsError(file(Self.entry(dtype: "\"F33\"")), "tensor 'w': unsupported dtype F33")
        assertSafetensorsError(file(Self.entry(dtype: "\"f32\"")), "tensor 'w': unsupported dtype f32")
        assertSafetensorsError(file(Self.entry(dtype: "7")), "tensor 'w': missing dtype")
        assertSafetensorsError(file(Self.entry(shape: "null")), "tensor 'w': missing shape")
        assertSafetensorsError(file(Self.entry(shape: "[-4]")), "tensor 'w': shape [-4] is not a list of non-negative integers")
        assertSafetensorsError(file(Self.entry(shape: "[1.5]")), "tensor 'w': shape [1.5] is not a list of non-negative integers")
        // JSON booleans are not integers (they used to be read as 1 and 0).
        assertSafetensorsError(file(Self.entry(shape: "[true]", offsets: "[0, 4]")), "tensor 'w': shape [1] is not a list of non-negative integers")
        assertSafetensorsError(file(Self.entry(shape: "[1]", offsets: "[false, true]")), "tensor 'w': data_offsets must be two integers")
        // Offsets: negative, reversed, huge, not integers, not a pair.
        assertSafetensorsError(file(Self.entry(offsets: "[-4, 12]")), "tensor 'w': data_offsets [-4, 12] lie outside the data section (16 bytes)")
        assertSafetensorsError(file(Self.entry(offsets: "[16, 0]")), "tensor 'w': data_offsets [16, 0] lie outside the data section (16 bytes)")
        assertSafetensorsError(file(Self.entry(offsets: "[0, 4096]")), "tensor 'w': data_offsets [0, 4096] lie outside the data section (16 bytes)")
        assertSafetensorsError(file(Self.entry(offsets: "[0, 1e20]")), "tensor 'w': data_offsets must be two integers")
        assertSafetensorsError(file(Self.entry(offsets: "[0, 18446744073709551615]")), "tensor 'w': data_offsets must be two integers")
        assertSafetensorsError(file(Self.entry(offsets: "[0, 16, 32]")), "tensor 'w': data_offsets must be two integers")
        assertSafetensorsError(file(Self.entry(offsets: "[\"0\", \"16\"]")), "tensor 'w': data_offsets must be two integers")
        // Shape products that overflow Int, and a shape that disagrees with its bytes.
        // (Dimensions of 9e15 or more are refused as not exact integers before any product.)
        assertSafetensorsError(file(Self.entry(shape: "[4611686018427387904, 4]")),
                               "tensor 'w': shape [4611686018427387904, 4] is not a list of non-negative integers")
        assertSafetensorsError(file(Self.entry(shape: "[3037000500, 3037000500]")),
                               "tensor 'w': shape [3037000500, 3037000500] of F32 does not match its 16 data bytes")
        // The element count fits an Int, but times 4 bytes it does not.
        assertSafetensorsError(file(Self.entry(shape: "[3000000000000000, 1000]")),
                               "tensor 'w': shape [3000000000000000, 1000] of F32 does not match its 16 data bytes")
        assertSafetensorsError(file(Self.entry(shape: "[5]")), "tensor 'w': shape [5] of F32 does not match its 16 data bytes")
        assertSafetensorsError(file(Self.entry(dtype: "\"F64\"")), "tensor 'w': shape [4] of F64 does not match its 16 data bytes")
    }

    func testSafetensorsErrorsNameTheFile() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.safetensors").path
        try Data(Self.safetensorsFile(header: "[]", data: [])).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Safetensors.read(path: path)) { error in
            XCTAssertEqual(error as? SaescopeError, SaescopeError("safetensors header is not a JSON object", file: path))
        }
        let short = directory.appendingPathComponent("short.safetensors").path
        try Data([1, 2]).write(to: URL(fileURLWithPath: short))
        XCTAssertThrowsError(try Safetensors.read(path: short)) { error in
            XCTAssertEqual((error as? SaescopeError)?.file, short)
        }
    }

    // MARK: Exact errors: npy

    func assertNpyError(_ bytes: [UInt8], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Npy.parse(ByteBuffer(copying: bytes)), file: file, line: line) { error in
            guard let error = error as? SaescopeError else { return XCTFail("not a SaescopeError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.message, message, file: file, line: line)
        }
    }

    func testNpyExactErrors() {
        let four = Self.bytes([Float](arrayLiteral: 1, 2, 3, 4))
        func file(_ header: String, major: UInt8 = 1, data: [UInt8]? = nil) -> [UInt8] {
            Self.npyFile(major: major, header: header, data: data ?? four)
        }
        let valid = file(Self.npyHeader(descr: "<f4", shape: "(4,)"))

        assertNpyError([0x93, 0x4E], "npy file is truncated: needed 6 more bytes at offset 0, 2 left")
        var badMagic = valid
        badMagic[1] = UInt8(ascii: "X")
        assertNpyError(badMagic, "not an npy file (bad magic bytes)")
        assertNpyError(Array(valid[0..<7]), "npy file is truncated: needed 1 more bytes at offset 7, 0 left")
        assertNpyError(Array(valid[0..<9]), "npy file is truncated: needed 2 more bytes at offset 8, 1 left")
        for major: UInt8 in [0, 4, 255] {
            var bumped = valid
            bumped[6] = major
            assertNpyError(bumped, "unsupported npy format version \(major)")
        }
        var longHeader = valid
        longHeader[8] = 0xFF; longHeader[9] = 0xFF
        assertNpyError(longHeader, "npy header length 65535 runs past the end of the file")
        var hugeV2 = Self.npyFile(major: 2, header: Self.npyHeader(descr: "<f4", shape: "(4,)"), data: four)
        hugeV2[8] = 0xFF; hugeV2[9] = 0xFF; hugeV2[10] = 0xFF; hugeV2[11] = 0xFF
        assertNpyError(hugeV2, "npy header length 4294967295 runs past the end of the file")
        var emptyHeader = valid
        emptyHeader[8] = 0; emptyHeader[9] = 0
        assertNpyError(emptyHeader, "npy header is malformed near byte 0")
        var notText = valid
        notText[12] = 0xFF  // inside 'descr'
        assertNpyError(notText, "npy header is not text")

        assertNpyError(file("{'descr': '<f4, 'fortran_order': False}"), "npy header is malformed near byte 17")
        assertNpyError(Self.npyFile(major: 1, header: "{'descr': '<f4", data: four, pad: false), "npy header has an unterminated string")
        assertNpyError(file("{'descr': '<f4"), "npy header has an unterminated string")
        assertNpyError(file(Self.npyHeader(descr: "<c8", shape: "(4,)")), "unsupported npy dtype <c8")
        assertNpyError(file(Self.npyHeader(descr: "float32", shape: "(4,)")), "unsupported npy dtype float32")
        assertNpyError(file(Self.npyHeader(descr: "", shape: "(4,)")), "unsupported npy dtype ")
        assertNpyError(file(Self.npyHeader(descr: ">f4", shape: "(4,)")), "big-endian npy data (>f4) is not supported")
        assertNpyError(file(Self.npyHeader(descr: ">i8", shape: "(2,)")), "big-endian npy data (>i8) is not supported")
        assertNpyError(file(Self.npyHeader(descr: "<f4", fortran: "True", shape: "(2, 2)")),
                       "Fortran-ordered npy arrays are not supported; save with np.ascontiguousarray")
        assertNpyError(file(Self.npyHeader(descr: "<f4", fortran: "0", shape: "(4,)")),
                       "npy header is malformed near byte 34: expected True or False")
        assertNpyError(file(Self.npyHeader(descr: "<f4", shape: "(99999999999999999999,)")), "npy shape has a dimension too large")
        assertNpyError(file(Self.npyHeader(descr: "<f4", shape: "(4611686018427387904, 4)")),
                       "npy data is truncated: shape [4611686018427387904, 4] of <f4 needs more bytes than the 16 present")
        assertNpyError(file(Self.npyHeader(descr: "<f4", shape: "(2305843009213693952,)")),
                       "npy data is truncated: shape [2305843009213693952] of <f4 needs more bytes than the 16 present")
        assertNpyError(file(Self.npyHeader(descr: "<f4", shape: "(5,)")),
                       "npy data is truncated: shape [5] of <f4 needs more bytes than the 16 present")
        assertNpyError(file(Self.npyHeader(descr: "<f4", shape: "(-1,)")), "npy header is malformed near byte 51: expected an integer")
        assertNpyError(file(Self.npyHeader(descr: "<f4", shape: "[4]")), "npy header is malformed near byte 50")
        assertNpyError(file("{'descr': '<f4', 'shape': (4,), }"), "npy header lacks one of descr, fortran_order, shape")
        assertNpyError(file("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}"), "npy header has unexpected key 'x'")
        assertNpyError(file("'descr': '<f4'"), "npy header is malformed near byte 0")
    }

    func testNpyErrorsNameTheFile() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.npy").path
        try Data(Self.npyFile(major: 3, header: Self.npyHeader(descr: ">f4", shape: "(1,)"), data: [0, 0, 0, 0])).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Npy.read(path: path)) { error in
            XCTAssertEqual(error as? SaescopeError, SaescopeError("big-endian npy data (>f4) is not supported", file: path))
        }
    }

    // MARK: Files written by real numpy

    struct NpyManifest: Decodable {
        struct Entry: Decodable {
            let file: String; let version: [Int]; let descr: String; let shape: [Int]; let bits: [UInt64]
            let float32_bits: [UInt32]?
        }
        let files: [Entry]
    }

    func testNpyFilesWrittenByNumpy() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("npy/manifest.json")))
        let manifest = try JSONDecoder().decode(NpyManifest.self, from: data)
        XCTAssertEqual(manifest.files.count, 15)
        var versions = Set<Int>()
        for entry in manifest.files {
            let path = Fixtures.path("npy/\(entry.file)")
            let raw = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(Int(raw[6]), entry.version[0], entry.file)
            versions.insert(Int(raw[6]))

            let tensor = try Npy.read(path: path)
            XCTAssertEqual(tensor.shape, entry.shape, entry.file)
            XCTAssertEqual(tensor.elementCount, entry.bits.count, entry.file)
            let expectedDType: DType = ["<f4": .float32, "<f2": .float16, "<i4": .int32, "<i8": .int64][entry.descr]!
            XCTAssertEqual(tensor.dtype, expectedDType, entry.file)

            // Exact storage bits, element by element.
            let storage = tensor.rawBytes
            let size = tensor.dtype.byteSize
            for (i, bits) in entry.bits.enumerated() {
                var value: UInt64 = 0
                for b in 0..<size { value |= UInt64(storage[i * size + b]) << (8 * b) }
                XCTAssertEqual(value, bits, "\(entry.file) element \(i)")
            }
            // And the converted values.
            switch tensor.dtype {
            case .float32, .float16:
                // Against numpy's own float32 conversion (a NaN's payload may differ: compare NaN-ness).
                let floats = tensor.floats()
                let expected = try XCTUnwrap(entry.float32_bits, entry.file)
                for (i, bits) in expected.enumerated() {
                    if Float(bitPattern: bits).isNaN {
                        XCTAssertTrue(floats[i].isNaN, "\(entry.file) element \(i)")
                    } else {
                        XCTAssertEqual(floats[i].bitPattern, bits, "\(entry.file) element \(i)")
                    }
                }
            case .int32, .int64:
                let ints = try tensor.int64s()
                for (i, bits) in entry.bits.enumerated() {
                    let expected = tensor.dtype == .int32 ? Int64(Int32(truncatingIfNeeded: bits)) : Int64(bitPattern: bits)
                    XCTAssertEqual(ints[i], expected, "\(entry.file) element \(i)")
                }
            default:
                XCTFail("unexpected dtype in \(entry.file)")
            }
        }
        XCTAssertEqual(versions, [1, 2, 3])
        XCTAssertEqual(try Npy.read(path: Fixtures.path("npy/f4_scalar_v1.npy")).scalar(), 2.5)
    }
}
