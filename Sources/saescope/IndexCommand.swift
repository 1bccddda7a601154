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
        With --codes instead of --acts, the codes come from a delphi latent cache (no encoding, no dictionary needed; give --sae too to open the index with its decoder).
        Open the result with: saescope open --sae DICTIONARY --index FILE (no --acts for a --codes index).
        """)

    @Option(help: "Dictionary (as for eval). With --codes optional: the dictionary whose codes they are (its width must be the splits'), recorded so its decoder gives neighbours and logit effects when the index is opened.") var sae: String?
    @Option(help: "Activation cache (as for eval).") var acts: String?
    @Option(help: "A delphi latent cache instead of --acts: a <run>/latents/<hookpoint>/ folder of <start>_<end>.safetensors splits, or the run or latents/ folder when it holds one hookpoint.") var codes: String?
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
    @OptionGroup var precision: EncodePrecisionOptions
    @OptionGroup var special: SpecialTokenOptions
    @Flag(name: .customLong("no-weight-cosines"), help: "Leave the max decoder/encoder cosines and the encoder-decoder cosine out of the index (two F x F x D GEMMs after the pass: about 12 s at F=16384, D=512 on 2 cores); the interface then computes them in a background job.")
    var noWeightCosines = false
    @Flag(help: "Print a JSON summary.") var json = false
    @Flag(help: "Replace an existing --out file (never one this run reads).") var force = false

    func validate() throws {
        _ = try options()
        guard (acts == nil) != (codes == nil) else { throw ValidationError("give either --acts or --codes") }
        guard codes != nil || sae != nil else { throw ValidationError("--acts needs --sae") }
        if codes != nil && special.excludeSpecial { throw ValidationError("--exclude-special needs --acts (a latent cache has no token rows to leave out)") }
        // Accepted silently, it read as if the codes had been recomputed in fp32.
        if codes != nil && precision.exactFP32 { throw ValidationError("--exact-fp32 needs --acts (a latent cache's codes are read as they are, not encoded)") }
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
        precision.apply()
        var options = try options()
        if let codes { return try runFromCodes(codes, options: options) }
        guard let sae, let acts else { throw ValidationError("--acts needs --sae") }
        let dictionary = try DictionaryLoader.load(path: sae)
        let cache = try ActivationCache(path: acts)
        options.excludeSpecial = try special.resolve(dictionary: dictionary, cache: cache) == nil ? nil : true
        // Beside the default file, named by its settings when they are not the defaults (as `open` looks for it).
        let output = out ?? IndexLocation.path(sae: sae, acts: acts, options: options)
        // saescope's own default index file is its own to replace; a named one only with --force.
        try OutputFile.checkWritable(output, overwrite: force || out == nil, inputs: [sae, acts])
        try buildAndWrite(to: output, source: acts) { progress in
            var index = try FeatureIndexBuilder.build(sae: dictionary, saePath: sae, cache: cache, options: options, progress: progress)
            // The cosines are the dictionary's, the same for every shard: shard 0 alone computes
            // them (merge keeps whichever shard has them), not every task of a job array.
            if !noWeightCosines && options.shardIndex == 0 { try index.attachWeightMetrics(dictionary) }
            return index
        }
    }

    /// The part every index source shares: progress on stderr, the build, no index of nothing
    /// (`source` is the file named then), the atomic write, the summary.
    func buildAndWrite(to output: String, source: String,
                       build: (_ progress: @escaping (Int, Int) -> Void) throws -> FeatureIndex) throws {
        try IndexLocation.prepareDirectory(for: output)
        InterruptCleanup.install()
        let progress = ProgressLine(label: "index")
        let started = Date()
        let index = try build { done, total in progress.update(done: done, total: total) }
        progress.finish()
        guard index.tokenCount > 0 else {
            throw SaescopeError(index.metrics.skippedCount == 0 ? "no tokens to index"
                                : "all \(index.metrics.skippedCount) indexed rows hold NaN or infinity", file: source)
        }
        try IndexFile.write(index, to: output)
        printSummary(index, output: output, seconds: Date().timeIntervalSince(started))
    }

    func printSummary(_ index: FeatureIndex, output: String, seconds: Double) {
        let dead = (0..<index.featureCount).filter { index.isDead($0) }.count
        if json {
            print("{\"out\": \"\(output)\", \"features\": \(index.featureCount), \"tokens\": \(index.tokenCount), \"dead\": \(dead), "
                  + "\"seconds\": \(seconds), \"tokens_per_second\": \(Double(index.tokenCount) / max(seconds, 1e-9)), "
                  + "\"metrics\": \(MetricsReport.json(index.metrics.result(), core: index.coreMetrics)), \"rows\": \(index.rowCoverage.json)}")
        } else {
            print("indexed \(index.featureCount) features over \(index.tokenCount) tokens in \(String(format: "%.1f", seconds)) s "
                  + "(\(String(format: "%.0f", Double(index.tokenCount) / max(seconds, 1e-9))) tokens/s); \(dead) dead")
            print("rows: \(index.rowCoverage.summary)")
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
    @Flag(help: "Replace an existing --out file (never one of the shards).") var force = false
    @Flag(name: .customLong("allow-partial"), help: "Write a merge that lacks some of the N shards.") var allowPartial = false

    func run() throws {
        guard !shards.isEmpty else { throw ValidationError("give at least one shard index") }
        try OutputFile.checkWritable(out, overwrite: force, inputs: shards)
        let parts = try shards.map { try IndexFile.read(path: $0) }
        let merged = try IndexMerger.merge(parts, paths: shards)
        let present = Set(merged.provenance.shards), shardCount = merged.provenance.shardCount
        if present.count < shardCount {
            // The first few missing shards, without enumerating all N (N comes from the files).
            var listed: [Int] = [], shard = 0
            while listed.count < 10, shard < shardCount {
                if !present.contains(shard) { listed.append(shard) }
                shard += 1
            }
            let missingCount = shardCount - present.count
            let problem = "\(missingCount) of \(shardCount) shards are missing ("
                + listed.map(String.init).joined(separator: ", ") + (missingCount > listed.count ? ", ...)" : ")")
            guard allowPartial else { throw SaescopeError("\(problem); pass --allow-partial to merge what is there", file: shards[0]) }
            FileHandle.standardError.write(Data("saescope: warning: \(problem)\n".utf8))
        }
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
