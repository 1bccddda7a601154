/// GPT-2's `bytes_to_unicode` table, which byte-level BPE vocabularies are written in: every byte
/// maps to a printable character (printable Latin-1 bytes to themselves, the rest to U+0100...),
/// so a space is `Ġ` (U+0120) and a newline `Ċ` (U+010A).
enum ByteLevelAlphabet {
    /// `characterForByte[b]` is the Unicode scalar value that stands for byte `b`.
    static let characterForByte: [UInt32] = {
        var bytes: [Int] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var characters = bytes.map { UInt32($0) }
        var next: UInt32 = 0
        for byte in 0...255 where !bytes.contains(byte) {
            bytes.append(byte)
            characters.append(256 + next)
            next += 1
        }
        var table = [UInt32](repeating: 0, count: 256)
        for (byte, character) in zip(bytes, characters) { table[byte] = character }
        return table
    }()

    /// `byteForCharacter[c]` is the byte scalar value `c` stands for, or -1; indexed up to U+0143.
    static let byteForCharacter: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, character) in characterForByte.enumerated() { table[Int(character)] = Int16(byte) }
        return table
    }()

    /// The bytes a vocabulary string stands for, or nil when it holds a character outside the
    /// table (the library then uses the string's own UTF-8 bytes).
    static func bytes(of token: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteForCharacter.count, byteForCharacter[value] >= 0 else { return nil }
            result.append(UInt8(byteForCharacter[value]))
        }
        return result
    }
}
