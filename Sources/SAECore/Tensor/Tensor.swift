import Foundation

/// A dense, C-ordered (row-major) tensor viewing bytes that its buffer keeps alive.
///
/// Readers produce tensors without copying (a view into a memory map); conversions to Float32
/// or Int64 copy. Elements are little-endian, as every format saescope reads stores them.
public struct Tensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let buffer: ByteBuffer
    public let byteOffset: Int
    public let elementCount: Int

    /// Views `shape`-many elements of `dtype` at `byteOffset` in `buffer`; throws when they don't fit.
    public init(dtype: DType, shape: [Int], buffer: ByteBuffer, byteOffset: Int) throws {
        guard let count = SAECore.elementCount(of: shape) else {
            throw SaescopeError("tensor shape \(shape) is invalid")
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, byteOffset >= 0, byteOffset <= buffer.count, byteCount <= buffer.count - byteOffset else {
            throw SaescopeError("tensor of shape \(shape) (\(dtype.rawValue)) at byte \(byteOffset) does not fit in \(buffer.count) bytes")
        }
        self.dtype = dtype
        self.shape = shape
        self.buffer = buffer
        self.byteOffset = byteOffset
        self.elementCount = count
    }

    /// A new Float32 tensor owning a copy of `values`.
    public init(float32 values: [Float], shape: [Int]) {
        precondition(SAECore.elementCount(of: shape) == values.count, "shape does not match value count")
        let buffer = values.withUnsafeBytes { ByteBuffer(copying: $0) }
        // The precondition above guarantees the view fits.
        try! self.init(dtype: .float32, shape: shape, buffer: buffer, byteOffset: 0)
    }

    public var byteCount: Int { elementCount * dtype.byteSize }
    public var rank: Int { shape.count }

    public var rawBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer.base + byteOffset, count: byteCount)
    }

    /// Converts `count` elements starting at element `start` to Float32 into `destination`.
    public func convertToFloat(start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(start >= 0 && count >= 0 && start + count <= elementCount, "element range out of bounds")
        let source = buffer.base + byteOffset
        switch dtype {
        case .float32:
            destination.update(from: (source + start * 4).assumingMemoryBound(to: Float.self), count: count)
        case .float16:
            for i in 0..<count { destination[i] = floatFromHalf(bits: source.loadUnaligned(fromByteOffset: (start + i) * 2, as: UInt16.self)) }
        case .bfloat16:
            for i in 0..<count { destination[i] = floatFromBFloat16(bits: source.loadUnaligned(fromByteOffset: (start + i) * 2, as: UInt16.self)) }
        case .float64:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: (start + i) * 8, as: Double.self)) }
        case .int64:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: (start + i) * 8, as: Int64.self)) }
        case .int32:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: (start + i) * 4, as: Int32.self)) }
        case .int16:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: (start + i) * 2, as: Int16.self)) }
        case .uint32:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: (start + i) * 4, as: UInt32.self)) }
        case .uint16:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: (start + i) * 2, as: UInt16.self)) }
        case .int8:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: start + i, as: Int8.self)) }
        case .uint8, .bool:
            for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: start + i, as: UInt8.self)) }
        }
    }

    /// All elements as Float32 (a copy). A large tensor (a dictionary's weights) is converted
    /// by all the cores: the copy and the first touch of the file's and the array's pages were
    /// one core's work while the other waited (70 ms of 512 x 32768 x 2 weights).
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: elementCount) { storage, initialized in
            let count = elementCount
            if count > 0 {
                let target = UncheckedSendable(storage.baseAddress!)
                let parts = max(1, min(ProcessInfo.activeCores, count >> 20))
                parallelFor(parts) { part in
                    let first = part * count / parts, end = (part + 1) * count / parts
                    convertToFloat(start: first, count: end - first, into: target.value + first)
                }
            }
            initialized = count
        }
    }

    /// All elements as Int64; floating-point elements must be whole numbers.
    public func int64s() throws -> [Int64] {
        let source = buffer.base + byteOffset
        var result = [Int64]()
        result.reserveCapacity(elementCount)
        for i in 0..<elementCount {
            switch dtype {
            case .int64: result.append(source.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
            case .int32: result.append(Int64(source.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
            case .int16: result.append(Int64(source.loadUnaligned(fromByteOffset: i * 2, as: Int16.self)))
            case .uint32: result.append(Int64(source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            case .uint16: result.append(Int64(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
            case .int8: result.append(Int64(source.loadUnaligned(fromByteOffset: i, as: Int8.self)))
            case .uint8, .bool: result.append(Int64(source.load(fromByteOffset: i, as: UInt8.self)))
            case .float64, .float32, .float16, .bfloat16:
                var value: Float = 0
                convertToFloat(start: i, count: 1, into: &value)
                guard value.isFinite, value == value.rounded(), abs(value) < 9.0e18 else {
                    throw SaescopeError("expected whole numbers, found \(value)")
                }
                result.append(Int64(value))
            }
        }
        return result
    }

    /// The single value of a tensor with one element (a 0-d tensor or shape [1]).
    public func scalar() throws -> Double {
        guard elementCount == 1 else { throw SaescopeError("expected a scalar, found shape \(shape)") }
        if dtype == .int64 { return Double(buffer.base.loadUnaligned(fromByteOffset: byteOffset, as: Int64.self)) }
        if dtype == .float64 { return buffer.base.loadUnaligned(fromByteOffset: byteOffset, as: Double.self) }
        var value: Float = 0
        convertToFloat(start: 0, count: 1, into: &value)
        return Double(value)
    }
}

/// A named collection of tensors: what every weights file reader returns.
public struct TensorDictionary: Sendable {
    public var tensors: [String: Tensor]
    public var metadata: [String: String]
    /// The file the tensors came from, for error messages.
    public var source: String

    public init(tensors: [String: Tensor], metadata: [String: String] = [:], source: String) {
        self.tensors = tensors
        self.metadata = metadata
        self.source = source
    }

    public subscript(name: String) -> Tensor? { tensors[name] }

    /// The tensor `name`, or an error naming the file and the missing key.
    public func require(_ name: String) throws -> Tensor {
        guard let tensor = tensors[name] else {
            let known = tensors.keys.sorted().joined(separator: ", ")
            throw SaescopeError("missing tensor '\(name)' (found: \(known.isEmpty ? "none" : known))", file: source)
        }
        return tensor
    }

    /// The tensor `name`, which must have exactly `shape`.
    public func require(_ name: String, shape: [Int]) throws -> Tensor {
        let tensor = try require(name)
        guard tensor.shape == shape else {
            throw SaescopeError("tensor '\(name)' has shape \(tensor.shape), expected \(shape)", file: source)
        }
        return tensor
    }
}
