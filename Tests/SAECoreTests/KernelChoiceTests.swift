import XCTest
@testable import SAECore

/// The start-up's kernel-family choice over a table of processors, library choices and user settings.
final class KernelChoiceTests: XCTestCase {
    static let sse4 = "fpu sse sse2 pni ssse3 sse4_1 sse4_2 popcnt"
    static let avx2 = sse4 + " avx f16c avx2 fma bmi1 bmi2"
    static let avx512 = avx2 + " avx512f avx512cd avx512bw avx512dq avx512vl"

    static let emeraldRapids = cpu("GenuineIntel", 6, 207, avx512 + " avx512_bf16 avx512_vnni avx512_fp16 amx_tile amx_bf16 amx_int8 avx512vbmi avx512_vbmi2")
    static let skylakeSP = cpu("GenuineIntel", 6, 85, avx512)
    static let haswell = cpu("GenuineIntel", 6, 63, avx2)
    static let sandyBridge = cpu("GenuineIntel", 6, 45, sse4 + " avx")
    static let core2 = cpu("GenuineIntel", 6, 15, "fpu sse sse2 pni ssse3")
    static let zen3 = cpu("AuthenticAMD", 25, 33, avx2)
    static let zen4 = cpu("AuthenticAMD", 25, 17, avx512 + " avx512_bf16 avx512_vnni avx512ifma avx512vbmi")
    static let zen5 = cpu("AuthenticAMD", 26, 2, avx512 + " avx512_bf16 avx512_vnni avx512ifma avx512vbmi")
    static let all = [emeraldRapids, skylakeSP, haswell, sandyBridge, core2, zen3, zen4, zen5]

    static func cpu(_ vendor: String, _ family: Int, _ model: Int, _ flags: String) -> CPUFeatures {
        CPUFeatures(vendor: vendor, family: family, model: model, flags: Set(flags.split(separator: " ").map(String.init)))
    }

    private func decide(_ cpu: CPUFeatures?, library: String, user: String? = nil, tried: [KernelFamily] = [], dynamic: Bool = true) -> KernelChoice {
        KernelChoice.decide(.init(cpu: cpu, libraryCore: library, dynamicArch: dynamic, userCoreType: user, tried: tried))
    }

    private func restartFamily(_ choice: KernelChoice) -> String? {
        if case .restart(let family, _) = choice { return family.name }
        return nil
    }

    func testTableOfProcessorsLibraryChoicesAndUserSettings() {
        // (cpu, library's core, user's OPENBLAS_CORETYPE, families already tried, expected restart family or nil to keep)
        let rows: [(String, CPUFeatures?, String, String?, [KernelFamily], String?)] = [
            ("Prescott on an AVX-512 CPU (0.3.21 on Emerald Rapids)", Self.emeraldRapids, "Prescott", nil, [], "Cooperlake"),
            ("0.3.21 ignores Cooperlake and detects Prescott again", Self.emeraldRapids, "Prescott", nil, [.cooperlake], "SkylakeX"),
            ("SkylakeX accepted after that", Self.emeraldRapids, "SkylakeX", nil, [.cooperlake, .skylakeX], nil),
            ("a user's OPENBLAS_CORETYPE is kept", Self.emeraldRapids, "Haswell", "Haswell", [], nil),
            ("a user's older family is kept too", Self.zen4, "Sandybridge", "sandybridge", [], nil),
            ("a user's family the CPU lacks is lowered", Self.haswell, "SkylakeX", "SkylakeX", [], "Haswell"),
            ("an unknown user name is left to the library", Self.haswell, "Haswell", "Foo", [], nil),
            ("Zen 4 with the library's Cooperlake: AVX2 is faster there", Self.zen4, "Cooperlake", nil, [], "Haswell"),
            ("Zen 4 with Prescott", Self.zen4, "Prescott", nil, [], "Haswell"),
            ("Zen 4 with Zen (same rank)", Self.zen4, "Zen", nil, [], nil),
            ("Zen 4 once Haswell is set", Self.zen4, "Haswell", nil, [.haswell], nil),
            ("Zen 4: a user's Cooperlake is kept", Self.zen4, "Cooperlake", "Cooperlake", [], nil),
            ("Zen 5 keeps its full-width AVX-512", Self.zen5, "Cooperlake", nil, [], nil),
            ("Zen 5 with Haswell", Self.zen5, "Haswell", nil, [], "Cooperlake"),
            ("Zen 3 with Zen", Self.zen3, "Zen", nil, [], nil),
            ("Zen 3 with Haswell (same level)", Self.zen3, "Haswell", nil, [], nil),
            ("Zen 3 with Prescott: the AMD line", Self.zen3, "Prescott", nil, [], "Zen"),
            ("Haswell with Prescott: the Intel line", Self.haswell, "Prescott", nil, [], "Haswell"),
            ("Skylake-SP with Prescott", Self.skylakeSP, "Prescott", nil, [], "SkylakeX"),
            ("Skylake-SP with SkylakeX", Self.skylakeSP, "SkylakeX", nil, [], nil),
            ("Sandy Bridge with Nehalem", Self.sandyBridge, "Nehalem", nil, [], "Sandybridge"),
            ("Core 2 with Prescott", Self.core2, "Prescott", nil, [], "Core2"),
            ("the library picked kernels the CPU lacks", Self.haswell, "SkylakeX", nil, [], "Haswell"),
            ("the library reports an unknown core", Self.haswell, "Unknown", nil, [], "Haswell"),
            ("CPU features unknown", nil, "Prescott", nil, [], nil),
            ("every family tried: stop", Self.core2, "Prescott", nil, [.core2, .prescott], nil),
        ]
        for (label, cpu, library, user, tried, expected) in rows {
            XCTAssertEqual(restartFamily(decide(cpu, library: library, user: user, tried: tried)), expected, label)
        }
        XCTAssertNil(restartFamily(decide(Self.emeraldRapids, library: "Prescott", dynamic: false)), "a library built for one family ignores OPENBLAS_CORETYPE")
    }

    /// Over every processor, library choice, user setting and history: a restart never names a
    /// family the CPU lacks, nor one already tried, and a user's supported setting is never replaced.
    func testNeverChoosesKernelsTheCPULacksNorRepeats() {
        let users: [String?] = [nil] + KernelFamily.all.map(\.name)
        for cpu in Self.all {
            for library in KernelFamily.all {
                for user in users {
                    for tried in [[], [KernelFamily.cooperlake], [.cooperlake, .skylakeX, .haswell, .zen]] {
                        let choice = decide(cpu, library: library.name, user: user, tried: tried)
                        guard case .restart(let family, _) = choice else { continue }
                        XCTAssertTrue(family.isSupported(by: cpu), "\(family) on \(cpu.flags.sorted())")
                        XCTAssertFalse(tried.contains(family))
                        if let user, tried.isEmpty, let asked = KernelFamily.named(user) {
                            XCTAssertFalse(asked.isSupported(by: cpu), "replaced the user's \(user)")
                        }
                    }
                }
            }
        }
    }

    func testParsesProcCpuinfo() throws {
        let text = """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        cpu family\t: 25
        model\t\t: 17
        model name\t: AMD EPYC
        flags\t\t: fpu sse sse2 pni ssse3 sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_vnni

        processor\t: 1
        vendor_id\t: AuthenticAMD
        flags\t\t: fpu
        """
        let cpu = try XCTUnwrap(CPUFeatures.parse(cpuinfo: text))
        XCTAssertEqual(cpu.vendor, "AuthenticAMD")
        XCTAssertEqual(cpu.family, 25)
        XCTAssertEqual(cpu.model, 17)
        // Zen 4: the AVX2 kernels first (measured faster there), Haswell's blocking before Zen's.
        XCTAssertEqual(KernelFamily.best(on: cpu), .haswell)
        XCTAssertEqual(KernelFamily.forcible(on: cpu).map(\.name),
                       ["Haswell", "Zen", "Cooperlake", "SkylakeX", "Sandybridge", "Nehalem", "Core2", "Prescott"])
        XCTAssertEqual(KernelFamily.forcible(on: Self.zen5).map(\.name),
                       ["Cooperlake", "SkylakeX", "Zen", "Haswell", "Sandybridge", "Nehalem", "Core2", "Prescott"])
        // An ARM /proc/cpuinfo has "Features", not "flags": no x86 family is chosen there.
        XCTAssertNil(CPUFeatures.parse(cpuinfo: "processor\t: 0\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n"))
    }

    func testLibraryNamesItsVersionAndDispatch() {
        let library = BLASLibrary(config: "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64",
                                  core: "Cooperlake", threads: 2, path: nil)
        XCTAssertEqual(library.version, "0.3.21")
        XCTAssertTrue(library.dynamicArch)
        XCTAssertFalse(BLASLibrary(config: "OpenBLAS 0.3.26 HASWELL MAX_THREADS=8", core: "Haswell", threads: 8, path: nil).dynamicArch)
        // This process's own library answers for itself.
        let current = BLASLibrary.current()
        XCTAssertFalse(current.core.isEmpty)
        XCTAssertTrue(current.config.hasPrefix("OpenBLAS"), current.config)
        XCTAssertGreaterThan(current.threads, 0)
        XCTAssertNotNil(current.path, "the library file is found in /proc/self/maps")
    }
}
