import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes the process run the BLAS kernels that fit its processor, before anything else runs.
///
/// OpenBLAS picks its kernel family when it is loaded, before `main`, and may pick an old one
/// on a processor it does not know (0.3.21 runs Prescott SSE3 kernels on Emerald Rapids, about
/// 3x slower), or not the fastest one it has (on Zen 4 its AVX-512 Cooperlake kernels are 0-10%
/// slower than its AVX2 Haswell ones). So at start-up saescope compares the library's choice with
/// the CPU (`KernelChoice`) and, when a better family exists, switches the library to it in this
/// process (`KernelSwitch`), or, with a library that cannot switch, executes itself again with
/// `OPENBLAS_CORETYPE` set. Either way it tries the next family if the library ignored the name,
/// never the same family twice, and leaves the environment as the user gave it, so the programs
/// it starts (its own children, a Python bridge with another BLAS) make their own choice instead
/// of inheriting a family named for this library.
public enum KernelStartup {
    /// Set while restarting: "family,family;library's first choice;original" where original is
    /// "-" (OPENBLAS_CORETYPE was unset) or "=value".
    public static let restartVariable = "SAESCOPE_BLAS_RESTART"
    /// For tests only: "1" makes saescope take `OPENBLAS_CORETYPE` as the library's own choice
    /// rather than the user's, which simulates a library that picked that (old) family by itself.
    public static let simulateVariable = "SAESCOPE_TEST_CORETYPE_IS_LIBRARY_CHOICE"
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"

    /// What start-up decided, for `saescope doctor` and the bench header.
    nonisolated(unsafe) public private(set) static var outcome: String?
    /// How start-up changed the family: "in process", "restart", or nil when it kept the library's.
    nonisolated(unsafe) public private(set) static var change: String?

    /// Call first thing in `main`: returns with the right kernels in use, or does not return
    /// (the process is replaced by itself with `OPENBLAS_CORETYPE` set).
    public static func ensureBestKernels() {
        let marker = Marker(environment(restartVariable))
        var tried = marker?.tried ?? []
        let firstChoice = marker?.firstChoice ?? BLASLibrary.current(locatingFile: false).core
        let original = marker?.original ?? environment(coreTypeVariable).map { "=" + $0 } ?? "-"
        if marker != nil { change = "restart" }
        // Why the library's own choice was replaced (the first decision's reason).
        var replaced: String?
        while true {
            switch KernelChoice.decide(situation(library: .current(locatingFile: false), tried: tried)) {
            case .keep(let reason):
                if let replaced {
                    outcome = "\(reason): \(replaced)"
                } else {
                    outcome = tried.isEmpty ? reason : "\(reason); the library chose \(firstChoice)"
                }
                if marker != nil { restoreEnvironment(original) }
                return
            case .restart(let family, let reason):
                replaced = replaced ?? reason
                tried.append(family)
                if KernelSwitch.isAvailable {
                    KernelSwitch.select(family)
                    change = "in process"
                    continue  // the next decision checks that the library took the name
                }
                #if os(Linux)
                setenv(restartVariable, Marker(tried: tried, firstChoice: firstChoice, original: original).text, 1)
                setenv(coreTypeVariable, family.name, 1)
                execv("/proc/self/exe", CommandLine.unsafeArgv)
                // Only reached when the restart failed: carry on with the library's choice.
                let failure = String(cString: strerror(errno))
                restoreEnvironment(original)
                outcome = "\(reason); restarting with \(family.name) failed (\(failure))"
                #else
                outcome = "\(reason); \(family.name) would be better (set OPENBLAS_CORETYPE=\(family.name))"
                #endif
                return
            }
        }
    }

    /// What this process sees, for `KernelChoice`.
    public static func situation(library: BLASLibrary = .current(locatingFile: false), cpu: CPUFeatures? = .current, tried: [KernelFamily] = []) -> KernelChoice.Situation {
        let simulated = environment(simulateVariable) == "1"
        return KernelChoice.Situation(cpu: cpu, libraryCore: library.core, dynamicArch: library.dynamicArch,
                                      userCoreType: simulated || !tried.isEmpty ? nil : environment(coreTypeVariable), tried: tried)
    }

    /// The environment as the user gave it: no marker, OPENBLAS_CORETYPE as it was.
    private static func restoreEnvironment(_ original: String) {
        unsetenv(restartVariable)
        if original.hasPrefix("=") { setenv(coreTypeVariable, String(original.dropFirst()), 1) } else { unsetenv(coreTypeVariable) }
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The restart variable's contents.
    struct Marker {
        var tried: [KernelFamily]
        var firstChoice: String
        var original: String

        init(tried: [KernelFamily], firstChoice: String, original: String) {
            self.tried = tried
            self.firstChoice = firstChoice
            self.original = original
        }

        init?(_ text: String?) {
            guard let parts = text?.split(separator: ";", maxSplits: 2, omittingEmptySubsequences: false), parts.count == 3 else { return nil }
            tried = parts[0].split(separator: ",").compactMap { KernelFamily.named(String($0)) }
            firstChoice = String(parts[1])
            original = String(parts[2])
            guard !tried.isEmpty else { return nil }
        }

        var text: String { "\(tried.map(\.name).joined(separator: ","));\(firstChoice);\(original)" }
    }
}
