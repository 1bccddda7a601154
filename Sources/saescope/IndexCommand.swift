import ArgumentParser
import Foundation
import SAECore

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index every feature of a dictionary over an activation cache (exemplars, histograms, density, metrics).",
        discussion: """
        One streaming pass. The index is written atomically; interrupting the run leaves no file.
        Shard a large cache with --shard I/N on N machines, then combine with `saescope merge`.
        """)

    @Option(help: "Dictionary (as for eval).") var sae: String
    @Option(help: "Activation cache (as for eval).") var acts: String
    @Option(help: "Index file to write (default: in ~/.cache/saescope, keyed by the two paths; settings other than the defaults in a file named by them).") var out: String?
    @Option(name: .customLong("top-k"), help: "Top exemplars per feature.") var topK = 20
    @Option(help: "Context tokens on each side of an exemplar.") var context = 5
    @Option(help: "Equal-width activation intervals for interval exemplars (even).") var intervals = 10
    @Option(name: .customLong("per-interval"), help: "Exemplars sampled per interval.") var perInterval = 5
    @Option(help: "Histogram bins (even).") var bins = 50
    @Option(name: .customLong("min-act"), help: "Activations below this count as zero.") var minAct: Float = 0
    @Option(name: .customLong("max-tokens"), help: "Index at most N tokens.") var maxTokens: Int?
    @Option(name: .customLong("first-token"), help: "Start at token T (with --max-tokens: a window of the cache).") var firstToken: Int?
    @Option(help: "Index shard I of N (a contiguous 1/N of the sequences), e.g. 0/4.") var shard: String?
    @Option(help: "Seed of the interval sampling.") var seed: UInt64 = 0
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws {
        _ = try options()
    }

    /// The pass's options from the flags; invalid combinations are usage errors.
    private func options() throws -> FeatureIndexOptions {
        var options = FeatureIndexOptions()
        options.topK = topK
        options.context = context
        options.intervals = intervals
        options.perInterval = perInterval
        options.bins = bins
        options.minActivation = minAct
        options.maxTokens = maxTokens
        options.firstToken = firstToken
        options.seed = seed
        if let shard {
            let parts = shard.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--shard must look like I/N, e.g. 0/4") }
            options.shardIndex = parts[0]
            options.shardCount = parts[1]
        }
        do { try options.validate() } catch let error as SaescopeError { throw ValidationError(error.message) }
        return options
    }

    func run() throws {
        let options = try options()
        let dictionary = try DictionaryLoader.load(path: sae)
        let cache = try ActivationCache(path: acts)
        // Beside the default file, named by its settings when they are not the defaults (as `open` looks for it).
        let output = out ?? IndexLocation.path(sae: sae, acts: acts, options: options)
        try IndexLocation.prepareDirectory(for: output)
        InterruptCleanup.install()
        let progress = ProgressLine(label: "index")
        let started = Date()
        let index = try FeatureIndexBuilder.build(sae: dictionary, saePath: sae, cache: cache, options: options) { done, total in
            progress.update(done: done, total: total)
        }
        progress.finish()
        try IndexFile.write(index, to: output)
        let seconds = Date().timeIntervalSince(started)
        let dead = (0..<index.featureCount).filter { index.isDead($0) }.count
        if json {
            print("{\"out\": \"\(output)\", \"features\": \(index.featureCount), \"tokens\": \(index.tokenCount), \"dead\": \(dead), "
                  + "\"seconds\": \(seconds), \"tokens_per_second\": \(Double(index.tokenCount) / max(seconds, 1e-9)), "
                  + "\"metrics\": \(MetricsReport.json(index.metrics.result()))}")
        } else {
            print("indexed \(index.featureCount) features over \(index.tokenCount) tokens in \(String(format: "%.1f", seconds)) s "
                  + "(\(String(format: "%.0f", Double(index.tokenCount) / max(seconds, 1e-9))) tokens/s); \(dead) dead")
            print("wrote \(output)")
        }
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine shard indexes (from index --shard I/N) into the index one pass would give.")

    @Argument(help: "Shard index files.") var shards: [String]
    @Option(help: "Merged index file to write.") var out: String

    func run() throws {
        guard !shards.isEmpty else { throw ValidationError("give at least one shard index") }
        let parts = try shards.map { try IndexFile.read(path: $0) }
        let merged = try IndexMerger.merge(parts)
        InterruptCleanup.install()
        try IndexFile.write(merged, to: out)
        print("merged \(parts.count) shards (\(merged.tokenCount) tokens) into \(out)")
    }
}

/// On SIGINT/SIGTERM/SIGHUP, remove a half-written output file and exit: no partial index is left.
enum InterruptCleanup {
    static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { received in
                AtomicFile.removeActiveTemporaryFile()
                _exit(128 + received)
            }
        }
    }
}
