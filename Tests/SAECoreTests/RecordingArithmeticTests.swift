import XCTest
@testable import SAECore

/// The index pass's shortcuts against the arithmetic they replace, which must stay bit-identical
/// so an index is the same file before and after: the bin of a value by a precomputed reciprocal
/// against the division, float16 decoding in integer operations against Swift's Float16 (the
/// runtime's __extendhfsf2), and interval sampling with a cached per-cell ceiling against the scan.
final class RecordingArithmeticTests: XCTestCase {
    private let binCounts = [2, 4, 6, 10, 50, 64, 100, 998, 1000, 10_000]

    /// Values at and around every bin edge of [0, 2^e), the ends of the range, subnormals and
    /// powers of two far below it, for every exponent a finite float can have (and 2^128).
    func testBinScaleEqualsDivisionAtEdges() {
        var compared = 0
        for e in Int32(-148)...Int32(129) {
            let upper = rangeUpperBound(exponent: e)
            let scale = BinScale(exponent: e)
            XCTAssertEqual(scale.upper.bitPattern, upper.bitPattern)
            for bins in binCounts {
                var values: [Float] = [0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                                       upper.nextDown, upper, upper.nextUp, -upper.nextDown, 1, 0.5, 3]
                for p in stride(from: -149, through: 127, by: 7) { values.append(Float(sign: .plus, exponent: p, significand: 1)) }
                let edgeCount = min(bins, 120)
                for i in 0...edgeCount {
                    let edge = Float(Double(i) / Double(bins)) * upper
                    values += [edge, edge.nextUp, edge.nextDown, edge.nextUp.nextUp, edge.nextDown.nextDown]
                    let exactEdge = Float(Double(i) * Double(upper) / Double(bins))
                    values += [exactEdge, exactEdge.nextUp, exactEdge.nextDown]
                }
                // The pass only bins values below the range (beyond it the quotient may not fit an Int).
                for value in values where value.isFinite && abs(value) < 2 * upper {
                    let expected = binIndex(of: value, exponent: e, bins: bins)
                    XCTAssertEqual(scale.index(of: value, bins: bins), expected, "value \(value) exponent \(e) bins \(bins)")
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 100_000)
    }

    /// Random floats below each range, all exponents: same bin as the division.
    func testBinScaleEqualsDivisionOnRandomValues() {
        var state: UInt64 = 0x1234_5678
        for e in Int32(-148)...Int32(128) {
            let scale = BinScale(exponent: e)
            for _ in 0..<400 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                // A float in [0, 1) of any magnitude (exponent field below 127), scaled to the range.
                let bits = UInt32(truncatingIfNeeded: state >> 32) % (0x7E << 23 | 0x7F_FFFF)
                let value = Float(bitPattern: bits) * scale.upper
                guard value.isFinite else { continue }
                for bins in [10, 50] {
                    XCTAssertEqual(scale.index(of: value, bins: bins), binIndex(of: value, exponent: e, bins: bins), "value \(value) exponent \(e)")
                }
            }
        }
    }

    /// Every float16 bit pattern decodes to the same float32 bits as Swift's Float16 conversion.
    func testHalfDecodingEqualsFloat16ForAllBitPatterns() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = floatFromHalf(bits: bits)
            if got.bitPattern != expected.bitPattern {
                mismatches += 1
                if mismatches < 5 { XCTFail("half 0x\(String(bits, radix: 16)): \(got) vs \(expected)") }
            }
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertEqual(floatFromHalf(bits: 0x3C00), 1)
        XCTAssertEqual(floatFromHalf(bits: 0x0001), 0x1p-24)
        XCTAssertEqual(floatFromHalf(bits: 0xFC00), -.infinity)
    }

    /// Two BinnedCells fed the same stream of values (with range doublings in between), one with
    /// the cached per-cell ceiling and one scanning: every table ends equal.
    func testIntervalCeilingKeepsTheSameSamples() {
        let f = 3, bins = 8, intervals = 4, m = 3, w = 1
        let histogram = (0..<2).map { _ in UnsafeMutablePointer<Int64>.allocate(capacity: f * bins) }
        let intervalCount = (0..<2).map { _ in UnsafeMutablePointer<Int64>.allocate(capacity: f * intervals) }
        let sampleCount = (0..<2).map { _ in UnsafeMutablePointer<Int32>.allocate(capacity: f * intervals) }
        let sampleKey = (0..<2).map { _ in UnsafeMutablePointer<UInt64>.allocate(capacity: f * intervals * m) }
        let sampleRow = (0..<2).map { _ in UnsafeMutablePointer<Int64>.allocate(capacity: f * intervals * m) }
        let sampleValue = (0..<2).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: f * intervals * m) }
        let sampleContext = (0..<2).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: f * intervals * m * w) }
        let ceiling = UnsafeMutablePointer<UInt64>.allocate(capacity: f * intervals)
        ceiling.initialize(repeating: .max, count: f * intervals)
        defer {
            for i in 0..<2 {
                histogram[i].deallocate(); intervalCount[i].deallocate(); sampleCount[i].deallocate(); sampleKey[i].deallocate()
                sampleRow[i].deallocate(); sampleValue[i].deallocate(); sampleContext[i].deallocate()
            }
            ceiling.deallocate()
        }
        let cells = (0..<2).map { i in
            histogram[i].initialize(repeating: 0, count: f * bins)
            intervalCount[i].initialize(repeating: 0, count: f * intervals)
            sampleCount[i].initialize(repeating: 0, count: f * intervals)
            sampleKey[i].initialize(repeating: 0, count: f * intervals * m)
            sampleRow[i].initialize(repeating: -1, count: f * intervals * m)
            sampleValue[i].initialize(repeating: 0, count: f * intervals * m)
            sampleContext[i].initialize(repeating: .nan, count: f * intervals * m * w)
            return BinnedCells(
                bins: bins, intervals: intervals, perInterval: m, width: w, seed: 7,
                histogram: histogram[i], intervalCount: intervalCount[i], sampleCount: sampleCount[i], sampleKey: sampleKey[i],
                sampleRow: sampleRow[i], sampleValue: sampleValue[i], sampleContext: sampleContext[i], sampleTokens: nil,
                sampleCeiling: i == 0 ? ceiling : nil)
        }
        var exponent = [Int32](repeating: -2, count: f)
        var state: UInt64 = 99
        var kept = 0
        for row in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let j = Int(state >> 60) % f
            // Mostly within the range; now and then a value that doubles it.
            let u = Float(state >> 40 & 0xFFFF) / 65536
            let value = (row % 997 == 0 ? 1.9 : 0.999) * u * rangeUpperBound(exponent: exponent[j])
            while value >= rangeUpperBound(exponent: exponent[j]) {
                exponent[j] += 1
                cells[0].coarsen(feature: j)
                cells[1].coarsen(feature: j)
            }
            let scale = BinScale(exponent: exponent[j])
            let a = cells[0].add(feature: j, value: value, scale: scale, row: row)
            let b = cells[1].add(feature: j, value: value, scale: scale, row: row)
            XCTAssertEqual(a.map { $0 - sampleContext[0] }, b.map { $0 - sampleContext[1] }, "row \(row)")
            if let a, let b { a.pointee = Float(row); b.pointee = Float(row); kept += 1 }
        }
        XCTAssertGreaterThan(kept, 3 * f * intervals)
        XCTAssertTrue(exponent.allSatisfy { $0 > -2 }, "the stream must double every feature's range")
        func array<T>(_ p: UnsafeMutablePointer<T>, _ n: Int) -> [T] { Array(UnsafeBufferPointer(start: p, count: n)) }
        XCTAssertEqual(array(histogram[0], f * bins), array(histogram[1], f * bins))
        XCTAssertEqual(array(intervalCount[0], f * intervals), array(intervalCount[1], f * intervals))
        XCTAssertEqual(array(sampleCount[0], f * intervals), array(sampleCount[1], f * intervals))
        XCTAssertEqual(array(sampleKey[0], f * intervals * m), array(sampleKey[1], f * intervals * m))
        XCTAssertEqual(array(sampleRow[0], f * intervals * m), array(sampleRow[1], f * intervals * m))
        XCTAssertEqual(array(sampleContext[0], f * intervals * m).map(\.bitPattern), array(sampleContext[1], f * intervals * m).map(\.bitPattern))
    }
}
