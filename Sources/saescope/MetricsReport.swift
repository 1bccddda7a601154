import Foundation
import SAECore

/// Text and JSON renderings of `eval` results.
enum MetricsReport {
    static func describe(_ sae: SparseAutoencoder) -> String {
        let p = sae.provenance
        var lines = [
            "library      \(p.library)",
            "kind         \(p.kind)",
            "weights      \(p.weightsPath)",
        ]
        if let config = p.configPath { lines.append("config       \(config)") }
        lines.append("shape        \(sae.shapeSummary.replacingOccurrences(of: " ", with: ", ")), F=\(sae.featureCount)")
        lines.append("activation   \(sae.rule.summary)")
        lines.append("input        \(sae.subtractsDecoderBias ? "x - b_dec" : "x")\(normalizationText(sae.normalization))")
        if sae.skipWeights != nil { lines.append("skip         x_hat += input W_skip^T (D_in -> D_out), from the raw input") }
        for note in p.notes { lines.append("note         \(note)") }
        return lines.joined(separator: "\n")
    }

    static func table(_ metrics: DictionaryMetrics, core: CoreMetrics? = nil, dictionary: SparseAutoencoder, cachePath: String, seconds: Double,
                      coverage: RowCoverage? = nil, encode: String? = nil) -> String {
        var lines = [describe(dictionary), "activations  \(cachePath)"]
        if let coverage { lines.append("rows         \(coverage.summary)") }
        if let encode { lines.append("encode       \(encode)") }
        if dictionary.isTranscoder {
            lines.append("measured     against the cache's targets [N, \(dictionary.outputDimension)]: x below is the target, x_hat = f W_dec + b_dec\(dictionary.skipWeights != nil ? " + input W_skip^T" : "") (f encodes the input, the cache's acts)")
        }
        lines.append("")
        let width = max(MetricDefinition.all.map(\.label.count).max() ?? 20, CoreMetrics.definitions.map(\.label.count).max() ?? 20)
        for definition in MetricDefinition.all {
            lines.append(definition.label.padding(toLength: width + 2, withPad: " ", startingAt: 0) + format(definition.value(metrics)))
        }
        if let core {
            lines.append("")
            lines.append("SAEBench core metrics without a model run:")
            for definition in CoreMetrics.definitions {
                lines.append(definition.label.padding(toLength: width + 2, withPad: " ", startingAt: 0) + format(definition.value(core)))
            }
            lines.append("")
        }
        lines.append("tokens evaluated".padding(toLength: width + 2, withPad: " ", startingAt: 0) + "\(metrics.tokenCount)")
        lines.append("rows skipped (NaN/Inf)".padding(toLength: width + 2, withPad: " ", startingAt: 0) + "\(metrics.skippedCount)")
        let rate = seconds > 0 ? Double(metrics.tokenCount + metrics.skippedCount) / seconds : 0
        lines.append("throughput".padding(toLength: width + 2, withPad: " ", startingAt: 0) + String(format: "%.0f tokens/s", rate))
        lines.append("")
        lines.append("Definitions: saescope eval --help, or the README's metrics section.")
        return lines.joined(separator: "\n")
    }

    /// `core`: SAEBench's core metrics; `extra`: further (key, JSON value) pairs, e.g. `eval --model`'s CE keys.
    static func json(_ metrics: DictionaryMetrics, core: CoreMetrics? = nil, extra: [(String, String)] = []) -> String {
        let fields: [(String, String)] = MetricDefinition.all.map { ($0.key, jsonNumber($0.value(metrics))) } + [
            ("n_tokens", "\(metrics.tokenCount)"),
            ("n_skipped", "\(metrics.skippedCount)"),
        ] + (core.map { core in CoreMetrics.definitions.map { ($0.key, jsonNumber($0.value(core))) } } ?? []) + extra
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// `by_position`: one object per position from 0.
    static func json(_ positions: PositionMetrics) -> String {
        "[" + positions.rows.map {
            "{\"position\": \($0.position), \"mse\": \(jsonNumber($0.mse)), \"explained_variance\": \(jsonNumber($0.explainedVariance)), \"l0\": \(jsonNumber($0.l0)), \"n\": \($0.count)}"
        }.joined(separator: ", ") + "]"
    }

    /// `eval --by-position`'s table: one line per position.
    static func table(_ positions: PositionMetrics) -> String {
        var lines = ["", "By position in the sequence (0 = first row of a sequence; rows as above):",
                     "position          n          MSE   expl. var.           L0"]
        for row in positions.rows {
            let columns = [String(row.position), String(row.count), format(row.mse), format(row.explainedVariance), format(row.l0)]
            lines.append(zip(columns, [8, 10, 12, 12, 12]).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// Shortest round-tripping text for finite values; JSON has no NaN, so those become null.
    static func jsonNumber(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }

    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        return abs(value) >= 1e5 || (abs(value) < 1e-3 && value != 0) ? String(format: "%.6e", value) : String(format: "%.6f", value)
    }

    private static func normalizationText(_ normalization: InputNormalization) -> String {
        switch normalization {
        case .none: ""
        case .scale(let s): ", scaled by \(s) (reconstruction unscaled)"
        case .constantNormRescale: ", each token rescaled to norm sqrt(D)"
        case .layerNorm: ", each token layer-normalised"
        }
    }
}
