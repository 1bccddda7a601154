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
        /// Each feature's decoder row: `decoder` in jsonl, `vector` in json.
        public var includeDecoder: Bool
        /// When set, json/jsonl/csv/md include each feature's logit effects (`W_dec[f] @ W_U`, top
        /// and bottom `LogitEffects.defaultCount`); see `LogitEffects`.
        public var unembedding: Unembedding?
        /// The json (Neuronpedia batch) export's model, layer, SAE set and prompts; nil: from the
        /// index's cache (`NeuronpediaSource.fromIndex`).
        public var neuronpedia: NeuronpediaSource?
        /// json only: write `batch-0.json ...` of at most this many features, and the runner's
        /// `run_settings.json`, into the directory at the output path.
        public var batchSize: Int?
        /// The dictionary's labels (from the labels database): every format carries them.
        public var labels: LabelBook

        public init(index: FeatureIndex, sae: SparseAutoencoder, saePath: String, tokenizer: TokenizerVocabulary?, includeDecoder: Bool,
                    unembedding: Unembedding? = nil, neuronpedia: NeuronpediaSource? = nil, batchSize: Int? = nil,
                    labels: LabelBook = LabelBook()) {
            self.index = index
            self.sae = sae
            self.saePath = CanonicalPath.of(saePath)
            self.tokenizer = tokenizer
            self.includeDecoder = includeDecoder
            self.unembedding = unembedding
            self.neuronpedia = neuronpedia
            self.batchSize = batchSize
            self.labels = labels
        }

        func tokenText(_ id: Int32) -> String { tokenizer?.piece(Int(id)) ?? "<\(id)>" }

        func record(_ j: Int, logits: [Int: FeatureLogitEffects]) -> FeatureRecord {
            var record = FeatureRecord(index: index, feature: j, tokenText: tokenText, decoder: includeDecoder ? Array(sae.decoderRow(j)) : nil, logits: logits[j])
            record.label = labels[j]
            return record
        }

        /// Logit effects of `features`, keyed by feature (empty without an unembedding). An
        /// unembedding with fewer logits than the tokenizer has tokens is an error; one with more
        /// (vocabulary padding) is accepted, see `Unembedding.checkVocabulary`.
        func logitEffects(_ features: [Int], histogramBins: Int = 0) throws -> [Int: FeatureLogitEffects] {
            guard let unembedding else { return [:] }
            if let tokenizer { _ = try unembedding.checkVocabulary(against: tokenizer) }
            let effects = try LogitEffects.compute(features: features, sae: sae, unembedding: unembedding, histogramBins: histogramBins)
            return Dictionary(effects.map { ($0.feature, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// One feature's JSON; JSON has no NaN or infinity, so a feature holding one (a NaN decoder
    /// row, say) is an error naming the feature and the file, not Foundation's own message.
    private static func jsonData(_ object: Any, feature: Int, path: String) throws -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        } catch {
            throw SaescopeError("feature \(feature) holds NaN or infinity (in its statistics, decoder or logit effects), which JSON cannot represent", file: path)
        }
    }

    public static func export(_ features: [Int], format: Format, context: Context, to path: String, overwrite: Bool) throws {
        guard context.index.featureCount == context.sae.featureCount else {
            throw SaescopeError("the index has \(context.index.featureCount) features but the dictionary has \(context.sae.featureCount)")
        }
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw SaescopeError("exists already; pass --force to replace it", file: path)
        }
        let logits = format == .safetensors ? [:]
            : try context.logitEffects(features, histogramBins: format == .json ? NeuronpediaBatch.logitHistogramBins : 0)
        func featureRecord(_ j: Int) -> FeatureRecord { context.record(j, logits: logits) }
        switch format {
        case .json:
            try NeuronpediaExport.write(features, context: context, logits: logits, to: path, overwrite: overwrite)
        case .jsonl:
            var bytes: [UInt8] = []
            for j in features {
                bytes += try jsonData(jsonObject(featureRecord(j)), feature: j, path: path)
                bytes.append(0x0A)
            }
            try AtomicFile.write(path.hasSuffix(".gz") ? try Gzip.compress(bytes) : bytes, to: path)
        case .csv:
            var lines = ["feature_index,frac_nonzero,count,max_act,mean_act,top_tokens,pos_tokens,pos_values,neg_tokens,neg_values,"
                         + LabelCSV.columns.joined(separator: ",")]
            for j in features {
                let record = featureRecord(j)
                func joined(_ logits: [ExportedLogit]) -> [String] {
                    [csvQuoted(logits.map(\.text).joined(separator: " | ")), csvQuoted(logits.map { "\($0.value)" }.joined(separator: " | "))]
                }
                lines.append(([String(j), "\(record.density)", String(record.count), "\(record.maxActivation)", "\(record.meanActivation)",
                               csvQuoted(topTokenCounts(record.top))] + joined(record.positiveLogits) + joined(record.negativeLogits)
                              + LabelCSV.fields(record.label))
                    .joined(separator: ","))
            }
            try AtomicFile.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: path)
        case .md:
            let report = features.map { MarkdownReport.feature(featureRecord($0)) }.joined(separator: "\n")
            let header = "# saescope features of \(context.saePath)\n\n\(features.count) features, indexed over \(context.index.tokenCount) tokens"
                + (context.index.provenance.cacheMetadata["model"].map { " of \($0)" } ?? "") + ".\n\n"
            try AtomicFile.write(Array((header + report).utf8), to: path)
        case .safetensors:
            let d = context.sae.inputDimension, dOut = context.sae.outputDimension, f = context.sae.featureCount
            var decoder: [Float] = [], encoder: [Float] = [], encoderBias: [Float] = []
            for j in features {
                decoder += context.sae.decoderRow(j)
                encoder += (0..<d).map { context.sae.encoderWeights[$0 * f + j] }
                encoderBias.append(context.sae.encoderBias[j])
            }
            try Safetensors.write([
                .init(name: "decoder", floats: decoder, shape: [features.count, dOut]),
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

    /// saescope's own per-feature object (jsonl): the dashboard shape of formats.md section 4
    /// unrounded, plus mean, count, token ids, exemplar rows and, asked for, the decoder row.
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
        object.merge(LabelJSON.object(record.label, feature: record.feature)) { _, label in label }
        return object
    }

    /// The firing tokens of the top exemplars, each distinct one once with how many exemplars it
    /// fired in, most first (ties in order of first appearance): `miss (12); mrs (5)`.
    static func topTokenCounts(_ top: [ExportedExemplar]) -> String {
        var order: [String] = [], counts: [String: Int] = [:]
        for exemplar in top where !exemplar.tokens.isEmpty {
            let token = exemplar.tokens[exemplar.qualifyingTokenIndex]
            if counts[token] == nil { order.append(token) }
            counts[token, default: 0] += 1
        }
        let ranked = order.enumerated().sorted { a, b in
            counts[a.element]! != counts[b.element]! ? counts[a.element]! > counts[b.element]! : a.offset < b.offset
        }
        return ranked.map { "\($0.element) (\(counts[$0.element]!))" }.joined(separator: "; ")
    }

    static func csvQuoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
