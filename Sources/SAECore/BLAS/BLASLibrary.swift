import CBLAS
import Foundation

/// The BLAS library this process runs on, as it describes itself: OpenBLAS's build string,
/// the kernel family it uses, its thread count, and the file it was loaded from.
public struct BLASLibrary: Sendable, Equatable {
    /// `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64".
    public var config: String
    /// `openblas_get_corename()`, e.g. "Cooperlake".
    public var core: String
    public var threads: Int
    /// The shared library file (nil when it cannot be found, e.g. linked statically).
    public var path: String?

    public init(config: String, core: String, threads: Int, path: String?) {
        self.config = config
        self.core = core
        self.threads = threads
        self.path = path
    }

    /// "0.3.21", from the build string.
    public var version: String {
        let words = config.split(separator: " ")
        guard let at = words.firstIndex(of: "OpenBLAS"), at + 1 < words.count else { return "unknown version" }
        return String(words[at + 1])
    }

    /// Whether the library picks its kernels at run time (and so honours `OPENBLAS_CORETYPE`).
    public var dynamicArch: Bool { config.split(separator: " ").contains("DYNAMIC_ARCH") }

    /// `locatingFile` false leaves `path` nil: finding it reads /proc/self/maps, which start-up's
    /// kernel choice (run before every command) does not need.
    public static func current(locatingFile: Bool = true) -> BLASLibrary {
        BLASLibrary(config: openblas_get_config().map { String(cString: $0) } ?? "",
                    core: openblas_get_corename().map { String(cString: $0) } ?? "",
                    threads: Int(openblas_get_num_threads()), path: locatingFile ? loadedPath() : nil)
    }

    /// The file mapped where `openblas_get_corename` lives (Linux's /proc/self/maps).
    private static func loadedPath() -> String? {
        // The symbol as the dynamic loader resolves it (a Swift function value may be a local thunk).
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "openblas_get_corename") else { return nil }
        let address = UInt(bitPattern: symbol)
        guard let maps = ProcFile.read("/proc/self/maps") else { return nil }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let dash = fields[0].firstIndex(of: "-"),
                  let low = UInt(fields[0][..<dash], radix: 16), let high = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                  low <= address, address < high else { continue }
            return fields[5...].joined(separator: " ")
        }
        return nil
    }
}
