import Foundation

/// Writes selected features in the formats researchers paste elsewhere. Every write is atomic
/// (complete file or none); an existing file is kept unless `overwrite`.
public enum FeatureExporter {
    public enum Format: String, CaseIterable, Sendable {
        case json, jsonl, csv, md, safetensors
    }

    public struct Context {
        public var index: FeatureIndex
        public var sae: SparseAutoencoder
        public var saePath: String
        public var tokenizer: TokenizerVocabulary?
        public var includeDecoder: Bool
        /// When set, json/jsonl/csv/md include each feature's logit effects (`W_dec[f] @ W_U`, top
        /// and bottom `LogitEffects.defaultCount`); see `LogitEffects`.
        public var unembedding: Unembedding?

        public init(index: FeatureIndex, sae: SparseAutoencoder, saePath: String, tokenizer: TokenizerVocabulary?, includeDecoder: Bool,
                    unembedding: Unembedding? = nil) {
            self.index = index
            self.sae = sae
            self.saePath = CanonicalPath.of(saePath)
            self.tokenizer = tokenizer
            self.includeDecoder = includeDecoder
            self.unembedding = unembedding
        }

        func tokenText(_ id: Int32) -> String { tokenizer?.piece(Int(id)) ?? "<\(id)>" }

        func record(_ j: Int, logits: [Int: FeatureLogitEffects]) -> FeatureRecord {
            FeatureRecord(index: index, feature: j, tokenText: tokenText, decoder: includeDecoder ? Array(sae.decoderRow(j)) : nil, logits: logits[j])
        }

        /// Logit effects of `features`, keyed by feature (empty without an unembedding). An
        /// unembedding with fewer logits than the tokenizer has tokens is an error; one with more
        /// (vocabulary padding) is accepted, see `Unembedding.checkVocabulary`.
        func logitEffects(_ features: [Int]) throws -> [Int: FeatureLogitEffects] {
            guard let unembedding else { return [:] }
            if let tokenizer { _ = try unembedding.checkVocabulary(against: tokenizer) }
            let effects = try LogitEffects.compute(features: features, sae: sae, unembedding: unembedding)
            return Dictionary(effects.map { ($0.feature, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public static func export(_ features: [Int], format: Format, context: Context, to path: String, overwrite: Bool) throws {
        guard context.index.featureCount == context.sae.featureCount else {
            throw SaescopeError("the index has \(context.index.featureCount) features but the dictionary has \(context.sae.featureCount)")
        }
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw SaescopeError("exists already; pass --force to replace it", file: path)
        }
        let logits = format == .safetensors ? [:] : try context.logitEffects(features)
        func featureRecord(_ j: Int) -> FeatureRecord { context.record(j, logits: logits) }
        switch format {
        case .json:
            let object: [String: Any] = [
                "saescope_export_version": 1,
                "dictionary": context.saePath,
                "model": context.index.provenance.cacheMetadata["model"] ?? "",
                "hook": context.index.provenance.cacheMetadata["hook"] ?? "",
                "features": features.map { jsonObject(featureRecord($0)) },
            ]
            try AtomicFile.write([UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])), to: path)
        case .jsonl:
            var bytes: [UInt8] = []
            for j in features {
                bytes += try JSONSerialization.data(withJSONObject: jsonObject(featureRecord(j)), options: [.sortedKeys])
                bytes.append(0x0A)
            }
            try AtomicFile.write(path.hasSuffix(".gz") ? try Gzip.compress(bytes) : bytes, to: path)
        case .csv:
            var lines = ["feature_index,frac_nonzero,count,max_act,mean_act,top_tokens,pos_tokens,pos_values,neg_tokens,neg_values"]
            for j in features {
                let record = featureRecord(j)
                let topTokens = record.top.prefix(5).map { $0.tokens.isEmpty ? "" : $0.tokens[$0.qualifyingTokenIndex] }
                func joined(_ logits: [ExportedLogit]) -> [String] {
                    [csvQuoted(logits.map(\.text).joined(separator: " | ")), csvQuoted(logits.map { "\($0.value)" }.joined(separator: " | "))]
                }
                lines.append(([String(j), "\(record.density)", String(record.count), "\(record.maxActivation)", "\(record.meanActivation)",
                               csvQuoted(topTokens.joined(separator: " | "))] + joined(record.positiveLogits) + joined(record.negativeLogits))
                    .joined(separator: ","))
            }
            try AtomicFile.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: path)
        case .md:
            let report = features.map { MarkdownReport.feature(featureRecord($0)) }.joined(separator: "\n")
            let header = "# saescope features of \(context.saePath)\n\n\(features.count) features, indexed over \(context.index.tokenCount) tokens"
                + (context.index.provenance.cacheMetadata["model"].map { " of \($0)" } ?? "") + ".\n\n"
            try AtomicFile.write(Array((header + report).utf8), to: path)
        case .safetensors:
            let d = context.sae.inputDimension, f = context.sae.featureCount
            var decoder: [Float] = [], encoder: [Float] = [], encoderBias: [Float] = []
            for j in features {
                decoder += context.sae.decoderRow(j)
                encoder += (0..<d).map { context.sae.encoderWeights[$0 * f + j] }
                encoderBias.append(context.sae.encoderBias[j])
            }
            try Safetensors.write([
                .init(name: "decoder", floats: decoder, shape: [features.count, d]),
                .init(name: "encoder", floats: encoder, shape: [features.count, d]),
                .init(name: "encoder_bias", floats: encoderBias, shape: [features.count]),
                .init(name: "feature_ids", int64s: features.map(Int64.init), shape: [features.count]),
            ], metadata: [
                "feature_ids": features.map(String.init).joined(separator: ","),
                "dictionary": context.saePath, "library": context.sae.provenance.library, "kind": context.sae.provenance.kind,
                "note": "rows are decoder directions (W_dec[f]) and encoder directions (W_enc[:, f]) in activation space",
            ], to: path)
        }
    }

    /// The per-feature shape web dashboards import (formats.md section 4), plus mean and count.
    static func jsonObject(_ record: FeatureRecord) -> [String: Any] {
        func exemplar(_ e: ExportedExemplar) -> [String: Any] {
            ["tokens": e.tokens, "values": e.values.map(Double.init), "bin_min": Double(e.binMin), "bin_max": Double(e.binMax),
             "bin_contains": e.binContains, "qualifying_token_index": e.qualifyingTokenIndex, "row": e.row]
        }
        var object: [String: Any] = [
            "feature_index": record.feature, "frac_nonzero": record.density, "count": record.count,
            "max_act": Double(record.maxActivation), "mean_act": record.meanActivation,
            "freq_hist_data_bar_values": record.histogramCenters.map(Double.init),
            "freq_hist_data_bar_heights": record.histogramCounts,
            "pos_str": record.positiveLogits.map(\.text), "pos_values": record.positiveLogits.map { Double($0.value) },
            "pos_token_ids": record.positiveLogits.map(\.token),
            "neg_str": record.negativeLogits.map(\.text), "neg_values": record.negativeLogits.map { Double($0.value) },
            "neg_token_ids": record.negativeLogits.map(\.token),
            "activations": (record.top + record.intervals).map(exemplar),
        ]
        if let decoder = record.decoder { object["decoder"] = decoder.map(Double.init) }
        return object
    }

    static func csvQuoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A readable Markdown section per feature: figures, a text histogram, exemplars with the
/// activating token in bold.
enum MarkdownReport {
    static func feature(_ record: FeatureRecord) -> String {
        var lines = ["## Feature \(record.feature)", ""]
        lines.append(String(format: "density %.3g (%d tokens) · max %.4g · mean %.4g", record.density, record.count,
                            Double(record.maxActivation), record.meanActivation))
        lines.append("")
        if record.count > 0 {
            lines.append("```")
            let peak = max(record.histogramCounts.max() ?? 1, 1)
            let lastBin = record.histogramCounts.lastIndex { $0 > 0 } ?? 0
            let width = record.histogramCenters.count > 1 ? record.histogramCenters[1] - record.histogramCenters[0] : 0
            for bin in 0...lastBin {
                let bar = String(repeating: "#", count: Int((Double(record.histogramCounts[bin]) / Double(peak) * 40).rounded(.up)))
                lines.append(String(format: "%8.3f-%8.3f %6d ", Double(record.histogramCenters[bin] - width / 2),
                                    Double(record.histogramCenters[bin] + width / 2), record.histogramCounts[bin]) + bar)
            }
            lines.append("```")
            lines.append("")
            lines.append("| activation | context |")
            lines.append("|---:|---|")
            for exemplar in record.top {
                let text = exemplar.tokens.enumerated().map { position, token in
                    let shown = escape(token)
                    return position == exemplar.qualifyingTokenIndex ? "**\(shown)**" : shown
                }.joined()
                lines.append(String(format: "| %.4g | ", Double(exemplar.activation)) + text + " |")
            }
        } else {
            lines.append("_This feature never fired on the indexed tokens._")
        }
        if !record.positiveLogits.isEmpty || !record.negativeLogits.isEmpty {
            lines.append("")
            lines.append("Logit effects (W_dec[f] · W_U):")
            lines.append("")
            lines.append("| promoted | logit | suppressed | logit |")
            lines.append("|---|---:|---|---:|")
            for rank in 0..<max(record.positiveLogits.count, record.negativeLogits.count) {
                func cells(_ logits: [ExportedLogit]) -> String {
                    guard rank < logits.count else { return " | " }
                    return "'\(escape(logits[rank].text))' | " + String(format: "%+.4g", Double(logits[rank].value))
                }
                lines.append("| " + cells(record.positiveLogits) + " | " + cells(record.negativeLogits) + " |")
            }
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// Keeps a token readable inside a Markdown table cell.
    static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "↵")
            .replacingOccurrences(of: "*", with: "\\*").replacingOccurrences(of: "`", with: "\\`")
    }
}
