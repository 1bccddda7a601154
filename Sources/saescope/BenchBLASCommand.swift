import ArgumentParser
import Foundation
import SAECore

/// `bench blas`: sgemm of the index pass's shape under every kernel family the CPU runs.
struct BenchBLASCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas",
        abstract: "sgemm of the index pass's shape under every kernel family this CPU runs (child processes), and the default's ratio to the best.")

    @Option(help: "Activation dimension.") var d = 384
    @Option(help: "Features.") var f = 3072
    @Option(help: "Tokens per timed pass.") var n = 16384
    @Option(help: "Interleaved rounds (each family's best is kept).") var rounds = 2
    @Option(help: "Timed passes per child (after one untimed).") var repetitions = 2
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard d > 0, f > 0, n > 0, rounds > 0, repetitions > 0 else { throw ValidationError("sizes, rounds and repetitions must be positive") }
        try BenchSizes.requireRepresentable([(d, f, "--d x --f"), (n, d, "--n x --d"), (n, f, "--n x --f")])
    }

    func run() throws {
        let report = BLASReport.current()
        if !json { print(report.line) }
        let families = CPUFeatures.current.map { KernelFamily.forcible(on: $0) } ?? []
        let result = try KernelBenchmark.run(SGEMMShape(d: d, f: f, n: n), families: families, rounds: rounds,
                                             repetitions: repetitions, log: BenchLog.progress)
        if json {
            let rows = ([result.defaultRun] + result.families).map { m -> [String: Any] in
                ["label": m.label, "core": m.core, "threads": m.threads, "gflops": m.gflops]
            }
            let object: [String: Any] = ["blas": report.json, "d": d, "f": f, "n": n, "runs": rows,
                                         "best": result.best.label, "default_ratio": result.defaultRatio]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print("sgemm [\(result.shape.chunk), \(d)] x [\(d), \(f)] over \(n) tokens, best of \(rounds) rounds x \(repetitions) passes; load: \(BenchLoad.text)")
        for m in [result.defaultRun] + result.families {
            let reported = m.forced == nil || m.core == m.forced?.name ? "" : " (library ran \(m.core))"
            let core = m.forced == nil ? " (\(m.core))" : reported
            let label = "\(m.label)\(core)".padding(toLength: max(24, m.label.count + core.count), withPad: " ", startingAt: 0)
            print(String(format: "  %@ %7.1f GFLOP/s  %.2f of the best family", label, m.gflops, m.gflops / result.best.gflops))
        }
        print(String(format: "default (%@) / best forced family (%@): %.3f", result.defaultRun.core, result.best.label, result.defaultRatio))
    }
}

/// The child of `bench blas`, `bench index` and `bench shapes`: one sgemm timing, one JSON line.
struct BenchSGEMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgemm", abstract: "One sgemm timing with this process's kernels (a child of the other benchmarks).",
        shouldDisplay: false)

    @Option var d: Int
    @Option var f: Int
    @Option var n: Int
    @Option var chunk: Int
    @Option var repetitions = 2

    func validate() throws {
        guard d > 0, f > 0, n > 0, chunk > 0, repetitions > 0 else { throw ValidationError("sizes and repetitions must be positive") }
        try BenchSizes.requireRepresentable([(d, f, "--d x --f"), (n, d, "--n x --d"), (chunk, f, "--chunk x --f")])
    }

    func run() throws {
        print(KernelBenchmark.childReport(SGEMMShape(d: d, f: f, n: n, chunk: chunk), repetitions: repetitions))
    }
}

/// Benchmark sizes from the command line: each product of two sizes, as a count of 4-byte
/// floats, must be representable (a synthetic matrix of that many floats is allocated).
enum BenchSizes {
    static func requireRepresentable(_ products: [(Int, Int, String)]) throws {
        for (a, b, what) in products {
            let (elements, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow, !elements.multipliedReportingOverflow(by: 4).overflow else {
                throw ValidationError("\(what) is too large")
            }
        }
    }
}

/// Progress of the benchmarks, on stderr so stdout stays the report.
enum BenchLog {
    static func progress(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}
