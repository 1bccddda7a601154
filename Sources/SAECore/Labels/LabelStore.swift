import Foundation

/// One dictionary's interpretations in the labels database (`labels.sqlite` in saescope's data
/// directory): the user's labels, notes, tags and status per feature, imported explanations, and
/// the marked features. Keyed by the dictionary's content fingerprint, so a copied or renamed
/// dictionary keeps its labels and a retrained one starts empty.
///
/// Every write is one transaction touching only the fields it changes, so two saescope
/// processes on the same database (WAL mode, a 5 s busy timeout) keep each other's edits.
/// Errors are `SaescopeError`s naming the database.
public final class LabelStore {
    public let fingerprint: String
    public let database: SQLiteDatabase
    public var path: String { database.path }

    /// `labels.sqlite` in `$XDG_DATA_HOME/saescope` (default `~/.local/share/saescope`).
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        (MarksStore.dataDirectory(environment: environment) as NSString).appendingPathComponent("labels.sqlite")
    }

    /// Opens (creating, and migrating to the latest schema) the database at `path` for the
    /// dictionary with `fingerprint`.
    public init(path: String, fingerprint: String, busyTimeout: Int32 = 5000, schemaVersion: Int = LabelSchema.latestVersion) throws {
        self.fingerprint = fingerprint
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        database = try Self.converting { try SQLiteDatabase(path: path, busyTimeout: busyTimeout) }
        // The first open of a new database by two processes at once can meet a BUSY that SQLite
        // does not wait on (the switch to WAL): retry that step for up to the busy timeout.
        let deadline = Date().addingTimeInterval(Double(busyTimeout) / 1000)
        while true {
            do {
                try LabelSchema.migrate(database, to: schemaVersion)
                break
            } catch let error as SQLiteDatabase.Error where error.failure == .busy && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            } catch let error as SQLiteDatabase.Error {
                throw error.error
            }
        }
    }

    /// The store for the dictionary whose weights are `weightsPath` in the default database.
    public convenience init(weightsPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let fingerprint = ContentFingerprint.of(file: weightsPath) else {
            throw SaescopeError("cannot read the dictionary's weights to key its labels", file: weightsPath)
        }
        try self.init(path: Self.defaultPath(environment: environment), fingerprint: fingerprint)
    }

    /// Who edits: `$USER` (else `$LOGNAME`).
    public static func currentAuthor(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["USER"] ?? environment["LOGNAME"] ?? ""
    }

    // MARK: Reading

    /// Every record of this dictionary (three queries, so opening stays fast with many labels).
    public func load() throws -> LabelBook {
        try Self.converting {
            var records: [Int: FeatureLabel] = [:]
            let key: [SQLiteDatabase.Value] = [.text(fingerprint)]
            try database.query("SELECT feature, label, notes, status, author, updated_at FROM label WHERE dictionary = ?", key) { row in
                records[row.int(0)] = FeatureLabel(label: row.text(1), notes: row.text(2), status: LabelStatus(rawValue: row.text(3)) ?? .unreviewed,
                                                   author: row.text(4), updatedAt: row.double(5) ?? 0)
            }
            try database.query("SELECT feature, name FROM tag WHERE dictionary = ? ORDER BY feature, name", key) { row in
                records[row.int(0), default: FeatureLabel()].tags.append(row.text(1))
            }
            try database.query("SELECT feature, source, model, description, score FROM explanation WHERE dictionary = ? ORDER BY feature, imported_at, source, model, description", key) { row in
                records[row.int(0), default: FeatureLabel()].explanations.append(
                    FeatureExplanation(source: row.text(1), model: row.text(2), text: row.text(3), score: row.double(4)))
            }
            return LabelBook(records)
        }
    }

    /// One feature's record as the database has it now (another process may have changed it).
    public func record(_ feature: Int) throws -> FeatureLabel {
        try Self.converting {
            var record = FeatureLabel()
            let key: [SQLiteDatabase.Value] = [.text(fingerprint), .integer(Int64(feature))]
            try database.query("SELECT label, notes, status, author, updated_at FROM label WHERE dictionary = ? AND feature = ?", key) { row in
                record.label = row.text(0)
                record.notes = row.text(1)
                record.status = LabelStatus(rawValue: row.text(2)) ?? .unreviewed
                record.author = row.text(3)
                record.updatedAt = row.double(4) ?? 0
            }
            try database.query("SELECT name FROM tag WHERE dictionary = ? AND feature = ? ORDER BY name", key) { record.tags.append($0.text(0)) }
            try database.query("SELECT source, model, description, score FROM explanation WHERE dictionary = ? AND feature = ? ORDER BY imported_at, source, model, description", key) { row in
                record.explanations.append(FeatureExplanation(source: row.text(0), model: row.text(1), text: row.text(2), score: row.double(3)))
            }
            return record
        }
    }

    public func marks() throws -> Set<Int> {
        try Self.converting {
            var marks = Set<Int>()
            try database.query("SELECT feature FROM mark WHERE dictionary = ?", [.text(fingerprint)]) { marks.insert($0.int(0)) }
            return marks
        }
    }

    // MARK: Writing

    /// The fields one edit changes (nil: left as they are).
    public struct Edit: Sendable {
        public var label: String?
        public var notes: String?
        public var status: LabelStatus?
        public var tags: [String]?
        public init(label: String? = nil, notes: String? = nil, status: LabelStatus? = nil, tags: [String]? = nil) {
            self.label = label
            self.notes = notes
            self.status = status
            self.tags = tags
        }
    }

    /// Applies `edit` to `feature` in one transaction and returns the feature's record after it
    /// (with whatever another process wrote to its other fields).
    @discardableResult
    public func apply(_ edit: Edit, to feature: Int, author: String = LabelStore.currentAuthor(), now: Date = Date()) throws -> FeatureLabel {
        try Self.converting {
            try database.transaction {
                try write(edit, to: feature, author: author, time: now.timeIntervalSince1970)
            }
        }
        return try record(feature)
    }

    /// Many edits in one transaction (saescope's own export imported back).
    public func apply(_ edits: [(feature: Int, edit: Edit, author: String, time: Double)]) throws {
        try Self.converting {
            try database.transaction {
                for item in edits { try write(item.edit, to: item.feature, author: item.author, time: item.time) }
            }
        }
    }

    private func write(_ edit: Edit, to feature: Int, author: String, time: Double) throws {
        let key: [SQLiteDatabase.Value] = [.text(fingerprint), .integer(Int64(feature))]
        // The row first (defaults), then only the columns this edit sets.
        try database.query("INSERT OR IGNORE INTO label (dictionary, feature) VALUES (?, ?)", key)
        var sets = ["author = ?", "updated_at = ?"]
        var values: [SQLiteDatabase.Value] = [.text(author), .real(time)]
        if let label = edit.label { sets.append("label = ?"); values.append(.text(label)) }
        if let notes = edit.notes { sets.append("notes = ?"); values.append(.text(notes)) }
        if let status = edit.status { sets.append("status = ?"); values.append(.text(status.rawValue)) }
        try database.query("UPDATE label SET \(sets.joined(separator: ", ")) WHERE dictionary = ? AND feature = ?", values + key)
        if let tags = edit.tags {
            try database.query("DELETE FROM tag WHERE dictionary = ? AND feature = ?", key)
            let insert = try database.prepared("INSERT OR IGNORE INTO tag (dictionary, feature, name) VALUES (?, ?, ?)")
            for tag in tags { try insert.run(key + [.text(tag)]) }
        }
    }

    /// Adds and removes marks in one transaction (only the changes, so another process's marks stay).
    public func updateMarks(adding added: Set<Int>, removing removed: Set<Int>) throws {
        guard !added.isEmpty || !removed.isEmpty else { return }
        try Self.converting {
            try database.transaction {
                let insert = try database.prepared("INSERT OR IGNORE INTO mark (dictionary, feature) VALUES (?, ?)")
                for j in added { try insert.run([.text(fingerprint), .integer(Int64(j))]) }
                let delete = try database.prepared("DELETE FROM mark WHERE dictionary = ? AND feature = ?")
                for j in removed { try delete.run([.text(fingerprint), .integer(Int64(j))]) }
            }
        }
    }

    /// Adds explanations in one transaction; returns how many were new (the same source, model
    /// and text for a feature is kept once; a new score replaces the old).
    public func addExplanations(_ items: [(feature: Int, explanation: FeatureExplanation)], now: Date = Date()) throws -> Int {
        try Self.converting {
            try database.transaction {
                let insert = try database.prepared("""
                    INSERT INTO explanation (dictionary, feature, source, model, description, score, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (dictionary, feature, source, model, description) DO NOTHING
                    """)
                let rescore = try database.prepared("""
                    UPDATE explanation SET score = ? WHERE dictionary = ? AND feature = ? AND source = ? AND model = ? AND description = ?
                    """)
                var new = 0
                for item in items {
                    let e = item.explanation
                    let key: [SQLiteDatabase.Value] = [.text(fingerprint), .integer(Int64(item.feature)), .text(e.source), .text(e.model), .text(e.text)]
                    let score: SQLiteDatabase.Value = e.score.map { .real($0) } ?? .null
                    try insert.run(key + [score, .real(now.timeIntervalSince1970)])
                    if database.changes == 1 { new += 1 } else { try rescore.run([score] + key) }
                }
                return new
            }
        }
    }

    // MARK: Marks files

    /// Takes over the marks file `MarksStore` kept for this dictionary before the database
    /// existed: its marks are added, then the file is renamed `*.migrated` so it is read once.
    /// Returns how many marks it held (nil: there was no file).
    public func migrateMarksFile(_ file: MarksStore) throws -> Int? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let marks = try file.load()
        try updateMarks(adding: marks, removing: [])
        if rename(file.path, file.path + ".migrated") != 0 {
            throw SaescopeError("the marks were copied into \(path) but the old file could not be renamed (\(String(cString: strerror(errno))))", file: file.path)
        }
        return marks.count
    }

    /// Runs `body`, turning SQLite's errors into `SaescopeError`s naming the database.
    static func converting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLiteDatabase.Error {
            throw error.error
        }
    }
}
