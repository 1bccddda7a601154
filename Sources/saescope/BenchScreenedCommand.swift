import ArgumentParser
import Foundation
import SAECore

/// `bench screened`: the screened (int8 or bf16) encode against fp32, at the issue's two shapes.
struct BenchScreenedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "screened",
        abstract: "The screened encode (int8 or bf16, as the CPU and rule choose; SAESCOPE_SCREEN_PRECISION=bf16 restricts it) against the fp32 encode and the best-kernel sgemm (same run), candidates per chunk, fallbacks, and whole `index` both ways.")

    @Option(help: "Interleaved rounds (each figure's best is kept).") var rounds = 2
    @Option(help: "Target mean L0 of the synthetic dictionaries.") var l0 = 50.0
    @Option(help: "Activation dimension (with --f: one shape instead of the two standard ones).") var d: Int?
    @Option(help: "Features (with --d).") var f: Int?
    @Option(help: "Tokens (with --d and --f).") var n = 8192
    @Option(name: .customLong("top-k"), help: "A top-k dictionary (same weights, zero encoder bias) instead of the ReLU one.") var topK: Int?
    @Option(name: .customLong("fallback-fraction"), help: "Candidate fraction above which a chunk takes fp32 (default 0.10; 1 never falls back), to measure the break-even.")
    var fallbackFraction: Double?
    @Flag(name: .customLong("no-index"), help: "Time the encode only, not the whole-process index.") var noIndex = false

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard l0.isFinite, l0 > 0 else { throw ValidationError("--l0 must be a positive number of features") }
        guard (d == nil) == (f == nil) else { throw ValidationError("give --d and --f together") }
        if let topK { guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") } }
        if let fallbackFraction { guard fallbackFraction > 0, fallbackFraction <= 1 else { throw ValidationError("--fallback-fraction must be in (0, 1]") } }
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
        if let fallbackFraction { SAEEncoder.screenFallbackFraction = fallbackFraction }
        let shapes = d.map { [ScreenedBenchmark.Shape(d: $0, f: f!, n: n)] } ?? ScreenedBenchmark.standard
        for shape in shapes {
            let r = try ScreenedBenchmark.run(shape, meanL0: l0, topK: topK, rounds: rounds, timesIndex: !noIndex,
                                                  scratchDirectory: scratch, log: BenchLog.progress)
            let fractions = r.statistics.candidateFractions.sorted()
            func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
            print("D=\(shape.d) F=\(shape.f) N=\(shape.n)\(topK.map { " top-k \($0)" } ?? " ReLU, mean L0 \(l0)")  path: \(r.path.summary)")
            print("  (wall seconds; CPU seconds of all threads in brackets, steadier on a loaded machine)")
            print(String(format: "  best-kernel sgemm      %.3f s [%.3f] (%@, child)   in-process sgemm %.3f s [%.3f]",
                         r.bestSGEMMSeconds, r.bestSGEMMCPUSeconds, r.bestFamily, r.sgemmSeconds, r.sgemmCPUSeconds))
            print(String(format: "  encode fp32            %.3f s [%.3f]", r.fp32EncodeSeconds, r.fp32EncodeCPUSeconds))
            print(String(format: "  encode screened        %.3f s [%.3f]: %.2fx [%.2fx] the best sgemm (target %.1fx), %.2fx [%.2fx] the fp32 encode",
                         r.screenedEncodeSeconds, r.screenedEncodeCPUSeconds, r.encodeRatioToBestSGEMM, r.encodeCPURatioToBestSGEMM,
                         ScreenedBenchmark.encodeTarget, r.encodeRatioToFP32Encode, r.encodeCPURatioToFP32Encode))
            print(String(format: "  weights packed         %.3f s once per dictionary (inside the index runs)", r.weightConversionSeconds))
            if !noIndex {
                print(String(format: "  index (whole process)  %.3f s [%.3f] screened, %.3f s [%.3f] --exact-fp32: %.2fx [%.2fx] (target %.1fx)",
                             r.indexSeconds, r.indexCPUSeconds, r.indexFP32Seconds, r.indexFP32CPUSeconds, r.indexRatio, r.indexCPURatio,
                             ScreenedBenchmark.indexTarget))
            }
            if let low = fractions.first, let high = fractions.last {
                print("  candidates per chunk   min \(percent(low)), median \(percent(fractions[fractions.count / 2])), max \(percent(high)) of rows x F over \(fractions.count) chunks")
            }
            let st = r.statistics
            print("  chunks                 \(st.int8Chunks) int8, \(st.bf16Chunks) bf16, \(st.fallbackChunks) fp32 fallbacks of \(st.fallbackChunks + st.screenedChunks); int8 screens abandoned for bf16: \(st.int8Abandoned)")
            print("  nonzero codes          \(r.screenedNonzeros) screened, \(r.fp32Nonzeros) fp32")
        }
        print("load: \(BenchLoad.text)")
    }
}
