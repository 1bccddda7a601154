import Foundation

/// Reads explanations and labels written elsewhere into a `LabelStore`:
/// - Neuronpedia explanation exports: jsonl (or jsonl.gz) rows of its `Explanation` table,
///   `modelId, layer, index` (a string), `description`, `explanationModelName`, `typeName`,
///   and optionally `scoreV2`;
/// - delphi explanations: a directory of `<hookpoint>_latent<N>.txt` files, each holding the
///   explanation as a JSON string (delphi writes `orjson.dumps(explanation)`);
/// - saescope's own exports: `labels export` jsonl (or csv), and feature exports (jsonl) that
///   carry labels.
/// Bad rows are skipped and counted with their line numbers; the good ones are written in one
/// transaction.
public enum LabelImport {
    public enum Source: String, Sendable { case neuronpedia, delphi, saescope }

    /// What an import did, for the one-paragraph summary.
    public struct Report: Sendable, Equatable {
        public var source: Source
        public var rows = 0
        public var matched = 0
        public var new = 0
        /// Why rows were skipped, with how many each.
        public var skipped: [String: Int] = [:]
        /// Line numbers (files, for delphi) of malformed rows, first 20.
        public var badLines: [String] = []
        public var badCount = 0

        public var summary: String {
            var text = "\(rows) rows from \(source.rawValue): \(matched) matched a feature, \(new) new"
            let reasons = skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            if !reasons.isEmpty { text += "; skipped " + reasons.joined(separator: ", ") }
            if badCount > 0 {
                text += "; malformed at " + (badLines.count == 1 ? "line " : "lines ") + badLines.joined(separator: ", ")
                    + (badCount > badLines.count ? " and \(badCount - badLines.count) more" : "")
            }
            return text
        }

        mutating func skip(_ reason: String) { skipped[reason, default: 0] += 1 }
        mutating func bad(_ where_: String) {
            badCount += 1
            skip("malformed")
            if badLines.count < 20 { badLines.append(where_) }
        }
    }

    /// Imports `path` (a file or a delphi directory) into `store` for a dictionary of
    /// `featureCount` features. `layer`: only rows of this Neuronpedia layer / delphi hookpoint
    /// (needed when the file holds several).
    public static func run(_ path: String, into store: LabelStore, featureCount: Int, layer: String? = nil) throws -> Report {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw SaescopeError("no such file", file: path) }
        if isDirectory.boolValue { return try delphi(directory: path, into: store, featureCount: featureCount, hookpoint: layer) }
        let bytes = try Gzip.readFile(path)
        if path.hasSuffix(".csv") { return try LabelCSV.importRows(bytes, path: path, into: store, featureCount: featureCount) }
        return try jsonl(bytes, path: path, into: store, featureCount: featureCount, layer: layer)
    }

    // MARK: jsonl (Neuronpedia, saescope)

    static func jsonl(_ bytes: [UInt8], path: String, into store: LabelStore, featureCount: Int, layer: String?) throws -> Report {
        var rows: [(line: Int, object: [String: Any])] = []
        var report = Report(source: .neuronpedia)
        var lineNumber = 0
        var bad: [String] = []
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                bad.append(String(lineNumber))
                continue
            }
            rows.append((lineNumber, object))
        }
        // saescope's rows name the feature `feature` (labels export) or `feature_index` (feature exports).
        let isSaescope = rows.first.map { $0.object["modelId"] == nil && ($0.object["feature"] != nil || $0.object["feature_index"] != nil) } ?? false
        report.source = isSaescope ? .saescope : .neuronpedia
        report.rows = rows.count + bad.count
        for line in bad { report.bad(line) }
        if isSaescope { return try saescopeRows(rows, into: store, featureCount: featureCount, report: report) }

        let layers = Set(rows.compactMap { $0.object["layer"] as? String })
        if layer == nil, layers.count > 1 {
            throw SaescopeError("holds explanations of \(layers.count) layers (\(layers.sorted().prefix(5).joined(separator: ", "))): pass --layer to pick one", file: path)
        }
        var items: [(feature: Int, explanation: FeatureExplanation)] = []
        for (line, object) in rows {
            guard let description = object["description"] as? String, let indexText = object["index"] else {
                report.bad(String(line))
                continue
            }
            // Neuronpedia keys features by the string `index`; a number is taken too.
            guard let feature = (indexText as? String).flatMap({ Int($0) }) ?? (indexText as? Int) else {
                report.bad(String(line))
                continue
            }
            if let layer, (object["layer"] as? String) != layer { report.skip("of another layer"); continue }
            guard feature >= 0, feature < featureCount else { report.skip("beyond the dictionary's \(featureCount) features"); continue }
            report.matched += 1
            let model = (object["explanationModelName"] as? String) ?? ""
            let score = (object["scoreV2"] as? Double)
            items.append((feature, FeatureExplanation(source: Source.neuronpedia.rawValue, model: model, text: description, score: score)))
        }
        report.new = try store.addExplanations(items)
        report.skip(count: report.matched - report.new, "already in the store")
        return report
    }

    static func saescopeRows(_ rows: [(line: Int, object: [String: Any])], into store: LabelStore, featureCount: Int, report: Report) throws -> Report {
        var report = report
        var edits: [(feature: Int, edit: LabelStore.Edit, author: String, time: Double)] = []
        var explanations: [(feature: Int, explanation: FeatureExplanation)] = []
        let existing = try store.load()
        for (line, object) in rows {
            guard let feature = (object["feature"] ?? object["feature_index"]) as? Int else { report.bad(String(line)); continue }
            guard feature >= 0, feature < featureCount else { report.skip("beyond the dictionary's \(featureCount) features"); continue }
            guard let record = LabelJSON.record(from: object) else { report.bad(String(line)); continue }
            report.matched += 1
            let current = existing[feature] ?? FeatureLabel()
            var brought = false
            // The row's own fields, when it has any (a feature export of an unlabelled feature has none).
            let hasFields = !record.label.isEmpty || !record.notes.isEmpty || !record.tags.isEmpty || record.status != .unreviewed
            if hasFields, record.label != current.label || record.notes != current.notes || record.tags != current.tags || record.status != current.status {
                brought = true
                edits.append((feature, LabelStore.Edit(label: record.label, notes: record.notes, status: record.status, tags: record.tags),
                              record.author, record.updatedAt))
            }
            let fresh = record.explanations.filter { e in !current.explanations.contains { $0.text == e.text } }
            if !fresh.isEmpty { brought = true }
            explanations += fresh.map { (feature, $0) }
            if brought { report.new += 1 } else { report.skip("already in the store") }
        }
        try store.apply(edits)
        _ = try store.addExplanations(explanations)
        return report
    }

    // MARK: delphi

    static func delphi(directory: String, into store: LabelStore, featureCount: Int, hookpoint: String?) throws -> Report {
        var report = Report(source: .delphi)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw SaescopeError("cannot list the directory", file: directory)
        }
        var parsed: [(name: String, hookpoint: String, latent: Int)] = []
        for name in names where name.hasSuffix(".txt") {
            // `<hookpoint>_latent<N>.txt`: delphi's `Latent.__str__`.
            guard let marker = name.range(of: "_latent", options: .backwards),
                  let latent = Int(name[marker.upperBound...].dropLast(4)) else {
                report.rows += 1
                report.bad(name)
                continue
            }
            parsed.append((name, String(name[..<marker.lowerBound]), latent))
        }
        let hookpoints = Set(parsed.map(\.hookpoint))
        if hookpoint == nil, hookpoints.count > 1 {
            throw SaescopeError("holds explanations of \(hookpoints.count) hookpoints (\(hookpoints.sorted().prefix(5).joined(separator: ", "))): pass --layer to pick one", file: directory)
        }
        if parsed.isEmpty && report.rows == 0 { throw SaescopeError("holds no delphi explanation files (<hookpoint>_latent<N>.txt)", file: directory) }
        var items: [(feature: Int, explanation: FeatureExplanation)] = []
        for file in parsed {
            report.rows += 1
            if let hookpoint, file.hookpoint != hookpoint { report.skip("of another hookpoint"); continue }
            let path = (directory as NSString).appendingPathComponent(file.name)
            guard let data = FileManager.default.contents(atPath: path),
                  let text = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? String else {
                report.bad(file.name)
                continue
            }
            guard file.latent < featureCount else { report.skip("beyond the dictionary's \(featureCount) features"); continue }
            report.matched += 1
            items.append((file.latent, FeatureExplanation(source: Source.delphi.rawValue, model: "", text: text)))
        }
        report.new = try store.addExplanations(items)
        report.skip(count: report.matched - report.new, "already in the store")
        return report
    }
}

extension LabelImport.Report {
    mutating func skip(count: Int, _ reason: String) {
        if count > 0 { skipped[reason, default: 0] += count }
    }
}
