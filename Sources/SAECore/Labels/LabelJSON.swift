import Foundation

/// How labels appear in JSON: the keys saescope's exports add to a feature (`label`, `notes`,
/// `tags`, `status`, `author`, `updated_at`, `explanations`), and back. `explanations` has the
/// shape of Neuronpedia's `Explanation` rows (`modelId, layer, index` as a string,
/// `description, explanationModelName, typeName, scoreV2, authorId`), plus `source`, where
/// saescope got it; the user's own label is not repeated there.
public enum LabelJSON {
    /// The label keys of one feature (empty values for a feature without a record).
    public static func object(_ record: FeatureLabel?, feature: Int, modelID: String = "", layer: String = "") -> [String: Any] {
        let record = record ?? FeatureLabel()
        return [
            "label": record.label, "notes": record.notes, "tags": record.tags, "status": record.status.rawValue,
            "author": record.author, "updated_at": record.updatedAt,
            "explanations": explanations(record, feature: feature, modelID: modelID, layer: layer),
        ]
    }

    /// Neuronpedia's explanation rows for the record's imported explanations.
    public static func explanations(_ record: FeatureLabel, feature: Int, modelID: String = "", layer: String = "") -> [[String: Any]] {
        record.explanations.map { e in
            ["modelId": modelID, "layer": layer, "index": String(feature), "description": e.text,
             "explanationModelName": e.model.isEmpty ? NSNull() : e.model as Any, "typeName": NSNull(),
             "scoreV2": e.score.map { $0 as Any } ?? NSNull(), "authorId": NSNull(), "source": e.source]
        }
    }

    /// A record from an object with those keys; nil when a key has the wrong type or the status
    /// is unknown.
    public static func record(from object: [String: Any]) -> FeatureLabel? {
        var record = FeatureLabel()
        func string(_ key: String) -> String?? {
            guard let value = object[key], !(value is NSNull) else { return .some(nil) }
            return (value as? String).map { .some($0) } ?? nil
        }
        guard let label = string("label"), let notes = string("notes"), let author = string("author"), let status = string("status") else { return nil }
        record.label = label ?? ""
        record.notes = notes ?? ""
        record.author = author ?? ""
        if let status {
            guard let known = LabelStatus(rawValue: status) else { return nil }
            record.status = known
        }
        if let tags = object["tags"], !(tags is NSNull) {
            guard let list = tags as? [String] else { return nil }
            record.tags = Array(Set(list)).sorted()
        }
        if let time = object["updated_at"] as? Double { record.updatedAt = time }
        if let list = object["explanations"], !(list is NSNull) {
            guard let rows = list as? [[String: Any]] else { return nil }
            for row in rows {
                guard let text = row["description"] as? String else { return nil }
                record.explanations.append(FeatureExplanation(source: (row["source"] as? String) ?? "saescope",
                                                              model: (row["explanationModelName"] as? String) ?? "",
                                                              text: text, score: row["scoreV2"] as? Double))
            }
        }
        return record
    }

    /// Every record of a book as jsonl, one feature per line in id order: `feature`,
    /// `dictionary` (the fingerprint) and the label keys. `labels import` reads it back.
    public static func dump(_ book: LabelBook, fingerprint: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for j in book.features.keys.sorted() {
            var object = Self.object(book[j], feature: j)
            object["feature"] = j
            object["dictionary"] = fingerprint
            bytes += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            bytes.append(0x0A)
        }
        return bytes
    }
}
