import CBLAS
import XCTest
@testable import SAECore

final class BLASThreadPoolTests: XCTestCase {
    /// Threads of this process that carry the main thread's name: OpenBLAS's workers inherit it
    /// (dispatch's and Foundation's named threads do not).
    private func threadsNamedLikeMain() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        let main = try? String(contentsOfFile: "/proc/self/comm", encoding: .utf8)
        return tasks.filter { (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8)) == main }.count
    }

    /// The stop ends the library's idle workers (they would spin beside the work), and the next
    /// threaded product starts them again.
    func testTheStopEndsTheWorkersAndAProductStartsThemAgain() throws {
        let threads = Int(openblas_get_num_threads())
        try XCTSkipIf(threads < 2, "OpenBLAS runs one thread here: there are no workers to stop")
        let n = 384
        let a = [Float](repeating: 0.5, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), a, Int32(n), 0, &c, Int32(n))
        let running = threadsNamedLikeMain()
        BLASThreadPool.stopIdleWorkers()
        XCTAssertEqual(threadsNamedLikeMain(), running - (threads - 1))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), a, Int32(n), 0, &c, Int32(n))
        XCTAssertEqual(threadsNamedLikeMain(), running)
        XCTAssertEqual(c[0], 0.25 * Float(n))
    }

    /// After the idle workers are stopped, a product large enough to be split across threads
    /// still runs (the library starts its pool again) and gives the same numbers, and the
    /// thread count the library reports is unchanged.
    func testAThreadedProductRunsAfterTheWorkersAreStopped() {
        let product = RandomProduct(m: 384, n: 384, k: 384, seed: 7)
        let threads = openblas_get_num_threads()
        for _ in 0..<2 {
            BLASThreadPool.stopIdleWorkers()
            BLASThreadPool.stopIdleWorkers()
            let c = product.compute()
            XCTAssertEqual(openblas_get_num_threads(), threads)
            product.assertMatchesFP64(c, "after the stop")
        }
    }
}
