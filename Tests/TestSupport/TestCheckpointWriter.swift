/// Builders for synthetic PyTorch checkpoints (the pickle opcodes torch writes, stored zip
/// archives), shared by the format tests and the CLI's bad-input corpus.
/// Writes the pickle opcodes torch uses.
public struct PickleWriter {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func proto(_ version: UInt8) { bytes += [0x80, version] }
    public mutating func stop() { bytes.append(0x2E) }
    public mutating func mark() { bytes.append(0x28) }
    public mutating func tuple() { bytes.append(0x74) }
    public mutating func emptyTuple() { bytes.append(0x29) }
    public mutating func emptyDict() { bytes.append(0x7D) }
    public mutating func emptyList() { bytes.append(0x5D) }
    public mutating func setItem() { bytes.append(0x73) }
    public mutating func reduce() { bytes.append(0x52) }
    public mutating func newFalse() { bytes.append(0x89) }
    public mutating func persistentID() { bytes.append(0x51) }
    public mutating func binput(_ index: UInt8) { bytes += [0x71, index] }
    public mutating func binget(_ index: UInt8) { bytes += [0x68, index] }
    public mutating func global(_ module: String, _ name: String) {
        bytes += [0x63] + Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A]
    }
    public mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        bytes += [0x58] + withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { Array($0) } + utf8
    }
    public mutating func int(_ value: Int) {
        if (0...255).contains(value) {
            bytes += [0x4B, UInt8(value)]
        } else {
            bytes += [0x8A, 8] + withUnsafeBytes(of: Int64(value).littleEndian) { Array($0) }
        }
    }
    public mutating func intTuple(_ values: [Int]) {
        mark()
        for value in values { int(value) }
        tuple()
    }
    public mutating func storage(type: String, module: String = "torch", key: String, numel: Int) {
        mark()
        string("storage")
        global(module, type)
        string(key)
        string("cpu")
        int(numel)
        tuple()
        persistentID()
    }
    public mutating func tensorV2(storage type: String, key: String, numel: Int, offset: Int, size: [Int], stride: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        storage(type: type, key: key, numel: numel)
        int(offset)
        intTuple(size)
        intTuple(stride)
        newFalse()
        global("collections", "OrderedDict")
        emptyTuple()
        reduce()
        tuple()
        reduce()
    }
}

/// Writes small zip archives, optionally with ZIP64 records for every size and offset.
public enum TestZip {
    public struct File {
        public var name: String
        public var data: [UInt8]
        public var method: UInt16 = 0

        public init(name: String, data: [UInt8], method: UInt16 = 0) {
            self.name = name
            self.data = data
            self.method = method
        }
    }

    public static func torchCheckpoint(pickle: [UInt8], storages: [String: [UInt8]], root: String = "archive",
                                zip64: Bool = false, comment: [UInt8] = []) -> [UInt8] {
        var files = [File(name: "\(root)/data.pkl", data: pickle), File(name: "\(root)/byteorder", data: Array("little".utf8))]
        for key in storages.keys.sorted() { files.append(File(name: "\(root)/data/\(key)", data: storages[key]!)) }
        files.append(File(name: "\(root)/version", data: Array("3\n".utf8)))
        return build(files, zip64: zip64, comment: comment)
    }

    public static func build(_ files: [File], zip64: Bool = false, comment: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int, _ to: inout [UInt8]) { withUnsafeBytes(of: UInt16(v).littleEndian) { to += $0 } }
        func u32(_ v: UInt32, _ to: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { to += $0 } }
        func u64(_ v: Int, _ to: inout [UInt8]) { withUnsafeBytes(of: UInt64(v).littleEndian) { to += $0 } }
        for file in files {
            let offset = out.count
            let name = Array(file.name.utf8)
            let crc = crc32(file.data)
            var localExtra: [UInt8] = []
            if zip64 { u16(1, &localExtra); u16(16, &localExtra); u64(file.data.count, &localExtra); u64(file.data.count, &localExtra) }
            u32(0x0403_4b50, &out); u16(zip64 ? 45 : 20, &out); u16(0, &out); u16(Int(file.method), &out)
            u16(0, &out); u16(0, &out); u32(crc, &out)
            u32(zip64 ? 0xFFFF_FFFF : UInt32(file.data.count), &out); u32(zip64 ? 0xFFFF_FFFF : UInt32(file.data.count), &out)
            u16(name.count, &out); u16(localExtra.count, &out)
            out += name + localExtra + file.data

            var centralExtra: [UInt8] = []
            if zip64 {
                u16(1, &centralExtra); u16(24, &centralExtra)
                u64(file.data.count, &centralExtra); u64(file.data.count, &centralExtra); u64(offset, &centralExtra)
            }
            u32(0x0201_4b50, &central); u16(45, &central); u16(zip64 ? 45 : 20, &central); u16(0, &central)
            u16(Int(file.method), &central); u16(0, &central); u16(0, &central); u32(crc, &central)
            u32(zip64 ? 0xFFFF_FFFF : UInt32(file.data.count), &central); u32(zip64 ? 0xFFFF_FFFF : UInt32(file.data.count), &central)
            u16(name.count, &central); u16(centralExtra.count, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u32(0, &central); u32(zip64 ? 0xFFFF_FFFF : UInt32(offset), &central)
            central += name + centralExtra
        }
        let centralOffset = out.count
        out += central
        if zip64 {
            let recordOffset = out.count
            u32(0x0606_4b50, &out); u64(44, &out); u16(45, &out); u16(45, &out); u32(0, &out); u32(0, &out)
            u64(files.count, &out); u64(files.count, &out); u64(central.count, &out); u64(centralOffset, &out)
            u32(0x0706_4b50, &out); u32(0, &out); u64(recordOffset, &out); u32(1, &out)
        }
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out)
        u16(zip64 ? 0xFFFF : files.count, &out); u16(zip64 ? 0xFFFF : files.count, &out)
        u32(zip64 ? 0xFFFF_FFFF : UInt32(central.count), &out); u32(zip64 ? 0xFFFF_FFFF : UInt32(centralOffset), &out)
        u16(comment.count, &out)
        out += comment
        return out
    }

    public static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    public static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for position in start...(haystack.count - needle.count) where haystack[position] == needle[0] {
            if Array(haystack[position..<position + needle.count]) == needle { return position }
        }
        return nil
    }
}
