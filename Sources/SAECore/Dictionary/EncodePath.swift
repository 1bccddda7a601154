import CKernels
import Foundation

/// The screened encode's low-precision multiply: int8 with AVX-512 VNNI (four multiply-adds per
/// lane and instruction, twice bf16's) where the CPU has it, else bf16 with AVX512_BF16.
public enum ScreenPrecision: String, Sendable {
    case int8
    case bf16

    /// `SAESCOPE_SCREEN_PRECISION=bf16` (or `int8`) restricts the screen to one precision, for
    /// comparisons (child processes inherit it); nil: the best the CPU has.
    nonisolated(unsafe) public static var restriction = ProcessInfo.processInfo.environment["SAESCOPE_SCREEN_PRECISION"].flatMap(ScreenPrecision.init(rawValue:))

    var available: Bool {
        switch self {
        case .int8: ck_i8_available() != 0
        case .bf16: ck_bf16_available() != 0
        }
    }

    /// The precision the screen starts with for `rule` on this CPU, nil when neither instruction
    /// set is there. Top-k starts in bf16: its candidates are the entries within the bound of the
    /// row's k-th largest, and int8's wider bound made more than 10% of entries candidates on the
    /// sample top-k dictionaries (SmolLM2 residual stream; bf16: 2.8%), so every chunk fell back.
    static func best(for rule: ActivationRule?) -> ScreenPrecision? {
        if let restriction { return restriction.available ? restriction : nil }
        if case .topK = rule, ScreenPrecision.bf16.available { return .bf16 }
        return [.int8, .bf16].first(where: \.available)
    }
}

/// Which encode runs, and why: `inspect`, `doctor` and the benchmarks print it.
public enum EncodePath: Equatable, Sendable {
    /// Screened, starting in this precision (an int8 chunk with too many candidates is retried in bf16).
    case screened(ScreenPrecision)
    case fp32(reason: String)

    /// The path `SAEEncoder` takes for `sae` on this CPU with the current settings.
    public static func chosen(for sae: SparseAutoencoder) -> EncodePath {
        if SAEEncoder.exactFP32 { return .fp32(reason: "--exact-fp32") }
        guard let precision = ScreenPrecision.best(for: sae.rule) else { return .fp32(reason: noInstructionReason) }
        if !ScreenedWeights.screens(sae.rule) { return .fp32(reason: "no screen for the \(sae.rule.summary) rule") }
        // Only the check: `inspect` prints this, and the conversion (hundreds of MB at F=16384) is the encoder's.
        if !ScreenedWeights.eligible(sae) { return .fp32(reason: "encoder weights or biases not finite") }
        return .screened(precision)
    }

    static var noInstructionReason: String {
        if let restriction = ScreenPrecision.restriction {
            return "SAESCOPE_SCREEN_PRECISION=\(restriction.rawValue) and the CPU has no \(restriction == .int8 ? "AVX512_VNNI" : "AVX512_BF16")"
        }
        return "the CPU has neither AVX512_VNNI nor AVX512_BF16"
    }

    /// This machine and setting, for any dictionary: what `doctor` and the benchmarks print.
    public static var machineSummary: String {
        if SAEEncoder.exactFP32 { return "encode: fp32 sgemm (--exact-fp32 / SAESCOPE_EXACT_FP32=1)" }
        guard let precision = ScreenPrecision.best(for: nil) else { return "encode: fp32 sgemm (\(noInstructionReason))" }
        let screens = ScreenPrecision.restriction != nil
            ? "screened \(precision) only (SAESCOPE_SCREEN_PRECISION) for ReLU, JumpReLU and top-k"
            : precision == .int8
            ? "screened int8 (AVX512_VNNI) for ReLU and JumpReLU, bf16 (AVX512_BF16) for top-k and after an int8 chunk with too many candidates"
            : "screened \(precision) for ReLU, JumpReLU and top-k"
        return "encode: \(screens), exact to fp32; fp32 sgemm for the other rules and with --exact-fp32"
    }

    public var summary: String {
        let limit = "a chunk with more than \(Int(ScreenedChunk.fallbackFraction * 100))% candidates"
        switch self {
        case .screened(.int8):
            if ck_bf16_available() != 0 && ScreenPrecision.restriction == nil {
                return "screened int8 (AVX-512 VNNI pre-activations, candidates recomputed in fp32; a chunk with more than \(Int(ScreenedChunk.int8RetryFraction * 100))% candidates is retried in bf16, \(limit) in bf16 takes fp32)"
            }
            return "screened int8 (AVX-512 VNNI pre-activations, candidates recomputed in fp32; \(limit) takes fp32)"
        case .screened(.bf16):
            return "screened bf16 (AVX-512 BF16 pre-activations, candidates recomputed in fp32; \(limit) takes fp32)"
        case .fp32(let reason):
            return "fp32 sgemm (\(reason))"
        }
    }
}

/// What the screened path did over an encoder's chunks (for the benchmarks and `--verbose` lines).
public struct ScreenedEncodeStatistics: Sendable, Equatable {
    /// Chunks screened in each precision.
    public var int8Chunks = 0
    public var bf16Chunks = 0
    public var screenedChunks: Int { int8Chunks + bf16Chunks }
    /// int8 screens abandoned (too many candidates) and retried in bf16.
    public var int8Abandoned = 0
    /// Chunks that fell back to fp32: too many candidates, non-finite or very large inputs.
    public var fallbackChunks = 0
    /// Candidates / (rows * F) of each screen run (abandoned ones included), in order.
    public var candidateFractions: [Double] = []
    public init() {}

    /// Both encoders' chunks of one pass (the pipeline's two take turns).
    public func adding(_ other: ScreenedEncodeStatistics) -> ScreenedEncodeStatistics {
        var sum = self
        sum.int8Chunks += other.int8Chunks
        sum.bf16Chunks += other.bf16Chunks
        sum.int8Abandoned += other.int8Abandoned
        sum.fallbackChunks += other.fallbackChunks
        sum.candidateFractions += other.candidateFractions
        return sum
    }

    /// What ran since `earlier`, a copy of these statistics taken before (a benchmark's round).
    public func since(_ earlier: ScreenedEncodeStatistics) -> ScreenedEncodeStatistics {
        var difference = self
        difference.int8Chunks -= earlier.int8Chunks
        difference.bf16Chunks -= earlier.bf16Chunks
        difference.int8Abandoned -= earlier.int8Abandoned
        difference.fallbackChunks -= earlier.fallbackChunks
        difference.candidateFractions = Array(candidateFractions.dropFirst(earlier.candidateFractions.count))
        return difference
    }

    /// What ran over a pass that took `path`, for `eval`'s table: e.g. "screened int8: 3 chunks
    /// int8, 0 bf16 (0 int8 retried), 0 fp32; candidates 2.6-2.8% of entries".
    public func summary(path: EncodePath) -> String {
        guard case .screened = path else { return path.summary }
        var text = "screened: \(int8Chunks) chunks int8, \(bf16Chunks) bf16 (\(int8Abandoned) int8 retried), \(fallbackChunks) fp32"
        if let low = candidateFractions.min(), let high = candidateFractions.max() {
            let range = String(format: "%.2f", low * 100) == String(format: "%.2f", high * 100)
                ? String(format: "%.2f%%", low * 100) : String(format: "%.2f-%.2f%%", low * 100, high * 100)
            text += "; candidates \(range) of entries"
        }
        return text
    }
}
