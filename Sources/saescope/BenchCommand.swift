import ArgumentParser
import Foundation
import SAECore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures (not pass/fail).",
        subcommands: [BenchIndexCommand.self, BenchShapesCommand.self, BenchBLASCommand.self, BenchCompareCommand.self, BenchUICommand.self, BenchLabelsCommand.self,
                      BenchSGEMMCommand.self, BenchCodesCommand.self, BenchModelCommand.self, BenchScanCommand.self, BenchTextCommand.self,
                      BenchScreenedCommand.self])
}

struct BenchIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "The index pass on a synthetic dictionary and cache, as a ratio to sgemm of the same shapes (same kernels, and the best kernel family).")

    @Option(help: "Activation dimension.") var d = 512
    @Option(help: "Features.") var f = 32768
    @Option(help: "Tokens.") var n = 100_000
    @Option(help: "Target mean L0.") var l0 = 50.0
    @Option(help: "Rows per chunk (default: the index pass's own choice).") var chunk: Int?
    @Option(name: .customLong("kernel-tokens"), help: "Tokens of each kernel family's sgemm child.") var kernelTokens = 4096

    func validate() throws {
        guard d >= 1, f >= 1, n >= 1 else { throw ValidationError("--d, --f and --n must be at least 1") }
        guard l0.isFinite, l0 > 0, l0 <= Double(f) else { throw ValidationError("--l0 must be a positive number of features, at most --f") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1") }
        guard kernelTokens >= 1 else { throw ValidationError("--kernel-tokens must be at least 1") }
        // The synthetic dictionary and cache hold D*F and N*D floats, a chunk's codes chunk*F.
        try BenchSizes.requireRepresentable([(d, f, "--d x --f"), (n, d, "--n x --d"), (chunk ?? 1, f, "--chunk x --f")])
    }

    func run() throws {
        print(BLASReport.current().line)
        print(EncodePath.machineSummary)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let result = try IndexBenchmark.run(d: d, f: f, n: n, meanL0: l0, chunkRows: chunk, scratchDirectory: scratch) { message in
            FileHandle.standardError.write(Data("\(message)\n".utf8))
        }
        let families = CPUFeatures.current.map { ShapeBenchmark.referenceFamilies(on: $0) } ?? []
        let kernels = try KernelBenchmark.run(SGEMMShape(d: d, f: f, n: min(n, kernelTokens), chunk: chunk), families: families,
                                              rounds: 1, repetitions: 2, log: BenchLog.progress)
        func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
        print("shape                D=\(d) F=\(f) N=\(n), mean L0 \(String(format: "%.1f", result.meanL0))")
        print(String(format: "plain sgemm          %.2f s  (%.1f GFLOP/s)", result.sgemmSeconds, result.sgemmGflops))
        print(String(format: "index pass           %.2f s  (%.1f GFLOP/s encode, %.0f tokens/s)", result.indexSeconds, result.encodeGflops, result.tokensPerSecond))
        print(String(format: "ratio to sgemm       %.3f (same process, same kernels); in CPU time %.3f; load %@", result.ratio, result.cpuRatio, BenchLoad.text))
        print(String(format: "best-kernel sgemm    %.1f GFLOP/s (%@, child process); index / best %.3f",
                     kernels.best.gflops, kernels.best.label, result.encodeGflops / kernels.best.gflops))
        print(String(format: "write index          %.3f s", result.writeSeconds))
        print(String(format: "open index           %.1f ms", result.openSeconds * 1000))
        print("peak anonymous memory during the pass \(mib(result.peakHeapBytes)) (cache memory-mapped, not counted)")
        print("peak resident        \(mib(result.peakResidentBytes)) (mapped cache pages included)")
    }
}

struct BenchShapesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shapes",
        abstract: "Whole-process index and eval on synthetic dictionaries of four shapes, against the best-kernel sgemm of each.")

    @Option(help: "Interleaved rounds (each figure's best is kept).") var rounds = 1
    @Option(help: "Target mean L0.") var l0 = 50.0
    @Flag(help: "A quarter of the tokens.") var quick = false
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard l0.isFinite, l0 > 0 else { throw ValidationError("--l0 must be a positive number of features") }
    }

    func run() throws {
        let report = BLASReport.current()
        if !json { print(report.line); print(EncodePath.machineSummary) }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-shapes-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var results: [ShapeBenchmark.Result] = []
        for var shape in ShapeBenchmark.standard {
            if quick { shape.n /= 4 }
            results.append(try ShapeBenchmark.run(shape, meanL0: l0, rounds: rounds, scratchDirectory: scratch, log: BenchLog.progress))
        }
        if json {
            let rows = results.map { r -> [String: Any] in
                ["d": r.shape.d, "f": r.shape.f, "n": r.shape.n, "sgemm_seconds": r.sgemmSeconds, "best_family": r.sgemm.best.label,
                 "default_sgemm_ratio": r.sgemm.defaultRatio, "index_seconds": r.indexSeconds, "eval_seconds": r.evalSeconds,
                 "index_ratio": r.indexRatio, "eval_ratio": r.evalRatio, "sgemm_cpu_seconds": r.sgemmCPUSeconds,
                 "index_cpu_seconds": r.indexCPUSeconds, "eval_cpu_seconds": r.evalCPUSeconds,
                 "index_cpu_ratio": r.indexCPURatio, "eval_cpu_ratio": r.evalCPURatio]
            }
            let object: [String: Any] = ["blas": report.json, "shapes": rows]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print("wall time (what a user waits), best of \(rounds) round\(rounds == 1 ? "" : "s"); load: \(BenchLoad.text)")
        print("shape            tokens  best sgemm           default/best  index s  index/sgemm (target)  eval s  eval/sgemm (<= \(ShapeBenchmark.evalTarget))")
        for r in results {
            let target = r.shape.indexTarget.map { String(format: ">= %.2f", $0) } ?? "-"
            print(String(format: "D=%-4d F=%-6d %6d  %6.2f s %-11@ %6.3f     %7.2f   %6.3f (%@)   %7.2f   %6.3f",
                         r.shape.d, r.shape.f, r.shape.n, r.sgemmSeconds, r.sgemm.best.label as NSString, r.sgemm.defaultRatio,
                         r.indexSeconds, r.indexRatio, target as NSString, r.evalSeconds, r.evalRatio))
        }
        print("CPU time (all threads; steadier when other programs load the machine)")
        print("shape            sgemm cpu s  index cpu s  sgemm/index  eval cpu s  eval/sgemm")
        for r in results {
            print(String(format: "D=%-4d F=%-6d %10.2f  %11.2f  %11.3f  %10.2f  %10.3f", r.shape.d, r.shape.f,
                         r.sgemmCPUSeconds, r.indexCPUSeconds, r.indexCPURatio, r.evalCPUSeconds, r.evalCPURatio))
        }
    }
}

/// The machine's load average, printed with timings taken on a shared machine.
enum BenchLoad {
    static var text: String {
        guard let handle = FileHandle(forReadingAtPath: "/proc/loadavg") else { return "unknown" }
        let fields = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
        return fields.prefix(3).joined(separator: " ") + " on \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
}
