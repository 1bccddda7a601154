import Foundation

/// sgemm throughput under every kernel family the CPU runs, each in a child process with the
/// family forced, next to a child that starts as a user's would (the default). Dividing by the
/// best family, not by an sgemm in the same process, is what lets a slow default show.
public enum KernelBenchmark {
    public struct Measurement: Sendable {
        /// nil for the default child.
        public var forced: KernelFamily?
        /// The family the child reported using.
        public var core: String
        public var threads: Int
        /// Best over the rounds.
        public var gflops: Double
        public var seconds: Double
        /// CPU seconds of the fastest pass (all threads).
        public var cpuSeconds: Double

        public var label: String { forced?.name ?? "default" }
    }

    public struct Result: Sendable {
        public var shape: SGEMMShape
        public var defaultRun: Measurement
        public var families: [Measurement]

        public var best: Measurement { families.max { $0.gflops < $1.gflops } ?? defaultRun }
        /// The default's throughput as a fraction of the best forced family's.
        public var defaultRatio: Double { defaultRun.gflops / best.gflops }
    }

    /// The child's arguments for one timing (`saescope bench sgemm`).
    public static func childArguments(_ shape: SGEMMShape, repetitions: Int) -> [String] {
        ["bench", "sgemm", "--d", "\(shape.d)", "--f", "\(shape.f)", "--n", "\(shape.n)", "--chunk", "\(shape.chunk)",
         "--repetitions", "\(repetitions)"]
    }

    /// The child's one JSON line.
    public static func childReport(_ shape: SGEMMShape, repetitions: Int) -> String {
        let (seconds, cpuSeconds) = SGEMMTiming.bestSeconds(shape, repetitions: repetitions)
        let library = BLASLibrary.current()
        let object: [String: Any] = ["core": library.core, "threads": library.threads, "seconds": seconds,
                                     "cpu_seconds": cpuSeconds, "gflops": shape.flops / seconds / 1e9]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Times the default and each family `rounds` times, interleaved (so load from other
    /// programs falls on all of them alike), keeping each one's best.
    public static func run(_ shape: SGEMMShape, families: [KernelFamily], rounds: Int, repetitions: Int,
                           child: TimedChild = .saescope, log: (String) -> Void) throws -> Result {
        let runs: [KernelFamily?] = [nil] + families.map { Optional($0) }
        var best = [Measurement?](repeating: nil, count: runs.count)
        for round in 1...max(1, rounds) {
            for (slot, family) in runs.enumerated() {
                log("sgemm D=\(shape.d) F=\(shape.f) N=\(shape.n), \(family?.name ?? "default") kernels, round \(round)/\(rounds)")
                let output = try child.runChecked(childArguments(shape, repetitions: repetitions), forcing: family)
                let measurement = try parse(output.stdout, forced: family)
                if best[slot].map({ measurement.gflops > $0.gflops }) ?? true { best[slot] = measurement }
            }
        }
        return Result(shape: shape, defaultRun: best[0]!, families: best.dropFirst().map { $0! })
    }

    static func parse(_ text: String, forced: KernelFamily?) throws -> Measurement {
        guard let line = text.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let core = object["core"] as? String, let gflops = object["gflops"] as? Double,
              let seconds = object["seconds"] as? Double else {
            throw SaescopeError("the sgemm child printed no measurement: \(text.prefix(200))")
        }
        return Measurement(forced: forced, core: core, threads: object["threads"] as? Int ?? 0, gflops: gflops, seconds: seconds,
                           cpuSeconds: object["cpu_seconds"] as? Double ?? .nan)
    }
}
