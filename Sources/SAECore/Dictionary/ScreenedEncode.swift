import CKernels
import Foundation

/// The screened encode: pre-activations in int8 (AVX-512 VNNI) or bf16 (AVX-512 BF16), a rigorous
/// bound on their error, and an fp32 recomputation of every entry the bound cannot rule out. The
/// codes are the fp32 path's (up to the last bits of each kept value and entries tied with the threshold).
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
/// are computed in double, widened by (D+2)*2^-52 for the double sums of squares behind the
/// norms, and rounded up to float; cut rounded down. Every other entry (a
/// candidate) is recomputed in fp32 (a dot product, error within gamma*||x||*||w||) and tested
/// exactly as the fp32 path tests it.
///
/// ## int8
/// The same bound holds with x~, w~ the int8 roundings and s the int8 product, so the same P, Q
/// and cut apply (computed from the int8 norms). There x~ = a*q (a = max_i |x_i| / 127 in fp32,
/// q the nearest integers in [-127, 127]) and w~ = t*k (t = max_i |w_i| / 127, k likewise), so
/// x~.w~ = a*t*P with P = sum q_i k_i an integer. `vpdpbusd` multiplies unsigned by signed bytes,
/// so the row is stored as q + 128 in [1, 255] and P = sum (q_i + 128) k_i - 128 * sum k_i, the
/// second sum kept per feature. Each lane adds four products of at most 255*127 (exact in the
/// instruction's 16-bit intermediates) into an int32 that wraps; P is exact whenever
/// |P| <= 127^2 * D < 2^31, i.e. D <= 133,143 (wrap-around cancels in two's complement), which
/// `eligible`'s D < 83,886 implies. Then s = fl(fl(a*t) * fl(P)): three roundings (fl(P) exact
/// below 2^24), each relative error u = 2^-24, and fl(a*t) at worst subnormal (2^-150 absolute,
/// times |P| <= 127^2 * D < D*2^14), so
///   |s - x~.w~| <= 3.01u*|x~.w~| + D*2^-136 + 2^-150 <= gamma*n*||w~|| + 2D*2^-126,
/// as the bf16 sum's bound (gamma >= 2(D+1)u >= 4u; Cauchy-Schwarz for |x~.w~| <= n*||w~||). The
/// residuals x - x~ and w - w~ are measured in double (a*q is exact there), not assumed from the
/// rounding, so the bound holds for any integers the conversion picks (clamping included).
final class ScreenedWeights: @unchecked Sendable {
    /// One precision's copy of W_enc and its bound factors (see the proof above).
    struct Packing {
        let precision: ScreenPrecision
        /// bf16: W~ as `ck_screen_elementwise` reads it (UInt16); int8: as `ck_i8_screen_elementwise` reads it (Int8).
        let packed: UnsafeMutableRawBufferPointer
        /// int8: per-feature scale t_j and 128 * sum_i k_ij (F padded to a panel); empty for bf16.
        let columnScale: [Float]
        let correction: [Int32]
        let columnP: [Float]
        let columnQ: [Float]
        /// The largest ||w~_j|| and ||w_j||: a chunk whose tokens could overflow fp32 takes the fp32 path.
        let largestNorm: Double
    }

    let inputDimension: Int
    let featureCount: Int
    /// The precisions the screen may use: the first tried, then the retry (int8 then bf16).
    let precisions: [ScreenPrecision]
    /// Each precision's packing once made (`packing(_:)`): the retry's only when a chunk needs it.
    private var packings: [Packing?]
    private let packingLock = NSLock()
    /// W_enc [D, F] (the bf16 packing reads it; kept, not copied) and the bound's constants.
    private let encoderWeights: [Float]
    private let gamma: Double
    private let safety: Double
    /// W^T, [F, D] row-major: the rows the candidates' recomputation reads.
    let transposed: [Float]
    /// Elementwise rules: the screen's cut per feature, and the fp32 path's own test.
    let cut: [Float]
    let test: RuleBlock.ScanTest?
    /// Top-k: k (the candidates are those within the bound of the row's k-th largest lower bound).
    let topK: Int?
    /// The proof's absolute (underflow) term.
    let absolute: Double
    let bias: [Float]

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
    /// to be useful (and, for int8, for the integer sums to be exact: D < 83,886 < 133,143).
    static func eligible(_ sae: SparseAutoencoder) -> Bool {
        screens(sae.rule) && sae.encoderBias.allSatisfy(\.isFinite)
            && ck_all_finite(sae.encoderWeights, sae.encoderWeights.count) != 0
            && Double(sae.inputDimension + 1) * 0x1p-23 < 0.01
    }

    /// nil when the dictionary is not `eligible` or the CPU has neither instruction set. `start`:
    /// the first precision (int8 also packs bf16 for the retry, where the CPU has it).
    init?(sae: SparseAutoencoder, start: ScreenPrecision?) {
        guard Self.eligible(sae), let start else { return nil }
        let d = sae.inputDimension, f = sae.featureCount
        inputDimension = d
        featureCount = f
        let test = RuleBlock.ScanTest(sae)
        self.test = test
        if case .topK(let k) = sae.rule { topK = k } else { topK = nil }
        bias = sae.encoderBias
        precisions = start == .int8 && ScreenPrecision.bf16.available && ScreenPrecision.restriction == nil ? [.int8, .bf16] : [start]
        encoderWeights = sae.encoderWeights
        let panels = (f + 63) / 64, shares = max(1, min(ProcessInfo.activeCores, panels))
        // The transposed copy is written whole by the shares, so it is not zeroed first (64 MiB at
        // D=512/F=32768: a tenth of the one-time conversion).
        let transposed = [Float](unsafeUninitializedCapacity: f * d) { target, initialized in
            sae.encoderWeights.withUnsafeBufferPointer { weights in
                let box = UncheckedSendable((weights, target))
                parallelFor(shares) { share in
                    let (weights, target) = box.value
                    let first = share * panels / shares, last = (share + 1) * panels / shares
                    ck_transpose(weights.baseAddress!, d, f, first * 64, min(f, last * 64), target.baseAddress!)
                }
            }
            initialized = f * d
        }
        self.transposed = transposed
        gamma = Self.gamma(d)
        // The norms are sums of D squares in double (relative error below (D+2)*2^-52 with the
        // square root, as the row factors' slack); 2^-40 more for the factors' own arithmetic.
        safety = 1 + 0x1p-40 + Double(d + 2) * 0x1p-52
        let absolute = Double(8 * d + 8) * 0x1p-126
        self.absolute = absolute
        packings = precisions.map { _ in nil }
        var cut = [Float](repeating: 0, count: f)
        if let test {
            for j in 0..<f {
                let floor = Double(test.floor[j]), b = test.addsBias ? Double(sae.encoderBias[j]) : 0
                cut[j] = Self.roundedDown(floor - b - absolute - 0x1p-50 * (abs(floor) + abs(b)))
            }
        }
        self.cut = cut
        // The first precision now (every chunk starts there); a retry's when a chunk first needs it.
        _ = packing(0)
    }

    /// The packing of `precisions[index]`, made on first use: a dictionary screened in int8
    /// packs bf16 for the retry only if a chunk is retried (at D=512/F=32768 that pack was
    /// 28 ms of the 0.10 s one-time conversion, and 32 MiB).
    func packing(_ index: Int) -> Packing {
        packingLock.lock()
        defer { packingLock.unlock() }
        if let made = packings[index] { return made }
        let made = pack(precisions[index])
        packings[index] = made
        return made
    }

    /// One precision's packed copy, a share of the panels per core, and its factors from the norms.
    private func pack(_ precision: ScreenPrecision) -> Packing {
        let d = inputDimension, f = featureCount, weights = encoderWeights, transposed = self.transposed
        let panels = (f + 63) / 64, shares = max(1, min(ProcessInfo.activeCores, panels))
        var norms = [Double](repeating: 0, count: 3 * panels * 64)
        var columnScale = [Float](), correction = [Int32]()
        let packed: UnsafeMutableRawBufferPointer
        switch precision {
        case .bf16:
            packed = .allocate(byteCount: 2 * ck_bf16_packed_count(d, f), alignment: 64)
            weights.withUnsafeBufferPointer { weights in
                norms.withUnsafeMutableBufferPointer { norms in
                    let box = UncheckedSendable((weights, norms))
                    parallelFor(shares) { share in
                        let (weights, norms) = box.value
                        ck_bf16_pack_weights(weights.baseAddress!, d, f, share * panels / shares, (share + 1) * panels / shares,
                                             packed.baseAddress!.assumingMemoryBound(to: UInt16.self), norms.baseAddress!)
                    }
                }
            }
        case .int8:
            packed = .allocate(byteCount: ck_i8_packed_count(d, f), alignment: 64)
            columnScale = [Float](repeating: 0, count: panels * 64)
            correction = [Int32](repeating: 0, count: panels * 64)
            transposed.withUnsafeBufferPointer { transposed in
                norms.withUnsafeMutableBufferPointer { norms in
                    columnScale.withUnsafeMutableBufferPointer { scale in
                        correction.withUnsafeMutableBufferPointer { correction in
                            let box = UncheckedSendable((transposed, norms, scale, correction))
                            parallelFor(shares) { share in
                                let (transposed, norms, scale, correction) = box.value
                                ck_i8_pack_weights(transposed.baseAddress!, d, f, share * panels / shares, (share + 1) * panels / shares,
                                                   packed.baseAddress!.assumingMemoryBound(to: Int8.self), scale.baseAddress!,
                                                   correction.baseAddress!, norms.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        // The bound's per-feature factors P and Q (see the proof) from this packing's norms.
        let u = 0x1p-24
        var columnP = [Float](repeating: 0, count: f), columnQ = columnP
        var largest = 0.0
        for j in 0..<f {
            let norm = norms[3 * j], residual = norms[3 * j + 1], rounded = norms[3 * j + 2]
            largest = max(largest, norm, rounded)
            columnP[j] = Self.roundedUp((1 + gamma) * norm / (1 - 3 * u) * safety)
            columnQ[j] = Self.roundedUp((residual + gamma * (rounded + norm) + 3 * u * (1 + gamma) * rounded) / (1 - 3 * u) * safety)
        }
        return Packing(precision: precision, packed: packed, columnScale: columnScale, correction: correction,
                       columnP: columnP, columnQ: columnQ, largestNorm: largest)
    }

    deinit { for packing in packings { packing?.packed.deallocate() } }

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
    nonisolated(unsafe) private static var cache: [(weights: [Float], rule: String, bias: [Float], start: ScreenPrecision?, screen: ScreenedWeights?)] = []

    /// The screen of `sae`, built once per dictionary (the conversion reads all of W_enc).
    static func shared(for sae: SparseAutoencoder) -> ScreenedWeights? {
        let key = sae.encoderWeights.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let start = ScreenPrecision.best(for: sae.rule)
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let hit = cache.first(where: { entry in
            entry.weights.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == key
                && entry.weights.count == sae.encoderWeights.count && entry.rule == sae.rule.summary
                && entry.bias == sae.encoderBias && entry.start == start
        }) { return hit.screen }
        let screen = ScreenedWeights(sae: sae, start: start)
        cache.append((sae.encoderWeights, sae.rule.summary, sae.encoderBias, start, screen))
        if cache.count > 4 { cache.removeFirst() }
        return screen
    }
}
