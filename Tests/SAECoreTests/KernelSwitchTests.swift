import CBLAS
import XCTest
@testable import SAECore

/// The in-process kernel switch start-up uses instead of a restart: the library reports the
/// family asked for, its products are right, and they are that family's own (other last bits
/// than the family the library started with).
final class KernelSwitchTests: XCTestCase {
    func testEachFamilyTheCPURunsIsSelectedAndComputesRightProducts() throws {
        let cpu = try XCTUnwrap(CPUFeatures.current, "needs /proc/cpuinfo")
        try XCTSkipUnless(KernelSwitch.isAvailable && BLASLibrary.current().dynamicArch, "the installed BLAS cannot switch kernels")
        let original = try XCTUnwrap(KernelFamily.named(BLASLibrary.current().core))
        defer { KernelSwitch.select(original) }
        let m = 512, n = 384, k = 384
        var generator = SplitMix64(seed: 11)
        let a = (0..<m * k).map { _ in generator.nextNormal() }
        let b = (0..<k * n).map { _ in generator.nextNormal() }
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
            return c
        }
        let startingProduct = product()
        var productsByFamily: [String: [Float]] = [:]
        for family in KernelFamily.forcible(on: cpu) {
            // 0.3.21 does not know every name on every CPU (Cooperlake on Intel): then it keeps
            // its own detection, which is what a process started with the name would run too.
            guard KernelSwitch.select(family) else { continue }
            XCTAssertEqual(BLASLibrary.current().core, family.name)
            XCTAssertNil(getenv(KernelStartup.coreTypeVariable).map { String(cString: $0) } == family.name ? "left set" : nil,
                         "OPENBLAS_CORETYPE is put back after the switch")
            let c = product()
            for (i, j) in [(0, 0), (17, 250), (m - 1, n - 1), (300, 3)] {
                var exact = 0.0
                for p in 0..<k { exact += Double(a[i * k + p]) * Double(b[p * n + j]) }
                XCTAssertEqual(Double(c[i * n + j]), exact, accuracy: 1e-4 * max(1, abs(exact)), "\(family) c[\(i), \(j)]")
            }
            productsByFamily[family.name] = c
        }
        XCTAssertGreaterThan(productsByFamily.count, 1, "at least two families were selected")
        // The switch changes the kernels, not only the name: the SSE3 and the newest family differ in their last bits.
        if let prescott = productsByFamily["Prescott"], let newest = productsByFamily[KernelFamily.forcible(on: cpu).first!.name] {
            XCTAssertNotEqual(prescott, newest)
        }
        XCTAssertTrue(KernelSwitch.select(original))
        XCTAssertEqual(product(), startingProduct, "switching back gives the starting kernels' bits")
    }
}
