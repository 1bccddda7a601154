/// A bounds-checked reader for ZIP archives held in a `ByteBuffer`, enough for the archives
/// `torch.save` writes: stored (uncompressed) entries, found through the central directory,
/// with ZIP64 end records and extra fields.
///
/// Stored entries are returned as zero-copy byte ranges of the buffer. Every offset and size
/// read from the file is checked against the buffer before use; arithmetic on untrusted values
/// never traps, and every loop is bounded by the bytes it walks.
///
/// Facts about torch's archives this relies on (torch 1.6 ... 2.x, written by miniz):
/// local headers carry zero sizes and CRCs (general-purpose flag bit 3, sizes follow in a data
/// descriptor), so sizes come from the central directory only; a ZIP64 end-of-central-directory
/// record and locator are always written; the local "extra" field pads entry data to 64 bytes.
public struct ZipArchive {
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// 0 = stored; anything else is compressed and refused when read.
        public let method: UInt16
        public let flags: UInt16
        public let compressedSize: Int
        public let uncompressedSize: Int
        public let localHeaderOffset: Int
    }

    public let buffer: ByteBuffer
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let indexByName: [String: Int]

    /// Upper bound on entries, so a hostile count cannot make us allocate without limit
    /// (each central entry takes at least 46 bytes anyway).
    static let maximumEntryCount = 1_000_000

    static let localHeaderSignature: UInt32 = 0x0403_4b50
    static let centralHeaderSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    static let zip64EndSignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50

    /// Reads the central directory of the archive in `buffer`.
    public init(buffer: ByteBuffer) throws {
        self.buffer = buffer
        let bytes = buffer.bytes
        let directory = try Self.findCentralDirectory(bytes)
        var reader = ByteReader(bytes, position: directory.offset, context: "zip central directory")
        let end = directory.offset + directory.size   // both checked to lie within the buffer
        var entries: [Entry] = []
        entries.reserveCapacity(min(directory.count, directory.size / 46 + 1))
        var indexByName: [String: Int] = [:]
        for _ in 0..<directory.count {
            let entry = try Self.readCentralEntry(&reader, end: end, bufferCount: bytes.count)
            guard indexByName[entry.name] == nil else {
                throw SaescopeError("zip archive has two entries named '\(entry.name)'")
            }
            indexByName[entry.name] = entries.count
            entries.append(entry)
        }
        self.entries = entries
        self.indexByName = indexByName
    }

    public func entry(named name: String) -> Entry? {
        indexByName[name].map { entries[$0] }
    }

    /// Where the stored bytes of `entry` lie in the buffer (checked against its end).
    public func dataRange(of entry: Entry) throws -> Range<Int> {
        guard entry.method == 0 else {
            throw SaescopeError("zip entry '\(entry.name)' is compressed (method \(entry.method)); torch.save never compresses, so the archive was repacked: re-save it with torch.save")
        }
        guard entry.flags & 1 == 0 else {
            throw SaescopeError("zip entry '\(entry.name)' is encrypted")
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw SaescopeError("zip entry '\(entry.name)' is stored but its sizes disagree (\(entry.compressedSize) vs \(entry.uncompressedSize))")
        }
        var reader = ByteReader(buffer.bytes, context: "zip local header of '\(entry.name)'")
        guard entry.localHeaderOffset <= buffer.count else {
            throw SaescopeError("zip entry '\(entry.name)' has its local header at \(entry.localHeaderOffset), past the end of the file (\(buffer.count) bytes)")
        }
        try reader.skip(entry.localHeaderOffset)
        guard try reader.readUInt32() == Self.localHeaderSignature else {
            throw SaescopeError("zip entry '\(entry.name)' has no local header at offset \(entry.localHeaderOffset)")
        }
        try reader.skip(22)
        let nameLength = Int(try reader.readUInt16())
        let extraLength = Int(try reader.readUInt16())
        try reader.skip(nameLength)
        try reader.skip(extraLength)
        let start = reader.position
        guard entry.compressedSize <= buffer.count - start else {
            throw SaescopeError("zip entry '\(entry.name)' (\(entry.compressedSize) bytes at offset \(start)) runs past the end of the file (\(buffer.count) bytes)")
        }
        return start..<(start + entry.compressedSize)
    }

    /// The stored bytes of `entry`, viewing the buffer (valid while the buffer lives).
    public func data(of entry: Entry) throws -> UnsafeRawBufferPointer {
        let range = try dataRange(of: entry)
        return UnsafeRawBufferPointer(rebasing: buffer.bytes[range])
    }

    // MARK: End of central directory

    struct CentralDirectory {
        var offset: Int
        var size: Int
        var count: Int
    }

    /// Whether `bytes` could be a zip archive at all (local header or empty-archive signature first).
    static func startsLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        let signature = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        return signature == localHeaderSignature || signature == endSignature
    }

    static func findCentralDirectory(_ bytes: UnsafeRawBufferPointer) throws -> CentralDirectory {
        let count = bytes.count
        guard count >= 22 else {
            throw SaescopeError("zip archive is truncated: \(count) bytes is too short for an end-of-central-directory record")
        }
        // The record is 22 bytes followed by a comment of at most 65535 bytes: scan backwards.
        let lowest = max(0, count - 22 - 65_535)
        var position = count - 22
        var endPosition: Int?
        while position >= lowest {
            if bytes[position] == 0x50, bytes[position + 1] == 0x4b, bytes[position + 2] == 0x05, bytes[position + 3] == 0x06 {
                let commentLength = Int(bytes[position + 20]) | Int(bytes[position + 21]) << 8
                if commentLength <= count - position - 22 {
                    endPosition = position
                    break
                }
            }
            position -= 1
        }
        guard let endPosition else {
            throw SaescopeError("zip archive is truncated or damaged: no end-of-central-directory record")
        }
        var reader = ByteReader(bytes, position: endPosition + 4, context: "zip end-of-central-directory record")
        let diskNumber = try reader.readUInt16()
        let directoryDisk = try reader.readUInt16()
        let entriesOnDisk = try reader.readUInt16()
        let totalEntries = try reader.readUInt16()
        let directorySize = try reader.readUInt32()
        let directoryOffset = try reader.readUInt32()
        var total = UInt64(totalEntries)
        var size = UInt64(directorySize)
        var offset = UInt64(directoryOffset)

        // ZIP64: a 20-byte locator right before the record points at the ZIP64 end record.
        if endPosition >= 20 {
            var locator = ByteReader(bytes, position: endPosition - 20, context: "zip64 end-of-central-directory locator")
            if try locator.readUInt32() == zip64LocatorSignature {
                _ = try locator.readUInt32()  // disk with the zip64 record
                let recordOffset = try locator.readUInt64()
                guard recordOffset <= UInt64(endPosition - 20) else {
                    throw SaescopeError("zip64 end-of-central-directory offset \(recordOffset) lies outside the file")
                }
                var record = ByteReader(bytes, position: Int(recordOffset), context: "zip64 end-of-central-directory record")
                guard try record.readUInt32() == zip64EndSignature else {
                    throw SaescopeError("zip64 end-of-central-directory record is missing at offset \(recordOffset)")
                }
                _ = try record.readUInt64()  // size of the record
                _ = try record.readUInt16()  // version made by
                _ = try record.readUInt16()  // version needed
                let disk64 = try record.readUInt32()
                let directoryDisk64 = try record.readUInt32()
                _ = try record.readUInt64()  // entries on this disk
                total = try record.readUInt64()
                size = try record.readUInt64()
                offset = try record.readUInt64()
                guard disk64 == 0, directoryDisk64 == 0 else {
                    throw SaescopeError("zip archive spans several disks, which is not supported")
                }
            } else if totalEntries == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
                throw SaescopeError("zip archive needs a zip64 end-of-central-directory record but has none")
            }
        }
        guard diskNumber == 0 || diskNumber == 0xFFFF, directoryDisk == 0 || directoryDisk == 0xFFFF,
              entriesOnDisk == totalEntries else {
            throw SaescopeError("zip archive spans several disks, which is not supported")
        }
        guard offset <= UInt64(count), size <= UInt64(count) - offset else {
            throw SaescopeError("zip central directory (\(size) bytes at offset \(offset)) lies outside the file (\(count) bytes)")
        }
        guard total <= UInt64(maximumEntryCount), total <= size / 46 else {
            throw SaescopeError("zip archive claims \(total) entries, more than its \(size)-byte central directory can hold")
        }
        return CentralDirectory(offset: Int(offset), size: Int(size), count: Int(total))
    }

    // MARK: Central directory entries

    static func readCentralEntry(_ reader: inout ByteReader, end: Int, bufferCount: Int) throws -> Entry {
        let start = reader.position
        guard end - start >= 46 else {
            throw SaescopeError("zip central directory is truncated at offset \(start)")
        }
        guard try reader.readUInt32() == centralHeaderSignature else {
            throw SaescopeError("zip central directory entry at offset \(start) has a bad signature")
        }
        _ = try reader.readUInt16()  // version made by
        _ = try reader.readUInt16()  // version needed
        let flags = try reader.readUInt16()
        let method = try reader.readUInt16()
        _ = try reader.readUInt32()  // time and date
        _ = try reader.readUInt32()  // crc-32
        let compressed32 = try reader.readUInt32()
        let uncompressed32 = try reader.readUInt32()
        let nameLength = Int(try reader.readUInt16())
        let extraLength = Int(try reader.readUInt16())
        let commentLength = Int(try reader.readUInt16())
        let disk16 = try reader.readUInt16()
        _ = try reader.readUInt16()  // internal attributes
        _ = try reader.readUInt32()  // external attributes
        let offset32 = try reader.readUInt32()
        guard nameLength + extraLength + commentLength <= end - reader.position else {
            throw SaescopeError("zip central directory entry at offset \(start) runs past the directory's end")
        }
        let name = String(decoding: try reader.readBytes(nameLength), as: UTF8.self)
        let extra = try reader.readBytes(extraLength)
        try reader.skip(commentLength)

        var uncompressed = UInt64(uncompressed32)
        var compressed = UInt64(compressed32)
        var offset = UInt64(offset32)
        if uncompressed32 == 0xFFFF_FFFF || compressed32 == 0xFFFF_FFFF || offset32 == 0xFFFF_FFFF || disk16 == 0xFFFF {
            // The ZIP64 extra field (id 1) holds, in this order, exactly the saturated fields.
            var fields = try zip64ExtraField(extra, entryName: name)
            func next(_ what: String) throws -> UInt64 {
                guard fields.remaining >= 8 else {
                    throw SaescopeError("zip entry '\(name)' lacks the zip64 \(what)")
                }
                return try fields.readUInt64()
            }
            if uncompressed32 == 0xFFFF_FFFF { uncompressed = try next("uncompressed size") }
            if compressed32 == 0xFFFF_FFFF { compressed = try next("compressed size") }
            if offset32 == 0xFFFF_FFFF { offset = try next("local header offset") }
        }
        guard uncompressed <= UInt64(bufferCount) || method != 0, compressed <= UInt64(bufferCount), offset <= UInt64(bufferCount) else {
            throw SaescopeError("zip entry '\(name)' has sizes or offsets beyond the end of the file (\(bufferCount) bytes)")
        }
        // Compressed entries may claim any uncompressed size; they are refused when read.
        let uncompressedSize = uncompressed <= UInt64(Int.max) ? Int(uncompressed) : Int.max
        return Entry(name: name, method: method, flags: flags, compressedSize: Int(compressed),
                     uncompressedSize: uncompressedSize, localHeaderOffset: Int(offset))
    }

    /// The payload of the ZIP64 extra field (header id 0x0001) inside `extra`.
    static func zip64ExtraField(_ extra: UnsafeRawBufferPointer, entryName: String) throws -> ByteReader {
        var reader = ByteReader(extra, context: "zip extra field of '\(entryName)'")
        while reader.remaining >= 4 {
            let id = try reader.readUInt16()
            let length = Int(try reader.readUInt16())
            guard length <= reader.remaining else {
                throw SaescopeError("zip entry '\(entryName)' has an extra field running past its end")
            }
            let payload = try reader.readBytes(length)
            if id == 0x0001 {
                return ByteReader(payload, context: "zip64 extra field of '\(entryName)'")
            }
        }
        throw SaescopeError("zip entry '\(entryName)' needs a zip64 extra field but has none")
    }
}
