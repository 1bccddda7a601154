import Foundation

/// Reader and writer for the safetensors format: an 8-byte little-endian header length, a JSON
/// header mapping names to `{dtype, shape, data_offsets}` (offsets relative to the data section)
/// plus an optional `__metadata__` string map, then the raw little-endian data.
public enum Safetensors {
    /// The format's own cap on the header, so a hostile length cannot make us allocate gigabytes.
    static let maximumHeaderLength = 100_000_000

    /// Opens `path` by memory-mapping it; tensors are views into the map.
    public static func read(path: String) throws -> TensorDictionary {
        let buffer = try ByteBuffer(mapping: path)
        return try attributingErrors(to: path) { try parse(buffer, source: path) }
    }

    /// Parses a whole safetensors file held in `buffer`.
    public static func parse(_ buffer: ByteBuffer, source: String) throws -> TensorDictionary {
        var reader = ByteReader(buffer.bytes, context: "safetensors file")
        let headerLength64 = try reader.readUInt64()
        guard headerLength64 <= UInt64(maximumHeaderLength) else {
            throw SaescopeError("safetensors header length \(headerLength64) is larger than the format allows", file: source)
        }
        let headerLength = Int(headerLength64)
        guard headerLength <= reader.remaining else {
            throw SaescopeError("safetensors header length \(headerLength) runs past the end of the file (\(buffer.count) bytes)", file: source)
        }
        let headerBytes = try reader.readBytes(headerLength)
        let dataStart = reader.position
        let dataLength = buffer.count - dataStart

        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw SaescopeError("safetensors header is not valid JSON", file: source)
        }
        guard let header = json as? [String: Any] else {
            throw SaescopeError("safetensors header is not a JSON object", file: source)
        }

        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let map = entry as? [String: Any] else {
                    throw SaescopeError("safetensors __metadata__ is not an object", file: source)
                }
                for (key, value) in map {
                    guard let text = value as? String else {
                        throw SaescopeError("safetensors __metadata__ value for '\(key)' is not a string", file: source)
                    }
                    metadata[key] = text
                }
                continue
            }
            tensors[name] = try parseEntry(name: name, entry: entry, buffer: buffer, dataStart: dataStart, dataLength: dataLength, source: source)
        }
        return TensorDictionary(tensors: tensors, metadata: metadata, source: source)
    }

    private static func parseEntry(name: String, entry: Any, buffer: ByteBuffer, dataStart: Int, dataLength: Int, source: String) throws -> Tensor {
        func fail(_ problem: String) -> SaescopeError {
            SaescopeError("tensor '\(name)': \(problem)", file: source)
        }
        guard let fields = entry as? [String: Any] else { throw fail("entry is not an object") }
        guard let dtypeName = fields["dtype"] as? String else { throw fail("missing dtype") }
        guard let dtype = DType(safetensorsName: dtypeName) else { throw fail("unsupported dtype \(dtypeName)") }
        guard let shapeValues = fields["shape"] as? [Any] else { throw fail("missing shape") }
        let shape = try shapeValues.map { value -> Int in
            guard let number = exactInteger(value), number >= 0 else { throw fail("shape \(shapeValues) is not a list of non-negative integers") }
            return number
        }
        guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
              let begin = exactInteger(offsets[0]), let end = exactInteger(offsets[1]) else {
            throw fail("data_offsets must be two integers")
        }
        guard begin >= 0, begin <= end, end <= dataLength else {
            throw fail("data_offsets [\(begin), \(end)] lie outside the data section (\(dataLength) bytes)")
        }
        guard let count = elementCount(of: shape), count.multipliedReportingOverflow(by: dtype.byteSize).overflow == false,
              count * dtype.byteSize == end - begin else {
            throw fail("shape \(shape) of \(dtypeName) does not match its \(end - begin) data bytes")
        }
        return try Tensor(dtype: dtype, shape: shape, buffer: buffer, byteOffset: dataStart + begin)
    }

    /// JSON numbers arrive as NSNumber; accept only exact integers (not bools, not fractions).
    private static func exactInteger(_ value: Any) -> Int? {
        // JSON true/false also arrive as NSNumber (objCType "c", a char); they are not integers.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        let double = number.doubleValue
        guard double.isFinite, double == double.rounded(), abs(double) < 9.0e15 else { return nil }
        return number.intValue
    }

    // MARK: Writing

    /// One tensor to write: raw little-endian bytes of `dtype` in C order.
    public struct Entry {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var data: [UInt8]

        public init(name: String, dtype: DType, shape: [Int], data: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        public init(name: String, floats: [Float], shape: [Int]) {
            self.init(name: name, dtype: .float32, shape: shape, data: floats.withUnsafeBytes { Array($0) })
        }

        public init(name: String, int64s: [Int64], shape: [Int]) {
            self.init(name: name, dtype: .int64, shape: shape, data: int64s.withUnsafeBytes { Array($0) })
        }

        public init(name: String, int32s: [Int32], shape: [Int]) {
            self.init(name: name, dtype: .int32, shape: shape, data: int32s.withUnsafeBytes { Array($0) })
        }
    }

    /// Serialises entries (in the order given) with `metadata` into one safetensors byte string.
    public static func serialize(_ entries: [Entry], metadata: [String: String] = [:]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for entry in entries {
            guard elementCount(of: entry.shape).map({ $0 * entry.dtype.byteSize }) == entry.data.count else {
                throw SaescopeError("cannot write tensor '\(entry.name)': shape \(entry.shape) does not match \(entry.data.count) bytes")
            }
            header[entry.name] = [
                "dtype": entry.dtype.safetensorsName,
                "shape": entry.shape,
                "data_offsets": [offset, offset + entry.data.count],
            ] as [String: Any]
            offset += entry.data.count
        }
        var headerBytes = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var output = [UInt8]()
        output.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: headerBytes)
        for entry in entries { output.append(contentsOf: entry.data) }
        return output
    }

    /// Writes a safetensors file atomically (temporary file, then rename).
    public static func write(_ entries: [Entry], metadata: [String: String] = [:], to path: String) throws {
        let bytes = try serialize(entries, metadata: metadata)
        try AtomicFile.write(bytes, to: path)
    }

    /// A tensor written straight from an array, without an intermediate byte copy.
    public struct ArrayEntry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let byteCount: Int
        let emit: (AtomicFile.Writer) throws -> Void

        public init<T>(_ name: String, _ dtype: DType, _ shape: [Int], _ values: [T]) {
            precondition(MemoryLayout<T>.stride == dtype.byteSize && elementCount(of: shape) == values.count,
                         "tensor '\(name)' does not match its dtype or shape")
            self.name = name
            self.dtype = dtype
            self.shape = shape
            byteCount = values.count * dtype.byteSize
            emit = { writer in try values.withUnsafeBytes { try writer.write($0) } }
        }
    }

    /// Streams `entries` into a safetensors file atomically.
    public static func write(arrays entries: [ArrayEntry], metadata: [String: String], to path: String) throws {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for entry in entries {
            header[entry.name] = ["dtype": entry.dtype.safetensorsName, "shape": entry.shape,
                                  "data_offsets": [offset, offset + entry.byteCount]] as [String: Any]
            offset += entry.byteCount
        }
        var headerBytes = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        try AtomicFile.write(to: path) { writer in
            try withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { try writer.write($0) }
            try writer.write(headerBytes)
            for entry in entries { try entry.emit(writer) }
        }
    }
}
