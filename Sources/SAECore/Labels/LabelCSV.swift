import Foundation

/// Labels as CSV columns (`label, tags, status, notes, explanations`), for `labels export
/// --format csv`, the feature csv export, and importing saescope's own csv back. Tags are
/// joined with spaces, explanations with ` | `; fields are quoted as RFC 4180 says.
public enum LabelCSV {
    public static let columns = ["label", "tags", "status", "notes", "explanations"]
    public static let dumpHeader = ["feature", "label", "tags", "status", "notes", "author", "updated_at", "explanations"]

    /// The label columns of one feature, quoted.
    public static func fields(_ record: FeatureLabel?) -> [String] {
        let record = record ?? FeatureLabel()
        return [record.label, record.tags.joined(separator: " "), record.status.rawValue, record.notes,
                record.explanations.map(\.text).joined(separator: " | ")].map(quoted)
    }

    /// Every record of a book, one row per feature in id order.
    public static func dump(_ book: LabelBook) -> String {
        var lines = [dumpHeader.joined(separator: ",")]
        for j in book.features.keys.sorted() {
            let record = book[j]!
            let fields = [record.label, record.tags.joined(separator: " "), record.status.rawValue, record.notes,
                          record.author, String(record.updatedAt), record.explanations.map(\.text).joined(separator: " | ")]
            lines.append(([String(j)] + fields.map(quoted)).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quoted(_ text: String) -> String { FeatureExporter.csvQuoted(text) }

    /// Rows of RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks), each with
    /// the line it started on.
    static func parse(_ text: String) -> [(line: Int, fields: [String])] {
        var rows: [(Int, [String])] = [], field = "", fields: [String] = []
        var quoted = false, line = 1, rowLine = 1, afterQuote = false
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" { quoted = false; afterQuote = true } else { field.append(c); if c == "\n" { line += 1 } }
                continue
            }
            switch c {
            case "\"":
                if afterQuote { field.append("\"") }
                quoted = true
                afterQuote = false
            case ",":
                fields.append(field); field = ""; afterQuote = false
            case "\n", "\r\n":
                fields.append(field); field = ""; afterQuote = false
                rows.append((rowLine, fields)); fields = []
                line += 1; rowLine = line
            default:
                field.append(c); afterQuote = false
            }
        }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); rows.append((rowLine, fields)) }
        return rows
    }

    /// `labels export --format csv` read back (the header names the columns).
    static func importRows(_ bytes: [UInt8], path: String, into store: LabelStore, featureCount: Int) throws -> LabelImport.Report {
        var report = LabelImport.Report(source: .saescope)
        let rows = parse(String(decoding: bytes, as: UTF8.self))
        guard let header = rows.first?.fields, header.first == "feature", header.contains("label") else {
            throw SaescopeError("is not a saescope labels csv (its header should start with feature,label)", file: path)
        }
        let column = Dictionary(header.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var objects: [(line: Int, object: [String: Any])] = []
        for (line, fields) in rows.dropFirst() where !(fields.count == 1 && fields[0].isEmpty) {
            guard fields.count == header.count, let feature = Int(fields[0]) else {
                report.rows += 1
                report.bad(String(line))
                continue
            }
            func value(_ name: String) -> String { column[name].map { fields[$0] } ?? "" }
            var object: [String: Any] = ["feature": feature, "label": value("label"), "notes": value("notes"), "author": value("author"),
                                         "status": value("status").isEmpty ? "unreviewed" : value("status"),
                                         "tags": FeatureLabel.tags(from: value("tags"))]
            if let time = Double(value("updated_at")) { object["updated_at"] = time }
            let explanations = value("explanations").components(separatedBy: " | ").filter { !$0.isEmpty }
            object["explanations"] = explanations.map { ["description": $0, "source": "saescope"] }
            objects.append((line, object))
        }
        report.rows += objects.count
        return try LabelImport.saescopeRows(objects, into: store, featureCount: featureCount, report: report)
    }
}
