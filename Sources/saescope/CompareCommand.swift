import ArgumentParser
import Foundation
import SAECore

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two dictionaries: metrics on the same activations, features matched by decoder cosine.",
        discussion: """
        Decoder rows are normalised to unit length (a zero row has cosine 0 with every row). For every
        feature of A its best --top matches in B, and the reverse (ties to the lower index), from a
        blocked GEMM that never holds the F_A x F_B matrix. The one-to-one assignment is optimal
        (Hungarian / Jonker-Volgenant) when F_A * F_B <= 4096 * 4096, and greedy on the candidate
        lists above that. The best-match histogram has 20 bins over [-1, 1]; threshold counts are
        features whose best match is at or above each threshold. The column "A -> random" (JSON:
        "random_baseline") is the chance level of every figure: A matched the same way against a seeded
        random dictionary of B's shape (unit Gaussian rows); it doubles the matching time (--no-baseline skips it).
        With indexes of both dictionaries over the same cache (--index-a/--index-b, or the default
        index locations of `saescope index` when --acts is given): the activation agreement of each
        assigned pair, the Jaccard overlap of their top-exemplar rows.
        --out writes the full matching as JSON (atomically).
        """)

    @Option(help: "Dictionary A (as for eval --sae).") var a: String
    @Option(help: "Dictionary B (as for eval --sae).") var b: String
    @Option(help: "Activation cache: evaluate both dictionaries on it, side by side.") var acts: String?
    @Option(help: "Best matches per feature and direction.") var top = 5
    @Option(help: "Best-match cosine thresholds to count, comma-separated.") var thresholds = "0.9,0.7,0.5"
    @Option(name: .customLong("index-a"), help: "Index of A (from saescope index) for activation agreement.") var indexA: String?
    @Option(name: .customLong("index-b"), help: "Index of B over the same cache.") var indexB: String?
    @Option(name: .customLong("max-tokens"), help: "Evaluate only the first N tokens of --acts.") var maxTokens: Int?
    @OptionGroup var precision: EncodePrecisionOptions
    @Flag(help: "Print the summary as one JSON object.") var json = false
    @Option(help: "Write the full matching (every feature's matches both ways, the assignment pairs) as JSON.") var out: String?
    @Flag(help: "Replace an existing --out file (never one this run reads).") var force = false
    @Flag(name: .customLong("no-baseline"), help: "Skip the random baseline (it doubles the matching time).") var noBaseline = false
    @Flag(name: .customLong("no-weight-cosines"),
          help: "With --acts: skip SAEBench's weight cosines of each dictionary (F^2 D multiply-adds each; they print n/a).")
    var noWeightCosines = false

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        _ = try parsedThresholds()
        if (indexA == nil) != (indexB == nil) { throw ValidationError("give both --index-a and --index-b, or neither") }
        if let maxTokens, maxTokens <= 0 { throw ValidationError("--max-tokens must be positive") }
    }

    func parsedThresholds() throws -> [Float] {
        let values = thresholds.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= -1 && $0! <= 1 }) else {
            throw ValidationError("--thresholds must be comma-separated cosines between -1 and 1, e.g. 0.9,0.7,0.5")
        }
        return values.map { $0! }
    }

    func run() throws {
        precision.apply()
        var options = CompareOptions()
        options.top = top
        options.thresholds = try parsedThresholds()
        if let out {
            try OutputFile.checkWritable(out, overwrite: force, inputs: [a, b, acts, indexA, indexB].compactMap { $0 }
                                          + (defaultIndexPaths().map { [$0.0, $0.1] } ?? []))
        }
        options.randomBaseline = !noBaseline
        let dictionaryA = try DictionaryLoader.load(path: a)
        let dictionaryB = try DictionaryLoader.load(path: b)
        try DictionaryComparison.requireSameDimension(dictionaryA, pathA: a, dictionaryB, pathB: b)

        var metrics: (a: Evaluated, b: Evaluated)?
        if let acts {
            let cache = try ActivationCache(path: acts)
            let evaluatedA = try evaluate(dictionaryA, label: "eval A", cache: cache)
            let evaluatedB = try evaluate(dictionaryB, label: "eval B", cache: cache)
            metrics = (evaluatedA, evaluatedB)
        }

        let progress = MatchProgress()
        var comparison = try DictionaryComparison.compute(dictionaryA, pathA: a, dictionaryB, pathB: b, options: options) { done, total in
            progress.update(done: done, total: total)
        }
        progress.finish()
        if let metrics {
            comparison.metricsA = metrics.a.metrics
            comparison.metricsB = metrics.b.metrics
            comparison.coreA = metrics.a.core
            comparison.coreB = metrics.b.core
            comparison.metricsCachePath = acts.map { CanonicalPath.of($0) }
        }
        if let indexA, let indexB {
            try comparison.addAgreement(indexA: try IndexFile.read(path: indexA), pathA: indexA,
                                        indexB: try IndexFile.read(path: indexB), pathB: indexB)
        } else if let (pathA, pathB) = defaultIndexPaths() {
            // Found, not asked for: an unusable pair is a warning, not an error.
            do {
                try comparison.addAgreement(indexA: try IndexFile.read(path: pathA), pathA: pathA,
                                            indexB: try IndexFile.read(path: pathB), pathB: pathB)
            } catch let error as SaescopeError {
                comparison.warnings.append("indexes found at the default location were not used: \(error)")
            }
        }
        for warning in comparison.warnings {
            FileHandle.standardError.write(Data("saescope: warning: \(warning)\n".utf8))
        }
        if let out {
            InterruptCleanup.install()
            try ComparisonJSON.write(comparison, to: out)
        }
        if json {
            print(ComparisonJSON.summary(comparison))
        } else {
            print(CompareReport.table(comparison))
            if let out { print("wrote \(out)") }
        }
    }

    typealias Evaluated = (metrics: DictionaryMetrics, core: CoreMetrics)

    /// eval's metrics and SAEBench's core metrics, as `saescope eval` computes them.
    private func evaluate(_ sae: SparseAutoencoder, label: String, cache: ActivationCache) throws -> Evaluated {
        let progress = ProgressLine(label: label)
        let pass = try DictionaryEvaluator.run(sae, cache: cache, maxTokens: maxTokens, options: .init()) { done, total in
            progress.update(done: done, total: total)
        }
        progress.finish()
        let accumulator = pass.metrics
        let core = CoreMetrics(fireCounts: accumulator.featureFireCounts!, tokens: accumulator.tokenCount,
                               projectionScale: accumulator.projectionScale,
                               weights: noWeightCosines ? nil : try WeightMetrics(sae: sae), sequences: pass.sequences)
        return (accumulator.result(), core)
    }

    /// `saescope index`'s default files for both dictionaries over --acts, when both exist.
    private func defaultIndexPaths() -> (String, String)? {
        guard let acts else { return nil }
        let pathA = IndexLocation.defaultPath(sae: a, acts: acts), pathB = IndexLocation.defaultPath(sae: b, acts: acts)
        let manager = FileManager.default
        return manager.fileExists(atPath: pathA) && manager.fileExists(atPath: pathB) ? (pathA, pathB) : nil
    }
}

/// "match [#####-----]  50%  ETA 4s" on stderr while the decoders are matched, when stderr is a terminal.
final class MatchProgress {
    private let enabled = isatty(STDERR_FILENO) == 1
    private let started = Date()
    private var drew = false

    func update(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        let fraction = Double(done) / Double(total), elapsed = Date().timeIntervalSince(started)
        let filled = Int(fraction * 30)
        let remaining = fraction > 0 ? elapsed / fraction - elapsed : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled)
        FileHandle.standardError.write(Data(("\rmatch [\(bar)]" + String(format: " %3.0f%%  ETA %.0fs ", fraction * 100, remaining)).utf8))
        drew = true
    }

    func finish() {
        guard enabled, drew else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// The text rendering of a comparison.
enum CompareReport {
    static func table(_ c: DictionaryComparison) -> String {
        var lines: [String] = []
        for (name, identity, zero) in [("A", c.a, c.zeroRowsA), ("B", c.b, c.zeroRowsB)] {
            var line = "\(name)  \(identity.path)  (\(identity.library) \(identity.kind), \(identity.shapeText), F=\(identity.featureCount))"
            if zero > 0 { line += ", zero decoder rows: \(zero)" }
            lines.append(line)
        }
        if let ma = c.metricsA, let mb = c.metricsB {
            lines.append("")
            let targets = [c.a, c.b].contains(where: \.isTranscoder) ? "; transcoders measured against its targets" : ""
            lines.append("metrics on \(c.metricsCachePath ?? "the cache") (\(ma.tokenCount) tokens\(targets))")
            lines.append(contentsOf: metricsTable(ma, mb))
            let legend = MetricDefinition.all.compactMap { d -> String? in
                d.shortLabel == d.label ? nil : "\(d.shortLabel) = \(d.label)"
            }
            lines.append("  " + legend.joined(separator: "; "))
            if let ca = c.coreA, let cb = c.coreB {
                lines.append("")
                lines.append("SAEBench core metrics (saescope eval --help defines each)")
                lines.append(contentsOf: coreMetricsTable(ca, cb))
                // A metric whose column already shows its whole name needs no legend entry ("x = x").
                lines.append("  " + CoreMetrics.definitions.compactMap { $0.shortLabel == $0.label ? nil : "\($0.shortLabel) = \($0.label)" }
                    .joined(separator: "; "))
                lines.append("  shrinkage: rel.bias = E||x_hat||^2 / E<x, x_hat>, proj.scale its reciprocal (which measures it is debated)")
            }
        }
        lines.append("")
        lines.append("decoder matching (cosine of unit-normalised decoder rows; top \(c.options.top) per feature kept)")
        let s1 = c.summaryAToB, s2 = c.summaryBToA, random = c.baseline?.summaryAToRandom
        lines.append(row(["", "A -> B", "B -> A"] + (random == nil ? [] : ["A -> random"])))
        lines.append(row(["mean best cosine", fixed(s1.meanBestCosine), fixed(s2.meanBestCosine)] + (random.map { [fixed($0.meanBestCosine)] } ?? [])))
        lines.append(row(["median best cosine", fixed(s1.medianBestCosine), fixed(s2.medianBestCosine)] + (random.map { [fixed($0.medianBestCosine)] } ?? [])))
        for (i, (x, y)) in zip(s1.thresholdCounts, s2.thresholdCounts).enumerated() {
            lines.append(row(["best >= \(x.threshold)", count(x.count, of: c.a.featureCount), count(y.count, of: c.b.featureCount)]
                             + (random.map { [count($0.thresholdCounts[i].count, of: c.a.featureCount)] } ?? [])))
        }
        lines.append(ChanceLevel.caption(dimension: c.a.outputDimension, count: c.b.featureCount) + " (A -> B), "
                     + ChanceLevel.caption(dimension: c.a.outputDimension, count: c.a.featureCount) + " (B -> A): the expected best cosine with random directions")
        let assignment = c.assignment
        lines.append("")
        lines.append("assignment   \(assignment.method.rawValue): \(assignment.pairs.count) pairs, mean cosine \(fixed(assignment.meanCosine))"
                     + (assignment.method == .greedy ? " (\(assignment.rounds) rounds)" : ""))
        if assignment.unmatchedA > 0 || assignment.unmatchedB > 0 {
            lines.append("             unmatched: \(assignment.unmatchedA) of A, \(assignment.unmatchedB) of B")
        }
        lines.append("             \(assignment.methodDescription)")
        if let baseline = c.baseline {
            lines.append("random       \(baseline.assignmentMethod.rawValue): \(baseline.assignmentPairs) pairs, mean cosine \(fixed(baseline.assignmentMeanCosine))"
                         + " (A against a random dictionary of B's shape, seed \(baseline.seed))")
        }
        if let agreement = c.agreement {
            lines.append("")
            lines.append("activation agreement (Jaccard overlap of top-exemplar rows of assigned pairs, over \(agreement.cachePath))")
            lines.append("  all pairs     " + agreementText(agreement.mean, agreement.evaluatedPairs))
            for entry in agreement.meanAboveThreshold {
                lines.append("  cos >= \(entry.threshold)".padding(toLength: 16, withPad: " ", startingAt: 0) + agreementText(entry.mean, entry.pairs))
            }
        }
        lines.append("")
        lines.append("best-match cosine histogram (\(s1.histogram.counts.count) bins over [-1, 1]; empty bins below the lowest value left out)")
        lines.append(contentsOf: histogram(s1.histogram, s2.histogram))
        lines.append("")
        lines.append(String(format: "matching %.2f s, assignment %.2f s", c.matchingSeconds, c.assignmentSeconds)
                     + (c.baseline.map { String(format: ", random baseline %.2f s", $0.seconds) } ?? ""))
        return lines.joined(separator: "\n")
    }

    static func metricsTable(_ a: DictionaryMetrics, _ b: DictionaryMetrics) -> [String] {
        let columns = MetricDefinition.all
        let width = 10
        var header = "     "
        for column in columns { header += pad(column.shortLabel, width) }
        var lines = [header]
        for (name, m) in [("A", a), ("B", b)] {
            var line = "  " + name.padding(toLength: 3, withPad: " ", startingAt: 0)
            for column in columns { line += pad(compact(column.value(m)), width) }
            lines.append(line)
        }
        return lines
    }

    /// SAEBench's core metrics, a row per dictionary (a cosine not computed reads n/a).
    static func coreMetricsTable(_ a: CoreMetrics, _ b: CoreMetrics) -> [String] {
        let columns = CoreMetrics.definitions
        let width = 11
        var lines = ["     " + columns.map { pad($0.shortLabel, width) }.joined()]
        for (name, m) in [("A", a), ("B", b)] {
            lines.append("  " + name.padding(toLength: 3, withPad: " ", startingAt: 0)
                         + columns.map { pad(compact($0.value(m)), width) }.joined())
        }
        return lines
    }

    static func histogram(_ x: CosineHistogram, _ y: CosineHistogram) -> [String] {
        let bins = x.counts.count
        let first = (0..<bins).first { x.counts[$0] > 0 || y.counts[$0] > 0 } ?? 0
        let maximum = max(x.counts.max() ?? 1, y.counts.max() ?? 1, 1)
        let barWidth = 24
        func bar(_ n: Int) -> String {
            let length = n == 0 ? 0 : max(1, Int((Double(n) / Double(maximum) * Double(barWidth)).rounded()))
            return String(repeating: "#", count: length).padding(toLength: barWidth, withPad: " ", startingAt: 0)
        }
        var lines = ["  " + "cosine".padding(toLength: 16, withPad: " ", startingAt: 0) + "A -> B".padding(toLength: barWidth + 9, withPad: " ", startingAt: 0) + "B -> A"]
        for i in first..<bins {
            let edges = x.bin(i)
            let label = String(format: "[%5.2f, %5.2f", edges.lower, edges.upper) + (i == bins - 1 ? "]" : ")")
            lines.append("  " + label.padding(toLength: 16, withPad: " ", startingAt: 0)
                         + bar(x.counts[i]) + " " + String(x.counts[i]).padding(toLength: 8, withPad: " ", startingAt: 0)
                         + bar(y.counts[i]) + " " + String(y.counts[i]))
        }
        return lines
    }

    private static func agreementText(_ mean: Double?, _ pairs: Int) -> String {
        guard let mean else { return "n/a (no pairs)" }
        return String(format: "%.4f over %d pairs", mean, pairs)
    }

    private static func row(_ cells: [String]) -> String {
        cells[0].padding(toLength: 22, withPad: " ", startingAt: 0) + cells.dropFirst().map { pad($0, 20) }.joined()
    }

    private static func count(_ n: Int, of total: Int) -> String {
        String(format: "%d (%.1f%%)", n, total > 0 ? 100 * Double(n) / Double(total) : 0)
    }

    private static func fixed(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "n/a" }

    private static func compact(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        return abs(x) >= 1e4 || (abs(x) < 1e-3 && x != 0) ? String(format: "%.3e", x) : String(format: "%.4f", x)
    }

    /// `s` right-aligned in `width` columns; a longer `s` gets one leading space.
    private static func pad(_ s: String, _ width: Int) -> String {
        guard s.count < width else { return " " + s }
        return String(repeating: " ", count: width - s.count) + s
    }
}

struct BenchCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "compare's decoder matching and assignment on two random dictionaries, next to plain sgemm of the same blocks.")

    @Option(help: "Activation dimension.") var d = 512
    @Option(help: "Features of each dictionary.") var f = 32768
    @Option(name: .customLong("f-b"), help: "Features of B (default: --f).") var fB: Int?
    @Option(help: "Best matches per feature.") var top = 5
    @Option(name: .customLong("row-block"), help: "Rows of A per GEMM block.") var rowBlock = DecoderMatcher.defaultRowBlock
    @Option(name: .customLong("column-block"), help: "Rows of B per GEMM block.") var columnBlock = DecoderMatcher.defaultColumnBlock
    @Flag(name: .customLong("no-sgemm"), help: "Skip the plain sgemm reference run.") var noSGEMM = false

    func validate() throws {
        let featuresB = fB ?? f
        guard d >= 1, f >= 1, featuresB >= 1, top >= 1, rowBlock >= 1, columnBlock >= 1 else {
            throw ValidationError("--d, --f, --f-b, --top, --row-block and --column-block must be at least 1")
        }
        // The random decoders hold F*D floats, a block rows*columns, the top lists F*top: their byte counts must be representable.
        for (a, b, what) in [(f, d, "--f x --d"), (featuresB, d, "--f-b x --d"), (rowBlock, columnBlock, "--row-block x --column-block"),
                             (max(f, featuresB), top, "--f x --top")] {
            let (elements, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow, !elements.multipliedReportingOverflow(by: 8).overflow else { throw ValidationError("\(what) is too large") }
        }
    }

    func run() throws {
        var options = CompareOptions()
        options.top = top
        options.rowBlock = rowBlock
        options.columnBlock = columnBlock
        let result = try CompareBenchmark.run(d: d, featureCountA: f, featureCountB: fB ?? f, options: options, skipSGEMM: noSGEMM) { message in
            FileHandle.standardError.write(Data("\(message)\n".utf8))
        }
        print("shape                D=\(d), F_A=\(result.featureCountA), F_B=\(result.featureCountB) (random unit decoder rows), blocks \(rowBlock) x \(columnBlock)")
        if !noSGEMM {
            print(String(format: "plain sgemm          %.2f s  (%.1f GFLOP/s; %.1f CPU-s)", result.sgemmSeconds, result.flops / result.sgemmSeconds / 1e9,
                         result.sgemmCPUSeconds))
        }
        print(String(format: "matching             %.2f s  (%.1f GFLOP/s, both directions' top lists)", result.matchingSeconds, result.flops / result.matchingSeconds / 1e9))
        print(String(format: "assignment           %.2f s  (", result.assignmentSeconds) + result.assignment.method.rawValue
              + String(format: ", %d pairs, %d rounds, mean cosine %.4f)", result.assignment.pairs.count, result.assignment.rounds, result.assignment.meanCosine))
        print(String(format: "random baseline      %.2f s  (A against a random dictionary of B's shape: generation, matching, assignment)", result.baselineSeconds))
        print(String(format: "total                %.2f s  (%.1f CPU-s)", result.totalSeconds, result.compareCPUSeconds))
        print(String(format: "mean best cosine     %.4f (A -> B)", result.meanBestCosineAToB))
        print(String(format: "peak anonymous memory %.0f MiB (both dictionaries included)", Double(result.peakHeapBytes) / 1_048_576))
    }
}
