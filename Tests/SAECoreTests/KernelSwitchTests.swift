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
        let variableBefore = coreTypeVariable()
        let product = RandomProduct(m: 512, n: 384, k: 384, seed: 11)
        let startingProduct = product.compute()
        var productsByFamily: [String: [Float]] = [:]
        for family in KernelFamily.forcible(on: cpu) {
            // 0.3.21 does not know every name on every CPU (Cooperlake on Intel): then it keeps
            // its own detection, which is what a process started with the name would run too.
            guard KernelSwitch.select(family) else { continue }
            XCTAssertEqual(BLASLibrary.current().core, family.name)
            XCTAssertEqual(coreTypeVariable(), variableBefore, "OPENBLAS_CORETYPE is put back after the switch")
            let c = product.compute()
            product.assertMatchesFP64(c, family.name)
            productsByFamily[family.name] = c
        }
        XCTAssertGreaterThan(productsByFamily.count, 1, "at least two families were selected")
        // The switch changes the kernels, not only the name: the SSE3 and the newest family differ in their last bits.
        if let prescott = productsByFamily["Prescott"], let newest = productsByFamily[KernelFamily.forcible(on: cpu).first!.name] {
            XCTAssertNotEqual(prescott, newest)
        }
        XCTAssertTrue(KernelSwitch.select(original))
        XCTAssertEqual(product.compute(), startingProduct, "switching back gives the starting kernels' bits")
    }

    private func coreTypeVariable() -> String? { getenv(KernelStartup.coreTypeVariable).map { String(cString: $0) } }
}
