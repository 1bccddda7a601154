import ArgumentParser
import Foundation
import SAECore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures (not pass/fail).",
        subcommands: [BenchIndexCommand.self, BenchCompareCommand.self, BenchUICommand.self, BenchCodesCommand.self])
}

struct BenchIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "The index pass on a synthetic dictionary and cache, as a ratio to plain sgemm of the same shapes.")

    @Option(help: "Activation dimension.") var d = 512
    @Option(help: "Features.") var f = 32768
    @Option(help: "Tokens.") var n = 100_000
    @Option(help: "Target mean L0.") var l0 = 50.0
    @Option(help: "Rows per chunk (default: the index pass's own choice).") var chunk: Int?

    func validate() throws {
        guard d >= 1, f >= 1, n >= 1 else { throw ValidationError("--d, --f and --n must be at least 1") }
        guard l0.isFinite, l0 > 0, l0 <= Double(f) else { throw ValidationError("--l0 must be a positive number of features, at most --f") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1") }
        // The synthetic dictionary and cache hold D*F and N*D floats, a chunk's codes chunk*F: their
        // byte counts must be representable.
        for (a, b, what) in [(d, f, "--d x --f"), (n, d, "--n x --d"), (chunk ?? 1, f, "--chunk x --f")] {
            let (elements, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow, !elements.multipliedReportingOverflow(by: 4).overflow else {
                throw ValidationError("\(what) is too large")
            }
        }
    }

    func run() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let result = try IndexBenchmark.run(d: d, f: f, n: n, meanL0: l0, chunkRows: chunk, scratchDirectory: scratch) { message in
            FileHandle.standardError.write(Data("\(message)\n".utf8))
        }
        func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
        print("shape                D=\(d) F=\(f) N=\(n), mean L0 \(String(format: "%.1f", result.meanL0))")
        print(String(format: "plain sgemm          %.2f s  (%.1f GFLOP/s)", result.sgemmSeconds, result.sgemmGflops))
        print(String(format: "index pass           %.2f s  (%.1f GFLOP/s encode, %.0f tokens/s)", result.indexSeconds, result.encodeGflops, result.tokensPerSecond))
        print(String(format: "ratio to sgemm       %.3f", result.ratio))
        print(String(format: "write index          %.3f s", result.writeSeconds))
        print(String(format: "open index           %.1f ms", result.openSeconds * 1000))
        print("peak anonymous memory during the pass \(mib(result.peakHeapBytes)) (cache memory-mapped, not counted)")
        print("peak resident        \(mib(result.peakResidentBytes)) (mapped cache pages included)")
    }
}
