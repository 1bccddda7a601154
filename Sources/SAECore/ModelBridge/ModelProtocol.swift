import Foundation

/// One tensor of a model-server message: raw little-endian bytes with a dtype and shape
/// (tools/saescope_model/protocol.py defines the wire format and says why).
public struct ModelFrame {
    public enum DType: String { case f32, i64, u8
        var size: Int { switch self { case .f32: 4; case .i64: 8; case .u8: 1 } }
    }
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public static func floats(_ name: String, _ values: [Float], shape: [Int]) -> ModelFrame {
        ModelFrame(name: name, dtype: .f32, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    public static func int64s(_ name: String, _ values: [Int64], shape: [Int]) -> ModelFrame {
        ModelFrame(name: name, dtype: .i64, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    public static func uint8s(_ name: String, _ values: [UInt8], shape: [Int]) -> ModelFrame {
        ModelFrame(name: name, dtype: .u8, shape: shape, bytes: values)
    }

    public func floatValues() -> [Float] {
        [Float](unsafeUninitializedCapacity: bytes.count / 4) { buffer, count in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            count = bytes.count / 4
        }
    }

    public func int64Values() -> [Int64] {
        [Int64](unsafeUninitializedCapacity: bytes.count / 8) { buffer, count in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            count = bytes.count / 8
        }
    }
}

/// Writing requests to, and reading replies from, the model server's pipes.
enum ModelProtocol {
    static let version = 2

    static func encode(_ header: [String: Any], frames: [ModelFrame]) throws -> [UInt8] {
        var header = header
        header["frames"] = frames.map { ["name": $0.name, "dtype": $0.dtype.rawValue, "shape": $0.shape] as [String: Any] }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: header))
        bytes.append(UInt8(ascii: "\n"))
        for frame in frames {
            withUnsafeBytes(of: UInt64(frame.bytes.count).littleEndian) { bytes += $0 }
            bytes += frame.bytes
        }
        return bytes
    }

    static func read(from child: ChildProcess, deadline: Date, request: String) throws -> (header: [String: Any], frames: [String: ModelFrame]) {
        let line = try child.readLine(deadline: deadline, during: request)
        guard let header = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
            throw SaescopeError("\(child.commandName) sent a reply that is not a JSON object during `\(request)`: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        var frames: [String: ModelFrame] = [:]
        for spec in header["frames"] as? [[String: Any]] ?? [] {
            guard let name = spec["name"] as? String, let dtype = (spec["dtype"] as? String).flatMap(ModelFrame.DType.init),
                  let shape = spec["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
                throw SaescopeError("\(child.commandName) sent a bad frame description during `\(request)`")
            }
            var count: UInt64 = 0
            try withUnsafeMutableBytes(of: &count) { try child.readExact(into: $0, deadline: deadline, during: request) }
            let expected = shape.reduce(1, *) * dtype.size
            guard UInt64(littleEndian: count) == UInt64(expected) else {
                throw SaescopeError("\(child.commandName) sent frame \(name) of \(count) bytes for shape \(shape) (expected \(expected)) during `\(request)`")
            }
            var bytes = [UInt8](repeating: 0, count: expected)
            try bytes.withUnsafeMutableBytes { try child.readExact(into: $0, deadline: deadline, during: request) }
            frames[name] = ModelFrame(name: name, dtype: dtype, shape: shape, bytes: bytes)
        }
        return (header, frames)
    }
}
