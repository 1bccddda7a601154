/// Element types found in safetensors, npy and PyTorch files.
public enum DType: String, Sendable, CaseIterable {
    case float64 = "F64"
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint32 = "U32"
    case uint16 = "U16"
    case uint8 = "U8"
    case bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32, .uint32: 4
        case .float16, .bfloat16, .int16, .uint16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: true
        default: false
        }
    }

    /// The safetensors spelling (`F32`, `BF16`, ...).
    public var safetensorsName: String { rawValue }

    public init?(safetensorsName: String) {
        self.init(rawValue: safetensorsName)
    }
}

/// Number of elements of `shape`, or nil when the product overflows or a dimension is negative.
public func elementCount(of shape: [Int]) -> Int? {
    var total = 1
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
        guard !overflow else { return nil }
        total = product
    }
    return total
}
