/// Whether the BLAS kernels a process starts with are the ones to keep, or the process should
/// start again with `OPENBLAS_CORETYPE` set. A pure function of what the start-up sees, so a
/// table of CPUs and library choices tests it.
public enum KernelChoice: Equatable, Sendable {
    /// Run with the kernels in use; `reason` says why they are right (or why nothing can be done).
    case keep(reason: String)
    /// Start again with this family forced.
    case restart(with: KernelFamily, reason: String)

    public struct Situation: Sendable {
        /// The processor; nil when its features cannot be read.
        public var cpu: CPUFeatures?
        /// `openblas_get_corename()` of this process.
        public var libraryCore: String
        /// Whether the library picks kernels at run time (`DYNAMIC_ARCH` in `openblas_get_config()`);
        /// a library built for one family ignores `OPENBLAS_CORETYPE`.
        public var dynamicArch: Bool
        /// `OPENBLAS_CORETYPE` as the user set it (nil when unset or set by saescope).
        public var userCoreType: String?
        /// Families saescope already restarted with, in order (empty in the first process). The
        /// library may not accept a name (0.3.21 cannot be forced to Cooperlake, and falls back to
        /// its own detection): the next restart tries the next family, never one twice.
        public var tried: [KernelFamily]

        public init(cpu: CPUFeatures?, libraryCore: String, dynamicArch: Bool, userCoreType: String?, tried: [KernelFamily] = []) {
            self.cpu = cpu
            self.libraryCore = libraryCore
            self.dynamicArch = dynamicArch
            self.userCoreType = userCoreType
            self.tried = tried
        }
    }

    public static func decide(_ s: Situation) -> KernelChoice {
        if let last = s.tried.last, last == KernelFamily.named(s.libraryCore) {
            return .keep(reason: "set by saescope at start-up")
        }
        guard s.dynamicArch else { return .keep(reason: "the library is built for one kernel family") }
        guard let cpu = s.cpu else { return .keep(reason: "the library's choice (CPU features unknown)") }
        let candidates = KernelFamily.forcible(on: cpu).filter { !s.tried.contains($0) }
        guard let best = candidates.first else {
            return .keep(reason: s.tried.isEmpty ? "the library's choice (no x86 kernel family fits this CPU)"
                                                 : "the library's choice (it did not accept \(s.tried.map(\.name).joined(separator: ", ")))")
        }
        if let user = s.userCoreType, s.tried.isEmpty {
            guard let asked = KernelFamily.named(user) else {
                return .keep(reason: "OPENBLAS_CORETYPE=\(user) is not a family this library knows; the library chose")
            }
            if asked.isSupported(by: cpu) { return .keep(reason: "OPENBLAS_CORETYPE=\(user), set by the user") }
            // The user's family would execute instructions this CPU lacks: the closest one it runs.
            let fallback = candidates.first { $0.level <= asked.level } ?? best
            return .restart(with: fallback, reason: "OPENBLAS_CORETYPE=\(user) needs instructions this CPU lacks")
        }
        let after = s.tried.isEmpty ? "" : " after OPENBLAS_CORETYPE=\(s.tried.last!.name)"
        guard let chosen = KernelFamily.named(s.libraryCore) else {
            return .restart(with: best, reason: "the library chose an unknown family '\(s.libraryCore)'\(after)")
        }
        if !chosen.isSupported(by: cpu) {
            return .restart(with: best, reason: "the library chose \(chosen.name)\(after), which needs instructions this CPU lacks")
        }
        if chosen.rank(on: cpu) < best.rank(on: cpu) {
            let why = chosen.level < best.level ? "older than this CPU supports" : "slower on this CPU than \(best.name)"
            return .restart(with: best, reason: "the library chose \(chosen.name)\(after), \(why)")
        }
        return .keep(reason: s.tried.isEmpty ? "the library's choice, the fastest this CPU runs"
                                             : "the library's choice after OPENBLAS_CORETYPE=\(s.tried.last!.name)")
    }
}
