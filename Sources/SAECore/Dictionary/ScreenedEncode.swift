import CKernels
import Foundation

/// The screened encode: pre-activations in bf16 with AVX-512 BF16, a rigorous bound on their
/// error, and an fp32 recomputation of every entry the bound cannot rule out. The codes are the
/// fp32 path's (up to the last bits of each kept value and entries tied with the threshold).
///
/// ## The bound
/// For a token x (fp32, after the input normalisation) and a feature's encoder column w (fp32),
/// let x~, w~ be their bf16 roundings (bf16 subnormals flushed to zero, as `vdpbf16ps` treats
/// them), e = ||x - x~||, n = ||x~||. Let s be the bf16 multiply's fp32 result for x~ . w~ and p
/// the fp32 path's result for x . w (any BLAS sgemm). Assumed of both: each output is a sum of
/// the D products in some order, each multiply and add rounded to fp32 with relative error at
/// most u' = 2^-23 (faithful rounding; RNE and fused multiply-adds are better) plus an absolute
/// error below 2^-126 per operation (flush-to-zero included); no order is assumed. Products of
/// bf16 values are exact in fp32. With gamma = (D+1)u'/(1-(D+1)u') the classical bound on a
/// sum in any order gives
///   |s - x~.w~| <= gamma * sum|x~_i w~_i| + 2D*2^-126 <= gamma*n*||w~|| + 2D*2^-126,
///   |p - x.w|   <= gamma * sum|x_i w_i|   + 2D*2^-126 <= gamma*||x||*||w|| + 2D*2^-126
/// (Cauchy-Schwarz for the sums of |products|), and x.w - x~.w~ = (x-x~).w + x~.(w-w~), so
///   |x.w - x~.w~| <= e*||w|| + n*||w - w~||              (Cauchy-Schwarz).
/// With ||x|| <= n + e:
///   |p - s| <= e*(1+gamma)*||w|| + n*(||w - w~|| + gamma*(||w~|| + ||w||)) + 4D*2^-126 =: B.
/// The screen evaluates t = fl(n*Q + fl(e*P + s)) (two fused multiply-adds, relative error u =
/// 2^-24 each, 2^-126 absolute) with
///   P = (1+gamma)*||w|| / (1-3u),
///   Q = (||w - w~|| + gamma*(||w~|| + ||w||) + 3u*(1+gamma)*||w~||) / (1-3u),
/// so |t - (s + e*P + n*Q)| <= 2.01u*(|s| + e*P + n*Q) + 2^-125, and since
/// |s| <= (1+gamma)*n*||w~|| + 2D*2^-126 and (1-2.01u)*(e*P + n*Q) >= B - 4D*2^-126 + 3u*(1+gamma)*n*||w~||,
///   t >= s + B - (6D+4)*2^-126 >= p - (6D+4)*2^-126.
/// The rule's test on the fp32 path is `v <= floor` (rejected), v = fl(p + b) or v = p (see
/// `RuleBlock.ScanTest`); it rejects whenever p + b <= floor (resp. p <= floor) in exact
/// arithmetic, rounding being monotone and floor a float. With cut = floor - b - (8D+8)*2^-126
/// rounded down (b only when the test adds it), t <= cut gives p <= cut + (6D+4)*2^-126 < floor - b:
/// every entry the screen rejects is one the fp32 path rejects too. All factors (P, Q, e, n)
/// are computed in double and rounded up to float; cut rounded down. Every other entry (a
/// candidate) is recomputed in fp32 (a dot product, error within gamma*||x||*||w||) and tested
/// exactly as the fp32 path tests it.
final class ScreenedWeights: @unchecked Sendable {
    let inputDimension: Int
    let featureCount: Int
    /// W~, packed as `ck_screen_elementwise` reads it.
    let packed: UnsafeMutableBufferPointer<UInt16>
    /// W^T, [F, D] row-major: the rows the candidates' recomputation reads.
    let transposed: [Float]
    let columnP: [Float]
    let columnQ: [Float]
    /// Elementwise rules: the screen's cut per feature, and the fp32 path's own test.
    let cut: [Float]
    let test: RuleBlock.ScanTest?
    /// Top-k: k (the candidates are those within the bound of the row's k-th largest lower bound).
    let topK: Int?
    /// The proof's absolute (underflow) term.
    let absolute: Double
    let bias: [Float]
    /// The largest ||w~_j|| and ||w_j||: a chunk whose tokens could overflow fp32 takes the fp32 path.
    let largestNorm: Double

    /// gamma of the proof for D terms (faithful rounding, any summation order).
    static func gamma(_ d: Int) -> Double {
        let nu = Double(d + 1) * 0x1p-23
        return nu / (1 - nu)
    }

    /// Whether the rule has a screen: ReLU, JumpReLU (elementwise) and top-k; not gated or group-max.
    static func screens(_ rule: ActivationRule) -> Bool {
        switch rule {
        case .relu, .threshold, .topK: true
        case .gated, .groupMax: false
        }
    }

    /// Whether `init` gives a screen, without converting anything (for `EncodePath.chosen`): the
    /// rule has one, the weights and biases are all finite, and D is small enough for the bound
    /// to be useful.
    static func eligible(_ sae: SparseAutoencoder) -> Bool {
        screens(sae.rule) && sae.encoderBias.allSatisfy(\.isFinite)
            && ck_all_finite(sae.encoderWeights, sae.encoderWeights.count) != 0
            && Double(sae.inputDimension + 1) * 0x1p-23 < 0.01
    }

    /// nil when the dictionary is not `eligible`.
    init?(sae: SparseAutoencoder) {
        guard Self.eligible(sae) else { return nil }
        let d = sae.inputDimension, f = sae.featureCount
        inputDimension = d
        featureCount = f
        let test = RuleBlock.ScanTest(sae)
        self.test = test
        if case .topK(let k) = sae.rule { topK = k } else { topK = nil }
        bias = sae.encoderBias
        let packed = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: ck_bf16_packed_count(d, f))
        self.packed = packed
        // Packed, measured and transposed a share of the panels per core.
        // The transposed copy is written whole by the shares, so it is not zeroed first (64 MiB at
        // D=512/F=32768: a tenth of the one-time conversion).
        var norms = [Double](repeating: 0, count: 3 * f)
        let panels = (f + 63) / 64, shares = max(1, min(ProcessInfo.activeCores, panels))
        self.transposed = [Float](unsafeUninitializedCapacity: f * d) { target, initialized in
            sae.encoderWeights.withUnsafeBufferPointer { weights in
                norms.withUnsafeMutableBufferPointer { norms in
                    let box = UncheckedSendable((weights, norms, target))
                    parallelFor(shares) { share in
                        let (weights, norms, target) = box.value
                        let first = share * panels / shares, last = (share + 1) * panels / shares
                        ck_bf16_pack_weights(weights.baseAddress!, d, f, first, last, packed.baseAddress!, norms.baseAddress!)
                        ck_transpose(weights.baseAddress!, d, f, first * 64, min(f, last * 64), target.baseAddress!)
                    }
                }
            }
            initialized = f * d
        }
        let gamma = Self.gamma(d), u = 0x1p-24, safety = 1 + 0x1p-40
        let absolute = Double(8 * d + 8) * 0x1p-126
        self.absolute = absolute
        var columnP = [Float](repeating: 0, count: f), columnQ = columnP, cut = columnP
        var largest = 0.0
        for j in 0..<f {
            let norm = norms[3 * j], residual = norms[3 * j + 1], rounded = norms[3 * j + 2]
            largest = max(largest, norm, rounded)
            columnP[j] = Self.roundedUp((1 + gamma) * norm / (1 - 3 * u) * safety)
            columnQ[j] = Self.roundedUp((residual + gamma * (rounded + norm) + 3 * u * (1 + gamma) * rounded) / (1 - 3 * u) * safety)
            if let test {
                let floor = Double(test.floor[j]), b = test.addsBias ? Double(sae.encoderBias[j]) : 0
                cut[j] = Self.roundedDown(floor - b - absolute - 0x1p-50 * (abs(floor) + abs(b)))
            }
        }
        self.columnP = columnP
        self.columnQ = columnQ
        self.cut = cut
        largestNorm = largest
    }

    deinit { packed.deallocate() }

    static func roundedUp(_ value: Double) -> Float {
        let single = Float(value)
        return Double(single) < value ? single.nextUp : single
    }

    static func roundedDown(_ value: Double) -> Float {
        let single = Float(value)
        return Double(single) > value ? single.nextDown : single
    }

    // MARK: One conversion per dictionary

    private static let cacheLock = NSLock()
    /// The last few dictionaries' screens, with their encoder weights retained so the storage
    /// address identifying them cannot be reused while cached.
    nonisolated(unsafe) private static var cache: [(weights: [Float], rule: String, bias: [Float], screen: ScreenedWeights?)] = []

    /// The screen of `sae`, built once per dictionary (the conversion reads all of W_enc).
    static func shared(for sae: SparseAutoencoder) -> ScreenedWeights? {
        let key = sae.encoderWeights.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let hit = cache.first(where: { entry in
            entry.weights.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == key
                && entry.weights.count == sae.encoderWeights.count && entry.rule == sae.rule.summary
                && entry.bias == sae.encoderBias
        }) { return hit.screen }
        let screen = ScreenedWeights(sae: sae)
        cache.append((sae.encoderWeights, sae.rule.summary, sae.encoderBias, screen))
        if cache.count > 4 { cache.removeFirst() }
        return screen
    }
}

/// Which encode runs, and why: `inspect`, `doctor` and the benchmarks print it.
public enum EncodePath: Equatable, Sendable {
    case screenedBF16
    case fp32(reason: String)

    /// The path `SAEEncoder` takes for `sae` on this CPU with the current settings.
    public static func chosen(for sae: SparseAutoencoder) -> EncodePath {
        if SAEEncoder.exactFP32 { return .fp32(reason: "--exact-fp32") }
        if ck_bf16_available() == 0 { return .fp32(reason: "the CPU has no AVX512_BF16") }
        if !ScreenedWeights.screens(sae.rule) { return .fp32(reason: "no screen for the \(sae.rule.summary) rule") }
        // Only the check: `inspect` prints this, and the conversion (hundreds of MB at F=16384) is the encoder's.
        if !ScreenedWeights.eligible(sae) { return .fp32(reason: "encoder weights or biases not finite") }
        return .screenedBF16
    }

    /// This machine and setting, for any dictionary: what `doctor` and the benchmarks print.
    public static var machineSummary: String {
        if SAEEncoder.exactFP32 { return "encode: fp32 sgemm (--exact-fp32 / SAESCOPE_EXACT_FP32=1)" }
        if ck_bf16_available() == 0 { return "encode: fp32 sgemm (the CPU has no AVX512_BF16)" }
        return "encode: screened bf16 (AVX512_BF16) for ReLU, JumpReLU and top-k dictionaries, exact to fp32; fp32 sgemm for the other rules and with --exact-fp32"
    }

    public var summary: String {
        switch self {
        case .screenedBF16: "screened bf16 (AVX-512 BF16 pre-activations, candidates recomputed in fp32; a chunk with more than \(Int(ScreenedChunk.fallbackFraction * 100))% candidates takes fp32)"
        case .fp32(let reason): "fp32 sgemm (\(reason))"
        }
    }
}

/// What the screened path did over an encoder's chunks (for the benchmarks and `--verbose` lines).
public struct ScreenedEncodeStatistics: Sendable, Equatable {
    public var screenedChunks = 0
    /// Chunks that fell back to fp32: too many candidates, non-finite or very large inputs.
    public var fallbackChunks = 0
    /// Candidates / (rows * F) of each screened (or abandoned) chunk, in order.
    public var candidateFractions: [Double] = []
    public init() {}
}

/// One encoder's scratch for the screened path: the chunk's bf16 rows and the candidates' output.
final class ScreenedChunk {
    /// Above this fraction of candidates in a chunk, its screen is abandoned and the chunk taken by
    /// fp32 (measured with `saescope bench screened`; see the README).
    nonisolated(unsafe) static var fallbackFraction = 0.10

    /// One core's output (row, feature, value) and, for top-k, its per-row scratch.
    private struct Part {
        let rows: UnsafeMutableBufferPointer<Int32>
        let features: UnsafeMutableBufferPointer<Int32>
        let values: UnsafeMutableBufferPointer<Float>
        /// lower, upper, selection scratch, candidate values: 4 x F floats; candidate features: F.
        let rowScratch: UnsafeMutableBufferPointer<Float>
        let candidateFeatures: UnsafeMutableBufferPointer<Int32>
        var kept = 0
        var candidates = 0
    }

    let weights: ScreenedWeights
    let maxRows: Int
    private let converted: UnsafeMutableBufferPointer<UInt16>
    private let rowNorms: UnsafeMutableBufferPointer<Double>
    private let rowE: UnsafeMutableBufferPointer<Float>
    private let rowN: UnsafeMutableBufferPointer<Float>
    private var parts: [Part]

    init(weights: ScreenedWeights, maxRows: Int, parts partCount: Int) {
        self.weights = weights
        self.maxRows = maxRows
        let d = weights.inputDimension, f = weights.featureCount
        let tile = Int(CK_BF16_TILE_ROWS)
        let paddedRows = (maxRows + tile - 1) / tile * tile
        converted = .allocate(capacity: paddedRows * ((d + 1) & ~1))
        converted.initialize(repeating: 0)
        rowNorms = .allocate(capacity: 2 * maxRows)
        rowE = .allocate(capacity: maxRows)
        rowN = .allocate(capacity: maxRows)
        let count = max(1, min(partCount, (f + 63) / 64))
        let capacity = Int(Double(maxRows) * Double(f) * Self.fallbackFraction / Double(count)) + max(64, weights.topK ?? 0) * maxRows
        let scratch = weights.topK == nil ? 1 : f
        parts = (0..<count).map { _ in
            Part(rows: .allocate(capacity: capacity), features: .allocate(capacity: capacity), values: .allocate(capacity: capacity),
                 rowScratch: .allocate(capacity: 4 * scratch), candidateFeatures: .allocate(capacity: scratch))
        }
    }

    deinit {
        converted.deallocate()
        rowNorms.deallocate()
        rowE.deallocate()
        rowN.deallocate()
        for part in parts {
            part.rows.deallocate()
            part.features.deallocate()
            part.values.deallocate()
            part.rowScratch.deallocate()
            part.candidateFeatures.deallocate()
        }
    }

    /// Screens `count` prepared rows `x` and writes the kept codes as CSR rows; false (and nothing
    /// written) when the chunk must take the fp32 path. `products` ([rows, F]) receives the bf16
    /// products for top-k. Adds the chunk to `statistics`.
    func encode(_ x: UnsafePointer<Float>, rows count: Int, products: UnsafeMutablePointer<Float>,
                rowStart: inout [Int], features: inout [Int32], values: inout [Float],
                statistics: inout ScreenedEncodeStatistics) -> Bool {
        let d = weights.inputDimension, f = weights.featureCount
        guard ck_all_finite(x, count * d) != 0 else {
            statistics.fallbackChunks += 1
            return false
        }
        convert(x, rows: count)
        // Tokens so large that a product could overflow fp32 void the proof's assumptions.
        var largestRow = 0.0
        for r in 0..<count { largestRow = max(largestRow, rowNorms[2 * r] + rowNorms[2 * r + 1]) }
        guard largestRow * weights.largestNorm < 0x1p100 else {
            statistics.fallbackChunks += 1
            return false
        }
        let partCount = parts.count, weights = self.weights, fraction = Self.fallbackFraction
        let converted = self.converted.baseAddress!, rowE = self.rowE.baseAddress!, rowN = self.rowN.baseAddress!
        parts.withUnsafeMutableBufferPointer { parts in
            let parts = UncheckedSendable(parts)
            if let k = weights.topK {
                parallelFor(partCount) { part in
                    let columns = SAEEncoder.columnBlock(part, of: partCount, features: f)
                    ck_bf16_multiply(converted, weights.packed.baseAddress!, count, d, f, columns.lowerBound, columns.upperBound, products, f)
                }
                parallelFor(min(partCount, count)) { part in
                    let blocks = min(partCount, count)
                    let first = part * count / blocks, last = (part + 1) * count / blocks
                    let p = parts.value[part], scratch = p.rowScratch.baseAddress!
                    var met = 0
                    let kept = ck_screen_topk_rows(products, f, first, last, f, k, rowE, rowN, weights.columnP, weights.columnQ,
                                                   weights.bias, weights.absolute, x, d, weights.transposed,
                                                   scratch, scratch + f, scratch + 2 * f, p.candidateFeatures.baseAddress!, scratch + 3 * f,
                                                   p.rows.baseAddress!, p.features.baseAddress!, p.values.baseAddress!, p.rows.count,
                                                   Int(Double(last - first) * Double(f) * fraction), &met)
                    parts.value[part].kept = kept
                    parts.value[part].candidates = met
                }
                for part in min(partCount, count)..<partCount { parts.value[part].kept = 0; parts.value[part].candidates = 0 }
            } else if let test = weights.test {
                parallelFor(partCount) { part in
                    let columns = SAEEncoder.columnBlock(part, of: partCount, features: f)
                    let p = parts.value[part]
                    var met = 0
                    let kept = ck_screen_elementwise(
                        converted, weights.packed.baseAddress!, count, d, f, columns.lowerBound, columns.upperBound,
                        rowE, rowN, weights.columnP, weights.columnQ, weights.cut,
                        x, weights.transposed, weights.bias, test.floor, test.addsBias ? 1 : 0, test.keepsNaN ? 1 : 0,
                        p.rows.baseAddress!, p.features.baseAddress!, p.values.baseAddress!, p.rows.count,
                        Int(Double(count) * Double(columns.count) * fraction), &met)
                    parts.value[part].kept = kept
                    parts.value[part].candidates = met
                }
            }
        }
        let candidates = parts.reduce(0) { $0 + $1.candidates }
        statistics.candidateFractions.append(Double(candidates) / Double(max(1, count * f)))
        guard parts.allSatisfy({ $0.kept >= 0 }) else {
            statistics.fallbackChunks += 1
            return false
        }
        statistics.screenedChunks += 1
        assemble(rows: count, rowStart: &rowStart, features: &features, values: &values)
        return true
    }

    /// bf16 rows and the bound's per-row factors e and n (rounded up), rows split across the cores.
    private func convert(_ x: UnsafePointer<Float>, rows count: Int) {
        let d = weights.inputDimension
        let blockCount = min(parts.count, count)
        let slack = 1 + Double(d + 2) * 0x1p-52
        let norms = rowNorms.baseAddress!, rowE = self.rowE.baseAddress!, rowN = self.rowN.baseAddress!, converted = self.converted.baseAddress!
        parallelFor(blockCount) { b in
            let first = b * count / blockCount, last = (b + 1) * count / blockCount
            ck_bf16_convert_rows(x, d, first, last, converted, norms)
            for r in first..<last {
                rowE[r] = ScreenedWeights.roundedUp(norms[2 * r] * slack)
                rowN[r] = ScreenedWeights.roundedUp(norms[2 * r + 1] * slack)
            }
        }
    }

    /// The parts' (row, feature, value) lists as CSR rows, features ascending within a row (each
    /// part lists every row's features in ascending order, and parts hold ascending ranges).
    private func assemble(rows count: Int, rowStart: inout [Int], features: inout [Int32], values: inout [Float]) {
        var counts = [Int](repeating: 0, count: count + 1)
        for part in parts {
            for e in 0..<part.kept { counts[Int(part.rows[e]) + 1] += 1 }
        }
        for r in 0..<count { counts[r + 1] += counts[r] }
        let total = counts[count]
        rowStart.removeAll(keepingCapacity: true)
        rowStart.append(contentsOf: counts)
        features.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        features.append(contentsOf: repeatElement(0, count: total))
        values.append(contentsOf: repeatElement(0, count: total))
        var cursor = counts
        features.withUnsafeMutableBufferPointer { features in
            values.withUnsafeMutableBufferPointer { values in
                for part in parts {
                    for e in 0..<part.kept {
                        let r = Int(part.rows[e])
                        features[cursor[r]] = part.features[e]
                        values[cursor[r]] = part.values[e]
                        cursor[r] += 1
                    }
                }
            }
        }
    }
}
