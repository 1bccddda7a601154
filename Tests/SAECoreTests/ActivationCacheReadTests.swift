import XCTest
@testable import SAECore

/// `readRows` splits large reads across the cores: the result must equal row-by-row reads.
final class ActivationCacheReadTests: XCTestCase {
    func testLargeReadsEqualRowByRowReads() throws {
        let rows = 3001, d = 175  // 525,175 values: above the split threshold, odd row counts per part
        let cache = try SyntheticWorkload.cache(rows: rows, dimension: d)
        for range in [0..<rows, 17..<rows, 1..<2999] {
            var whole = [Float](repeating: .nan, count: range.count * d)
            whole.withUnsafeMutableBufferPointer { cache.readRows(range, into: $0.baseAddress!) }
            var single = [Float](repeating: .nan, count: d)
            for row in range {
                single.withUnsafeMutableBufferPointer { cache.readRows(row..<row + 1, into: $0.baseAddress!) }
                let offset = (row - range.lowerBound) * d
                XCTAssertEqual(Array(whole[offset..<offset + d]), single, "row \(row) of \(range)")
            }
        }
    }
}
