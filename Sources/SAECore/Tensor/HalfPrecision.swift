/// Conversions from the 16-bit float formats to Float32.
///
/// bfloat16 is the top half of a float32; IEEE half is rebiased in integer operations.
@inline(__always)
public func floatFromBFloat16(bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// IEEE half -> float32 in integer operations: Swift's `Float(Float16)` is a call to the
/// runtime's software `__extendhfsf2` on x86-64 without F16C, a few percent of an index pass over
/// float16 codes. Bit-identical to it for all 65536 inputs, NaN payloads and quieting included (a test checks).
@inline(__always)
public func floatFromHalf(bits: UInt16) -> Float {
    let h = UInt32(bits)
    var magnitude = (h & 0x7FFF) << 13   // exponent and mantissa, aligned with float32's
    let exponent = magnitude & 0x0F80_0000
    magnitude &+= (127 - 15) << 23       // rebias
    if exponent == 0x0F80_0000 {
        magnitude &+= (128 - 16) << 23   // infinity / NaN: all-ones exponent
        if h & 0x03FF != 0 { magnitude |= 0x0040_0000 }   // NaN comes out quiet, as from the runtime
    } else if exponent == 0 {
        // Zero / subnormal: (mantissa * 2^-24) computed exactly as a float difference.
        magnitude &+= 1 << 23
        magnitude = (Float(bitPattern: magnitude) - Float(bitPattern: 113 << 23)).bitPattern
    }
    return Float(bitPattern: magnitude | ((h & 0x8000) << 16))
}

/// Round-to-nearest-even float32 -> bfloat16 bits (NaN stays NaN).
@inline(__always)
public func bfloat16Bits(from value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}
