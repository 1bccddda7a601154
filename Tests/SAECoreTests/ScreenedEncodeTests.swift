import CKernels
import XCTest
@testable import SAECore

/// The screened encode, int8 and bf16, against an fp64 reference computed here and against the
/// fp32 path, under the rule: the active set equals the reference's except entries whose
/// fp64 pre-activation lies within 1e-6 * (|x| |w_j| + |b_j|) of the threshold (undecidable in
/// fp32), and every value agrees with fp64 within 1e-6 * (|v| + |x| |w_j| + |b_j|). For each
/// precision both the AVX-512 kernel (VNNI, BF16) and the portable scalar one are exercised.
final class ScreenedEncodeTests: XCTestCase {
    override func setUpWithError() throws {
        SAEEncoder.exactFP32 = false
        if ck_bf16_available() == 0 && ck_i8_available() == 0 && !name.contains("PathIsChosen") {
            throw XCTSkip("the CPU has neither AVX512_VNNI nor AVX512_BF16: the encoder takes the fp32 path")
        }
    }

    override func tearDown() {
        ck_bf16_force_scalar(0)
        ck_i8_force_scalar(0)
        ScreenPrecision.restriction = nil
        SAEEncoder.exactFP32 = ProcessInfo.processInfo.environment["SAESCOPE_EXACT_FP32"] == "1"
    }

    /// The kernels to run: the AVX-512 one and the portable scalar one.
    private let kernels: [Int32] = [0, 1]
    /// The precisions this CPU screens in.
    private var precisions: [ScreenPrecision] { [ScreenPrecision.int8, .bf16].filter(\.available) }

    /// Restricts the screen to `precision` and its kernel to the scalar one or not.
    private func use(_ precision: ScreenPrecision, scalar: Int32) {
        ScreenPrecision.restriction = precision
        ck_bf16_force_scalar(precision == .bf16 ? scalar : 0)
        ck_i8_force_scalar(precision == .int8 ? scalar : 0)
    }

    /// The conversion's rounding of a vector, as the proof defines it: bf16 round-to-nearest-even
    /// (subnormals flushed), or int8 with scale max|v|/127 and the nearest integers.
    private func rounded(_ v: [Float], _ precision: ScreenPrecision) -> [Float] {
        switch precision {
        case .bf16:
            return v.map { Float(bitPattern: UInt32(ck_bf16_round($0)) << 16) }
        case .int8:
            let scale = v.reduce(Float(0)) { max($0, abs($1)) } / 127
            guard scale > 0 else { return v.map { _ in 0 } }
            return v.map { Float(Double(scale) * Double(min(127, max(-127, ($0 / scale).rounded(.toNearestOrEven))))) }
        }
    }

    private func makeSAE(d: Int, f: Int, weights: [Float], bias: [Float], rule: ActivationRule) throws -> SparseAutoencoder {
        try SparseAutoencoder(
            inputDimension: d, featureCount: f, encoderWeights: weights, encoderBias: bias,
            decoderWeights: [Float](repeating: 0, count: f * d), decoderBias: [Float](repeating: 0, count: d),
            rule: rule, subtractsDecoderBias: false,
            provenance: DictionaryProvenance(library: "test", kind: "test", weightsPath: "test", configPath: nil))
    }

    /// Active lists of every row as dictionaries feature -> value.
    private func encode(_ sae: SparseAutoencoder, _ x: [Float], rows: Int, exact: Bool) -> (codes: [[Int32: Float]], stats: ScreenedEncodeStatistics, path: EncodePath) {
        SAEEncoder.exactFP32 = exact
        defer { SAEEncoder.exactFP32 = false }
        let encoder = SAEEncoder(sae: sae, maxRows: rows)
        x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: rows, reconstruct: false) }
        var codes: [[Int32: Float]] = []
        for r in 0..<rows {
            var row: [Int32: Float] = [:]
            let listed = encoder.activeRowStart[r]..<encoder.activeRowStart[r + 1]
            for e in listed { row[encoder.activeFeature[e]] = encoder.activeValue[e] }
            // Consumers (the index's per-feature lists, the CSR files) rely on ascending features.
            XCTAssert(zip(listed.dropLast(), listed.dropFirst()).allSatisfy { encoder.activeFeature[$0] < encoder.activeFeature[$1] },
                      "row \(r): features not ascending")
            codes.append(row)
        }
        // The dense codes agree with the lists.
        let dense = encoder.codes
        for r in 0..<rows {
            for j in 0..<sae.featureCount {
                let listed = codes[r][Int32(j)] ?? 0, value = dense[r * sae.featureCount + j]
                XCTAssert(value == listed || (value.isNaN && listed.isNaN), "dense code (\(r), \(j))")
            }
        }
        return (codes, encoder.screenedStatistics, encoder.path)
    }

    /// Checks `codes` against fp64 for every entry; returns how many entries were ties.
    @discardableResult
    private func checkAgainstReference(_ sae: SparseAutoencoder, _ x: [Float], rows: Int, _ codes: [[Int32: Float]],
                                       label: String, file: StaticString = #filePath, line: UInt = #line) -> Int {
        let d = sae.inputDimension, f = sae.featureCount
        var ties = 0
        for r in 0..<rows {
            let xNorm = (0..<d).reduce(0.0) { $0 + Double(x[r * d + $1]) * Double(x[r * d + $1]) }.squareRoot()
            var values = [Double](repeating: 0, count: f), scale = [Double](repeating: 0, count: f)
            for j in 0..<f {
                var p = 0.0, wNorm = 0.0
                for i in 0..<d {
                    let w = Double(sae.encoderWeights[i * f + j])
                    p += Double(x[r * d + i]) * w
                    wNorm += w * w
                }
                values[j] = p + Double(sae.encoderBias[j])
                scale[j] = xNorm * wNorm.squareRoot() + abs(Double(sae.encoderBias[j]))
            }
            var expected = Set<Int>(), undecided = Set<Int>()
            switch sae.rule {
            case .relu:
                for j in 0..<f {
                    if abs(values[j]) <= 1e-6 * scale[j] { undecided.insert(j) } else if values[j] > 0 { expected.insert(j) }
                }
            case .threshold(let thresholds):
                for j in 0..<f {
                    let floor = max(Double(thresholds[j]), 0)
                    if abs(values[j] - floor) <= 1e-6 * scale[j] { undecided.insert(j) } else if values[j] > floor { expected.insert(j) }
                }
            case .topK(let k):
                // Ranked by fp64 value; entries within the tolerance of the k-th (or of 0) are undecided.
                let order = (0..<f).sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
                let kth = k <= f ? values[order[k - 1]] : -Double.infinity
                for j in 0..<f {
                    let nearKth = abs(values[j] - kth) <= 2e-6 * max(scale[j], k <= f ? scale[order[k - 1]] : 0)
                    if nearKth || abs(values[j]) <= 1e-6 * scale[j] { undecided.insert(j) } else if values[j] > kth && values[j] > 0 { expected.insert(j) }
                }
            default:
                XCTFail("rule not covered")
            }
            ties += undecided.count
            let got = Set(codes[r].keys.map { Int($0) })
            let missing = expected.subtracting(got), extra = got.subtracting(expected).subtracting(undecided)
            XCTAssert(missing.isEmpty && extra.isEmpty, "\(label) row \(r): missing \(missing.sorted().prefix(5)), extra \(extra.sorted().prefix(5))",
                      file: file, line: line)
            for (j, v) in codes[r] {
                let j = Int(j)
                XCTAssertLessThanOrEqual(abs(Double(v) - values[j]), 1e-6 * (abs(values[j]) + scale[j]),
                                         "\(label) value (\(r), \(j))", file: file, line: line)
            }
        }
        return ties
    }

    /// Random shapes, scales and biases; some columns adversarial: w_j along row r's rounding
    /// residual x_r - x~_r (so the rounding error reaches its Cauchy-Schwarz bound e*||w||) with
    /// b_j placing row r's exact pre-activation just outside the tie band, above or below the
    /// threshold, or exactly on the screen's boundary s + B = cut.
    /// Some cases carry a residual stream's massive activations: a few dimensions hundreds of times
    /// the others in some rows (the int8 row scale then rounds the rest coarsely).
    private func randomCase(_ rng: inout SeededGenerator, rule ruleKind: Int, precision: ScreenPrecision) throws -> (SparseAutoencoder, [Float], Int) {
        let d = Int.random(in: 2...160, using: &rng), f = Int.random(in: 1...200, using: &rng), rows = Int.random(in: 1...40, using: &rng)
        let xScale = Float([1e-3, 1, 1e3].randomElement(using: &rng)!), wScale = Float([1e-2, 1, 10].randomElement(using: &rng)!)
        var x = rng.floats(rows * d).map { $0 * xScale }
        var w = rng.floats(d * f).map { $0 * wScale / Float(d).squareRoot() }
        var bias = rng.floats(f, in: -0.5...0.5).map { $0 * xScale * wScale }
        // A few exact zeros and values that round far in bf16.
        for _ in 0..<(rows * d / 10) { x[Int.random(in: 0..<x.count, using: &rng)] = 0 }
        if Bool.random(using: &rng) {
            let massive = (0..<min(d, 2)).map { _ in Int.random(in: 0..<d, using: &rng) }
            for r in 0..<rows where r % 3 == 0 { for i in massive { x[r * d + i] *= Float.random(in: 100...2000, using: &rng) } }
        }
        for j in 0..<f where j % 3 == 0 {
            let r = j % rows
            let row = Array(x[r * d..<(r + 1) * d]), roundedRow = rounded(row, precision)
            let residual = (0..<d).map { row[$0] - roundedRow[$0] }
            let norm = residual.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for i in 0..<d { w[i * f + j] = residual[i] / norm * wScale } }
            var p = 0.0, xNorm = 0.0, wNorm = 0.0
            for i in 0..<d {
                p += Double(x[r * d + i]) * Double(w[i * f + j])
                xNorm += Double(x[r * d + i]) * Double(x[r * d + i])
                wNorm += Double(w[i * f + j]) * Double(w[i * f + j])
            }
            let band = (xNorm * wNorm).squareRoot()
            let offset = [2e-6, -2e-6, 1e-4, -1e-4, 0.0][j / 3 % 5]
            bias[j] = Float(-p + offset * band)
        }
        let rule: ActivationRule
        switch ruleKind {
        case 0: rule = .relu
        case 1: rule = .threshold(rng.floats(f, in: 0...0.2).map { $0 * xScale * wScale })
        default: rule = .topK(Int.random(in: 1...max(1, min(f, 40)), using: &rng))
        }
        return (try makeSAE(d: d, f: f, weights: w, bias: bias, rule: rule), x, rows)
    }

    func testScreenedCodesEqualTheReferenceOnRandomAndAdversarialShapes() throws {
        var rng = SeededGenerator(seed: 21)
        var screenedChunks = 0
        // Every chunk screened, however many candidates (dense chunks test the screen hardest).
        let savedFraction = ScreenedChunk.fallbackFraction
        ScreenedChunk.fallbackFraction = 1
        defer { ScreenedChunk.fallbackFraction = savedFraction }
        for trial in 0..<60 {
            for precision in precisions {
                let (sae, x, rows) = try randomCase(&rng, rule: trial % 3, precision: precision)
                for kernel in kernels {
                    use(precision, scalar: kernel)
                    let screened = encode(sae, x, rows: rows, exact: false)
                    XCTAssertEqual(screened.path, .screened(precision))
                    XCTAssertEqual(precision == .int8 ? screened.stats.int8Chunks : screened.stats.bf16Chunks, 1)
                    screenedChunks += screened.stats.screenedChunks
                    checkAgainstReference(sae, x, rows: rows, screened.codes,
                                          label: "trial \(trial) \(precision) \(sae.rule.summary) scalar=\(kernel)")
                }
                let fp32 = encode(sae, x, rows: rows, exact: true)
                XCTAssertEqual(fp32.path, .fp32(reason: "--exact-fp32"))
                checkAgainstReference(sae, x, rows: rows, fp32.codes, label: "trial \(trial) fp32 path")
            }
        }
        XCTAssertEqual(screenedChunks, 60 * kernels.count * precisions.count)
    }

    /// Without any tie band: on well-separated random data the screened and fp32 paths list the
    /// very same features, and values within a few ulps.
    func testScreenedAndFP32PathsListTheSameCodes() throws {
        var rng = SeededGenerator(seed: 5)
        let d = 384, f = 640, rows = 300  // three of the kernel's row blocks at this D
        let x = rng.floats(rows * d)
        let w = rng.floats(d * f).map { $0 / Float(d).squareRoot() }
        for precision in precisions {
        for rule: ActivationRule in [.relu, .threshold([Float](repeating: 0.4, count: f)), .topK(16)] {
            ScreenPrecision.restriction = precision
            let sae = try makeSAE(d: d, f: f, weights: w, bias: rng.floats(f, in: -1.2...(-0.8)), rule: rule)
            let screened = encode(sae, x, rows: rows, exact: false), fp32 = encode(sae, x, rows: rows, exact: true)
            XCTAssertEqual(screened.stats.screenedChunks, 1)
            XCTAssertEqual(screened.stats.fallbackChunks, 0)
            XCTAssertLessThan(screened.stats.candidateFractions[0], 0.5)
            for r in 0..<rows {
                XCTAssertEqual(Set(screened.codes[r].keys), Set(fp32.codes[r].keys), "\(rule.summary) row \(r)")
                for (j, v) in screened.codes[r] {
                    let reference = fp32.codes[r][j] ?? 0
                    XCTAssertLessThanOrEqual(abs(v - reference), 4e-6 * max(abs(reference), 1), "\(precision) \(rule.summary) (\(r), \(j))")
                }
            }
        }
        }
    }

    /// Enough rows for several of the multiply's row blocks and enough candidates (about half the
    /// entries) for the batched fp32 recomputation to run many times within one chunk: the codes
    /// still equal the fp32 path's, each row's features ascending, with both kernels.
    func testBatchedRecomputationAcrossRowBlocksMatchesTheFP32Path() throws {
        var rng = SeededGenerator(seed: 33)
        let d = 384, f = 200, rows = 1500  // 222-row (bf16) and 270-row (int8) blocks at this D; 4 panels, the last partial
        let x = rng.floats(rows * d)
        let w = rng.floats(d * f).map { $0 / Float(d).squareRoot() }
        let sae = try makeSAE(d: d, f: f, weights: w, bias: rng.floats(f, in: -0.1...0.1), rule: .relu)
        let savedFraction = ScreenedChunk.fallbackFraction
        ScreenedChunk.fallbackFraction = 1
        defer { ScreenedChunk.fallbackFraction = savedFraction }
        let fp32 = encode(sae, x, rows: rows, exact: true)
        for precision in precisions {
        for kernel in kernels {
            use(precision, scalar: kernel)
            let screened = encode(sae, x, rows: rows, exact: false)
            XCTAssertEqual(screened.stats.screenedChunks, 1)
            XCTAssertGreaterThan(screened.stats.candidateFractions[0] * Double(rows * f), 4 * 32768, "candidates for several batches")
            for r in 0..<rows {
                // Entries this close to the threshold may fall either way (summation order).
                let decided = { (codes: [Int32: Float]) in Set(codes.filter { abs($0.value) > 1e-5 }.keys) }
                XCTAssertEqual(decided(screened.codes[r]), decided(fp32.codes[r]), "scalar=\(kernel) row \(r)")
                for (j, v) in screened.codes[r] {
                    guard let reference = fp32.codes[r][j] else { continue }
                    XCTAssertLessThanOrEqual(abs(v - reference), 4e-6 * max(abs(reference), 1), "scalar=\(kernel) (\(r), \(j))")
                }
            }
        }
        }
    }

    /// The AVX-512 weight packing (bands of inputs across every panel) writes the very bits of the
    /// scalar one: the bf16 copy, its padding and the three norms of every feature, for odd D, a
    /// partial last panel, zeros and values that round to bf16 subnormals (flushed).
    func testVectorAndScalarWeightPackingAgreeBitForBit() throws {
        var rng = SeededGenerator(seed: 12)
        for (d, f) in [(1, 64), (7, 200), (67, 130), (384, 640)] {
            var w = rng.floats(d * f)
            for i in stride(from: 0, to: w.count, by: 11) { w[i] *= 1e-38 }
            for i in stride(from: 5, to: w.count, by: 13) { w[i] = 0 }
            let count = ck_bf16_packed_count(d, f), panels = (f + 63) / 64
            func pack(scalar: Int32) -> ([UInt16], [Double]) {
                ck_bf16_force_scalar(scalar)
                defer { ck_bf16_force_scalar(0) }
                var packed = [UInt16](repeating: 0xabcd, count: count), norms = [Double](repeating: -1, count: 3 * f)
                ck_bf16_pack_weights(w, d, f, 0, panels, &packed, &norms)
                return (packed, norms)
            }
            let vector = pack(scalar: 0), scalar = pack(scalar: 1)
            XCTAssertEqual(vector.0, scalar.0, "packed D=\(d) F=\(f)")
            XCTAssertEqual(vector.1.map(\.bitPattern), scalar.1.map(\.bitPattern), "norms D=\(d) F=\(f)")
            XCTAssertFalse(scalar.1.contains(-1))
        }
    }

    func testChunksWithTooManyCandidatesOrNonFiniteInputsTakeTheFP32Path() throws {
        var rng = SeededGenerator(seed: 9)
        let d = 64, f = 256, rows = 12
        var x = rng.floats(rows * d)
        let w = rng.floats(d * f).map { $0 / 8 }
        // A bias that makes almost every entry active: every entry a candidate.
        let sae = try makeSAE(d: d, f: f, weights: w, bias: [Float](repeating: 5, count: f), rule: .relu)
        let dense = encode(sae, x, rows: rows, exact: false)
        XCTAssertEqual(dense.stats.fallbackChunks, 1)
        XCTAssertEqual(dense.stats.screenedChunks, 0)
        // int8 first where the CPU has both, abandoned, then bf16, abandoned too.
        let screens = precisions.count
        XCTAssertEqual(dense.stats.int8Abandoned, screens == 2 ? 1 : 0)
        XCTAssertEqual(dense.stats.candidateFractions.count, screens)
        XCTAssertGreaterThan(dense.stats.candidateFractions.last!, ScreenedChunk.fallbackFraction)
        if screens == 2 { XCTAssertGreaterThan(dense.stats.candidateFractions[0], ScreenedChunk.int8RetryFraction) }
        checkAgainstReference(sae, x, rows: rows, dense.codes, label: "dense chunk")
        // A NaN token: the fp32 path's NaN codes, not a screen.
        let sparse = try makeSAE(d: d, f: f, weights: w, bias: [Float](repeating: -1, count: f), rule: .relu)
        x[3] = .nan
        let nan = encode(sparse, x, rows: rows, exact: false)
        XCTAssertEqual(nan.stats.fallbackChunks, 1)
        XCTAssertTrue(nan.codes[0].values.contains { $0.isNaN })
    }

    /// A residual stream's massive activations (two dimensions 100x the rest in every token, the
    /// encoder's weights on them 100x smaller): int8's per-row scale rounds the other dimensions so
    /// coarsely that its screen gives up, the chunk is retried in bf16 (few candidates there) with
    /// the codes of the reference, and the encoder's later chunks start in bf16.
    func testAnInt8ChunkWithTooManyCandidatesIsRetriedInBF16() throws {
        guard ck_i8_available() != 0 && ck_bf16_available() != 0 else { throw XCTSkip("needs both AVX512_VNNI and AVX512_BF16") }
        var rng = SeededGenerator(seed: 41)
        let d = 384, f = 256, rows = 60
        var x = rng.floats(rows * d), w = rng.floats(d * f).map { $0 / Float(d).squareRoot() }
        for r in 0..<rows { x[r * d + 7] *= 100; x[r * d + 100] *= 100 }
        for j in 0..<f { w[7 * f + j] /= 100; w[100 * f + j] /= 100 }
        // Pre-activations about 0.33 * N(0, 1) (uniform inputs and weights): about 2% active.
        let sae = try makeSAE(d: d, f: f, weights: w, bias: [Float](repeating: -0.7, count: f), rule: .relu)
        SAEEncoder.exactFP32 = false
        let encoder = SAEEncoder(sae: sae, maxRows: rows)
        XCTAssertEqual(encoder.path, .screened(.int8))
        for round in 0..<2 {
            x.withUnsafeBufferPointer { encoder.run($0.baseAddress!, rows: rows, reconstruct: false) }
            var codes: [[Int32: Float]] = []
            for r in 0..<rows {
                var row: [Int32: Float] = [:]
                for e in encoder.activeRowStart[r]..<encoder.activeRowStart[r + 1] { row[encoder.activeFeature[e]] = encoder.activeValue[e] }
                codes.append(row)
            }
            checkAgainstReference(sae, x, rows: rows, codes, label: "round \(round)")
        }
        let stats = encoder.screenedStatistics
        XCTAssertEqual(stats.int8Abandoned, 1)
        XCTAssertEqual(stats.int8Chunks, 0)
        XCTAssertEqual(stats.bf16Chunks, 2)
        XCTAssertEqual(stats.fallbackChunks, 0)
        // The abandoned int8 screen, then bf16 twice (the second chunk did not try int8 again).
        XCTAssertEqual(stats.candidateFractions.count, 3)
        XCTAssertGreaterThan(stats.candidateFractions[0], ScreenedChunk.int8RetryFraction)
        XCTAssertLessThan(stats.candidateFractions[1], ScreenedChunk.int8RetryFraction)
    }

    func testThePathIsChosenByRuleCPUAndSetting() throws {
        let d = 4, f = 8
        let w = [Float](repeating: 0.1, count: d * f), b = [Float](repeating: 0, count: f)
        let relu = try makeSAE(d: d, f: f, weights: w, bias: b, rule: .relu)
        let expected: EncodePath = ck_i8_available() != 0 ? .screened(.int8) : ck_bf16_available() != 0 ? .screened(.bf16)
            : .fp32(reason: "the CPU has neither AVX512_VNNI nor AVX512_BF16")
        XCTAssertEqual(EncodePath.chosen(for: relu), expected)
        let topK = try makeSAE(d: d, f: f, weights: w, bias: b, rule: .topK(2))
        if ck_bf16_available() != 0 { XCTAssertEqual(EncodePath.chosen(for: topK), .screened(.bf16)) }
        ScreenPrecision.restriction = .bf16
        XCTAssertEqual(EncodePath.chosen(for: relu), ck_bf16_available() != 0 ? .screened(.bf16)
            : .fp32(reason: "SAESCOPE_SCREEN_PRECISION=bf16 and the CPU has no AVX512_BF16"))
        ScreenPrecision.restriction = nil
        let gated = try makeSAE(d: d, f: f, weights: w, bias: b, rule: .gated(gateBias: b, magnitudeScale: b, magnitudeBias: b))
        if !precisions.isEmpty {
            XCTAssertEqual(EncodePath.chosen(for: gated), .fp32(reason: "no screen for the \(gated.rule.summary) rule"))
        }
        SAEEncoder.exactFP32 = true
        XCTAssertEqual(EncodePath.chosen(for: relu), .fp32(reason: "--exact-fp32"))
        var nonFinite = w
        nonFinite[3] = .infinity
        SAEEncoder.exactFP32 = false
        if !precisions.isEmpty {
            XCTAssertEqual(EncodePath.chosen(for: try makeSAE(d: d, f: f, weights: nonFinite, bias: b, rule: .relu)),
                           .fp32(reason: "encoder weights or biases not finite"))
        }
    }

    // MARK: The int8 kernels

    /// The int8 products are the exact integer sums of the stored bytes, rounded twice as the proof
    /// says (s = fl(fl(a*t) * fl(P))): computed here from the bytes in Int and compared bit for bit,
    /// for the VNNI tile and the scalar one, odd D (padding), a partial panel, zero rows and columns,
    /// integers at +-127 (a row of equal magnitudes) and tiny scales.
    func testInt8ProductsAreTheExactIntegerSumsRoundedTwice() throws {
        var rng = SeededGenerator(seed: 77)
        for (d, f, rows) in [(1, 64, 6), (7, 70, 13), (130, 129, 7), (384, 192, 20)] {
            var x = rng.floats(rows * d), w = rng.floats(d * f)
            for i in 0..<d { x[i] = i % 2 == 0 ? 3 : -3 }  // row 0: every q at +-127
            if rows > 2 { for i in 0..<d { x[2 * d + i] = 0 } }
            for i in 0..<d { w[i * f + 1] = 0; w[i * f + 2] *= 1e-30 }
            let panels = (f + 63) / 64, quads = (d + 3) / 4, paddedRows = (rows + 5) / 6 * 6
            var transposed = [Float](repeating: 0, count: f * d)
            ck_transpose(w, d, f, 0, f, &transposed)
            var packed = [Int8](repeating: 0, count: ck_i8_packed_count(d, f))
            var columnScale = [Float](repeating: 0, count: panels * 64), correction = [Int32](repeating: 0, count: panels * 64)
            var weightNorms = [Double](repeating: 0, count: 3 * panels * 64)
            ck_i8_pack_weights(transposed, d, f, 0, panels, &packed, &columnScale, &correction, &weightNorms)
            for kernel in kernels {
                ck_i8_force_scalar(kernel)
                var bytes = [UInt8](repeating: 0, count: paddedRows * quads * 4), rowScale = [Float](repeating: 0, count: paddedRows)
                var rowNorms = [Double](repeating: 0, count: 2 * rows)
                ck_i8_convert_rows(x, d, 0, rows, &bytes, &rowScale, &rowNorms)
                var products = [Float](repeating: .nan, count: rows * f)
                ck_i8_multiply(bytes, rowScale, packed, columnScale, correction, rows, d, f, 0, f, &products, f)
                for r in 0..<rows {
                    XCTAssertEqual(rowScale[r], x[r * d..<(r + 1) * d].reduce(Float(0)) { max($0, abs($1)) } / 127)
                    var residual = 0.0, roundedNorm = 0.0
                    for i in 0..<d {
                        let q = Int(bytes[r * quads * 4 + i]) - 128, v = Double(rowScale[r]) * Double(q)
                        XCTAssert(abs(q) <= 127)
                        residual += (Double(x[r * d + i]) - v) * (Double(x[r * d + i]) - v)
                        roundedNorm += v * v
                    }
                    XCTAssertEqual(rowNorms[2 * r], residual.squareRoot(), accuracy: 1e-12 * max(1, residual.squareRoot()))
                    XCTAssertEqual(rowNorms[2 * r + 1], roundedNorm.squareRoot(), accuracy: 1e-12 * max(1, roundedNorm.squareRoot()))
                    if r == 0 { XCTAssert((0..<d).allSatisfy { abs(Int(bytes[$0]) - 128) == 127 }) }
                    for j in 0..<f {
                        var p = 0
                        for i in 0..<d { p += (Int(bytes[r * quads * 4 + i]) - 128) * Int(packed[(i / 4) * 256 + (j / 64) * quads * 256 + (j % 64) * 4 + i % 4]) }
                        let expected = (rowScale[r] * columnScale[j]) * Float(p)
                        XCTAssertEqual(products[r * f + j].bitPattern, expected.bitPattern, "D=\(d) scalar=\(kernel) (\(r), \(j)): \(products[r * f + j]) vs \(expected)")
                    }
                }
            }
            // The packed integers: the nearest to w / t within [-127, 127], t = max|w_j| / 127.
            for j in 0..<f {
                let column = (0..<d).map { w[$0 * f + j] }
                XCTAssertEqual(columnScale[j], column.reduce(Float(0)) { max($0, abs($1)) } / 127)
                let expected = rounded(column, .int8)
                var sum = 0
                for i in 0..<d {
                    let k = Int(packed[(i / 4) * 256 + (j / 64) * quads * 256 + (j % 64) * 4 + i % 4])
                    sum += k
                    XCTAssertEqual(Float(Double(columnScale[j]) * Double(k)), expected[i], "w~ (\(i), \(j))")
                }
                XCTAssertEqual(Int(correction[j]), 128 * sum)
            }
        }
    }
}
