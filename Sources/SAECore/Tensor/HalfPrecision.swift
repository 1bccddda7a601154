/// Conversions from the 16-bit float formats to Float32.
///
/// bfloat16 is the top half of a float32; IEEE half goes through Swift's Float16.
@inline(__always)
public func floatFromBFloat16(bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

@inline(__always)
public func floatFromHalf(bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
}

/// Round-to-nearest-even float32 -> bfloat16 bits (NaN stays NaN).
@inline(__always)
public func bfloat16Bits(from value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}
