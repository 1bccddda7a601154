import ArgumentParser
import Foundation
import SAECore

/// `bench screened`: the screened bf16 encode against fp32, at the two shapes.
struct BenchScreenedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "screened",
        abstract: "The screened bf16 encode against the fp32 encode and the best-kernel sgemm (same run), candidates per chunk, fallbacks, and whole `index` both ways.")

    @Option(help: "Interleaved rounds (each figure's best is kept).") var rounds = 2
    @Option(help: "Target mean L0 of the synthetic dictionaries.") var l0 = 50.0
    @Option(help: "Activation dimension (with --f: one shape instead of the two standard ones).") var d: Int?
    @Option(help: "Features (with --d).") var f: Int?
    @Option(help: "Tokens (with --d and --f).") var n = 8192

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard l0.isFinite, l0 > 0 else { throw ValidationError("--l0 must be a positive number of features") }
        guard (d == nil) == (f == nil) else { throw ValidationError("give --d and --f together") }
        if let d, let f {
            guard d >= 1, f >= 1, n >= 1 else { throw ValidationError("--d, --f and --n must be at least 1") }
            try BenchSizes.requireRepresentable([(d, f, "--d x --f"), (n, d, "--n x --d")])
        }
    }

    func run() throws {
        print(BLASReport.current().line)
        print(EncodePath.machineSummary)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-screened-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let shapes = d.map { [ScreenedBenchmark.Shape(d: $0, f: f!, n: n)] } ?? ScreenedBenchmark.standard
        for shape in shapes {
            let r = try ScreenedBenchmark.run(shape, meanL0: l0, rounds: rounds, scratchDirectory: scratch, log: BenchLog.progress)
            let fractions = r.statistics.candidateFractions.sorted()
            func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
            print("D=\(shape.d) F=\(shape.f) N=\(shape.n)  path: \(r.path.summary)")
            print(String(format: "  best-kernel sgemm      %.3f s (%@, child)   in-process sgemm %.3f s", r.bestSGEMMSeconds, r.bestFamily, r.sgemmSeconds))
            print(String(format: "  encode fp32            %.3f s   (%.2fx the best sgemm)", r.fp32EncodeSeconds, r.bestSGEMMSeconds / r.fp32EncodeSeconds))
            print(String(format: "  encode screened        %.3f s   %.2fx the best sgemm (target %.1fx), %.2fx the fp32 encode",
                         r.screenedEncodeSeconds, r.encodeRatioToBestSGEMM, ScreenedBenchmark.encodeTarget, r.encodeRatioToFP32Encode))
            print(String(format: "  index (whole process)  %.3f s screened, %.3f s --exact-fp32: %.2fx (target %.1fx)",
                         r.indexSeconds, r.indexFP32Seconds, r.indexRatio, ScreenedBenchmark.indexTarget))
            if let low = fractions.first, let high = fractions.last {
                print("  candidates per chunk   min \(percent(low)), median \(percent(fractions[fractions.count / 2])), max \(percent(high)) of rows x F over \(fractions.count) chunks")
            }
            print("  fallback to fp32       \(r.statistics.fallbackChunks) of \(r.statistics.fallbackChunks + r.statistics.screenedChunks) chunks")
            print("  nonzero codes          \(r.screenedNonzeros) screened, \(r.fp32Nonzeros) fp32")
        }
        print("load: \(BenchLoad.text)")
    }
}
