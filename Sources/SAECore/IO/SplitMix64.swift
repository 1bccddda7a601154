import Foundation

/// SplitMix64 with a Box-Muller normal: fast, seeded, and the same on every machine. The one
/// seeded generator of the project: probe splits, synthetic benchmarks, shuffled scatter plots, tests.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    private var spare: Float?

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func nextNormal() -> Float {
        if let spare { self.spare = nil; return spare }
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        let radius = (-2 * log(u1)).squareRoot()
        spare = Float(radius * sin(2 * .pi * u2))
        return Float(radius * cos(2 * .pi * u2))
    }
}
