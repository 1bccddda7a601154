import Foundation
import XCTest

/// The real binary at start-up: it names its BLAS, replaces a library's old kernel family with
/// the best this CPU runs (simulated: `OPENBLAS_CORETYPE` marked as the library's own choice),
/// keeps a user's setting, and its child processes end up on a sane family too.
final class BLASStartupTests: XCTestCase {
    private func doctor(_ environment: [String: String]) throws -> [String: Any] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPENBLAS_") && !$0.key.hasPrefix("SAESCOPE_") }
        env.merge(environment) { $1 }
        let result = try SaescopeBinary.run(["doctor", "--json"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
    }

    private func cleanEnvironment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPENBLAS_") && !$0.key.hasPrefix("SAESCOPE_") }
        env.merge(extra) { $1 }
        return env
    }

    func testDoctorNamesLibraryVersionKernelsAndThreads() throws {
        let report = try doctor([:])
        XCTAssertEqual(report["library"] as? String, "OpenBLAS")
        XCTAssertNotNil(report["version"] as? String)
        XCTAssertGreaterThan(report["threads"] as? Int ?? 0, 0)
        let line = try SaescopeBinary.run(["doctor"], environment: cleanEnvironment([:])).stdout
        XCTAssertTrue(line.hasPrefix("BLAS OpenBLAS "), line)
        XCTAssertTrue(line.contains("kernels \(report["kernels"] as? String ?? "?")"), line)
    }

    /// With nothing set, the process ends on the best family for this CPU, or, where the library
    /// refuses that family's name (0.3.21 and Cooperlake on Intel), the next one.
    func testTheDefaultRunsTheBestFamily() throws {
        let report = try doctor([:])
        try XCTSkipUnless(report["dynamic_arch"] as? Bool == true, "the installed OpenBLAS is built for one family")
        let supported = try XCTUnwrap(report["supported_families"] as? [String])
        let kernels = try XCTUnwrap(report["kernels"] as? String)
        XCTAssertTrue(supported.prefix(2).contains(kernels), "\(report)")
        XCTAssertEqual(report["best_family"] as? String, supported.first)
    }

    func testAnOldLibraryChoiceIsReplacedByTheBestFamily() throws {
        let report = try doctor(["OPENBLAS_CORETYPE": "Prescott", "SAESCOPE_TEST_CORETYPE_IS_LIBRARY_CHOICE": "1"])
        let best = try XCTUnwrap(report["best_family"] as? String, "this test needs an x86-64 CPU")
        XCTAssertNotEqual(best, "Prescott", "this test needs a CPU newer than SSE3")
        let dynamic = try XCTUnwrap(report["dynamic_arch"] as? Bool)
        try XCTSkipUnless(dynamic, "the installed OpenBLAS is built for one family")
        XCTAssertEqual(report["kernels"] as? String, best, "\(report)")
        XCTAssertTrue((report["reason"] as? String ?? "").contains("the library chose Prescott"), "\(report)")
        // This OpenBLAS exports gotoblas_dynamic_quit/init: the switch happens in the process, no second start.
        XCTAssertEqual(report["kernel_change"] as? String, "in process", "\(report)")
    }

    /// A library without the in-process switch (simulated): the process executes itself again
    /// with the family set, and the environment is the user's again afterwards.
    func testWithoutTheSwitchTheProcessRestartsOnTheBestFamily() throws {
        let report = try doctor(["OPENBLAS_CORETYPE": "Prescott", "SAESCOPE_TEST_CORETYPE_IS_LIBRARY_CHOICE": "1",
                                 "SAESCOPE_TEST_NO_KERNEL_SWITCH": "1"])
        try XCTSkipUnless(report["dynamic_arch"] as? Bool == true, "the installed OpenBLAS is built for one family")
        let best = try XCTUnwrap(report["best_family"] as? String)
        XCTAssertEqual(report["kernels"] as? String, best, "\(report)")
        XCTAssertEqual(report["kernel_change"] as? String, "restart", "\(report)")
        XCTAssertTrue((report["reason"] as? String ?? "").contains("the library chose Prescott"), "\(report)")
    }

    func testAUsersSettingIsKept() throws {
        let base = try doctor([:])
        let supported = try XCTUnwrap(base["supported_families"] as? [String])
        // The oldest family the CPU runs: a setting nobody would pick for speed, so keeping it is deliberate.
        let oldest = try XCTUnwrap(supported.last)
        let report = try doctor(["OPENBLAS_CORETYPE": oldest])
        XCTAssertEqual(report["kernels"] as? String, oldest)
        XCTAssertTrue((report["reason"] as? String ?? "").contains("set by the user"), "\(report)")
    }

    /// `bench blas` starts saescope children: the default one (environment as inherited) must
    /// run the parent's best family even when the parent started on a simulated old choice, and
    /// each forced one the family it was given (or the library's fallback, which it reports).
    func testChildProcessesInheritASaneSetting() throws {
        let env = cleanEnvironment(["OPENBLAS_CORETYPE": "Prescott", "SAESCOPE_TEST_CORETYPE_IS_LIBRARY_CHOICE": "1"])
        let result = try SaescopeBinary.run(["bench", "blas", "--d", "64", "--f", "512", "--n", "512",
                                             "--rounds", "1", "--repetitions", "1", "--json"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        let blas = try XCTUnwrap(object["blas"] as? [String: Any])
        try XCTSkipUnless(blas["dynamic_arch"] as? Bool == true, "the installed OpenBLAS is built for one family")
        let best = try XCTUnwrap(blas["best_family"] as? String)
        XCTAssertEqual(blas["kernels"] as? String, best, "the parent restarted on the best family")
        let runs = try XCTUnwrap(object["runs"] as? [[String: Any]])
        let defaultRun = try XCTUnwrap(runs.first { $0["label"] as? String == "default" })
        XCTAssertEqual(defaultRun["core"] as? String, best, "the default child is on the best family: \(runs)")
        let supported = try XCTUnwrap(blas["supported_families"] as? [String])
        XCTAssertEqual(runs.compactMap { $0["label"] as? String }, ["default"] + supported)
        // Forced children are honoured as a user's setting (Prescott and the others the library accepts).
        let prescott = try XCTUnwrap(runs.first { $0["label"] as? String == "Prescott" })
        XCTAssertEqual(prescott["core"] as? String, "Prescott")
    }
}
