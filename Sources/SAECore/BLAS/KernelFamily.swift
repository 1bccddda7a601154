/// OpenBLAS's x86-64 kernel families (the names `OPENBLAS_CORETYPE` accepts and
/// `openblas_get_corename()` returns), each with the instruction-set level its kernels are
/// built for and the CPU flags they execute. A family whose flags the CPU lacks dies with an
/// illegal instruction or, in some library versions, computes wrong results: never choose one.
public struct KernelFamily: Sendable, Hashable, CustomStringConvertible {
    /// OpenBLAS's spelling.
    public let name: String
    /// 1 SSE3, 2 SSSE3, 3 SSE4, 4 AVX, 5 AVX2+FMA, 6 AVX-512, 7 AVX-512 with BF16, 8 AMX.
    public let level: Int
    /// /proc/cpuinfo flags the family's kernels (and the compiler flags they are built with) use.
    public let requiredFlags: [String]
    /// Whether saescope may set this family itself (re-execution, `bench blas`): the main line
    /// of each level, not the older vendor-specific ones nor families some library versions
    /// cannot be forced to (SapphireRapids is missing from 0.3.21's force list).
    public let isForcible: Bool

    public var description: String { name }

    static let sse3 = ["sse", "sse2", "pni"]
    static let ssse3 = sse3 + ["ssse3"]
    static let sse4 = ssse3 + ["sse4_1", "sse4_2"]
    static let avx = sse4 + ["avx"]
    static let avx2 = avx + ["avx2", "fma"]
    static let avx512 = avx2 + ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    static let avx512bf16 = avx512 + ["avx512_bf16", "avx512_vnni"]

    public static let prescott = KernelFamily(name: "Prescott", level: 1, requiredFlags: sse3, isForcible: true)
    public static let core2 = KernelFamily(name: "Core2", level: 2, requiredFlags: ssse3, isForcible: true)
    public static let nehalem = KernelFamily(name: "Nehalem", level: 3, requiredFlags: sse4, isForcible: true)
    public static let sandybridge = KernelFamily(name: "Sandybridge", level: 4, requiredFlags: avx, isForcible: true)
    public static let haswell = KernelFamily(name: "Haswell", level: 5, requiredFlags: avx2, isForcible: true)
    public static let zen = KernelFamily(name: "Zen", level: 5, requiredFlags: avx2, isForcible: true)
    public static let skylakeX = KernelFamily(name: "SkylakeX", level: 6, requiredFlags: avx512, isForcible: true)
    public static let cooperlake = KernelFamily(name: "Cooperlake", level: 7, requiredFlags: avx512bf16, isForcible: true)
    public static let sapphireRapids = KernelFamily(
        name: "SapphireRapids", level: 8,
        requiredFlags: avx512bf16 + ["avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "avx512vbmi", "avx512_vbmi2"], isForcible: false)

    /// Every family OpenBLAS may report on x86-64, the older vendor lines included.
    public static let all: [KernelFamily] = [
        prescott, core2, nehalem, sandybridge, haswell, zen, skylakeX, cooperlake, sapphireRapids,
        KernelFamily(name: "Katmai", level: 0, requiredFlags: ["sse"], isForcible: false),
        KernelFamily(name: "Coppermine", level: 0, requiredFlags: ["sse"], isForcible: false),
        KernelFamily(name: "Northwood", level: 0, requiredFlags: ["sse2"], isForcible: false),
        KernelFamily(name: "Banias", level: 0, requiredFlags: ["sse2"], isForcible: false),
        KernelFamily(name: "Athlon", level: 0, requiredFlags: ["sse"], isForcible: false),
        KernelFamily(name: "Opteron", level: 1, requiredFlags: ["sse2"], isForcible: false),
        KernelFamily(name: "Opteron_SSE3", level: 1, requiredFlags: sse3, isForcible: false),
        KernelFamily(name: "Atom", level: 2, requiredFlags: ssse3, isForcible: false),
        KernelFamily(name: "Penryn", level: 2, requiredFlags: ssse3 + ["sse4_1"], isForcible: false),
        KernelFamily(name: "Dunnington", level: 2, requiredFlags: ssse3 + ["sse4_1"], isForcible: false),
        KernelFamily(name: "Nano", level: 2, requiredFlags: ssse3, isForcible: false),
        KernelFamily(name: "Bobcat", level: 2, requiredFlags: ssse3 + ["sse4a"], isForcible: false),
        KernelFamily(name: "Barcelona", level: 3, requiredFlags: sse3 + ["sse4a"], isForcible: false),
        KernelFamily(name: "Bulldozer", level: 4, requiredFlags: avx + ["fma4", "xop"], isForcible: false),
        KernelFamily(name: "Piledriver", level: 4, requiredFlags: avx + ["fma", "fma4"], isForcible: false),
        KernelFamily(name: "Steamroller", level: 4, requiredFlags: avx + ["fma", "fma4"], isForcible: false),
        KernelFamily(name: "Excavator", level: 4, requiredFlags: avx + ["fma", "fma4", "avx2"], isForcible: false),
    ]

    /// The family of an OpenBLAS core name (case-insensitive, as the library compares), or nil.
    public static func named(_ name: String) -> KernelFamily? {
        all.first { $0.name.caseInsensitiveCompare(name.trimmingCharacters(in: .whitespaces)) == .orderedSame }
    }

    public func isSupported(by cpu: CPUFeatures) -> Bool { requiredFlags.allSatisfy(cpu.has) }

    /// The families saescope may force that this CPU runs, fastest first: by `rank(on:)`, and
    /// within a rank the vendor's own line first (Zen on AMD, Haswell elsewhere), as OpenBLAS
    /// itself picks, except where measured otherwise (Zen 4, below).
    public static func forcible(on cpu: CPUFeatures) -> [KernelFamily] {
        all.filter { $0.isForcible && $0.isSupported(by: cpu) }
            .sorted { a, b in
                if a.rank(on: cpu) != b.rank(on: cpu) { return a.rank(on: cpu) > b.rank(on: cpu) }
                return a.vendorRank(on: cpu) < b.vendorRank(on: cpu)
            }
    }

    /// How fast the family runs on `cpu`, higher is faster: its instruction-set level, except on
    /// Zen 4, which runs each 512-bit operation as two 256-bit halves. There `saescope bench blas`
    /// measured OpenBLAS 0.3.21's AVX2 kernels ahead of its AVX-512 ones at every shape users have
    /// (Haswell 204, 201, 209, 218 GFLOP/s against Cooperlake's 196, 201, 188, 202 at D=384/F=3072,
    /// D=576/F=4608, D=512/F=32768, D=2304/F=16384), so AVX2 ranks above AVX-512 there.
    /// Zen 5 (family 26) has full-width AVX-512 units and keeps the level order.
    public func rank(on cpu: CPUFeatures) -> Int {
        if level == 5, cpu.splitsAVX512 { return 2 * Self.cooperlake.level + 1 }
        return 2 * level
    }

    /// 0 for the line to prefer at its rank on this CPU, 1 for the others of the same rank.
    private func vendorRank(on cpu: CPUFeatures) -> Int {
        switch self {
        // Zen 4: the same AVX2 kernels, Haswell's blocking measured even with or ahead of Zen's
        // (Zen 202, 195, 207, 217 GFLOP/s at the shapes above; within 1% either way in a later run).
        case Self.zen: cpu.isAMD && !cpu.splitsAVX512 ? 0 : 1
        case Self.haswell: cpu.isAMD && !cpu.splitsAVX512 ? 1 : 0
        default: 0
        }
    }

    /// The best family saescope may force on this CPU, at most at `level`; nil when it runs none (not x86).
    public static func best(on cpu: CPUFeatures, atMostLevel level: Int = .max) -> KernelFamily? {
        forcible(on: cpu).first { $0.level <= level }
    }
}
