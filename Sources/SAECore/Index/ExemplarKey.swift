/// The sampling key of one (feature, row) activation: a seeded 64-bit hash. Each interval keeps
/// the exemplars with the smallest keys, which is a uniform sample that is reproducible, does not
/// depend on the order rows are seen, and merges exactly across shards.
@inline(__always)
func exemplarKey(seed: UInt64, feature: Int, row: Int) -> UInt64 {
    var z = seed &+ UInt64(truncatingIfNeeded: row) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: feature) &* 0xD1B5_4A32_D192_ED03
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// Activation ranges are powers of two: a feature's range is the smallest 2^e above its maximum,
/// so histogram bins and intervals are fixed by the data alone and coarsen exactly in pairs.
@inline(__always)
func rangeExponent(above value: Float) -> Int32 {
    Int32(value.exponent) + 1
}

@inline(__always)
func rangeUpperBound(exponent: Int32) -> Float {
    Float(sign: .plus, exponent: Int(exponent), significand: 1)
}

/// Bin of `value` among `bins` equal bins of [0, 2^exponent).
@inline(__always)
func binIndex(of value: Float, exponent: Int32, bins: Int) -> Int {
    let scaled = value / rangeUpperBound(exponent: exponent) * Float(bins)
    return min(bins - 1, max(0, Int(scaled)))
}
