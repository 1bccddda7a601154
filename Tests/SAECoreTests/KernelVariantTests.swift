import CKernels
import XCTest
@testable import SAECore

/// Every instruction-set variant of the C kernels against plain Swift loops of the same
/// definition, bit for bit (the kernels promise the same roundings in the same order), on
/// random sizes with tails that are not multiples of 8 or 16, and edge values.
final class KernelVariantTests: XCTestCase {
    /// The variants this CPU can run (0 scalar, 1 AVX2, 2 AVX-512).
    private var levels: [Int32] {
        ck_force_level(-1)
        return Array(0...ck_level())
    }

    override func tearDown() { ck_force_level(-1) }

    private func forEachLevel(_ body: (Int32) throws -> Void) rethrows {
        for level in levels {
            ck_force_level(level)
            XCTAssertEqual(ck_level(), level)
            try body(level)
        }
        ck_force_level(-1)
    }

    private let sizes = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 385, 3077]

    /// Random values with some exact edge cases: zeros of both signs, values equal to the floor,
    /// tiny and huge magnitudes, subnormals.
    private func edgyFloats(_ count: Int, _ rng: inout SeededGenerator, floor: [Float]? = nil) -> [Float] {
        (0..<count).map { j in
            switch rng.next() % 10 {
            case 0: return 0
            case 1: return -0.0
            case 2: return floor?[j] ?? 1
            case 3: return Float.leastNonzeroMagnitude * (rng.next() % 2 == 0 ? 1 : -1)
            case 4: return Float.greatestFiniteMagnitude / 4 * (rng.next() % 2 == 0 ? 1 : -1)
            default: return Float.random(in: -2...2, using: &rng)
            }
        }
    }

    func testScanRowMatchesTheRuleOnEveryVariant() {
        var rng = SeededGenerator(seed: 5)
        for f in sizes {
            let floor = rng.floats(f, in: -0.5...0.5), bias = edgyFloats(f, &rng)
            var pre = edgyFloats(f, &rng, floor: floor)
            if f > 4 { pre[f - 1] = .nan; pre[f / 2] = .infinity }  // NaN kept by ReLU only; +inf kept by both
            for addsBias in [false, true] {
                for keepsNaN in [false, true] {
                    var expected: [(Int32, UInt32)] = []
                    for j in 0..<f {
                        let value = addsBias ? pre[j] + bias[j] : pre[j]
                        if keepsNaN ? !(value <= floor[j]) : value > floor[j] { expected.append((Int32(j), (pre[j] + bias[j]).bitPattern)) }
                    }
                    forEachLevel { level in
                        var features = [Int32](repeating: -1, count: f), values = [Float](repeating: 0, count: f)
                        let n = ck_scan_row(pre, bias, floor, f, addsBias ? 1 : 0, keepsNaN ? 1 : 0, &features, &values)
                        XCTAssertEqual(n, expected.count, "f=\(f) level \(level) bias \(addsBias) nan \(keepsNaN)")
                        XCTAssertEqual(Array(features[0..<min(n, f)]), expected.map(\.0), "f=\(f) level \(level)")
                        XCTAssertEqual(values[0..<min(n, f)].map(\.bitPattern), expected.map(\.1), "f=\(f) level \(level)")
                    }
                }
            }
        }
    }

    func testAccumulateRowsAddsEachTermInEntryOrderOnEveryVariant() {
        var rng = SeededGenerator(seed: 6)
        for d in sizes where d < 1000 {
            let features = 23
            let weights = edgyFloats(features * d, &rng).map { $0 / 1e30 }  // huge values scaled to stay finite in sums
            for count in [0, 1, 3, 7, 8, 9, 16, 17, 23] {
                let chosen = (0..<count).map { _ in Int32(rng.next() % UInt64(features)) }
                let values = rng.floats(count, in: -3...3)
                let start = rng.floats(d)
                var expected = start
                for e in 0..<count {
                    for i in 0..<d { expected[i] = expected[i] + values[e] * weights[Int(chosen[e]) * d + i] }
                }
                forEachLevel { level in
                    var target = start
                    target.withUnsafeMutableBufferPointer { ck_accumulate_rows($0.baseAddress!, $0.baseAddress!, d, chosen, values, count, weights) }
                    XCTAssertEqual(target.map(\.bitPattern), expected.map(\.bitPattern), "in place: d=\(d) count=\(count) level \(level)")
                    // From a separate start (the decoder bias): the target's old contents do not matter.
                    var fresh = [Float](repeating: .nan, count: d)
                    ck_accumulate_rows(&fresh, start, d, chosen, values, count, weights)
                    XCTAssertEqual(fresh.map(\.bitPattern), expected.map(\.bitPattern), "from start: d=\(d) count=\(count) level \(level)")
                }
            }
        }
    }

    func testAllFiniteFindsEveryNonFiniteValue() {
        var rng = SeededGenerator(seed: 7)
        for n in sizes {
            let finite = edgyFloats(n, &rng)
            forEachLevel { level in
                XCTAssertEqual(ck_all_finite(finite, n), 1, "n=\(n) level \(level)")
                for position in Set([0, n / 2, n - 1]) {
                    for bad in [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7fc0_0001)] {
                        var values = finite
                        values[position] = bad
                        XCTAssertEqual(ck_all_finite(values, n), 0, "n=\(n) at \(position) level \(level)")
                    }
                }
            }
        }
        XCTAssertEqual(ck_all_finite(nil, 0), 1)
    }

    func testMetricSumsMatchOneLoopOverTheRowsOnEveryVariant() {
        var rng = SeededGenerator(seed: 8)
        for d in [1, 7, 8, 9, 17, 33, 41, 57, 100, 385] {
            let rows = Int(rng.next() % 70) + 1
            let x = edgyFloats(rows * d, &rng).map { $0 / 1e20 }, y = rng.floats(rows * d, in: -3...3)
            // The reference: the loops the Swift accumulator ran before the kernels.
            var rowSums = [Double](), xSum = [Double](repeating: 0, count: d), rSum = [Double](repeating: 0, count: d)
            for row in 0..<rows {
                var e = 0.0, xx = 0.0, yy = 0.0, xy = 0.0
                for i in 0..<d {
                    let a = Double(x[row * d + i]), b = Double(y[row * d + i]), r = a - b
                    xSum[i] += a
                    rSum[i] += r
                    e += r * r; xx += a * a; yy += b * b; xy += a * b
                }
                rowSums += [e, xx, yy, xy]
            }
            let xMean = xSum.map { $0 / Double(rows) }, rMean = rSum.map { $0 / Double(rows) }
            var xM2 = [Double](repeating: 0, count: d), rM2 = [Double](repeating: 0, count: d)
            for row in 0..<rows {
                for i in 0..<d {
                    let a = Double(x[row * d + i])
                    let deviation = a - xMean[i], residual = (a - Double(y[row * d + i])) - rMean[i]
                    xM2[i] += deviation * deviation
                    rM2[i] += residual * residual
                }
            }
            forEachLevel { level in
                var sums = [Double](repeating: 0, count: 4 * rows)
                for row in 0..<rows {
                    sums.withUnsafeMutableBufferPointer { ck_row_sums(Array(x[row * d..<(row + 1) * d]), Array(y[row * d..<(row + 1) * d]), d, $0.baseAddress! + 4 * row) }
                }
                XCTAssertEqual(sums.map(\.bitPattern), rowSums.map(\.bitPattern), "row sums d=\(d) level \(level)")
                // Columns in two uneven parts, as the accumulator splits them across cores.
                // Outputs hold garbage first: the kernel writes them, it does not add to them.
                var gotXMean = [Double](repeating: .nan, count: d), gotRMean = [Double](repeating: .nan, count: d)
                var gotXM2 = [Double](repeating: 1, count: d), gotRM2 = [Double](repeating: 2, count: d)
                for (lo, hi) in [(0, d / 3), (d / 3, d)] {
                    ck_column_moments(x, y, rows, d, lo, hi, &gotXMean, &gotRMean, &gotXM2, &gotRM2)
                }
                XCTAssertEqual(gotXMean.map(\.bitPattern), xMean.map(\.bitPattern), "x means d=\(d) level \(level)")
                XCTAssertEqual(gotRMean.map(\.bitPattern), rMean.map(\.bitPattern), "residual means d=\(d) level \(level)")
                XCTAssertEqual(gotXM2.map(\.bitPattern), xM2.map(\.bitPattern), "x m2 d=\(d) level \(level)")
                XCTAssertEqual(gotRM2.map(\.bitPattern), rM2.map(\.bitPattern), "residual m2 d=\(d) level \(level)")
            }
        }
    }

    /// The whole encoder and the metrics give the same bits whichever variant runs (JumpReLU and
    /// ReLU take the scan; D and F with tails).
    func testEncoderAndMetricsAreIdenticalAcrossVariants() throws {
        var rng = SeededGenerator(seed: 9)
        let d = 37, f = 203, rows = 150
        for rule in [ActivationRule.relu, .threshold(rng.floats(f, in: 0...0.3))] {
            let sae = try SparseAutoencoder(
                inputDimension: d, featureCount: f, encoderWeights: rng.floats(d * f), encoderBias: rng.floats(f, in: -1...0),
                decoderWeights: rng.floats(f * d), decoderBias: rng.floats(d, in: -0.5...0.5), rule: rule, subtractsDecoderBias: true,
                provenance: DictionaryProvenance(library: "test", kind: "test", weightsPath: "test", configPath: nil))
            let x = rng.floats(rows * d, in: -2...2)
            var outcomes: [[UInt64]] = []
            forEachLevel { _ in
                let encoder = SAEEncoder(sae: sae, maxRows: rows)
                var metrics = MetricsAccumulator(inputDimension: d, featureCount: f)
                x.withUnsafeBufferPointer { x in
                    encoder.run(x.baseAddress!, rows: rows, reconstruct: true)
                    encoder.withActiveCodes(fromRow: 0) { metrics.add(x: x.baseAddress!, reconstruction: encoder.reconstruction.baseAddress!, activeCodes: $0, rows: rows) }
                }
                let result = metrics.result()
                outcomes.append(encoder.activeFeature.map { UInt64(bitPattern: Int64($0)) } + encoder.activeValue.map { UInt64($0.bitPattern) }
                                + encoder.reconstruction.map { UInt64($0.bitPattern) }
                                + [result.mse, result.explainedVariance, result.cosSim, result.l2Ratio, result.l1].map(\.bitPattern))
            }
            XCTAssertGreaterThan(outcomes[0].count, rows * d)
            for outcome in outcomes.dropFirst() { XCTAssertEqual(outcome, outcomes[0]) }
        }
    }
}
