/// The one line that names the BLAS in use: library, version, file, kernel family and why,
/// thread count, and the processor. `saescope doctor` prints it, and every `bench` starts with it.
public struct BLASReport: Sendable {
    public var library: BLASLibrary
    public var cpu: CPUFeatures?
    /// Why these kernels (start-up's outcome, or what start-up would decide).
    public var reason: String

    public static func current() -> BLASReport {
        let library = BLASLibrary.current()
        let reason = KernelStartup.outcome ?? {
            switch KernelChoice.decide(KernelStartup.situation(library: library)) {
            case .keep(let reason): return reason
            case .restart(let family, let reason): return "\(reason); \(family.name) would be better"
            }
        }()
        return BLASReport(library: library, cpu: .current, reason: reason)
    }

    /// The best family this CPU runs, as saescope would force it.
    public var bestFamily: KernelFamily? { cpu.flatMap { KernelFamily.best(on: $0) } }

    public var line: String {
        let file = library.path.map { " (\($0))" } ?? ""
        let dispatch = library.dynamicArch ? "" : ", built for one family"
        let cpuText = cpu.map { "; CPU \($0.summary)" } ?? ""
        return "BLAS OpenBLAS \(library.version)\(file)\(dispatch): kernels \(library.core) (\(reason)), "
            + "\(library.threads) thread\(library.threads == 1 ? "" : "s")\(cpuText)"
    }

    public var json: [String: Any] {
        var object: [String: Any] = ["library": "OpenBLAS", "version": library.version, "config": library.config,
                                     "kernels": library.core, "reason": reason, "threads": library.threads,
                                     "dynamic_arch": library.dynamicArch]
        if let path = library.path { object["path"] = path }
        if let change = KernelStartup.change { object["kernel_change"] = change }
        if let cpu {
            object["cpu"] = cpu.summary
            object["supported_families"] = KernelFamily.forcible(on: cpu).map(\.name)
        }
        if let best = bestFamily { object["best_family"] = best.name }
        return object
    }
}
