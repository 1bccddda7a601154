import CBLAS
import XCTest
@testable import SAECore

/// A row-major product `[m, k] x [k, n]` of seeded normal matrices through `cblas_sgemm`, with
/// entries checked against the fp64 sum: what the BLAS start-up tests compute under each setting.
struct RandomProduct {
    let m: Int, n: Int, k: Int
    let a: [Float], b: [Float]

    init(m: Int, n: Int, k: Int, seed: UInt64) {
        self.m = m
        self.n = n
        self.k = k
        var generator = SplitMix64(seed: seed)
        a = (0..<m * k).map { _ in generator.nextNormal() }
        b = (0..<k * n).map { _ in generator.nextNormal() }
    }

    func compute() -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        return c
    }

    /// Four entries (corners and inside) against fp64, within 1e-4 relative.
    func assertMatchesFP64(_ c: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        for (i, j) in [(0, 0), (min(17, m - 1), min(250, n - 1)), (m - 1, n - 1), (min(300, m - 1), min(3, n - 1))] {
            var exact = 0.0
            for p in 0..<k { exact += Double(a[i * k + p]) * Double(b[p * n + j]) }
            XCTAssertEqual(Double(c[i * n + j]), exact, accuracy: 1e-4 * max(1, abs(exact)), "\(label) c[\(i), \(j)]", file: file, line: line)
        }
    }
}
