import Foundation

/// A labelled statement dataset: a CSV with at least `statement` and boolean columns (`label`
/// and often more), and beside it a safetensors file with `acts [n, D]` (optional `labels [n]`),
/// one row per CSV row, as the exporter's `--statements` mode writes them. Either file may be
/// named; the other is the one with the same stem.
public struct ProbeDataset: Sendable {
    public let name: String
    public let csvPath: String
    public let activationsPath: String
    public let statements: [String]
    /// Every column whose values all read as booleans.
    public let booleanColumns: [String: [Bool]]
    /// Raw activations, `[count, D]`.
    public let activations: Matrix

    public var count: Int { activations.rows }
    public var dimension: Int { activations.columns }

    public init(path: String) throws {
        let stem = ((path as NSString).deletingPathExtension)
        csvPath = path.hasSuffix(".csv") ? path : stem + ".csv"
        activationsPath = path.hasSuffix(".safetensors") ? path : stem + ".safetensors"
        name = (stem as NSString).lastPathComponent
        let data = try InputFile.contents(csvPath)
        guard let text = String(data: data, encoding: .utf8) else {
            throw SaescopeError("the CSV is not UTF-8 text", file: csvPath)
        }
        let records = try CSVReader.parse(text, source: csvPath)
        guard let header = records.first else { throw SaescopeError("the CSV is empty", file: csvPath) }
        let rows = Array(records.dropFirst())
        for (index, record) in rows.enumerated() where record.count != header.count {
            throw SaescopeError("row \(index + 1) has \(record.count) fields, the header has \(header.count)", file: csvPath)
        }
        let columnIndex = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let statementColumn = columnIndex["statement"] ?? 0
        statements = rows.map { $0[statementColumn] }
        var booleans: [String: [Bool]] = [:]
        for (name, index) in columnIndex where name != "statement" {
            let values = rows.map { CSVReader.boolean($0[index]) }
            if !values.isEmpty, values.allSatisfy({ $0 != nil }) { booleans[name] = values.map { $0! } }
        }

        let file = try Safetensors.read(path: activationsPath)
        let acts = try file.require("acts")
        guard acts.rank == 2, acts.dtype.isFloatingPoint else {
            throw SaescopeError("acts must be a float matrix [statements, D], found \(acts.dtype.rawValue) \(acts.shape)", file: activationsPath)
        }
        guard acts.shape[0] == rows.count else {
            throw SaescopeError("acts has \(acts.shape[0]) rows but \(csvPath) has \(rows.count) statements", file: activationsPath)
        }
        if booleans["label"] == nil, let labels = file["labels"] {
            guard labels.elementCount == rows.count else {
                throw SaescopeError("labels has \(labels.elementCount) values for \(rows.count) statements", file: activationsPath)
            }
            booleans["label"] = labels.floats().map { $0 != 0 }
        }
        booleanColumns = booleans
        let values = acts.floats()
        // Every probe method and PCA would compute on NaN silently (or fail inside LAPACK): a
        // statement whose activations are not finite is an error naming the file and row.
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let row = bad / max(acts.shape[1], 1)
            throw SaescopeError("statement \(row) (row \(row + 1) of \(csvPath)) has NaN or infinite activations; drop it from both files", file: activationsPath)
        }
        activations = Matrix(rows: acts.shape[0], columns: acts.shape[1], values: values.map(Double.init))
    }

    /// The labels named by `spec`: a boolean column, or `a^b` for the XOR of two.
    public func labels(_ spec: String) throws -> [Bool] {
        let parts = spec.split(separator: "^").map { String($0).trimmingCharacters(in: .whitespaces) }
        let columns = try parts.map { part -> [Bool] in
            guard let column = booleanColumns[part] else {
                let known = booleanColumns.keys.sorted().joined(separator: ", ")
                throw SaescopeError("no boolean column '\(part)' (boolean columns: \(known.isEmpty ? "none" : known))", file: csvPath)
            }
            return column
        }
        guard var result = columns.first else { throw SaescopeError("empty label specification", file: csvPath) }
        for column in columns.dropFirst() { result = zip(result, column).map { $0 != $1 } }
        return result
    }

    /// Activations centred on this dataset's own mean, as the probing literature does.
    public func centred() -> Matrix {
        activations.subtracting(rowVector: activations.columnMeans())
    }
}
