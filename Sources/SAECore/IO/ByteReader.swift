/// A bounds-checked little-endian cursor over untrusted bytes.
/// Every read that would leave the buffer throws instead of trapping.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var position: Int
    /// What a read past the end is called in error messages ("pickle stream", "npy header", ...).
    public let context: String

    public init(_ bytes: UnsafeRawBufferPointer, position: Int = 0, context: String) {
        self.bytes = bytes
        self.position = position
        self.context = context
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func readByte() throws -> UInt8 {
        guard position < bytes.count else { throw truncated(1) }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readUInt16() throws -> UInt16 { try readInteger(UInt16.self) }
    public mutating func readUInt32() throws -> UInt32 { try readInteger(UInt32.self) }
    public mutating func readUInt64() throws -> UInt64 { try readInteger(UInt64.self) }
    public mutating func readInt32() throws -> Int32 { try readInteger(Int32.self) }
    public mutating func readInt64() throws -> Int64 { try readInteger(Int64.self) }

    public mutating func readInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw truncated(size) }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[position..<position + size]))
        }
        position += size
        return T(littleEndian: value)
    }

    /// Reads a big-endian IEEE double (the pickle BINFLOAT layout).
    public mutating func readBigEndianDouble() throws -> Double {
        let size = 8
        guard size <= remaining else { throw truncated(size) }
        var raw: UInt64 = 0
        withUnsafeMutableBytes(of: &raw) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[position..<position + size]))
        }
        position += size
        return Double(bitPattern: UInt64(bigEndian: raw))
    }

    public mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw truncated(count) }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    /// Reads bytes up to (not including) `terminator`, consuming the terminator.
    public mutating func readUntil(_ terminator: UInt8) throws -> UnsafeRawBufferPointer {
        var end = position
        while end < bytes.count, bytes[end] != terminator { end += 1 }
        guard end < bytes.count else { throw SaescopeError("\(context) ends inside a line") }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
        position = end + 1
        return slice
    }

    public mutating func skip(_ count: Int) throws {
        guard count >= 0, count <= remaining else { throw truncated(count) }
        position += count
    }

    private func truncated(_ wanted: Int) -> SaescopeError {
        SaescopeError("\(context) is truncated: needed \(wanted) more bytes at offset \(position), \(remaining) left")
    }
}
